/*
 * fuzz_uri - libFuzzer target for sd_uri_parse.
 *
 * The input is one URI. It is parsed in place (an exactly sized buffer, so
 * AddressSanitizer sees any read past its end), with and without the
 * default length limit, and again behind a prefix of unrelated octets: the
 * result must be the same with every span shifted (the parser reads only
 * its span). Every span must lie within the input; URI parameters are walked
 * with sd_param_next.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    sd_span v = {0, (uint32_t)size}, sv;
    sd_uri a, b;
    sd_err ra, rb;
    char *shifted;
    sd_limits lim;

    if (size > 0x10000)
        return 0;
    sd_limits_default(&lim);
    ra = check_uri(buf, v, 0, &a);
    (void)check_uri(buf, v, lim.max_uri, &b);

    shifted = make_shifted(data, size, &sv);
    rb = check_uri(shifted, sv, 0, &b);
    FUZZ_CHECK(ra == rb);
    if (ra == SD_OK) {
        uint32_t d = (uint32_t)FUZZ_PREFIX_LEN;
        FUZZ_CHECK(a.scheme_id == b.scheme_id && a.host_type == b.host_type);
        FUZZ_CHECK(a.has_password == b.has_password && a.port == b.port);
        CHECK_SHIFTED(a.scheme, b.scheme, d);
        CHECK_SHIFTED(a.user, b.user, d);
        CHECK_SHIFTED(a.password, b.password, d);
        CHECK_SHIFTED(a.host, b.host, d);
        CHECK_SHIFTED(a.params, b.params, d);
        CHECK_SHIFTED(a.headers, b.headers, d);
        CHECK_SHIFTED(a.opaque, b.opaque, d);
    }
    free(shifted);
    return 0;
}

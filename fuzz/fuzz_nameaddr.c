/*
 * fuzz_nameaddr - libFuzzer target for sd_nameaddr_parse.
 *
 * The input is one name-addr / addr-spec with header parameters (a From,
 * To, Contact or Route element). It is parsed with and without "*" allowed,
 * in place and behind a prefix of unrelated octets (same result, spans
 * shifted). Every span must lie within the input; the URI found is parsed
 * with sd_uri_parse and the parameters walked with sd_param_next.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    sd_span v = {0, (uint32_t)size}, sv;
    sd_nameaddr a, b;
    sd_err ra, rb;
    char *shifted;
    sd_limits lim;

    if (size > 0x10000)
        return 0;
    sd_limits_default(&lim);
    (void)check_nameaddr(buf, v, 0, lim.max_uri, &a);
    ra = check_nameaddr(buf, v, 1, lim.max_uri, &a);

    shifted = make_shifted(data, size, &sv);
    rb = check_nameaddr(shifted, sv, 1, lim.max_uri, &b);
    FUZZ_CHECK(ra == rb);
    if (ra == SD_OK) {
        uint32_t d = (uint32_t)FUZZ_PREFIX_LEN;
        FUZZ_CHECK(a.has_brackets == b.has_brackets && a.quoted_display == b.quoted_display);
        FUZZ_CHECK(a.is_star == b.is_star);
        CHECK_SHIFTED(a.display, b.display, d);
        CHECK_SHIFTED(a.uri, b.uri, d);
        CHECK_SHIFTED(a.params, b.params, d);
    }
    free(shifted);
    return 0;
}

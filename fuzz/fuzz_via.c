/*
 * fuzz_via - libFuzzer target for sd_via_parse.
 *
 * The input is one via-parm (one element of a Via list). It is parsed in
 * place and behind a prefix of unrelated octets (same result, spans
 * shifted); every span must lie within the input, numbers within their
 * ranges, and the parameters are walked with sd_param_next. The input is
 * also split with sd_list_next (as a whole Via header value would be) and
 * each element parsed.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void item_via(const char *base, sd_span item, void *ctx)
{
    sd_via via;
    (void)ctx;
    (void)check_via(base, item, &via);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    sd_span v = {0, (uint32_t)size}, sv;
    sd_via a, b;
    sd_err ra, rb;
    char *shifted;

    if (size > 0x10000)
        return 0;
    ra = check_via(buf, v, &a);

    shifted = make_shifted(data, size, &sv);
    rb = check_via(shifted, sv, &b);
    FUZZ_CHECK(ra == rb);
    if (ra == SD_OK) {
        uint32_t d = (uint32_t)FUZZ_PREFIX_LEN;
        FUZZ_CHECK(a.port == b.port && a.ttl == b.ttl && a.rport == b.rport);
        FUZZ_CHECK(a.has_branch == b.has_branch && a.has_received == b.has_received);
        FUZZ_CHECK(a.has_maddr == b.has_maddr && a.has_rport == b.has_rport);
        CHECK_SHIFTED(a.protocol, b.protocol, d);
        CHECK_SHIFTED(a.version, b.version, d);
        CHECK_SHIFTED(a.transport, b.transport, d);
        CHECK_SHIFTED(a.host, b.host, d);
        CHECK_SHIFTED(a.params, b.params, d);
        CHECK_SHIFTED(a.branch, b.branch, d);
        CHECK_SHIFTED(a.received, b.received, d);
        CHECK_SHIFTED(a.maddr, b.maddr, d);
    }
    free(shifted);

    walk_list(buf, v, item_via, NULL);
    return 0;
}

/* tmain.c - runs the registered C tests; exit status 1 on any failure. */
#include "tcheck.h"

#include <stdlib.h>

int tc_failures = 0;

char *tc_sip_vformat(size_t *len, const char *fmt, va_list ap)
{
    char raw[8192], crlf[16384];
    int n = vsnprintf(raw, sizeof raw, fmt, ap);
    if (n < 0 || (size_t)n >= sizeof raw) abort();
    size_t w = 0;
    for (int i = 0; i < n; i++) {
        if (raw[i] == '\n') crlf[w++] = '\r';
        crlf[w++] = raw[i];
    }
    w += (size_t)snprintf(crlf + w, sizeof crlf - w, "Content-Length: 0\r\n\r\n");
    char *out = malloc(w);
    if (out == NULL) abort();
    memcpy(out, crlf, w);
    *len = w;
    return out;
}
static tc_test *tc_head = NULL;

void tc_register(tc_test *t)
{
    t->next = tc_head;
    tc_head = t;
}

int main(int argc, char **argv)
{
    int ran = 0;
    for (tc_test *t = tc_head; t; t = t->next) {
        if (argc > 1 && strstr(t->name, argv[1]) == NULL) continue;
        int before = tc_failures;
        t->fn();
        ran++;
        if (tc_failures != before) fprintf(stderr, "FAIL %s\n", t->name);
    }
    printf("%d tests, %d failed checks\n", ran, tc_failures);
    return tc_failures ? 1 : 0;
}

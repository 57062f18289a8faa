/*
 * tcheck.h - a minimal C test harness for the sipdialog core.
 *
 *   TEST(name) { CHECK(expr); CHECK_EQ_INT(a, b); CHECK_SPAN(buf, span, "text"); }
 *
 * Tests register themselves at load time (constructor attribute); tmain.c
 * runs every registered test, or those whose name contains argv[1].
 */
#ifndef TCHECK_H
#define TCHECK_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct tc_test {
    const char *name;
    void (*fn)(void);
    struct tc_test *next;
} tc_test;

void tc_register(tc_test *t);

/* A SIP message from a printf template whose lines end in "\n": every
 * "\n" becomes CRLF, and "Content-Length: 0" plus the blank line are
 * appended. Returns a malloc'd exact-size buffer (*len bytes; ASan sees any
 * overread); aborts when the template is too long. */
char *tc_sip_vformat(size_t *len, const char *fmt, va_list ap);
extern int tc_failures;

#define TEST(name)                                                              \
    static void name(void);                                                     \
    static tc_test tc_reg_##name = {#name, name, NULL};                         \
    __attribute__((constructor)) static void tc_ctor_##name(void) { tc_register(&tc_reg_##name); } \
    static void name(void)

#define CHECK(expr)                                                              \
    do {                                                                         \
        if (!(expr)) {                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr); \
            tc_failures++;                                                       \
        }                                                                        \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                       \
    do {                                                                         \
        long long tc_a = (long long)(a), tc_b = (long long)(b);                  \
        if (tc_a != tc_b) {                                                      \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b, tc_a, tc_b); \
            tc_failures++;                                                       \
        }                                                                        \
    } while (0)

/* Compare the bytes a span designates in `base` with a C string. */
#define CHECK_SPAN(base, span, str)                                              \
    do {                                                                         \
        const char *tc_s = (str);                                                \
        size_t tc_n = strlen(tc_s);                                              \
        if ((span).len != tc_n || memcmp((base) + (span).off, tc_s, tc_n) != 0) { \
            fprintf(stderr, "%s:%d: span %s is '%.*s', expected '%s'\n", __FILE__, __LINE__, #span, \
                    (int)(span).len, (base) + (span).off, tc_s);                 \
            tc_failures++;                                                       \
        }                                                                        \
    } while (0)

#endif

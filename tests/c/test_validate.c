/* test_validate.c - validators, sanitizers and pipelines (sipdialog/validate.h).
 * Each case cites the RFC 3261 section or 25.1 ABNF rule it exercises. */
#include "tcheck.h"
#include "sipdialog/validate.h"

#include <stdlib.h>

/* Run validator (kind, arg) on s[0..n); fills *e. */
static sd_err vrun(int kind, uint64_t arg, const char *s, size_t n, sd_error *e)
{
    sd_validator v = {(uint8_t)kind, arg};
    e->code = SD_OK;
    e->offset = 0;
    e->reason[0] = '\0';
    return sd_validate(&v, s, n, e);
}

/* Accept the C string s. */
#define OK_(kind, arg, s)                                                        \
    do {                                                                         \
        sd_error ok_e;                                                           \
        sd_err ok_r = vrun(kind, arg, s, strlen(s), &ok_e);                      \
        if (ok_r != SD_OK) fprintf(stderr, "  '%s': %s\n", s, ok_e.reason);      \
        CHECK_EQ_INT(ok_r, SD_OK);                                               \
    } while (0)

/* Reject s[0..n) with `code` at offset `off`. */
#define BADN_(kind, arg, s, n, want, off)                                        \
    do {                                                                         \
        sd_error bd_e;                                                           \
        CHECK_EQ_INT(vrun(kind, arg, s, n, &bd_e), want);                        \
        CHECK_EQ_INT(bd_e.code, want);                                           \
        CHECK_EQ_INT(bd_e.offset, off);                                          \
        CHECK(bd_e.reason[0] != '\0');                                           \
    } while (0)

#define BAD_(kind, arg, s, off) BADN_(kind, arg, s, strlen(s), SD_EVALID, off)

/* Reject and check the reason text too. */
#define BADR_(kind, arg, s, n, off, text)                                        \
    do {                                                                         \
        sd_error br_e;                                                           \
        CHECK_EQ_INT(vrun(kind, arg, s, n, &br_e), SD_EVALID);                   \
        CHECK_EQ_INT(br_e.offset, off);                                          \
        if (strcmp(br_e.reason, text) != 0)                                      \
            fprintf(stderr, "  reason '%s', expected '%s'\n", br_e.reason, text); \
        CHECK(strcmp(br_e.reason, text) == 0);                                   \
    } while (0)

/* ---- lengths ---- */

TEST(test_validate_length)
{
    /* limits (base.h): a value exactly at the limit passes, one more byte is SD_ELIMIT */
    OK_(SD_V_MAX_LENGTH, 4, "abcd");
    OK_(SD_V_MAX_LENGTH, 4, "");
    BADN_(SD_V_MAX_LENGTH, 4, "abcde", 5, SD_ELIMIT, 4);
    BADN_(SD_V_MAX_LENGTH, 0, "a", 1, SD_ELIMIT, 0);
    OK_(SD_V_MAX_LENGTH, 0, "");
    OK_(SD_V_MIN_LENGTH, 3, "abc");
    OK_(SD_V_MIN_LENGTH, 0, "");
    BAD_(SD_V_MIN_LENGTH, 3, "ab", 2);
    BAD_(SD_V_MIN_LENGTH, 1, "", 0);
    /* a 256-byte Call-ID at max_call_id (256) passes, 257 fails */
    char big[258];
    memset(big, 'a', sizeof big);
    sd_error e;
    CHECK_EQ_INT(vrun(SD_V_MAX_LENGTH, 256, big, 256, &e), SD_OK);
    CHECK_EQ_INT(vrun(SD_V_MAX_LENGTH, 256, big, 257, &e), SD_ELIMIT);
    CHECK_EQ_INT(e.offset, 256);
}

/* ---- token, word, method, tag ---- */

TEST(test_validate_token)
{
    /* 25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") */
    OK_(SD_V_TOKEN, 0, "INVITE");
    OK_(SD_V_TOKEN, 0, "a-.!%*_+`'~9Z");
    BAD_(SD_V_TOKEN, 0, "", 0);
    BAD_(SD_V_TOKEN, 0, "ab c", 2);
    BAD_(SD_V_TOKEN, 0, "a\"b", 1);
    BAD_(SD_V_TOKEN, 0, "a(b", 1); /* word char, not token */
    BAD_(SD_V_TOKEN, 0, "a@b", 1);
    BADR_(SD_V_TOKEN, 0, "ab\r\n", 4, 2, "invalid character 0x0d in token");
    BADN_(SD_V_TOKEN, 0, "a\0b", 3, SD_EVALID, 1);
    BAD_(SD_V_TOKEN, 0, "\xc3\xa9", 0);
    /* 7.1 / 25.1: Method = ... / extension-method; extension-method = token */
    OK_(SD_V_METHOD, 0, "INVITE");
    OK_(SD_V_METHOD, 0, "X-FOO.bar");
    BAD_(SD_V_METHOD, 0, "", 0);
    BAD_(SD_V_METHOD, 0, "INV ITE", 3);
    BAD_(SD_V_METHOD, 0, "INVITE/", 6);
    /* 19.3 / 25.1: tag-param = "tag" EQUAL token */
    OK_(SD_V_TAG, 0, "a6c85cf");
    OK_(SD_V_TAG, 0, "1928301774");
    BAD_(SD_V_TAG, 0, "", 0);
    BAD_(SD_V_TAG, 0, "abc;x", 3);
    BAD_(SD_V_TAG, 0, "ab=c", 2);
    /* 25.1: word adds ( ) < > : \ DQUOTE / [ ] ? { } */
    OK_(SD_V_WORD, 0, "a()<>:\\\"/[]?{}-.!%*_+`'~");
    BAD_(SD_V_WORD, 0, "", 0);
    BAD_(SD_V_WORD, 0, "a@b", 1);
    BAD_(SD_V_WORD, 0, "a b", 1);
    BAD_(SD_V_WORD, 0, "a;b", 1);
}

TEST(test_validate_char_classes)
{
    /* 25.1 token and word, octet by octet */
    const char *tok = "-.!%*_+`'~";
    const char *wordonly = "()<>:\\\"/[]?{}";
    for (int c = 0; c < 256; c++) {
        int alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        int t = alnum || (c != 0 && strchr(tok, c) != NULL);
        int w = t || (c != 0 && strchr(wordonly, c) != NULL);
        CHECK_EQ_INT(!!sd_is_token_char((unsigned char)c), t);
        CHECK_EQ_INT(!!sd_is_word_char((unsigned char)c), w);
    }
}

/* ---- quoted-string ---- */

TEST(test_validate_quoted_string)
{
    /* 25.1: quoted-string = SWS DQUOTE *(qdtext / quoted-pair ) DQUOTE
     * (the validator takes it without the SWS) */
    OK_(SD_V_QUOTED_STRING, 0, "\"\"");
    OK_(SD_V_QUOTED_STRING, 0, "\"Bob Smith\"");
    OK_(SD_V_QUOTED_STRING, 0, "\"a\tb !#[]~\"");
    /* qdtext = LWS / ...: a fold CRLF 1*WSP, with or without WSP before it */
    OK_(SD_V_QUOTED_STRING, 0, "\"a\r\n b\"");
    OK_(SD_V_QUOTED_STRING, 0, "\"a \r\n\t b\"");
    OK_(SD_V_QUOTED_STRING, 0, "\"a\r\n \r\n b\"");
    /* quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F) */
    OK_(SD_V_QUOTED_STRING, 0, "\"a\\\"b\\\\c\"");
    OK_(SD_V_QUOTED_STRING, 0, "\"\\\x7f\\\x01\"");
    sd_error e;
    CHECK_EQ_INT(vrun(SD_V_QUOTED_STRING, 0, "\"\\\0\"", 4, &e), SD_OK);
    /* UTF8-NONASCII: lead byte shape and continuation count */
    OK_(SD_V_QUOTED_STRING, 0, "\"caf\xc3\xa9\"");
    OK_(SD_V_QUOTED_STRING, 0, "\"\xe2\x82\xac \xf0\x9f\x98\x80\"");
    OK_(SD_V_QUOTED_STRING, 0, "\"\xf8\x80\x80\x80\x80\xfc\x80\x80\x80\x80\x80\"");

    BAD_(SD_V_QUOTED_STRING, 0, "", 0);
    BAD_(SD_V_QUOTED_STRING, 0, "abc", 0);
    BAD_(SD_V_QUOTED_STRING, 0, " \"a\"", 0);        /* no SWS accepted */
    BAD_(SD_V_QUOTED_STRING, 0, "\"abc", 4);         /* unterminated */
    BAD_(SD_V_QUOTED_STRING, 0, "\"a\"b", 3);        /* after the closing quote */
    BAD_(SD_V_QUOTED_STRING, 0, "\"a\" ", 3);
    BAD_(SD_V_QUOTED_STRING, 0, "\"a\\", 3);         /* quoted-pair cut short */
    BAD_(SD_V_QUOTED_STRING, 0, "\"a\\\r\"", 3);     /* "\" CR is no quoted-pair */
    BAD_(SD_V_QUOTED_STRING, 0, "\"a\\\n\"", 3);
    BAD_(SD_V_QUOTED_STRING, 0, "\"a\\\xc3\xa9\"", 3); /* quoted-pair is ASCII only */
    BADR_(SD_V_QUOTED_STRING, 0, "\"a\rb\"", 5, 3, "invalid character 0x62 after CR in quoted-string");
    BAD_(SD_V_QUOTED_STRING, 0, "\"a\nb\"", 2);      /* bare LF */
    BAD_(SD_V_QUOTED_STRING, 0, "\"a\r\nb\"", 4);    /* CRLF not a fold */
    BAD_(SD_V_QUOTED_STRING, 0, "\"a\r\n\r\n b\"", 4);
    BAD_(SD_V_QUOTED_STRING, 0, "\"a\x01\"", 2);     /* CTL */
    BAD_(SD_V_QUOTED_STRING, 0, "\"a\x7f\"", 2);     /* DEL is not qdtext */
    BADN_(SD_V_QUOTED_STRING, 0, "\"a\0\"", 4, SD_EVALID, 2);
    BAD_(SD_V_QUOTED_STRING, 0, "\"\x80\"", 1);      /* stray UTF8-CONT */
    BAD_(SD_V_QUOTED_STRING, 0, "\"\xbf\"", 1);
    BAD_(SD_V_QUOTED_STRING, 0, "\"\xfe\"", 1);      /* no UTF-8 lead */
    BAD_(SD_V_QUOTED_STRING, 0, "\"\xff\"", 1);
    BAD_(SD_V_QUOTED_STRING, 0, "\"\xc3\"", 2);      /* continuation missing: the '"' */
    BAD_(SD_V_QUOTED_STRING, 0, "\"\xe2\x82z\"", 3);
    BAD_(SD_V_QUOTED_STRING, 0, "\"\xe2\x82", 3);    /* truncated at the end */
}

/* ---- Call-ID ---- */

TEST(test_validate_callid)
{
    /* 20.8 / 25.1: callid = word [ "@" word ] */
    OK_(SD_V_CALLID, 0, "a84b4c76e66710");
    OK_(SD_V_CALLID, 0, "f81d4fae-7dec-11d0-a765-00a0c91e6bf6@foo.bar.com");
    OK_(SD_V_CALLID, 0, "x@[::1]");
    OK_(SD_V_CALLID, 0, "<{(\"weird\")}>:/?@\\");
    BAD_(SD_V_CALLID, 0, "", 0);
    BAD_(SD_V_CALLID, 0, "@host", 0);
    BAD_(SD_V_CALLID, 0, "abc@", 4);
    BADR_(SD_V_CALLID, 0, "a@b@c", 5, 3, "second '@' in Call-ID");
    BAD_(SD_V_CALLID, 0, "a b@c", 1);
    BAD_(SD_V_CALLID, 0, "ab;c", 2);
    BADR_(SD_V_CALLID, 0, "abc\r\nX: y", 9, 3, "invalid character 0x0d in Call-ID");
    BAD_(SD_V_CALLID, 0, "ab,c", 2);
}

/* ---- host ---- */

TEST(test_validate_host)
{
    /* 25.1: hostname = *( domainlabel "." ) toplabel [ "." ] */
    OK_(SD_V_HOST, 0, "example.com");
    OK_(SD_V_HOST, 0, "example.com.");
    OK_(SD_V_HOST, 0, "a");
    OK_(SD_V_HOST, 0, "atlanta");
    OK_(SD_V_HOST, 0, "a-b.c-d.e9");
    OK_(SD_V_HOST, 0, "1.2.3.com"); /* domainlabels may start with a digit */
    OK_(SD_V_HOST, 0, "x1.y");
    OK_(SD_V_HOST, 0, "EXAMPLE.COM");
    BAD_(SD_V_HOST, 0, "", 0);
    BAD_(SD_V_HOST, 0, ".", 0);
    BAD_(SD_V_HOST, 0, ".a", 0);
    BAD_(SD_V_HOST, 0, "a..b", 2);
    BAD_(SD_V_HOST, 0, "example.com..", 12);
    BAD_(SD_V_HOST, 0, "-a.com", 0);
    BAD_(SD_V_HOST, 0, "a-.com", 1);
    BAD_(SD_V_HOST, 0, "a.com-", 5);
    BAD_(SD_V_HOST, 0, "a_b.com", 1);
    BAD_(SD_V_HOST, 0, "a b", 1);
    BAD_(SD_V_HOST, 0, "a.com:5060", 5);
    /* toplabel = ALPHA / ALPHA *( alphanum / "-" ) alphanum */
    BADR_(SD_V_HOST, 0, "example.9com", 12, 8, "top label of host name must start with a letter");
    BAD_(SD_V_HOST, 0, "a.1b.", 2);

    /* 25.1: IPv4address, each octet 0..255 */
    OK_(SD_V_HOST, 0, "192.0.2.1");
    OK_(SD_V_HOST, 0, "0.0.0.0");
    OK_(SD_V_HOST, 0, "255.255.255.255");
    OK_(SD_V_HOST, 0, "010.001.0.1"); /* 1*3DIGIT: leading zeros */
    BADR_(SD_V_HOST, 0, "256.1.1.1", 9, 2, "IPv4 octet 256 is above 255");
    BAD_(SD_V_HOST, 0, "1.2.3.256", 8);
    BAD_(SD_V_HOST, 0, "1.2.3.999", 8);
    BAD_(SD_V_HOST, 0, "1.2.3.0001", 9);
    BAD_(SD_V_HOST, 0, "1.2.3", 5);
    BAD_(SD_V_HOST, 0, "1.2.3.", 6);
    BAD_(SD_V_HOST, 0, "1.2.3.4.", 7);
    BAD_(SD_V_HOST, 0, "1.2.3.4.5", 7);
    BAD_(SD_V_HOST, 0, "1..3.4", 2);
    BAD_(SD_V_HOST, 0, "123", 3);

    /* 25.1 IPv6reference = "[" IPv6address "]", IPv6address as RFC 5954 corrects it */
    OK_(SD_V_HOST, 0, "[::1]");
    OK_(SD_V_HOST, 0, "[::]");
    OK_(SD_V_HOST, 0, "[2001:db8::1]");
    OK_(SD_V_HOST, 0, "[2001:DB8:0:0:8:800:200C:417A]");
    OK_(SD_V_HOST, 0, "[1:2:3:4:5:6:7::]");
    OK_(SD_V_HOST, 0, "[::2:3:4:5:6:7:8]");
    OK_(SD_V_HOST, 0, "[1::8]");
    OK_(SD_V_HOST, 0, "[::ffff:192.0.2.1]");
    OK_(SD_V_HOST, 0, "[::192.0.2.1]");
    OK_(SD_V_HOST, 0, "[1:2:3:4:5:6:192.0.2.1]");
    OK_(SD_V_HOST, 0, "[1::5:6:192.0.2.1]");
    BAD_(SD_V_HOST, 0, "[]", 1);
    BAD_(SD_V_HOST, 0, "[", 1);
    BAD_(SD_V_HOST, 0, "[::1", 4);                       /* no ']' */
    BAD_(SD_V_HOST, 0, "[::1]x", 5);
    BAD_(SD_V_HOST, 0, "[::1]:5060", 5);
    BAD_(SD_V_HOST, 0, "::1", 0);                        /* needs brackets */
    BAD_(SD_V_HOST, 0, "2001:db8::1", 4);
    BAD_(SD_V_HOST, 0, "[:1]", 2);
    BAD_(SD_V_HOST, 0, "[1:]", 3);
    BAD_(SD_V_HOST, 0, "[:::1]", 3);
    BAD_(SD_V_HOST, 0, "[1::2::3]", 5);
    BAD_(SD_V_HOST, 0, "[12345::1]", 5);
    BAD_(SD_V_HOST, 0, "[1:2:3:4:5:6:7]", 14);           /* 7 groups, no "::" */
    BAD_(SD_V_HOST, 0, "[1:2:3:4:5:6:7:8:9]", 17);       /* 9 groups */
    BAD_(SD_V_HOST, 0, "[1:2:3:4::5:6:7:8]", 16);        /* "::" and 8 groups */
    BAD_(SD_V_HOST, 0, "[1:2:3:4:5:6:7:8::]", 16);
    BAD_(SD_V_HOST, 0, "[g::1]", 1);
    BAD_(SD_V_HOST, 0, "[::1.2.3]", 8);
    BAD_(SD_V_HOST, 0, "[::1.2.3.256]", 11);
    BAD_(SD_V_HOST, 0, "[::1.2.3.4:5]", 10);             /* IPv4 only at the end */
    BAD_(SD_V_HOST, 0, "[1:2:3:4:5:6:7:1.2.3.4]", 15);   /* IPv4 as groups 8-9 */
    BAD_(SD_V_HOST, 0, "[::a1.2.3.4]", 3);
}

/* ---- port, CSeq, status code ---- */

TEST(test_validate_numbers)
{
    /* 19.1.1 / 25.1: port = 1*DIGIT; a port number is 0..65535 */
    OK_(SD_V_PORT, 0, "5060");
    OK_(SD_V_PORT, 0, "0");
    OK_(SD_V_PORT, 0, "65535");
    OK_(SD_V_PORT, 0, "000000000000000000000065535");
    BADR_(SD_V_PORT, 0, "65536", 5, 4, "port number 65536 is above 65535");
    BAD_(SD_V_PORT, 0, "99999", 4);
    BAD_(SD_V_PORT, 0, "100000", 5);
    BAD_(SD_V_PORT, 0, "", 0);
    BAD_(SD_V_PORT, 0, "-1", 0);
    BAD_(SD_V_PORT, 0, "+1", 0);
    BAD_(SD_V_PORT, 0, " 1", 0);
    BAD_(SD_V_PORT, 0, "50 60", 2);
    BAD_(SD_V_PORT, 0, "0x10", 1);

    /* 8.1.1.5 / 20.16: CSeq number is a 32-bit unsigned integer below 2**31 */
    OK_(SD_V_CSEQ, 0, "0");
    OK_(SD_V_CSEQ, 0, "1");
    OK_(SD_V_CSEQ, 0, "2147483647");
    OK_(SD_V_CSEQ, 0, "0002147483647");
    BADR_(SD_V_CSEQ, 0, "2147483648", 10, 9, "CSeq number 2147483648 is not below 2**31");
    BADR_(SD_V_CSEQ, 0, "36893488147419103232", 20, 9,
          "CSeq number 36893488147419103232 is not below 2**31");
    BADR_(SD_V_CSEQ, 0, "4294967296", 10, 9, "CSeq number 4294967296 is not below 2**31");
    BAD_(SD_V_CSEQ, 0, "18446744073709551616", 10); /* 2**64: no wrap to 0 */
    BAD_(SD_V_CSEQ, 0, "", 0);
    BAD_(SD_V_CSEQ, 0, "1 INVITE", 1);
    BAD_(SD_V_CSEQ, 0, "-1", 0);
    BADR_(SD_V_CSEQ, 0, "12\r\n", 4, 2, "invalid character 0x0d in CSeq number");
    {
        /* any length, no overflow; the reason shows a bounded prefix */
        char longnum[400];
        memset(longnum, '9', sizeof longnum);
        sd_error e;
        CHECK_EQ_INT(vrun(SD_V_CSEQ, 0, longnum, sizeof longnum, &e), SD_EVALID);
        CHECK_EQ_INT(e.offset, 9);
        CHECK(strstr(e.reason, "...") != NULL);
        memset(longnum, '0', sizeof longnum);
        longnum[sizeof longnum - 1] = '7';
        CHECK_EQ_INT(vrun(SD_V_CSEQ, 0, longnum, sizeof longnum, &e), SD_OK);
    }

    /* 7.2 / 21 / 25.1: Status-Code = 3DIGIT, classes 1xx..6xx */
    OK_(SD_V_STATUS_CODE, 0, "100");
    OK_(SD_V_STATUS_CODE, 0, "200");
    OK_(SD_V_STATUS_CODE, 0, "699");
    OK_(SD_V_STATUS_CODE, 0, "499");
    BADR_(SD_V_STATUS_CODE, 0, "700", 3, 0, "status code 700 is not in 100..699");
    BADR_(SD_V_STATUS_CODE, 0, "099", 3, 0, "status code 99 is not in 100..699");
    BAD_(SD_V_STATUS_CODE, 0, "000", 0);
    BAD_(SD_V_STATUS_CODE, 0, "999", 0);
    BAD_(SD_V_STATUS_CODE, 0, "99", 2);
    BAD_(SD_V_STATUS_CODE, 0, "1000", 3);
    BAD_(SD_V_STATUS_CODE, 0, "0100", 3);
    BAD_(SD_V_STATUS_CODE, 0, "", 0);
    BAD_(SD_V_STATUS_CODE, 0, "2x0", 1);
    BAD_(SD_V_STATUS_CODE, 0, "200 ", 3);
    BAD_(SD_V_STATUS_CODE, 0, " 200", 0);
}

/* ---- user ---- */

TEST(test_validate_user)
{
    /* 25.1: user = 1*( unreserved / escaped / user-unreserved ) */
    OK_(SD_V_USER, 0, "alice");
    OK_(SD_V_USER, 0, "+1-212-555-1212");
    OK_(SD_V_USER, 0, "a-_.!~*'()&=+$,;?/");
    /* escaped = "%" HEXDIG HEXDIG */
    OK_(SD_V_USER, 0, "%61lice%2Fx%2f");
    BAD_(SD_V_USER, 0, "", 0);
    BAD_(SD_V_USER, 0, "a@b", 1);
    BAD_(SD_V_USER, 0, "a:b", 1); /* ':' starts the password */
    BAD_(SD_V_USER, 0, "a b", 1);
    BAD_(SD_V_USER, 0, "a#b", 1);
    BAD_(SD_V_USER, 0, "%", 1);
    BAD_(SD_V_USER, 0, "%4", 2);
    BAD_(SD_V_USER, 0, "%4g", 2);
    BAD_(SD_V_USER, 0, "%g4", 1);
    BAD_(SD_V_USER, 0, "a%%41", 2);
    BAD_(SD_V_USER, 0, "caf\xc3\xa9", 3);
}

/* ---- header value ---- */

TEST(test_validate_header_value)
{
    /* 7.3.1 / 25.1: no CTL except HT inside a value; folds are not allowed
     * here (trim_lws unfolds first), so a value cannot end the header line */
    OK_(SD_V_HEADER_VALUE, 0, "");
    OK_(SD_V_HEADER_VALUE, 0, "text/plain; charset=utf-8");
    OK_(SD_V_HEADER_VALUE, 0, "a\tb  c");
    OK_(SD_V_HEADER_VALUE, 0, "\"Bj\xc3\xb6rn\" <sip:b@x>");
    BADR_(SD_V_HEADER_VALUE, 0, "x\r\nVia: evil", 12, 1, "invalid character 0x0d in header value");
    BADR_(SD_V_HEADER_VALUE, 0, "x\nVia: evil", 11, 1, "invalid character 0x0a in header value");
    BADR_(SD_V_HEADER_VALUE, 0, "ab\0c", 4, 2, "invalid character 0x00 in header value");
    BAD_(SD_V_HEADER_VALUE, 0, "a\x7f", 1);
    BAD_(SD_V_HEADER_VALUE, 0, "a\x08", 1);
    BAD_(SD_V_HEADER_VALUE, 0, "a\x0b", 1);
    BAD_(SD_V_HEADER_VALUE, 0, "\x1f", 0);
    BAD_(SD_V_HEADER_VALUE, 0, "a\r\n b", 1); /* even a fold */
    for (int c = 0; c < 256; c++) {
        char s[2] = {'a', (char)c};
        sd_error e;
        int ctl = (c < 0x20 && c != '\t') || c == 0x7f;
        CHECK_EQ_INT(vrun(SD_V_HEADER_VALUE, 0, s, 2, &e), ctl ? SD_EVALID : SD_OK);
    }
}

/* ---- URIs ---- */

TEST(test_validate_uri)
{
    /* 19.1.1 / 25.1: SIP-URI, SIPS-URI; RFC 3966 tel; absolute URIs */
    OK_(SD_V_URI, 0, "sip:alice@atlanta.com");
    OK_(SD_V_URI, 0, "sips:bob@[2001:db8::1]:5061;transport=tcp");
    OK_(SD_V_URI, 0, "tel:+1-201-555-0123");
    OK_(SD_V_URI, 0, "http://www.example.com/a");
    OK_(SD_V_URI, 0, "mailto:alice@example.com");
    BAD_(SD_V_URI, 0, "", 0);
    BAD_(SD_V_URI, 0, "alice@atlanta.com", 5);
    BAD_(SD_V_URI, 0, "<sip:alice@atlanta.com>", 0);
    {
        sd_error e;
        CHECK_EQ_INT(vrun(SD_V_URI, 0, "sip:a@b\r\nX: y", 13, &e), SD_EVALID);
        CHECK(e.offset >= 7 && e.offset < 13);
    }

    /* sip_scheme: an absolute URI or a name-addr (20.10 / 25.1) whose scheme
     * is sip, sips or tel, in any case (19.1.4: schemes are case-insensitive) */
    OK_(SD_V_SIP_SCHEME, 0, "sip:alice@atlanta.com");
    OK_(SD_V_SIP_SCHEME, 0, "SIP:alice@atlanta.com");
    OK_(SD_V_SIP_SCHEME, 0, "sips:alice@atlanta.com;transport=tcp");
    OK_(SD_V_SIP_SCHEME, 0, "Sips:alice@atlanta.com");
    OK_(SD_V_SIP_SCHEME, 0, "tel:+1-201-555-0123");
    OK_(SD_V_SIP_SCHEME, 0, "TEL:+1-201-555-0123");
    OK_(SD_V_SIP_SCHEME, 0, "<sip:alice@atlanta.com>");
    OK_(SD_V_SIP_SCHEME, 0, "Alice <sip:alice@atlanta.com>");
    OK_(SD_V_SIP_SCHEME, 0, "\"Alice Liddell\" <sips:alice@atlanta.com>");
    OK_(SD_V_SIP_SCHEME, 0, "<sip:alice@atlanta.com?Subject=hi>");
    BADR_(SD_V_SIP_SCHEME, 0, "http://example.com/", 19, 0,
          "URI scheme 'http' is not sip, sips or tel");
    BAD_(SD_V_SIP_SCHEME, 0, "<http://example.com/>", 1);
    BAD_(SD_V_SIP_SCHEME, 0, "Bob <mailto:bob@example.com>", 5);
    BAD_(SD_V_SIP_SCHEME, 0, "sipx:alice@atlanta.com", 0);
    BAD_(SD_V_SIP_SCHEME, 0, "", 0);
    BAD_(SD_V_SIP_SCHEME, 0, "alice@atlanta.com", 5);
    BAD_(SD_V_SIP_SCHEME, 0, "<sip:alice@atlanta.com>;tag=1", 23); /* not a name-addr */
    {
        sd_error e;
        CHECK_EQ_INT(vrun(SD_V_SIP_SCHEME, 0, "<sip:alice@atlanta.com", 22, &e), SD_EVALID);
        CHECK_EQ_INT(vrun(SD_V_SIP_SCHEME, 0, "<sip:a@b>\r\nX: y", 15, &e), SD_EVALID);
        CHECK_EQ_INT(vrun(SD_V_SIP_SCHEME, 0, "sip:alice@exa mple.com", 22, &e), SD_EVALID);
        CHECK_EQ_INT(vrun(SD_V_SIP_SCHEME, 0, "sip:alice@256.1.1.1", 19, &e), SD_EVALID);
    }
}

TEST(test_validate_misc)
{
    sd_error e;
    sd_validator bad = {0, 0};
    CHECK_EQ_INT(sd_validate(&bad, "x", 1, &e), SD_EINVAL);
    bad.kind = SD_V__COUNT;
    CHECK_EQ_INT(sd_validate(&bad, "x", 1, &e), SD_EINVAL);
    CHECK_EQ_INT(sd_validate(NULL, "x", 1, &e), SD_EINVAL);
    sd_validator tok = {SD_V_TOKEN, 0};
    CHECK_EQ_INT(sd_validate(&tok, NULL, 1, &e), SD_EINVAL);
    CHECK_EQ_INT(sd_validate(&tok, NULL, 0, &e), SD_EVALID);
    CHECK_EQ_INT(sd_validate(&tok, "a b", 3, NULL), SD_EVALID); /* err may be NULL */

    /* names: short snake_case, one per kind */
    static const char *const vn[] = {NULL, "max_length", "min_length", "token", "word",
                                     "quoted_string", "callid", "tag", "host", "port", "user",
                                     "header_value", "sip_scheme", "status_code", "cseq",
                                     "method", "uri"};
    CHECK_EQ_INT(sizeof vn / sizeof vn[0], SD_V__COUNT);
    for (int k = 1; k < SD_V__COUNT; k++) {
        const char *n = sd_vkind_name((sd_vkind)k);
        CHECK(n != NULL && strcmp(n, vn[k]) == 0);
    }
    CHECK(sd_vkind_name((sd_vkind)0) == NULL);
    CHECK(sd_vkind_name(SD_V__COUNT) == NULL);
    CHECK(strcmp(sd_skind_name(SD_S_TRIM_LWS), "trim_lws") == 0);
    CHECK(strcmp(sd_skind_name(SD_S_CANONICAL_NAME), "canonical_name") == 0);
    CHECK(strcmp(sd_skind_name(SD_S_LOWER), "lower") == 0);
    CHECK(sd_skind_name((sd_skind)0) == NULL);
    CHECK(sd_skind_name(SD_S__COUNT) == NULL);
}

/* ---- sanitizers ---- */

/* Sanitize s with k; compare with expect; check length and idempotence. */
static void san_check(sd_skind k, const char *s, size_t n, const char *expect, const char *file,
                      int line)
{
    char *a = malloc(SD_SANITIZE_CAP(n) + 1), *b = malloc(SD_SANITIZE_CAP(n) + 1);
    size_t na = sd_sanitize(k, s, n, a);
    if (na > SD_SANITIZE_CAP(n) || na != strlen(expect) || memcmp(a, expect, na) != 0) {
        fprintf(stderr, "%s:%d: %s of '%.*s' gave '%.*s', expected '%s'\n", file, line,
                sd_skind_name(k), (int)n, s, (int)na, a, expect);
        tc_failures++;
    }
    size_t nb = sd_sanitize(k, a, na, b);
    if (nb != na || memcmp(a, b, na) != 0) {
        fprintf(stderr, "%s:%d: %s not idempotent on '%.*s'\n", file, line, sd_skind_name(k),
                (int)n, s);
        tc_failures++;
    }
    /* in place gives the same result */
    memcpy(b, s, n);
    nb = sd_sanitize(k, b, n, b);
    if (nb != na || memcmp(a, b, na) != 0) {
        fprintf(stderr, "%s:%d: %s in place differs on '%.*s'\n", file, line, sd_skind_name(k),
                (int)n, s);
        tc_failures++;
    }
    free(a);
    free(b);
}

#define SAN(k, s, expect) san_check(k, s, strlen(s), expect, __FILE__, __LINE__)

TEST(test_sanitize_trim_lws)
{
    /* 7.3.1: a fold (CRLF followed by SP/HT) and the white space around it
     * is equivalent to one SP; leading/trailing LWS is not part of the value */
    SAN(SD_S_TRIM_LWS, "", "");
    SAN(SD_S_TRIM_LWS, "   ", "");
    SAN(SD_S_TRIM_LWS, "\r\n", "");
    SAN(SD_S_TRIM_LWS, "abc", "abc");
    SAN(SD_S_TRIM_LWS, " \t abc \r\n", "abc");
    SAN(SD_S_TRIM_LWS, "a\r\n b", "a b");
    SAN(SD_S_TRIM_LWS, "a \t\r\n\t  b", "a b");
    SAN(SD_S_TRIM_LWS, "a \r\n \r\n\tb", "a b");
    SAN(SD_S_TRIM_LWS, "a\r\n b\r\n\tc", "a b c");
    SAN(SD_S_TRIM_LWS, "a  b", "a  b");          /* no fold: inner SP kept */
    SAN(SD_S_TRIM_LWS, "a\t b", "a\t b");
    /* a CR or LF that is not part of a fold is kept for the validators */
    SAN(SD_S_TRIM_LWS, "a\r\nb", "a\r\nb");
    SAN(SD_S_TRIM_LWS, "a\nb", "a\nb");
    SAN(SD_S_TRIM_LWS, "a\rb", "a\rb");
    SAN(SD_S_TRIM_LWS, "a \r\n\r\n b", "a \r\n\r\n b");
    SAN(SD_S_TRIM_LWS, "a \r\n \r\n\r\n b", "a \r\n \r\n\r\n b");
    SAN(SD_S_TRIM_LWS, "a\r\n\r\n", "a");
    SAN(SD_S_TRIM_LWS, "\r\n a\r\n b \r\n ", "a b");
    /* exhaustive idempotence and length over short strings of a, SP, HT, CR, LF */
    const char alpha[] = {'a', ' ', '\t', '\r', '\n'};
    char s[7], o1[7], o2[7];
    for (unsigned code = 0; code < 5 * 5 * 5 * 5 * 5 * 5; code++) {
        unsigned c = code;
        for (int i = 0; i < 6; i++, c /= 5) s[i] = alpha[c % 5];
        size_t n1 = sd_sanitize(SD_S_TRIM_LWS, s, 6, o1);
        size_t n2 = sd_sanitize(SD_S_TRIM_LWS, o1, n1, o2);
        CHECK(n1 <= 6);
        CHECK(n2 == n1 && memcmp(o1, o2, n1) == 0);
    }
}

TEST(test_sanitize_canonical_name)
{
    /* 7.3.3 / 20: names are case-insensitive; compact forms */
    SAN(SD_S_CANONICAL_NAME, "cseq", "CSeq");
    SAN(SD_S_CANONICAL_NAME, "CSEQ", "CSeq");
    SAN(SD_S_CANONICAL_NAME, "call-id", "Call-ID");
    SAN(SD_S_CANONICAL_NAME, "CALL-ID", "Call-ID");
    SAN(SD_S_CANONICAL_NAME, "www-authenticate", "WWW-Authenticate");
    SAN(SD_S_CANONICAL_NAME, "Via", "Via");
    SAN(SD_S_CANONICAL_NAME, "X-Custom-Thing", "X-Custom-Thing");
    SAN(SD_S_CANONICAL_NAME, "x-custom", "x-custom");
    SAN(SD_S_CANONICAL_NAME, "", "");
    /* RFC 3261 7.3.3 compact forms expand to their long names */
    SAN(SD_S_CANONICAL_NAME, "i", "Call-ID");
    SAN(SD_S_CANONICAL_NAME, "d", "Request-Disposition");
    SAN(SD_S_CANONICAL_NAME, "z", "z");
}

TEST(test_sanitize_lower)
{
    SAN(SD_S_LOWER, "", "");
    SAN(SD_S_LOWER, "INVITE", "invite");
    SAN(SD_S_LOWER, "Example.COM", "example.com");
    SAN(SD_S_LOWER, "a1-_\xc3\x89", "a1-_\xc3\x89"); /* ASCII only */
    char up[3] = {'@', '[', '`'};
    char o[3];
    CHECK_EQ_INT(sd_sanitize(SD_S_LOWER, up, 3, o), 3);
    CHECK(memcmp(o, "@[`", 3) == 0);
}

/* ---- pipelines ---- */

TEST(test_pipeline_run)
{
    char *out = (char *)1;
    size_t n = 99;
    sd_error e;
    /* trim, then Call-ID (20.8) within max_call_id */
    sd_pipeline pl = {2, 2, {SD_S_TRIM_LWS, SD_S_LOWER}, {{SD_V_CALLID, 0}, {SD_V_MAX_LENGTH, 8}}};
    CHECK_EQ_INT(sd_pipeline_run(&pl, " ABC@Host\r\n", 11, &out, &n, &e), SD_OK);
    CHECK(out != NULL && n == 8 && strcmp(out, "abc@host") == 0);
    free(out);
    /* one byte past the limit */
    CHECK_EQ_INT(sd_pipeline_run(&pl, " ABC@Hostx", 10, &out, &n, &e), SD_ELIMIT);
    CHECK(out == NULL);
    CHECK_EQ_INT(e.offset, 8);
    CHECK(strncmp(e.reason, "max_length: ", 12) == 0);
    /* the validator's offset is into the sanitized value */
    CHECK_EQ_INT(sd_pipeline_run(&pl, "  a b", 5, &out, &n, &e), SD_EVALID);
    CHECK(out == NULL);
    CHECK_EQ_INT(e.offset, 1);
    CHECK(strcmp(e.reason, "callid: invalid character 0x20 in Call-ID") == 0);

    /* header injection through a value: the fold is unfolded, a bare CRLF is refused */
    sd_pipeline hv = {1, 1, {SD_S_TRIM_LWS}, {{SD_V_HEADER_VALUE, 0}}};
    CHECK_EQ_INT(sd_pipeline_run(&hv, "a\r\n b\r\n", 7, &out, &n, &e), SD_OK);
    CHECK(out && strcmp(out, "a b") == 0 && n == 3);
    free(out);
    CHECK_EQ_INT(sd_pipeline_run(&hv, "a\r\nVia: x", 9, &out, &n, &e), SD_EVALID);
    CHECK(out == NULL && e.offset == 1);

    /* empty pipeline: a NUL-terminated copy */
    sd_pipeline none = {0, 0, {0}, {{0, 0}}};
    CHECK_EQ_INT(sd_pipeline_run(&none, "x\0y", 3, &out, &n, &e), SD_OK);
    CHECK(out && n == 3 && memcmp(out, "x\0y", 4) == 0);
    free(out);
    CHECK_EQ_INT(sd_pipeline_run(&none, NULL, 0, &out, &n, NULL), SD_OK);
    CHECK(out && n == 0 && out[0] == '\0');
    free(out);

    /* bad arguments */
    CHECK_EQ_INT(sd_pipeline_run(NULL, "x", 1, &out, &n, &e), SD_EINVAL);
    CHECK(out == NULL);
    CHECK_EQ_INT(sd_pipeline_run(&none, "x", 1, NULL, &n, &e), SD_EINVAL);
    sd_pipeline badk = {1, 0, {SD_S__COUNT}, {{0, 0}}};
    CHECK_EQ_INT(sd_pipeline_run(&badk, "x", 1, &out, &n, &e), SD_EINVAL);
    sd_pipeline badv = {0, 1, {0}, {{0, 0}}};
    CHECK_EQ_INT(sd_pipeline_run(&badv, "x", 1, &out, &n, &e), SD_EINVAL);
    sd_pipeline toolong = {SD_PIPELINE_MAX + 1, 0, {0}, {{0, 0}}};
    CHECK_EQ_INT(sd_pipeline_run(&toolong, "x", 1, &out, &n, &e), SD_EINVAL);
    CHECK(out == NULL);
}

TEST(test_pipeline_canonical)
{
    /* 7.3.3 compact forms expand in a pipeline: "i" -> "Call-ID" */
    char *out;
    size_t n;
    sd_error e;
    sd_pipeline pl = {2, 1, {SD_S_TRIM_LWS, SD_S_CANONICAL_NAME}, {{SD_V_TOKEN, 0}}};
    CHECK_EQ_INT(sd_pipeline_run(&pl, " i ", 3, &out, &n, &e), SD_OK);
    CHECK(out && n == 7 && strcmp(out, "Call-ID") == 0);
    free(out);
    CHECK_EQ_INT(sd_pipeline_run(&pl, "v", 1, &out, &n, &e), SD_OK);
    CHECK(out && strcmp(out, "Via") == 0);
    free(out);
    CHECK_EQ_INT(sd_pipeline_run(&pl, "d", 1, &out, &n, &e), SD_OK);
    CHECK(out && strcmp(out, "Request-Disposition") == 0);
    free(out);
    CHECK_EQ_INT(sd_pipeline_run(&pl, "cseq", 4, &out, &n, &e), SD_OK);
    CHECK(out && strcmp(out, "CSeq") == 0);
    free(out);
    CHECK_EQ_INT(sd_pipeline_run(&pl, "X-Foo", 5, &out, &n, &e), SD_OK);
    CHECK(out && strcmp(out, "X-Foo") == 0);
    free(out);
    /* running the pipeline on its own output changes nothing */
    CHECK_EQ_INT(sd_pipeline_run(&pl, "Call-ID", 7, &out, &n, &e), SD_OK);
    CHECK(out && strcmp(out, "Call-ID") == 0);
    free(out);
    /* canonical, then lower: the long form in lower case */
    sd_pipeline pl2 = {2, 0, {SD_S_CANONICAL_NAME, SD_S_LOWER}, {{0, 0}}};
    CHECK_EQ_INT(sd_pipeline_run(&pl2, "m", 1, &out, &n, &e), SD_OK);
    CHECK(out && strcmp(out, "contact") == 0);
    free(out);
}

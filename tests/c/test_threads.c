/* test_threads.c - the parser, value parsers and pipelines are reentrant:
 * several threads parse the same shared buffer and run one shared pipeline
 * at once, and every result equals the single-threaded one (run under TSan). */
#include "tcheck.h"
#include "sipdialog/msg.h"
#include "sipdialog/validate.h"

#include <pthread.h>
#include <stdlib.h>

static const char shared_msg[] =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds, SIP/2.0/TCP [2001:db8::1]:5061\r\n"
    "Max-Forwards: 70\r\nTo: Bob <sip:bob@biloxi.example.com>\r\n"
    "From: \"Alice \\\"A\\\"\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\nCSeq: 314159 INVITE\r\n"
    "Contact: <sip:alice@pc33.atlanta.example.com>\r\nContent-Length: 0\r\n\r\n";

static sd_pipeline shared_pl;

typedef struct {
    int ok;
} thread_result;

static void *worker(void *arg)
{
    thread_result *r = arg;
    sd_header *h = malloc(64 * sizeof *h);
    r->ok = 1;
    for (int i = 0; i < 2000 && r->ok; i++) {
        sd_msg m;
        sd_error e;
        if (sd_msg_parse(shared_msg, sizeof shared_msg - 1, NULL, &m, h, 64, &e) != SD_OK || m.cseq != 314159 ||
            m.via_count != 2 || m.nhdrs != 8) {
            r->ok = 0;
            break;
        }
        char *out = NULL;
        size_t n;
        if (sd_pipeline_run(&shared_pl, "  a84b4c76e66710@pc33  ", 23, &out, &n, &e) != SD_OK || n != 19)
            r->ok = 0;
        free(out);
    }
    free(h);
    return NULL;
}

TEST(test_threads_parse_and_pipeline)
{
    shared_pl.nsan = 1;
    shared_pl.san[0] = SD_S_TRIM_LWS;
    shared_pl.nval = 2;
    shared_pl.val[0] = (sd_validator){SD_V_CALLID, 0};
    shared_pl.val[1] = (sd_validator){SD_V_MAX_LENGTH, 256};
    enum { N = 4 };
    pthread_t t[N];
    thread_result r[N];
    for (int i = 0; i < N; i++) CHECK_EQ_INT(pthread_create(&t[i], NULL, worker, &r[i]), 0);
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        CHECK(r[i].ok);
    }
}

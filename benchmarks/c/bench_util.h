/*
 * bench_util.h - helpers the C benchmarks share: reading a file, a clock,
 * a median, a hash to vary copies, an octet class, checked allocation and
 * option numbers. All static inline: each benchmark uses what it needs.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static inline int is_tokenish(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr(";,<>\"@:?=", c);
}

static inline uint32_t mix32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

static inline double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Median of v[0..n) (n >= 1); sorts v. */
static inline double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2] + v[n / 2 - 1]) / 2;
}

/* One timed batch of `iters` operations on ctx; returns its ns. */
typedef double (*bench_batch_fn)(void *ctx, size_t iters);

/* Operations per batch so that a batch takes about batch_ns: from `start`,
 * x4 until one batch takes a quarter of batch_ns, then scaled to it; then
 * three more batches warm up. */
static inline size_t calibrate(bench_batch_fn batch, void *ctx, size_t start, double batch_ns)
{
    size_t iters = start ? start : 1;
    for (;;) {
        double t = batch(ctx, iters);
        if (t >= batch_ns / 4) {
            double scaled = (double)iters * batch_ns / t;
            iters = scaled < 1 ? 1 : (size_t)scaled;
            break;
        }
        iters *= 4;
    }
    for (int w = 0; w < 3; w++)
        (void)batch(ctx, iters);
    return iters;
}

/* malloc that exits on failure (n 0 allocates 1 byte). */
static inline void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        perror("malloc");
        exit(1);
    }
    return p;
}

/* The decimal value of option `opt`'s argument s, in [min, max]; else a
 * message naming program `prog` and exit status 2. */
static inline long parse_num(const char *prog, const char *opt, const char *s, long min, long max)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        fprintf(stderr, "%s: bad value for %s: %s\n", prog, opt, s);
        exit(2);
    }
    return v;
}

static inline int read_file(const char *path, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;

    if (f == NULL)
        return -1;
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            char *nb = realloc(buf, ncap);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    *data = buf;
    *len = n;
    return 0;
}

#endif

/*
 * rand.c - operating-system randomness and the monotonic clock: the two
 * outside inputs of the dialog layer, reached only through sd_dlg_env.
 */
#include "sipdialog/base.h"

#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/random.h>
#endif

sd_err sd_os_random(void *ctx, void *buf, size_t n)
{
    (void)ctx;
    unsigned char *p = buf;
#if defined(__linux__)
    while (n > 0) {
        ssize_t k = getrandom(p, n, 0);
        if (k < 0) {
            if (errno == EINTR) continue;
            break; /* ENOSYS and friends: fall back to the device */
        }
        p += k;
        n -= (size_t)k;
    }
    if (n == 0) return SD_OK;
#endif
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return SD_EINVAL;
    while (n > 0) {
        ssize_t k = read(fd, p, n);
        if (k <= 0) {
            if (k < 0 && errno == EINTR) continue;
            close(fd);
            return SD_EINVAL;
        }
        p += k;
        n -= (size_t)k;
    }
    close(fd);
    return SD_OK;
}

int64_t sd_monotonic_ns(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

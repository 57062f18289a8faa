/*
 * intern.h - shared, reference-counted strings. Internal to the C core.
 *
 * Dialogs of one user agent repeat some strings exactly: the local Contact
 * (its local target) and the route set through its proxies. A dialog keeps
 * such a string as a reference to one shared copy instead of a copy in its
 * own arena, which is what keeps a dialog small at a million of them.
 *
 * A table maps contents to the one live copy. It is striped (64 locks by
 * hash) and keyed with a per-table random SipHash key, so concurrent
 * dialog creation rarely meets on a lock and nobody can make strings
 * collide on purpose. A string leaves the table when its last reference
 * goes: the final release takes the stripe's lock and checks again that no
 * look-up took a new reference in the meantime.
 *
 * Bounded: strings longer than SD_INTERN_MAX, or beyond `max_strings` in
 * the table, are still returned as private copies (sd_istr with no table),
 * so interning never fails for lack of room and never grows without bound.
 */
#ifndef SD_INTERN_H
#define SD_INTERN_H

#include "sipdialog/base.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define SD_INTERN_MAX 4096

typedef struct sd_istr {
    _Atomic uint32_t refs;
    uint32_t len;
    uint64_t hash;
    sd_intern *table; /* NULL: a private copy */
    struct sd_istr *next;
    char s[];
} sd_istr;

/* sd_intern_new / sd_intern_unref: see sipdialog/base.h. */

/* A reference to a string equal to p[0..len): the table's copy (shared)
 * when t is non-NULL and there is room, else a private copy. NULL only when
 * out of memory. Thread-safe. */
sd_istr *sd_istr_get(sd_intern *t, const char *p, size_t len);
/* Drop a reference (NULL: no-op). Thread-safe. */
void sd_istr_put(sd_istr *s);
/* Bytes of one string (header and text): what a holder's share is
 * computed from. */
size_t sd_istr_size(const sd_istr *s);
/* Current reference count (a racy read, for footprint estimates). */
uint32_t sd_istr_refs(const sd_istr *s);
/* Strings in the table (racy, for statistics). */
size_t sd_intern_count(sd_intern *t);

#endif

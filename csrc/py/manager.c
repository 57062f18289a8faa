/*
 * manager.c - DialogManager: the Python face of the sharded dialog store
 * (csrc/store/store.c).
 *
 * Dialog objects. While a dialog is in the store, the manager keeps its
 * Python wrapper alive (`held`: address of the C dialog -> wrapper), so
 * callbacks registered on it keep firing and mgr.get returns the very
 * object that was added. The store's on_removed hook drops that reference
 * when the dialog leaves (it ends, is removed, or the manager closes); the
 * hook may run on a thread that released the GIL, so it takes it.
 *
 * GIL. No thread waits for a store lock while holding the GIL: store
 * calls run with the GIL released, but for the single look-up by ID
 * (get, [], in), which first tries the shard's read lock without waiting
 * and releases the GIL only when it has to wait (a writer holds or wants
 * the shard). An uncontended look-up takes ~30 ns; releasing and taking
 * back the GIL ~40 ns more: it would more than double the cost of the
 * commonest call while buying no parallelism (get_many releases the GIL
 * once for a whole batch). No store lock is held while Python code runs
 * (callbacks run after the store and dialog locks are released).
 *
 * Lifetime. The manager owns the store. Deallocation closes it with the
 * GIL held (so no Python-driven dialog operation is half-way through one
 * of its dialogs), which makes `self` valid for every on_removed call.
 */
#include "sdpy.h"
#include "sipdialog/store.h"

#include <string.h>
#include <structmember.h>

typedef struct ManagerObject {
    PyObject_HEAD
    sd_store *s;
    PyObject *held;       /* dict: int(address) -> Dialog; NULL after tp_clear */
    PyObject *weakrefs;
    long retry_after;     /* seconds, the Retry-After of overload_response */
    unsigned nshards;
    double tombstone_time;
} ManagerObject;

static sdpy_state *state_of(PyObject *o)
{
    return sdpy_state_of_type(Py_TYPE(o));
}

/* The store's hook: a dialog left the store; let its wrapper go. */
static void on_removed(void *ctx, sd_dialog *d)
{
    ManagerObject *self = ctx;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *et, *ev, *etb;
    PyErr_Fetch(&et, &ev, &etb);
    if (self->held != NULL) {
        PyObject *key = PyLong_FromVoidPtr(d);
        PyObject *w = key ? PyDict_GetItemWithError(self->held, key) : NULL; /* borrowed */
        if (w != NULL) {
            Py_INCREF(w);
            PyDict_DelItem(self->held, key);
            Py_DECREF(w); /* may run the wrapper's deallocation: no lock is held */
        }
        Py_XDECREF(key);
        PyErr_Clear();
    }
    PyErr_Restore(et, ev, etb);
    PyGILState_Release(g);
}

static int check_open(sdpy_state *st, ManagerObject *self)
{
    if (self->s != NULL && !sd_store_is_closed(self->s)) return 0;
    sd_error e;
    sd_error_set(&e, SD_ECLOSED, SIZE_MAX, "the dialog manager is closed");
    sdpy_raise(st, &e, 0);
    return -1;
}

/* ---- construction ---- */

static PyObject *manager_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *kws[] = {"shards", "max_dialogs", "max_per_call", "tombstone_time", "max_tombstones",
                          "retry_after", "expected", NULL};
    unsigned long shards = 64;
    Py_ssize_t max_dialogs = 1000000, max_per_call = 32, max_tombstones = -1, expected = 0;
    double tomb = 32.0;
    long retry_after = 5;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|kn$ndnln:DialogManager", kws, &shards, &max_dialogs, &max_per_call,
                                     &tomb, &max_tombstones, &retry_after, &expected))
        return NULL;
    sdpy_state *st = sdpy_state_of_type(type);
    if (st == NULL) return NULL;
    if (max_dialogs < 1 || max_per_call < 1 || max_per_call > 65535 || expected < 0 || shards > 4096) {
        PyErr_SetString(PyExc_ValueError, "max_dialogs and max_per_call must be at least 1 (max_per_call at most "
                                          "65535), expected at least 0, shards at most 4096");
        return NULL;
    }
    if (!(tomb >= 0.0 && tomb <= 86400.0)) {
        PyErr_SetString(PyExc_ValueError, "tombstone_time must be 0 to 86400 seconds");
        return NULL;
    }
    if (retry_after < 0 || retry_after > 86400) {
        PyErr_SetString(PyExc_ValueError, "retry_after must be 0 to 86400 seconds");
        return NULL;
    }
    sd_store_opts o;
    sd_store_opts_default(&o);
    o.shards = (unsigned)shards;
    o.max_dialogs = (size_t)max_dialogs;
    o.max_per_call = (unsigned)max_per_call;
    o.tombstone_ns = (int64_t)(tomb * 1e9);
    o.max_tombstones = max_tombstones < 0 ? (size_t)max_dialogs : (size_t)max_tombstones;
    o.initial = (size_t)expected;
    o.now = st->env.now;
    o.now_ctx = st->env.now_ctx;
    o.on_removed = on_removed;
    ManagerObject *self = (ManagerObject *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    o.removed_ctx = self;
    self->retry_after = retry_after;
    self->nshards = (unsigned)shards;
    self->tombstone_time = tomb;
    if ((self->held = PyDict_New()) == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    sd_error e;
    sd_err rc;
    Py_BEGIN_ALLOW_THREADS
    rc = sd_store_new(&o, &self->s, &e);
    Py_END_ALLOW_THREADS
    if (rc != SD_OK) {
        self->s = NULL;
        Py_DECREF(self);
        if (rc == SD_EINVAL) {
            PyErr_SetString(PyExc_ValueError, e.reason);
            return NULL;
        }
        return sdpy_raise(st, &e, 0);
    }
    return (PyObject *)self;
}

static void manager_dealloc(ManagerObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    if (self->weakrefs) PyObject_ClearWeakRefs((PyObject *)self);
    if (self->s) {
        sd_store_close(self->s); /* GIL held: see the top of the file */
        sd_store_unref(self->s);
        self->s = NULL;
    }
    Py_CLEAR(self->held);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static int manager_traverse(ManagerObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->held);
    return 0;
}

static int manager_clear(ManagerObject *self)
{
    Py_CLEAR(self->held);
    return 0;
}

/* ---- keys ---- */

/* A dialog ID string "Call-ID;local-tag;remote-tag" split into its parts;
 * 0 when it is not one (it then names no dialog), -1 on a TypeError. */
static int split_id(PyObject *id, sd_str *c, sd_str *l, sd_str *r)
{
    if (!PyUnicode_Check(id)) {
        PyErr_Format(PyExc_TypeError, "a dialog ID is a str, not %.100s", Py_TYPE(id)->tp_name);
        return -1;
    }
    Py_ssize_t n;
    const char *p = PyUnicode_AsUTF8AndSize(id, &n);
    if (p == NULL) {
        PyErr_Clear(); /* lone surrogates: no dialog has such an ID */
        return 0;
    }
    const char *a = memchr(p, ';', (size_t)n);
    if (a == NULL) return 0;
    const char *b = memchr(a + 1, ';', (size_t)(p + n - a - 1));
    if (b == NULL || memchr(b + 1, ';', (size_t)(p + n - b - 1)) != NULL) return 0;
    *c = (sd_str){p, (size_t)(a - p)};
    *l = (sd_str){a + 1, (size_t)(b - a - 1)};
    *r = (sd_str){b + 1, (size_t)(p + n - b - 1)};
    return c->len > 0 && l->len > 0;
}

static int as_text(PyObject *o, const char *what, sd_str *out)
{
    if (!PyUnicode_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be a str, not %.100s", what, Py_TYPE(o)->tp_name);
        return -1;
    }
    Py_ssize_t n;
    const char *p = PyUnicode_AsUTF8AndSize(o, &n);
    if (p == NULL) return -1;
    *out = (sd_str){p, (size_t)n};
    return 0;
}

/* The C dialog named by an ID (new reference) or NULL; -1 on error. */
static int lookup_id(ManagerObject *self, PyObject *id, sd_dialog **out)
{
    sd_str c, l, r;
    *out = NULL;
    int ok = split_id(id, &c, &l, &r);
    if (ok <= 0) return ok;
    sd_dialog *d;
    if (!sd_store_get_nowait(self->s, c, l, r, &d)) { /* a writer is at work: wait without the GIL */
        Py_BEGIN_ALLOW_THREADS
        d = sd_store_get(self->s, c, l, r);
        Py_END_ALLOW_THREADS
    }
    *out = d;
    return 0;
}

/* The Dialog object named by an ID, as a new reference in *out (NULL: none);
 * -1 on error. The manager holds the object of every dialog it stores, so
 * while the GIL is held and the shard read-locked its pointer (the
 * listener's ctx) can be taken without a reference to the C dialog: the
 * common case costs no dialog lock and no reference count. */
static int lookup_obj(sdpy_state *st, ManagerObject *self, PyObject *id, PyObject **out)
{
    sd_str c, l, r;
    *out = NULL;
    int ok = split_id(id, &c, &l, &r);
    if (ok <= 0) return ok;
    void *ctx = NULL;
    int found = sd_store_peek_ctx_nowait(self->s, c, l, r, sdpy_dialog_listener(), &ctx);
    if (found == 0) return 0;
    if (found == 1 && ctx != NULL) {
        *out = Py_NewRef((PyObject *)ctx);
        return 0;
    }
    sd_dialog *d;
    if (lookup_id(self, id, &d) < 0) return -1;
    if (d != NULL && (*out = sdpy_dialog_object(st, d)) == NULL) return -1;
    return 0;
}

/* A found dialog (reference consumed) as its Python object, or `dflt`. */
static PyObject *result(sdpy_state *st, sd_dialog *d, PyObject *dflt)
{
    if (d == NULL) return Py_NewRef(dflt);
    return sdpy_dialog_object(st, d);
}

/* ---- the contract ---- */

static PyObject *manager_add(ManagerObject *self, PyObject *args, PyObject *kw)
{
    static char *kws[] = {"dialog", "source", NULL};
    PyObject *dlg, *source = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|$O:add", kws, &dlg, &source)) return NULL;
    sdpy_state *st = state_of((PyObject *)self);
    if (st == NULL || check_open(st, self) < 0) return NULL;
    sd_dialog *d = sdpy_dialog_ptr(st, dlg);
    if (d == NULL) {
        PyErr_Format(PyExc_TypeError, "expected a sipdialog.Dialog, not %.100s", Py_TYPE(dlg)->tp_name);
        return NULL;
    }
    if (source != Py_None) {
        PyErr_SetString(PyExc_NotImplementedError, "per-source admission is not built yet");
        return NULL;
    }
    sd_error e;
    sd_err rc;
    Py_BEGIN_ALLOW_THREADS
    rc = sd_store_add(self->s, d, &e);
    Py_END_ALLOW_THREADS
    if (rc != SD_OK) return sdpy_raise(st, &e, 0);
    /* hold the wrapper while the dialog is in the store; when it already
     * left (another thread ended it), on_removed has run: hold nothing */
    if (self->held != NULL && sd_store_contains(self->s, d)) {
        PyObject *key = PyLong_FromVoidPtr(d);
        int bad = key == NULL || PyDict_SetItem(self->held, key, dlg) < 0;
        Py_XDECREF(key);
        if (bad) return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *manager_get(ManagerObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "get(id, default=None)");
        return NULL;
    }
    sdpy_state *st = state_of((PyObject *)self);
    if (st == NULL || check_open(st, self) < 0) return NULL;
    PyObject *o;
    if (lookup_obj(st, self, args[0], &o) < 0) return NULL;
    return o ? o : Py_NewRef(nargs > 1 ? args[1] : Py_None);
}

static PyObject *manager_subscript(ManagerObject *self, PyObject *id)
{
    sdpy_state *st = state_of((PyObject *)self);
    if (st == NULL || check_open(st, self) < 0) return NULL;
    PyObject *o;
    if (lookup_obj(st, self, id, &o) < 0) return NULL;
    if (o == NULL) PyErr_SetObject(st->DialogNotFound, id);
    return o;
}

static int manager_contains(ManagerObject *self, PyObject *x)
{
    sdpy_state *st = state_of((PyObject *)self);
    if (st == NULL) return -1;
    if (self->s == NULL || sd_store_is_closed(self->s)) return 0;
    sd_dialog *d = sdpy_dialog_ptr(st, x);
    if (d != NULL) return sd_store_contains(self->s, d);
    if (lookup_id(self, x, &d) < 0) return -1;
    sd_dialog_unref(d);
    return d != NULL;
}

static PyObject *manager_remove(ManagerObject *self, PyObject *x)
{
    sdpy_state *st = state_of((PyObject *)self);
    if (st == NULL || check_open(st, self) < 0) return NULL;
    sd_dialog *d = sdpy_dialog_ptr(st, x);
    if (d != NULL) {
        sd_dialog_ref(d);
    } else if (lookup_id(self, x, &d) < 0) {
        return NULL;
    }
    sd_err rc = SD_ENOTFOUND;
    if (d != NULL) {
        Py_BEGIN_ALLOW_THREADS
        rc = sd_store_remove(self->s, d);
        Py_END_ALLOW_THREADS
        sd_dialog_unref(d);
    }
    if (rc != SD_OK) {
        PyErr_SetObject(st->DialogNotFound, x);
        return NULL;
    }
    Py_RETURN_NONE;
}

#define MSG(o) (&((MessageObject *)(o))->m)
#define MBUF(o) PyBytes_AS_STRING(((MessageObject *)(o))->buf)

static PyObject *manager_find(ManagerObject *self, PyObject *msg)
{
    sdpy_state *st = state_of((PyObject *)self);
    if (st == NULL || check_open(st, self) < 0) return NULL;
    if (!PyObject_TypeCheck(msg, st->Message)) {
        PyErr_Format(PyExc_TypeError, "expected a sipdialog.Request or Response, not %.100s", Py_TYPE(msg)->tp_name);
        return NULL;
    }
    sd_dialog *d;
    Py_BEGIN_ALLOW_THREADS
    d = sd_store_find(self->s, MBUF(msg), MSG(msg));
    Py_END_ALLOW_THREADS
    return result(st, d, Py_None);
}

static PyObject *manager_find_by_call_id(ManagerObject *self, PyObject *cid)
{
    sdpy_state *st = state_of((PyObject *)self);
    sd_str c;
    if (st == NULL || check_open(st, self) < 0 || as_text(cid, "call_id", &c) < 0) return NULL;
    sd_dialog *small[8], **v = small;
    size_t cap = 8, n;
    for (;;) {
        Py_BEGIN_ALLOW_THREADS
        n = sd_store_find_call(self->s, c, v, cap);
        Py_END_ALLOW_THREADS
        if (n <= cap) break;
        for (size_t i = 0; i < cap; i++) sd_dialog_unref(v[i]);
        if (v != small) PyMem_Free(v);
        cap = n + 8;
        if ((v = PyMem_Malloc(sizeof *v * cap)) == NULL) return PyErr_NoMemory();
    }
    PyObject *list = PyList_New(0);
    for (size_t i = 0; i < n; i++) {
        PyObject *o = list ? sdpy_dialog_object(st, v[i]) : (sd_dialog_unref(v[i]), NULL);
        if (o == NULL || PyList_Append(list, o) < 0) Py_CLEAR(list);
        Py_XDECREF(o);
    }
    if (v != small) PyMem_Free(v);
    return list;
}

static PyObject *manager_find_by_tags(ManagerObject *self, PyObject *args, PyObject *kw)
{
    static char *kws[] = {"call_id", "tag_a", "tag_b", NULL};
    PyObject *co, *ao, *bo;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOO:find_by_tags", kws, &co, &ao, &bo)) return NULL;
    sdpy_state *st = state_of((PyObject *)self);
    sd_str c, a, b;
    if (st == NULL || check_open(st, self) < 0 || as_text(co, "call_id", &c) < 0 || as_text(ao, "tag_a", &a) < 0 ||
        as_text(bo, "tag_b", &b) < 0)
        return NULL;
    sd_dialog *d;
    Py_BEGIN_ALLOW_THREADS
    d = sd_store_find_tags(self->s, c, a, b);
    Py_END_ALLOW_THREADS
    return result(st, d, Py_None);
}

/* get_many(ids) -> list: one GIL release for the whole batch. */
static PyObject *manager_get_many(ManagerObject *self, PyObject *ids)
{
    sdpy_state *st = state_of((PyObject *)self);
    if (st == NULL || check_open(st, self) < 0) return NULL;
    PyObject *seq = PySequence_Fast(ids, "get_many() takes a sequence of dialog IDs");
    if (seq == NULL) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    sd_str *keys = PyMem_Malloc(sizeof *keys * 3 * (size_t)(n ? n : 1));
    sd_dialog **out = PyMem_Malloc(sizeof *out * (size_t)(n ? n : 1));
    PyObject *list = NULL;
    if (keys == NULL || out == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        int ok = split_id(PySequence_Fast_GET_ITEM(seq, i), &keys[3 * i], &keys[3 * i + 1], &keys[3 * i + 2]);
        if (ok < 0) goto done;
        if (ok == 0) keys[3 * i].p = NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++)
        out[i] = keys[3 * i].p ? sd_store_get(self->s, keys[3 * i], keys[3 * i + 1], keys[3 * i + 2]) : NULL;
    Py_END_ALLOW_THREADS
    list = PyList_New(n);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o = list ? result(st, out[i], Py_None) : (sd_dialog_unref(out[i]), NULL);
        if (o == NULL) Py_CLEAR(list);
        else PyList_SET_ITEM(list, i, o);
    }
done:
    PyMem_Free(keys);
    PyMem_Free(out);
    Py_DECREF(seq);
    return list;
}

static Py_ssize_t manager_len(ManagerObject *self)
{
    return self->s ? (Py_ssize_t)sd_store_len(self->s) : 0;
}

/* A list of the live dialogs' objects, taken as one consistent snapshot. */
static PyObject *dialogs_list(sdpy_state *st, ManagerObject *self)
{
    sd_dialog **v = NULL;
    size_t n = 0;
    sd_err rc = SD_OK;
    if (self->s != NULL && !sd_store_is_closed(self->s)) {
        Py_BEGIN_ALLOW_THREADS
        rc = sd_store_list(self->s, &v, &n);
        Py_END_ALLOW_THREADS
    }
    if (rc != SD_OK) return PyErr_NoMemory();
    PyObject *list = PyList_New(0);
    for (size_t i = 0; i < n; i++) {
        PyObject *o = list ? sdpy_dialog_object(st, v[i]) : (sd_dialog_unref(v[i]), NULL);
        if (o == NULL || PyList_Append(list, o) < 0) Py_CLEAR(list);
        Py_XDECREF(o);
    }
    free(v);
    return list;
}

static PyObject *manager_iter(ManagerObject *self)
{
    sdpy_state *st = state_of((PyObject *)self);
    PyObject *list = st ? dialogs_list(st, self) : NULL;
    if (list == NULL) return NULL;
    PyObject *it = PyObject_GetIter(list);
    Py_DECREF(list);
    return it;
}

static PyObject *manager_dialogs(ManagerObject *self, PyObject *unused)
{
    (void)unused;
    sdpy_state *st = state_of((PyObject *)self);
    return st ? dialogs_list(st, self) : NULL;
}

static PyObject *manager_snapshot(ManagerObject *self, PyObject *unused)
{
    (void)unused;
    sdpy_state *st = state_of((PyObject *)self);
    PyObject *list = st ? dialogs_list(st, self) : NULL;
    if (list == NULL) return NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); i++) {
        PyObject *s = PyObject_CallMethod(PyList_GET_ITEM(list, i), "snapshot", NULL);
        if (s == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SetItem(list, i, s);
    }
    return list;
}

static int set_num(PyObject *d, const char *k, PyObject *v)
{
    if (v == NULL) return -1;
    int r = PyDict_SetItemString(d, k, v);
    Py_DECREF(v);
    return r;
}

static PyObject *manager_stats(ManagerObject *self, PyObject *unused)
{
    (void)unused;
    sdpy_state *st = state_of((PyObject *)self);
    if (st == NULL || self->s == NULL) return NULL;
    sd_store_stats s;
    unsigned ns = self->nshards;
    sd_store_shard_stats *per = PyMem_Malloc(sizeof *per * ns);
    if (per == NULL) return PyErr_NoMemory();
    Py_BEGIN_ALLOW_THREADS
    sd_store_stats_get(self->s, &s, per);
    Py_END_ALLOW_THREADS
    PyObject *d = PyDict_New(), *by = PyDict_New(), *shards = PyList_New(0);
    int bad = d == NULL || by == NULL || shards == NULL;
    for (int i = 0; !bad && i < SD_DLG__NSTATES; i++)
        bad = set_num(by, sd_dlg_state_name((sd_dlg_state)i), PyLong_FromSize_t(s.per_state[i])) < 0;
    size_t longest = 0;
    for (unsigned i = 0; !bad && i < ns; i++) {
        if (per[i].longest_probe > longest) longest = per[i].longest_probe;
        PyObject *e = Py_BuildValue("{s:n,s:n,s:n,s:d,s:n}", "capacity", (Py_ssize_t)per[i].capacity, "dialogs",
                                    (Py_ssize_t)per[i].dialogs, "tombstones", (Py_ssize_t)per[i].tombstones,
                                    "load_factor",
                                    (double)(per[i].dialogs + per[i].tombstones) / (double)per[i].capacity,
                                    "longest_probe", (Py_ssize_t)per[i].longest_probe);
        bad = e == NULL || PyList_Append(shards, e) < 0;
        Py_XDECREF(e);
    }
    PyMem_Free(per);
    bad = bad || set_num(d, "dialogs", PyLong_FromSize_t(s.live)) < 0 || PyDict_SetItemString(d, "by_state", by) < 0 ||
          set_num(d, "tombstones", PyLong_FromSize_t(s.tombstones)) < 0 ||
          set_num(d, "lookups", PyLong_FromUnsignedLongLong(s.lookups)) < 0 ||
          set_num(d, "misses", PyLong_FromUnsignedLongLong(s.misses)) < 0 ||
          set_num(d, "added", PyLong_FromUnsignedLongLong(s.added)) < 0 ||
          set_num(d, "removed", PyLong_FromUnsignedLongLong(s.removed)) < 0 ||
          set_num(d, "rekeyed", PyLong_FromUnsignedLongLong(s.rekeyed)) < 0 ||
          set_num(d, "rejected_overload", PyLong_FromUnsignedLongLong(s.rejected_overload)) < 0 ||
          set_num(d, "rejected_per_call", PyLong_FromUnsignedLongLong(s.rejected_per_call)) < 0 ||
          set_num(d, "rejected_exists", PyLong_FromUnsignedLongLong(s.rejected_exists)) < 0 ||
          set_num(d, "rejections",
                  PyLong_FromUnsignedLongLong(s.rejected_overload + s.rejected_per_call + s.rejected_exists)) < 0 ||
          set_num(d, "capacity", PyLong_FromSize_t(s.capacity)) < 0 ||
          set_num(d, "load_factor", PyFloat_FromDouble((double)(s.live + s.tombstones) / (double)s.capacity)) < 0 ||
          set_num(d, "longest_probe", PyLong_FromSize_t(longest)) < 0 ||
          set_num(d, "store_bytes", PyLong_FromSize_t(s.bytes)) < 0 || PyDict_SetItemString(d, "shards", shards) < 0;
    Py_XDECREF(by);
    Py_XDECREF(shards);
    if (bad) {
        Py_XDECREF(d);
        return NULL;
    }
    return d;
}

/* ended(call_id, tag_a, tag_b) -> dict | None */
static PyObject *manager_ended(ManagerObject *self, PyObject *args, PyObject *kw)
{
    static char *kws[] = {"call_id", "tag_a", "tag_b", NULL};
    PyObject *co, *ao, *bo;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOO:ended", kws, &co, &ao, &bo)) return NULL;
    sdpy_state *st = state_of((PyObject *)self);
    sd_str c, a, b;
    if (st == NULL || self->s == NULL || as_text(co, "call_id", &c) < 0 || as_text(ao, "tag_a", &a) < 0 ||
        as_text(bo, "tag_b", &b) < 0)
        return NULL;
    sd_store_ended_info info;
    int found;
    Py_BEGIN_ALLOW_THREADS
    found = sd_store_ended(self->s, c, a, b, &info);
    Py_END_ALLOW_THREADS
    if (!found) Py_RETURN_NONE;
    return Py_BuildValue("{s:s,s:O,s:i,s:d}", "reason", sd_dlg_event_name((sd_dlg_event)info.how), "state",
                         st->states[info.state < SD_DLG__NSTATES ? info.state : SD_DLG_TERMINATED], "status",
                         (int)info.status, "at", (double)info.ended_at / 1e9);
}

/* request.create_response(status, headers=[(name, value)]) */
static PyObject *respond(PyObject *req, int status, const char *hname, PyObject *hvalue)
{
    PyObject *kw = NULL, *args = Py_BuildValue("(i)", status);
    if (args && hname) kw = Py_BuildValue("{s:[(sO)]}", "headers", hname, hvalue);
    PyObject *meth = args && (kw || !hname) ? PyObject_GetAttrString(req, "create_response") : NULL;
    PyObject *r = meth ? PyObject_Call(meth, args, kw) : NULL;
    Py_XDECREF(meth);
    Py_XDECREF(args);
    Py_XDECREF(kw);
    return r;
}

static int is_request(sdpy_state *st, PyObject *o)
{
    if (PyObject_TypeCheck(o, st->Request)) return 1;
    PyErr_Format(PyExc_TypeError, "expected a sipdialog.Request, not %.100s", Py_TYPE(o)->tp_name);
    return 0;
}

/* overload_response(request) -> Response: 503 with Retry-After. */
static PyObject *manager_overload_response(ManagerObject *self, PyObject *req)
{
    sdpy_state *st = state_of((PyObject *)self);
    if (st == NULL || !is_request(st, req)) return NULL;
    PyObject *v = PyUnicode_FromFormat("%ld", self->retry_after);
    PyObject *r = v ? respond(req, 503, "Retry-After", v) : NULL;
    Py_XDECREF(v);
    return r;
}

/* The Replaces header of `m` (RFC 3891 6.1): its Call-ID and tags, 1; 0 when
 * there is none or it lacks a tag. */
static int replaces_of(const char *buf, const sd_msg *m, sd_str *cid, sd_str *to_tag, sd_str *from_tag)
{
    int i = sd_msg_next(m, SD_H_REPLACES, -1);
    if (i < 0) return 0;
    sd_span v = m->hdrs[i].value;
    uint32_t semi = 0;
    while (semi < v.len && buf[v.off + semi] != ';') semi++;
    uint32_t end = semi;
    while (end > 0 && (buf[v.off + end - 1] == ' ' || buf[v.off + end - 1] == '\t')) end--;
    if (end == 0 || semi == v.len) return 0;
    sd_span params = {v.off + semi, v.len - semi}, tv, fv;
    if (sd_param_find(buf, params, 0, "to-tag", 6, &tv) != 1 || sd_param_find(buf, params, 0, "from-tag", 8, &fv) != 1)
        return 0;
    *cid = (sd_str){buf + v.off, end};
    *to_tag = (sd_str){buf + tv.off, tv.len};
    *from_tag = (sd_str){buf + fv.off, fv.len};
    return 1;
}

/* late_response(request) -> Response | None */
static PyObject *manager_late_response(ManagerObject *self, PyObject *req)
{
    sdpy_state *st = state_of((PyObject *)self);
    if (st == NULL || !is_request(st, req) || check_open(st, self) < 0) return NULL;
    const char *buf = MBUF(req);
    const sd_msg *m = MSG(req);
    sd_str c, a, b;
    int found = 0, replaces = 0;
    if (m->method_id == SD_M_INVITE && replaces_of(buf, m, &c, &a, &b)) {
        replaces = 1;
    } else if (m->has_to_tag && m->has_from_tag && m->method_id != SD_M_ACK) {
        c = (sd_str){buf + m->call_id.off, m->call_id.len};
        a = (sd_str){buf + m->to_tag.off, m->to_tag.len};
        b = (sd_str){buf + m->from_tag.off, m->from_tag.len};
    } else {
        Py_RETURN_NONE;
    }
    Py_BEGIN_ALLOW_THREADS
    found = sd_store_ended(self->s, c, a, b, NULL);
    Py_END_ALLOW_THREADS
    if (!found) Py_RETURN_NONE;
    /* RFC 3891 3: Replaces naming a terminated dialog: 603; a BYE for an
     * ended dialog (its 200 was lost): 200 again; anything else: 481
     * (RFC 3261 12.2.2) */
    int status = replaces ? 603 : m->method_id == SD_M_BYE ? 200 : 481;
    return respond(req, status, NULL, NULL);
}

static PyObject *manager_close(ManagerObject *self, PyObject *unused)
{
    (void)unused;
    if (self->s != NULL) {
        Py_BEGIN_ALLOW_THREADS
        sd_store_close(self->s);
        Py_END_ALLOW_THREADS
    }
    if (self->held) PyDict_Clear(self->held);
    Py_RETURN_NONE;
}

static PyObject *manager_enter(ManagerObject *self, PyObject *unused)
{
    (void)unused;
    sdpy_state *st = state_of((PyObject *)self);
    if (st == NULL || check_open(st, self) < 0) return NULL;
    return Py_NewRef((PyObject *)self);
}

static PyObject *manager_exit(ManagerObject *self, PyObject *args)
{
    (void)args;
    PyObject *r = manager_close(self, NULL);
    Py_XDECREF(r);
    if (r == NULL) return NULL;
    Py_RETURN_FALSE;
}

static PyObject *manager_get_closed(ManagerObject *self, void *c)
{
    (void)c;
    return PyBool_FromLong(self->s == NULL || sd_store_is_closed(self->s));
}

static PyObject *manager_get_retry_after(ManagerObject *self, void *c)
{
    (void)c;
    return PyLong_FromLong(self->retry_after);
}

static PyObject *manager_get_tombstone_time(ManagerObject *self, void *c)
{
    (void)c;
    return PyFloat_FromDouble(self->tombstone_time);
}

static PyObject *manager_repr(ManagerObject *self)
{
    if (self->s == NULL || sd_store_is_closed(self->s)) return PyUnicode_FromString("<DialogManager closed>");
    sd_store_stats s;
    Py_BEGIN_ALLOW_THREADS
    sd_store_stats_get(self->s, &s, NULL);
    Py_END_ALLOW_THREADS
    char parts[256];
    size_t w = 0;
    for (int i = 0; i < SD_DLG__NSTATES && w < sizeof parts; i++)
        if (s.per_state[i])
            w += (size_t)snprintf(parts + w, sizeof parts - w, "%s%s %zu", w ? ", " : "",
                                  sd_dlg_state_name((sd_dlg_state)i), s.per_state[i]);
    parts[w < sizeof parts ? w : sizeof parts - 1] = '\0';
    return PyUnicode_FromFormat("<DialogManager %zu dialog%s%s%s%s, %zu ended recently, %u shards>", s.live,
                                s.live == 1 ? "" : "s", w ? " (" : "", parts, w ? ")" : "", s.tombstones, s.shards);
}

static PyMethodDef manager_methods[] = {
    {"add", (PyCFunction)(void (*)(void))manager_add, METH_VARARGS | METH_KEYWORDS,
     "add(dialog, *, source=None)\n\nPut a dialog in the manager (it is found, counted and listed until it ends "
     "or is removed). DialogStateError when it, or a dialog with its ID, is in a manager already or it is "
     "terminated; ClosedError when the manager or the dialog is closed; OverloadError beyond max_dialogs; "
     "LimitError beyond max_per_call dialogs of one Call-ID."},
    {"get", (PyCFunction)(void (*)(void))manager_get, METH_FASTCALL,
     "get(id, default=None)\n\nThe live dialog whose dlg.id is `id`, or `default`."},
    {"get_many", (PyCFunction)manager_get_many, METH_O,
     "get_many(ids) -> list\n\nget() for each ID, in one call that releases the GIL once for the whole batch."},
    {"remove", (PyCFunction)manager_remove, METH_O,
     "remove(dialog_or_id)\n\nTake a dialog out (it stays usable). DialogNotFound when it is not here."},
    {"find", (PyCFunction)manager_find, METH_O,
     "find(message) -> Dialog | None\n\nThe dialog a received message belongs to: a request by its To tag (ours) "
     "and From tag, a request without To tag (the creating INVITE again, its CANCEL) the dialog it created; a "
     "response by its From tag (ours) and To tag, or our dialog still waiting for its first tagged response. A "
     "response with a new To tag for a call whose dialog has one already is a fork: None (fork a dialog of "
     "find_by_call_id(...); the sibling joins the manager)."},
    {"find_by_call_id", (PyCFunction)manager_find_by_call_id, METH_O,
     "find_by_call_id(call_id) -> list[Dialog]\n\nEvery live dialog of one call (forks included)."},
    {"find_by_tags", (PyCFunction)(void (*)(void))manager_find_by_tags, METH_VARARGS | METH_KEYWORDS,
     "find_by_tags(call_id, tag_a, tag_b) -> Dialog | None\n\nThe dialog with these tags in either orientation "
     "(local=a, remote=b, then local=b, remote=a): what Replaces (RFC 3891) and Target-Dialog (RFC 4538) need."},
    {"ended", (PyCFunction)(void (*)(void))manager_ended, METH_VARARGS | METH_KEYWORDS,
     "ended(call_id, tag_a, tag_b) -> dict | None\n\nWhat is remembered of a dialog with these tags (either "
     "orientation) that ended less than tombstone_time ago: {'reason', 'state', 'status', 'at'}; else None."},
    {"overload_response", (PyCFunction)manager_overload_response, METH_O,
     "overload_response(request) -> Response\n\n503 Service Unavailable with Retry-After: retry_after, for a "
     "request refused because the manager is full or its source is over its limits (RFC 3261 21.5.4)."},
    {"late_response", (PyCFunction)manager_late_response, METH_O,
     "late_response(request) -> Response | None\n\nThe answer the RFCs give a request naming a dialog that "
     "ended less than tombstone_time ago: 200 for a BYE (a retransmission whose 200 was lost), 603 for an "
     "INVITE whose Replaces names it (RFC 3891 3), 481 for anything else (never for an ACK); None when the "
     "request names no recently ended dialog."},
    {"dialogs", (PyCFunction)manager_dialogs, METH_NOARGS,
     "dialogs() -> list[Dialog]\n\nThe live dialogs, as one consistent snapshot."},
    {"snapshot", (PyCFunction)manager_snapshot, METH_NOARGS,
     "snapshot() -> list[dict]\n\ndlg.snapshot() of every live dialog (ready for pandas.DataFrame(...))."},
    {"stats", (PyCFunction)manager_stats, METH_NOARGS,
     "stats() -> dict\n\nCounts: dialogs, by_state, tombstones, lookups, misses, added, removed, rekeyed, "
     "rejections (and rejected_overload/per_call/exists), capacity, load_factor, longest_probe, store_bytes, and "
     "per shard (capacity, dialogs, tombstones, load_factor, longest_probe)."},
    {"close", (PyCFunction)manager_close, METH_NOARGS,
     "close()\n\nClose every dialog and the manager; idempotent. Later calls raise ClosedError."},
    {"__enter__", (PyCFunction)manager_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)manager_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef manager_getset[] = {
    {"closed", (getter)manager_get_closed, NULL, "True once close() was called.", NULL},
    {"retry_after", (getter)manager_get_retry_after, NULL, "Seconds in the Retry-After of overload_response().",
     NULL},
    {"tombstone_time", (getter)manager_get_tombstone_time, NULL,
     "Seconds an ended dialog's ID is remembered (64*T1 = 32 by default).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef manager_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(ManagerObject, weakrefs), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot manager_slots[] = {
    {Py_tp_new, manager_new},
    {Py_tp_dealloc, manager_dealloc},
    {Py_tp_traverse, manager_traverse},
    {Py_tp_clear, manager_clear},
    {Py_tp_iter, manager_iter},
    {Py_tp_methods, manager_methods},
    {Py_tp_getset, manager_getset},
    {Py_tp_members, manager_members},
    {Py_tp_repr, manager_repr},
    {Py_mp_subscript, manager_subscript},
    {Py_mp_length, manager_len},
    {Py_sq_length, manager_len},
    {Py_sq_contains, manager_contains},
    {Py_tp_doc,
     "DialogManager(shards=64, max_dialogs=1000000, *, max_per_call=32, tombstone_time=32.0, max_tombstones=None, "
     "retry_after=5, expected=0)\n\n"
     "Every live dialog of a user agent, indexed for constant-time look-up by ID, message, Call-ID and tags, "
     "thread-safe (look-ups release the GIL) and bounded. Dialogs that end leave by themselves; their IDs are "
     "remembered for tombstone_time seconds (see ended()). A context manager: leaving it closes every dialog."},
    {0, NULL},
};

static PyType_Spec manager_spec = {"sipdialog.DialogManager", sizeof(ManagerObject), 0,
                                   Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC, manager_slots};

int sdpy_manager_init_types(PyObject *m, sdpy_state *st)
{
    st->DialogManager = (PyTypeObject *)PyType_FromModuleAndSpec(m, &manager_spec, NULL);
    if (st->DialogManager == NULL) return -1;
    return PyModule_AddObjectRef(m, "DialogManager", (PyObject *)st->DialogManager);
}

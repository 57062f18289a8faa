/*
 * dialog.c - the Dialog type: a Python handle on one sd_dialog, the
 * DialogState enum and the Transition history entries.
 *
 * Dialog operations are short (well under a microsecond of C work, the
 * dialog lock is never held across a wait) and run with the GIL held, so
 * that state-change callbacks, which the C core calls after releasing the
 * dialog lock, run on the calling thread with the GIL they need. C threads
 * that use the same dialog take only its lock, never the GIL, so holding
 * the GIL while briefly waiting for that lock cannot deadlock.
 */
#include "sdpy.h"
#include "structmember.h"

#include <string.h>

static int str_eq_c(sd_str a, const char *c)
{
    size_t n = strlen(c);
    return a.len == n && memcmp(a.p, c, n) == 0;
}

typedef struct DialogObject {
    PyObject_HEAD
    sd_dialog *d;
    PyObject *callbacks; /* list of callables, or NULL */
    PyObject *weakrefs;
} DialogObject;

static sdpy_state *state_of(PyObject *o)
{
    return sdpy_state_of_type(Py_TYPE(o));
}

static int is_message(sdpy_state *st, PyObject *o, int want /* 1 request, 0 response, -1 any */)
{
    PyTypeObject *t = want == 1 ? st->Request : want == 0 ? st->Response : st->Message;
    if (PyObject_TypeCheck(o, t)) return 1;
    PyErr_Format(PyExc_TypeError, "expected a sipdialog.%s, not %.100s",
                 want == 1 ? "Request" : want == 0 ? "Response" : "Request or Response", Py_TYPE(o)->tp_name);
    return 0;
}

#define MSG(o) (&((MessageObject *)(o))->m)
#define MBUF(o) PyBytes_AS_STRING(((MessageObject *)(o))->buf)

/* ---- history and state values ---- */

static PyStructSequence_Field transition_fields[] = {
    {"old", "the DialogState before"},
    {"new", "the DialogState after"},
    {"reason", "what caused it: provisional, success, failure, bye-sent, bye-received, bye-done, ended, timeout, close"},
    {"method", "the method of the request involved, or None"},
    {"status", "the status code of the response involved, or None"},
    {"at", "time.monotonic() seconds when it happened"},
    {NULL, NULL},
};
static PyStructSequence_Desc transition_desc = {
    "sipdialog.Transition", "One recorded dialog state transition (a named tuple).", transition_fields, 6};

static const char *method_name(int m)
{
    static const char *const names[] = {NULL,      "INVITE", "ACK",  "BYE",   "CANCEL", "OPTIONS", "REGISTER", "PRACK",
                                        "SUBSCRIBE", "NOTIFY", "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE"};
    return m > 0 && m < (int)(sizeof names / sizeof names[0]) ? names[m] : NULL;
}

static PyObject *transition_obj(sdpy_state *st, const sd_dlg_transition *t)
{
    PyObject *r = PyStructSequence_New((PyTypeObject *)st->Transition);
    if (r == NULL) return NULL;
    const char *mn = method_name(t->method);
    PyObject *items[6] = {
        Py_NewRef(st->states[t->from]),
        Py_NewRef(st->states[t->to]),
        PyUnicode_FromString(sd_dlg_event_name((sd_dlg_event)t->event)),
        mn ? PyUnicode_FromString(mn) : Py_NewRef(Py_None),
        t->status ? PyLong_FromLong(t->status) : Py_NewRef(Py_None),
        PyFloat_FromDouble((double)t->at_ns / 1e9),
    };
    for (int i = 0; i < 6; i++) {
        if (items[i] == NULL) {
            for (int j = 0; j < 6; j++) Py_XDECREF(items[j]);
            Py_DECREF(r);
            return NULL;
        }
    }
    for (int i = 0; i < 6; i++) PyStructSequence_SET_ITEM(r, i, items[i]);
    return r;
}

/* The C core's listener: called after the dialog lock (and any store
 * lock) is released, on the thread whose call caused the transition: a
 * Python call holding the GIL, or a store operation that released it (a
 * manager's close), hence PyGILState_Ensure. */
static void dialog_listener_locked(DialogObject *self, const sd_dlg_transition *t);
static void dialog_listener(void *ctx, sd_dialog *d, const sd_dlg_transition *t)
{
    (void)d;
    PyGILState_STATE g = PyGILState_Ensure();
    dialog_listener_locked(ctx, t);
    PyGILState_Release(g);
}

static void dialog_listener_locked(DialogObject *self, const sd_dlg_transition *t)
{
    if (self->callbacks == NULL || PyList_GET_SIZE(self->callbacks) == 0) return;
    PyObject *et, *ev, *etb;
    PyErr_Fetch(&et, &ev, &etb); /* keep an error in flight */
    sdpy_state *st = state_of((PyObject *)self);
    PyObject *tr = st ? transition_obj(st, t) : NULL;
    PyObject *cbs = tr ? PyList_GetSlice(self->callbacks, 0, PY_SSIZE_T_MAX) : NULL; /* callbacks may edit the list */
    if (cbs != NULL) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(cbs); i++) {
            PyObject *cb = PyList_GET_ITEM(cbs, i);
            PyObject *r = PyObject_CallFunctionObjArgs(cb, (PyObject *)self, tr, NULL);
            if (r != NULL) {
                Py_DECREF(r);
                continue;
            }
            /* a failing callback is logged with its traceback, never lost,
             * never fatal to the operation that made the transition */
            PyObject *t1, *v1, *tb1;
            PyErr_Fetch(&t1, &v1, &tb1);
            PyErr_NormalizeException(&t1, &v1, &tb1);
            if (tb1 && v1) PyException_SetTraceback(v1, tb1);
            PyObject *logging = PyImport_ImportModule("logging");
            PyObject *lg = logging ? PyObject_CallMethod(logging, "getLogger", "s", "sipdialog") : NULL;
            PyObject *meth = lg ? PyObject_GetAttrString(lg, "error") : NULL;
            PyObject *a = meth ? Py_BuildValue("(sO)", "state callback %r failed", cb) : NULL;
            PyObject *k = a ? Py_BuildValue("{s:O}", "exc_info", v1 ? v1 : Py_True) : NULL;
            PyObject *res = k ? PyObject_Call(meth, a, k) : NULL;
            Py_XDECREF(res);
            Py_XDECREF(k);
            Py_XDECREF(a);
            Py_XDECREF(meth);
            Py_XDECREF(lg);
            Py_XDECREF(logging);
            Py_XDECREF(t1);
            Py_XDECREF(v1);
            Py_XDECREF(tb1);
            PyErr_Clear();
        }
    }
    PyErr_Clear();
    Py_XDECREF(cbs);
    Py_XDECREF(tr);
    PyErr_Restore(et, ev, etb);
}

/* ---- construction ---- */

static PyObject *wrap(PyTypeObject *type, sd_dialog *d)
{
    DialogObject *o = (DialogObject *)type->tp_alloc(type, 0);
    if (o == NULL) {
        sd_dialog_unref(d);
        return NULL;
    }
    o->d = d;
    o->callbacks = NULL;
    sd_dialog_set_listener(d, dialog_listener, o);
    return (PyObject *)o;
}

PyObject *sdpy_dialog_object(sdpy_state *st, sd_dialog *d)
{
    PyObject *o = sd_dialog_listener_ctx(d, dialog_listener);
    if (o != NULL) {
        sd_dialog_unref(d);
        return Py_NewRef(o);
    }
    return wrap(st->Dialog, d);
}

sd_dlg_listener sdpy_dialog_listener(void)
{
    return dialog_listener;
}

sd_dialog *sdpy_dialog_ptr(sdpy_state *st, PyObject *o)
{
    return PyObject_TypeCheck(o, st->Dialog) ? ((DialogObject *)o)->d : NULL;
}

static PyObject *dialog_new_forbidden(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    (void)type;
    (void)args;
    (void)kw;
    PyErr_SetString(PyExc_TypeError,
                    "create dialogs with Dialog.from_uac(request, response=None), Dialog.from_uas(request, "
                    "local_contact=...) or Dialog.restore(snapshot)");
    return NULL;
}

static void dialog_dealloc(DialogObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    if (self->weakrefs) PyObject_ClearWeakRefs((PyObject *)self);
    if (self->d) {
        /* another wrapper may have taken over the listener (see
         * sdpy_dialog_object): only ours is cleared */
        if (sd_dialog_listener_ctx(self->d, dialog_listener) == self) sd_dialog_set_listener(self->d, NULL, NULL);
        sd_dialog_unref(self->d);
        self->d = NULL;
    }
    Py_CLEAR(self->callbacks);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static int dialog_traverse(DialogObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->callbacks);
    return 0;
}

static int dialog_clear(DialogObject *self)
{
    Py_CLEAR(self->callbacks);
    return 0;
}

static PyObject *from_built(sdpy_state *st, sd_buf *b)
{
    PyObject *bytes = PyBytes_FromStringAndSize(b->p, (Py_ssize_t)b->len);
    sd_buf_free(b);
    if (bytes == NULL) return NULL;
    sd_parse_opts o = st->opts;
    o.flags |= SD_PARSE_CHECK_URIS;
    PyObject *r = sdpy_parse_bytes(st, bytes, &o, 1, 0);
    Py_DECREF(bytes);
    return r;
}

/* receive() a message on d and turn the outcome into Python. */
static PyObject *do_receive(sdpy_state *st, sd_dialog *d, PyObject *msg, unsigned flags)
{
    sd_buf reply;
    sd_buf_init(&reply);
    sd_error e;
    sd_err rc = sd_dialog_receive(d, MBUF(msg), MSG(msg), flags, &reply, &e);
    if (rc != SD_OK) {
        sd_buf_free(&reply);
        return sdpy_raise(st, &e, 0);
    }
    if (reply.len == 0) {
        sd_buf_free(&reply);
        Py_RETURN_NONE;
    }
    return from_built(st, &reply);
}

static PyObject *dialog_from_uac(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *kws[] = {"request", "response", NULL};
    PyObject *req, *resp = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O:from_uac", kws, &req, &resp)) return NULL;
    sdpy_state *st = sdpy_state_of_type(type);
    if (st == NULL || !is_message(st, req, 1) || (resp != Py_None && !is_message(st, resp, 0))) return NULL;
    sd_dialog *d;
    sd_error e;
    if (sd_dialog_new_uac(&st->env, MBUF(req), MSG(req), &d, &e) != SD_OK) return sdpy_raise(st, &e, 0);
    PyObject *o = wrap(type, d);
    if (o == NULL) return NULL;
    if (resp != Py_None) {
        PyObject *r = do_receive(st, d, resp, 0);
        if (r == NULL) {
            Py_DECREF(o);
            return NULL;
        }
        Py_DECREF(r);
    }
    return o;
}

static int str_bytes(PyObject *o, PyObject **keep, sd_str *out, const char *what)
{
    if (o == NULL || o == Py_None) {
        *keep = NULL;
        *out = (sd_str){NULL, 0};
        return 0;
    }
    if (!PyUnicode_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be str, not %.100s", what, Py_TYPE(o)->tp_name);
        return -1;
    }
    *keep = PyUnicode_AsEncodedString(o, "utf-8", "surrogateescape");
    if (*keep == NULL) return -1;
    *out = (sd_str){PyBytes_AS_STRING(*keep), (size_t)PyBytes_GET_SIZE(*keep)};
    return 0;
}

static PyObject *dialog_from_uas(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *kws[] = {"request", "local_contact", "local_tag", NULL};
    PyObject *req, *contact = NULL, *tag = Py_None, *kc = NULL, *kt = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|$OO:from_uas", kws, &req, &contact, &tag)) return NULL;
    if (contact == NULL) {
        PyErr_SetString(PyExc_TypeError, "from_uas() needs local_contact= (our Contact URI)");
        return NULL;
    }
    sdpy_state *st = sdpy_state_of_type(type);
    if (st == NULL || !is_message(st, req, 1)) return NULL;
    sd_str c, t;
    if (str_bytes(contact, &kc, &c, "local_contact") < 0 || str_bytes(tag, &kt, &t, "local_tag") < 0) {
        Py_XDECREF(kc);
        return NULL;
    }
    if (tag != Py_None && t.len == 0) {
        Py_XDECREF(kc);
        Py_XDECREF(kt);
        sd_error e;
        sd_error_set(&e, SD_EVALID, 0, "local_tag must not be empty (None draws a random one)");
        return sdpy_raise(st, &e, 1);
    }
    sd_dialog *d;
    sd_error e;
    sd_err rc = sd_dialog_new_uas(&st->env, MBUF(req), MSG(req), c, t, &d, &e);
    Py_XDECREF(kc);
    Py_XDECREF(kt);
    if (rc != SD_OK) return sdpy_raise(st, &e, 0);
    return wrap(type, d);
}

/* ---- headers and bodies from Python ---- */

typedef struct hdrs {
    PyObject *pairs; /* list of (name bytes, value bytes) */
    PyObject *body;  /* bytes */
    sd_str *names, *values;
    size_t n;
} hdrs;

static void hdrs_free(hdrs *h)
{
    Py_XDECREF(h->pairs);
    Py_XDECREF(h->body);
    PyMem_Free(h->names);
}

static int hdrs_from(sdpy_state *st, PyObject *headers, PyObject *body, hdrs *h)
{
    memset(h, 0, sizeof *h);
    if ((h->pairs = PyList_New(0)) == NULL) return -1;
    if (sdpy_collect_pairs(headers, h->pairs) < 0) return sdpy_encode_error_to_validation(st);
    h->body = body ? sdpy_as_bytes(body, "body") : PyBytes_FromStringAndSize(NULL, 0);
    if (h->body == NULL) return sdpy_encode_error_to_validation(st);
    h->n = (size_t)PyList_GET_SIZE(h->pairs);
    h->names = PyMem_Calloc(h->n * 2 + 1, sizeof(sd_str));
    if (h->names == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    h->values = h->names + h->n;
    for (size_t i = 0; i < h->n; i++) {
        PyObject *t = PyList_GET_ITEM(h->pairs, (Py_ssize_t)i);
        PyObject *nb = PyTuple_GET_ITEM(t, 0), *vb = PyTuple_GET_ITEM(t, 1);
        h->names[i] = (sd_str){PyBytes_AS_STRING(nb), (size_t)PyBytes_GET_SIZE(nb)};
        h->values[i] = (sd_str){PyBytes_AS_STRING(vb), (size_t)PyBytes_GET_SIZE(vb)};
    }
    return 0;
}

#define BODY(h) PyBytes_AS_STRING((h).body), (size_t)PyBytes_GET_SIZE((h).body)

/* ---- methods ---- */

static PyObject *dialog_receive(DialogObject *self, PyObject *args, PyObject *kw)
{
    static char *kws[] = {"message", "auto_answer", NULL};
    PyObject *msg;
    int auto_answer = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|$p:receive", kws, &msg, &auto_answer)) return NULL;
    sdpy_state *st = state_of((PyObject *)self);
    if (st == NULL || !is_message(st, msg, -1)) return NULL;
    return do_receive(st, self->d, msg, auto_answer ? SD_RECV_AUTO_ANSWER : 0);
}

static PyObject *dialog_fork(DialogObject *self, PyObject *resp)
{
    sdpy_state *st = state_of((PyObject *)self);
    if (st == NULL || !is_message(st, resp, 0)) return NULL;
    sd_dialog *s;
    sd_error e;
    if (sd_dialog_fork(self->d, MBUF(resp), MSG(resp), &s, &e) != SD_OK) return sdpy_raise(st, &e, 0);
    return wrap(Py_TYPE(self), s);
}

static PyObject *dialog_create_request(DialogObject *self, PyObject *args, PyObject *kw)
{
    static char *kws[] = {"method", "headers", "body", NULL};
    PyObject *method, *headers = NULL, *body = NULL, *mk = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "U|$OO:create_request", kws, &method, &headers, &body)) return NULL;
    sdpy_state *st = state_of((PyObject *)self);
    if (st == NULL) return NULL;
    sd_str m;
    hdrs h;
    if (str_bytes(method, &mk, &m, "method") < 0) return sdpy_encode_error_to_validation(st), NULL;
    if (hdrs_from(st, headers, body, &h) < 0) {
        Py_XDECREF(mk);
        hdrs_free(&h);
        return NULL;
    }
    sd_buf out;
    sd_buf_init(&out);
    sd_error e;
    sd_err rc = sd_dialog_create_request(self->d, m, h.names, h.values, h.n, BODY(h), &out, NULL, &e);
    Py_XDECREF(mk);
    hdrs_free(&h);
    if (rc != SD_OK) {
        sd_buf_free(&out);
        return sdpy_raise(st, &e, 1);
    }
    return from_built(st, &out);
}

static PyObject *dialog_create_ack(DialogObject *self, PyObject *args, PyObject *kw)
{
    static char *kws[] = {"response", "headers", "body", NULL};
    PyObject *resp, *headers = NULL, *body = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|$OO:create_ack", kws, &resp, &headers, &body)) return NULL;
    sdpy_state *st = state_of((PyObject *)self);
    if (st == NULL || !is_message(st, resp, 0)) return NULL;
    hdrs h;
    if (hdrs_from(st, headers, body, &h) < 0) {
        hdrs_free(&h);
        return NULL;
    }
    sd_buf out;
    sd_buf_init(&out);
    sd_error e;
    sd_err rc = sd_dialog_create_ack(self->d, MBUF(resp), MSG(resp), h.names, h.values, h.n, BODY(h), &out, &e);
    hdrs_free(&h);
    if (rc != SD_OK) {
        sd_buf_free(&out);
        return sdpy_raise(st, &e, 1);
    }
    return from_built(st, &out);
}

/* provisional / answer / reject: one body, three status ranges */
static PyObject *respond(DialogObject *self, PyObject *args, PyObject *kw, const char *fmt, int lo, int hi,
                         int dflt, const char *what)
{
    static char *kws[] = {"status_code", "reason", "headers", "body", NULL};
    int status = dflt;
    PyObject *reason = Py_None, *headers = NULL, *body = NULL, *rk = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, fmt, kws, &status, &reason, &headers, &body)) return NULL;
    sdpy_state *st = state_of((PyObject *)self);
    if (st == NULL) return NULL;
    sd_error e;
    if (status < lo || status > hi) {
        sd_error_set(&e, SD_EVALID, 0, "%s takes a status code %d..%d, not %d", what, lo, hi, status);
        return sdpy_raise(st, &e, 1);
    }
    sd_str rs;
    if (str_bytes(reason, &rk, &rs, "reason") < 0) return sdpy_encode_error_to_validation(st), NULL;
    hdrs h;
    if (hdrs_from(st, headers, body, &h) < 0) {
        Py_XDECREF(rk);
        hdrs_free(&h);
        return NULL;
    }
    sd_buf out;
    sd_buf_init(&out);
    sd_err rc = sd_dialog_respond(self->d, status, rs, h.names, h.values, h.n, BODY(h), &out, &e);
    Py_XDECREF(rk);
    hdrs_free(&h);
    if (rc != SD_OK) {
        sd_buf_free(&out);
        return sdpy_raise(st, &e, 1);
    }
    return from_built(st, &out);
}

static PyObject *dialog_provisional(DialogObject *self, PyObject *args, PyObject *kw)
{
    return respond(self, args, kw, "|iO$OO:provisional", 101, 199, 180, "provisional()");
}

static PyObject *dialog_answer(DialogObject *self, PyObject *args, PyObject *kw)
{
    return respond(self, args, kw, "|iO$OO:answer", 200, 299, 200, "answer()");
}

static PyObject *dialog_reject(DialogObject *self, PyObject *args, PyObject *kw)
{
    return respond(self, args, kw, "i|O$OO:reject", 300, 699, 0, "reject()");
}

static PyObject *dialog_timeout(DialogObject *self, PyObject *unused)
{
    (void)unused;
    sd_error e;
    if (sd_dialog_timeout(self->d, &e) != SD_OK) return sdpy_raise(state_of((PyObject *)self), &e, 0);
    Py_RETURN_NONE;
}

static PyObject *dialog_close(DialogObject *self, PyObject *unused)
{
    (void)unused;
    sd_dialog_close(self->d);
    Py_RETURN_NONE;
}

static PyObject *dialog_enter(DialogObject *self, PyObject *unused)
{
    (void)unused;
    if (sd_dialog_is_closed(self->d)) {
        sd_error e;
        sd_error_set(&e, SD_ECLOSED, SIZE_MAX, "the dialog is closed");
        return sdpy_raise(state_of((PyObject *)self), &e, 0);
    }
    return Py_NewRef(self);
}

static PyObject *dialog_exit(DialogObject *self, PyObject *args)
{
    (void)args;
    sd_dialog_close(self->d);
    Py_RETURN_FALSE;
}

static PyObject *dialog_on_state_change(DialogObject *self, PyObject *cb)
{
    if (!PyCallable_Check(cb)) {
        PyErr_SetString(PyExc_TypeError, "the state callback must be callable: cb(dialog, transition)");
        return NULL;
    }
    if (self->callbacks == NULL && (self->callbacks = PyList_New(0)) == NULL) return NULL;
    if (PyList_Append(self->callbacks, cb) < 0) return NULL;
    return Py_NewRef(cb); /* usable as a decorator */
}

static PyObject *dialog_remove_state_callback(DialogObject *self, PyObject *cb)
{
    Py_ssize_t n = self->callbacks ? PyList_GET_SIZE(self->callbacks) : 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        int eq = PyObject_RichCompareBool(PyList_GET_ITEM(self->callbacks, i), cb, Py_EQ);
        if (eq < 0) return NULL;
        if (eq) {
            if (PySequence_DelItem(self->callbacks, i) < 0) return NULL;
            Py_RETURN_NONE;
        }
    }
    PyErr_SetString(PyExc_ValueError, "that callback is not registered");
    return NULL;
}

/* ---- reading ---- */

static sd_dlg_snap *snap(DialogObject *self)
{
    sd_dlg_snap *s;
    sd_error e;
    if (sd_dialog_snapshot(self->d, &s, &e) != SD_OK) {
        PyErr_NoMemory();
        return NULL;
    }
    return s;
}

static PyObject *text(sd_str s)
{
    return sdpy_str(s.p, s.len);
}

static PyObject *text_or_none(sd_str s)
{
    if (s.len == 0) Py_RETURN_NONE;
    return sdpy_str(s.p, s.len);
}

static PyObject *route_list(sd_str r)
{
    PyObject *l = PyList_New(0);
    if (l == NULL || r.len == 0) return l;
    uint32_t pos = 0;
    sd_span it;
    while (sd_list_next(r.p, (sd_span){0, (uint32_t)r.len}, &pos, &it) == 1) {
        PyObject *v = sdpy_str(r.p + it.off, it.len);
        if (v == NULL || PyList_Append(l, v) < 0) {
            Py_XDECREF(v);
            Py_DECREF(l);
            return NULL;
        }
        Py_DECREF(v);
    }
    return l;
}

static PyObject *id_of(const sd_dlg_snap *s)
{
    /* Call-ID ";" local tag ";" remote tag: neither a Call-ID (word) nor a
     * tag (token) can hold ';', so the ID is unambiguous */
    size_t n = s->call_id.len + s->local_tag.len + s->remote_tag.len + 2;
    PyObject *r = PyUnicode_New((Py_ssize_t)n, 127);
    if (r == NULL) return NULL;
    char *w = (char *)PyUnicode_DATA(r); /* Call-IDs and tags are validated ASCII */
    memcpy(w, s->call_id.p, s->call_id.len);
    w += s->call_id.len;
    *w++ = ';';
    memcpy(w, s->local_tag.p, s->local_tag.len);
    w += s->local_tag.len;
    *w++ = ';';
    memcpy(w, s->remote_tag.p, s->remote_tag.len);
    return r;
}

enum {
    G_ID, G_CALL_ID, G_LOCAL_TAG, G_REMOTE_TAG, G_LOCAL_URI, G_REMOTE_URI, G_LOCAL_TARGET, G_REMOTE_TARGET,
    G_ROUTE_SET, G_LOCAL_SEQ, G_REMOTE_SEQ, G_SECURE, G_CREATED, G_ACTIVITY, G_HISTORY, G_LOCAL_HDR, G_REMOTE_HDR,
    G_PENDING
};

static PyObject *history_tuple(sdpy_state *st, const sd_dlg_snap *s)
{
    PyObject *t = PyTuple_New((Py_ssize_t)s->nhistory);
    if (t == NULL) return NULL;
    for (size_t i = 0; i < s->nhistory; i++) {
        PyObject *x = transition_obj(st, &s->history[i]);
        if (x == NULL) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, (Py_ssize_t)i, x);
    }
    return t;
}

static PyObject *dialog_get(DialogObject *self, void *which)
{
    sdpy_state *st = state_of((PyObject *)self);
    sd_dlg_snap *s = st ? snap(self) : NULL;
    if (s == NULL) return NULL;
    PyObject *r = NULL;
    switch ((int)(intptr_t)which) {
    case G_ID: r = id_of(s); break;
    case G_CALL_ID: r = text(s->call_id); break;
    case G_LOCAL_TAG: r = text_or_none(s->local_tag); break;
    case G_REMOTE_TAG: r = text_or_none(s->remote_tag); break;
    case G_LOCAL_URI: r = text(s->local_uri); break;
    case G_REMOTE_URI: r = text(s->remote_uri); break;
    case G_LOCAL_TARGET: r = text_or_none(s->local_target); break;
    case G_REMOTE_TARGET: r = text_or_none(s->remote_target); break;
    case G_ROUTE_SET: r = route_list(s->route_set); break;
    case G_LOCAL_SEQ: r = s->has_local_seq ? PyLong_FromUnsignedLong(s->local_seq) : Py_NewRef(Py_None); break;
    case G_REMOTE_SEQ: r = s->has_remote_seq ? PyLong_FromUnsignedLong(s->remote_seq) : Py_NewRef(Py_None); break;
    case G_SECURE: r = PyBool_FromLong(s->secure); break;
    case G_CREATED: r = PyFloat_FromDouble((double)s->created_at / 1e9); break;
    case G_ACTIVITY: r = PyFloat_FromDouble((double)s->last_activity / 1e9); break;
    case G_HISTORY: r = history_tuple(st, s); break;
    case G_LOCAL_HDR: r = text(s->local_header); break;
    case G_REMOTE_HDR: r = text(s->remote_header); break;
    case G_PENDING:
        r = Py_BuildValue("{s:O,s:O,s:O,s:O}", "invite_out", s->invite_pending_out ? Py_True : Py_False, "invite_in",
                          s->invite_pending_in ? Py_True : Py_False, "ack_out", s->ack_pending_out ? Py_True : Py_False,
                          "ack_in", s->ack_pending_in ? Py_True : Py_False);
        break;
    }
    free(s);
    return r;
}

static PyObject *dialog_get_state(DialogObject *self, void *c)
{
    (void)c;
    sdpy_state *st = state_of((PyObject *)self);
    if (st == NULL) return NULL;
    return Py_NewRef(st->states[sd_dialog_state(self->d)]);
}

static PyObject *dialog_get_is_uac(DialogObject *self, void *c)
{
    (void)c;
    return PyBool_FromLong(sd_dialog_role(self->d) == SD_DLG_UAC);
}

static PyObject *dialog_get_role(DialogObject *self, void *c)
{
    (void)c;
    return PyUnicode_FromString(sd_dialog_role(self->d) == SD_DLG_UAC ? "uac" : "uas");
}

static PyObject *dialog_get_closed(DialogObject *self, void *c)
{
    (void)c;
    return PyBool_FromLong(sd_dialog_is_closed(self->d));
}

static PyObject *dialog_get_footprint(DialogObject *self, void *c)
{
    (void)c;
    return PyLong_FromSize_t(sd_dialog_footprint(self->d));
}

static int set_item(PyObject *d, const char *k, PyObject *v)
{
    if (v == NULL) return -1;
    int r = PyDict_SetItemString(d, k, v);
    Py_DECREF(v);
    return r;
}

static PyObject *dialog_snapshot(DialogObject *self, PyObject *unused)
{
    (void)unused;
    sdpy_state *st = state_of((PyObject *)self);
    sd_dlg_snap *s = st ? snap(self) : NULL;
    if (s == NULL) return NULL;
    PyObject *d = PyDict_New(), *hist = d ? PyList_New((Py_ssize_t)s->nhistory) : NULL;
    int bad = hist == NULL;
    for (size_t i = 0; !bad && i < s->nhistory; i++) {
        const sd_dlg_transition *t = &s->history[i];
        const char *mn = method_name(t->method);
        PyObject *e = Py_BuildValue("{s:s,s:s,s:s,s:O,s:O,s:d}", "old", sd_dlg_state_name((sd_dlg_state)t->from),
                                    "new", sd_dlg_state_name((sd_dlg_state)t->to), "reason",
                                    sd_dlg_event_name((sd_dlg_event)t->event), "method", Py_None, "status", Py_None,
                                    "at", (double)t->at_ns / 1e9);
        if (e == NULL) {
            bad = 1;
            break;
        }
        if (mn) bad |= set_item(e, "method", PyUnicode_FromString(mn)) < 0;
        if (t->status) bad |= set_item(e, "status", PyLong_FromLong(t->status)) < 0;
        PyList_SET_ITEM(hist, (Py_ssize_t)i, e);
    }
    if (!bad) {
        bad = set_item(d, "version", PyLong_FromLong(1)) < 0 || set_item(d, "id", id_of(s)) < 0 ||
              set_item(d, "role", PyUnicode_FromString(s->role == SD_DLG_UAC ? "uac" : "uas")) < 0 ||
              set_item(d, "state", PyUnicode_FromString(sd_dlg_state_name((sd_dlg_state)s->state))) < 0 ||
              set_item(d, "call_id", text(s->call_id)) < 0 || set_item(d, "local_tag", text(s->local_tag)) < 0 ||
              set_item(d, "remote_tag", text_or_none(s->remote_tag)) < 0 ||
              set_item(d, "local_uri", text(s->local_uri)) < 0 || set_item(d, "remote_uri", text(s->remote_uri)) < 0 ||
              set_item(d, "local_header", text(s->local_header)) < 0 ||
              set_item(d, "remote_header", text(s->remote_header)) < 0 ||
              set_item(d, "local_target", text_or_none(s->local_target)) < 0 ||
              set_item(d, "remote_target", text_or_none(s->remote_target)) < 0 ||
              set_item(d, "route_set", route_list(s->route_set)) < 0 ||
              set_item(d, "local_seq", s->has_local_seq ? PyLong_FromUnsignedLong(s->local_seq) : Py_NewRef(Py_None)) < 0 ||
              set_item(d, "remote_seq", s->has_remote_seq ? PyLong_FromUnsignedLong(s->remote_seq) : Py_NewRef(Py_None)) < 0 ||
              set_item(d, "first_local_seq", s->first_local_seq ? PyLong_FromUnsignedLong(s->first_local_seq) : Py_NewRef(Py_None)) < 0 ||
              set_item(d, "secure", PyBool_FromLong(s->secure)) < 0 ||
              set_item(d, "closed", PyBool_FromLong(s->closed)) < 0 ||
              set_item(d, "created_at", PyFloat_FromDouble((double)s->created_at / 1e9)) < 0 ||
              set_item(d, "last_activity", PyFloat_FromDouble((double)s->last_activity / 1e9)) < 0 ||
              set_item(d, "history", Py_NewRef(hist)) < 0;
    }
    free(s);
    Py_XDECREF(hist);
    if (bad) {
        Py_XDECREF(d);
        return NULL;
    }
    return d;
}

/* ---- restore ---- */

static int state_index(const char *name)
{
    for (int i = 0; i < SD_DLG__NSTATES; i++)
        if (strcmp(name, sd_dlg_state_name((sd_dlg_state)i)) == 0) return i;
    return -1;
}

static int event_index(const char *name)
{
    for (int i = 0; i < SD_DE__NEVENTS; i++)
        if (strcmp(name, sd_dlg_event_name((sd_dlg_event)i)) == 0) return i;
    return -1;
}

/* Fetch snapshot[key] as str (required unless opt), encode it into *keep. */
static int snap_str(PyObject *snapobj, const char *key, int opt, PyObject **keep, sd_str *out)
{
    *keep = NULL;
    *out = (sd_str){"", 0};
    PyObject *v = PyMapping_GetItemString(snapobj, key);
    if (v == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_KeyError)) return -1;
        PyErr_Clear();
        if (opt) return 0;
        PyErr_Format(PyExc_KeyError, "snapshot has no '%s'", key);
        return -1;
    }
    if (v == Py_None && opt) {
        Py_DECREF(v);
        return 0;
    }
    int r = str_bytes(v, keep, out, key);
    Py_DECREF(v);
    return r;
}

static int snap_seq(PyObject *snapobj, const char *key, uint8_t *has, uint32_t *val)
{
    PyObject *v = PyMapping_GetItemString(snapobj, key);
    *has = 0;
    *val = 0;
    if (v == NULL) {
        PyErr_Format(PyExc_KeyError, "snapshot has no '%s'", key);
        return -1;
    }
    if (v == Py_None) {
        Py_DECREF(v);
        return 0;
    }
    long long x = PyLong_AsLongLong(v);
    Py_DECREF(v);
    if (x == -1 && PyErr_Occurred()) return -1;
    if (x < 0 || x > 0x7fffffffLL) {
        PyErr_Format(PyExc_ValueError, "%s must be 0..2**31-1", key);
        return -1;
    }
    *has = 1;
    *val = (uint32_t)x;
    return 0;
}

static PyObject *dialog_restore(PyTypeObject *type, PyObject *snapobj)
{
    sdpy_state *st = sdpy_state_of_type(type);
    if (st == NULL) return NULL;
    if (!PyMapping_Check(snapobj)) {
        PyErr_SetString(PyExc_TypeError, "restore() takes the dict that snapshot() returned");
        return NULL;
    }
    sd_dlg_snap s;
    memset(&s, 0, sizeof s);
    PyObject *keep[9] = {NULL}, *routes = NULL, *hist = NULL, *r = NULL, *joined = NULL;
    sd_dlg_transition *tr = NULL;
    sd_str role, state;
    if (snap_str(snapobj, "role", 0, &keep[0], &role) < 0 || snap_str(snapobj, "state", 0, &keep[1], &state) < 0 ||
        snap_str(snapobj, "call_id", 0, &keep[2], &s.call_id) < 0 ||
        snap_str(snapobj, "local_header", 0, &keep[3], &s.local_header) < 0 ||
        snap_str(snapobj, "remote_header", 0, &keep[4], &s.remote_header) < 0 ||
        snap_str(snapobj, "local_target", 1, &keep[5], &s.local_target) < 0 ||
        snap_str(snapobj, "remote_target", 1, &keep[6], &s.remote_target) < 0 ||
        snap_seq(snapobj, "local_seq", &s.has_local_seq, &s.local_seq) < 0 ||
        snap_seq(snapobj, "remote_seq", &s.has_remote_seq, &s.remote_seq) < 0)
        goto out;
    {
        /* optional: older snapshots have no first_local_seq */
        uint8_t has = 0;
        PyObject *fv = PyMapping_GetItemString(snapobj, "first_local_seq");
        if (fv == NULL) PyErr_Clear();
        else {
            Py_DECREF(fv);
            if (snap_seq(snapobj, "first_local_seq", &has, &s.first_local_seq) < 0) goto out;
        }
    }
    if (str_eq_c(role, "uac")) s.role = SD_DLG_UAC;
    else if (str_eq_c(role, "uas")) s.role = SD_DLG_UAS;
    else {
        PyErr_SetString(PyExc_ValueError, "role must be 'uac' or 'uas'");
        goto out;
    }
    {
        char sn[16];
        if (state.len >= sizeof sn || (memcpy(sn, state.p, state.len), sn[state.len] = 0, state_index(sn)) < 0) {
            PyErr_SetString(PyExc_ValueError, "state must be one of none, early, confirmed, terminating, terminated");
            goto out;
        }
        s.state = (uint8_t)state_index(sn);
    }
    PyObject *sec = PyMapping_GetItemString(snapobj, "secure");
    if (sec == NULL) PyErr_Clear();
    else {
        s.secure = (uint8_t)PyObject_IsTrue(sec);
        Py_DECREF(sec);
    }
    /* route set: a list of name-addr strings, joined by ',' for the core */
    routes = PyMapping_GetItemString(snapobj, "route_set");
    if (routes == NULL) goto out;
    {
        PyObject *sep = PyUnicode_FromString(",");
        joined = sep ? PyUnicode_Join(sep, routes) : NULL;
        Py_XDECREF(sep);
        if (joined == NULL) goto out;
        if (str_bytes(joined, &keep[7], &s.route_set, "route_set") < 0) goto out;
    }
    hist = PyMapping_GetItemString(snapobj, "history");
    if (hist == NULL) {
        PyErr_Clear();
    } else {
        PyObject *seq = PySequence_Fast(hist, "history must be a list");
        if (seq == NULL) goto out;
        Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
        tr = PyMem_Calloc((size_t)n + 1, sizeof *tr);
        if (tr == NULL) {
            Py_DECREF(seq);
            PyErr_NoMemory();
            goto out;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *e = PySequence_Fast_GET_ITEM(seq, i);
            PyObject *o = PyMapping_GetItemString(e, "old"), *nw = PyMapping_GetItemString(e, "new"),
                     *rs = PyMapping_GetItemString(e, "reason"), *at = PyMapping_GetItemString(e, "at"),
                     *stt = PyMapping_GetItemString(e, "status"), *mt = PyMapping_GetItemString(e, "method");
            int ok = o && nw && rs && at && stt && mt && PyUnicode_Check(o) && PyUnicode_Check(nw) &&
                     PyUnicode_Check(rs);
            if (ok) {
                int a = state_index(PyUnicode_AsUTF8(o)), b = state_index(PyUnicode_AsUTF8(nw)),
                    c = event_index(PyUnicode_AsUTF8(rs));
                double t = PyFloat_AsDouble(at);
                long status = stt == Py_None ? 0 : PyLong_AsLong(stt);
                int m = SD_M_OTHER;
                if (mt != Py_None && PyUnicode_Check(mt)) {
                    Py_ssize_t ml;
                    const char *mp = PyUnicode_AsUTF8AndSize(mt, &ml);
                    m = mp ? (int)sd_method_lookup(mp, (size_t)ml) : SD_M_OTHER;
                }
                ok = a >= 0 && b >= 0 && c >= 0 && !PyErr_Occurred() && status >= 0 && status <= 699;
                tr[i] = (sd_dlg_transition){(int64_t)(t * 1e9), (uint8_t)a, (uint8_t)b, (uint8_t)c, (uint8_t)m,
                                            (uint16_t)status, 0};
            }
            Py_XDECREF(o);
            Py_XDECREF(nw);
            Py_XDECREF(rs);
            Py_XDECREF(at);
            Py_XDECREF(stt);
            Py_XDECREF(mt);
            if (!ok) {
                Py_DECREF(seq);
                if (!PyErr_Occurred())
                    PyErr_Format(PyExc_ValueError, "history entry %zd is not {old, new, reason, method, status, at}", i);
                goto out;
            }
        }
        s.nhistory = (size_t)n;
        s.history = tr;
        Py_DECREF(seq);
    }
    PyObject *ca = PyMapping_GetItemString(snapobj, "created_at"), *la = PyMapping_GetItemString(snapobj, "last_activity");
    PyErr_Clear();
    s.created_at = ca ? (int64_t)(PyFloat_AsDouble(ca) * 1e9) : 0;
    s.last_activity = la ? (int64_t)(PyFloat_AsDouble(la) * 1e9) : s.created_at;
    Py_XDECREF(ca);
    Py_XDECREF(la);
    if (PyErr_Occurred()) goto out;
    sd_dialog *d;
    sd_error e;
    if (sd_dialog_restore(&st->env, &s, &d, &e) != SD_OK) {
        sdpy_raise(st, &e, 1);
        goto out;
    }
    r = wrap(type, d);
out:
    for (int i = 0; i < 9; i++) Py_XDECREF(keep[i]);
    Py_XDECREF(routes);
    Py_XDECREF(joined);
    Py_XDECREF(hist);
    PyMem_Free(tr);
    return r;
}

static PyObject *dialog_repr(DialogObject *self)
{
    sd_dlg_snap *s = snap(self);
    if (s == NULL) return NULL;
    PyObject *id = id_of(s);
    PyObject *r = id ? PyUnicode_FromFormat("<%s %s %s id=%R%s>", _PyType_Name(Py_TYPE(self)),
                                            s->role == SD_DLG_UAC ? "uac" : "uas",
                                            sd_dlg_state_name((sd_dlg_state)s->state), id, s->closed ? " closed" : "")
                     : NULL;
    Py_XDECREF(id);
    free(s);
    return r;
}

#define GET(name, which, doc) {name, (getter)dialog_get, NULL, doc, (void *)(intptr_t)(which)}
static PyGetSetDef dialog_getset[] = {
    GET("id", G_ID, "The dialog ID: 'Call-ID;local tag;remote tag' (remote tag empty until known)."),
    {"state", (getter)dialog_get_state, NULL, "The DialogState.", NULL},
    {"role", (getter)dialog_get_role, NULL, "'uac' or 'uas'.", NULL},
    {"is_uac", (getter)dialog_get_is_uac, NULL, "True for the side that sent the creating request.", NULL},
    {"closed", (getter)dialog_get_closed, NULL, "True after close().", NULL},
    {"footprint", (getter)dialog_get_footprint, NULL, "Bytes the C dialog owns (struct, strings, history, kept requests).", NULL},
    GET("call_id", G_CALL_ID, "The Call-ID."),
    GET("local_tag", G_LOCAL_TAG, "Our tag."),
    GET("remote_tag", G_REMOTE_TAG, "The peer's tag, None until known."),
    GET("local_uri", G_LOCAL_URI, "The URI of our From (UAC) / To (UAS) (RFC 3261 12.1)."),
    GET("remote_uri", G_REMOTE_URI, "The peer's URI."),
    GET("local_header", G_LOCAL_HDR, "Our From/To header value as the dialog writes it, tag included."),
    GET("remote_header", G_REMOTE_HDR, "The peer's header value, tag included once known."),
    GET("local_target", G_LOCAL_TARGET, "Our Contact URI."),
    GET("remote_target", G_REMOTE_TARGET, "The peer's Contact URI: the Request-URI of in-dialog requests."),
    GET("route_set", G_ROUTE_SET, "The route set, a list of name-addr strings in the order requests use them."),
    GET("local_seq", G_LOCAL_SEQ, "The last CSeq number we used, None before the first (UAS)."),
    GET("remote_seq", G_REMOTE_SEQ, "The last CSeq number the peer used, None before the first."),
    GET("secure", G_SECURE, "True when the creating request had a SIPS Request-URI (RFC 3261 12.1.1)."),
    GET("created_at", G_CREATED, "time.monotonic() seconds at creation."),
    GET("last_activity", G_ACTIVITY, "time.monotonic() seconds of the last message in or out."),
    GET("history", G_HISTORY, "Every transition so far: a tuple of Transition(old, new, reason, method, status, at)."),
    GET("pending", G_PENDING, "INVITE transactions and ACKs in progress: dict of invite_out, invite_in, ack_out, ack_in."),
    {NULL, NULL, NULL, NULL, NULL},
};
#undef GET

#define KW (METH_VARARGS | METH_KEYWORDS)
#define FN(f) (PyCFunction)(void (*)(void))(f)
static PyMethodDef dialog_methods[] = {
    {"from_uac", FN(dialog_from_uac), KW | METH_CLASS,
     "from_uac(request, response=None) -> Dialog\n\nThe dialog of a request we sent (INVITE, SUBSCRIBE, REFER, NOTIFY). "
     "Without a response it is in state NONE until receive() gets the first tagged response."},
    {"from_uas", FN(dialog_from_uas), KW | METH_CLASS,
     "from_uas(request, *, local_contact, local_tag=None) -> Dialog\n\nThe dialog of a request we received; "
     "local_tag None draws 128 random bits (32 hex digits)."},
    {"restore", FN(dialog_restore), METH_O | METH_CLASS,
     "restore(snapshot) -> Dialog\n\nContinue a dialog from snapshot(): the next CSeq, the same route set."},
    {"receive", FN(dialog_receive), KW,
     "receive(message, *, auto_answer=False) -> Response | None\n\nApply an incoming in-dialog request or a response; "
     "returns the response the dialog layer itself must send (481, 500, 491, 200 to CANCEL, 200 to BYE with "
     "auto_answer) or None."},
    {"fork", FN(dialog_fork), METH_O, "fork(response) -> Dialog\n\nThe sibling dialog of a response with another To tag."},
    {"create_request", FN(dialog_create_request), KW,
     "create_request(method, *, headers=None, body=b'') -> Request\n\nAn in-dialog request (RFC 3261 12.2.1.1) "
     "with the next CSeq; CANCEL cancels our pending INVITE (9.1)."},
    {"create_ack", FN(dialog_create_ack), KW,
     "create_ack(response, *, headers=None, body=b'') -> Request\n\nThe ACK of a 2xx to INVITE (13.2.2.4)."},
    {"provisional", FN(dialog_provisional), KW,
     "provisional(status_code=180, reason=None, *, headers=None, body=b'') -> Response"},
    {"answer", FN(dialog_answer), KW, "answer(status_code=200, reason=None, *, headers=None, body=b'') -> Response"},
    {"reject", FN(dialog_reject), KW, "reject(status_code, reason=None, *, headers=None, body=b'') -> Response (3xx-6xx)"},
    {"timeout", FN(dialog_timeout), METH_NOARGS, "timeout()\n\nA timer gave up: terminate with reason 'timeout'."},
    {"snapshot", FN(dialog_snapshot), METH_NOARGS, "snapshot() -> dict\n\nA JSON-serializable copy of the dialog."},
    {"close", FN(dialog_close), METH_NOARGS, "close()\n\nTerminate and release; idempotent."},
    {"on_state_change", FN(dialog_on_state_change), METH_O,
     "on_state_change(callback) -> callback\n\ncallback(dialog, transition) after every transition, with no lock held."},
    {"remove_state_callback", FN(dialog_remove_state_callback), METH_O, "remove_state_callback(callback)"},
    {"__enter__", FN(dialog_enter), METH_NOARGS, NULL},
    {"__exit__", FN(dialog_exit), METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef dialog_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(DialogObject, weakrefs), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot dialog_slots[] = {
    {Py_tp_new, dialog_new_forbidden},
    {Py_tp_dealloc, dialog_dealloc},
    {Py_tp_traverse, dialog_traverse},
    {Py_tp_clear, dialog_clear},
    {Py_tp_repr, dialog_repr},
    {Py_tp_getset, dialog_getset},
    {Py_tp_methods, dialog_methods},
    {Py_tp_members, dialog_members},
    {Py_tp_doc, "A SIP dialog (RFC 3261 12): sans-IO, thread-safe, over the C core."},
    {0, NULL},
};

static PyType_Spec dialog_spec = {"sipdialog.Dialog", sizeof(DialogObject), 0,
                                  Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC, dialog_slots};

int sdpy_dialog_init_types(PyObject *m, sdpy_state *st)
{
    st->Dialog = (PyTypeObject *)PyType_FromModuleAndSpec(m, &dialog_spec, NULL);
    if (st->Dialog == NULL || PyModule_AddObjectRef(m, "Dialog", (PyObject *)st->Dialog) < 0) return -1;
    st->Transition = (PyObject *)PyStructSequence_NewType(&transition_desc);
    if (st->Transition == NULL || PyModule_AddObjectRef(m, "Transition", st->Transition) < 0) return -1;
    /* DialogState: an enum.Enum whose values are the state names */
    PyObject *enum_mod = PyImport_ImportModule("enum");
    if (enum_mod == NULL) return -1;
    PyObject *members = PyList_New(0);
    for (int i = 0; members && i < SD_DLG__NSTATES; i++) {
        const char *nm = sd_dlg_state_name((sd_dlg_state)i);
        char up[16];
        size_t k = 0;
        for (; nm[k] && k < sizeof up - 1; k++) up[k] = (char)(nm[k] - 32);
        up[k] = 0;
        PyObject *t = Py_BuildValue("(ss)", up, nm);
        if (t == NULL || PyList_Append(members, t) < 0) {
            Py_XDECREF(t);
            Py_CLEAR(members);
            break;
        }
        Py_DECREF(t);
    }
    PyObject *kw = members ? Py_BuildValue("{s:s}", "module", "sipdialog") : NULL;
    PyObject *ecls = PyObject_GetAttrString(enum_mod, "Enum");
    PyObject *args = (kw && ecls) ? Py_BuildValue("(sO)", "DialogState", members) : NULL;
    st->DialogState = args ? PyObject_Call(ecls, args, kw) : NULL;
    Py_XDECREF(args);
    Py_XDECREF(ecls);
    Py_XDECREF(kw);
    Py_XDECREF(members);
    Py_DECREF(enum_mod);
    if (st->DialogState == NULL) return -1;
    for (int i = 0; i < SD_DLG__NSTATES; i++) {
        PyObject *v = PyUnicode_FromString(sd_dlg_state_name((sd_dlg_state)i));
        st->states[i] = v ? PyObject_CallOneArg(st->DialogState, v) : NULL;
        Py_XDECREF(v);
        if (st->states[i] == NULL) return -1;
    }
    return PyModule_AddObjectRef(m, "DialogState", st->DialogState);
}

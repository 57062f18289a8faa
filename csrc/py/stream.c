/*
 * stream.c - StreamParser: feed bytes from a stream transport in pieces,
 * iterate whole messages (RFC 3261 18.3 framing by Content-Length).
 */
#include "sdpy.h"

#include <string.h>

typedef struct StreamObject {
    PyObject_HEAD
    char *buf;          /* PyMem buffer, owned */
    size_t start, len, cap;
    uint64_t base;      /* stream offset of buf[0]: error offsets count from the stream's first byte */
    sd_parse_opts opts; /* SD_PARSE_STREAM set */
    int broken;         /* framing lost: the stream cannot be resynchronised */
} StreamObject;

static PyObject *stream_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *kws[] = {"limits", "rfc2543", "check_uris", NULL};
    PyObject *limits = Py_None;
    int rfc2543 = 0, check_uris = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|$Opp:StreamParser", kws, &limits, &rfc2543, &check_uris))
        return NULL;
    sdpy_state *st = sdpy_state_of_type(type);
    if (st == NULL) return NULL;
    StreamObject *self = (StreamObject *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    self->opts = st->opts;
    if (limits != Py_None && sdpy_limits_from(limits, &self->opts.limits) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    self->opts.flags |= SD_PARSE_STREAM | (rfc2543 ? SD_PARSE_RFC2543 : 0) | (check_uris ? SD_PARSE_CHECK_URIS : 0);
    return (PyObject *)self;
}

static void stream_dealloc(StreamObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyMem_Free(self->buf);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

/* feed(data) -> self: append bytes; iterate the parser for messages. */
static PyObject *stream_feed(StreamObject *self, PyObject *data)
{
    sdpy_state *st = sdpy_state_of_type(Py_TYPE(self));
    if (st == NULL) return NULL;
    if (self->broken) {
        sd_error e;
        sd_error_set(&e, SD_EPARSE, SIZE_MAX, "stream framing was lost after an earlier error; reset() or reconnect");
        return sdpy_raise(st, &e, 0);
    }
    Py_buffer view;
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0) return NULL;
    size_t n = (size_t)view.len;
    if (self->start > 0 && (self->start >= self->len / 2 || self->len + n > self->cap)) {
        memmove(self->buf, self->buf + self->start, self->len - self->start);
        self->base += self->start;
        self->len -= self->start;
        self->start = 0;
    }
    if (self->len + n > self->cap) {
        size_t cap = self->cap ? self->cap : 4096;
        while (cap < self->len + n) cap *= 2;
        char *nb = PyMem_Realloc(self->buf, cap);
        if (nb == NULL) {
            PyBuffer_Release(&view);
            return PyErr_NoMemory();
        }
        self->buf = nb;
        self->cap = cap;
    }
    if (n) memcpy(self->buf + self->len, view.buf, n);
    self->len += n;
    PyBuffer_Release(&view);
    return Py_NewRef(self);
}

static PyObject *stream_next(StreamObject *self)
{
    sdpy_state *st = sdpy_state_of_type(Py_TYPE(self));
    if (st == NULL || self->broken) return NULL;
    size_t skip, mlen;
    sd_error e;
    const char *p = self->buf + self->start;
    sd_err rc = sd_msg_frame(p, self->len - self->start, &self->opts.limits, &skip, &mlen, &e);
    if (rc == SD_EAGAIN) {
        self->start += skip;
        return NULL; /* StopIteration */
    }
    if (rc != SD_OK) {
        self->broken = 1;
        e.offset = e.offset == SIZE_MAX ? e.offset : e.offset + (size_t)self->base + self->start;
        return sdpy_raise(st, &e, 0);
    }
    PyObject *b = PyBytes_FromStringAndSize(p + skip, (Py_ssize_t)mlen);
    size_t at = (size_t)self->base + self->start + skip;
    self->start += skip + mlen;
    if (b == NULL) return NULL;
    PyObject *m = sdpy_parse_bytes(st, b, &self->opts, 0, at);
    Py_DECREF(b);
    return m; /* on a parse error the bad message is consumed; iteration may go on */
}

static PyObject *stream_iter(PyObject *self)
{
    return Py_NewRef(self);
}

static PyObject *stream_reset(StreamObject *self, PyObject *unused)
{
    (void)unused;
    self->base += self->len;
    self->start = self->len = 0;
    self->broken = 0;
    Py_RETURN_NONE;
}

static PyObject *stream_get_buffered(StreamObject *self, void *c)
{
    (void)c;
    return PyLong_FromSize_t(self->len - self->start);
}

static PyObject *stream_get_broken(StreamObject *self, void *c)
{
    (void)c;
    return PyBool_FromLong(self->broken);
}

static PyObject *stream_repr(StreamObject *self)
{
    return PyUnicode_FromFormat("<StreamParser buffered=%zu broken=%s>", self->len - self->start,
                                self->broken ? "True" : "False");
}

static PyMethodDef stream_methods[] = {
    {"feed", (PyCFunction)stream_feed, METH_O,
     "feed(data) -> self\n\nAppend bytes received from the stream; iterate to get whole messages."},
    {"reset", (PyCFunction)stream_reset, METH_NOARGS, "Drop buffered bytes and any framing error."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef stream_getset[] = {
    {"buffered", (getter)stream_get_buffered, NULL, "Bytes buffered and not yet returned as a message.", NULL},
    {"broken", (getter)stream_get_broken, NULL, "True after a framing error (RFC 3261 18.3: close the connection).",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot stream_slots[] = {
    {Py_tp_new, stream_new},
    {Py_tp_dealloc, stream_dealloc},
    {Py_tp_iter, stream_iter},
    {Py_tp_iternext, stream_next},
    {Py_tp_methods, stream_methods},
    {Py_tp_getset, stream_getset},
    {Py_tp_repr, stream_repr},
    {Py_tp_doc, "StreamParser(*, limits=None, rfc2543=False, check_uris=False)\n\n"
                "Frame SIP messages on a stream transport: feed(data) bytes as they arrive, iterate for whole "
                "messages. A message that fails to parse raises ParseError and is consumed; a framing error "
                "(bad Content-Length, a limit) raises and leaves the parser broken until reset(). Error "
                "offsets count from the first byte ever fed."},
    {0, NULL},
};

static PyType_Spec stream_spec = {"sipdialog.StreamParser", sizeof(StreamObject), 0, Py_TPFLAGS_DEFAULT,
                                  stream_slots};

int sdpy_stream_init_types(PyObject *module, sdpy_state *st)
{
    st->StreamParser = (PyTypeObject *)PyType_FromModuleAndSpec(module, &stream_spec, NULL);
    if (st->StreamParser == NULL) return -1;
    return PyModule_AddType(module, st->StreamParser);
}

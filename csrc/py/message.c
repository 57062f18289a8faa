/*
 * message.c - the Message, Request and Response types: immutable views of
 * parsed SIP messages (one bytes object + spans), built either by parse()
 * or from Python values through the serializer and the parser.
 */
#include "sdpy.h"

#include <string.h>

#define SDPY_STACK_HDRS 256
/* Inputs larger than this are parsed with the GIL released. */
#define SDPY_NOGIL_BYTES 16384

PyObject *sdpy_parse_bytes(sdpy_state *st, PyObject *b, const sd_parse_opts *opts, int as_validation, size_t bias)
{
    const char *buf = PyBytes_AS_STRING(b);
    size_t len = (size_t)PyBytes_GET_SIZE(b);
    sd_header stackh[SDPY_STACK_HDRS];
    sd_header *h = stackh;
    size_t cap = SDPY_STACK_HDRS;
    /* a header line takes at least 4 octets ("a:" CRLF): no message can
     * have more headers than that, whatever max_headers says */
    size_t need = opts->limits.max_headers < len / 4 + 1 ? opts->limits.max_headers : len / 4 + 1;
    if (need > SDPY_STACK_HDRS) {
        cap = need;
        h = PyMem_Malloc(cap * sizeof *h);
        if (h == NULL) return PyErr_NoMemory();
    }
    sd_msg m;
    sd_error e;
    sd_err rc;
    if (len > SDPY_NOGIL_BYTES) {
        /* the options may be module state: take a private copy before
         * other threads can run */
        sd_parse_opts local = *opts;
        Py_BEGIN_ALLOW_THREADS
        rc = sd_msg_parse(buf, len, &local, &m, h, cap, &e);
        Py_END_ALLOW_THREADS
    } else {
        rc = sd_msg_parse(buf, len, opts, &m, h, cap, &e);
    }
    PyObject *r = NULL;
    if (rc != SD_OK) {
        if (e.offset != SIZE_MAX) e.offset += bias;
        sdpy_raise(st, &e, as_validation);
        goto out;
    }
    MessageObject *o = PyObject_NewVar(MessageObject, m.is_request ? st->Request : st->Response, m.nhdrs);
    if (o == NULL) goto out;
    o->buf = Py_NewRef(b);
    o->items = NULL;
    o->m = m;
    memcpy(o->hdrs, h, m.nhdrs * sizeof *h);
    o->m.hdrs = o->hdrs;
    r = (PyObject *)o;
out:
    if (h != stackh) PyMem_Free(h);
    return r;
}

static void msg_dealloc(MessageObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    Py_XDECREF(self->buf);
    Py_XDECREF(self->items);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

#define BUF(self) PyBytes_AS_STRING((self)->buf)
#define SSTR(self, span) sdpy_str(BUF(self) + (span).off, (span).len)

static PyObject *ascii_span(MessageObject *self, sd_span s)
{
    /* Call-IDs and tags are validated ASCII (word / token characters). */
    return PyUnicode_FromKindAndData(PyUnicode_1BYTE_KIND, BUF(self) + s.off, s.len);
}

static PyObject *msg_get_call_id(MessageObject *self, void *c)
{
    (void)c;
    return ascii_span(self, self->m.call_id);
}

static PyObject *msg_get_from_tag(MessageObject *self, void *c)
{
    (void)c;
    if (!self->m.has_from_tag) Py_RETURN_NONE;
    return ascii_span(self, self->m.from_tag);
}

static PyObject *msg_get_to_tag(MessageObject *self, void *c)
{
    (void)c;
    if (!self->m.has_to_tag) Py_RETURN_NONE;
    return ascii_span(self, self->m.to_tag);
}

static PyObject *msg_get_cseq(MessageObject *self, void *c)
{
    (void)c;
    sdpy_state *st = sdpy_state_of_type(Py_TYPE(self));
    if (st == NULL) return NULL;
    PyObject *seq = PyLong_FromUnsignedLong(self->m.cseq);
    PyObject *mth = seq ? ascii_span(self, self->m.cseq_method) : NULL;
    if (mth == NULL) {
        Py_XDECREF(seq);
        return NULL;
    }
    PyObject *r = PyStructSequence_New((PyTypeObject *)st->CSeq);
    if (r == NULL) {
        Py_DECREF(seq);
        Py_DECREF(mth);
        return NULL;
    }
    PyStructSequence_SET_ITEM(r, 0, seq); /* steals */
    PyStructSequence_SET_ITEM(r, 1, mth);
    return r;
}

static PyObject *msg_get_body(MessageObject *self, void *c)
{
    (void)c;
    if (self->m.body.off == 0 && self->m.body.len == (uint32_t)PyBytes_GET_SIZE(self->buf)) return Py_NewRef(self->buf);
    return PyBytes_FromStringAndSize(BUF(self) + self->m.body.off, self->m.body.len);
}

static PyObject *opt_int(int64_t v)
{
    if (v < 0) Py_RETURN_NONE;
    return PyLong_FromLongLong(v);
}

static PyObject *msg_get_max_forwards(MessageObject *self, void *c)
{
    (void)c;
    return opt_int(self->m.max_forwards);
}

static PyObject *msg_get_content_length(MessageObject *self, void *c)
{
    (void)c;
    return opt_int(self->m.content_length);
}

static PyObject *msg_get_via_branch(MessageObject *self, void *c)
{
    (void)c;
    if (self->m.first[SD_H_VIA] < 0) Py_RETURN_NONE;
    if (self->m.via_branch.len == 0) {
        /* has_branch with an empty value cannot happen (token); absent */
        Py_RETURN_NONE;
    }
    return SSTR(self, self->m.via_branch);
}

static PyObject *msg_get_method(MessageObject *self, void *c)
{
    (void)c;
    return SSTR(self, self->m.method);
}

static PyObject *msg_get_request_uri(MessageObject *self, void *c)
{
    (void)c;
    return SSTR(self, self->m.ruri);
}

static PyObject *msg_get_status(MessageObject *self, void *c)
{
    (void)c;
    return PyLong_FromLong(self->m.status);
}

static PyObject *msg_get_reason(MessageObject *self, void *c)
{
    (void)c;
    return SSTR(self, self->m.reason);
}

static PyObject *msg_get_is_request(MessageObject *self, void *c)
{
    (void)c;
    return PyBool_FromLong(self->m.is_request);
}

/* Wire form: the message's bytes (the whole buffer when it is exactly the
 * message, else a copy of the slice). */
static PyObject *msg_bytes(MessageObject *self, PyObject *unused)
{
    (void)unused;
    if (self->m.msg_start == 0 && self->m.msg_len == (uint32_t)PyBytes_GET_SIZE(self->buf)) return Py_NewRef(self->buf);
    return PyBytes_FromStringAndSize(BUF(self) + self->m.msg_start, self->m.msg_len);
}

/* _items() -> tuple of (name, value) pairs in wire order, values unfolded. */
static PyObject *msg_items(MessageObject *self, PyObject *unused)
{
    (void)unused;
    if (self->items) return Py_NewRef(self->items);
    PyObject *t = PyTuple_New(self->m.nhdrs);
    if (t == NULL) return NULL;
    for (uint32_t i = 0; i < self->m.nhdrs; i++) {
        const sd_header *h = &self->hdrs[i];
        PyObject *p = Py_BuildValue("(NN)", SSTR(self, h->name), sdpy_value_str(BUF(self), h->value, h->flags & SD_HF_FOLDED));
        if (p == NULL) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, p);
    }
    self->items = Py_NewRef(t);
    return t;
}

/* Append the values of one header field to `lst`, split when `split`. */
static int append_values(MessageObject *self, const sd_header *h, int split, PyObject *lst)
{
    const char *buf = BUF(self);
    int folded = h->flags & SD_HF_FOLDED;
    if (!split) {
        PyObject *s = sdpy_value_str(buf, h->value, folded);
        int r = s ? PyList_Append(lst, s) : -1;
        Py_XDECREF(s);
        return r;
    }
    uint32_t pos = 0;
    sd_span item;
    int r;
    Py_ssize_t before = PyList_GET_SIZE(lst);
    while ((r = sd_list_next(buf, h->value, &pos, &item)) == 1) {
        PyObject *s = sdpy_value_str(buf, item, folded);
        int rr = s ? PyList_Append(lst, s) : -1;
        Py_XDECREF(s);
        if (rr < 0) return -1;
    }
    if (r < 0) {
        /* an unindexed list header with an empty element: drop the elements
         * split off it and give the value whole */
        if (PyList_SetSlice(lst, before, PyList_GET_SIZE(lst), NULL) < 0) return -1;
        PyObject *s = sdpy_value_str(buf, h->value, folded);
        int rr = s ? PyList_Append(lst, s) : -1;
        Py_XDECREF(s);
        return rr;
    }
    return 0;
}

/* Collect the values of header `name`; split list headers when asked. */
static PyObject *collect(MessageObject *self, PyObject *name, int split, int first_only)
{
    Py_ssize_t n;
    if (!PyUnicode_Check(name)) {
        PyErr_Format(PyExc_TypeError, "header names are str, not %.100s", Py_TYPE(name)->tp_name);
        return NULL;
    }
    const char *s = PyUnicode_AsUTF8AndSize(name, &n);
    if (s == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) return NULL;
        PyErr_Clear(); /* not encodable: no header can have that name */
        return PyList_New(0);
    }
    PyObject *lst = PyList_New(0);
    if (lst == NULL) return NULL;
    sd_hdr_id id = sd_hdr_lookup(s, (size_t)n);
    int do_split = split && sd_hdr_is_list(id);
    for (int i = -1; (i = sd_msg_find_name(&self->m, BUF(self), s, (size_t)n, i)) >= 0;) {
        if (append_values(self, &self->hdrs[i], do_split, lst) < 0) {
            Py_DECREF(lst);
            return NULL;
        }
        if (first_only && PyList_GET_SIZE(lst) > 0) break;
    }
    return lst;
}

static PyObject *msg_getall(MessageObject *self, PyObject *name)
{
    return collect(self, name, 1, 0);
}

static PyObject *msg_get_fields(MessageObject *self, PyObject *name)
{
    return collect(self, name, 0, 0);
}

/* _get_first(name) -> first value (first element for list headers) or None */
static PyObject *msg_get_first(MessageObject *self, PyObject *name)
{
    PyObject *lst = collect(self, name, 1, 1);
    if (lst == NULL) return NULL;
    PyObject *r;
    if (PyList_GET_SIZE(lst)) {
        r = Py_NewRef(PyList_GET_ITEM(lst, 0));
    } else {
        /* a list header present with an empty value ("Supported:") */
        Py_DECREF(lst);
        lst = collect(self, name, 0, 1);
        if (lst == NULL) return NULL;
        r = PyList_GET_SIZE(lst) ? Py_NewRef(PyList_GET_ITEM(lst, 0)) : Py_NewRef(Py_None);
    }
    Py_DECREF(lst);
    return r;
}

static PyObject *msg_count(MessageObject *self, PyObject *unused)
{
    (void)unused;
    return PyLong_FromUnsignedLong(self->m.nhdrs);
}

/* ---- building messages from Python values ---- */

/* Append (name, value) bytes pairs from a mapping or an iterable of pairs. */
int sdpy_collect_pairs(PyObject *headers, PyObject *out)
{
    if (headers == NULL || headers == Py_None) return 0;
    PyObject *it_src = headers;
    PyObject *items = NULL;
    if (PyDict_Check(headers) || (!PyList_Check(headers) && !PyTuple_Check(headers) && PyMapping_Check(headers) &&
                                  PyObject_HasAttrString(headers, "items"))) {
        items = PyObject_CallMethod(headers, "items", NULL);
        if (items == NULL) return -1;
        it_src = items;
    }
    PyObject *it = PyObject_GetIter(it_src);
    Py_XDECREF(items);
    if (it == NULL) return -1;
    PyObject *pair;
    while ((pair = PyIter_Next(it)) != NULL) {
        PyObject *seq = PySequence_Fast(pair, "headers must be (name, value) pairs or a mapping");
        Py_DECREF(pair);
        if (seq == NULL || PySequence_Fast_GET_SIZE(seq) != 2) {
            if (seq) PyErr_SetString(PyExc_TypeError, "headers must be (name, value) pairs or a mapping");
            Py_XDECREF(seq);
            Py_DECREF(it);
            return -1;
        }
        PyObject *nm = PySequence_Fast_GET_ITEM(seq, 0), *val = PySequence_Fast_GET_ITEM(seq, 1);
        if (!PyUnicode_Check(nm)) {
            PyErr_SetString(PyExc_TypeError, "header names must be str");
            Py_DECREF(seq);
            Py_DECREF(it);
            return -1;
        }
        PyObject *vs = PyUnicode_Check(val) || PyObject_CheckBuffer(val) ? Py_NewRef(val) : PyObject_Str(val);
        PyObject *nb = PyUnicode_AsEncodedString(nm, "utf-8", "surrogateescape");
        PyObject *vb = vs ? sdpy_as_bytes(vs, "header value") : NULL;
        Py_XDECREF(vs);
        Py_DECREF(seq);
        PyObject *t = (nb && vb) ? PyTuple_Pack(2, nb, vb) : NULL;
        Py_XDECREF(nb);
        Py_XDECREF(vb);
        if (t == NULL || PyList_Append(out, t) < 0) {
            Py_XDECREF(t);
            Py_DECREF(it);
            return -1;
        }
        Py_DECREF(t);
    }
    Py_DECREF(it);
    return PyErr_Occurred() ? -1 : 0;
}

/* Turn a pending UnicodeEncodeError (a str with lone surrogates) into
 * ValidationError; other exceptions stay. Returns -1 for chaining. */
int sdpy_encode_error_to_validation(sdpy_state *st)
{
    if (PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
        PyErr_Clear();
        sd_error e;
        sd_error_set(&e, SD_EVALID, SIZE_MAX, "value is not encodable as UTF-8 (lone surrogate)");
        sdpy_raise(st, &e, 1);
    }
    return -1;
}

/* Serialize from parts and parse the result: every value passes the
 * serializer's checks and the parser's grammar checks. */
static PyObject *build(sdpy_state *st, sd_str method, sd_str ruri, int status, sd_str reason, PyObject *pairs,
                       PyObject *body, int strict_uris)
{
    Py_ssize_t n = PyList_GET_SIZE(pairs);
    sd_str *names = PyMem_Calloc((size_t)n + 1, sizeof *names);
    sd_str *values = PyMem_Calloc((size_t)n + 1, sizeof *values);
    uint8_t *copied = PyMem_Calloc((size_t)n + 1, 1);
    PyObject *r = NULL;
    sd_buf out;
    sd_buf_init(&out);
    if (names == NULL || values == NULL || copied == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *t = PyList_GET_ITEM(pairs, i);
        PyObject *nb = PyTuple_GET_ITEM(t, 0), *vb = PyTuple_GET_ITEM(t, 1);
        names[i] = (sd_str){PyBytes_AS_STRING(nb), (size_t)PyBytes_GET_SIZE(nb)};
        values[i] = (sd_str){PyBytes_AS_STRING(vb), (size_t)PyBytes_GET_SIZE(vb)};
        copied[i] = PyTuple_GET_SIZE(t) == 3; /* taken from a parsed message */
    }
    sd_error e;
    sd_err rc = sd_msg_build(&out, method, ruri, status, reason, names, values, copied, (size_t)n, PyBytes_AS_STRING(body),
                             (size_t)PyBytes_GET_SIZE(body), &e);
    if (rc != SD_OK) {
        sdpy_raise(st, &e, 1);
        goto done;
    }
    PyObject *b = PyBytes_FromStringAndSize(out.p, (Py_ssize_t)out.len);
    if (b == NULL) goto done;
    sd_parse_opts o = st->opts;
    if (strict_uris) o.flags |= SD_PARSE_CHECK_URIS; /* new messages: every URI must parse */
    r = sdpy_parse_bytes(st, b, &o, 1, 0);
    Py_DECREF(b);
done:
    sd_buf_free(&out);
    PyMem_Free(names);
    PyMem_Free(values);
    PyMem_Free(copied);
    return r;
}

static int str_arg(PyObject *o, PyObject **keep, sd_str *out, const char *what)
{
    *keep = sdpy_as_bytes(o, what);
    if (*keep == NULL) return -1;
    out->p = PyBytes_AS_STRING(*keep);
    out->len = (size_t)PyBytes_GET_SIZE(*keep);
    return 0;
}

/* Request(method, uri, headers=None, body=b'') */
static PyObject *request_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *kws[] = {"method", "uri", "headers", "body", NULL};
    PyObject *method, *uri, *headers = NULL, *body = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|OO:Request", kws, &method, &uri, &headers, &body)) return NULL;
    sdpy_state *st = sdpy_state_of_type(type);
    if (st == NULL) return NULL;
    PyObject *mb = NULL, *ub = NULL, *bb = NULL, *pairs = NULL, *r = NULL;
    sd_str ms, us;
    PyObject *us_obj = PyUnicode_Check(uri) || PyBytes_Check(uri) ? Py_NewRef(uri) : PyObject_Str(uri);
    if (us_obj == NULL) return NULL;
    if (str_arg(method, &mb, &ms, "method") < 0 || str_arg(us_obj, &ub, &us, "uri") < 0) {
        sdpy_encode_error_to_validation(st);
        goto done;
    }
    bb = body ? sdpy_as_bytes(body, "body") : PyBytes_FromStringAndSize(NULL, 0);
    if (bb == NULL || (pairs = PyList_New(0)) == NULL || sdpy_collect_pairs(headers, pairs) < 0) {
        sdpy_encode_error_to_validation(st);
        goto done;
    }
    r = build(st, ms, us, 0, (sd_str){NULL, 0}, pairs, bb, 1);
done:
    Py_DECREF(us_obj);
    Py_XDECREF(mb);
    Py_XDECREF(ub);
    Py_XDECREF(bb);
    Py_XDECREF(pairs);
    return r;
}

/* Response(status_code, reason=None, headers=None, body=b'') */
static PyObject *response_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *kws[] = {"status_code", "reason", "headers", "body", NULL};
    int status;
    PyObject *reason = Py_None, *headers = NULL, *body = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "i|OOO:Response", kws, &status, &reason, &headers, &body)) return NULL;
    sdpy_state *st = sdpy_state_of_type(type);
    if (st == NULL) return NULL;
    PyObject *rb = NULL, *bb = NULL, *pairs = NULL, *r = NULL;
    sd_str rs;
    if (reason == Py_None) {
        const char *d = sd_reason_phrase(status);
        rs = (sd_str){d, strlen(d)};
    } else if (str_arg(reason, &rb, &rs, "reason") < 0) {
        sdpy_encode_error_to_validation(st);
        return NULL;
    }
    if (status < 100 || status > 699) {
        sd_error e;
        sd_error_set(&e, SD_EVALID, 0, "status code %d outside 100..699", status);
        sdpy_raise(st, &e, 1);
        goto done;
    }
    bb = body ? sdpy_as_bytes(body, "body") : PyBytes_FromStringAndSize(NULL, 0);
    if (bb == NULL || (pairs = PyList_New(0)) == NULL || sdpy_collect_pairs(headers, pairs) < 0) {
        sdpy_encode_error_to_validation(st);
        goto done;
    }
    r = build(st, (sd_str){NULL, 0}, (sd_str){NULL, 0}, status, rs, pairs, bb, 1);
done:
    Py_XDECREF(rb);
    Py_XDECREF(bb);
    Py_XDECREF(pairs);
    return r;
}

/* req.create_response(status_code, reason=None, *, to_tag=None, headers=None, body=b'')
 * RFC 3261 8.2.6: Via (all, in order), From, To (+tag), Call-ID, CSeq copied;
 * Timestamp too for 100 (8.2.6.1). */
static PyObject *request_create_response(MessageObject *self, PyObject *args, PyObject *kw)
{
    static char *kws[] = {"status_code", "reason", "to_tag", "headers", "body", NULL};
    int status;
    PyObject *reason = Py_None, *to_tag = Py_None, *headers = NULL, *body = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "i|O$OOO:create_response", kws, &status, &reason, &to_tag, &headers,
                                     &body))
        return NULL;
    sdpy_state *st = sdpy_state_of_type(Py_TYPE(self));
    if (st == NULL) return NULL;
    sd_error e;
    if (status < 100 || status > 699) {
        sd_error_set(&e, SD_EVALID, 0, "status code %d outside 100..699", status);
        return sdpy_raise(st, &e, 1);
    }
    if (self->m.method_id == SD_M_ACK) {
        sd_error_set(&e, SD_EVALID, SIZE_MAX, "an ACK is never answered (RFC 3261 17.1.1.3)");
        return sdpy_raise(st, &e, 1);
    }
    PyObject *pairs = PyList_New(0), *rb = NULL, *bb = NULL, *tb = NULL, *r = NULL;
    if (pairs == NULL) return NULL;
    const char *buf = BUF(self);
    const char *sfx = NULL;
    size_t slen = 0;
    if (to_tag != Py_None && !PyUnicode_Check(to_tag)) {
        PyErr_Format(PyExc_TypeError, "to_tag must be str or None, not %.100s", Py_TYPE(to_tag)->tp_name);
        goto done;
    }
    if (to_tag == Py_None && !self->m.has_to_tag && status > 100) {
        /* RFC 3261 8.2.6.2: a response other than 100 carries a To tag; make
         * one as a UAS does (128 random bits, hex) */
        PyObject *os = PyImport_ImportModule("os");
        PyObject *rnd = os ? PyObject_CallMethod(os, "urandom", "i", 16) : NULL;
        Py_XDECREF(os);
        PyObject *hex = rnd ? PyObject_CallMethod(rnd, "hex", NULL) : NULL;
        Py_XDECREF(rnd);
        if (hex == NULL) goto done;
        tb = hex; /* keeps the generated tag alive; released at done */
        to_tag = hex;
    }
    if (to_tag != Py_None) {
        Py_ssize_t tl;
        const char *t = PyUnicode_AsUTF8AndSize(to_tag, &tl);
        if (t == NULL) goto done;
        sd_validator tv = {SD_V_TAG, 0};
        if (sd_validate(&tv, t, (size_t)tl, &e) != SD_OK) {
            sdpy_raise(st, &e, 1);
            goto done;
        }
        if ((size_t)tl > st->opts.limits.max_tag) {
            sd_error_set(&e, SD_ELIMIT, st->opts.limits.max_tag, "to_tag exceeds the limit of %u bytes",
                         st->opts.limits.max_tag);
            sdpy_raise(st, &e, 1);
            goto done;
        }
        if (self->m.has_to_tag) {
            if (self->m.to_tag.len != (uint32_t)tl || memcmp(buf + self->m.to_tag.off, t, (size_t)tl) != 0) {
                sd_error_set(&e, SD_EVALID, SIZE_MAX, "the request already has To tag '%.*s' (RFC 3261 8.2.6.2)",
                             (int)(self->m.to_tag.len > 64 ? 64 : self->m.to_tag.len), buf + self->m.to_tag.off);
                sdpy_raise(st, &e, 1);
                goto done;
            }
        } else {
            PyObject *suffix = PyBytes_FromFormat(";tag=%s", t);
            if (suffix == NULL) goto done;
            Py_XSETREF(tb, suffix);
            sfx = PyBytes_AS_STRING(suffix);
            slen = (size_t)PyBytes_GET_SIZE(suffix);
        }
    }
    /* RFC 3261 8.2.6: the C core copies Via, From, To (+tag), Call-ID,
     * CSeq (and Timestamp for 100), then adds the caller's headers */
    if (sdpy_collect_pairs(headers, pairs) < 0) {
        sdpy_encode_error_to_validation(st);
        goto done;
    }
    sd_str rs = {NULL, 0};
    if (reason != Py_None && str_arg(reason, &rb, &rs, "reason") < 0) {
        sdpy_encode_error_to_validation(st);
        goto done;
    }
    bb = body ? sdpy_as_bytes(body, "body") : PyBytes_FromStringAndSize(NULL, 0);
    if (bb == NULL) goto done;
    {
        Py_ssize_t n = PyList_GET_SIZE(pairs);
        sd_str *nv = PyMem_Calloc((size_t)n * 2 + 1, sizeof *nv);
        if (nv == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *t = PyList_GET_ITEM(pairs, i);
            nv[i] = (sd_str){PyBytes_AS_STRING(PyTuple_GET_ITEM(t, 0)), (size_t)PyBytes_GET_SIZE(PyTuple_GET_ITEM(t, 0))};
            nv[n + i] = (sd_str){PyBytes_AS_STRING(PyTuple_GET_ITEM(t, 1)),
                                 (size_t)PyBytes_GET_SIZE(PyTuple_GET_ITEM(t, 1))};
        }
        sd_str tag = {sfx ? sfx + 5 : NULL, sfx ? slen - 5 : 0}; /* the suffix is ";tag=" + tag */
        sd_buf ob;
        sd_buf_init(&ob);
        sd_err rc = sd_msg_build_response(&ob, buf, &self->m, status, rs, tag, nv, nv + n, (size_t)n,
                                          PyBytes_AS_STRING(bb), (size_t)PyBytes_GET_SIZE(bb), &e);
        PyMem_Free(nv);
        if (rc != SD_OK) {
            sd_buf_free(&ob);
            sdpy_raise(st, &e, 1);
            goto done;
        }
        PyObject *wire = PyBytes_FromStringAndSize(ob.p, (Py_ssize_t)ob.len);
        sd_buf_free(&ob);
        if (wire == NULL) goto done;
        r = sdpy_parse_bytes(st, wire, &st->opts, 1, 0);
        Py_DECREF(wire);
    }
done:
    Py_XDECREF(tb);
    Py_XDECREF(rb);
    Py_XDECREF(bb);
    Py_DECREF(pairs);
    return r;
}

/* Structural equality: same start line, same headers (names compared by
 * id, or case-insensitively for unknown ones; values unfolded), same body. */
static int value_eq(MessageObject *a, const sd_header *ha, MessageObject *b, const sd_header *hb)
{
    const char *pa = BUF(a) + ha->value.off, *pb = BUF(b) + hb->value.off;
    if (!((ha->flags | hb->flags) & SD_HF_FOLDED))
        return ha->value.len == hb->value.len && memcmp(pa, pb, ha->value.len) == 0;
    char *ta = PyMem_Malloc(ha->value.len + 1), *tbuf = PyMem_Malloc(hb->value.len + 1);
    int eq = -1;
    if (ta && tbuf) {
        size_t la = sd_unfold(pa, ha->value.len, ta), lb = sd_unfold(pb, hb->value.len, tbuf);
        eq = la == lb && memcmp(ta, tbuf, la) == 0;
    } else {
        PyErr_NoMemory();
    }
    PyMem_Free(ta);
    PyMem_Free(tbuf);
    return eq;
}

static int span_eq2(MessageObject *a, sd_span sa, MessageObject *b, sd_span sb)
{
    return sa.len == sb.len && memcmp(BUF(a) + sa.off, BUF(b) + sb.off, sa.len) == 0;
}

static PyObject *msg_richcompare(PyObject *x, PyObject *y, int op)
{
    if ((op != Py_EQ && op != Py_NE) || !PyObject_TypeCheck(y, Py_TYPE(x)->tp_base) ||
        !PyObject_TypeCheck(x, Py_TYPE(y)->tp_base))
        Py_RETURN_NOTIMPLEMENTED;
    MessageObject *a = (MessageObject *)x, *b = (MessageObject *)y;
    int eq = a->m.is_request == b->m.is_request && a->m.nhdrs == b->m.nhdrs;
    if (eq && a->m.is_request)
        eq = span_eq2(a, a->m.method, b, b->m.method) && span_eq2(a, a->m.ruri, b, b->m.ruri);
    else if (eq)
        eq = a->m.status == b->m.status && span_eq2(a, a->m.reason, b, b->m.reason);
    eq = eq && span_eq2(a, a->m.body, b, b->m.body);
    for (uint32_t i = 0; eq && i < a->m.nhdrs; i++) {
        const sd_header *ha = &a->hdrs[i], *hb = &b->hdrs[i];
        if (ha->id != hb->id) eq = 0;
        else if (ha->id == SD_H_OTHER)
            eq = ha->name.len == hb->name.len &&
                 PyOS_strnicmp(BUF(a) + ha->name.off, BUF(b) + hb->name.off, ha->name.len) == 0;
        if (eq) eq = value_eq(a, ha, b, hb);
    }
    if (eq < 0) return NULL;
    if (op == Py_NE) eq = !eq;
    return PyBool_FromLong(eq);
}

static PyObject *msg_repr(MessageObject *self)
{
    PyObject *cid = msg_get_call_id(self, NULL);
    if (cid == NULL) return NULL;
    PyObject *r;
    if (self->m.is_request) {
        PyObject *mth = msg_get_method(self, NULL), *u = msg_get_request_uri(self, NULL);
        r = (mth && u) ? PyUnicode_FromFormat("<Request %U %U call_id=%R cseq=%lu headers=%u body=%u>", mth, u, cid,
                                              (unsigned long)self->m.cseq, self->m.nhdrs, self->m.body.len)
                       : NULL;
        Py_XDECREF(mth);
        Py_XDECREF(u);
    } else {
        PyObject *rs = msg_get_reason(self, NULL), *cm = ascii_span(self, self->m.cseq_method);
        r = (rs && cm) ? PyUnicode_FromFormat("<Response %d %R call_id=%R cseq=%lu %U headers=%u body=%u>",
                                              self->m.status, rs, cid, (unsigned long)self->m.cseq, cm,
                                              self->m.nhdrs, self->m.body.len)
                       : NULL;
        Py_XDECREF(rs);
        Py_XDECREF(cm);
    }
    Py_DECREF(cid);
    return r;
}

/* Pickle as parse(bytes(msg)). */
static PyObject *msg_reduce(MessageObject *self, PyObject *unused)
{
    (void)unused;
    PyObject *mod = PyType_GetModuleByDef(Py_TYPE(self), &sdpy_module_def);
    if (mod == NULL) return NULL;
    PyObject *parse = PyObject_GetAttrString(mod, "parse");
    if (parse == NULL) return NULL;
    PyObject *b = msg_bytes(self, NULL);
    if (b == NULL) {
        Py_DECREF(parse);
        return NULL;
    }
    return Py_BuildValue("(N(N))", parse, b);
}

static PyGetSetDef msg_getset[] = {
    {"call_id", (getter)msg_get_call_id, NULL, "Call-ID (str).", NULL},
    {"from_tag", (getter)msg_get_from_tag, NULL, "tag parameter of From, or None.", NULL},
    {"to_tag", (getter)msg_get_to_tag, NULL, "tag parameter of To, or None.", NULL},
    {"cseq", (getter)msg_get_cseq, NULL, "CSeq as a named tuple (seq, method).", NULL},
    {"body", (getter)msg_get_body, NULL, "The body (bytes), framed by Content-Length.", NULL},
    {"max_forwards", (getter)msg_get_max_forwards, NULL, "Max-Forwards (int) or None.", NULL},
    {"content_length", (getter)msg_get_content_length, NULL, "Content-Length (int) or None.", NULL},
    {"via_branch", (getter)msg_get_via_branch, NULL, "branch of the topmost Via, or None.", NULL},
    {"is_request", (getter)msg_get_is_request, NULL, "True for requests.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef msg_methods[] = {
    {"__bytes__", (PyCFunction)msg_bytes, METH_NOARGS, "The wire form."},
    {"__reduce__", (PyCFunction)msg_reduce, METH_NOARGS, NULL},
    {"_items", (PyCFunction)msg_items, METH_NOARGS, "(name, value) pairs in wire order, values unfolded."},
    {"_getall", (PyCFunction)msg_getall, METH_O, "Values of a header, list headers split at commas."},
    {"_get_fields", (PyCFunction)msg_get_fields, METH_O, "Values of a header, one per header field."},
    {"_get_first", (PyCFunction)msg_get_first, METH_O, "First value of a header or None."},
    {"_count", (PyCFunction)msg_count, METH_NOARGS, "Number of header fields."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef request_getset[] = {
    {"method", (getter)msg_get_method, NULL, "Request method (str).", NULL},
    {"request_uri", (getter)msg_get_request_uri, NULL, "The Request-URI as text.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef request_methods[] = {
    {"create_response", (PyCFunction)(void (*)(void))request_create_response, METH_VARARGS | METH_KEYWORDS,
     "create_response(status_code, reason=None, *, to_tag=None, headers=None, body=b'') -> Response\n\n"
     "RFC 3261 8.2.6: copies Via, From, To (adding to_tag), Call-ID and CSeq."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef response_getset[] = {
    {"status_code", (getter)msg_get_status, NULL, "Status code (int).", NULL},
    {"reason", (getter)msg_get_reason, NULL, "Reason phrase (str).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyObject *msg_new_forbidden(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    (void)args;
    (void)kw;
    PyErr_Format(PyExc_TypeError, "cannot create '%s' directly: use Request, Response or parse()", type->tp_name);
    return NULL;
}

static PyType_Slot msg_slots[] = {
    {Py_tp_dealloc, msg_dealloc},
    {Py_tp_getset, msg_getset},
    {Py_tp_methods, msg_methods},
    {Py_tp_richcompare, msg_richcompare},
    {Py_tp_hash, PyObject_HashNotImplemented},
    {Py_tp_repr, msg_repr},
    {Py_tp_new, msg_new_forbidden},
    {Py_tp_doc, "A parsed SIP message (immutable): the wire bytes plus spans into them."},
    {0, NULL},
};

static PyType_Slot request_slots[] = {
    {Py_tp_getset, request_getset},
    {Py_tp_methods, request_methods},
    {Py_tp_new, request_new},
    {Py_tp_doc, "Request(method, uri, headers=None, body=b'')\n\nA SIP request. Built values pass the "
                "serializer's checks and the parser's grammar checks (ValidationError otherwise)."},
    {0, NULL},
};

static PyType_Slot response_slots[] = {
    {Py_tp_getset, response_getset},
    {Py_tp_new, response_new},
    {Py_tp_doc, "Response(status_code, reason=None, headers=None, body=b'')\n\nA SIP response."},
    {0, NULL},
};

#define MSG_BASIC ((int)offsetof(MessageObject, hdrs))

static PyType_Spec msg_spec = {"sipdialog.Message", MSG_BASIC, (int)sizeof(sd_header),
                               Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, msg_slots};
static PyType_Spec request_spec = {"sipdialog.Request", MSG_BASIC, (int)sizeof(sd_header), Py_TPFLAGS_DEFAULT,
                                   request_slots};
static PyType_Spec response_spec = {"sipdialog.Response", MSG_BASIC, (int)sizeof(sd_header), Py_TPFLAGS_DEFAULT,
                                    response_slots};

static PyStructSequence_Field cseq_fields[] = {
    {"seq", "sequence number (int, below 2**31)"},
    {"method", "method (str)"},
    {NULL, NULL},
};

static PyStructSequence_Desc cseq_desc = {"sipdialog.CSeq", "The CSeq header: (seq, method), a named tuple.",
                                          cseq_fields, 2};

int sdpy_message_init_types(PyObject *module, sdpy_state *st)
{
    st->CSeq = (PyObject *)PyStructSequence_NewType(&cseq_desc);
    if (st->CSeq == NULL || PyModule_AddObjectRef(module, "CSeq", st->CSeq) < 0) return -1;
    st->Message = (PyTypeObject *)PyType_FromModuleAndSpec(module, &msg_spec, NULL);
    if (st->Message == NULL) return -1;
    st->Request = (PyTypeObject *)PyType_FromModuleAndSpec(module, &request_spec, (PyObject *)st->Message);
    if (st->Request == NULL) return -1;
    st->Response = (PyTypeObject *)PyType_FromModuleAndSpec(module, &response_spec, (PyObject *)st->Message);
    if (st->Response == NULL) return -1;
    if (PyModule_AddType(module, st->Message) < 0 || PyModule_AddType(module, st->Request) < 0 ||
        PyModule_AddType(module, st->Response) < 0)
        return -1;
    return 0;
}

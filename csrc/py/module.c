/*
 * module.c - the sipdialog._core extension module: per-module state,
 * exceptions, parse(), the logging bridge and the value parsers
 * (URI, name-addr, Via, lists) exposed to the Python package.
 */
#include "sdpy.h"

#include <string.h>

sdpy_state *sdpy_state_of_type(PyTypeObject *tp)
{
    PyObject *mod = PyType_GetModuleByDef(tp, &sdpy_module_def);
    if (mod == NULL) return NULL;
    return (sdpy_state *)PyModule_GetState(mod);
}

static sdpy_state *state_of_module(PyObject *m)
{
    return (sdpy_state *)PyModule_GetState(m);
}

PyObject *sdpy_str(const char *p, size_t len)
{
    return PyUnicode_DecodeUTF8(p, (Py_ssize_t)len, "surrogateescape");
}

PyObject *sdpy_value_str(const char *buf, sd_span v, int folded)
{
    if (!folded) return sdpy_str(buf + v.off, v.len);
    char small[512];
    char *tmp = v.len <= sizeof small ? small : PyMem_Malloc(v.len);
    if (tmp == NULL) return PyErr_NoMemory();
    size_t n = sd_unfold(buf + v.off, v.len, tmp);
    PyObject *r = sdpy_str(tmp, n);
    if (tmp != small) PyMem_Free(tmp);
    return r;
}

PyObject *sdpy_as_bytes(PyObject *o, const char *what)
{
    if (PyBytes_CheckExact(o)) return Py_NewRef(o);
    if (PyUnicode_Check(o)) return PyUnicode_AsEncodedString(o, "utf-8", "surrogateescape");
    if (PyObject_CheckBuffer(o)) return PyBytes_FromObject(o);
    PyErr_Format(PyExc_TypeError, "%s must be bytes or str, not %.100s", what, Py_TYPE(o)->tp_name);
    return NULL;
}

PyObject *sdpy_raise(sdpy_state *st, const sd_error *err, int as_validation)
{
    PyObject *type;
    switch (err->code) {
    case SD_ELIMIT: type = st->LimitError; break;
    case SD_EVALID: type = st->ValidationError; break;
    case SD_ENOMEM: return PyErr_NoMemory();
    case SD_EPARSE: type = as_validation ? st->ValidationError : st->ParseError; break;
    case SD_EINVAL: type = st->ValidationError; break;
    case SD_ESTATE:
    case SD_EEXIST: type = st->DialogStateError; break;
    case SD_ECLOSED: type = st->ClosedError; break;
    case SD_ENOTFOUND: type = st->DialogNotFound; break;
    case SD_EOVERLOAD: type = st->OverloadError; break;
    default: type = st->SipError; break;
    }
    PyObject *reason = PyUnicode_DecodeUTF8(err->reason, (Py_ssize_t)strlen(err->reason), "replace");
    if (reason == NULL) return NULL;
    PyObject *text = err->offset == SIZE_MAX ? Py_NewRef(reason)
                                              : PyUnicode_FromFormat("%U (at byte %zu)", reason, err->offset);
    PyObject *exc = text ? PyObject_CallOneArg(type, text) : NULL;
    Py_XDECREF(text);
    if (exc == NULL) {
        Py_DECREF(reason);
        return NULL;
    }
    PyObject *off = err->offset == SIZE_MAX ? Py_NewRef(Py_None) : PyLong_FromSize_t(err->offset);
    if (off == NULL || PyObject_SetAttrString(exc, "reason", reason) < 0 ||
        PyObject_SetAttrString(exc, "offset", off) < 0) {
        Py_XDECREF(off);
        Py_DECREF(reason);
        Py_DECREF(exc);
        return NULL;
    }
    Py_DECREF(off);
    Py_DECREF(reason);
    PyErr_SetObject(type, exc);
    Py_DECREF(exc);
    return NULL;
}

/* The C core's log hook: forwards to the Python callable with the GIL. */
static void log_bridge(void *ctx, int level, const sd_log_fields *f, const char *text)
{
    sdpy_state *st = ctx;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *fn = st->log_fn ? Py_NewRef(st->log_fn) : NULL; /* a handler may replace it */
    if (fn != NULL) {
        PyObject *et, *ev, *tb;
        PyErr_Fetch(&et, &ev, &tb);
        PyObject *r = PyObject_CallFunction(
            fn, "isNNiN", level, text,
            f->call_id.p ? sdpy_str(f->call_id.p, f->call_id.len) : Py_NewRef(Py_None),
            f->method.p ? sdpy_str(f->method.p, f->method.len) : Py_NewRef(Py_None), f->status_code,
            f->reason.p ? sdpy_str(f->reason.p, f->reason.len) : Py_NewRef(Py_None));
        if (r == NULL) PyErr_WriteUnraisable(fn);
        Py_XDECREF(r);
        Py_DECREF(fn);
        PyErr_Restore(et, ev, tb);
    }
    PyGILState_Release(g);
}

int sdpy_limits_from(PyObject *obj, sd_limits *out)
{
    sd_limits_default(out);
    if (obj == NULL || obj == Py_None) return 0;
    static const char *names[] = {"max_message", "max_header_line", "max_uri", "max_call_id",
                                  "max_tag",     "max_headers",     "max_via", "max_body"};
    uint32_t *fields[] = {&out->max_message, &out->max_header_line, &out->max_uri, &out->max_call_id,
                          &out->max_tag,     &out->max_headers,     &out->max_via, &out->max_body};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        PyObject *v = PyObject_GetAttrString(obj, names[i]);
        if (v == NULL) return -1;
        unsigned long x = PyLong_AsUnsignedLong(v);
        Py_DECREF(v);
        if (x == (unsigned long)-1 && PyErr_Occurred()) return -1;
        if (x > 0x7fffffffUL) {
            PyErr_Format(PyExc_ValueError, "limit %s=%lu is too large", names[i], x);
            return -1;
        }
        *fields[i] = (uint32_t)x;
    }
    return 0;
}

/* Options from parse()'s keyword arguments. */
static int opts_from(sdpy_state *st, PyObject *limits, int rfc2543, int stream, int check_uris, sd_parse_opts *o)
{
    *o = st->opts;
    if (limits != NULL && limits != Py_None && sdpy_limits_from(limits, &o->limits) < 0) return -1;
    if (rfc2543) o->flags |= SD_PARSE_RFC2543;
    if (stream) o->flags |= SD_PARSE_STREAM;
    if (check_uris) o->flags |= SD_PARSE_CHECK_URIS;
    return 0;
}

/* parse(data, /, *, limits=None, rfc2543=False, stream=False) */
static PyObject *py_parse(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    sdpy_state *st = state_of_module(module);
    if (nargs == 1 && kwnames == NULL && PyBytes_CheckExact(args[0]))
        return sdpy_parse_bytes(st, args[0], &st->opts, 0, 0);
    if (nargs != 1) {
        PyErr_Format(PyExc_TypeError, "parse() takes exactly one positional argument (%zd given)", nargs);
        return NULL;
    }
    PyObject *data = args[0], *limits = NULL;
    int rfc2543 = 0, stream = 0, check_uris = 0;
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t i = 0; i < nkw; i++) {
        PyObject *k = PyTuple_GET_ITEM(kwnames, i), *v = args[nargs + i];
        if (PyUnicode_CompareWithASCIIString(k, "limits") == 0) {
            limits = v;
        } else if (PyUnicode_CompareWithASCIIString(k, "rfc2543") == 0) {
            if ((rfc2543 = PyObject_IsTrue(v)) < 0) return NULL;
        } else if (PyUnicode_CompareWithASCIIString(k, "stream") == 0) {
            if ((stream = PyObject_IsTrue(v)) < 0) return NULL;
        } else if (PyUnicode_CompareWithASCIIString(k, "check_uris") == 0) {
            if ((check_uris = PyObject_IsTrue(v)) < 0) return NULL;
        } else {
            PyErr_Format(PyExc_TypeError, "parse() got an unexpected keyword argument '%U'", k);
            return NULL;
        }
    }
    sd_parse_opts o;
    if (opts_from(st, limits, rfc2543, stream, check_uris, &o) < 0) return NULL;
    PyObject *b = sdpy_as_bytes(data, "data");
    if (b == NULL) {
        if (PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
            PyErr_Clear();
            sd_error e;
            sd_error_set(&e, SD_EPARSE, SIZE_MAX, "str input is not encodable as UTF-8 (lone surrogate)");
            return sdpy_raise(st, &e, 0);
        }
        return NULL;
    }
    PyObject *r = sdpy_parse_bytes(st, b, &o, 0, 0);
    Py_DECREF(b);
    return r;
}

/* _set_logger(fn, level): install the Python side of the logging bridge. */
static PyObject *py_set_logger(PyObject *module, PyObject *args)
{
    sdpy_state *st = state_of_module(module);
    PyObject *fn;
    int level;
    if (!PyArg_ParseTuple(args, "Oi:_set_logger", &fn, &level)) return NULL;
    if (fn == Py_None) {
        Py_CLEAR(st->log_fn);
        st->opts.log = NULL;
    } else {
        Py_XSETREF(st->log_fn, Py_NewRef(fn));
        st->opts.log = &st->logger;
    }
    st->logger.min_level = level;
    st->env.parse.log = st->opts.log;
    Py_RETURN_NONE;
}

/* _set_default_limits(limits): the limits parse() uses by default. */
static PyObject *py_set_default_limits(PyObject *module, PyObject *limits)
{
    sdpy_state *st = state_of_module(module);
    sd_limits l;
    if (sdpy_limits_from(limits, &l) < 0) return NULL;
    st->opts.limits = l;
    st->env.parse.limits = l;
    Py_RETURN_NONE;
}

/* Slice helper: str of buf[span] or None when absent. */
static PyObject *span_or_none(const char *buf, sd_span s, int present)
{
    if (!present) Py_RETURN_NONE;
    return sdpy_str(buf + s.off, s.len);
}

/* Parse params span into a list of (name, value|None) pairs. */
static PyObject *params_list(sdpy_state *st, const char *buf, sd_span v, int uri)
{
    PyObject *lst = PyList_New(0);
    if (lst == NULL) return NULL;
    uint32_t pos = 0;
    sd_span n, val;
    int hv, r;
    while ((r = sd_param_next(buf, v, uri, &pos, &n, &val, &hv)) == 1) {
        PyObject *t = Py_BuildValue("(NN)", sdpy_str(buf + n.off, n.len),
                                    hv ? sdpy_str(buf + val.off, val.len) : Py_NewRef(Py_None));
        if (t == NULL || PyList_Append(lst, t) < 0) {
            Py_XDECREF(t);
            Py_DECREF(lst);
            return NULL;
        }
        Py_DECREF(t);
    }
    if (r < 0) {
        Py_DECREF(lst);
        sd_error e;
        sd_error_set(&e, SD_EPARSE, v.off, "malformed parameters");
        return sdpy_raise(st, &e, 0);
    }
    return lst;
}

/* The bytes of a value handed to one of the value parsers: a new bytes
 * reference with *len set, or NULL with ParseError (not encodable) or
 * LimitError (over 16 MiB: spans are 32-bit and no SIP value is that long). */
static PyObject *value_bytes(sdpy_state *st, PyObject *arg, const char *what, Py_ssize_t *len)
{
    PyObject *b = sdpy_as_bytes(arg, what);
    sd_error e;
    if (b == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) return NULL;
        PyErr_Clear();
        sd_error_set(&e, SD_EPARSE, SIZE_MAX, "%s is not encodable as UTF-8 (lone surrogate)", what);
        return sdpy_raise(st, &e, 0);
    }
    *len = PyBytes_GET_SIZE(b);
    if (*len > 0xffffff) {
        Py_DECREF(b);
        sd_error_set(&e, SD_ELIMIT, 0xffffff, "%s longer than 16 MiB", what);
        return sdpy_raise(st, &e, 0);
    }
    return b;
}

/* _parse_uri(text) -> (scheme, user, password, host, port, params, headers, opaque) */
static PyObject *py_parse_uri(PyObject *module, PyObject *arg)
{
    sdpy_state *st = state_of_module(module);
    Py_ssize_t len;
    PyObject *b = value_bytes(st, arg, "URI", &len);
    if (b == NULL) return NULL;
    const char *buf = PyBytes_AS_STRING(b);
    sd_uri u;
    sd_error e;
    PyObject *r = NULL;
    if (sd_uri_parse(buf, (sd_span){0, (uint32_t)len}, st->opts.limits.max_uri, &u, &e) != SD_OK) {
        sdpy_raise(st, &e, 0);
        goto out;
    }
    PyObject *params = params_list(st, buf, u.params, 1);
    if (params == NULL) goto out;
    static const char *kinds[] = {"", "name", "ipv4", "ipv6"};
    r = Py_BuildValue("(NNNNNNNNs)", sdpy_str(buf + u.scheme.off, u.scheme.len),
                      span_or_none(buf, u.user, u.user.len > 0 || u.scheme_id == SD_URI_TEL),
                      span_or_none(buf, u.password, u.has_password),
                      span_or_none(buf, u.host, u.host.len > 0),
                      u.port >= 0 ? PyLong_FromLong(u.port) : Py_NewRef(Py_None), params,
                      span_or_none(buf, u.headers, u.headers.len > 0),
                      span_or_none(buf, u.opaque, u.scheme_id == SD_URI_OTHER), kinds[u.host_type & 3]);
out:
    Py_DECREF(b);
    return r;
}

/* _parse_name_addr(text, allow_star=False) -> (display|None, quoted, uri, params, bracketed, star) */
static PyObject *py_parse_name_addr(PyObject *module, PyObject *args)
{
    sdpy_state *st = state_of_module(module);
    PyObject *arg;
    int star = 0;
    if (!PyArg_ParseTuple(args, "O|p:_parse_name_addr", &arg, &star)) return NULL;
    Py_ssize_t len;
    PyObject *b = value_bytes(st, arg, "name-addr", &len);
    if (b == NULL) return NULL;
    const char *buf = PyBytes_AS_STRING(b);
    sd_nameaddr na;
    sd_error e;
    PyObject *r = NULL;
    if (sd_nameaddr_parse(buf, (sd_span){0, (uint32_t)len}, star, &na, &e) != SD_OK) {
        sdpy_raise(st, &e, 0);
        goto out;
    }
    PyObject *params = params_list(st, buf, na.params, 0);
    if (params == NULL) goto out;
    r = Py_BuildValue("(NNNNNN)", span_or_none(buf, na.display, na.display.len > 0 || na.quoted_display),
                      PyBool_FromLong(na.quoted_display), sdpy_str(buf + na.uri.off, na.uri.len), params,
                      PyBool_FromLong(na.has_brackets), PyBool_FromLong(na.is_star));
out:
    Py_DECREF(b);
    return r;
}

/* _parse_via(text) -> (protocol, version, transport, host, port, params) */
static PyObject *py_parse_via(PyObject *module, PyObject *arg)
{
    sdpy_state *st = state_of_module(module);
    Py_ssize_t len;
    PyObject *b = value_bytes(st, arg, "Via", &len);
    if (b == NULL) return NULL;
    const char *buf = PyBytes_AS_STRING(b);
    sd_via v;
    sd_error e;
    PyObject *r = NULL;
    if (sd_via_parse(buf, (sd_span){0, (uint32_t)len}, &v, &e) != SD_OK) {
        sdpy_raise(st, &e, 0);
        goto out;
    }
    PyObject *params = params_list(st, buf, v.params, 0);
    if (params == NULL) goto out;
    r = Py_BuildValue("(NNNNNN)", sdpy_str(buf + v.protocol.off, v.protocol.len),
                      sdpy_str(buf + v.version.off, v.version.len), sdpy_str(buf + v.transport.off, v.transport.len),
                      sdpy_str(buf + v.host.off, v.host.len),
                      v.port >= 0 ? PyLong_FromLong(v.port) : Py_NewRef(Py_None), params);
out:
    Py_DECREF(b);
    return r;
}

/* _split_list(text) -> list of elements of a comma-separated header value */
static PyObject *py_split_list(PyObject *module, PyObject *arg)
{
    sdpy_state *st = state_of_module(module);
    Py_ssize_t len;
    PyObject *b = value_bytes(st, arg, "value", &len);
    if (b == NULL) return NULL;
    const char *buf = PyBytes_AS_STRING(b);
    PyObject *lst = PyList_New(0);
    if (lst == NULL) goto out;
    uint32_t pos = 0;
    sd_span item;
    int r;
    while ((r = sd_list_next(buf, (sd_span){0, (uint32_t)len}, &pos, &item)) == 1) {
        PyObject *s = sdpy_str(buf + item.off, item.len);
        if (s == NULL || PyList_Append(lst, s) < 0) {
            Py_XDECREF(s);
            Py_CLEAR(lst);
            goto out;
        }
        Py_DECREF(s);
    }
    if (r < 0) {
        sd_error e;
        sd_error_set(&e, SD_EPARSE, pos, "malformed list (empty element)");
        Py_CLEAR(lst);
        sdpy_raise(st, &e, 0);
    }
out:
    Py_DECREF(b);
    return lst;
}

/* _header_info(name) -> (canonical long name | None, compact letter | None, is_list, is_single) */
static PyObject *py_header_info(PyObject *module, PyObject *arg)
{
    (void)module;
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(arg, &n);
    if (s == NULL) return NULL;
    sd_hdr_id id = sd_hdr_lookup(s, (size_t)n);
    const char *name = sd_hdr_name(id);
    char c = sd_hdr_compact(id);
    return Py_BuildValue("(NNNN)", name ? PyUnicode_FromString(name) : Py_NewRef(Py_None),
                         c ? PyUnicode_FromStringAndSize(&c, 1) : Py_NewRef(Py_None),
                         PyBool_FromLong(sd_hdr_is_list(id)), PyBool_FromLong(sd_hdr_is_single(id)));
}

/* _reason_phrase(code) -> default reason phrase of RFC 3261 21 (and friends) */
static PyObject *py_reason_phrase(PyObject *module, PyObject *arg)
{
    (void)module;
    long code = PyLong_AsLong(arg);
    if (code == -1 && PyErr_Occurred()) return NULL;
    return PyUnicode_FromString(sd_reason_phrase((int)code));
}

static PyMethodDef module_methods[] = {
    {"parse", (PyCFunction)(void (*)(void))py_parse, METH_FASTCALL | METH_KEYWORDS,
     "parse(data, /, *, limits=None, rfc2543=False, stream=False, check_uris=False) -> Request | Response\n\n"
     "Parse one SIP message (bytes or str). Raises ParseError (LimitError past a limit).\n"
     "rfc2543: accept requests without Max-Forwards. stream: Content-Length required.\n"
     "check_uris: also parse the URIs in From, To, Contact, Route and Record-Route (else they\n"
     "are parsed when read, e.g. msg.to.uri, and raise ParseError then)."},
    {"_set_logger", py_set_logger, METH_VARARGS, "Install the logging bridge (internal)."},
    {"_set_default_limits", py_set_default_limits, METH_O, "Set the default Limits (internal)."},
    {"_parse_uri", py_parse_uri, METH_O, "Parse a URI into its parts (internal)."},
    {"_parse_name_addr", py_parse_name_addr, METH_VARARGS, "Parse a name-addr (internal)."},
    {"_parse_via", py_parse_via, METH_O, "Parse one Via value (internal)."},
    {"_split_list", py_split_list, METH_O, "Split a comma-separated header value (internal)."},
    {"_header_info", py_header_info, METH_O, "Canonical name, compact form, list and single flags."},
    {"_reason_phrase", py_reason_phrase, METH_O, "Default reason phrase for a status code."},
    {NULL, NULL, 0, NULL},
};

static PyObject *new_exc(PyObject *module, const char *name, PyObject *bases, const char *doc)
{
    char full[128];
    snprintf(full, sizeof full, "sipdialog.%s", name);
    /* reason and offset exist on every instance, also on those raised by user code */
    PyObject *dict = Py_BuildValue("{sOsO}", "reason", Py_None, "offset", Py_None);
    if (dict == NULL) return NULL;
    PyObject *e = PyErr_NewExceptionWithDoc(full, doc, bases, dict);
    Py_DECREF(dict);
    if (e == NULL) return NULL;
    if (PyModule_AddObjectRef(module, name, e) < 0) {
        Py_DECREF(e);
        return NULL;
    }
    return e;
}

static int module_exec(PyObject *m)
{
    sdpy_state *st = state_of_module(m);
    sd_parse_opts_default(&st->opts);
    st->logger.fn = log_bridge;
    st->logger.ctx = st;
    st->logger.min_level = SD_LOG_WARNING;
    st->log_level = SD_LOG_WARNING;

    PyObject *b;
    if ((st->SipError = new_exc(m, "SipError", PyExc_Exception, "Base class of every sipdialog error.")) == NULL)
        return -1;
#define EXC2(field, name, base2, doc)                                           \
    b = PyTuple_Pack(2, st->SipError, base2);                                   \
    if (b == NULL) return -1;                                                   \
    st->field = new_exc(m, name, b, doc);                                       \
    Py_DECREF(b);                                                               \
    if (st->field == NULL) return -1;
    EXC2(ParseError, "ParseError", PyExc_ValueError,
         "Malformed SIP input. Attributes: reason (str), offset (int byte offset or None).")
    EXC2(ValidationError, "ValidationError", PyExc_ValueError,
         "A value failed validation. Attributes: reason, offset (within the value).")
    EXC2(DialogStateError, "DialogStateError", PyExc_RuntimeError, "Operation not allowed in the dialog state.")
    EXC2(DialogNotFound, "DialogNotFound", PyExc_KeyError, "No dialog with that ID.")
    EXC2(ClosedError, "ClosedError", PyExc_RuntimeError, "The object was closed.")
#undef EXC2
    if ((st->LimitError = new_exc(m, "LimitError", st->ParseError, "A size or count limit was exceeded.")) == NULL)
        return -1;
    if ((st->OverloadError = new_exc(m, "OverloadError", st->SipError, "Capacity or admission limit reached.")) == NULL)
        return -1;
    if (sdpy_message_init_types(m, st) < 0) return -1;
    if (sdpy_stream_init_types(m, st) < 0) return -1;
    if (sdpy_pipeline_init_types(m, st) < 0) return -1;
    if (sdpy_ratelimit_init_types(m, st) < 0) return -1;
    sd_dlg_env_default(&st->env);
    st->env.parse = st->opts;
    /* one table of shared strings for every dialog of the process (bounded) */
    if ((st->env.strings = sd_intern_new(1u << 16)) == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    if (sdpy_dialog_init_types(m, st) < 0) return -1;
    if (sdpy_manager_init_types(m, st) < 0) return -1;
    return 0;
}

static int module_traverse(PyObject *m, visitproc visit, void *arg)
{
    sdpy_state *st = state_of_module(m);
    if (st == NULL) return 0;
    Py_VISIT(st->SipError);
    Py_VISIT(st->ParseError);
    Py_VISIT(st->LimitError);
    Py_VISIT(st->ValidationError);
    Py_VISIT(st->DialogStateError);
    Py_VISIT(st->DialogNotFound);
    Py_VISIT(st->OverloadError);
    Py_VISIT(st->ClosedError);
    Py_VISIT(st->Message);
    Py_VISIT(st->Request);
    Py_VISIT(st->Response);
    Py_VISIT(st->StreamParser);
    Py_VISIT(st->Validator);
    Py_VISIT(st->Sanitizer);
    Py_VISIT(st->Pipeline);
    Py_VISIT(st->CSeq);
    Py_VISIT(st->log_fn);
    Py_VISIT(st->Dialog);
    Py_VISIT(st->DialogManager);
    Py_VISIT(st->Transition);
    Py_VISIT(st->DialogState);
    for (int i = 0; i < SD_DLG__NSTATES; i++) Py_VISIT(st->states[i]);
    return 0;
}

static int module_clear(PyObject *m)
{
    sdpy_state *st = state_of_module(m);
    if (st == NULL) return 0;
    Py_CLEAR(st->SipError);
    Py_CLEAR(st->ParseError);
    Py_CLEAR(st->LimitError);
    Py_CLEAR(st->ValidationError);
    Py_CLEAR(st->DialogStateError);
    Py_CLEAR(st->DialogNotFound);
    Py_CLEAR(st->OverloadError);
    Py_CLEAR(st->ClosedError);
    Py_CLEAR(st->Message);
    Py_CLEAR(st->Request);
    Py_CLEAR(st->Response);
    Py_CLEAR(st->StreamParser);
    Py_CLEAR(st->Validator);
    Py_CLEAR(st->Sanitizer);
    Py_CLEAR(st->Pipeline);
    Py_CLEAR(st->CSeq);
    Py_CLEAR(st->log_fn);
    Py_CLEAR(st->Dialog);
    Py_CLEAR(st->DialogManager);
    Py_CLEAR(st->Transition);
    Py_CLEAR(st->DialogState);
    for (int i = 0; i < SD_DLG__NSTATES; i++) Py_CLEAR(st->states[i]);
    st->opts.log = NULL;
    st->env.parse.log = NULL;
    return 0;
}

static void module_free(void *m)
{
    module_clear((PyObject *)m);
    sdpy_state *st = state_of_module((PyObject *)m);
    if (st != NULL && st->env.strings != NULL) {
        sd_intern_unref(st->env.strings); /* freed when the last dialog lets go of its strings */
        st->env.strings = NULL;
    }
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, module_exec},
    {0, NULL},
};

PyModuleDef sdpy_module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "sipdialog._core",
    .m_doc = "The C core of sipdialog: SIP message parsing, serialization and validation.",
    .m_size = sizeof(sdpy_state),
    .m_methods = module_methods,
    .m_slots = module_slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
    .m_free = module_free,
};

PyMODINIT_FUNC PyInit__core(void)
{
    return PyModuleDef_Init(&sdpy_module_def);
}

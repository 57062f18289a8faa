/*
 * ratelimit.c - admission control from Python (sipdialog/admit.h):
 * RateLimiter (a per-source token bucket), the private _Admission (the
 * C sd_admit as the DialogManager embeds it, for tests) and _source_key.
 *
 * A source is a (host, port) tuple or a "host" / "host:port" string, IPv6
 * included; it is normalised to its address (the port is checked, then
 * dropped). Every call into the C object releases the GIL.
 */
#include "sdpy.h"

#include "sipdialog/admit.h"

#include <math.h>

/* ------------------------------------------------------------- helpers */

/* Raise ValidationError for a source refused by the key parser. */
static int source_error(sdpy_state *st, const sd_error *e)
{
    sdpy_raise(st, e, 1);
    return -1;
}

/* The UTF-8 text of a str; 0, or -1 with ValidationError for a lone surrogate. */
static int source_text(sdpy_state *st, PyObject *s, const char *what, sd_str *out)
{
    Py_ssize_t n;
    const char *p = PyUnicode_AsUTF8AndSize(s, &n);
    if (p == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) return -1;
        PyErr_Clear();
        sd_error e;
        sd_error_set(&e, SD_EINVAL, SIZE_MAX, "%s is not encodable as UTF-8 (lone surrogate)", what);
        return source_error(st, &e);
    }
    *out = (sd_str){p, (size_t)n};
    return 0;
}

/* The key of a Python source; 0, or -1 with ValidationError/TypeError. */
static int source_from(sdpy_state *st, PyObject *src, sd_srckey *out)
{
    sd_error e;
    sd_str text;
    if (PyUnicode_Check(src)) {
        if (source_text(st, src, "source", &text) < 0) return -1;
        if (sd_source_key(text, out, &e) != SD_OK) return source_error(st, &e);
        return 0;
    }
    if (PyTuple_Check(src) && PyTuple_GET_SIZE(src) == 2) {
        PyObject *host = PyTuple_GET_ITEM(src, 0), *port = PyTuple_GET_ITEM(src, 1);
        if (!PyUnicode_Check(host) || !PyLong_Check(port)) {
            PyErr_Format(PyExc_TypeError, "a source tuple is (host: str, port: int), not (%.100s, %.100s)",
                         Py_TYPE(host)->tp_name, Py_TYPE(port)->tp_name);
            return -1;
        }
        int overflow;
        long pv = PyLong_AsLongAndOverflow(port, &overflow);
        if (pv == -1 && PyErr_Occurred()) return -1;
        if (overflow || pv < 0 || pv > 65535) {
            sd_error_set(&e, SD_EINVAL, SIZE_MAX, "port out of range (0-65535)");
            return source_error(st, &e);
        }
        if (source_text(st, host, "host", &text) < 0) return -1;
        if (sd_source_key_host(text, out, &e) != SD_OK) return source_error(st, &e);
        return 0;
    }
    PyErr_Format(PyExc_TypeError, "source must be a (host, port) tuple or a 'host[:port]' str, not %.100s",
                 Py_TYPE(src)->tp_name);
    return -1;
}

/* A constructor's C error as a Python exception; returns NULL. */
static PyObject *ctor_error(const sd_error *e)
{
    if (e->code == SD_ENOMEM) return PyErr_NoMemory();
    PyErr_SetString(PyExc_ValueError, e->reason);
    return NULL;
}

/* `now` in monotonic seconds (None: the monotonic clock) as nanoseconds. */
static int now_from(PyObject *now, int64_t *out)
{
    if (now == NULL || now == Py_None) {
        *out = sd_monotonic_ns(NULL);
        return 0;
    }
    double s = PyFloat_AsDouble(now);
    if (s == -1.0 && PyErr_Occurred()) return -1;
    if (!isfinite(s) || fabs(s) > 9.2e9) {
        PyErr_SetString(PyExc_ValueError, "now must be a finite number of seconds (|now| <= 9.2e9)");
        return -1;
    }
    *out = (int64_t)llround(s * 1e9);
    return 0;
}

/* The source and time of allow()/tokens()/check() (`fmt` names the call
 * and says whether now is keyword-only); 0 or -1. */
static int source_now_args(PyObject *self, PyObject *args, PyObject *kw, const char *fmt, sd_srckey *k,
                           int64_t *now)
{
    static char *kws[] = {"source", "now", NULL};
    PyObject *src, *now_obj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, fmt, kws, &src, &now_obj)) return -1;
    sdpy_state *st = sdpy_state_of_type(Py_TYPE(self));
    if (st == NULL || source_from(st, src, k) < 0) return -1;
    return now_from(now_obj, now);
}

/* burst=None -> 0 (the C default); else a number >= 1. */
static int burst_from(PyObject *obj, double *out)
{
    *out = 0;
    if (obj == NULL || obj == Py_None) return 0;
    double b = PyFloat_AsDouble(obj);
    if (b == -1.0 && PyErr_Occurred()) return -1;
    if (!(b >= 1) || !isfinite(b)) {
        PyErr_SetString(PyExc_ValueError, "burst must be a finite number >= 1 (or None for the default)");
        return -1;
    }
    *out = b;
    return 0;
}

static int check_args(double rate, Py_ssize_t max_sources)
{
    if (!(rate >= 0) || !isfinite(rate)) {
        PyErr_SetString(PyExc_ValueError, "rate_per_minute must be a finite number >= 0 (0: no limit)");
        return -1;
    }
    if (max_sources < 1 || max_sources > 0xffffff) {
        PyErr_SetString(PyExc_ValueError, "max_sources must be between 1 and 16777215");
        return -1;
    }
    return 0;
}

/* --------------------------------------------------------- RateLimiter */

typedef struct RateLimiterObject {
    PyObject_HEAD
    sd_ratelimit *rl; /* owned */
    double rate, burst;
    Py_ssize_t max_sources;
} RateLimiterObject;

static PyObject *rl_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *kws[] = {"rate_per_minute", "burst", "max_sources", NULL};
    double rate = 100;
    PyObject *burst_obj = Py_None;
    Py_ssize_t max_sources = 65536;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|dOn:RateLimiter", kws, &rate, &burst_obj, &max_sources))
        return NULL;
    double burst;
    if (check_args(rate, max_sources) < 0 || burst_from(burst_obj, &burst) < 0) return NULL;
    RateLimiterObject *self = (RateLimiterObject *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    sd_error e;
    if (sd_ratelimit_new(rate, burst, (size_t)max_sources, &self->rl, &e) != SD_OK) {
        Py_DECREF(self);
        return ctor_error(&e);
    }
    self->rate = rate;
    self->burst = burst != 0 ? burst : (rate > 1 ? rate : 1);
    self->max_sources = max_sources;
    return (PyObject *)self;
}

static void rl_dealloc(RateLimiterObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    sd_ratelimit_free(self->rl);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyObject *rl_allow(RateLimiterObject *self, PyObject *args, PyObject *kw)
{
    sd_srckey k;
    int64_t now;
    if (source_now_args((PyObject *)self, args, kw, "O|$O:allow", &k, &now) < 0) return NULL;
    int ok;
    Py_BEGIN_ALLOW_THREADS
    ok = sd_ratelimit_take(self->rl, &k, now);
    Py_END_ALLOW_THREADS
    return PyBool_FromLong(ok);
}

static PyObject *rl_tokens(RateLimiterObject *self, PyObject *args, PyObject *kw)
{
    sd_srckey k;
    int64_t now;
    if (source_now_args((PyObject *)self, args, kw, "O|$O:tokens", &k, &now) < 0) return NULL;
    double t;
    Py_BEGIN_ALLOW_THREADS
    t = sd_ratelimit_tokens(self->rl, &k, now);
    Py_END_ALLOW_THREADS
    return PyFloat_FromDouble(t);
}

static size_t rl_sources(RateLimiterObject *self)
{
    size_t n;
    Py_BEGIN_ALLOW_THREADS
    n = sd_ratelimit_sources(self->rl);
    Py_END_ALLOW_THREADS
    return n;
}

static PyObject *rl_repr(RateLimiterObject *self)
{
    PyObject *r = PyFloat_FromDouble(self->rate), *b = PyFloat_FromDouble(self->burst);
    PyObject *s = r && b ? PyUnicode_FromFormat("<RateLimiter rate_per_minute=%R burst=%R sources=%zu>", r, b,
                                                rl_sources(self))
                         : NULL;
    Py_XDECREF(r);
    Py_XDECREF(b);
    return s;
}

static PyObject *rl_get_rate(RateLimiterObject *self, void *c)
{
    (void)c;
    return PyFloat_FromDouble(self->rate);
}

static PyObject *rl_get_burst(RateLimiterObject *self, void *c)
{
    (void)c;
    return PyFloat_FromDouble(self->burst);
}

static PyObject *rl_get_max_sources(RateLimiterObject *self, void *c)
{
    (void)c;
    return PyLong_FromSsize_t(self->max_sources);
}

static PyObject *rl_get_sources(RateLimiterObject *self, void *c)
{
    (void)c;
    return PyLong_FromSize_t(rl_sources(self));
}

static PyMethodDef rl_methods[] = {
    {"allow", (PyCFunction)(void (*)(void))rl_allow, METH_VARARGS | METH_KEYWORDS,
     "allow(source, *, now=None) -> bool\n\nTake one token from the source's bucket: True when taken, False "
     "when refused (nothing changes then). now: monotonic seconds (default time.monotonic())."},
    {"tokens", (PyCFunction)(void (*)(void))rl_tokens, METH_VARARGS | METH_KEYWORDS,
     "tokens(source, *, now=None) -> float\n\nTokens in the source's bucket at `now` (burst for a source not "
     "seen, inf without a limit). Changes nothing."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef rl_getset[] = {
    {"rate_per_minute", (getter)rl_get_rate, NULL, "Tokens added per minute and source (0: no limit).", NULL},
    {"burst", (getter)rl_get_burst, NULL, "Bucket size: tokens a new or idle source may spend at once.", NULL},
    {"max_sources", (getter)rl_get_max_sources, NULL, "Sources tracked at most.", NULL},
    {"sources", (getter)rl_get_sources, NULL, "Sources tracked now.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot rl_slots[] = {
    {Py_tp_new, rl_new},
    {Py_tp_dealloc, rl_dealloc},
    {Py_tp_methods, rl_methods},
    {Py_tp_getset, rl_getset},
    {Py_tp_repr, rl_repr},
    {Py_tp_doc, "RateLimiter(rate_per_minute=100, burst=None, max_sources=65536)\n\n"
                "A token bucket per source address: a new source may take `burst` (default: the rate, at "
                "least 1) at once, then rate_per_minute / 60 a second. Ports are ignored. At most "
                "max_sources are tracked: when full, sources whose bucket has refilled are forgotten, "
                "and new sources are refused until one has. Thread-safe."},
    {0, NULL},
};

static PyType_Spec rl_spec = {"sipdialog.RateLimiter", sizeof(RateLimiterObject), 0, Py_TPFLAGS_DEFAULT, rl_slots};

/* ---------------------------------------------------------- _Admission */

typedef struct AdmissionObject {
    PyObject_HEAD
    sd_admit *a; /* owned */
} AdmissionObject;

static PyObject *adm_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *kws[] = {"max_per_source", "rate_per_minute", "burst", "max_sources", NULL};
    long cap = 100;
    sd_admit_opts o;
    sd_admit_opts_default(&o);
    PyObject *burst_obj = Py_None;
    Py_ssize_t max_sources = 65536;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|ldOn:_Admission", kws, &cap, &o.rate_per_minute, &burst_obj,
                                     &max_sources))
        return NULL;
    if (cap < 0 || cap > 0xffffffffL) {
        PyErr_SetString(PyExc_ValueError, "max_per_source must be between 0 (no cap) and 4294967295");
        return NULL;
    }
    if (check_args(o.rate_per_minute, max_sources) < 0 || burst_from(burst_obj, &o.burst) < 0) return NULL;
    o.max_per_source = (uint32_t)cap;
    o.max_sources = (size_t)max_sources;
    AdmissionObject *self = (AdmissionObject *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    sd_error e;
    if (sd_admit_new(&o, &self->a, &e) != SD_OK) {
        Py_DECREF(self);
        return ctor_error(&e);
    }
    return (PyObject *)self;
}

static void adm_dealloc(AdmissionObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    sd_admit_free(self->a);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyObject *adm_check(AdmissionObject *self, PyObject *args, PyObject *kw)
{
    sd_srckey k;
    int64_t now;
    if (source_now_args((PyObject *)self, args, kw, "O|O:check", &k, &now) < 0) return NULL;
    int ok;
    Py_BEGIN_ALLOW_THREADS
    ok = sd_admit_check(self->a, &k, now);
    Py_END_ALLOW_THREADS
    return PyBool_FromLong(ok);
}

static PyObject *adm_acquire(AdmissionObject *self, PyObject *src)
{
    sdpy_state *st = sdpy_state_of_type(Py_TYPE(self));
    sd_srckey k;
    if (st == NULL || source_from(st, src, &k) < 0) return NULL;
    uint32_t slot = 0;
    sd_error e;
    sd_err rc;
    Py_BEGIN_ALLOW_THREADS
    rc = sd_admit_acquire(self->a, &k, &slot, &e);
    Py_END_ALLOW_THREADS
    if (rc == SD_ELIMIT) {
        PyObject *exc = PyObject_CallFunction(st->OverloadError, "s", e.reason);
        if (exc == NULL) return NULL;
        PyObject *reason = PyUnicode_FromString(e.reason);
        if (reason == NULL || PyObject_SetAttrString(exc, "reason", reason) < 0) {
            Py_XDECREF(reason);
            Py_DECREF(exc);
            return NULL;
        }
        Py_DECREF(reason);
        PyErr_SetObject(st->OverloadError, exc);
        Py_DECREF(exc);
        return NULL;
    }
    if (rc != SD_OK) return sdpy_raise(st, &e, 0);
    return PyLong_FromUnsignedLong(slot);
}

static PyObject *adm_release(AdmissionObject *self, PyObject *arg)
{
    unsigned long v = PyLong_AsUnsignedLong(arg);
    if (v == (unsigned long)-1 && PyErr_Occurred()) return NULL;
    if (v > 0xffffffffUL) {
        PyErr_SetString(PyExc_ValueError, "not a slot (slots are 32-bit)");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    sd_admit_release(self->a, (uint32_t)v);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *adm_stats(AdmissionObject *self, PyObject *unused)
{
    (void)unused;
    sd_admit_stats s;
    Py_BEGIN_ALLOW_THREADS
    sd_admit_get_stats(self->a, &s);
    Py_END_ALLOW_THREADS
    return Py_BuildValue("{sKsKsKsKsKsKsKsKsKsK}", "admitted", (unsigned long long)s.admitted, "refused_rate",
                         (unsigned long long)s.refused_rate, "refused_cap", (unsigned long long)s.refused_cap,
                         "refused_sources", (unsigned long long)s.refused_sources, "acquired",
                         (unsigned long long)s.acquired, "acquire_refused", (unsigned long long)s.acquire_refused,
                         "released", (unsigned long long)s.released, "live_dialogs",
                         (unsigned long long)s.live_dialogs, "live_sources", (unsigned long long)s.live_sources,
                         "sources", (unsigned long long)s.sources);
}

static PyMethodDef adm_methods[] = {
    {"check", (PyCFunction)(void (*)(void))adm_check, METH_VARARGS | METH_KEYWORDS,
     "check(source, now=None) -> bool: under the cap and a token taken (sd_admit_check)."},
    {"acquire", (PyCFunction)adm_acquire, METH_O,
     "acquire(source) -> int: count a live dialog; the slot for release(). OverloadError at the cap."},
    {"release", (PyCFunction)adm_release, METH_O, "release(slot): the dialog of that slot ended."},
    {"stats", (PyCFunction)adm_stats, METH_NOARGS, "stats() -> dict of the counters (sd_admit_stats)."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot adm_slots[] = {
    {Py_tp_new, adm_new},
    {Py_tp_dealloc, adm_dealloc},
    {Py_tp_methods, adm_methods},
    {Py_tp_doc, "_Admission(max_per_source=100, rate_per_minute=100, burst=None, max_sources=65536)\n\n"
                "The C admission controller (live-dialog cap + rate limit per source), for tests."},
    {0, NULL},
};

static PyType_Spec adm_spec = {"sipdialog._core._Admission", sizeof(AdmissionObject), 0, Py_TPFLAGS_DEFAULT,
                               adm_slots};

/* ---------------------------------------------------------- _source_key */

static PyObject *py_source_key(PyObject *module, PyObject *src)
{
    sdpy_state *st = PyModule_GetState(module);
    sd_srckey k;
    if (st == NULL || source_from(st, src, &k) < 0) return NULL;
    return PyBytes_FromStringAndSize((const char *)&k, sizeof k);
}

static PyMethodDef ratelimit_functions[] = {
    {"_source_key", py_source_key, METH_O,
     "_source_key(source) -> bytes: the normalised 20-byte key of a source (internal)."},
    {NULL, NULL, 0, NULL},
};

int sdpy_ratelimit_init_types(PyObject *module, sdpy_state *st)
{
    (void)st;
    if (PyModule_AddFunctions(module, ratelimit_functions) < 0) return -1;
    PyTypeObject *rl = (PyTypeObject *)PyType_FromModuleAndSpec(module, &rl_spec, NULL);
    if (rl == NULL) return -1;
    int rc = PyModule_AddType(module, rl);
    Py_DECREF(rl);
    if (rc < 0) return -1;
    PyTypeObject *adm = (PyTypeObject *)PyType_FromModuleAndSpec(module, &adm_spec, NULL);
    if (adm == NULL) return -1;
    rc = PyModule_AddType(module, adm);
    Py_DECREF(adm);
    return rc;
}

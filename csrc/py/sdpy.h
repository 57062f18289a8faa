/*
 * sdpy.h - internal declarations shared by the CPython bindings of
 * sipdialog (module state, the message object, error mapping).
 */
#ifndef SDPY_H
#define SDPY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "sipdialog/base.h"
#include "sipdialog/msg.h"
#include "sipdialog/dialog.h"
#include "sipdialog/validate.h"

/* Per-module state: every type and exception, the default parse options
 * and the logging bridge. Nothing else is mutable. */
typedef struct sdpy_state {
    PyObject *SipError, *ParseError, *LimitError, *ValidationError, *DialogStateError, *DialogNotFound,
        *OverloadError, *ClosedError;
    PyTypeObject *Message, *Request, *Response, *StreamParser, *Validator, *Sanitizer, *Pipeline;
    PyObject *CSeq;       /* struct sequence type (seq, method) */
    PyTypeObject *Dialog, *DialogManager;
    PyObject *Transition; /* struct sequence type of history entries */
    PyObject *DialogState; /* the enum class */
    PyObject *states[SD_DLG__NSTATES]; /* its members, by sd_dlg_state */
    PyObject *log_fn;     /* callable(level, text, call_id, method, status_code, reason) or NULL */
    int log_level;        /* minimum level the Python logger wants */
    sd_logger logger;     /* fn = the bridge, ctx = this state */
    sd_parse_opts opts;   /* defaults used by parse() without arguments */
    sd_dlg_env env;       /* what every dialog reads: limits (= opts), clock, randomness */
} sdpy_state;

/* A parsed message: the wire bytes and spans into them. The header array
 * is the variable-size tail of the object (one allocation). */
typedef struct MessageObject {
    PyObject_VAR_HEAD
    PyObject *buf;        /* bytes; owned reference; never modified */
    PyObject *items;      /* cached tuple of (name, value) or NULL */
    sd_msg m;             /* m.hdrs == hdrs */
    sd_header hdrs[];
} MessageObject;

sdpy_state *sdpy_state_of_type(PyTypeObject *tp);

/* Raise the exception that matches err->code with its reason and offset;
 * returns NULL for convenience. `as_validation` maps parse errors to
 * ValidationError (used for messages built from Python values). */
PyObject *sdpy_raise(sdpy_state *st, const sd_error *err, int as_validation);

/* Parse `bytes_obj` (a bytes object, referenced, not copied) into a new
 * Request or Response. Returns a new reference or NULL with an exception
 * whose offset is the parser's plus `bias` (the message's position in a
 * stream). */
PyObject *sdpy_parse_bytes(sdpy_state *st, PyObject *bytes_obj, const sd_parse_opts *opts, int as_validation,
                           size_t bias);

/* Fill opts from a sipdialog.Limits-like object (attributes) or None. */
int sdpy_limits_from(PyObject *obj, sd_limits *out);

/* Decode bytes as UTF-8 with surrogateescape (never fails on bad UTF-8). */
PyObject *sdpy_str(const char *p, size_t len);

/* Unfolded str of a value span. */
PyObject *sdpy_value_str(const char *buf, sd_span v, int folded);

/* Encode a str (UTF-8, surrogateescape) or take bytes: new bytes reference. */
PyObject *sdpy_as_bytes(PyObject *o, const char *what);

/* Append (name, value) bytes pairs from a mapping, an iterable of pairs
 * or None to the list `out`. -1 with an exception on bad input. */
int sdpy_collect_pairs(PyObject *headers, PyObject *out);

/* Turn a pending UnicodeEncodeError into ValidationError; returns -1. */
int sdpy_encode_error_to_validation(sdpy_state *st);

int sdpy_dialog_init_types(PyObject *module, sdpy_state *st);
int sdpy_manager_init_types(PyObject *module, sdpy_state *st);

/* The Python object of a C dialog: the live wrapper when there is one,
 * else a new one. Consumes the reference to `d`. GIL held. */
PyObject *sdpy_dialog_object(sdpy_state *st, sd_dialog *d);
/* The listener the Dialog type sets on its C dialog (ctx: the object). */
sd_dlg_listener sdpy_dialog_listener(void);
/* The C dialog of a sipdialog.Dialog (borrowed), or NULL (no exception)
 * when `o` is something else. */
sd_dialog *sdpy_dialog_ptr(sdpy_state *st, PyObject *o);
int sdpy_message_init_types(PyObject *module, sdpy_state *st);
int sdpy_stream_init_types(PyObject *module, sdpy_state *st);
int sdpy_pipeline_init_types(PyObject *module, sdpy_state *st);
int sdpy_ratelimit_init_types(PyObject *module, sdpy_state *st);

extern PyModuleDef sdpy_module_def;

#endif

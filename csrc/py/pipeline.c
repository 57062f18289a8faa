/*
 * pipeline.c - Validator, Sanitizer and ValidationPipeline: the C
 * validation pipeline (sipdialog/validate.h) as Python objects.
 */
#include "sdpy.h"

#include <stdlib.h>
#include <string.h>
#include <structmember.h>

typedef struct ValidatorObject {
    PyObject_HEAD
    sd_validator v;
} ValidatorObject;

typedef struct SanitizerObject {
    PyObject_HEAD
    sd_skind k;
} SanitizerObject;

typedef struct PipelineObject {
    PyObject_HEAD
    sd_pipeline pl;
    PyObject *validators, *sanitizers; /* tuples of the objects given */
} PipelineObject;

static int vkind_by_name(const char *name)
{
    for (int k = 1; k < SD_V__COUNT; k++)
        if (strcmp(sd_vkind_name((sd_vkind)k), name) == 0) return k;
    return -1;
}

static int skind_by_name(const char *name)
{
    for (int k = 1; k < SD_S__COUNT; k++)
        if (strcmp(sd_skind_name((sd_skind)k), name) == 0) return k;
    return -1;
}

/* Run a pipeline on a str/bytes value; returns str (or bytes for bytes in). */
static PyObject *run_pipeline(sdpy_state *st, const sd_pipeline *pl, PyObject *value)
{
    PyObject *b = sdpy_as_bytes(value, "value");
    if (b == NULL) return NULL;
    char *out = NULL;
    size_t olen = 0;
    sd_error e;
    sd_err rc = sd_pipeline_run(pl, PyBytes_AS_STRING(b), (size_t)PyBytes_GET_SIZE(b), &out, &olen, &e);
    PyObject *r = NULL;
    if (rc == SD_OK) {
        r = PyBytes_Check(value) ? PyBytes_FromStringAndSize(out, (Py_ssize_t)olen) : sdpy_str(out, olen);
        free(out);
    } else {
        sdpy_raise(st, &e, 1);
    }
    Py_DECREF(b);
    return r;
}

/* ---- Validator ---- */

static PyObject *validator_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *kws[] = {"kind", "arg", NULL};
    const char *kind;
    PyObject *argobj = NULL;
    unsigned long long arg = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s|O!:Validator", kws, &kind, &PyLong_Type, &argobj)) return NULL;
    if (argobj != NULL) {
        arg = PyLong_AsUnsignedLongLong(argobj); /* negative or too large: error, never wraps */
        if (arg == (unsigned long long)-1 && PyErr_Occurred()) {
            PyErr_Format(PyExc_ValueError, "validator argument must be an int in 0..2**64-1, not %R", argobj);
            return NULL;
        }
    }
    int k = vkind_by_name(kind);
    if (k < 0) return PyErr_Format(PyExc_ValueError, "unknown validator kind %R", PyTuple_GET_ITEM(args, 0));
    ValidatorObject *self = (ValidatorObject *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    self->v.kind = (uint8_t)k;
    self->v.arg = arg;
    return (PyObject *)self;
}

static PyObject *validator_call(ValidatorObject *self, PyObject *args, PyObject *kw)
{
    PyObject *value;
    static char *kws[] = {"value", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O:Validator", kws, &value)) return NULL;
    sdpy_state *st = sdpy_state_of_type(Py_TYPE(self));
    if (st == NULL) return NULL;
    sd_pipeline pl = {0};
    pl.nval = 1;
    pl.val[0] = self->v;
    return run_pipeline(st, &pl, value);
}

static PyObject *validator_repr(ValidatorObject *self)
{
    const char *n = sd_vkind_name((sd_vkind)self->v.kind);
    if (self->v.kind == SD_V_MAX_LENGTH || self->v.kind == SD_V_MIN_LENGTH)
        return PyUnicode_FromFormat("<Validator %s(%llu)>", n, (unsigned long long)self->v.arg);
    return PyUnicode_FromFormat("<Validator %s>", n);
}

static PyObject *validator_get_kind(ValidatorObject *self, void *c)
{
    (void)c;
    return PyUnicode_FromString(sd_vkind_name((sd_vkind)self->v.kind));
}

static PyObject *validator_get_arg(ValidatorObject *self, void *c)
{
    (void)c;
    return PyLong_FromUnsignedLongLong(self->v.arg);
}

static PyGetSetDef validator_getset[] = {
    {"kind", (getter)validator_get_kind, NULL, "Name of the rule.", NULL},
    {"arg", (getter)validator_get_arg, NULL, "Argument (length validators), else 0.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static void plain_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyType_Slot validator_slots[] = {
    {Py_tp_new, validator_new},
    {Py_tp_dealloc, plain_dealloc},
    {Py_tp_call, validator_call},
    {Py_tp_repr, validator_repr},
    {Py_tp_getset, validator_getset},
    {Py_tp_doc, "Validator(kind, arg=0)\n\nOne rule of the RFC 3261 grammar (or a length or range). Calling it "
                "with a value returns the value or raises ValidationError (LimitError for lengths)."},
    {0, NULL},
};

/* ---- Sanitizer ---- */

static PyObject *sanitizer_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *kws[] = {"kind", NULL};
    const char *kind;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s:Sanitizer", kws, &kind)) return NULL;
    int k = skind_by_name(kind);
    if (k < 0) return PyErr_Format(PyExc_ValueError, "unknown sanitizer kind %R", PyTuple_GET_ITEM(args, 0));
    SanitizerObject *self = (SanitizerObject *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    self->k = (sd_skind)k;
    return (PyObject *)self;
}

static PyObject *sanitizer_call(SanitizerObject *self, PyObject *args, PyObject *kw)
{
    PyObject *value;
    static char *kws[] = {"value", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O:Sanitizer", kws, &value)) return NULL;
    sdpy_state *st = sdpy_state_of_type(Py_TYPE(self));
    if (st == NULL) return NULL;
    sd_pipeline pl = {0};
    pl.nsan = 1;
    pl.san[0] = (uint8_t)self->k;
    return run_pipeline(st, &pl, value);
}

static PyObject *sanitizer_repr(SanitizerObject *self)
{
    return PyUnicode_FromFormat("<Sanitizer %s>", sd_skind_name(self->k));
}

static PyObject *sanitizer_get_kind(SanitizerObject *self, void *c)
{
    (void)c;
    return PyUnicode_FromString(sd_skind_name(self->k));
}

static PyGetSetDef sanitizer_getset[] = {
    {"kind", (getter)sanitizer_get_kind, NULL, "Name of the sanitizer.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot sanitizer_slots[] = {
    {Py_tp_new, sanitizer_new},
    {Py_tp_dealloc, plain_dealloc},
    {Py_tp_call, sanitizer_call},
    {Py_tp_repr, sanitizer_repr},
    {Py_tp_getset, sanitizer_getset},
    {Py_tp_doc, "Sanitizer(kind)\n\nRewrites a value into a normal form (idempotent). Calling it returns the "
                "sanitized value."},
    {0, NULL},
};

/* ---- ValidationPipeline ---- */

static PyObject *pipeline_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    static char *kws[] = {"validators", "sanitizers", NULL};
    PyObject *vals = NULL, *sans = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|OO:ValidationPipeline", kws, &vals, &sans)) return NULL;
    sdpy_state *st = sdpy_state_of_type(type);
    if (st == NULL) return NULL;
    PyObject *vt = vals ? PySequence_Tuple(vals) : PyTuple_New(0);
    PyObject *stp = vt ? (sans ? PySequence_Tuple(sans) : PyTuple_New(0)) : NULL;
    if (stp == NULL) {
        Py_XDECREF(vt);
        return NULL;
    }
    PipelineObject *self = NULL;
    if (PyTuple_GET_SIZE(vt) > SD_PIPELINE_MAX || PyTuple_GET_SIZE(stp) > SD_PIPELINE_MAX) {
        PyErr_Format(PyExc_ValueError, "a pipeline holds at most %d validators and %d sanitizers", SD_PIPELINE_MAX,
                     SD_PIPELINE_MAX);
        goto fail;
    }
    self = (PipelineObject *)type->tp_alloc(type, 0);
    if (self == NULL) goto fail;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(vt); i++) {
        PyObject *o = PyTuple_GET_ITEM(vt, i);
        if (!PyObject_TypeCheck(o, st->Validator)) {
            PyErr_Format(PyExc_TypeError, "validators[%zd] is not a Validator: %R", i, o);
            goto fail;
        }
        self->pl.val[self->pl.nval++] = ((ValidatorObject *)o)->v;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(stp); i++) {
        PyObject *o = PyTuple_GET_ITEM(stp, i);
        if (!PyObject_TypeCheck(o, st->Sanitizer)) {
            PyErr_Format(PyExc_TypeError, "sanitizers[%zd] is not a Sanitizer: %R", i, o);
            goto fail;
        }
        self->pl.san[self->pl.nsan++] = (uint8_t)((SanitizerObject *)o)->k;
    }
    self->validators = vt;
    self->sanitizers = stp;
    return (PyObject *)self;
fail:
    Py_XDECREF(self);
    Py_DECREF(vt);
    Py_DECREF(stp);
    return NULL;
}

static int pipeline_traverse(PipelineObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->validators);
    Py_VISIT(self->sanitizers);
    return 0;
}

static int pipeline_clear(PipelineObject *self)
{
    Py_CLEAR(self->validators);
    Py_CLEAR(self->sanitizers);
    return 0;
}

static void pipeline_dealloc(PipelineObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    pipeline_clear(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyObject *pipeline_run(PipelineObject *self, PyObject *value)
{
    sdpy_state *st = sdpy_state_of_type(Py_TYPE(self));
    if (st == NULL) return NULL;
    return run_pipeline(st, &self->pl, value);
}

static PyObject *pipeline_call(PipelineObject *self, PyObject *args, PyObject *kw)
{
    PyObject *value;
    static char *kws[] = {"value", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O:ValidationPipeline", kws, &value)) return NULL;
    return pipeline_run(self, value);
}

static PyObject *pipeline_is_valid(PipelineObject *self, PyObject *value)
{
    PyObject *r = pipeline_run(self, value);
    if (r != NULL) {
        Py_DECREF(r);
        Py_RETURN_TRUE;
    }
    sdpy_state *st = sdpy_state_of_type(Py_TYPE(self));
    if (st && (PyErr_ExceptionMatches(st->ValidationError) || PyErr_ExceptionMatches(st->LimitError))) {
        PyErr_Clear();
        Py_RETURN_FALSE;
    }
    return NULL;
}

static PyObject *pipeline_repr(PipelineObject *self)
{
    return PyUnicode_FromFormat("ValidationPipeline(validators=%R, sanitizers=%R)", self->validators,
                                self->sanitizers);
}

static PyMethodDef pipeline_methods[] = {
    {"run", (PyCFunction)pipeline_run, METH_O,
     "run(value) -> sanitized value\n\nSanitizers in order, then validators; raises ValidationError or "
     "LimitError with .reason and .offset (into the sanitized value)."},
    {"is_valid", (PyCFunction)pipeline_is_valid, METH_O, "is_valid(value) -> bool"},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef pipeline_members[] = {
    {"validators", T_OBJECT, offsetof(PipelineObject, validators), READONLY, "The validators (tuple)."},
    {"sanitizers", T_OBJECT, offsetof(PipelineObject, sanitizers), READONLY, "The sanitizers (tuple)."},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot pipeline_slots[] = {
    {Py_tp_new, pipeline_new},
    {Py_tp_dealloc, pipeline_dealloc},
    {Py_tp_traverse, pipeline_traverse},
    {Py_tp_clear, pipeline_clear},
    {Py_tp_call, pipeline_call},
    {Py_tp_repr, pipeline_repr},
    {Py_tp_methods, pipeline_methods},
    {Py_tp_members, pipeline_members},
    {Py_tp_doc, "ValidationPipeline(validators=(), sanitizers=())\n\nSanitizers run first (in order), then "
                "validators; run(value) returns the sanitized value or raises."},
    {0, NULL},
};

static PyType_Spec validator_spec = {"sipdialog.Validator", sizeof(ValidatorObject), 0, Py_TPFLAGS_DEFAULT,
                                     validator_slots};
static PyType_Spec sanitizer_spec = {"sipdialog.Sanitizer", sizeof(SanitizerObject), 0, Py_TPFLAGS_DEFAULT,
                                     sanitizer_slots};
static PyType_Spec pipeline_spec = {"sipdialog.ValidationPipeline", sizeof(PipelineObject), 0,
                                    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC, pipeline_slots};

int sdpy_pipeline_init_types(PyObject *module, sdpy_state *st)
{
    st->Validator = (PyTypeObject *)PyType_FromModuleAndSpec(module, &validator_spec, NULL);
    if (st->Validator == NULL || PyModule_AddType(module, st->Validator) < 0) return -1;
    st->Sanitizer = (PyTypeObject *)PyType_FromModuleAndSpec(module, &sanitizer_spec, NULL);
    if (st->Sanitizer == NULL || PyModule_AddType(module, st->Sanitizer) < 0) return -1;
    st->Pipeline = (PyTypeObject *)PyType_FromModuleAndSpec(module, &pipeline_spec, NULL);
    if (st->Pipeline == NULL || PyModule_AddType(module, st->Pipeline) < 0) return -1;
    return 0;
}

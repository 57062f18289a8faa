"""Sanitizers: rewrite a value into a normal form (each is idempotent)."""
from ._core import Sanitizer

__all__ = ["trim_lws", "canonical_name", "lower"]

trim_lws = Sanitizer("trim_lws")              #: strip surrounding LWS, unfold inner folds
canonical_name = Sanitizer("canonical_name")  #: header name to its long form ('i' -> 'Call-ID')
lower = Sanitizer("lower")                    #: ASCII lower case

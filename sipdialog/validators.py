"""Validators: the building blocks of a :class:`sipdialog.ValidationPipeline`.

Each is a :class:`sipdialog.Validator` that accepts exactly the language
of its RFC 3261 (section 25.1) rule; calling one returns the value or
raises :class:`sipdialog.ValidationError` with ``.reason`` and ``.offset``.
"""
from ._core import Validator

__all__ = ["max_length", "min_length", "token", "word", "quoted_string", "callid", "tag",
           "host", "port", "user", "header_value", "sip_scheme", "status_code", "cseq",
           "method", "uri"]


def max_length(n: int) -> Validator:
    """At most ``n`` bytes (UTF-8); one more raises LimitError."""
    return Validator("max_length", n)


def min_length(n: int) -> Validator:
    """At least ``n`` bytes."""
    return Validator("min_length", n)


token = Validator("token")                  #: token
word = Validator("word")                    #: word
quoted_string = Validator("quoted_string")  #: quoted-string
callid = Validator("callid")                #: callid = word [ "@" word ]
tag = Validator("tag")                      #: tag-param value (token)
host = Validator("host")                    #: hostname / IPv4address / IPv6reference
port = Validator("port")                    #: 1*DIGIT, 0..65535
user = Validator("user")                    #: SIP URI user part
header_value = Validator("header_value")    #: no CTL except HT: no CR, LF or NUL
sip_scheme = Validator("sip_scheme")        #: a sip:, sips: or tel: URI (or name-addr)
status_code = Validator("status_code")      #: 3DIGIT in 100..699
cseq = Validator("cseq")                    #: 1*DIGIT below 2**31
method = Validator("method")                #: Method (token)
uri = Validator("uri")                      #: any URI the parser accepts

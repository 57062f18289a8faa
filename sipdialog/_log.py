"""The logging bridge: the C core's diagnostics go to logger 'sipdialog'.

Records carry the structured fields ``call_id``, ``method``,
``status_code`` and ``reason`` in ``extra`` (None when not applicable).
"""
from __future__ import annotations

import logging

from . import _core

logger = logging.getLogger("sipdialog")


def _emit(level: int, text: str, call_id, method, status_code: int, reason) -> None:
    if logger.isEnabledFor(level):
        logger.log(level, text, extra={
            "call_id": call_id, "method": method,
            "status_code": status_code or None, "reason": reason})


def _install() -> None:
    # The C core checks the level before formatting; DEBUG lets the logger
    # decide (a handler-less logger costs one isEnabledFor call per event).
    _core._set_logger(_emit, logging.DEBUG)


_install()

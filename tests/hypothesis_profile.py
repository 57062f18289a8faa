"""The hypothesis settings of sipdialog's stateful property files.

SIPDIALOG_HYPOTHESIS_PROFILE picks the profile: "...-thorough" runs 20
times as many examples, "...-ci" derandomizes (and keeps no example
database), anything else (default "sipdialog-properties") is the everyday
run.
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

PROFILE = os.environ.get("SIPDIALOG_HYPOTHESIS_PROFILE", "sipdialog-properties")


def stateful_settings(step_count, examples=300):
    """settings for a RuleBasedStateMachine: `examples` runs of up to `step_count` steps."""
    if PROFILE.endswith("-thorough"):
        examples *= 20
    extra = dict(derandomize=True, database=None) if PROFILE.endswith("-ci") else {}
    return settings(
        max_examples=examples,
        stateful_step_count=step_count,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
        **extra,
    )

"""Deterministic fault injection, for the tests that kill a sweep and resume it.

``RNNBENCH_FAULT=POINT:N`` kills this process with SIGKILL the N-th time it reaches POINT:

- ``step``: after a training step, inside a cell;
- ``between``: after a record is stored, before the next cell starts;
- ``write``: half-way through writing a record's file.

A kill at a named point, instead of after a wall-clock delay, makes an interruption test
mean the same thing on a fast machine and a slow one. Unset (always, outside tests), each
point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

_reached: Counter[str] = Counter()


def reach(point: str) -> None:
    """Mark that this process reached ``point``; die here if RNNBENCH_FAULT says so."""
    spec = os.environ.get("RNNBENCH_FAULT")
    if not spec:
        return
    name, _, count = spec.partition(":")
    if name != point:
        return
    _reached[point] += 1
    if _reached[point] == int(count or 1):
        os.kill(os.getpid(), signal.SIGKILL)

"""Errors rnnbench raises on purpose: each message says what is wrong and how to fix it.

The CLI prints these without a traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class RnnbenchError(Exception):
    """Base class of every error the user can fix by changing their input."""


class PluginError(RnnbenchError):
    """A plugin failed to load, broke the hook contract, or clashed with another plugin."""


class ConfigError(RnnbenchError, ValueError):
    """A bad option value, override or command-line argument."""


class DataError(RnnbenchError):
    """Missing, corrupt or malformed data."""


class UnknownNameError(RnnbenchError, KeyError):
    """A name that is not registered; the message lists what exists and suggests the closest."""

    def __str__(self) -> str:  # KeyError would otherwise print the message quoted
        return str(self.args[0])


def unknown_name(kind: str, name: str, known: Iterable[str]) -> UnknownNameError:
    """Build the "unknown X 'name'; did you mean ...?" error used for every registry lookup."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    listing = ", ".join(known) if known else "(none registered)"
    return UnknownNameError(f"unknown {kind} '{name}'.{hint} Known {kind}s: {listing}.")

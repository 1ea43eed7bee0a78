"""Metrics, declared once: what a number means, which way is better, the values it can
take, and how tables and figures show it.

A task declares its metrics (`bench.Task.metrics`, the headline first); every record carries
the declaration, and every formatter, figure and statistic reads it from there. No code
compares a metric's name with a string.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Metric:
    """One metric of a task.

    - ``name``: the key of the metric in evaluation results (``accuracy``, ``mse``).
    - ``higher_is_better``: which way reports rank and bold.
    - ``low``, ``high``: the range of values the metric can take (``[0, 1]``; ``[0, inf)``).
    - ``scale``, ``unit``: what tables show: ``scale`` times the value, followed by ``unit``
      (accuracy: 100 and ``%``).
    - ``short``: the name in narrow column headers (``acc``); defaults to ``name``.
    - ``decimals``: shown with this many decimals (percentages), or None for three
      significant digits (values spanning decades, such as an MSE).
    - ``log_axis``: figures draw it on a log axis (values spanning decades).
    """

    name: str
    higher_is_better: bool
    low: float = -math.inf
    high: float = math.inf
    scale: float = 1.0
    unit: str = ""
    short: str = ""
    decimals: int | None = None
    log_axis: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"a metric needs a non-empty name, got {self.name!r}")
        if not self.low < self.high:
            raise ValueError(f"metric {self.name}: its range [{self.low}, {self.high}] is empty")

    @property
    def label(self) -> str:
        """The header of a column of this metric: ``acc %``, ``mse``."""
        return " ".join(part for part in (self.short or self.name, self.unit) if part)

    @property
    def titled(self) -> str:
        """The metric's name with its unit: ``accuracy %``, ``mse``."""
        return " ".join(part for part in (self.name, self.unit) if part)

    def form(self, detail: bool = False) -> str:
        """The format of a shown value: ``decimals`` (one more with ``detail``, beside a
        confidence interval) or three significant digits."""
        if self.decimals is None:
            return ".3g"
        return f".{self.decimals + (1 if detail else 0)}f"

    def show(self, value: float, detail: bool = False) -> str:
        """``value`` as tables show it (scaled, formatted, without the unit)."""
        return f"{self.scale * value:{self.form(detail)}}"

    def better(self, first: float, second: float) -> bool:
        """Whether ``first`` beats ``second``."""
        return first > second if self.higher_is_better else first < second

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "low": _bound(self.low), "high": _bound(self.high)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Metric:
        return cls(**{**data, "low": float(data["low"]), "high": float(data["high"])})


def _bound(value: float) -> float | str:
    """A range bound as strict JSON: infinities as the strings records use for them."""
    return value if math.isfinite(value) else ("Infinity" if value > 0 else "-Infinity")


ACCURACY = Metric("accuracy", higher_is_better=True, low=0.0, high=1.0, scale=100.0, unit="%", short="acc", decimals=1)
MSE = Metric("mse", higher_is_better=False, low=0.0, log_axis=True)

# What records written before metrics were declared (format 1) meant by a metric's name: they
# carried only the name and, later, its direction.
LEGACY = {metric.name: metric for metric in (ACCURACY, MSE)}


def legacy_metric(name: str, higher_is_better: bool | None) -> Metric:
    """The declaration of a format-1 record's headline metric."""
    known = LEGACY.get(name)
    if known is not None and higher_is_better in (None, known.higher_is_better):
        return known
    return Metric(name, higher_is_better=bool(higher_is_better), log_axis=not higher_is_better)

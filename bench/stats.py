"""How sure each verdict is, computed with scipy.stats (never hand-written formulas).

- Per model: mean, standard deviation (n - 1) and the 95% confidence interval of the mean
  (Student's t with n - 1 degrees of freedom).
- Per pair of models in one experiment: the difference of means (a - b), its 95% CI and
  the p-value of Welch's t-test (unequal variances, Welch-Satterthwaite degrees of freedom).
- Ranking: a model's rank is 1 + the number of models significantly better than it
  (Welch's t-test, p < 0.05), so models whose difference is not significant share a rank.
  With 2-3 seeds per model the test has little power: a shared rank means "not told apart
  by these seeds", not "equal". No correction for multiple comparisons is made.
- Solved fractions of probes: the Wilson 95% interval.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
ALPHA = 0.05  # significance level of the ranking's pairwise tests
NAN = float("nan")
RANKING_NOTE = (
    "Rank: 1 + the number of models significantly better (Welch's t-test on the seeds' test metrics, p < 0.05, "
    "no multiple-comparison correction); models not told apart share a rank. With 2-3 seeds the test has little "
    "power, so shared ranks are common and mean 'not distinguished', not 'equal'."
)


def _finite(values: Sequence[float]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return array[np.isfinite(array)]


def mean_ci(values: Sequence[float]) -> dict[str, float]:
    """``n``, ``mean``, ``std`` and the 95% CI of the mean (NaN bounds below two values)."""
    x = _finite(values)
    n = len(x)
    if n == 0:
        return {"n": 0, "mean": NAN, "std": NAN, "ci_low": NAN, "ci_high": NAN}
    mean = float(x.mean())
    if n == 1:
        return {"n": 1, "mean": mean, "std": NAN, "ci_low": NAN, "ci_high": NAN}
    std = float(x.std(ddof=1))
    if std == 0:
        low = high = mean
    else:
        low, high = stats.t.interval(CONFIDENCE, n - 1, loc=mean, scale=stats.sem(x))
    return {"n": n, "mean": mean, "std": std, "ci_low": float(low), "ci_high": float(high)}


def compare(a: Sequence[float], b: Sequence[float]) -> dict[str, float]:
    """Difference of means ``a - b``, its 95% CI and Welch's p-value (NaN when either side
    has fewer than two values, or both have no spread)."""
    x, y = _finite(a), _finite(b)
    diff = float(x.mean() - y.mean()) if len(x) and len(y) else NAN
    if len(x) < 2 or len(y) < 2 or (x.std() == 0 and y.std() == 0):
        return {"diff": diff, "ci_low": NAN, "ci_high": NAN, "p_value": NAN}
    result = stats.ttest_ind(x, y, equal_var=False)
    interval = result.confidence_interval(CONFIDENCE)
    return {
        "diff": diff,
        "ci_low": float(interval.low),
        "ci_high": float(interval.high),
        "p_value": float(result.pvalue),
    }


def significantly_better(first: Sequence[float], second: Sequence[float], higher_is_better: bool) -> bool:
    """Whether ``first``'s mean beats ``second``'s with Welch's p < ALPHA."""
    result = compare(first, second)
    if math.isnan(result["p_value"]) or result["p_value"] >= ALPHA:
        return False
    return result["diff"] > 0 if higher_is_better else result["diff"] < 0


def ranks(samples: Mapping[str, Sequence[float]], higher_is_better: bool) -> dict[str, int]:
    """Each model's rank: 1 + how many models are significantly better than it."""
    return {
        model: 1
        + sum(significantly_better(other, values, higher_is_better) for name, other in samples.items() if name != model)
        for model, values in samples.items()
    }


def wilson(successes: int, trials: int) -> tuple[float, float]:
    """The Wilson 95% interval of a success rate."""
    if trials == 0:
        return NAN, NAN
    interval = stats.binomtest(successes, trials).proportion_ci(CONFIDENCE, method="wilson")
    return float(interval.low), float(interval.high)

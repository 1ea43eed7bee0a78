"""How sure each verdict is, computed with scipy.stats and statsmodels (never hand-written
formulas). Every choice below is stated where it is made;
docs/explanation/statistics.md says the same in prose, with the reasons.

- **Scale.** A metric's values are analysed on the scale its declared range suggests, so
  that no interval leaves the range: the logit of the position in [low, high] for a
  bounded metric (accuracy), the log of the distance to the bound for a half-bounded one
  (MSE, loss), the values themselves otherwise. Means, intervals and tests are computed
  there and transformed back: the centre of an MSE is its geometric mean.
- **Per model:** the centre and the 95% interval of the mean (Student's t with n - 1 degrees
  of freedom, on that scale). Fewer than two values: no interval.
- **Per pair of models in one experiment:** Student's paired t-test on that scale when the
  models saw the same data at each seed (the task declares it; every built-in task does),
  Welch's t-test otherwise; p-values corrected with Holm's method within the experiment;
  the probability of improvement P(A better than B) over seeds (pairs of seeds when not
  paired), with a bootstrap 95% interval (percentile, 2,000 resamples, fixed seed); and for
  pairs not told apart, the seeds per model that would give 80% power at the observed effect.
- **Failures.** A seed that diverged or failed without a finite test value counts as a
  failure: it loses to every finite value in P(A > B), and takes the worst value observed in
  its experiment in the t-tests. It is never dropped.
- **Solved fractions:** the Wilson 95% interval; pairs compared with Barnard's exact test.
- **Across experiments:** Friedman's test on the models' ranks per experiment, with the
  Nemenyi critical difference (Demšar 2006).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests

from bench.metrics import Metric

CONFIDENCE = 0.95
ALPHA = 0.05  # significance level of every test, after Holm's correction
POWER = 0.8  # the power the seed estimates aim for
# Below this many seeds per model the report warns: with 5 seeds a paired t-test detects an
# effect of about 1.4 standard deviations of the differences with 80% power, and a rank test
# can reach p < 0.05 at all (Mann-Whitney, 3 against 3 seeds, cannot go below p = 0.1).
MIN_SEEDS = 5
# A bounded metric within this share of its range from a bound is analysed at that distance
# (the logit of 0 or 1 is infinite); 1e-4 is below the resolution of any test set here.
CLIP = 1e-4
TINY = 1e-12  # the same for a half-bounded metric at its bound (an MSE of exactly 0)
# Two seeds estimate a spread too poorly to size a study from (one degree of freedom): the
# seeds needed for power are estimated from three values on each side.
MIN_POWER_SEEDS = 3
MAX_POWER_SEEDS = 10_000  # beyond this many seeds per model a pair is reported as undecidable (inf)
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0  # the intervals of P(A > B) are the same on every run
NAN = float("nan")


def scale_of(metric: Metric) -> str:
    """``"logit"``, ``"log"`` or ``"linear"``: where the metric's statistics are computed."""
    if math.isfinite(metric.low) and math.isfinite(metric.high):
        return "logit"
    if math.isfinite(metric.low) or math.isfinite(metric.high):
        return "log"
    return "linear"


def to_scale(values: Sequence[float], metric: Metric) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    kind = scale_of(metric)
    if kind == "logit":
        share = np.clip((x - metric.low) / (metric.high - metric.low), CLIP, 1 - CLIP)
        return np.log(share / (1 - share))
    if kind == "log":
        distance = x - metric.low if math.isfinite(metric.low) else metric.high - x
        return np.log(np.maximum(distance, TINY))
    return x


def from_scale(values: Sequence[float] | float, metric: Metric) -> np.ndarray:
    y = np.asarray(values, dtype=float)
    kind = scale_of(metric)
    if kind == "logit":
        return metric.low + (metric.high - metric.low) / (1 + np.exp(-y))
    if kind == "log":
        return metric.low + np.exp(y) if math.isfinite(metric.low) else metric.high - np.exp(y)
    return y


def finite(values: Sequence[float]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return array[np.isfinite(array)]


def summary(values: Sequence[float], metric: Metric) -> dict[str, float]:
    """``n``, the raw ``mean`` and ``std``, and the ``centre`` with its 95% interval
    (``ci_low``, ``ci_high``) on the metric's scale, transformed back: always inside the
    metric's range. NaN interval below two values; a point interval without spread."""
    x = finite(values)
    n = len(x)
    if n == 0:
        return {"n": 0, "mean": NAN, "std": NAN, "centre": NAN, "ci_low": NAN, "ci_high": NAN}
    y = to_scale(x, metric)
    # values that are all equal are their own centre: at a bound (every seed at 100%) the
    # clipped scale would move it by CLIP
    centre = float(x[0]) if np.ptp(x) == 0 else float(from_scale(y.mean(), metric))
    result = {"n": n, "mean": float(x.mean()), "std": NAN, "centre": centre, "ci_low": NAN, "ci_high": NAN}
    if n < 2:
        return result
    result["std"] = float(x.std(ddof=1))
    if np.ptp(y) == 0:  # no spread (a std computed from equal values may be a rounding error)
        result["ci_low"] = result["ci_high"] = centre
    else:
        low, high = stats.t.interval(CONFIDENCE, n - 1, loc=y.mean(), scale=stats.sem(y))
        result["ci_low"], result["ci_high"] = sorted(float(v) for v in from_scale([low, high], metric))
    return result


def better(first: np.ndarray, second: np.ndarray, metric: Metric) -> np.ndarray:
    """1 where ``first`` beats ``second``, 0.5 for a tie, 0 where it loses (elementwise)."""
    wins = first > second if metric.higher_is_better else first < second
    return np.where(first == second, 0.5, wins.astype(float))


def improvement(a: Sequence[float], b: Sequence[float], metric: Metric, paired: bool) -> dict[str, float]:
    """P(A better than B): over the seeds both have (``paired``), else over every pair of
    seeds; with its bootstrap 95% interval. All three are NaN below two values on either
    side: from one seed a 0 or a 1 would read as a verdict. Failures are -inf or +inf here,
    whichever is worst, and lose to every finite value."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)

    def probability(first: np.ndarray, second: np.ndarray, axis: int = -1) -> np.ndarray:
        if paired:
            return better(first, second, metric).mean(axis=axis)
        return better(first[..., :, None], second[..., None, :], metric).mean(axis=(-2, -1))

    if len(x) < 2 or len(y) < 2:
        return {"p_better": NAN, "p_better_low": NAN, "p_better_high": NAN}
    point = float(probability(x, y))
    interval = stats.bootstrap(
        (x, y),
        probability,
        paired=paired,
        vectorized=True,
        n_resamples=BOOTSTRAP_RESAMPLES,
        confidence_level=CONFIDENCE,
        method="percentile",
        rng=np.random.default_rng(BOOTSTRAP_SEED),
    ).confidence_interval
    return {"p_better": point, "p_better_low": float(interval.low), "p_better_high": float(interval.high)}


def compare(a: Sequence[float], b: Sequence[float], metric: Metric, paired: bool) -> dict[str, float]:
    """The t-test of A against B on the metric's scale (paired: the values are aligned by
    seed): ``shift`` = mean difference A - B there, its 95% interval, and the raw p-value
    (NaN below two values on either side, or without any spread)."""
    x, y = to_scale(a, metric), to_scale(b, metric)
    nan = {"shift": NAN, "shift_low": NAN, "shift_high": NAN, "p_raw": NAN}
    if len(x) < 2 or len(y) < 2:
        return nan
    if paired:
        if np.std(x - y) == 0:
            return {**nan, "shift": float(np.mean(x - y))}
        result = stats.ttest_rel(x, y)
    else:
        if x.std() == 0 and y.std() == 0:
            return {**nan, "shift": float(x.mean() - y.mean())}
        result = stats.ttest_ind(x, y, equal_var=False)
    interval = result.confidence_interval(CONFIDENCE)
    return {
        "shift": float(np.mean(x - y) if paired else x.mean() - y.mean()),
        "shift_low": float(interval.low),
        "shift_high": float(interval.high),
        "p_raw": float(result.pvalue),
    }


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values (statsmodels' multipletests); NaN stays NaN and is not counted."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(len(p), NAN)
    present = np.isfinite(p)
    if present.any():
        adjusted[present] = multipletests(p[present], alpha=ALPHA, method="holm")[1]
    return adjusted.tolist()


def holm_levels(p_values: Sequence[float]) -> list[float]:
    """The level each test must pass in Holm's step-down procedure: ALPHA / (m - i) for the
    i-th smallest p-value (from 0) of m; a missing p-value gets the strictest, ALPHA / m.
    What a planned rerun needs to reach, if the other p-values stay where they are."""
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    levels = [ALPHA / max(m, 1)] * m
    for rank, index in enumerate(np.argsort(np.where(np.isfinite(p), p, np.inf), kind="stable")):
        if np.isfinite(p[index]):
            levels[index] = ALPHA / (m - rank)
    return levels


def seeds_for_power(
    a: Sequence[float], b: Sequence[float], metric: Metric, paired: bool, alpha: float = ALPHA
) -> float:
    """Seeds per model that would give the t-test 80% power at the effect these seeds show
    (on the metric's scale, at level ``alpha``: a pair inside a Holm-corrected family must
    pass the level `holm_levels` gives it); inf when they show none, NaN when they cannot
    say (below MIN_POWER_SEEDS values, or no spread)."""
    x, y = to_scale(a, metric), to_scale(b, metric)
    if len(x) < MIN_POWER_SEEDS or len(y) < MIN_POWER_SEEDS:
        return NAN
    if paired:
        differences = x - y
        spread = differences.std(ddof=1)
    else:
        spread = math.sqrt((x.var(ddof=1) + y.var(ddof=1)) / 2)
    effect = abs(x.mean() - y.mean()) / spread if spread > 0 else NAN
    if not math.isfinite(effect):
        return NAN
    if effect == 0:
        return math.inf
    seeds = np.arange(2, MAX_POWER_SEEDS + 1)
    enough = np.flatnonzero(t_test_power(effect, seeds, alpha, paired) >= POWER)
    return float(seeds[enough[0]]) if len(enough) else math.inf


def t_test_power(effect: float, seeds: np.ndarray, alpha: float, paired: bool) -> np.ndarray:
    """The two-sided t-test's power at standardised ``effect`` with ``seeds`` per model: the
    non-central t distribution's mass beyond the critical values, as statsmodels' TTestPower
    and TTestIndPower compute it, but finite at large non-centrality, where theirs turn NaN."""
    df = seeds - 1 if paired else 2 * seeds - 2
    shift = effect * np.sqrt(seeds if paired else seeds / 2)
    critical = stats.t.ppf(1 - alpha / 2, df)
    # the far tail (a shift the wrong way) is below alpha / 2; scipy returns NaN where it underflows
    return stats.nct.sf(critical, df, shift) + np.nan_to_num(stats.nct.cdf(-critical, df, shift), nan=0.0)


def solved_test(solved_a: int, n_a: int, solved_b: int, n_b: int) -> float:
    """Barnard's exact test of two solved fractions (two-sided); NaN without seeds."""
    if not n_a or not n_b:
        return NAN
    if solved_a * n_b == solved_b * n_a and solved_a in (0, n_a):
        return 1.0  # both none, or both all: nothing to test (Barnard's statistic is undefined)
    table = [[solved_a, n_a - solved_a], [solved_b, n_b - solved_b]]
    return float(stats.barnard_exact(table).pvalue)


def wilson(successes: int, trials: int) -> tuple[float, float]:
    """The Wilson 95% interval of a success rate."""
    if trials == 0:
        return NAN, NAN
    interval = stats.binomtest(successes, trials).proportion_ci(CONFIDENCE, method="wilson")
    return float(interval.low), float(interval.high)


def friedman(ranks: np.ndarray) -> dict[str, object]:
    """Friedman's test across experiments (rows) of models (columns), given each model's rank
    within each experiment (1 = best, ties averaged), and the Nemenyi critical difference of
    mean ranks at ALPHA (Demšar 2006): two models whose mean ranks differ by more are told apart."""
    blocks, models = ranks.shape
    statistic, p = stats.friedmanchisquare(*ranks.T)
    q = stats.studentized_range.ppf(1 - ALPHA, models, np.inf) / math.sqrt(2)
    return {
        "mean_ranks": ranks.mean(axis=0),
        "statistic": float(statistic),
        "p_value": float(p),
        "critical_difference": float(q * math.sqrt(models * (models + 1) / (6 * blocks))),
        "experiments": blocks,
    }

"""Welch's two-sample t-test, in pure Python so the driver stays stdlib-only (no scipy).

The Student t distribution is reached through the regularized incomplete beta function:
for ``df`` degrees of freedom, P(|T| > t) = I_x(df/2, 1/2) with x = df / (df + t**2).
I_x is evaluated with its continued fraction (modified Lentz's method), the standard
approach of Numerical Recipes' ``betai``/``betacf``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import fmean, variance

_MAX_ITERATIONS = 10_000  # needs about sqrt(max(a, b)) steps; huge df stays cheap
_EPSILON = 1e-15  # relative accuracy of the continued fraction, near double precision
_TINY = 1e-300  # stands in for zero so Lentz's method never divides by zero


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of I_x(a, b), by the modified Lentz's method."""
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    result = d
    for m in range(1, _MAX_ITERATIONS + 1):
        # Each step applies an even then an odd term of the fraction.
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            delta = c * d
            result *= delta
        if abs(delta - 1.0) < _EPSILON:
            return result
    raise ArithmeticError(f"incomplete beta did not converge for a={a}, b={b}, x={x}")


def regularized_incomplete_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b) for a, b > 0 and 0 <= x <= 1."""
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"x must be in [0, 1], got {x}")
    if x in (0.0, 1.0):
        return x
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))  # fmt: skip
    # The fraction converges fast only below its mean; above it, use the symmetry
    # I_x(a, b) = 1 - I_{1-x}(b, a).
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_continued_fraction(b, a, 1.0 - x) / b


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with ``df`` degrees of freedom."""
    if math.isinf(t):
        return 0.0
    return regularized_incomplete_beta(df / 2.0, 0.5, df / (df + t * t))


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` (> 0, not necessarily whole) degrees of freedom."""
    tail = t_two_sided_p(t, df) / 2.0
    return 1.0 - tail if t > 0 else tail


def welch_t_test(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """(t, two-sided p) of Welch's test that ``a`` and ``b`` have the same mean.

    t is (mean(a) - mean(b)) / standard error, the sign convention of scipy's ttest_ind.
    Both samples need at least two values. When neither sample varies the test is
    degenerate: equal means give p = 1.0, different means p = 0.0.
    """
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"need at least 2 values per sample, got {len(a)} and {len(b)}")
    mean_a, mean_b = fmean(a), fmean(b)
    var_a, var_b = variance(a, mean_a) / len(a), variance(b, mean_b) / len(b)
    if var_a + var_b == 0.0:
        if mean_a == mean_b:
            return 0.0, 1.0
        return math.copysign(math.inf, mean_a - mean_b), 0.0
    t = (mean_a - mean_b) / math.sqrt(var_a + var_b)
    # Welch-Satterthwaite: the degrees of freedom of the combined variance estimate.
    df = (var_a + var_b) ** 2 / (var_a**2 / (len(a) - 1) + var_b**2 / (len(b) - 1))
    return t, t_two_sided_p(t, df)

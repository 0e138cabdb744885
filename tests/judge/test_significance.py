"""Welch's t-test and the Student t distribution behind it, against closed forms and tables."""

from __future__ import annotations

import math
import re

import pytest

from loadlab.judge.significance import (
    regularized_incomplete_beta,
    t_cdf,
    t_two_sided_p,
    welch_t_test,
)


def closed_form_cdf(t: float, df: int) -> float:
    """Student's t CDF for whole df by the finite series of Abramowitz & Stegun 26.7.3-4."""
    theta = math.atan(t / math.sqrt(df))
    s, c = math.sin(theta), math.cos(theta)
    if df == 1:
        inside = 2 * theta / math.pi
    elif df % 2 == 0:
        term = total = 1.0
        for k in range(1, df // 2):
            term *= (2 * k - 1) / (2 * k) * c * c
            total += term
        inside = s * total
    else:
        term = total = 1.0
        for k in range(1, (df - 1) // 2):
            term *= (2 * k) / (2 * k + 1) * c * c
            total += term
        inside = 2 / math.pi * (theta + s * c * total)
    return 0.5 + inside / 2  # inside = P(-t < T < t), signed like t


@pytest.mark.parametrize("df", [1, 2, 5, 30])
@pytest.mark.parametrize("t", [-4.0, -1.5, -0.3, 0.0, 0.3, 1.0, 2.0, 3.5, 12.0])
def test_t_cdf_matches_closed_form(df: int, t: float) -> None:
    """The continued-fraction CDF agrees with the exact finite series to 1e-6."""
    assert t_cdf(t, df) == pytest.approx(closed_form_cdf(t, df), abs=1e-6)


@pytest.mark.parametrize(
    ("df", "t", "cdf"),
    [
        (1, 1.0, 0.75),  # Cauchy: 1/2 + atan(1)/pi
        (1, 12.706204736174707, 0.975),  # two-sided 5 % critical values, as in printed tables
        (2, 4.302652729749464, 0.975),
        (5, 2.570581835636314, 0.975),
        (30, 2.042272456301238, 0.975),
        (30, 2.749995653567, 0.995),
    ],
)
def test_t_cdf_matches_table_values(df: int, t: float, cdf: float) -> None:
    """Well-known critical values of the t table land on their tail probabilities."""
    assert t_cdf(t, df) == pytest.approx(cdf, abs=1e-6)


def test_t_cdf_is_symmetric_and_handles_fractional_df() -> None:
    """CDF(-t) = 1 - CDF(t), also for the fractional df Welch's test produces."""
    for df in (1, 3.7, 12.25, 200):
        for t in (0.1, 1.3, 2.9):
            assert t_cdf(-t, df) == pytest.approx(1 - t_cdf(t, df), abs=1e-12)
            assert t_two_sided_p(t, df) == pytest.approx(2 * t_cdf(-t, df), abs=1e-12)


def test_incomplete_beta_special_cases() -> None:
    """I_x(1, 1) = x, I_x(a, 1) = x**a and I_0.5(a, a) = 1/2, on both sides of the switch."""
    for x in (0.0, 0.05, 0.4, 0.6, 0.95, 1.0):
        assert regularized_incomplete_beta(1, 1, x) == pytest.approx(x, abs=1e-12)
        assert regularized_incomplete_beta(3.5, 1, x) == pytest.approx(x**3.5, abs=1e-12)
    assert regularized_incomplete_beta(7.3, 7.3, 0.5) == pytest.approx(0.5, abs=1e-12)
    with pytest.raises(ValueError):
        regularized_incomplete_beta(1, 1, 1.5)


def test_welch_known_value() -> None:
    """[1,2,3] vs [4,5,6]: t = -3/sqrt(2/3), df = 4, p from the df=4 closed form."""
    t, p = welch_t_test([1, 2, 3], [4, 5, 6])
    assert t == pytest.approx(-3 / math.sqrt(2 / 3), abs=1e-12)
    assert p == pytest.approx(2 * closed_form_cdf(t, 4), abs=1e-9)
    assert p == pytest.approx(0.021311641128756727, abs=1e-6)


def test_welch_unequal_variances_uses_welch_satterthwaite_df() -> None:
    """Unequal sizes and variances: p follows from the Welch-Satterthwaite df."""
    a, b = [10.0, 12.0, 11.0, 13.0], [20.0, 25.0, 15.0]
    va, vb = (5 / 3) / 4, 25.0 / 3
    df = (va + vb) ** 2 / (va**2 / 3 + vb**2 / 2)
    t, p = welch_t_test(a, b)
    assert t == pytest.approx((11.5 - 20.0) / math.sqrt(va + vb), abs=1e-12)
    assert p == pytest.approx(2 * t_cdf(-abs(t), df), abs=1e-12)


def test_welch_is_antisymmetric() -> None:
    """Swapping the samples negates t and keeps p; identical samples give t = 0, p = 1."""
    a, b = [100.0, 102.0, 98.0], [90.0, 95.0, 91.0, 93.0]
    t_ab, p_ab = welch_t_test(a, b)
    t_ba, p_ba = welch_t_test(b, a)
    assert (t_ba, p_ba) == pytest.approx((-t_ab, p_ab))
    assert welch_t_test(a, list(a)) == pytest.approx((0.0, 1.0))


def test_welch_zero_variance() -> None:
    """Constant samples: equal means give p = 1, different means p = 0 (and an infinite t)."""
    assert welch_t_test([5.0, 5.0], [5.0, 5.0, 5.0]) == (0.0, 1.0)
    t, p = welch_t_test([5.0, 5.0], [6.0, 6.0])
    assert (t, p) == (-math.inf, 0.0)
    _, p_one_constant = welch_t_test([5.0, 5.0, 5.0], [6.0, 6.5, 5.5])
    assert 0.0 < p_one_constant < 1.0


def test_welch_needs_two_values_per_sample() -> None:
    """A single value has no variance estimate, so the test refuses it."""
    with pytest.raises(ValueError, match="at least 2"):
        welch_t_test([1.0], [1.0, 2.0])


@pytest.mark.parametrize(
    ("a", "b", "x"),
    [
        (1, 1e6, 0.5),  # far above the mean (2e-6): I = 1 - 0.5**1e6, all but exactly 1
        (1, 1000, 1e-9),  # far below the mean: I is about 1e-6, no cancellation allowed
        (1, 10, 1e-9),
    ],
)
def test_incomplete_beta_keeps_its_closed_form_far_into_either_tail(
    a: float, b: float, x: float
) -> None:
    """I_x(1, b) = 1 - (1 - x)**b to 1e-9 relative, also where only one side of the symmetry
    I_x(a, b) = 1 - I_{1-x}(b, a) converges or keeps its precision."""
    exact = -math.expm1(b * math.log1p(-x))
    assert regularized_incomplete_beta(a, b, x) == pytest.approx(exact, rel=1e-9)


@pytest.mark.parametrize("t", [1e4, 1e6])
def test_cauchy_far_tail_two_sided_p(t: float) -> None:
    """df = 1 (two tight samples of two values each) far out: p = 1 - 2/pi atan(t), about
    6.4e-5 at t = 1e4, not a failure to converge."""
    assert t_two_sided_p(t, 1) == pytest.approx(1 - 2 / math.pi * math.atan(t), rel=1e-9)


def test_an_infinite_t_has_no_tail() -> None:
    """t = +-inf (the means differ and nothing varies) is as significant as can be: p = 0."""
    assert t_two_sided_p(math.inf, 3) == 0.0
    assert t_two_sided_p(-math.inf, 2.5) == 0.0


def test_incomplete_beta_names_what_it_refuses() -> None:
    """An x outside [0, 1] is refused with a message naming it, not a math domain error."""
    for x in (1.5, 2.0, -0.25):
        with pytest.raises(ValueError, match=rf"x must be in \[0, 1\], got {x}"):
            regularized_incomplete_beta(1, 1, x)


def test_a_fraction_that_does_not_converge_says_for_which_parameters() -> None:
    """Absurd parameters (a = b = 1e15) exhaust the iteration cap: an ArithmeticError naming
    a, b and x instead of a wrong number or an endless loop."""
    named = re.escape(f"did not converge for a={1e15}, b={1e15}, x=0.5")
    with pytest.raises(ArithmeticError, match=named):
        regularized_incomplete_beta(1e15, 1e15, 0.5)

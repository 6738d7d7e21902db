"""The Cython backend's SIMD passes: every implementation this CPU runs (scalar, AVX2,
AVX-512) against the exact definitions, not only the widest one the kernel picks.

The allocation tests run the widest only; these reach the narrower ones, and the vector
loops' scalar tails (lengths that are not a multiple of the vector width).
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastata.kernels import threshold

cython_cpu = pytest.importorskip("fastata.kernels.cython_cpu")
LEVELS = cython_cpu.simd_levels()
DBL_MAX = threshold.DBL_MAX

# Per-task times over the whole contract's range, with small values whose products tie.
lam_values = st.one_of(
    st.floats(min_value=1e-300, max_value=1e300),
    st.floats(min_value=5e-324, max_value=1e-300),  # subnormal or nearly: 1/lam overflows
    st.floats(min_value=0.25, max_value=4.0),
    st.sampled_from([0.1, 0.3, 1.0, 1.5, 3.0, 1 / 3, 2.0**-20, math.inf]),
)
lam_arrays = st.lists(lam_values, min_size=0, max_size=41).map(lambda v: np.array(v, dtype=np.float64))


def exact_counts(lam, t, budget):
    """Worker i's keys with product ``<= t``, capped at ``budget``: the definition, one by one."""
    return np.array([threshold.count_le(x, t, budget) for x in lam], dtype=np.int64)


@st.composite
def count_problems(draw):
    lam = draw(lam_arrays)
    # Around 2**52 the AVX2 pass hands over to the scalar one: cover both sides.
    budget = draw(st.one_of(st.integers(0, 2000), st.sampled_from([2**52 - 1, 2**52, 2**53 - 7])))
    finite = lam[np.isfinite(lam)]
    if finite.size and draw(st.booleans()):
        # A threshold at some key's product or a float next to it: there t / lam rounds
        # onto or off an integer, and the one-step corrections decide the count.
        t = float(draw(st.integers(1, 1000)) * draw(st.sampled_from(list(finite))))
        t = float(np.nextafter(t, draw(st.sampled_from([0.0, t, math.inf]))))
    else:
        t = draw(st.one_of(st.floats(min_value=0.0, max_value=DBL_MAX), st.floats(0.0, 1e4)))
    return lam, min(t, DBL_MAX), budget


def test_levels_are_named_widest_last():
    assert LEVELS[0] == "scalar"
    assert list(LEVELS) == [name for name in ("scalar", "avx2", "avx512") if name in LEVELS]


@pytest.mark.parametrize("level", LEVELS)
@given(problem=count_problems())
def test_count_pass_is_exact(level, problem):
    lam, t, budget = problem
    if budget * lam.size >= 4e18:
        return  # the kernel takes the saturating scalar loop instead
    expected = exact_counts(lam, t, budget)
    out = np.full(lam.size, -1, dtype=np.int64)
    total = cython_cpu.count_prefix_with(level, lam, t, budget, out)
    np.testing.assert_array_equal(out, expected)
    assert total == expected.sum()


@pytest.mark.parametrize("level", LEVELS)
@given(lam=st.lists(st.one_of(lam_values, st.sampled_from([0.0, -0.0, -1.0, math.nan, -math.inf])), max_size=41))
def test_inverse_sum_counts_bad_and_finite_entries(level, lam):
    lam = np.array(lam, dtype=np.float64)
    total, n_bad, n_finite = cython_cpu.inverse_sum_with(level, lam)
    assert n_bad == int(np.sum(~(lam > 0.0)))
    assert n_finite == int(np.sum(lam < math.inf))
    if n_bad == 0 and np.all(lam > 1e-300):
        assert total == pytest.approx(math.fsum(1.0 / lam), rel=1e-13)
    elif n_bad == 0:
        with np.errstate(over="ignore"):  # 1/lam may overflow: then the sum is inf too
            assert total == pytest.approx(np.sum(1.0 / lam), rel=1e-13)


@pytest.mark.parametrize("level", LEVELS)
def test_count_pass_at_many_boundaries(level):
    """Thresholds at products ``j * lam_k`` and the floats either side, where ``t / lam``
    rounds onto or off an integer, in vectors of every length around the vector widths."""
    rng = np.random.default_rng(11)
    for trial in range(3000):
        n = int(rng.integers(1, 42))
        lam = rng.lognormal(0.0, 1.0, n) if trial % 2 else rng.uniform(0.25, 4.0, n)
        t = float(rng.integers(1, 1000) * lam[rng.integers(n)])
        t = float(np.nextafter(t, (0.0, t, np.inf)[trial % 3]))
        budget = int(rng.integers(1, 2000))
        out = np.empty(n, dtype=np.int64)
        cython_cpu.count_prefix_with(level, lam, t, budget, out)
        np.testing.assert_array_equal(out, exact_counts(lam, t, budget), err_msg=f"t={t!r}, lam={lam!r}")


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("idx_is_lo", [False, True])
def test_boundary_pass_lists_the_workers_with_keys_up_to_hi(level, idx_is_lo):
    """select_between's pass: ``out = lo`` and the workers whose next key is ``<= hi_t``,
    in index order, also when the list overwrites ``lo`` as the kernel does."""
    rng = np.random.default_rng(5)
    for trial in range(500):
        n = int(rng.integers(1, 42))
        lam = rng.uniform(0.25, 4.0, n)
        budget = int(rng.integers(1, 300))
        t = float(rng.uniform(0.0, 60.0))
        lo = exact_counts(lam, t, budget)
        hi_t = t * float(rng.choice([1.0, 1.01, 1.2, 3.0]))
        nxt = (lo + 1).astype(np.float64)
        expected = np.flatnonzero((lo < budget) & (nxt * lam <= hi_t))
        out = np.full(n, -1, dtype=np.int64)
        lo_given = lo.copy()
        idx = lo_given if idx_is_lo else np.full(n, -1, dtype=np.int64)
        m = cython_cpu.boundary_with(level, lam, lo_given, hi_t, budget, out, idx)
        np.testing.assert_array_equal(out, lo)
        np.testing.assert_array_equal(idx[:m], expected)


@pytest.mark.parametrize("level", LEVELS)
def test_passes_agree_at_scale(level):
    """A long log-normal vector, as the benchmarks use: every implementation, same counts."""
    lam = np.random.default_rng(7).lognormal(0.0, 0.5, 10_007)
    budget = 40_000
    t = (budget + 0.5 * lam.size) / np.sum(1.0 / lam)
    out = np.empty(lam.size, dtype=np.int64)
    reference = np.empty(lam.size, dtype=np.int64)
    cython_cpu.count_prefix_with("scalar", lam, t, budget, reference)
    assert cython_cpu.count_prefix_with(level, lam, t, budget, out) == reference.sum()
    np.testing.assert_array_equal(out, reference)
    np.testing.assert_array_equal(reference[:50], exact_counts(lam[:50], t, budget))


def test_unknown_level_is_refused():
    with pytest.raises(ValueError, match="level must be one of"):
        cython_cpu.inverse_sum_with("sse9", np.ones(3))

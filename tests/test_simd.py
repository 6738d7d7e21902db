"""The Cython backend's SIMD passes: every implementation this CPU runs (scalar, AVX2,
AVX-512) against the exact definitions, not only the widest one the kernel picks.

The allocation tests run the widest only; these reach the narrower ones, and the vector
loops' scalar tails (lengths that are not a multiple of the vector width).
"""

import itertools
import math
import platform
import re
import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fastata.kernels import threshold
from oracle import is_canonical, sample_batches

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


def inverse(lam):
    """``1/lam`` as the validation pass writes it: a negative zero is a zero worker, ``+inf``."""
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return 1.0 / (lam + 0.0)


def exact_extremes(lam, t, budget):
    """The smallest product of a key above ``t`` and the largest at or below it, one by one."""
    counts = exact_counts(lam, t, budget)
    with np.errstate(over="ignore", invalid="ignore"):
        above = [(c + 1) * x for c, x in zip(counts, lam) if c < budget]
        below = [c * x for c, x in zip(counts, lam) if c > 0]
    return min(above, default=math.inf), max(below, default=0.0)


@st.composite
def count_problems(draw):
    lam = draw(lam_arrays)
    # The passes from 1/lam serve budgets below 2**51: cover up to that edge.
    budget = draw(st.one_of(st.integers(0, 2000), st.sampled_from([2**40, 2**51 - 1])))
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
    lam = lam[inverse(lam) < math.inf]  # the passes from 1/lam run only where it is finite
    expected = exact_counts(lam, t, budget)
    out = np.full(lam.size, -1, dtype=np.int64)
    total = cython_cpu.count_into_with(level, lam, inverse(lam), t, budget, out)
    np.testing.assert_array_equal(out, expected)
    assert_float_sum(total, expected)
    # The same pass that also finds the products next to t.
    out[:] = -1
    total, above, below = cython_cpu.extremes_with(level, lam, inverse(lam), t, budget, out)
    np.testing.assert_array_equal(out, expected)
    assert_float_sum(total, expected)
    assert (above, below) == exact_extremes(lam, t, budget)


def assert_float_sum(total, counts):
    """The pass sums in float64: exact below 2**53, and above it still above any budget."""
    exact = int(counts.sum())
    if exact < 2**53:
        assert total == exact
    else:
        assert total >= 2**53


@pytest.mark.parametrize("level", LEVELS)
@given(lam=st.lists(st.one_of(lam_values, st.sampled_from([0.0, -0.0, -1.0, math.nan, -math.inf])), max_size=41))
def test_inverse_pass_counts_bad_zero_and_finite_entries(level, lam):
    lam = np.array(lam, dtype=np.float64)
    inv = np.full(lam.size, -7.0)
    total, n_invalid, n_zero, n_finite, nothing, none, top = cython_cpu.inverse_with(level, lam, inv)
    assert n_invalid == int(np.sum(~(lam >= 0.0)))
    assert n_zero == int(np.sum(lam == 0.0))
    assert n_finite == int(np.sum(lam < math.inf))
    np.testing.assert_array_equal(inv, inverse(lam))
    with np.errstate(invalid="ignore"):
        assert top == max([0.0] + [v for v in inverse(lam) if v > 0.0])  # the fastest worker's 1/lam
    positive = lam[lam > 0.0]  # the sum leaves lam = 0 out
    if n_invalid == 0 and np.all(positive > 1e-300):
        assert total == pytest.approx(math.fsum(1.0 / positive), rel=1e-13)
    elif n_invalid == 0:
        with np.errstate(over="ignore"):  # 1/lam may overflow: then the sum is inf too
            assert total == pytest.approx(np.sum(1.0 / positive), rel=1e-13)


@pytest.mark.parametrize("level", LEVELS)
@given(problem=count_problems())
def test_split_pass_at_a_product(level, problem):
    """The tie pass at ``t*``: each worker's keys below it, or ``-j`` for a key at it at level ``j``."""
    lam, t, budget = problem
    lam = lam[inverse(lam) < math.inf]
    counts = exact_counts(lam, t, budget)
    with np.errstate(over="ignore", invalid="ignore"):
        tied = (counts > 0) & (counts * lam == t)
    out = np.full(lam.size, -7, dtype=np.int64)
    taken, n_tied, j_min, j_max, level_sum = cython_cpu.split_with(level, lam, inverse(lam), t, budget, out)
    np.testing.assert_array_equal(out, np.where(tied, -counts, counts))  # -j marks a key at t*
    assert_float_sum(taken, counts - tied)
    assert n_tied == tied.sum()
    assert (j_min, j_max) == ((counts[tied].min(), counts[tied].max()) if tied.any() else (math.inf, 0.0))
    assert_float_sum(level_sum, np.where(tied, counts, 0))


@pytest.mark.parametrize("level", LEVELS)
@given(problem=count_problems(), seed=st.integers(0, 2**16))
def test_split_pass_with_bounds(level, problem, seed):
    """The tie pass with per-worker bounds: worker i owns the keys ``min_i + 1 .. max_i``, so
    its count is clamped to them and a key at ``t*`` is tied only above its minimum."""
    lam, t, budget = problem
    lam = lam[inverse(lam) < math.inf]
    rng = np.random.default_rng(seed)
    low = rng.integers(0, 4, lam.size)
    high = low + rng.integers(0, 6, lam.size)
    counts = np.maximum(np.minimum(exact_counts(lam, t, budget), np.minimum(high, budget)), low)
    with np.errstate(over="ignore", invalid="ignore"):
        tied = (counts > low) & (counts * lam == t)
    out = np.full(lam.size, -7, dtype=np.int64)
    taken, n_tied, j_min, j_max, level_sum = cython_cpu.split_with(level, lam, inverse(lam), t, budget, out, low, high)
    np.testing.assert_array_equal(out, np.where(tied, -counts, counts))
    assert_float_sum(taken, counts - tied)
    assert n_tied == tied.sum()
    assert (j_min, j_max) == ((counts[tied].min(), counts[tied].max()) if tied.any() else (math.inf, 0.0))
    assert_float_sum(level_sum, np.where(tied, counts, 0))


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
        cython_cpu.count_into_with(level, lam, 1.0 / lam, t, budget, out)
        np.testing.assert_array_equal(out, exact_counts(lam, t, budget), err_msg=f"t={t!r}, lam={lam!r}")


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("idx_is_lo", [False, True])
@pytest.mark.parametrize("bounded", [False, True])
def test_boundary_pass_lists_the_workers_with_keys_up_to_hi(level, idx_is_lo, bounded):
    """select_between's pass: ``out = lo`` and the workers whose next key is ``<= hi_t`` (and
    within their maximum, with bounds), in index order, also when the list overwrites ``lo``
    as the kernel does."""
    rng = np.random.default_rng(5)
    for trial in range(500):
        n = int(rng.integers(1, 42))
        lam = rng.uniform(0.25, 4.0, n)
        budget = int(rng.integers(1, 300))
        t = float(rng.uniform(0.0, 60.0))
        lo = exact_counts(lam, t, budget)
        high = lo + rng.integers(0, 3, n) if bounded else None
        hi_t = t * float(rng.choice([1.0, 1.01, 1.2, 3.0]))
        nxt = (lo + 1).astype(np.float64)
        cap = budget if high is None else np.minimum(high, budget)
        expected = np.flatnonzero((lo < cap) & (nxt * lam <= hi_t))
        out = np.full(n, -1, dtype=np.int64)
        lo_given = lo.copy()
        idx = lo_given if idx_is_lo else np.full(n, -1, dtype=np.int64)
        m = cython_cpu.boundary_with(level, lam, lo_given, hi_t, budget, out, idx, high)
        np.testing.assert_array_equal(out, lo)
        np.testing.assert_array_equal(idx[:m], expected)


@pytest.mark.parametrize("level", LEVELS)
def test_count_and_list_pass_counts_and_lists_in_one(level):
    """The counting pass fused with select_between's listing (the estimates' narrow bracket):
    the exact counts at ``t`` and, in index order, the workers whose next key is ``<= hi_t``."""
    rng = np.random.default_rng(11)
    for trial in range(500):
        n = int(rng.integers(1, 42))
        lam = rng.choice([rng.uniform(0.25, 4.0, n), rng.choice([1.0, 2.0, 3.0, math.inf], n)])
        budget = int(rng.integers(1, 300))
        t = float(rng.uniform(0.0, 60.0))
        hi_t = t * float(rng.choice([1.0, 1.01, 1.2, 3.0]))
        counts = exact_counts(lam, t, budget)
        with np.errstate(invalid="ignore"):
            expected = np.flatnonzero((counts < budget) & ((counts + 1.0) * lam <= hi_t))
        out = np.full(n, -1, dtype=np.int64)
        idx = np.full(n, -1, dtype=np.int64)
        total, m = cython_cpu.count_list_with(level, lam, inverse(lam), t, budget, hi_t, out, idx)
        assert total == counts.sum()
        np.testing.assert_array_equal(out, counts)
        np.testing.assert_array_equal(idx[:m], expected)


@pytest.mark.parametrize("level", LEVELS)
def test_count_and_list_pass_with_bounds(level):
    """The fused pass with per-worker bounds (the narrow bracket of a bounded call): counts
    clamped to ``[min_i, min(max_i, budget)]``, and listed only the workers whose next key
    is one they own; ``lam = 0`` workers count their maximum, unavailable ones nothing."""
    rng = np.random.default_rng(12)
    for trial in range(500):
        n = int(rng.integers(1, 42))
        lam = rng.choice([rng.uniform(0.25, 4.0, n), rng.choice([1.0, 2.0, 3.0, math.inf], n)])
        lam[rng.random(n) < 0.1] = 0.0
        budget = int(rng.integers(1, 300))
        low = np.where(lam < math.inf, rng.integers(0, 4, n), 0)
        high = low + rng.integers(0, 6, n) + rng.choice([0, 2**40], n, p=[0.8, 0.2])
        t = float(rng.uniform(0.01, 60.0))
        hi_t = t * float(rng.choice([1.0, 1.01, 1.2, 3.0]))
        cap = np.minimum(high, budget)
        unbounded = np.where(lam == 0.0, cap, exact_counts(np.where(lam == 0.0, 1.0, lam), t, budget))
        counts = np.maximum(np.minimum(unbounded, cap), low)
        with np.errstate(invalid="ignore"):
            expected = np.flatnonzero((counts < cap) & ((counts + 1.0) * lam <= hi_t))
        out = np.full(n, -1, dtype=np.int64)
        idx = np.full(n, -1, dtype=np.int64)
        total, m = cython_cpu.count_list_with(level, lam, inverse(lam), t, budget, hi_t, out, idx,
                                              low.astype(np.int64), high.astype(np.int64))
        assert total == counts.sum()
        np.testing.assert_array_equal(out, counts)
        np.testing.assert_array_equal(idx[:m], expected)


@st.composite
def divided_problems(draw):
    """Counts by division: budgets up to ``2**53``, thresholds at or next to a product far up
    a worker's keys (where ``fl(j * lam)`` and ``fl((j - 1) * lam)`` can be one float), workers
    at ``lam = 0``, ``-0.0`` and ``+inf``, and bounds (both or neither) up to the budget."""
    lam = draw(st.lists(st.one_of(lam_values, st.sampled_from([0.0, -0.0])), min_size=0, max_size=41))
    lam = np.array(lam, dtype=np.float64)
    budget = draw(st.one_of(st.sampled_from([2**51, 2**52 + 7, 2**53 - 1, 2**53]), st.integers(0, 2**53)))
    finite = lam[(lam > 0.0) & (lam < math.inf)]
    if finite.size and draw(st.booleans()):
        j = draw(st.one_of(st.integers(1, 2**53), st.integers(2**52 - 4, 2**53)))
        with np.errstate(over="ignore"):
            t = float(np.nextafter(j * draw(st.sampled_from(list(finite))), draw(st.sampled_from([0.0, math.inf, 1.0]))))
    else:
        t = draw(st.floats(min_value=0.0, max_value=DBL_MAX))
    low = high = None
    if draw(st.booleans()):
        rng = np.random.default_rng(draw(st.integers(0, 2**16)))
        high = rng.integers(0, budget + 1, lam.size).astype(np.int64)
        low = np.where(lam < math.inf, np.minimum(rng.integers(0, 4, lam.size), high), 0).astype(np.int64)
    return lam, min(t, DBL_MAX), budget, low, high


def divided_counts(lam, t, budget, low, high):
    """The exact clamped counts of the division passes, one worker at a time."""
    cap = np.full(lam.size, budget, np.int64) if high is None else np.minimum(high, budget)
    floor = np.zeros(lam.size, np.int64) if low is None else low
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        counts = [int(c) if x == 0.0 else threshold.count_le(x, t, int(c)) for x, c in zip(lam, cap)]
    return np.maximum(np.array(counts, dtype=np.int64), floor), cap, floor


@pytest.mark.parametrize("level", LEVELS)
@given(problem=divided_problems(), limit=st.sampled_from([2**62, 2**53, 12345]))
def test_division_pass_is_exact_up_to_the_largest_budgets(level, problem, limit):
    """The counts from ``2**51`` tasks: every implementation against the definitions, and
    against the kernel in plain Python; the sum exact past ``2**53`` (saturated at limit),
    where a float sum would round."""
    lam, t, budget, low, high = problem
    counts, cap, floor = divided_counts(lam, t, budget, low, high)
    with np.errstate(over="ignore", invalid="ignore"):
        above = min([(c + 1) * x for c, x, k in zip(counts, lam, cap) if c < k], default=math.inf)
        below = max([c * x for c, x, k in zip(counts, lam, floor) if c > k], default=0.0)
    expected = (min(sum(int(c) for c in counts), limit), above, below)
    out = np.full(lam.size, -7, dtype=np.int64)
    assert cython_cpu.divided_with(level, lam, t, budget, limit, out, low, high) == expected
    np.testing.assert_array_equal(out, counts)
    out[:] = -7
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        assert threshold.count_into_divided(lam, t, budget, limit, out, low, high) == expected
    np.testing.assert_array_equal(out, counts)


@pytest.mark.parametrize("level", LEVELS)
@given(problem=divided_problems())
def test_split_by_division_marks_or_says_crowded(level, problem):
    """The tie pass by division: ``-j`` for a worker's one key at ``t*``; a worker with two or
    more there (counts from about ``2**52``) makes the pass say so, for the bisection."""
    lam, t, budget, low, high = problem
    counts, cap, floor = divided_counts(lam, t, budget, low, high)
    with np.errstate(over="ignore", invalid="ignore"):
        tied = (counts > floor) & (counts * lam == t)
        crowded = bool(np.any(tied & (counts - 1 > floor) & ((counts - 1) * lam == t)))
    out = np.full(lam.size, -7, dtype=np.int64)
    found = cython_cpu.split_divided_with(level, lam, t, budget, out, low, high)
    plain = np.full(lam.size, -7, dtype=np.int64)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        taken, n_tied, plain_crowded = threshold.split_divided(lam, t, budget, plain, low, high)
    levels = (int(counts[tied].min()), int(counts[tied].max())) if tied.any() else (0, 0)
    expected = (min(sum(int(c) for c in counts - tied), 2**62), int(tied.sum()), *levels, crowded)
    assert found == expected
    assert (taken, n_tied, plain_crowded) == (expected[0], expected[1], crowded)
    np.testing.assert_array_equal(out, np.where(tied, -counts, counts))
    np.testing.assert_array_equal(plain, out)


@pytest.mark.parametrize("level", LEVELS)
def test_split_by_division_finds_a_crowded_product(level):
    """``fl(j * 0.3)`` is one float for ``j = 2**53 - 18`` and the ``j`` below it: that worker
    owns two keys at that ``t*``; one key a worker a product further down."""
    lam = np.array([0.3, 0.7, 0.3])
    j = 2**53 - 18
    t = float(np.float64(j) * 0.3)
    assert np.float64(j - 1) * 0.3 == t
    for tstar, crowded in ((t, True), (float(np.float64(2**40) * 0.3), False)):
        out = np.empty(3, np.int64)
        assert cython_cpu.split_divided_with(level, lam, tstar, 2**53, out)[4] is crowded
        assert threshold.split_divided(lam, tstar, 2**53, out, None, None)[2] is crowded


@pytest.mark.parametrize("level", LEVELS)
def test_passes_agree_at_scale(level):
    """A long log-normal vector, as the benchmarks use: every implementation, same counts."""
    lam = np.random.default_rng(7).lognormal(0.0, 0.5, 10_007)
    budget = 40_000
    t = (budget + 0.5 * lam.size) / np.sum(1.0 / lam)
    out = np.empty(lam.size, dtype=np.int64)
    reference = np.empty(lam.size, dtype=np.int64)
    cython_cpu.count_into_with("scalar", lam, 1.0 / lam, t, budget, reference)
    assert cython_cpu.count_into_with(level, lam, 1.0 / lam, t, budget, out) == reference.sum()
    np.testing.assert_array_equal(out, reference)
    np.testing.assert_array_equal(reference[:50], exact_counts(lam[:50], t, budget))


def test_unknown_level_is_refused():
    with pytest.raises(ValueError, match="level must be one of"):
        cython_cpu.inverse_with("sse9", np.ones(3), np.ones(3))


def test_forced_level_runs_the_whole_allocation():
    """``set_simd_level`` (and FASTATA_SIMD) runs every pass narrower: same allocations."""
    rng = np.random.default_rng(3)
    problems = [np.concatenate([rng.lognormal(0.0, 1.0, 500), np.repeat([1.0, 2.0, 3.0], 300)]),
                rng.exponential(1.0, 1500), np.tile([1.0, 2.0], 700), rng.integers(1, 5, 1300).astype(float)]
    previous = cython_cpu.simd_level()
    try:
        for level in LEVELS:
            assert cython_cpu.set_simd_level(level) in LEVELS
            assert cython_cpu.simd_level() == level
            for lam, budget in itertools.product(problems, (7, 1000, 12345)):
                out = np.empty(lam.size, dtype=np.int64)
                ties, heap = np.empty(lam.size, dtype=np.int64), np.empty(lam.size + 2)
                assert cython_cpu.allocate_into(lam, budget, out, ties, heap) == 0
                np.testing.assert_array_equal(out, reference_allocation(lam, budget))
                low = np.full(lam.size, int(budget >= lam.size), dtype=np.int64)
                high = np.full(lam.size, 2 * budget // lam.size + 2, dtype=np.int64)
                assert cython_cpu.allocate_bounded_into(lam, budget, low, high, out, ties, heap) == 0
                assert is_canonical(lam, budget, out, low, high)
    finally:
        cython_cpu.set_simd_level(previous)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("warm", [False, True])
def test_shared_bounds_read_once_give_the_same_allocation(level, warm):
    """Bounds given as numbers reach the kernel as arrays of one value, which the vector
    passes then read once a pass (``Scratch.allocate_bounded(..., shared=True)``), the
    minimum every available worker's: the same allocations as the reference, over ties,
    spread times, lam = 0 and unavailable workers, caps that bind or not (up to int64's
    largest) and lengths around the vector widths."""
    from fastata.kernels import reference

    rng = np.random.default_rng(17)
    shapes = [lambda n: rng.lognormal(0.0, 1.0, n), lambda n: rng.integers(1, 4, n).astype(float),
              lambda n: np.exp(rng.uniform(-300.0, 300.0, n)), lambda n: np.tile([0.5, 1.0, 0.0], n)[:n],
              lambda n: np.where(rng.random(n) < 0.1, np.inf, rng.lognormal(0.0, 0.5, n))]
    previous = cython_cpu.set_simd_level(level)
    try:
        for n, shape, (least, most) in itertools.product(
                (1, 3, 4, 5, 8, 9, 17, 301, 4099), shapes, ((0, 1), (1, 3), (2, 2), (0, 2**62), (1, 2**63 - 1))):
            lam = shape(n)
            lam[0] = min(lam[0], 1.0)  # an available worker
            available = int((lam < np.inf).sum())
            low, high = np.full(n, least, dtype=np.int64), np.full(n, most, dtype=np.int64)
            scratch = cython_cpu.Scratch(np.empty(n, dtype=np.int64), np.empty(n + 2), np.zeros(3) if warm else None)
            for budget in {least * available, least * available + 1, least * available + 7 * n // 3 + 1}:
                if budget > min(most, budget) * available:
                    continue
                want = np.empty(n, dtype=np.int64)
                reference.allocate_bounded_into(lam, budget, np.where(lam < np.inf, low, 0), high, want)
                out = np.empty(n, dtype=np.int64)
                assert scratch.allocate_bounded(lam, budget, low, high, out, True) == 0
                assert out.tolist() == want.tolist(), (n, least, most, budget)
        # Shared bounds no allocation meets are refused as the same arrays are, out untouched.
        lam = rng.lognormal(0.0, 1.0, 4099)
        lam[9] = np.inf
        for least, most, budget in ((5, 3, 30000), (2, 4, 8195), (0, 1, 5000), (-1, 3, 100), (1, -2, 100),
                                    (1, 1, 4099)):
            low, high = np.full(4099, least, dtype=np.int64), np.full(4099, most, dtype=np.int64)
            scratch = cython_cpu.Scratch(np.empty(4099, dtype=np.int64), np.empty(4101), np.zeros(3) if warm else None)
            out = np.full(4099, -7, dtype=np.int64)
            status = scratch.allocate_bounded(lam, budget, np.where(lam < np.inf, low, 0), high, out, False)
            assert status != 0 and scratch.allocate_bounded(lam, budget, low, high, out, True) == status
            assert (out == -7).all()
    finally:
        cython_cpu.set_simd_level(previous)


@pytest.mark.skipif(cython_cpu.simd_levels() == ["scalar"], reason="no vector passes on this CPU")
def test_shared_bounds_are_what_the_vector_passes_read():
    """The hint is taken at its word: minimums that differ, declared shared, give another
    allocation (the vector passes read the first worker's). So the shared passes run, and a
    caller must only declare bounds given as numbers (``_validate.task_bounds_shared``)."""
    lam = np.random.default_rng(1).lognormal(0.0, 1.0, 64)
    low, high = np.ones(64, dtype=np.int64), np.full(64, 3, dtype=np.int64)
    low[0] = 0
    kept = cython_cpu.Scratch(np.empty(64, dtype=np.int64), np.empty(66))
    honest, vouched = np.empty(64, dtype=np.int64), np.empty(64, dtype=np.int64)
    assert kept.allocate_bounded(lam, 85, low, high, honest) == 0
    assert kept.allocate_bounded(lam, 85, low, high, vouched, True) == 0
    assert is_canonical(lam, 85, honest, low, high)
    assert honest.tolist() != vouched.tolist()


@pytest.mark.parametrize("level", LEVELS)
def test_finite_extremes_at_every_level(level):
    """The pass that finds the least and largest finite time (and the largest cap of an
    available worker) for the scaling of times near 1e-305: threshold's own answer at every
    level, over zeros, -0.0, +inf, NaN-free negatives' bits and subnormals, every length of
    tail."""
    from fastata.kernels import threshold

    rng = np.random.default_rng(12)
    for n in range(1, 40):
        lam = rng.lognormal(0.0, 3.0, n) * 10.0 ** rng.integers(-320, 300)
        specials = rng.random(n)
        lam[specials < 0.1] = 0.0
        lam[(specials >= 0.1) & (specials < 0.15)] = -0.0
        lam[(specials >= 0.15) & (specials < 0.25)] = np.inf
        lam[(specials >= 0.25) & (specials < 0.3)] = 5e-320
        high = rng.integers(0, 50, n).astype(np.int64)
        budget = int(rng.integers(1, 60))
        for cap in (None, high):
            assert cython_cpu.finite_extremes_with(level, lam, budget, cap) == threshold.finite_extremes(
                lam, budget, cap)


def test_forced_level_scales_tiny_times():
    """Times near 1e-305 (and subnormal ones), which the call scales by a power of two after
    finding the least and largest finite time and the largest cap (a pass at every level),
    with zeros, -0.0 and +inf among them and lengths with vector tails: the reference's
    allocation at every level, with and without bounds."""
    rng = np.random.default_rng(11)
    previous = cython_cpu.simd_level()
    try:
        for n in (1, 7, 64, 301):
            lam = rng.lognormal(0.0, 2.0, n) * 1e-305
            lam[rng.random(n) < 0.05] = 5e-310  # subnormal
            if n > 3:
                lam[1], lam[2], lam[3] = 0.0, -0.0, np.inf
            budget = 3 * n + 1
            expected = reference_allocation(lam, budget)
            low = np.where(lam < np.inf, 1, 0).astype(np.int64)
            high = rng.integers(4, 9, n).astype(np.int64)
            high[lam == np.inf] = 0 if n > 3 else high[lam == np.inf]
            for level in LEVELS:
                cython_cpu.set_simd_level(level)
                out = np.empty(n, dtype=np.int64)
                ties, heap = np.empty(n, dtype=np.int64), np.empty(n + 2)
                assert cython_cpu.allocate_into(lam, budget, out, ties, heap) == 0
                np.testing.assert_array_equal(out, expected)
                assert cython_cpu.allocate_bounded_into(lam, budget, low, high, out, ties, heap) == 0
                assert is_canonical(lam, budget, out, low, high)
    finally:
        cython_cpu.set_simd_level(previous)


def reference_allocation(lam, budget):
    from fastata.kernels import reference

    out = np.empty(lam.size, dtype=np.int64)
    reference.allocate_into(lam, budget, out)
    return out


def test_forced_level_checks_the_bounds():
    """The bounds check's SIMD blocks at every level: each kind of bad bound, anywhere in the
    vector (body or tail), gives the status numba's plain loop gives; good bounds pass."""
    from fastata.kernels import numba_cpu

    rng = np.random.default_rng(9)
    n, budget = 301, 600
    lam = rng.lognormal(0.0, 0.5, n)
    lam[[7, 150]] = math.inf
    lam[[20, 299]] = 0.0
    good_lo, good_hi = np.where(lam < math.inf, 1, 0), np.where(lam < math.inf, 4, 0)
    cases = [(good_lo, good_hi)]
    for i in (3, 150, 298, 300):
        for kind in ("negative", "crossed", "on unavailable", "huge max"):
            lo, hi = good_lo.copy(), good_hi.copy()
            if kind == "negative":
                lo[i] = -1
            elif kind == "crossed":
                lo[i], hi[i] = 3, 2
            elif kind == "on unavailable":
                lam_i = 7 if i < 150 else 150
                lo[lam_i] = 1
                hi[lam_i] = 1
            else:
                hi[i] = 2**62
            cases.append((lo, hi))
    cases += [(good_lo * 3, good_hi), (good_lo, np.minimum(good_hi, 1))]  # over budget, short
    previous = cython_cpu.simd_level()
    seen = set()
    try:
        for level in LEVELS:
            cython_cpu.set_simd_level(level)
            for lo, hi in cases:
                lo, hi = lo.astype(np.int64), hi.astype(np.int64)
                out, ties, heap = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n + 2)
                expected = numba_cpu.allocate_bounded_into(lam, budget, lo, hi, out, ties, heap)
                got = cython_cpu.allocate_bounded_into(lam, budget, lo, hi, out, ties, heap)
                assert got == expected, (level, lo, hi)
                seen.add(expected)
    finally:
        cython_cpu.set_simd_level(previous)
    codes = cython_cpu.status_codes()
    assert seen == {codes[name] for name in ("OK", "MIN_NEGATIVE", "BOUNDS_CROSSED", "MIN_ON_UNAVAILABLE",
                                             "MIN_OVER_BUDGET", "CAPACITY_SHORT")}


def policy_state(rng, n):
    """Statistics of ``n`` workers: unexplored ones, a few samples (bounds clipped to 0),
    many samples, unavailable ones."""
    counts = rng.choice([0.0, 1.0, 2.0, 3.0, 40.0, 2000.0], n) * rng.choice([1.0, 0.9], n)
    means = rng.gamma(2.0, 3.0, n)
    available = (rng.random(n) < 0.9).astype(np.uint8)
    return counts, means, available


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("n", [0, 1, 3, 4, 7, 8, 9, 301])
def test_policy_bounds_at_every_level(level, n):
    """The bounds pass (a division and a square root per worker, in SIMD from AVX2) gives
    the reference's bits at every level, in the vector body and its tail."""
    from fastata.kernels import reference, status

    counts, means, available = policy_state(np.random.default_rng(n), n)
    previous = cython_cpu.set_simd_level(level)
    try:
        for variant in (status.VARIANT_ATA, status.VARIANT_EMPIRICAL):
            for weight, log_term in [(0.7, math.log(2.0)), (0.05, math.log(2.0 * 37.3**2)), (3.0, 11.0)]:
                expected, got = np.empty(n), np.full(n, np.nan)
                reference.bounds_into(counts, means, available, variant, weight, log_term, expected)
                assert cython_cpu.bounds_into(counts, means, available, variant, weight, log_term, got) == 0
                assert expected.tobytes() == got.tobytes()
    finally:
        cython_cpu.set_simd_level(previous)


@pytest.mark.parametrize("level", LEVELS)
def test_observe_check_at_every_level(level):
    """observe's check is one branch-free pass at every level; a bad batch gets the status of
    its first bad element (as the reference's loop), wherever it lies, and changes nothing."""
    from fastata.kernels import reference

    n = 50
    batches = sample_batches(n)
    previous = cython_cpu.set_simd_level(level)
    try:
        for w, x in batches:
            state = [np.full(n, 2.0), np.ones(n), np.full(n, 0.5)]
            expected = [a.copy() for a in state]
            want = reference.observe_into(w, x, *expected)
            assert cython_cpu.observe_into(w, x, *state) == want
            for a, b in zip(state, expected):
                assert a.tobytes() == b.tobytes()
    finally:
        cython_cpu.set_simd_level(previous)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("n", [0, 1, 31, 32, 33, 64, 100, 301])
def test_available_minimum_at_every_level(level, n):
    """The minimums of one ``min_tasks`` (``value`` where ``lam < +inf``, 0 elsewhere) kept
    from call to call: each call leaves the reference's array and bits, whichever workers
    the last call left out (NaN, -inf and 0 are not unavailable: the kernels flag or serve
    them)."""
    from fastata.kernels import reference

    rng = np.random.default_rng(n)
    low, bits = np.full(n, 3, dtype=np.int64), np.zeros(-(-n // 32), dtype=np.uint32)
    previous = cython_cpu.set_simd_level(level)
    try:
        for share in (0.0, 0.1, 0.1, 0.5, 1.0, 0.0, 0.1):
            lam = rng.lognormal(0.0, 1.0, n)
            lam[rng.random(n) < share] = np.inf
            lam[rng.random(n) < 0.05] = rng.choice([0.0, -np.inf, np.nan, 1e308])  # not unavailable
            want_low, want_bits = np.empty(n, dtype=np.int64), np.empty_like(bits)
            expected = reference.fit_available_minimum(lam, 3, want_low, want_bits)
            assert expected == int((lam == np.inf).sum())
            assert cython_cpu.fit_available_minimum(lam, 3, low, bits) == expected
            assert low.tolist() == want_low.tolist() and bits.tolist() == want_bits.tolist()
    finally:
        cython_cpu.set_simd_level(previous)


def test_available_minimum_writes_only_changed_words():
    """A word whose unavailable workers did not change is not written: a stray value put
    there stays, which shows the pass skipped it."""
    n = 96
    lam = np.ones(n)
    lam[[5, 40]] = np.inf
    low, bits = np.full(n, 2, dtype=np.int64), np.zeros(3, dtype=np.uint32)
    assert cython_cpu.fit_available_minimum(lam, 2, low, bits) == 2
    low[70] = 99  # word 2: no unavailable worker, before and after
    lam[40] = 1.0  # word 1 changes
    assert cython_cpu.fit_available_minimum(lam, 2, low, bits) == 1
    assert low[70] == 99 and low[40] == 2 and low[5] == 0
    assert bits.tolist() == [1 << 5, 0, 0]


def dirty_exits(library):
    """The functions of a compiled library that use ymm or zmm registers, and of those the ones
    that call out or return with the upper halves of ymm0-15 dirty (no ``vzeroupper`` on
    some path since their last write): ``(names, {name: instructions})``. Read from
    ``objdump -d``, following each function's jumps."""
    listing = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(library)], capture_output=True,
                             text=True, check=True).stdout
    functions, current = {}, None
    for line in listing.splitlines():
        if (match := re.match(r"^([0-9a-f]+) <(.*)>:$", line)):
            current = functions.setdefault(match.group(2), [])
        elif (match := re.match(r"^\s+([0-9a-f]+):\t(.*)$", line)) and current is not None:
            current.append((int(match.group(1), 16), match.group(2).strip()))
    wide, low_wide = re.compile(r"%[yz]mm"), re.compile(r"%[yz]mm([0-9]|1[0-5])\b")
    vector, found = [], {}
    for name, code in functions.items():
        if not any(wide.search(text) for _, text in code):
            continue
        vector.append(name)
        at = {address: k for k, (address, _) in enumerate(code)}
        seen = [None] * len(code)  # dirty on the way into each instruction, where reached
        todo = [(0, False)]
        while todo:
            k, dirty = todo.pop()
            if k >= len(code) or seen[k] is True or seen[k] == dirty:
                continue
            seen[k] = dirty
            text = code[k][1]
            op = text.split()[0]
            after = False if op == "vzeroupper" else dirty or bool(low_wide.search(text))
            leaves = op in ("call", "ret") or (op == "jmp" and f"<{name}" not in text)
            if leaves:
                if dirty:
                    found.setdefault(name, []).append(text)
                if op == "call":
                    todo.append((k + 1, after))
                continue
            target = re.match(r"j\w+\s+([0-9a-f]+) <", text)
            if target and int(target.group(1), 16) in at:
                todo.append((at[int(target.group(1), 16)], after))
                if op == "jmp":
                    continue
            todo.append((k + 1, after))
    return vector, found


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64") or shutil.which("objdump") is None,
                    reason="reads x86 machine code with objdump")
def test_vector_passes_clean_the_upper_halves_before_scalar_code():
    # GCC leaves out the vzeroupper before a call to a static function of the same file;
    # the scalar code after it then runs slowly on Intel CPUs (FASTATA_CLEAN_UPPER).
    library = cython_cpu.__file__
    if not library.endswith((".so", ".pyd")):
        pytest.skip("the Cython backend is not a compiled library here")
    vector, found = dirty_exits(library)
    if not vector:
        pytest.skip("objdump's listing shows no vector code here (another format, or no SIMD build)")
    assert found == {}


def listed_candidates(lam, cut):
    """threshold.list_candidates by its definition: the indices with ``lam <= cut``, or -1 where a
    time is not above 0 or more than a quarter of the workers are listed."""
    if not (lam > 0.0).all():
        return -1
    found = np.flatnonzero(lam <= cut)
    return found if found.size <= lam.size // 4 else -1


@pytest.mark.parametrize("level", LEVELS)
def test_candidates_listing_at_every_level(level):
    rng = np.random.default_rng(12)
    for n, share in itertools.product((0, 1, 31, 32, 33, 100, 4099), (0.0, 0.05, 0.2, 0.3)):
        lam = np.where(rng.random(n) < share, rng.uniform(0.5, 1.0, n), rng.uniform(2.0, 3.0, n))
        lam[rng.random(n) < 0.1] = np.inf
        variants = [lam]
        for bad in (np.nan, 0.0, -0.0, -1.0, -np.inf):
            if n:
                broken = lam.copy()
                broken[rng.integers(0, n)] = bad
                variants.append(broken)
        for x, cut in itertools.product(variants, (0.0, 0.75, 1.0, 2.5)):
            expected = listed_candidates(x, cut)
            for name, run in (("threshold's", threshold.list_candidates), ("cython " + level, None)):
                idx, times = np.full(n, -7, dtype=np.int64), np.full(n + 2, -7.0)
                if run is None:
                    m = cython_cpu.candidates_with(level, x, cut, idx, times)
                else:
                    m = run(x, cut, idx, times)
                if isinstance(expected, int):
                    assert m == -1, name
                else:
                    assert m == expected.size, name
                    np.testing.assert_array_equal(idx[:m], expected)
                    np.testing.assert_array_equal(times[:m], x[expected])

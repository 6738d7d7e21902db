"""The estimate passes that bracket ``t*`` before any exact pass (``threshold.estimate_into``
and ``estimate_bracket``, ported to Cython).

An estimate is ``sum_i trunc(s / lam_i)`` from the stored ``1/lam``, off by one for a worker
whose ``s / lam_i`` lies within a few ulps of an integer. The kernel trusts it only through
a margin on the threshold: the exact count at ``s * (1 - margin)`` is at most the estimate,
and at ``s * (1 + margin)`` at least. These tests check that claim on the inputs that make
it tight (thresholds on and next to products, ties, wide ranges, bounds), that every
implementation sums the same, and that an estimate that misleads costs passes, never
correctness.
"""

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from numba import njit

import fastata as fa
from fastata import _bench
from fastata.kernels import threshold
from oracle import at_every_level, is_canonical, reference

MARGIN = threshold.ESTIMATE_MARGIN

lam_values = st.one_of(
    st.floats(min_value=1e-300, max_value=1e300),
    st.floats(min_value=0.25, max_value=4.0),
    st.sampled_from([0.1, 0.3, 1.0, 1.5, 2.0, 3.0, 58.0, 1 / 3, 2.0**-20, 0.0, math.inf]),
)


def exact_counts(lam, t, budget, lo=None, hi=None):
    """Each worker's keys with product ``<= t`` (``t > 0``), by the definition."""
    counts = np.empty(lam.size, dtype=np.int64)
    for i, x in enumerate(lam):
        cap = budget if hi is None else min(int(hi[i]), budget)
        c = cap if x == 0.0 else threshold.count_le(x, t, cap)
        counts[i] = c if lo is None else max(c, int(lo[i]))
    return counts


def exact_total(lam, t, budget, lo=None, hi=None):
    """The keys with product ``<= t`` (``t > 0``)."""
    return int(exact_counts(lam, t, budget, lo, hi).sum())


@st.composite
def estimate_problems(draw):
    lam = np.array(draw(st.lists(lam_values, min_size=1, max_size=40)), dtype=np.float64)
    budget = draw(st.one_of(st.integers(1, 3000), st.sampled_from([2**40, 2**51 - 1])))
    finite = lam[(lam > 0) & (lam < math.inf)]
    if finite.size and draw(st.booleans()):
        # On a product or a float next to it: where s / lam rounds onto or off an integer.
        s = float(draw(st.integers(1, 1000)) * draw(st.sampled_from(list(finite))))
        s = float(np.nextafter(s, draw(st.sampled_from([0.0, s, math.inf]))))
    else:
        s = draw(st.floats(min_value=1e-30, max_value=1e30))
    s = min(max(s, threshold.ESTIMATE_LOW), threshold.ESTIMATE_HIGH)
    bounds = None
    if draw(st.booleans()):
        lo = np.array([draw(st.integers(0, 5)) if x < math.inf else 0 for x in lam], dtype=np.int64)
        hi = lo + np.array(draw(st.lists(st.integers(0, 50), min_size=lam.size, max_size=lam.size)), dtype=np.int64)
        bounds = (lo, hi)
    return lam, s, budget, bounds


def unpack(problem):
    """``(lam, 1/lam, s, budget, lo, hi)`` of an :func:`estimate_problems` example."""
    lam, s, budget, bounds = problem
    lo, hi = bounds if bounds else (None, None)
    with np.errstate(divide="ignore"):
        return lam, 1.0 / lam, s, budget, lo, hi


def in_numba(estimate):
    """One of threshold's estimate passes ``(inv, s, budget, lo, hi)``, called from ``@njit``
    code: as numba compiles it."""

    @njit(cache=False)
    def run(inv, s, budget, lo, hi):
        return estimate(inv, s, budget, lo, hi)

    return run


_numba_estimate = in_numba(threshold.estimate_into)


@settings(max_examples=300, deadline=None)
@given(problem=estimate_problems())
def test_an_estimate_lies_between_the_exact_counts_at_the_margins(problem):
    lam, inv, s, budget, lo, hi = unpack(problem)
    estimate = threshold.estimate_into(inv, s, budget, lo, hi)
    # As the kernel reads a sum: saturated past budget + n (a float sum of integers rounds
    # only above 2**53, far past that).
    limit = budget + lam.size + 1
    assert min(exact_total(lam, s * (1.0 - MARGIN), budget, lo, hi), limit) <= min(estimate, limit)
    assert min(estimate, limit) <= min(exact_total(lam, s * (1.0 + MARGIN), budget, lo, hi), limit)
    # Every implementation reads the same count (their sums differ only above 2**53).
    assert min(_numba_estimate(inv, s, budget, lo, hi), limit) == min(estimate, limit)
    cython_cpu = pytest.importorskip("fastata.kernels.cython_cpu")
    for level in cython_cpu.simd_levels():
        assert min(cython_cpu.estimate_with(level, inv, s, budget, lo, hi), limit) == min(estimate, limit), level


@njit(cache=False)
def _numba_inverse_pass(lam, inv, s, s2, budget, zero_above):
    return threshold.inverse_pass(lam, inv, s, s2, budget, zero_above)


@settings(max_examples=200, deadline=None)
@given(problem=estimate_problems())
def test_the_validation_pass_takes_the_first_estimates(problem):
    # A cold call without bounds estimates at a sampled guess, and from 32,768 workers a few
    # percent above it too, in the pass that computes 1/lam (free: that pass waits on its
    # divisions). Without zeros each is the estimate pass's sum; at s2 = 0, none.
    lam, inv, s, budget, _, _ = unpack(problem)
    lam = np.where(lam == 0.0, 1.0, lam)
    inv = 1.0 / lam
    limit = budget + lam.size + 1
    s2 = s * threshold.SLOPE_STEP
    expected = min(threshold.estimate_into(inv, s, budget, None, None), limit)
    expected2 = min(threshold.estimate_into(inv, s2, budget, None, None), limit)
    found = {"python": threshold.inverse_pass(lam, np.empty(lam.size), s, s2, budget, math.inf),
             "numba": _numba_inverse_pass(lam, np.empty(lam.size), s, s2, budget, math.inf)}
    cython_cpu = pytest.importorskip("fastata.kernels.cython_cpu")
    for level in cython_cpu.simd_levels():
        found["cython " + level] = cython_cpu.inverse_with(level, lam, np.empty(lam.size), s, budget, s2=s2)
        assert cython_cpu.inverse_with(level, lam, np.empty(lam.size), s, budget)[5] == 0.0, level
    assert threshold.inverse_pass(lam, np.empty(lam.size), s, 0.0, budget, None)[5] == 0.0
    for name, (total, n_invalid, n_zero, n_finite, estimate, second, top) in found.items():
        assert (n_invalid, n_zero, n_finite) == (0, 0, int(np.sum(lam < math.inf))), name
        assert min(estimate, limit) == expected, name
        assert min(second, limit) == expected2, name
        assert top == inv.max(), name  # the fastest worker's 1/lam: t* <= budget / top without bounds


@settings(max_examples=200, deadline=None)
@given(problem=estimate_problems(), share=st.floats(0.0, 1.0))
def test_the_validation_pass_stores_zero_for_workers_out_of_reach(problem, share):
    # Over hundreds of orders of magnitude t * (1/lam) underflows, which x86 computes many
    # times slower: workers slower than zero_above store 0 instead. What the pass returns is
    # of the true 1/lam, and its estimate at s below zero_above / 2 is the one the true
    # values give (each zeroed term is trunc(s / lam) = 0 either way).
    lam, inv, s, budget, _, _ = unpack(problem)
    lam = np.where(lam == 0.0, 1.0, lam)
    inv = 1.0 / lam
    finite = np.sort(lam[lam < math.inf])
    zero_above = float(finite[min(int(share * finite.size), finite.size - 1)]) if finite.size else 1.0
    s = min(s, zero_above * 0.5)
    stored = np.where(lam > zero_above, 0.0, inv)
    limit = budget + lam.size + 1
    expected = min(threshold.estimate_into(inv, s, budget, None, None), limit)
    whole = threshold.inverse_pass(lam, np.empty(lam.size), s, 0.0, budget, math.inf)
    found = {}
    written = {"python": np.empty(lam.size), "numba": np.empty(lam.size)}
    found["python"] = threshold.inverse_pass(lam, written["python"], s, 0.0, budget, zero_above)
    found["numba"] = _numba_inverse_pass(lam, written["numba"], s, 0.0, budget, zero_above)
    cython_cpu = pytest.importorskip("fastata.kernels.cython_cpu")
    for level in cython_cpu.simd_levels():
        written["cython " + level] = np.empty(lam.size)
        found["cython " + level] = cython_cpu.inverse_with(level, lam, written["cython " + level], s, budget,
                                                           zero_above)
    for name, (total, n_invalid, n_zero, n_finite, estimate, _, top) in found.items():
        np.testing.assert_array_equal(written[name], stored, err_msg=name)
        assert (n_invalid, n_zero, n_finite, top) == whole[1:4] + (whole[6],), name
        assert total == pytest.approx(whole[0], rel=1e-12), name  # summed in another order
        assert min(estimate, limit) == expected, name


@pytest.mark.parametrize("budget", [1, 7, 1000])
def test_a_count_above_the_reach_of_the_stored_inverse_divides(budget):
    # A pass at a threshold above reach must not read the stored 0 of a worker it counts keys
    # for: it counts by division there, and the counts are exact either way.
    lam = np.array([1e-300, 1e-200, 1.0, 3.0, 1e300] * 60)
    reach = 2.0 * budget * 1e-200
    stored = np.where(lam > 2.0 * reach, 0.0, 1.0 / lam)
    for t in (1e-250, reach, 7.0, 1e301):
        counts = np.empty(lam.size, np.int64)
        total, _, _ = threshold.count_at(lam, stored, t, budget, 10**18, reach, True, counts, None, None)
        np.testing.assert_array_equal(counts, exact_counts(lam, t, budget))
        assert total == exact_total(lam, t, budget)


def test_a_cold_call_guesses_from_a_sample():
    lam = _bench.make_lam(4096, distribution="lognormal")
    n_avail = lam.size
    exact = (4096 + 0.5 * n_avail) / np.sum(1.0 / lam)
    guess = threshold.sampled_relaxation(lam, 4096)
    assert 0.8 * exact < guess < 1.25 * exact
    assert threshold.sampled_relaxation(np.full(4096, math.inf), 4096) == 0.0  # nothing available
    assert threshold.sampled_relaxation(np.full(300, 1e-320), 300) == 0.0  # 1/lam overflows


def test_the_sample_pairs_the_first_estimate_only_where_it_is_read():
    # The second estimate of a cold call without bounds (threshold.PAIRED_ERROR) is taken
    # where the sample's sum of 1/lam varies little, and never where a sampled worker has
    # lam = 0: without bounds the zeros take every task and no estimate is read.
    lam = _bench.make_lam(4096, distribution="lognormal")
    error = threshold.sampled_inverse_error(lam)
    assert 0.0 < error <= threshold.PAIRED_ERROR
    assert threshold.sampled_inverse_error(_bench.make_lam(4096, distribution="paper")) > threshold.PAIRED_ERROR
    lam[0] = 0.0  # one sampled worker idle, the other 63 as before
    assert threshold.sampled_inverse_error(lam) == math.inf
    assert threshold.sampled_inverse_error(np.full(4096, math.inf)) == math.inf  # none available


_numba_estimate_slope = in_numba(threshold.estimate_slope_into)


@settings(max_examples=200, deadline=None)
@given(problem=estimate_problems())
def test_the_first_estimate_also_finds_the_slope_of_the_count(problem):
    # The sum of 1/lam over the workers whose count no bound holds: what the second step
    # divides by. It only guides the search, so the implementations may round it differently.
    lam, inv, s, budget, lo, hi = unpack(problem)
    cap = float(budget) if hi is None else np.minimum(hi, budget).astype(np.float64)
    low = 0.0 if lo is None else lo.astype(np.float64)
    with np.errstate(over="ignore"):  # s * inv past DBL_MAX is +inf, capped as the kernels cap it
        c = np.trunc(np.minimum(s * inv, cap))
    slope = inv[(c >= low) & (c < cap)].sum()
    estimate = threshold.estimate_into(inv, s, budget, lo, hi)
    limit = budget + lam.size + 1
    found = {"python": threshold.estimate_slope_into(inv, s, budget, lo, hi),
             "numba": _numba_estimate_slope(inv, s, budget, lo, hi)}
    cython_cpu = pytest.importorskip("fastata.kernels.cython_cpu")
    for level in cython_cpu.simd_levels():
        found["cython " + level] = cython_cpu.estimate_with(level, inv, s, budget, lo, hi, slope=True)
    for name, (total, moving) in found.items():
        assert min(total, limit) == min(estimate, limit), name
        assert moving == pytest.approx(slope, rel=1e-12), name


def _estimate_pair_numba():
    @njit(cache=False)
    def run(inv, s, s2, budget, lo, hi):
        return threshold.estimate_pair_into(inv, s, s2, budget, lo, hi)

    return run


_numba_estimate_pair = _estimate_pair_numba()


@pytest.mark.parametrize("bounded", [True, False])
@settings(max_examples=200, deadline=None)
@given(problem=estimate_problems(), ratio=st.floats(min_value=1.0, max_value=1.5))
def test_a_paired_pass_estimates_at_both_thresholds(bounded, problem, ratio):
    # A pass after the first estimates at two thresholds (with bounds; without, the pair the
    # sample places after a flat), each exactly as a pass of its own would (the pair only
    # shares the reading of 1/lam and the bounds).
    lam, inv, s, budget, lo, hi = unpack(problem)
    if not bounded:
        lo = hi = None
    elif lo is None:
        lo, hi = np.zeros(lam.size, np.int64), np.full(lam.size, 7, np.int64)
    s2 = min(s * ratio, threshold.ESTIMATE_HIGH)
    limit = budget + lam.size + 1
    expected = (min(threshold.estimate_into(inv, s, budget, lo, hi), limit),
                min(threshold.estimate_into(inv, s2, budget, lo, hi), limit))
    found = {"python": threshold.estimate_pair_into(inv, s, s2, budget, lo, hi),
             "numba": _numba_estimate_pair(inv, s, s2, budget, lo, hi)}
    cython_cpu = pytest.importorskip("fastata.kernels.cython_cpu")
    for level in cython_cpu.simd_levels():
        found["cython " + level] = cython_cpu.estimate_pair_with(level, inv, s, s2, budget, lo, hi)
    for name, (total, total2) in found.items():
        assert (min(total, limit), min(total2, limit)) == expected, name


@njit(cache=False)
def _numba_count_list(lam, inv, t, budget, hi_t, counts, idx, lo, hi):
    return threshold.count_list_into(lam, inv, t, budget, hi_t, counts, idx, lo, hi)


def check_count_and_listing(lam, inv, s, budget, hi_t, lo, hi):
    """The counting pass after a narrow bracket, in every implementation, against the definition:
    the counts at ``s`` and the workers with a key in ``(s, hi_t]``."""
    size = lam.size
    counts = exact_counts(lam, s, budget, lo, hi)
    limit = budget + size + 1
    cap = budget if hi is None else np.minimum(hi, budget)
    with np.errstate(invalid="ignore"):
        listed = np.flatnonzero((counts < cap) & ((counts + 1.0) * lam <= hi_t))
    runs = {"python": lambda out, idx: threshold.count_list_into(lam, inv, s, budget, hi_t, out, idx, lo, hi),
            "numba": lambda out, idx: _numba_count_list(lam, inv, s, budget, hi_t, out, idx, lo, hi)}
    cython_cpu = pytest.importorskip("fastata.kernels.cython_cpu")
    for level in cython_cpu.simd_levels():
        runs["cython " + level] = lambda out, idx, level=level: cython_cpu.count_list_with(
            level, lam, inv, s, budget, hi_t, out, idx, lo, hi)
    for name, run in runs.items():
        out = np.full(size, -1, dtype=np.int64)
        idx = np.full(size, -1, dtype=np.int64)
        total, m = run(out, idx)
        assert min(total, limit) == min(counts.sum(), limit), name  # a float sum: exact below 2**53
        np.testing.assert_array_equal(out, counts, err_msg=name)
        # A worker at its cap may be listed too (without bounds, at the budget: never in a
        # call, where the count at t is below it); the selection takes no key of it.
        got = idx[:m]
        np.testing.assert_array_equal(got[counts[got] < np.broadcast_to(cap, size)[got]], listed, err_msg=name)


def test_the_listing_visits_the_bits_it_set():
    # The count with the listing marks a block's workers in the bits of an int64 and visits
    # the set bits by their index: plain Python's loop and the CPU's instruction agree.
    from fastata.kernels import numba_cpu  # noqa: F401  (registers the CPU's instruction)

    compiled = njit(cache=False)(lambda bits: threshold.lowest_bit(bits))
    for k in range(63):
        for above in (0, 1 << 62, (1 << 63) - (2 << k)):
            bits = (1 << k) | (above & ~((2 << k) - 1))
            assert threshold.lowest_bit(bits) == compiled(bits) == k, (k, bits)


@settings(max_examples=200, deadline=None)
@given(problem=estimate_problems(), ratio=st.sampled_from([1.0, 1.0 + 2.0**-40, 1.01, 1.5]),
       size=st.integers(64, 200))
def test_the_count_from_one_over_lam_is_exact_on_and_next_to_products(problem, ratio, size):
    # After a narrow bracket, one pass counts at its lower end from 1/lam alone, and from lam
    # where a product may round across an integer (thresholds on and next to products), and
    # lists exactly the workers with a key in (t, hi_t]. The workers repeat past a block or two,
    # as the pass goes block by block.
    lam, inv, s, budget, lo, hi = unpack(problem)
    lam, inv = np.resize(lam, size), np.resize(inv, size)
    if lo is not None:
        lo, hi = np.resize(lo, size), np.resize(hi, size)
    check_count_and_listing(lam, inv, s, budget, min(s * ratio, threshold.DBL_MAX), lo, hi)


@pytest.mark.parametrize("bounded", [False, True])
def test_the_count_from_one_over_lam_is_exact_where_products_round(bounded):
    # Thresholds on the products of times that 1/lam does not represent exactly, and next to
    # them: there t * (1/lam) rounds onto an integer the exact count is not (fl(0.3 * 10) = 3,
    # yet fl(3 * 0.1) > 0.3), in every lane of a block.
    lam = np.resize([0.1, 0.3, 1 / 3, 3.0, 0.7, 1.1, 58.0], 150)
    inv = 1.0 / lam
    lo, hi = (np.resize(np.array([0, 1, 2]), 150), np.resize(np.array([40, 3, 900]), 150)) if bounded else (None, None)
    for k in range(1, 60):
        for x in (0.1, 0.3, 0.7, 1.1):
            product = k * x
            for s in (product, np.nextafter(product, 0.0), np.nextafter(product, math.inf)):
                check_count_and_listing(lam, inv, float(s), 5000, float(s) * 1.01, lo, hi)


@njit(cache=False)
def _numba_estimate_bracket(lam, inv, budget, t, t2, slope, first, t2_estimate, base, width, lo, hi, t_min, t_max,
                            reach, out, ties, heap):
    return threshold.estimate_bracket(lam, inv, budget, t, t2, slope, first, t2_estimate, base, width, lo, hi, t_min,
                                      t_max, reach, out, ties, heap)


def every_bracket(args, reach=-1.0, outs=None):
    """``estimate_bracket(*args, reach, out, ties, heap)`` as plain Python, numba and each Cython
    level compute it, each with scratch of its own (``heap`` holding ``1/lam = args[1]``); with
    ``reach > 0`` the count and listing may run, and ``outs`` (a dict) gets each one's ``out``
    where it found :data:`threshold.SELECTED`. ``reach = -1``: the estimates alone."""
    lam, inv = args[0], args[1]
    n = lam.shape[0]

    def run(name, fn):
        out, ties, heap = np.zeros(n, np.int64), np.zeros(n, np.int64), np.empty(n + 2)
        heap[:n] = inv
        found[name] = tuple(fn(heap[:n], out, ties, heap))
        if outs is not None and found[name][2] == threshold.SELECTED:
            outs[name] = out.tolist()

    found = {}
    run("python", lambda v, out, ties, heap: threshold.estimate_bracket(lam, v, *args[2:], reach, out, ties, heap))
    run("numba", lambda v, out, ties, heap: _numba_estimate_bracket(lam, v, *args[2:], reach, out, ties, heap))
    cython_cpu = pytest.importorskip("fastata.kernels.cython_cpu")
    at_every_level(lambda level: run("cython " + level, lambda v, out, ties, heap: cython_cpu.estimate_bracket_with(
        lam, v, *args[2:12], t_min=args[12], t_max=args[13], reach=reach, out=out, ties=ties, heap=heap)))
    return found


@pytest.mark.parametrize("distribution", ["lognormal", "exponential", "paper", "two-speeds", "unavailable", "zeros",
                                          "wide", "one-fast", "extreme"])
# 5000 x 320,000 on `extreme`: a pair both below the budget estimates one count in a bracket
# still open above, which distinct times do not read as ties.
@pytest.mark.parametrize("size", [(600, 2400), (3000, 4500), (5000, 40000), (2000, 2**40), (40000, 160000),
                                  (5000, 320000)])
@pytest.mark.parametrize("listing", [False, True])
def test_every_implementation_brackets_alike_and_the_bracket_holds(distribution, size, listing):
    # The bounded estimates bracket t* with pairs of thresholds from the second pass on. Given
    # the first estimate and its slope (the check pass's), every later step depends only on
    # integer sums, so every implementation takes the same steps to the same bracket; and
    # the bracket is proven: fewer than budget keys at its lower end, at least at its upper.
    # With the count and listing (``listing``), where a pair's line aimed them and they
    # selected, every implementation selected the same canonical allocation in a bracket
    # that holds the budget.
    n, budget = size
    lam = _bench.make_lam(n, seed=5, distribution=distribution)
    lo, hi = _bench.case_bounds(n, budget, lam)
    hi = hi + np.arange(n) % 3  # caps that differ from worker to worker
    with np.errstate(divide="ignore"):
        inv = 1.0 / lam
    status, remaining, zero_room, _ = threshold.scan_bounds(lam, budget, lo, hi)
    assert status == 0 and zero_room < remaining  # not a fill: the kernel brackets
    base = budget - remaining + zero_room
    inv_sum = inv[np.isfinite(inv)].sum()
    t = budget / inv_sum
    first, slope = threshold.estimate_slope_into(inv, t, budget, lo, hi)
    if slope < threshold.CAPPED_SHARE * inv_sum and first < budget:  # as the kernel: see allocate_guided
        with np.errstate(over="ignore"):
            up = threshold.sampled_root(lam, budget, t, lo, hi)
        if up > t:
            slope = (budget - first) / (up - t)
    width = min((n + 2) // 3, int(2.0 * math.sqrt(n)) + 16)
    outs = {}
    found = every_bracket((lam, inv, budget, t, 0.0, slope, first, -1.0, base, width, lo, hi, 0.0, math.inf),
                          reach=math.inf if listing and budget < 2**51 else -1.0, outs=outs)
    bracket = found["python"]
    for name, other in found.items():
        assert other == bracket, name
    t_lo, t_hi, code, c_lo, c_hi = bracket
    if code == threshold.SELECTED:
        assert listing and all(out == outs["python"] for out in outs.values()) and len(outs) == len(found)
        assert is_canonical(lam, budget, np.array(outs["python"]), lo, hi)
        assert exact_total(lam, t_lo, budget, lo, hi) == budget if t_lo == t_hi else (
            exact_total(lam, t_lo, budget, lo, hi) < budget <= exact_total(lam, t_hi, budget, lo, hi))
        return
    assert code in (threshold.NARROW, threshold.LANDED, threshold.JUMP)
    assert c_lo < budget <= c_hi  # the estimates at the ends
    assert exact_total(lam, t_lo, budget, lo, hi) < budget
    if code == threshold.NARROW:
        assert exact_total(lam, t_hi, budget, lo, hi) >= budget


@pytest.mark.parametrize("distribution", ["uniform", "pareto", "two-speeds", "lognormal"])
@pytest.mark.parametrize("n, budget", [(5000, 50), (20000, 7), (20000, 2000)])
def test_every_implementation_brackets_alike_from_the_lower_end_at_lam_min(distribution, n, budget):
    # No key lies below lam_min: from that lower end (t_min), at the guess a hard floor on
    # the times would give, every implementation takes the same steps, and the bracket holds.
    lam = _bench.make_lam(n, seed=3, distribution=distribution)
    inv = 1.0 / lam
    lam_min = float(lam.min())
    t_min = lam_min * (1.0 - threshold.COUNT_MARGIN)
    t = lam_min * (1.0 + budget / n)
    t_max = budget * lam_min * (1.0 + threshold.COUNT_MARGIN)
    width = min((n + 2) // 3, int(2.0 * math.sqrt(n)) + 16)
    found = every_bracket((lam, inv, budget, t, 0.0, inv.sum(), -1.0, -1.0, 0, width, None, None, t_min, t_max))
    bracket = found["python"]
    for name, other in found.items():
        assert other == bracket, name
    t_lo, t_hi, code, c_lo, c_hi = bracket
    assert c_lo < budget <= c_hi
    assert t_lo >= t_min * (1.0 - MARGIN) and exact_total(lam, t_lo, budget) < budget
    if code == threshold.NARROW:
        assert exact_total(lam, t_hi, budget) >= budget


@pytest.mark.parametrize("kind", ["one far faster", "lognormal(0, 20)"])
def test_without_bounds_no_estimate_looks_past_the_fastest_worker(kind):
    # Without bounds the fastest worker alone holds the budget at budget * lam_min: past it the
    # count stalls and looks like ties to a secant step. Every implementation keeps its
    # estimates at or below that point alike, and brackets t* narrowly, proven by exact counts.
    rng = np.random.default_rng(0)
    if kind == "one far faster":
        n, budget = 16384, 262144
        lam = rng.lognormal(0.0, 0.5, n)
        lam[n // 3] = 1e-6
    else:
        n, budget = 32768, 131072
        lam = np.exp(rng.normal(0.0, 20.0, n))
    inv = 1.0 / lam
    status, n_zero, n_avail, inv_sum, lam_min, _, _ = threshold.scan(lam, budget, np.empty(n), 0.0, 0.0, None)
    assert status == 0 and lam_min == pytest.approx(lam.min(), rel=1e-15)
    t_max = budget * lam_min * (1.0 + threshold.COUNT_MARGIN)
    t = threshold.relaxation(lam, budget, n_avail, inv_sum, lam_min)
    width = min((n + 2) // 3, int(2.0 * math.sqrt(n)) + 16)
    found = every_bracket((lam, inv, budget, t, 0.0, inv_sum, -1.0, -1.0, 0, width, None, None, 0.0, t_max))
    bracket = found["python"]
    for name, other in found.items():
        assert other == bracket, name
    t_lo, t_hi, code, c_lo, c_hi = bracket
    assert code == threshold.NARROW and c_lo < budget <= c_hi
    assert t_hi <= t_max * (1.0 + MARGIN)
    assert exact_total(lam, t_lo, budget) < budget <= exact_total(lam, t_hi, budget)


@njit(cache=False)
def _numba_sampled_root(lam, budget, s, lo, hi):
    return threshold.sampled_root(lam, budget, s, lo, hi)


@settings(max_examples=200, deadline=None)
@given(problem=estimate_problems(), n=st.integers(1, 300))
def test_where_a_sample_holds_the_budget(problem, n):
    # With bounds, when most of sum(1/lam) is on workers at a bound, the step after the first
    # estimate aims where a sample of about 64 workers, scaled to all, holds the budget: bisected
    # in log t to 2**-10, alike in every implementation.
    lam, inv, s, budget, lo, hi = unpack(problem)
    if lo is None:
        lo, hi = np.zeros(lam.size, np.int64), np.full(lam.size, 3, np.int64)
    lam, lo, hi = np.resize(lam, n), np.resize(lo, n), np.resize(hi, n)
    sample = np.arange(0, n, threshold.sample_stride(n, threshold.SAMPLED_RELAXATION))
    cap = np.minimum(hi, budget)[sample].astype(np.float64)

    def sample_count(t):
        x = lam[sample]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            c = np.minimum(np.maximum(np.floor(t / x), lo[sample]), cap)
        return np.where(x == 0.0, cap, np.where(x < math.inf, c, 0.0)).sum()

    found = {"python": threshold.sampled_root(lam, budget, s, lo, hi),
             "numba": _numba_sampled_root(lam, budget, s, lo, hi)}
    cython_cpu = pytest.importorskip("fastata.kernels.cython_cpu")
    found["cython"] = cython_cpu.sampled_root_with(lam, budget, s, lo, hi)
    root = found["python"]
    for name, value in found.items():
        assert value == root, name
    target = budget * (sample.size / n)  # as the kernel rounds it: 149 * (75 / 149) is just above 75
    if sample_count(s) >= target:
        assert root == 0.0  # held at s already: no step to aim
    if root > 0.0:
        assert root > s and sample_count(root) >= target
        below = root / (1.0 + 2 * threshold.ROOT_WIDTH)
        assert below <= s or sample_count(below) < target or root == np.nextafter(below, math.inf)


@njit(cache=False)
def _numba_product_above(lam, t_lo, t_hi, need, budget, lo, hi):
    return threshold.product_above(lam, t_lo, t_hi, need, budget, lo, hi)


@settings(max_examples=300, deadline=None)
@given(problem=estimate_problems(), n=st.integers(1, 300), reach=st.sampled_from([1.2, 3.0, math.inf]),
       need=st.sampled_from([0.0, 1.0, 7.0, 100.0, 1e6]), tie=st.booleans())
@example(problem=(np.array([1.0, 1.0, 0.5]), 0.25, 1, None), n=12, reach=math.inf, need=1.0, tie=False)  # a third hold it
def test_the_next_product_above_a_flat(problem, n, reach, need, tie):
    # After a flat in the estimates, the next products of the sampled workers above t_lo (and
    # at most t_hi), within their bounds, tell where the count jumps: of the four smallest,
    # the first where their keys so far, scaled, make half of `need`, else the smallest; and
    # the first that more than one share past at most three single ones, with holders that
    # make half of `need` and half of the sampled workers there (or twice the need, past
    # single ones that make less than half of it), or 0. Alike in every implementation.
    lam, inv, s, budget, lo, hi = unpack(problem)
    lam = np.resize(lam, n)
    if tie:  # most workers of one time (one machine type), the rest as drawn
        lam[np.random.default_rng(n).random(n) < 0.8] = lam[0]
    if lo is not None:
        lo, hi = np.resize(lo, n), np.resize(hi, n)
    t_hi = s * reach
    stride = threshold.sample_stride(n, threshold.SAMPLED_WORKERS)
    products = []
    for i in range(0, n, stride):
        x = lam[i]
        if 0.0 < x < math.inf:
            cap = min(budget, int(hi[i])) if hi is not None else budget
            j = max(int(np.sum(np.arange(1, min(cap, 10**6) + 1) * x <= s)) if cap <= 10**6 else
                    threshold.count_le(x, s, cap), 0 if lo is None else int(lo[i])) + 1
            if j <= cap and float(j) * x <= t_hi:
                products.append(float(j) * x)
    four = sorted(set(products))[:4]
    held = [products.count(p) for p in four]
    expected = (0.0, 0.0)
    if four:
        reached = next((p for k, p in enumerate(four) if 2 * sum(held[:k + 1]) * stride >= need), four[0])
        first = next((k for k, h in enumerate(held) if h > 1), len(four) - 1)
        # held by half of the sampled workers with a key inside, or by fewer where its holders
        # alone make twice the need and the single ones before it not half
        most = 2 * held[first] >= len(products) or (held[first] * stride >= 2 * need and 2 * first * stride < need)
        tied = held[first] >= threshold.TIED_HOLDERS and most and 2 * held[first] * stride >= need
        expected = (reached, four[first] if tied else 0.0)
        event(f"tied: {bool(tied)}")
    found = {"python": threshold.product_above(lam, s, t_hi, need, budget, lo, hi),
             "numba": _numba_product_above(lam, s, t_hi, need, budget, lo, hi)}
    cython_cpu = pytest.importorskip("fastata.kernels.cython_cpu")
    found["cython"] = cython_cpu.product_above_with(lam, s, t_hi, need, budget, lo, hi)
    for name, value in found.items():
        assert tuple(value) == expected, name
    assert expected[0] == 0.0 or s < expected[0] <= t_hi


def test_a_sample_finds_the_budget_where_sum_of_one_over_lam_misleads():
    # lam over eighty orders of magnitude, at most 8 tasks each: the relaxation of sum(1/lam)
    # is 10**32 times below t* (about 0.13); 64 sampled workers put it within a factor of a
    # few hundred (the count there is a quantile of lam, which a sample of 64 knows roughly).
    n, budget = 65536, 262144
    lam = _bench.make_lam(n, distribution="wide")
    lo, hi = _bench.case_bounds(n, budget, lam)
    s = budget / np.sum(1.0 / lam)
    root = threshold.sampled_root(lam, budget, s, lo, hi)
    counts = lambda t: np.minimum(np.maximum(np.floor(t / lam), lo), hi).sum()
    assert counts(s * 1e30) < budget
    assert counts(root / 1000.0) < budget <= counts(root * 1000.0)


@st.composite
def checked_problems(draw):
    """:func:`estimate_problems` with bounds, good or bad in every way the check looks for."""
    lam, s, budget, _ = draw(estimate_problems())
    n = lam.size
    ints = st.one_of(st.integers(-3, 6), st.sampled_from([2**62, -(2**62), budget, budget + 1]))
    lo = np.array(draw(st.lists(ints, min_size=n, max_size=n)), dtype=np.int64)
    if draw(st.booleans()):  # mostly good: the sums are then what is checked
        lo = np.where(lam < math.inf, np.clip(lo, 0, budget), 0)
    room = st.one_of(st.integers(-2, 50), st.just(2**61))
    hi = np.clip(lo + np.array(draw(st.lists(room, min_size=n, max_size=n)), dtype=np.int64), -(2**62), 2**62)
    return lam, s, budget, (lo, hi)


_numba_estimate_checking = in_numba(threshold.estimate_checking_into)


@settings(max_examples=300, deadline=None)
@given(problem=checked_problems())
def test_the_first_estimate_also_checks_the_bounds(problem):
    # From 256 workers, the pass that takes the first estimate checks the bounds as well. A
    # bound is bad if a minimum is negative, above its maximum or the budget, or positive on
    # an unavailable worker; without bad bounds, the sums of the minimums and of the
    # available workers' caps decide the rest, and the room on the lam = 0 workers whether
    # they take every task left (scan_bounds_estimating).
    lam, inv, s, budget, lo, hi = unpack(problem)
    bad = int(((lo < 0) | (lo > hi) | (lo > budget) | ((inv == 0.0) & (lo > 0))).sum())
    cap = np.minimum(hi, budget)
    found = {"python": threshold.estimate_checking_into(inv, s, budget, lo, hi),
             "numba": _numba_estimate_checking(inv, s, budget, lo, hi)}
    cython_cpu = pytest.importorskip("fastata.kernels.cython_cpu")
    for level in cython_cpu.simd_levels():
        found["cython " + level] = cython_cpu.estimate_with(level, inv, s, budget, lo, hi, check=True)
    limit = budget + lam.size + 1
    whole = _whole_budget_inverse(inv, budget, hi)
    for name, (total, moving, n_bad, taken, capacity, room, whole_found) in found.items():
        assert n_bad == bad, name
        assert whole_found == whole, name
        if bad == 0:
            assert min(total, limit) == min(threshold.estimate_into(inv, s, budget, lo, hi), limit), name
            assert moving == pytest.approx(threshold.estimate_slope_into(inv, s, budget, lo, hi)[1], rel=1e-12), name
            # Exact below 2**53; past 2**52 they only need to be past the budget (< 2**51).
            assert min(taken, 2**52) == min(int(lo.sum()), 2**52), name
            assert min(capacity, 2**52) == min(sum(int(c) for c in cap[inv > 0.0]), 2**52), name
            assert min(room, 2**52) == min(sum(int(c) for c in (cap - lo)[lam == 0.0]), 2**52), name
    status, remaining, zero_room, _, _, whole_found = threshold.scan_bounds_estimating(lam, inv, s, budget, lo, hi)
    exact = threshold.scan_bounds_exact(lam, budget, lo, hi)
    assert (status, remaining) == exact[:2]
    assert whole_found == whole
    if status == 0 and zero_room < remaining:  # otherwise both fill with the lam = 0 workers
        assert zero_room == exact[2]


@njit(cache=False)
def _numba_scan_bounds(lam, budget, lo, hi):
    return threshold.scan_bounds(lam, budget, lo, hi)


def _whole_budget_inverse(inv, budget, hi):
    """The largest ``1/lam`` of a worker whose maximum holds the whole budget, or 0: where the
    bounded kernels cap their steps (``threshold.whole_budget_threshold``; +inf, a lam = 0
    worker, only where those take every task left, and the kernels read nothing)."""
    holds = hi >= budget
    return float(inv[holds].max()) if holds.any() else 0.0


@settings(max_examples=200, deadline=None)
@given(problem=checked_problems())
def test_the_bounds_check_finds_the_fastest_worker_that_holds_the_whole_budget(problem):
    # A worker whose maximum holds the whole budget holds it at budget * lam_i, whatever the
    # others hold: no pass needs to look above. The bounds check without estimates (from
    # 2**51 tasks, or below 4096 workers) finds it from lam, in every implementation.
    lam, inv, _, budget, lo, hi = unpack(problem)
    lo = np.where(lam < math.inf, np.clip(lo, 0, budget), 0)  # good bounds: the check's sums hold
    hi = np.maximum(hi, lo)
    with np.errstate(divide="ignore"):
        inv = 1.0 / lam
    found = threshold.scan_bounds(lam, budget, lo, hi)
    assert found[3] == _whole_budget_inverse(inv, budget, hi)
    assert _numba_scan_bounds(lam, budget, lo, hi) == found
    cython_cpu = pytest.importorskip("fastata.kernels.cython_cpu")
    for level in cython_cpu.simd_levels():
        assert cython_cpu.scan_bounds_with(level, lam, budget, lo, hi) == found, level


@njit(cache=False, error_model="numpy")  # as the kernels: 1/0 is inf, not an exception
def _numba_inverse_checking(lam, inv, s, budget, lo, hi, least):
    return threshold.inverse_checking_pass(lam, inv, s, budget, lo, hi, least)


@pytest.mark.parametrize("raised", [False, True])
@settings(max_examples=300, deadline=None)
@given(problem=checked_problems(), spoil=st.sampled_from([None, math.nan, -1.0, -0.0]))
def test_the_validation_pass_checks_the_bounds_too(raised, problem, spoil):
    # From 4096 workers the pass that computes 1/lam also checks the bounds and takes the
    # first estimate: what the validation pass and the checking estimate pass find apart
    # (test_the_first_estimate_also_checks_the_bounds), in every implementation. A NaN or
    # negative lam flags its worker, as a bad bound does (scan then names it).
    # Raised: where products below 2**-1022 may occur, the estimate multiplies s by
    # max(1/lam, 0.5 / s), which changes no term.
    lam, inv, s, budget, lo, hi = unpack(problem)
    least = 0.5 / s if raised else None
    if spoil is not None:
        lam = lam.copy()
        lam[len(lam) // 2] = spoil
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / (lam + 0.0)  # lam = -0.0 is a zero worker: +inf
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_sum, n_invalid, _, _, _, _, _ = threshold.inverse_pass(lam, np.empty(lam.size), 1.0, 0.0, 0, None)
        total, moving, n_bad, taken, capacity, room, whole = threshold.estimate_checking_into(inv, s, budget, lo, hi)
        # A worker is flagged once, for its lam or its bounds (estimate_checking_into's rule).
        bad = (lo < 0) | (lo > hi) | (lo > budget) | ((inv == 0.0) & (lo > 0))
        n_flagged = int(np.sum(bad | ~(lam >= 0.0)))
        second = threshold.estimate_into(inv, s * threshold.SLOPE_STEP, budget, lo, hi)
        runs = {"python": lambda out: threshold.inverse_checking_pass(lam, out, s, budget, lo, hi, least),
                "numba": lambda out: _numba_inverse_checking(lam, out, s, budget, lo, hi, least)}
        cython_cpu = pytest.importorskip("fastata.kernels.cython_cpu")
        for level in cython_cpu.simd_levels():
            runs["cython " + level] = lambda out, level=level: cython_cpu.inverse_checking_with(
                level, lam, out, s, budget, lo, hi, least or 0.0)
        for name, run in runs.items():
            out = np.empty(lam.size)
            found = run(out)
            np.testing.assert_array_equal(out, inv, err_msg=name)
            assert found[1] == n_flagged, name
            if n_invalid == 0:
                assert found[0] == pytest.approx(inv_sum, rel=1e-12), name
                if n_bad == 0:
                    limit = budget + lam.size + 1  # sums of integers, exact below 2**53
                    assert min(found[2], limit) == min(total, limit), name
                    assert min(found[7], limit) == min(second, limit), name  # the secant's other end
                    assert found[3] == pytest.approx(moving, rel=1e-12), name
                    # Exact below 2**53; past 2**52 they only need to be past the budget.
                    assert [min(v, 2**52) for v in found[4:7]] == [min(v, 2**52) for v in (taken, capacity, room)], name
                    assert found[8] == whole, name


@pytest.mark.parametrize("n", [1500, 5003])
@pytest.mark.parametrize("zeros", [False, True])
@pytest.mark.parametrize("spoil", [None, "idle", "nan", "negative", "minimum on unavailable", "minimum above max",
                                   "negative max", "subnormal"])
def test_the_validation_pass_finds_a_bad_worker_past_its_first_blocks(n, zeros, spoil):
    # Cython's AVX2 pass checks blocks of workers as a whole and does the first block that
    # fails again worker by worker, to the end: what it finds is what plain Python finds,
    # wherever the worker is (here past the first 1024), on every level. With lam = 0
    # workers from the second block on (zeros), the blocks from there count them apart (their
    # 1/lam out of the sum, their room added up) until the bad worker's block, if any.
    rng = np.random.default_rng(n)
    lam = rng.lognormal(0.0, 1.0, n)
    lam[rng.random(n) < 0.1] = math.inf
    if zeros:
        lam[700:][rng.random(n - 700) < 0.1] = 0.0
    budget = 4 * n
    lo = np.where(lam < math.inf, 1, 0).astype(np.int64)
    hi = np.where(rng.random(n) < 0.1, 2**62, 9).astype(np.int64)
    where = n - 7
    if spoil == "idle":
        lam[where] = 0.0
    elif spoil == "nan":
        lam[where] = math.nan
    elif spoil == "negative":
        lam[where] = -2.0
    elif spoil == "minimum on unavailable":
        lam[where], lo[where] = math.inf, 1
    elif spoil == "minimum above max":
        lo[where], hi[where] = 5, 4
    elif spoil == "negative max":
        lo[where], hi[where] = 0, -1
    elif spoil == "subnormal":
        lam[where] = 5e-324
    s = 0.9 * budget / float(np.sum(1.0 / lam[(lam < math.inf) & (lam > 1e-300)]))
    with np.errstate(all="ignore"):
        expected = threshold.inverse_checking_pass(lam, np.empty(n), s, budget, lo, hi, None)
        cython_cpu = pytest.importorskip("fastata.kernels.cython_cpu")
        for level in cython_cpu.simd_levels():
            found = cython_cpu.inverse_checking_with(level, lam, np.empty(n), s, budget, lo, hi)
            assert found[1] == expected[1], level  # entries flagged
            assert found[0] == pytest.approx(expected[0], rel=1e-12, nan_ok=True), level
            if expected[1] == 0:
                # sums of integers, exact; the slope a float sum, in each level's order
                assert [found[k] for k in (2, 4, 5, 6, 7, 8)] == [expected[k] for k in (2, 4, 5, 6, 7, 8)], level
                assert found[3] == pytest.approx(expected[3], rel=1e-12), level


# Problems large enough for the estimate passes (from 256 workers), built from a few speeds.
@st.composite
def large_tied_problems(draw):
    values = draw(st.lists(st.sampled_from([0.1, 0.25, 0.3, 0.5, 1.0, 1.5, 2.0, 3.0, 7.0, 58.0]),
                           min_size=1, max_size=4, unique=True))
    n = draw(st.integers(threshold.EXTREMES_N, 1200))
    extra = draw(st.sampled_from([[], [math.inf], [1e-300], [1e300]]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    lam = rng.choice(np.array(values + extra), n)
    if draw(st.booleans()):  # ties of nearby, not equal, speeds as well
        lam = lam * (1.0 + rng.integers(0, 3, n) * 2.0**-40)
    if not np.isfinite(lam).any():
        lam[0] = values[0]
    return lam, draw(st.integers(1, 4 * n))


@settings(max_examples=40, deadline=None)
@given(problem=large_tied_problems())
def test_large_tied_problems_equal_the_reference(fast_backend, problem):
    lam, budget = problem
    np.testing.assert_array_equal(fa.allocate(lam, budget, backend=fast_backend), reference(lam, budget))


@settings(max_examples=25, deadline=None)
@given(problem=large_tied_problems(), cap=st.integers(1, 6))
def test_large_tied_problems_with_bounds_equal_the_reference(fast_backend, problem, cap):
    lam, budget = problem
    available = lam < math.inf
    budget = min(budget, cap * int(available.sum()))
    low = np.where(available, 1, 0) if budget >= available.sum() else 0
    got = fa.allocate(lam, budget, min_tasks=low, max_tasks=cap, backend=fast_backend)
    np.testing.assert_array_equal(got, fa.allocate(lam, budget, min_tasks=low, max_tasks=cap, backend="python"))


# Estimates that mislead, in the kernel's algorithm run as plain Python: each one sends the
# call down a path that smooth inputs never take.
LIES = {
    # far too many keys between: the selection runs out of room and 1/lam is recomputed
    "narrow, too wide": lambda lo, hi, c_lo, c_hi: (0.5 * lo, 4.0 * hi, threshold.NARROW, c_lo, c_hi),
    # a lower end that is not below t*: the exact count there shows it
    "narrow, lower end too high": lambda lo, hi, c_lo, c_hi: (4.0 * hi, 8.0 * hi, threshold.NARROW, c_lo, c_hi),
    # a jump far below the upper end: the product next to the line's aim is not t*, the
    # split says so
    "jump, upper end too high": lambda lo, hi, c_lo, c_hi: (0.5 * lo, 4.0 * hi, threshold.JUMP, c_lo, c_hi),
    # estimates at the ends that aim the guess, and the first count after a refusal, anywhere
    "jump, ends' estimates far off": lambda lo, hi, c_lo, c_hi: (0.5 * lo, 4.0 * hi, threshold.JUMP, 0, 1),
    "jump, ends' estimates equal": lambda lo, hi, c_lo, c_hi: (0.5 * lo, 4.0 * hi, threshold.JUMP, c_hi, c_hi),
    "passes ran out": lambda lo, hi, c_lo, c_hi: (0.5 * lo, 4.0 * hi, 0, c_lo, c_hi),
    "landed, off the budget": lambda lo, hi, c_lo, c_hi: (0.5 * lo, 1.7 * hi, threshold.LANDED, c_lo, c_hi),
    "nothing found": lambda lo, hi, c_lo, c_hi: (0.0, math.inf, 0, c_lo, c_hi),
}


@pytest.mark.parametrize("lie", list(LIES))
@pytest.mark.parametrize("distribution", ["exponential", "two-speeds", "integers", "paper"])
@pytest.mark.parametrize("bounded", [False, True])
def test_misleading_estimates_cost_passes_never_correctness(monkeypatch, lie, distribution, bounded):
    n, budget = 600, 900
    lam = _bench.make_lam(n, seed=3, distribution=distribution)
    lo, hi = _bench.case_bounds(n, budget, lam) if bounded else (None, None)
    honest = threshold.estimate_bracket

    def misleading(*args):
        # Without the count and listing a trusted pair's line sends them to (reach -1): the
        # estimates alone, which the lie then replaces.
        t_lo, t_hi, found, c_lo, c_hi = honest(*args[:14], -1.0, *args[15:])
        return LIES[lie](t_lo if t_lo > 0 else 1e-3, t_hi if t_hi < math.inf else 1e3, c_lo, c_hi)

    monkeypatch.setattr(threshold, "estimate_bracket", misleading)
    out, ties, heap = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n + 2)
    with np.errstate(all="ignore"):
        if bounded:
            assert threshold.allocate_bounded_into(lam, budget, lo, hi, out, ties, heap) == 0
        else:
            assert threshold.allocate_into(lam, budget, out, ties, heap) == 0
    assert is_canonical(lam, budget, out, lo, hi)


@njit(cache=False, error_model="numpy")
def _numba_sampled_bounded_guess(lam, budget, t, lo, hi, scratch):
    return threshold.sampled_bounded_guess(lam, budget, t, lo, hi, scratch)


@pytest.mark.parametrize("distribution", _bench.DISTRIBUTIONS)
@pytest.mark.parametrize("n, budget", [(4096, 4096), (4096, 16384), (65536, 262144), (70001, 65536), (65536, 58982),
                                       (65536, 6553)])
def test_the_sampled_guess_with_bounds_is_the_same_everywhere(distribution, n, budget):
    # The cold first guess with bounds: the same float in plain Python, numba and Cython at
    # each SIMD level (its sums over the sample run in four lanes, a vector of them with
    # AVX2), so that every backend takes the same passes (and keeps the same warm state).
    lam = _bench.make_lam(n, distribution=distribution)
    lo, hi = _bench.case_bounds(n, budget, lam)
    r = threshold.sampled_relaxation(lam, budget)
    scratch = np.empty(n + 3)
    with np.errstate(divide="ignore"):
        guess = threshold.sampled_bounded_guess(lam, budget, r, lo, hi, scratch)
    assert _numba_sampled_bounded_guess(lam, budget, r, lo, hi, scratch) == guess
    cython_cpu = pytest.importorskip("fastata.kernels.cython_cpu")

    def same(level):
        assert cython_cpu.sampled_bounded_guess_with(lam, budget, r, lo, hi, scratch) == guess, level

    at_every_level(same)


@njit(cache=False)
def _numba_sampled_relaxation_at(scratch, m, t):
    return threshold.sampled_relaxation_at(scratch, m, t)


@pytest.mark.parametrize("m", [1, 6, 64, 1023])
def test_the_sampled_relaxation_sums_in_four_lanes(m):
    # The sampled guess's sums: worker k's term in lane k % 4, each lane in order, then
    # (0 + 1) + (2 + 3), in plain Python and numba alike (Cython's, a vector of the four
    # lanes, gives the same guess: the test above). The sample sits in blocks of four, the
    # last padded with terms of 0; nothing past it is read (NaN there would show).
    rng = np.random.default_rng(m)
    inv = 10.0 ** rng.uniform(-5.0, 5.0, m)
    inv[::7] = np.inf  # lam = 0
    inv[::11] = 0.0  # unavailable
    low = rng.integers(0, 3, m).astype(float)
    cap = low + rng.integers(0, 5, m)
    scratch = np.full(12 * ((m + 3) // 4) + 12, np.nan)
    for k in range((m + 3) // 4 * 4):
        j = threshold.sample_slot(k)
        scratch[j], scratch[j + 4], scratch[j + 8] = (inv[k], low[k], cap[k]) if k < m else (0.0, 0.0, 0.0)
    t = 1.7
    q = t * np.maximum(inv, 0.25 / t) - 0.5
    c = np.minimum(np.maximum(q, low), cap)

    def lanes(terms):
        sums = [0.0] * 4
        for k, term in enumerate(terms):
            sums[k % 4] += term
        return (sums[0] + sums[1]) + (sums[2] + sums[3])

    expected = (lanes(c), lanes(c * c), lanes(np.where((low < q) & (q < cap), inv, 0.0)))
    assert threshold.sampled_relaxation_at(scratch, m, t) == expected
    assert _numba_sampled_relaxation_at(scratch, m, t) == expected


@pytest.mark.parametrize("distribution, near", [("exponential", 0.04), ("paper", 0.04), ("zeros", 0.04),
                                                ("wide", 0.35), ("lognormal", None), ("uniform", None)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_sampled_guess_moves_only_where_the_bounds_move_t_star(distribution, near, seed):
    # At most twice the average a worker: caps hold the fast workers of exponential and
    # linear times, and the relaxation, which ignores them, lands 27-75 % short of the
    # budget; the sample with its bounds lands within 4 %. Times over dozens of orders of
    # magnitude (wide) leave every sampled worker at a bound at the relaxation, 70 % short:
    # the steps along the line in log t land within 2-33 % (each of the sample's 64 workers
    # stands for a thousand, orders of magnitude apart). Where the bounds move t* less than
    # the sample's own noise (log-normal, uniform times), the relaxation stays, or the
    # guess moves nearer.
    n, budget = 65536, 262144
    lam = _bench.make_lam(n, seed, distribution=distribution)
    lo, hi = _bench.case_bounds(n, budget, lam)
    r = threshold.sampled_relaxation(lam, budget)
    with np.errstate(divide="ignore"):
        inv = 1.0 / (lam + 0.0)
        guess = threshold.sampled_bounded_guess(lam, budget, r, lo, hi, np.empty(n + 3))
    inv[lam == np.inf] = 0.0
    off = [abs(threshold.estimate_into(inv, s, budget, lo, hi) - budget) for s in (r, guess)]
    if near is not None:
        assert off[1] < near * budget and 2 * off[1] < off[0]
    else:
        assert guess == r or off[1] < off[0]


@pytest.mark.parametrize("distribution, tasks, most", [("close", 58982, 1), ("uniform", 58982, 1), ("close", 6553, 1),
                                                      ("pareto", 6553, 1), ("close", 6553, 2), ("close", 117964, 2)])
def test_a_key_or_two_a_worker_is_guessed_from_the_sampled_keys(general_path, monkeypatch, distribution, tasks, most):
    # At most a task or two a worker, each worker counts 0, 1 or 2 at a threshold: the
    # relaxation's ramp over [lam/2, 3 lam/2] misplaces t* by 15-40 % where the times lie
    # within a few percent of each other, and every sampled worker sits at a bound there.
    # The sampled keys' own quantile lands within 1 %, and the search takes the validation
    # pass and one count and listing, or a pair and a second count (four or five pairs
    # before).
    n = 65536
    lam = _bench.make_lam(n, distribution=distribution)
    lo, hi = np.zeros(n, np.int64), np.full(n, most, np.int64)
    t_star = np.sort(np.concatenate([lam * (j + 1) for j in range(most)]))[tasks - 1]
    r = threshold.sampled_relaxation(lam, tasks)
    guess = threshold.sampled_bounded_guess(lam, tasks, r, lo, hi, np.empty(n + 3))
    assert abs(guess / t_star - 1.0) < 0.01
    passes = _bench.counting_passes(lam, tasks, None, lo, hi)
    assert passes.get("estimate pair", 0) <= 1 and passes["count and listing"] <= 2, passes
    assert set(passes) <= {"inverse, bounds check and estimate", "estimate pair", "count and listing"}, passes
    monkeypatch.setattr(threshold, "RANK_KEYS", 0)  # the relaxation alone, as before
    relaxed = threshold.sampled_bounded_guess(lam, tasks, r, lo, hi, np.empty(n + 3))
    assert abs(relaxed / t_star - 1.0) > 0.1


def _aimed_counts_and_pairs(monkeypatch, lam, budget, lo, hi):
    """Allocate in plain Python, recording in order each aimed count and listing (``("count",
    t_lo, t_hi, held, keys at t_lo, keys at t_hi)``, select_aimed's included) and each
    estimate pair (``("pair",)``); returns ``(events, out)``."""
    events = []
    counted, pairs = threshold.select_aimed_counted, threshold.estimate_pair_into

    def recording_count(lam, inv, budget, t_lo, t_hi, *rest):
        end, c_lo, c_hi = counted(lam, inv, budget, t_lo, t_hi, *rest)
        events.append(("count", t_lo, t_hi, end > 0.0, c_lo, c_hi))
        return end, c_lo, c_hi

    def recording_pair(*args):
        events.append(("pair",))
        return pairs(*args)

    monkeypatch.setattr(threshold, "select_aimed_counted", recording_count)
    monkeypatch.setattr(threshold, "estimate_pair_into", recording_pair)
    n = lam.shape[0]
    out, ties, heap = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n + 2)
    with np.errstate(all="ignore"):
        assert threshold.allocate_bounded_into(lam, budget, lo, hi, out, ties, heap) == 0
    monkeypatch.setattr(threshold, "select_aimed_counted", counted)  # its own patches only
    monkeypatch.setattr(threshold, "estimate_pair_into", pairs)
    return events, out


def _second_count_starts_where_the_miss_counted(counts, budget):
    """Of two aimed counts, the first missing the budget: the second holds it and starts from
    the end the miss counted exactly (its lower end where the miss lay below the budget, its
    upper end where above); returns the side of the miss."""
    assert len(counts) == 2, counts
    (_, miss_lo, miss_hi, missed, c_lo, c_hi), (_, start, end, held, start_c, end_c) = counts
    assert not missed and held, counts
    if c_lo >= budget:  # all of the miss's bracket above the budget
        assert start < end == miss_lo and end_c == c_lo, counts
        return "above"
    assert c_hi < budget and (start, start_c) == (miss_hi, c_hi) and start < end, counts
    return "below"


def test_a_missed_aim_of_the_validation_pass_counts_again_from_its_exact_end(general_path, monkeypatch):
    # One machine type at a task a worker: the secant of the validation pass's two estimates
    # (3 % apart) may aim the count and listing a few keys past the budget. That count is
    # exact: the second count and listing starts from it at once, along the line to the
    # estimate on the budget's other side (a pair after that count had followed, wasted).
    # Over eight draws, each that misses, either way.
    n, budget = 65536, 58982
    sides = []
    for seed in range(8):
        lam = _bench.make_lam(n, seed, "close")
        lo, hi = _bench.case_bounds(n, budget, lam)
        events, out = _aimed_counts_and_pairs(monkeypatch, lam, budget, lo, hi)
        assert is_canonical(lam, budget, out, lo, hi)
        assert {e[0] for e in events} == {"count"}, events
        if not events[0][3]:
            sides.append(_second_count_starts_where_the_miss_counted(events, budget))
        else:
            assert len(events) == 1, events
    assert set(sides) == {"above", "below"}, sides


def test_a_share_below_one_sampled_key_takes_the_least_key(monkeypatch):
    # A tenth of the workers unavailable, the rest at one to two tasks: the minimums hold all
    # but 58 of 58,982 tasks, less than one key of a 1024-worker sample. The least sampled
    # key above the minimums is then the general path's guess, some sixty keys up (the
    # relaxation's guess held six: five estimate passes crept up from it). The call itself
    # is a selection (one task of room a worker), whose lowest cuts go to 0: two passes.
    n, budget = 65536, 58982
    lam = _bench.make_lam(n, 0, "unavailable")
    lo, hi = _bench.case_bounds(n, budget, lam)
    stride = threshold.sample_stride(n, threshold.BOUNDED_SAMPLE)  # as sampled_bounded_guess takes it
    sampled = lam[::stride]
    least = (2.0 * sampled[sampled < np.inf]).min()
    assert threshold.sampled_rank_guess(lam, budget, lo, hi, stride, np.empty(n + 2)) == least
    selection = {"selection's check and counts": 1, "selection's write and listing": 1}
    assert _bench.counting_passes(lam, budget, None, lo, hi) == selection
    monkeypatch.setattr(threshold, "UNIT_SLACK_FROM", 2**62)  # the general path
    passes = _bench.counting_passes(lam, budget, None, lo, hi)
    assert passes.get("estimate", 0) <= 2 and passes["count and listing"] == 1, passes


def test_keys_piled_at_the_sampled_quantile_leave_the_guess_to_the_relaxation(monkeypatch):
    # Two machine types with times a millionth apart, at most a task a worker, the budget
    # inside one type's band: the count jumps by thousands of keys within a few ulps of the
    # sampled quantile, and the validation pass's second estimate 3 % up (SLOPE_STEP) aims
    # past the band (3.4 -> 6.35 passes). Keys piled around the quantile decline the guess.
    rng = np.random.default_rng(0)
    n = 4096
    lam = rng.choice(np.array([1.0, 1.17]), n) * (1.0 + 1e-6 * rng.standard_normal(n))
    lo, hi = np.zeros(n, np.int64), np.ones(n, np.int64)
    stride = threshold.sample_stride(n, n // threshold.BOUNDED_STRIDE)  # as sampled_bounded_guess takes it
    sampled = lam[::stride]
    budget = (np.sum(sampled < 1.1) + 3) * n // sampled.size  # the sample's quantile three keys into 1.17's band
    assert threshold.sampled_rank_guess(lam, budget, lo, hi, stride, np.empty(n + 2)) == -1.0
    monkeypatch.setattr(threshold, "RANK_GAP", 0.0)  # without that test, the guess is taken
    assert threshold.sampled_rank_guess(lam, budget, lo, hi, stride, np.empty(n + 2)) > 0.0


@pytest.mark.parametrize("m", [1, 2, 15, 16, 17, 64, 1000])
def test_select_value_is_the_kth_smallest(m):
    rng = np.random.default_rng(m)
    for values in (rng.random(m), rng.integers(0, 4, m).astype(float), np.sort(rng.random(m))[::-1].copy()):
        for k in {1, (m + 1) // 2, m}:
            assert threshold.select_value(values.copy(), m, k) == np.sort(values)[k - 1]


@njit(cache=False, error_model="numpy")
def _numba_allocate_positive(lam, heap, budget, t, slope, first, second, base, out, ties, lo, hi):
    return threshold.allocate_positive(lam, heap, budget, math.inf, t, 0.0, slope, first, second, -1.0, base, 0.0,
                                       math.inf, 0.0, out, ties, heap, lo, hi)


#: Where the bracket aimed by the validation pass's two estimates lands: ``(t / t*, m)`` for
#: the first estimate ``budget - d`` at ``t`` and the second ``m * d`` above it at ``t *
#: SLOPE_STEP`` (``d = SPECULATE_AIM * width``), so that the bracket is ``[t, t * (1 + 2 *
#: (SLOPE_STEP - 1) / m)]``; ``m = 0``: a flat, no line to aim by.
AIMS = {
    "around t*": (0.995, 4.0),
    "lower end at t*": (1.0, 4.0),  # the count there is the budget: the prefix is the allocation
    "lower end above t*": (1.02, 4.0),
    "upper end below t*": (0.95, 4.0),
    "budget far outside the estimates": (0.95, 0.05),
    "flat": (0.95, 0.0),
}


@pytest.mark.parametrize("aim", list(AIMS))
@pytest.mark.parametrize("distribution", ["lognormal", "uniform", "paper"])
@pytest.mark.parametrize("bounded", [True, False])
def test_a_speculative_bracket_that_misses_costs_a_pass_never_correctness(aim, distribution, bounded):
    # After the validation pass the count and listing go straight to the bracket its two
    # estimates aim; that bracket is checked by the exact count and the keys listed, and
    # where it misses, the estimates run as before. Plain Python, numba and every Cython
    # level take the same steps to the same canonical allocation and bracket.
    n, budget = 5000, 20000
    lam = _bench.make_lam(n, seed=2, distribution=distribution)
    lo, hi = _bench.case_bounds(n, budget, lam) if bounded else (None, None)
    expected = fa.allocate(lam, budget, min_tasks=lo, max_tasks=hi, backend="python")
    tstar = float(np.max(np.where(expected > (lo if bounded else 0), expected * lam, 0.0)))
    width = min((n + 2) // 3, int(2.0 * math.sqrt(n)) + 16)
    d = threshold.SPECULATE_AIM * width
    share, m = AIMS[aim]
    t = tstar * share
    first = budget - d
    second = first + m * d
    slope = m * d / (t * threshold.SLOPE_STEP - t) if m > 0 else float(np.sum(1.0 / lam))
    base = int(lo.sum()) if bounded else 0
    found = {}

    def run(name, fn):
        out, ties, heap = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n + 2)
        heap[:n] = 1.0 / lam
        with np.errstate(all="ignore"):
            bracket = fn(lam, heap, budget, t, slope, first, second, base, out, ties, lo, hi)
        found[name] = (tuple(bracket), out.tolist())

    run("python", lambda *a: threshold.allocate_positive(a[0], a[1], a[2], math.inf, a[3], 0.0, a[4], a[5], a[6], -1.0,
                                                         a[7], 0.0, math.inf, 0.0, a[8], a[9], a[1], a[10], a[11]))
    run("numba", _numba_allocate_positive)
    cython_cpu = pytest.importorskip("fastata.kernels.cython_cpu")
    at_every_level(lambda level: run("cython " + level, lambda *a: cython_cpu.allocate_positive_with(
        *a[:10], min_tasks=a[10], max_tasks=a[11])))
    bracket, out = found["python"]
    assert is_canonical(lam, budget, np.array(out), lo, hi)
    for name, other in found.items():
        assert other == found["python"], name
    aimed = threshold.speculative_bracket(budget, t, first, second, width)
    if aim == "lower end at t*":
        assert aimed[0] == tstar
        if exact_total(lam, tstar, budget, lo, hi) == budget:  # no other key at t*
            assert bracket == (tstar, tstar)
    elif aim == "around t*":
        assert aimed[0] < tstar <= aimed[1] and bracket == aimed
    elif aim.startswith("budget far") or aim == "flat":
        assert aimed == (-1.0, -1.0)
    else:
        assert aimed[0] > 0.0 and bracket != aimed


@pytest.mark.parametrize("distribution", ["lognormal", "exponential", "paper", "uniform", "unavailable"])
def test_smooth_times_with_bounds_take_two_passes(distribution):
    # The validation pass estimates twice, at the sampled guess and 3 % above; the line
    # through them aims the count and listing, which finish: no estimate pass between.
    n, budget = 65536, 262144
    lam = _bench.make_lam(n, distribution=distribution)
    lo, hi = _bench.case_bounds(n, budget, lam)
    passes = _bench.counting_passes(lam, budget, min_tasks=lo, max_tasks=hi)
    assert passes == {"inverse, bounds check and estimate": 1, "count and listing": 1}


@pytest.mark.parametrize("distribution, seed, size, pairs", [("extreme", 2, (65536, 262144), 2),
                                                            ("extreme", 4, (65536, 262144), 2)])
def test_a_trusted_pair_line_sends_the_count_and_listing_a_pair_early(distribution, seed, size, pairs):
    # Where the validation pass's line is not trusted (times over dozens of orders of
    # magnitude: a guess far off), estimate pairs aim along a line; after the first whose
    # own secant agrees with that line near the budget, the count and listing go to the
    # bracket it aims instead of a further pair. (A draw whose sample lands above t*
    # estimates down first instead.)
    n, budget = size
    lam = _bench.make_lam(n, seed, distribution)
    lo, hi = _bench.case_bounds(n, budget, lam)
    passes = _bench.counting_passes(lam, budget, min_tasks=lo, max_tasks=hi)
    assert passes == {"inverse, bounds check and estimate": 1, "estimate pair": pairs, "count and listing": 1}


@pytest.mark.parametrize("backend", ["numba", "cython"])
def test_a_trusted_pair_line_that_misses_is_aimed_again_from_what_it_counted(general_path, monkeypatch, backend):
    # One machine type (lognormal(0, 0.05)), 0.1 tasks a worker, no bounds, 262,144 workers
    # (where the estimates without bounds come in pairs): over the type's band the counts
    # are convex, and a trusted pair's line may aim short or long (its count and listing
    # find the budget above or below their bracket). That pass counted exactly to its ends:
    # the next count and listing starts at the end it crossed, along the line to the
    # estimate on the budget's other side, and holds it, with no estimate pass between (an
    # estimate pair and a second aimed count before). Over six draws, each that misses,
    # either way. The answer is canonical and the same in every implementation (numba and
    # every Cython level: CUDA's one-thread path compiles this same code, which the
    # simulator would take minutes over at this size). (2 plus log-normal times at 32,768
    # workers with bounds missed as well, until an aimed line had to reach the budget
    # within PAIR_OWN_REACH times the pair's keys: theirs does not, and is not taken.)
    n, budget = threshold.PAIRED_FROM, 26214
    sides = []
    for seed in range(6):
        lam = _bench.make_lam(n, seed, "close")
        events, out = _aimed_counts_and_pairs(monkeypatch, lam, budget, None, None)
        assert is_canonical(lam, budget, out, None, None)
        kinds = [e[0] for e in events]
        counts = [e for e in events if e[0] == "count"]
        assert kinds == ["pair"] * (len(events) - len(counts)) + ["count"] * len(counts), kinds
        if counts[0][3]:
            assert len(counts) == 1, events
            continue
        sides.append(_second_count_starts_where_the_miss_counted(counts, budget))

        def same(level=None):
            np.testing.assert_array_equal(fa.allocate(lam, budget, backend=backend), out,
                                          err_msg=f"{backend} {level or ''}")

        if backend == "numba":
            same()
        else:
            at_every_level(same)
    assert set(sides) == {"above", "below"}, sides


def test_repeated_times_in_the_sample_mark_ties():
    rng = np.random.default_rng(0)
    assert not threshold.sampled_repeats(rng.lognormal(0.0, 0.5, 65536))
    assert threshold.sampled_repeats(np.round(rng.uniform(0.5, 2.0, 65536), 1))
    # zeros and unavailable workers are not times that tie
    lam = rng.lognormal(0.0, 0.5, 65536)
    lam[::2] = 0.0
    lam[1::4] = np.inf
    assert not threshold.sampled_repeats(lam)


@pytest.mark.parametrize("distribution, seed", [("lognormal", 0), ("exponential", 3), ("uniform", 0), ("paper", 0)])
def test_a_warm_call_estimates_at_its_second_guess_in_the_validation_pass(distribution, seed):
    # A policy's next round: bounds a percent away from the last ones. The warm call's two
    # guesses (the previous bracket, scaled) are both estimated in the validation pass, so
    # the count and listing follow it at once: no estimate pass of its own for the second.
    # Every backend (each Cython SIMD level) keeps the same bracket and allocation, which is
    # the cold call's. (Where the first guess lands a few keys under the budget, one estimate
    # more follows a hair above it: exponential times on most draws.)
    n = budget = 4096
    lam = _bench.make_lam(n, seed=seed, distribution=distribution)
    moved = lam * (1.0 + 0.01 * np.random.default_rng(1).standard_normal(n))
    state = np.zeros(3)
    _bench.counting_passes(lam, budget, state)
    warm = state.copy()
    assert _bench.counting_passes(moved, budget, state) == {"inverse": 1, "count and listing": 1}
    expected = fa.allocate(moved, budget, backend="python")
    found = {}

    def run(name, allocate_warm_into):
        out, ties, heap, kept = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n + 2), warm.copy()
        assert allocate_warm_into(moved, budget, out, ties, heap, kept) == 0, name
        found[name] = (kept[:2].tolist(), out)

    run("python", threshold.allocate_warm)  # the kernels' algorithm, as plain Python
    run("numba", fa._backends.resolve("numba")[1].allocate_warm_into)
    cython_cpu = pytest.importorskip("fastata.kernels.cython_cpu")
    at_every_level(lambda level: run("cython " + level, cython_cpu.allocate_warm_into))
    for name, (bracket, out) in found.items():
        np.testing.assert_array_equal(out, expected, err_msg=name)
        # (up to the last bits of the relaxation each sums in an order of its own)
        assert bracket == pytest.approx(found["python"][0], rel=n * 2.0**-52), name


def test_an_estimate_given_at_the_second_guess_is_taken_as_its_pass_would_find_it():
    # estimate_bracket with the estimate at t2 given returns what it returns when it
    # estimates there itself, in plain Python, numba and every Cython level.
    n, budget = 5000, 20000
    lam = _bench.make_lam(n, seed=4, distribution="lognormal")
    inv = 1.0 / lam
    r = budget / inv.sum()
    t, t2 = 1.01 * r, 0.99 * r
    first = threshold.estimate_into(inv, t, budget, None, None)
    at_t2 = threshold.estimate_into(inv, t2, budget, None, None)
    width = min((n + 2) // 3, int(2.0 * math.sqrt(n)) + 16)
    given = every_bracket((lam, inv, budget, t, t2, inv.sum(), first, at_t2, 0, width, None, None, 0.0, math.inf))
    measured = every_bracket((lam, inv, budget, t, t2, inv.sum(), first, -1.0, 0, width, None, None, 0.0, math.inf))
    assert given == measured
    assert len(set(given.values())) == 1, given


def fair_share_bounds(lam, budget):
    # At least a task for every available worker, at most twice the fair share.
    available = int(np.sum(lam < np.inf))
    low = np.where(lam < np.inf, 1 if budget >= available else 0, 0).astype(np.int64)
    return low, np.full(lam.shape[0], max(1, -(-2 * budget // available)), np.int64)


def bends_at_the_caps():
    # Two machine types 100x apart with 1 % noise, a thousand tasks a worker: the fast half's
    # caps hold the budget, and the counts bend flat just past t*.
    rng = np.random.default_rng(7)
    n, budget = 20000, 2 * 10**7
    lam = np.where(rng.random(n) < 0.5, 1.0, 100.0) * rng.lognormal(0, 0.01, n)
    return lam, budget


def lumps_of_keys(kind):
    rng = np.random.default_rng(7)
    if kind == "ten kinds":  # times 0.1 apart, a thousand tasks a worker
        return rng.integers(1, 11, 20000) * 0.1, 2 * 10**7
    return 2.0 ** rng.integers(-5, 5, 4096), 409600  # powers of two, a hundred tasks a worker


def passes_without(monkeypatch, name, lam, budget, lo, hi):
    """The weighted passes with and without ``threshold.<name>`` (as if it said no)."""
    weights = {"estimate": 0.25, "estimate with slope": 0.3, "estimate pair": 0.35}

    def weighed(passes):
        return sum(k * weights.get(kind, 1.0) for kind, k in passes.items())

    with_rule = weighed(_bench.counting_passes(lam, budget, min_tasks=lo, max_tasks=hi))
    with monkeypatch.context() as m:
        m.setattr(threshold, name, lambda *args: False)
        without = weighed(_bench.counting_passes(lam, budget, min_tasks=lo, max_tasks=hi))
    return with_rule, without


@pytest.mark.parametrize("case", ["bend", "ten kinds", "powers of two"])
def test_bent_and_lumpy_counts_with_bounds_are_canonical_on_every_backend(fast_backend, case):
    lam, budget = bends_at_the_caps() if case == "bend" else lumps_of_keys(case)
    lo, hi = fair_share_bounds(lam, budget)
    a = fa.allocate(lam, budget, min_tasks=lo, max_tasks=hi, backend=fast_backend)
    assert is_canonical(lam, budget, a, lo, hi)


def test_a_pair_steeper_than_the_secant_aims_along_its_own_slope(monkeypatch):
    # The validation pass's guess lands above t*, on the flat past the fast workers' caps;
    # the first pair, below, is steeper than the secant from there. Along the secant the
    # pairs aimed into the flat again and again and crept down it; along the pair's own
    # slope they climb to t* from below.
    lam, budget = bends_at_the_caps()
    lo, hi = fair_share_bounds(lam, budget)
    with_rule, without = passes_without(monkeypatch, "steeper_than_secant", lam, budget, lo, hi)
    assert with_rule <= 5.0 < 9.0 <= without


@pytest.mark.parametrize("kind, most, before", [("ten kinds", 6.5, 10.0), ("powers of two", 6.5, 8.0)])
def test_the_lump_at_the_largest_product_below_an_upper_end_goes_to_the_split(monkeypatch, kind, most, before):
    # Times that repeat, no lower end known: the exact count above the budget found the
    # largest product below it, whose lump of keys the sample says may hold the excess. The
    # split takes it as t* at once; the step down from the upper end went far below t* and
    # counts crept back up. (Where a guess refused high is that upper end, the lump below it
    # goes to the split before any count: without that too.)
    lam, budget = lumps_of_keys(kind)
    lo, hi = fair_share_bounds(lam, budget)
    monkeypatch.setattr(threshold, "LUMP_SLACK", 0.0)
    with_rule, without = passes_without(monkeypatch, "lump_holds_excess", lam, budget, lo, hi)
    assert with_rule <= most < before <= without


def ties_a_hair_apart():
    # Three machine types 1e-12 apart, a third of the workers each, 10/3 tasks a worker with
    # bounds: every key a tie of a type, the budget in the second type's fourth keys.
    rng = np.random.default_rng(7)
    return 1.0 + rng.integers(0, 3, 30000) * 1e-12, 100000


def test_the_lump_the_sample_holds_just_below_a_refused_guess_goes_to_the_split(general_path, monkeypatch,
                                                                              fast_backend):
    # Three machine types 1e-12 apart without bounds, t* in the second type's keys: the
    # first guess, the third type's, is refused with more keys below it than the budget.
    # The tie just below it, where the sampled workers' keys may hold the excess, goes to
    # the split next and is t*; without that, three exact counts closed on it first (the
    # general path's: the kernels take three times to the table of a few times).
    lam = 1.0 + np.random.default_rng(1).integers(0, 3, 20000) * 1e-12
    budget = 66667
    assert is_canonical(lam, budget, fa.allocate(lam, budget, backend=fast_backend))
    with_rule = _bench.counting_passes(lam, budget)
    assert with_rule.get("split at t*") == 2 and "count with extremes" not in with_rule
    with monkeypatch.context() as m:
        m.setattr(threshold, "LUMP_SLACK", 0.0)
        without = _bench.counting_passes(lam, budget)
    assert without.get("count with extremes", 0) >= 2 and without.get("split at t*") == 2


def test_the_tie_next_above_a_refused_guess_goes_to_the_split_with_nothing_estimated_above(general_path, monkeypatch,
                                                                                          fast_backend):
    # Two machine types without noise, a thousand tasks a worker, no bounds: the estimates
    # find a flat with nothing above it, the product the sampled workers have next is
    # refused low, and the tie they hold next above it goes to the split before any count
    # (two exact counts found it before; the general path's, as the table of a few times
    # takes two types).
    import pass_survey  # benchmarks/ is on pytest's path

    lam, budget, _, _, description = pass_survey.cluster(102)
    assert description["types"] == 2 and description["noise"] == 0.0 and description["bounded"] is False
    assert is_canonical(lam, budget, fa.allocate(lam, budget, backend=fast_backend))
    with_rule = _bench.counting_passes(lam, budget)
    assert with_rule.get("split at t*") == 2 and "count with extremes" not in with_rule
    monkeypatch.setattr(threshold, "next_tie_above", lambda *args: 0.0)
    assert _bench.counting_passes(lam, budget).get("count with extremes", 0) >= 2


@pytest.mark.parametrize("seed", [667, 382, 468])
def test_few_keys_below_a_refused_guess_are_listed_and_selected_at_once(monkeypatch, fast_backend, seed):
    # Machine types with noise far below a task a worker, no bounds: the guess of ties is
    # refused with more keys below it than the budget, and few keys lie between it and the
    # estimates' lower end. The count and listing go to that bracket and select there; an
    # exact count with its extremes and a listing did it before.
    import pass_survey  # benchmarks/ is on pytest's path

    lam, budget, _, _, _ = pass_survey.cluster(seed)
    assert is_canonical(lam, budget, fa.allocate(lam, budget, backend=fast_backend))
    with_rule = _bench.counting_passes(lam, budget)
    assert with_rule.get("count and listing") == 1 and "count with extremes" not in with_rule
    monkeypatch.setattr(threshold, "select_aimed", lambda *args: -1.0)
    without = _bench.counting_passes(lam, budget)
    assert without.get("count with extremes") == 1 and without.get("boundary") == 1

GUARDED_CALL = """
import ctypes, mmap
import numpy as np
from fastata import available_backends
from fastata.kernels import numba_cpu
PAGE = mmap.PAGESIZE
def guarded_int64(n):
    # n int64 entries ending where a page no one may read begins
    pages = -(-8 * n // PAGE) + 1
    buf = mmap.mmap(-1, pages * PAGE)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    assert ctypes.CDLL(None).mprotect(ctypes.c_void_p(addr + (pages - 1) * PAGE), PAGE, 0) == 0
    return np.frombuffer(buf, dtype=np.int64, count=n, offset=(pages - 1) * PAGE - 8 * n)
lam = 1.0 + np.random.default_rng(7).integers(0, 3, 30000) * 1e-12
budget, n = 100000, 30000
low, high = np.ones(n, np.int64), np.full(n, 7, np.int64)
kernels = [numba_cpu]
if "cython" in available_backends():
    from fastata.kernels import cython_cpu
    kernels.append(cython_cpu)
for k in kernels:
    out = guarded_int64(n)
    status = k.allocate_bounded_into(lam, budget, low, high, out, np.empty(n + 1000, np.int64), np.empty(n + 1002))
    assert status == 0 and int(out.sum()) == budget, k.__name__
"""


@pytest.mark.skipif(sys.platform != "linux", reason="guards a page with Linux's mprotect")
def test_compiled_kernels_with_long_scratch_never_read_past_out(tmp_path):
    # The same refused tie as above, compiled, with out ending where an unreadable page
    # begins: the copy that read past out's end crashed there (SIGSEGV). Run outside the
    # checkout, which an installed package must not be imported from.
    done = subprocess.run([sys.executable, "-c", GUARDED_CALL], capture_output=True, text=True, timeout=600,
                          cwd=tmp_path)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])


def test_over_sparse_keys_the_validation_pass_s_secant_aims_the_count():
    # A task at most for each of 100,000 workers and 1000 tasks: nearly every worker holds
    # no key and counts in the relaxation's slope, 6.5 times the count's. The secant of the
    # validation pass's two estimates aims the count and listing at once; aimed by the
    # slope, two estimate passes crept to the budget first. (The call itself is a selection
    # of one key a worker, two passes; the general path is what this test is about.)
    lam = np.random.default_rng(7).gamma(2.0, 1.0, 100_000)
    budget = 1000
    lo, hi = fair_share_bounds(lam, budget)
    for backend in ("numba", "cython"):
        if backend in fa.available_backends():
            assert is_canonical(lam, budget, fa.allocate(lam, budget, min_tasks=lo, max_tasks=hi, backend=backend),
                                lo, hi), backend
    selection = {"selection's check and counts": 1, "selection's write and listing": 1}
    assert _bench.counting_passes(lam, budget, min_tasks=lo, max_tasks=hi) == selection
    with pytest.MonkeyPatch.context() as m:
        m.setattr(threshold, "UNIT_SLACK_FROM", 2**62)  # the general path
        trusted = _bench.counting_passes(lam, budget, min_tasks=lo, max_tasks=hi)
        assert trusted == {"inverse, bounds check and estimate": 1, "count and listing": 1}
        m.setattr(threshold, "SECANT_KEYS", math.inf)
        assert _bench.counting_passes(lam, budget, min_tasks=lo, max_tasks=hi).get("estimate") == 2


def test_a_refused_tie_with_scratch_longer_than_out_reads_out_within_its_length():
    # fa.allocate hands the kernels scratch kept from larger calls: the split's counts saved
    # into ties before the next tie is tried must copy out's entries only (compiled code read
    # past its end, which crashed where the next page was not mapped; plain Python raises).
    lam, budget = ties_a_hair_apart()
    lo, hi = fair_share_bounds(lam, budget)
    n = lam.shape[0]
    out = np.empty(n, np.int64)
    status = threshold.allocate_bounded_into(lam, budget, lo, hi, out, np.empty(n + 1000, np.int64),
                                             np.empty(n + 1002))
    assert status == 0 and is_canonical(lam, budget, out, lo, hi)


def test_the_tie_the_sample_holds_next_above_a_refused_guess_goes_to_the_split(general_path, monkeypatch,
                                                                           fast_backend):
    # The first guess of ties, the first type's fourth keys, is refused with fewer keys at or
    # below it than the budget; the second type's, which the sampled workers hold next,
    # goes to the split before any count, and is t*. Without it, three exact counts found it.
    lam, budget = ties_a_hair_apart()
    lo, hi = fair_share_bounds(lam, budget)
    a = fa.allocate(lam, budget, min_tasks=lo, max_tasks=hi, backend=fast_backend)
    assert is_canonical(lam, budget, a, lo, hi)
    with_rule = _bench.counting_passes(lam, budget, min_tasks=lo, max_tasks=hi)
    assert with_rule.get("split at t*") == 2 and "count with extremes" not in with_rule
    with monkeypatch.context() as m:
        m.setattr(threshold, "next_tie_above", lambda *args: 0.0)
        without = _bench.counting_passes(lam, budget, min_tasks=lo, max_tasks=hi)
    assert without.get("count with extremes", 0) >= 2

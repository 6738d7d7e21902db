"""Per-worker bounds ``min_tasks <= a <= max_tasks`` (DESIGN.md section 2): start from the
minimums, hand the rest out by the canonical keys among workers below their maximum.

Every backend against the reference greedy, brute force on tiny instances, the canonicity
check at any size, bounds that bind, never bind or force every task, monotonicity in the
budget, every bad input, batches, the Allocator and fastata.jit.
"""

import gc
import itertools
import platform
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastata as fa
import fastata.jit as fj
from fastata import _validate
from fastata.kernels import reference as ref
from fastata.kernels import threshold
from oracle import at_every_level, is_canonical

values = st.sampled_from([0.0, -0.0, 0.1, 0.5, 1.0, 1.0, 2.0, 3.0, 7.0, 58.0, np.inf, 1e-300, 1e300])


@st.composite
def bounded_problems(draw, max_n=12, max_budget=80):
    """Feasible problems: ties, zeros and +inf among the speeds, bounds of every kind."""
    n = draw(st.integers(1, max_n))
    lam = np.array(draw(st.lists(values, min_size=n, max_size=n)))
    if not np.isfinite(lam).any():
        lam[0] = 1.0
    low = np.array(draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)), dtype=np.int64)
    low[lam == np.inf] = 0
    room = np.array(draw(st.lists(st.integers(0, 10), min_size=n, max_size=n)), dtype=np.int64)
    high = low + room
    if draw(st.booleans()):
        high[draw(st.integers(0, n - 1))] = 2**62  # a worker without a maximum
    capacity = int(np.minimum(high, 2**40)[lam < np.inf].sum())
    budget = draw(st.integers(int(low.sum()), min(int(low.sum()) + max_budget, capacity)))
    return lam, budget, low, high


def reference(lam, budget, low, high):
    out = np.empty(len(lam), dtype=np.int64)
    assert ref.allocate_bounded_into(lam, budget, low, high, out) == 0
    return out


@given(problem=bounded_problems())
def test_bounds_equal_reference(backend, problem):
    lam, budget, low, high = problem
    got = fa.allocate(lam, budget, min_tasks=low, max_tasks=high, backend=backend)
    np.testing.assert_array_equal(got, reference(lam, budget, low, high))


@given(problem=bounded_problems())
def test_reference_is_canonical_and_within_bounds(problem):
    lam, budget, low, high = problem
    a = reference(lam, budget, low, high)
    assert is_canonical(lam, budget, a, low, high)
    assert (a >= low).all() and (a <= high).all() and a.sum() == budget


@settings(max_examples=80)
@given(n=st.integers(1, 4), budget=st.integers(0, 8), seed=st.integers(0, 2**16))
def test_bounds_minimise_the_proxy_loss(backend, n, budget, seed):
    rng = np.random.default_rng(seed)
    lam = rng.choice([0.5, 1.0, 2.0, 3.0], n)
    low = rng.integers(0, 2, n)
    high = low + rng.integers(0, 4, n)
    feasible = [a for a in itertools.product(*(range(lo, hi + 1) for lo, hi in zip(low, high))) if sum(a) == budget]
    if not feasible:
        with pytest.raises(ValueError, match="min_tasks must sum|max_tasks of the available workers"):
            fa.allocate(lam, budget, min_tasks=low, max_tasks=high, backend=backend)
        return
    best = min(fa.proxy_loss(np.array(a), lam) for a in feasible)
    got = fa.allocate(lam, budget, min_tasks=low, max_tasks=high, backend=backend)
    assert fa.proxy_loss(got, lam) == best
    assert tuple(got) in feasible


@given(problem=bounded_problems())
def test_bounds_that_never_bind_change_nothing(fast_backend, problem):
    lam, budget, _, _ = problem
    free = fa.allocate(lam, budget, min_tasks=0, max_tasks=budget, backend=fast_backend)
    np.testing.assert_array_equal(free, fa.allocate(lam, budget, backend="python"))


@given(problem=bounded_problems())
def test_bounds_that_force_every_task(fast_backend, problem):
    lam, _, low, high = problem
    capped = np.where(lam < np.inf, np.minimum(high, low + 3), 0)
    np.testing.assert_array_equal(fa.allocate(lam, int(capped.sum()), max_tasks=capped, backend=fast_backend), capped)
    np.testing.assert_array_equal(fa.allocate(lam, int(low.sum()), min_tasks=low, backend=fast_backend), low)


CPU_FAST = [b for b in ("numba", "cython") if b in fa.available_backends()]


# A dozen budgets an example: on the CPU backends only (the cuda backend runs the numba
# backend's code, one GPU thread a problem, and its simulator takes seconds a call).
@pytest.mark.parametrize("fast_backend", CPU_FAST)
@given(problem=bounded_problems(max_budget=30))
def test_monotone_in_the_budget(fast_backend, problem):
    lam, budget, low, high = problem
    capacity = int(np.minimum(high, 2**40)[lam < np.inf].sum())
    previous = fa.allocate(lam, budget, min_tasks=low, max_tasks=high, backend=fast_backend)
    for b in range(budget + 1, min(budget + 12, capacity) + 1):
        a = fa.allocate(lam, b, min_tasks=low, max_tasks=high, backend=fast_backend)
        assert (a >= previous).all() and a.sum() == b
        previous = a


LARGE = [
    ("lognormal", lambda rng, n: rng.lognormal(0, 0.5, n)),
    ("two speeds", lambda rng, n: np.where(np.arange(n) % 2, 1.0, 2.0)),
    ("integers", lambda rng, n: rng.integers(1, 5, n).astype(float)),
    ("zeros", lambda rng, n: np.where(rng.random(n) < 0.1, 0.0, rng.lognormal(0, 0.5, n))),
    ("unavailable", lambda rng, n: np.where(rng.random(n) < 0.1, np.inf, rng.exponential(1, n))),
    ("wide", lambda rng, n: 10.0 ** rng.uniform(-300, 300, n)),
]


@pytest.mark.parametrize("name, draw", LARGE, ids=[name for name, _ in LARGE])
@pytest.mark.parametrize("budget_per_worker", [1, 4, 2**40])
def test_large_bounded_problems_are_canonical_and_equal(name, draw, budget_per_worker):
    rng = np.random.default_rng(len(name) * 7 + budget_per_worker % 97)
    n = 3000
    lam = draw(rng, n)
    budget = min(n * budget_per_worker, 2**53)
    low = np.where((lam < np.inf) & (rng.random(n) < 0.5), 1, 0)
    high = np.where(rng.random(n) < 0.7, low + 2 * budget_per_worker, 2**62)
    results = [fa.allocate(lam, budget, min_tasks=low, max_tasks=high, backend=b) for b in ("numba", "cython")
               if b in fa.available_backends()]
    assert is_canonical(lam, budget, results[0], low, high)
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])


@pytest.mark.parametrize("seed", [596, 1149])
def test_a_guess_whose_counts_sum_past_2_63_reads_as_too_many_keys(seed):
    # 8192 workers of two to four times over hundreds of orders of magnitude (subnormal ones
    # among them), and a budget near 2**51: a guess at t* from the slowest workers' product
    # counts the whole budget on each of thousands of the fastest, past 2**63 in all. Read
    # as an int64 there, the split's sum wrapped negative, as if the guess were far too low,
    # and Cython's allocation came out with every fast worker at the whole budget. Found by
    # a random search of such inputs; these seeds failed before.
    rng = np.random.default_rng(seed)
    speeds = np.sort(rng.choice([4.9e-324, 1e-320, 1e-310, 2.2e-308, 1e-300, 1e-200, 1.0, 1e100],
                                int(rng.integers(2, 5)), replace=False))
    n = 8192
    lam = rng.choice(speeds, n)
    budget = int((2**63 / n) * rng.uniform(0.5, 16))
    results = [fa.allocate(lam, budget, min_tasks=0, max_tasks=2**62, backend=b) for b in ("numba", "cython")
               if b in fa.available_backends()]
    assert is_canonical(lam, budget, results[0], None, np.full(n, 2**62))
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])


def test_the_split_sum_saturates_past_2_63():
    # 8192 counts of 2**50 each: 2**63, one past int64's range, read as ESTIMATE_CAP (more
    # keys than any budget) in plain Python as in the compiled backends.
    n = 8192
    lam = np.full(n, 1e-300)
    inv = 1.0 / lam
    out = np.empty(n, dtype=np.int64)
    budget = 2**50
    taken, n_tied = threshold.split_at_threshold(lam, inv, 1e-200, budget, out, None, None)
    assert taken == threshold.ESTIMATE_CAP and n_tied == 0 and (out == budget).all()


@pytest.mark.parametrize("extra", [50, 2 * 1003])
def test_lam_zero_workers_among_many_with_tight_caps(fast_backend, extra):
    # From 256 workers the room on the lam = 0 workers comes from the pass that checks the
    # bounds: 50 tasks past the minimums fit on them (they take them level by level), 2006
    # do not (they fill up and the search places the rest).
    rng = np.random.default_rng(extra)
    n = 1003
    lam = np.where(rng.random(n) < 0.1, 0.0, rng.lognormal(0.0, 0.5, n))
    low = np.ones(n, dtype=np.int64)
    high = np.full(n, 4)
    budget = n + extra
    expected = reference(lam, budget, low, high)
    got = fa.allocate(lam, budget, min_tasks=low, max_tasks=high, backend=fast_backend)
    np.testing.assert_array_equal(got, expected)
    if extra > 3 * int((lam == 0.0).sum()):  # more than the lam = 0 workers have room for
        assert (got[lam == 0.0] == 4).all()


@pytest.mark.parametrize("extra", [50, 4000, 30000])
@pytest.mark.parametrize("as_numbers", [False, True])
def test_lam_zero_workers_in_every_block_of_the_validation_pass(extra, as_numbers):
    # From 4096 workers the validation pass checks the bounds in blocks; 10 % of the workers
    # at lam = 0 put some in every block. Their room above the minimums (3 a worker) holds
    # 50 tasks past the minimums, not 4000 or 30,000: the sum of 1/lam and that room must be
    # the exact loop's, on every SIMD level, with bounds as arrays and as numbers.
    rng = np.random.default_rng(extra)
    n = 5003
    lam = np.where(rng.random(n) < 0.1, 0.0, rng.lognormal(0.0, 0.5, n))
    lam[rng.random(n) < 0.05] = np.inf
    budget = int((lam < np.inf).sum()) + extra
    low = np.where(lam < np.inf, 1, 0).astype(np.int64)
    high = np.full(n, 8, dtype=np.int64)
    expected = reference(lam, budget, low, high)
    bounds = (1, 8) if as_numbers else (low, high)
    for b in CPU_FAST:
        got = fa.allocate(lam, budget, min_tasks=bounds[0], max_tasks=bounds[1], backend=b)
        np.testing.assert_array_equal(got, expected, err_msg=b)
    if "cython" in fa.available_backends():
        at_every_level(lambda level: np.testing.assert_array_equal(
            fa.allocate(lam, budget, min_tasks=bounds[0], max_tasks=bounds[1], backend="cython"), expected,
            err_msg=level))
    if extra <= 3 * int((lam == 0.0).sum()):  # the lam = 0 workers take every task past the minimums
        assert got[(lam > 0.0) & (lam < np.inf)].tolist() == [1] * int(((lam > 0.0) & (lam < np.inf)).sum())


# From a budget of 2**51 the counts divide by lam instead of multiplying by 1/lam.
@pytest.mark.parametrize("n, budget_per_worker", [(3, 4), (3, 2**50), (7, 4), (7, 2**50), (300, 4), (300, 2**44),
                                                  (5000, 4), (5000, 2**40)])
def test_a_negative_zero_is_a_zero_worker(fast_backend, n, budget_per_worker):
    # lam = -0.0 equals 0.0 and the contract treats it so. Its 1/lam is -inf, and t / lam is
    # -inf, which the passes would read as "no key at all": they must see +inf.
    rng = np.random.default_rng(n)
    lam = rng.lognormal(0.0, 0.5, n)
    lam[1::3] = -0.0
    positive = np.where(lam == 0.0, 0.0, lam)  # the same speeds with +0.0
    budget = n * budget_per_worker
    low = np.ones(n, dtype=np.int64)
    high = np.full(n, 2 * budget_per_worker)
    for bounds in ({}, {"min_tasks": low, "max_tasks": high}):
        got = fa.allocate(lam, budget, backend=fast_backend, **bounds)
        np.testing.assert_array_equal(got, fa.allocate(positive, budget, backend=fast_backend, **bounds))
        assert is_canonical(lam, budget, got, bounds.get("min_tasks"), bounds.get("max_tasks"))
    assert (got[1::3] == 2 * budget_per_worker).all()  # with bounds the zero workers take their maximum


def test_scalar_minimum_spares_unavailable_workers(backend):
    lam = np.array([1.0, np.inf, 2.0, 4.0])
    a = fa.allocate(lam, 6, min_tasks=1, backend=backend)
    assert a.tolist() == [3, 0, 2, 1]
    with pytest.raises(ValueError, match=r"min_tasks must be 0 for an unavailable worker \(lam = \+inf\); got 1 for worker 1"):
        fa.allocate(lam, 6, min_tasks=[1, 1, 1, 1], backend=backend)


def test_scalar_minimum_follows_the_unavailable_workers_call_by_call(backend):
    # One minimum for every worker comes from a cache of bound arrays: a call whose
    # unavailable workers differ from the last call's must not get the last call's array.
    rng = np.random.default_rng(7)
    n, budget = 300, 900
    for down in ([], [3], [5], [3, 5], [], [0, n - 1], [3]):
        lam = rng.lognormal(0, 1, n)
        lam[down] = np.inf
        low = np.where(lam < np.inf, 1, 0)
        for max_tasks in (None, 6, np.full(n, 6)):
            got = fa.allocate(lam, budget, min_tasks=1, max_tasks=max_tasks, backend=backend)
            want = fa.allocate(lam, budget, min_tasks=low, max_tasks=max_tasks, backend="python")
            np.testing.assert_array_equal(got, want)
            assert (got[down] == 0).all() and (np.delete(got, down) >= 1).all()


def test_a_single_minimum_goes_to_the_kernel_without_a_look_at_lam(backend, monkeypatch):
    """A single ``min_tasks`` goes to the kernel without a pass over ``lam`` for unavailable
    workers. A kernel that reads a minimum given as a number as the available workers'
    (numba's, Cython's) takes it so, every call. The others take it as every worker's: the kernel
    refuses it where some worker is unavailable, before writing anything, and the call is
    made again with the minimum left off them; a shape whose last look found unavailable
    workers is looked at first, until a look finds none."""
    from fastata import _backends

    _, kernels = _backends.resolve(backend)
    scans, tries = [], []
    looked = _validate.available_minimum
    monkeypatch.setattr(_validate, "available_minimum", lambda lam, value: scans.append(1) or looked(lam, value))
    monkeypatch.setattr(_validate._uniform, "unavailable", set(), raising=False)

    class Spy:  # records the minimums of each try
        def __init__(self, kept):
            self.kept = kept

        def __getattr__(self, name):  # what the kernels say of themselves
            return getattr(self.kept, name)

        def allocate_bounded(self, lam, budget, low, high, out, shared):
            tries.append(low.tolist())
            return self.kept.allocate_bounded(lam, budget, low, high, out, shared)

    n = 301
    kept = Spy(_backends.scratch(kernels, np.empty(n, dtype=np.int64), np.empty(n + 2)))
    of_available = getattr(kept, "minimum_of_available", False)
    assert of_available == (backend in ("numba", "cython"))
    rng = np.random.default_rng(3)
    # (unavailable workers, scans, tries): assumed, refused and looked at, looked at first
    # while they last, looked at once more when they are gone, then assumed again.
    for down, n_scans, n_tries in (([], 0, 1), ([4, 77], 1, 2), ([9], 1, 1), ([], 1, 1), ([], 0, 1), ([], 0, 1)):
        lam = rng.lognormal(0.0, 1.0, n)
        lam[down] = np.inf
        del scans[:], tries[:]
        out = np.full(n, -5, dtype=np.int64)
        status, (low, high) = _backends.allocate_bounded(kept, lam, 3 * n, 1, 8, out)
        if of_available:  # the minimum as it is, every call
            n_scans, n_tries = 0, 1
        assert status == 0 and (len(scans), len(tries)) == (n_scans, n_tries), down
        want = np.where(lam < np.inf, 1, 0)
        sent = [1] * n if of_available else want.tolist()
        assert low.tolist() == sent and tries[-1] == sent
        assert out.tolist() == reference(lam, 3 * n, want, np.full(n, 8)).tolist()
    # Refused either way: the status and the arrays of the minimum left off the unavailable
    # workers, as without the assumption.
    monkeypatch.setattr(_validate._uniform, "unavailable", set(), raising=False)
    lam = rng.lognormal(0.0, 1.0, n)
    lam[[0, 5]] = np.inf
    out = np.full(n, -5, dtype=np.int64)
    del tries[:]
    status, (low, high) = _backends.allocate_bounded(kept, lam, n - 3, 1, 8, out)
    assert status != 0 and low.tolist() == np.where(lam < np.inf, 1, 0).tolist() and (out == -5).all()
    assert len(tries) == (1 if of_available else 2)
    with pytest.raises(ValueError, match=rf"min_tasks must sum to at most budget \({n - 3}\); got a sum of {n - 2}$"):
        fa.allocate(lam, n - 3, min_tasks=1, max_tasks=8, backend=backend)
    allocator = fa.Allocator(n, backend=backend)
    with pytest.raises(ValueError, match=rf"got a sum of {n - 2}$"):
        allocator(lam, n - 3, min_tasks=1, max_tasks=8)
    assert allocator(lam, n - 2, min_tasks=1, max_tasks=8).tolist() == np.where(lam < np.inf, 1, 0).tolist()


def test_scalar_minimum_over_a_batch_follows_each_rows_unavailable_workers():
    # One minimum over a batch: each row leaves out its own unavailable workers, and the kept
    # array follows them from call to call (rows of 45 workers: words of 32 across rows).
    rng = np.random.default_rng(3)
    m, n = 4, 45
    for _ in range(6):
        lam2d = rng.lognormal(0, 1, (m, n))
        lam2d[rng.random((m, n)) < rng.choice([0.0, 0.1, 0.4])] = np.inf
        lam2d[:, 0] = 1.0  # an available worker in every row
        budgets = (lam2d < np.inf).sum(axis=1) + 7
        for b in fa.available_backends():
            got = fa.allocate_batch(lam2d, budgets, min_tasks=1, max_tasks=9, backend=b)
            for r in range(m):
                low = np.where(lam2d[r] < np.inf, 1, 0)
                np.testing.assert_array_equal(got[r], fa.allocate(lam2d[r], int(budgets[r]), min_tasks=low,
                                                                  max_tasks=9, backend="python"))


@pytest.mark.parametrize("fit", ["compiled", "reference", "too large to keep"])
def test_scalar_minimum_array_follows_lam_without_cython_too(monkeypatch, fit):
    # Without the Cython module the reference's fit keeps the same array and bits; an array
    # too large for the thread's cache is made afresh.
    from fastata.kernels import reference

    if fit == "reference":
        monkeypatch.setattr(_validate, "_fit_minimum", reference.fit_available_minimum)
    if fit == "too large to keep":
        monkeypatch.setattr(_validate, "UNIFORM_BYTES", 799)
    monkeypatch.setattr(_validate._uniform, "arrays", {}, raising=False)
    rng = np.random.default_rng(5)
    for down in ([], [1], [1, 70], [70], [], [0, 99]):
        lam = rng.lognormal(0, 1, 100)
        lam[down] = np.inf
        low = _validate.task_bounds(2, None, lam)[0]
        assert low.dtype == np.int64 and low.tolist() == np.where(lam < np.inf, 2, 0).tolist()
    assert (_validate._uniform.arrays == {}) == (fit == "too large to keep")


@pytest.mark.parametrize("kept", [True, False])
def test_bounds_given_as_numbers_are_declared_shared(monkeypatch, kept):
    """``task_bounds_shared`` declares shared (one value for every worker, which the Cython
    kernels then read once a pass) the bounds given as numbers or left out, and a minimum
    only where no worker is unavailable; never arrays, which may differ."""
    from fastata import _validate

    if not kept:  # arrays too large for the thread's cache: made afresh
        monkeypatch.setattr(_validate, "UNIFORM_BYTES", 799)
    lam = np.ones(100)
    array = np.full(100, 2, dtype=np.int64)
    cases = [(None, 4, True), (1, 4, True), (0, None, True), (2, None, True), (np.int64(1), np.int32(5), True),
             (array, array, False), (array, 4, False), (1, array, False), (None, [4] * 100, False),
             ([1] * 100, None, False)]
    for least, most, shared in cases:
        low, high, declared = _validate.task_bounds_shared(least, most, lam)
        assert declared is shared, (least, most)
        if shared:
            assert len(set(low.tolist())) == 1 and len(set(high.tolist())) == 1
    lam[7] = np.inf  # a minimum that leaves a worker out holds two values
    assert _validate.task_bounds_shared(1, 4, lam)[2] is False
    assert _validate.task_bounds_shared(0, 4, lam)[2] is True
    assert _validate.task_bounds_shared(None, None, lam) == (None, None, False)


def test_bounds_given_as_one_number_are_reused_arrays(monkeypatch):
    from fastata import _validate

    lam = np.ones(1000)
    low, high = _validate.task_bounds(1, 4, lam)
    again = _validate.task_bounds(1, 4, lam)
    assert again[0] is low and again[1] is high  # no fresh memory on every call
    assert low.tolist() == [1] * 1000 and high.tolist() == [4] * 1000
    lam[[2, 9]] = np.inf
    masked = _validate.task_bounds(1, 4, lam)[0]
    assert masked is not low and np.flatnonzero(masked == 0).tolist() == [2, 9]
    assert _validate.task_bounds(1, 4, lam)[0] is masked
    # Each thread keeps at most UNIFORM_BYTES: the least recently used go first.
    monkeypatch.setattr(_validate, "UNIFORM_BYTES", 3 * 8000)
    monkeypatch.setattr(_validate._uniform, "arrays", {})
    first = _validate.uniform_bound((1000,), 1)
    for value in (2, 3):
        _validate.uniform_bound((1000,), value)
    assert _validate.uniform_bound((1000,), 1) is first  # used again: now the most recent
    _validate.uniform_bound((1000,), 4)  # evicts 2, the least recently used
    assert sorted(k[1] for k in _validate._uniform.arrays) == [1, 3, 4]
    big = _validate.uniform_bound((4000,), 5)  # larger than the whole cache: not kept
    assert big.tolist() == [5] * 4000
    assert sorted(k[1] for k in _validate._uniform.arrays) == [1, 3, 4]


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64])
def test_bound_arrays_of_every_integer_type_are_taken(dtype):
    # Unsigned arrays are clipped to the kernels' cap; numpy refuses that cap beside a type
    # narrower than it (an OverflowError naming no parameter, before uint64 alone was clipped).
    lam = [1.0, 2.0, 4.0]
    low, high = np.array([0, 0, 2], dtype=dtype), np.array([3, 3, 3], dtype=dtype)
    assert fa.allocate(lam, 7, min_tasks=low, max_tasks=high).tolist() == [3, 2, 2]
    assert fa.allocate(lam, 7, max_tasks=high).tolist() == [3, 3, 1]
    assert fa.allocate_batch(np.array([lam, lam]), 7, max_tasks=high).tolist() == [[3, 3, 1]] * 2
    assert fa.Allocator(3)(lam, 7, min_tasks=low).tolist() == [3, 2, 2]


def test_bounds_given_as_numbers_compile_one_kernel_of_their_own():
    # numba compiles a kernel per argument type (some 40 s each, cold). Bounds of one value
    # each reach it as two int64s (one kernel, which reads them once a pass); every other
    # bound is an array of the type an array the caller keeps is (one kernel more).
    from fastata.kernels import numba_cpu

    lam = np.array([1.0, 2.0, np.inf, 4.0])
    for bounds in (dict(min_tasks=1, max_tasks=4), dict(max_tasks=4), dict(min_tasks=1), dict(min_tasks=0),
                   dict(min_tasks=np.int32(0), max_tasks=np.uint8(4)), dict(min_tasks=1, max_tasks=[4, 4, 0, 4]),
                   dict(min_tasks=np.array([1, 0, 0, 1], dtype=np.int32))):
        fa.allocate(lam, 6, backend="numba", **bounds)
    kinds = {(str(sig[2]), str(sig[3])) for sig in numba_cpu.allocate_bounded_into.signatures}
    arrays = {kind for kind in kinds if kind != ("int64", "int64")}
    assert ("int64", "int64") in kinds and len(arrays) == 1
    assert all(sig[2].mutable and sig[3].mutable
               for sig in numba_cpu.allocate_bounded_into.signatures if str(sig[2]) != "int64")


@pytest.mark.parametrize("warm", [False, True])
def test_numba_bounds_as_numbers_equal_the_reference(warm):
    """Bounds of one value each, as two int64s into numba's kernels (what ``fa.allocate`` passes
    for bounds given as numbers), the minimum every available worker's: the reference's
    allocation over ties, spread times, lam = 0 and unavailable workers, caps that bind or
    not up to int64's largest, the sampled paths from 4096 workers; bounds no allocation
    meets refused with the arrays' status, ``out`` untouched."""
    from fastata.kernels import numba_cpu

    rng = np.random.default_rng(23)
    shapes = [lambda n: rng.lognormal(0.0, 1.0, n), lambda n: rng.integers(1, 4, n).astype(float),
              lambda n: np.exp(rng.uniform(-300.0, 300.0, n)), lambda n: np.tile([0.5, 1.0, 0.0], n)[:n],
              lambda n: np.where(rng.random(n) < 0.1, np.inf, rng.lognormal(0.0, 0.5, n))]

    def scratch(n):
        return np.empty(n, dtype=np.int64), np.empty(n + 2), np.zeros(3)

    def call(lam, budget, low, high, out, ties, heap, kept):
        if warm:
            return numba_cpu.allocate_bounded_warm_into(lam, budget, low, high, out, ties, heap, kept)
        return numba_cpu.allocate_bounded_into(lam, budget, low, high, out, ties, heap)

    for n, shape in itertools.product((1, 5, 17, 301, 4099, 20_000), shapes):
        lam = shape(n)
        if not (lam < np.inf).any():
            lam[0] = 1.0
        available = int((lam < np.inf).sum())
        for least, most in ((0, 1), (1, 3), (2, 2), (0, 2**62), (1, 2**63 - 1)):
            ties, heap, kept = scratch(n)
            for budget in sorted({least * available, least * available + 1, least * available + 7 * n // 3 + 1}):
                if budget > min(most, budget) * available:
                    continue
                low, high = np.where(lam < np.inf, least, 0), np.full(n, most, dtype=np.int64)
                want = reference(lam, budget, low, high)
                out = np.empty(n, dtype=np.int64)
                assert call(lam, budget, least, most, out, ties, heap, kept) == 0
                assert out.tolist() == want.tolist(), (n, least, most, budget)
    lam = rng.lognormal(0.0, 1.0, 4099)
    lam[9] = np.inf
    for least, most, budget in ((5, 3, 30000), (2, 4, 8195), (0, 1, 5000), (-1, 3, 100), (1, -2, 100), (1, 1, 4099)):
        low, high = np.where(lam < np.inf, least, 0), np.full(4099, most, dtype=np.int64)
        ties, heap, kept = scratch(4099)
        out = np.full(4099, -7, dtype=np.int64)
        status = call(lam, budget, low, high, out, ties, heap, kept)
        assert status != 0 and call(lam, budget, least, most, out, ties, heap, kept) == status
        assert (out == -7).all() and kept.tolist() == [0.0, 0.0, 0.0]


def _checking_cases(rng, count):
    """Inputs of the validation pass with bounds: lengths around its blocks, bad values of
    every kind (negative, NaN, -0.0, 0 and +inf times; negative, crossed and over-budget
    bounds, minimums on unavailable workers) at random places, or none."""
    for _ in range(count):
        n = int(rng.choice([1, 5, 511, 512, 513, 1024, 1500, 3000]))
        lam = rng.lognormal(0.0, 1.0, n)
        kind = rng.integers(0, 7)
        if kind:
            lam[rng.integers(0, n)] = [np.inf, 0.0, -1.0, np.nan, -0.0, -np.inf][kind - 1]
        budget = int(rng.integers(1, 10 * n))
        low = rng.integers(0, 3, n).astype(np.int64)
        high = low + rng.integers(0, 5, n)
        if rng.random() < 0.2:
            low[rng.integers(0, n)] = -1
        if rng.random() < 0.2:
            high[rng.integers(0, n)] = low.max() - 1
        if rng.random() < 0.3:
            high[:] = budget + rng.integers(0, 3)
        yield lam, budget, low, high, float(rng.lognormal(0.0, 2.0)), (None, 0.05)[int(rng.integers(0, 2))]


def _same_checking_result(blocks, exact, compiled):
    """The pass's answer in blocks against worker by worker: flags or none alike, the sums
    of integers equal, the sums of 1/lam (the slope and the first guess's sum) to rounding.
    Compiled with reassociation (numba_cpu), ``s * SLOPE_STEP * (1/lam)`` may round another
    way in either loop, and the estimate a few percent up (an aim, which no count relies
    on) with it, by a key here and there."""
    assert (blocks[1] == 0) == (exact[1] == 0)
    for k, (a, b) in enumerate(zip(blocks, exact)):
        if k == 1 or (np.isnan(a) and np.isnan(b)):
            continue
        if k in (0, 3):
            assert a == b or abs(a - b) <= 1e-12 * abs(b), (k, a, b)
        elif k == 7 and compiled:
            assert abs(a - b) <= 1e-4 * abs(b) + 4, (k, a, b)
        else:
            assert a == b, (k, a, b)


def test_validation_pass_in_blocks_equals_worker_by_worker():
    """The validation pass with bounds takes blocks of workers checked as a whole, and the
    rest worker by worker from the first block with a flag: the same answer as the loop
    worker by worker alone, with bounds as arrays and (numba) as numbers, and ``1/lam``
    written alike."""
    from numba import njit

    from fastata.kernels import numba_cpu  # noqa: F401  (the CPU versions of threshold's helpers)

    def exact(lam, inv, s, budget, lo, hi, least):  # as the pass answers
        n_flagged, room, sums = threshold.inverse_checking_exact(lam, inv, s, budget, lo, hi, least)
        inv_sum, total, second, slope, taken, capacity, whole = sums
        return inv_sum, n_flagged, total, slope, taken, capacity, room, second, threshold.from_order_key(whole)

    in_blocks, one_by_one = njit(threshold.inverse_checking_pass), njit(exact)
    rng = np.random.default_rng(31)
    for lam, budget, low, high, s, least in _checking_cases(rng, 300):
        for run_blocks, run_exact in ((threshold.inverse_checking_pass, exact), (in_blocks, one_by_one)):
            shapes = [(low, high)] if run_blocks is threshold.inverse_checking_pass else [
                (low, high), (int(low[0]), int(high[0]))]
            for lo, hi in shapes:
                inv_blocks, inv_exact = np.empty(lam.shape[0]), np.empty(lam.shape[0])
                with np.errstate(all="ignore"):
                    blocks = run_blocks(lam, inv_blocks, s, budget, lo, hi, least)
                    by_worker = run_exact(lam, inv_exact, s, budget, lo, hi, least)
                _same_checking_result(blocks, by_worker, run_blocks is in_blocks)
                np.testing.assert_array_equal(inv_blocks, inv_exact)


def test_numba_bounds_declared_shared_are_read_as_numbers():
    """The declaration is taken at its word: minimums that differ, declared shared, give
    another allocation (numba's scratch passes the first worker's as the number). So the
    kernel for numbers runs, and a caller must only declare bounds given as numbers
    (``_validate.task_bounds_shared``)."""
    from fastata import _backends
    from fastata.kernels import numba_cpu

    lam = np.random.default_rng(1).lognormal(0.0, 1.0, 64)
    low, high = np.ones(64, dtype=np.int64), np.full(64, 3, dtype=np.int64)
    low[0] = 0
    kept = _backends.scratch(numba_cpu, np.empty(64, dtype=np.int64), np.empty(66))
    honest, vouched = np.empty(64, dtype=np.int64), np.empty(64, dtype=np.int64)
    assert kept.allocate_bounded(lam, 85, low, high, honest) == 0
    assert kept.allocate_bounded(lam, 85, low, high, vouched, True) == 0
    assert is_canonical(lam, 85, honest, low, high)
    assert honest.tolist() != vouched.tolist()
    assert vouched.tolist() == reference(lam, 85, np.zeros(64, dtype=np.int64), high).tolist()


def _mappings(start, stop):
    """``/proc/self/maps`` lines of the mappings that overlap ``[start, stop)``."""
    found = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            low, high = (int(x, 16) for x in line.split()[0].split("-"))
            if low < stop and high > start:
                found.append(line.split())
    return found


@pytest.mark.parametrize("n", [1, 8191, 8192, 8193, 65536, 100_003])
def test_constant_arrays_hold_their_value_and_are_ordinary_arrays(n):
    from fastata._constant import constant_array

    for value in (0, 1, 8, -3, 2**53, 2**62):
        array = constant_array(n, value)
        assert array.dtype == np.int64 and array.shape == (n,)
        assert array.flags.c_contiguous and array.flags.writeable and array.flags.aligned
        np.testing.assert_array_equal(array, np.full(n, value, dtype=np.int64))


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.machine().lower() not in ("x86_64", "aarch64"),
                    reason="constant arrays repeat one block of memory on Linux (x86-64, arm64) only")
def test_constant_arrays_repeat_one_read_only_block_and_unmap_with_the_last_view():
    from fastata import _constant

    array = _constant.constant_array(65536 * 4, 7)
    start = array.ctypes.data
    stop = start + array.nbytes
    maps = _mappings(start, stop)
    # Every block of the array is the one memory file, mapped read-only and shared.
    assert len(maps) == -(-array.nbytes // _constant.BLOCK)
    assert all(m[1] == "r--s" and "fastata-constant" in m[-2] + m[-1] and int(m[2], 16) == 0 for m in maps)
    view = array[100:]
    del array
    gc.collect()
    assert _mappings(start, stop)  # a view keeps it
    blocks = _constant._mapped_blocks
    del view
    gc.collect()
    assert not _mappings(start, stop)
    assert _constant._mapped_blocks == blocks - len(maps)  # counted out as it goes


def test_constant_arrays_map_a_bounded_number_of_blocks(monkeypatch):
    from fastata import _constant

    if not _constant._can_map():
        pytest.skip("constant arrays are np.full here")
    # Past MAX_MAPPED_BLOCKS alive at once (each block is a mapping of its own), np.full.
    monkeypatch.setattr(_constant, "MAX_MAPPED_BLOCKS", _constant._mapped_blocks + 5)
    n = 2 * _constant.BLOCK // 8
    first, second = _constant.constant_array(n, 3), _constant.constant_array(n, 4)
    third = _constant.constant_array(n, 5)
    assert not first.flags.owndata and not second.flags.owndata
    assert third.flags.owndata and (third == 5).all()  # 2 + 2 + 2 > 5
    del first
    gc.collect()
    assert not _constant.constant_array(n, 6).flags.owndata  # room again


def test_constant_arrays_fall_back_to_ordinary_memory(monkeypatch):
    from fastata import _constant

    if not _constant._can_map():
        pytest.skip("constant arrays are np.full here")
    # An mmap that fails part way (an address other than the one asked for): np.full instead.
    calls = []

    def failing(where, *args):
        calls.append(where)
        return where if len(calls) < 3 else 0

    monkeypatch.setattr(_constant, "_libc_mmap", failing)
    blocks = _constant._mapped_blocks
    array = _constant.constant_array(50_000, 5)
    assert len(calls) == 3 and _constant._mapped_blocks == blocks  # the blocks it had counted go back
    assert array.flags.owndata and (array == 5).all()
    calls.clear()
    monkeypatch.setattr(_constant, "MAX_BLOCKS", 4)  # longer than that: not mapped
    assert (_constant.constant_array(4 * _constant.BLOCK // 8 + 1, 6) == 6).all() and not calls


@pytest.mark.parametrize("n", [20_000])
def test_bounds_as_numbers_from_constant_arrays_equal_bounds_as_arrays(backend, n):
    rng = np.random.default_rng(5)
    lam = rng.lognormal(0.0, 1.0, n)
    budget = 3 * n + 17
    for least, most in ((1, 5), (0, 4), (2, 2**40)):
        got = fa.allocate(lam, budget, min_tasks=least, max_tasks=most, backend=backend)
        want = fa.allocate(lam, budget, min_tasks=np.full(n, least), max_tasks=np.full(n, most), backend="python")
        np.testing.assert_array_equal(got, want)


def test_lam_zero_workers_fill_level_by_level(backend):
    lam = np.array([0.0, 1.0, 0.0, 0.0])
    low = np.array([2, 1, 0, 0])
    high = np.array([3, 9, 5, 1])
    # Tasks left after the minimums go to the lam = 0 workers by (level, index): worker 2
    # reaches 2, worker 3 stops at its maximum 1, worker 0 reaches 3, then worker 2 again.
    np.testing.assert_array_equal(fa.allocate(lam, 8, min_tasks=low, max_tasks=high, backend=backend), [3, 1, 3, 1])
    # More than they can hold: the rest goes to the positive worker.
    np.testing.assert_array_equal(fa.allocate(lam, 12, min_tasks=low, max_tasks=high, backend=backend), [3, 3, 5, 1])




@pytest.mark.parametrize("n", [7, 300, 5000])
@pytest.mark.parametrize("alike", [True, False])
def test_lam_zero_workers_with_one_task_of_room_take_it_in_worker_order(fast_backend, monkeypatch, n, alike):
    # Room for one task above equal minimums puts every key of the lam = 0 workers at one
    # level: the first of them in worker order take the tasks left, with no pass that moves
    # keys below the level (take_below). Minimums that differ spread them over levels, and
    # that pass runs.
    rng = np.random.default_rng(n)
    lam = np.where(rng.random(n) < 0.3, 0.0, rng.lognormal(0.0, 0.5, n))
    low = np.ones(n, dtype=np.int64) if alike else rng.integers(0, 3, n)
    high = low + 1
    budget = int(low.sum()) + int((lam == 0.0).sum()) // 2
    want = reference(lam, budget, low, high)
    np.testing.assert_array_equal(fa.allocate(lam, budget, min_tasks=low, max_tasks=high, backend=fast_backend), want)
    if alike:
        assert (want - low)[lam == 0.0].tolist() == sorted((want - low)[lam == 0.0].tolist(), reverse=True)
    calls = []
    take_below = threshold.take_below
    monkeypatch.setattr(threshold, "take_below", lambda *a: calls.append(1) or take_below(*a))
    out = np.empty(n, np.int64)
    threshold.allocate_bounded_into(lam, budget, low, high, out, np.empty(n, np.int64), np.empty(n + 2))
    np.testing.assert_array_equal(out, want)
    assert calls == ([] if alike else [1])

@pytest.mark.parametrize("n_zero", [9224, 20_000])
def test_lam_zero_workers_whose_room_passes_2_to_the_63_share_the_budget(n_zero):
    # Their room, 10**15 each, sums past 2**63: the pass that checks the bounds sums it in
    # floats, whose conversion to int64 overflowed and gave each worker its maximum.
    lam = np.r_[np.zeros(n_zero), 1.0]
    budget = 10**15
    want = fa.allocate(lam, budget, backend="cython")  # without bounds: round robin
    assert want.sum() == budget and want[-1] == 0
    for backend in ("cython", "numba"):
        for bounds in (dict(max_tasks=budget), dict(min_tasks=0), dict(min_tasks=0, max_tasks=2**62)):
            np.testing.assert_array_equal(fa.allocate(lam, budget, backend=backend, **bounds), want)


def test_a_minimum_far_above_t_star_over_t_stars_worker_returns_at_once(fast_backend):
    # Worker 1's minimum holds it far above t*; from 2**52 tasks the split counted down from
    # that minimum to t* / lam one key at a time (10**15 steps: it never returned).
    budget, least = 2**53, 1066312515359161
    got = fa.allocate([1.37, 1e6], budget, min_tasks=[0, least], backend=fast_backend)
    np.testing.assert_array_equal(got, [budget - least, least])
    assert (budget - least) * 1.37 == (budget - least + 1) * 1.37  # worker 0 owns two keys at t*

BAD = [
    (dict(min_tasks=-1), ValueError, r"min_tasks must be >= 0; got -1 for worker 0"),
    (dict(min_tasks=[0, 3, 0], max_tasks=[5, 2, 5]), ValueError,
     r"min_tasks must be <= max_tasks for every worker; got min_tasks 3 > max_tasks 2 for worker 1"),
    (dict(max_tasks=-2), ValueError, r"max_tasks must be >= 0; got -2 for worker 0"),
    (dict(max_tasks=-2**70), ValueError, r"max_tasks must be >= 0; got -1180591620717411303424$"),
    (dict(min_tasks=-2**70), ValueError, r"min_tasks must be >= 0; got -1180591620717411303424$"),
    (dict(min_tasks=[0, 0, 1]), ValueError, r"min_tasks must be 0 for an unavailable worker \(lam = \+inf\); got 1 for worker 2"),
    (dict(min_tasks=4), ValueError, r"min_tasks must sum to at most budget \(7\); got a sum of 8"),
    (dict(max_tasks=[3, 3, 9]), ValueError,
     r"max_tasks of the available workers \(lam < inf\) must sum to at least budget \(7\); got a sum of 6"),
    (dict(min_tasks=1.5), TypeError, r"min_tasks must be an integer or an array of integers; got 1.5"),
    (dict(max_tasks=[1.0, 2.0, 3.0]), TypeError, r"max_tasks must be an integer or an array of integers; got \[1.0, 2.0, 3.0\]"),
    (dict(max_tasks=True), TypeError, r"max_tasks must be an integer or an array of integers; got True"),
    (dict(max_tasks=np.timedelta64(3)), TypeError, r"max_tasks must be an integer or an array of integers; got .*timedelta64"),
    (dict(min_tasks=[1, 2]), ValueError, r"min_tasks must be an integer or have shape \(3,\); got shape \(2,\)"),
    # Minimums past every budget are named by the value given, not one clipped or a default maximum.
    (dict(min_tasks=10**18), ValueError, r"min_tasks must sum to at most budget \(and no budget is over 2\*\*53\); got 10{18}$"),
    (dict(min_tasks=[0, 2**63, 0]), ValueError,
     r"min_tasks must sum to at most budget \(and no budget is over 2\*\*53\); got 9223372036854775808 for worker 1$"),
    (dict(min_tasks=np.array([0, 2**63, 0], dtype=np.uint64)), ValueError,
     r"min_tasks must sum to at most budget \(and no budget is over 2\*\*53\); got 9223372036854775808 for worker 1$"),
    (dict(min_tasks=np.array([0, 10**18, 0])), ValueError, r"min_tasks must sum to at most budget \(7\); got 10{18} for worker 1$"),
]


@pytest.mark.parametrize("bounds, error, message", BAD)
def test_bad_bounds_are_named_and_change_nothing(backend, bounds, error, message):
    lam = np.array([1.0, 2.0, np.inf])
    out = np.full(3, -7, dtype=np.int64)
    with pytest.raises(error, match=message):
        fa.allocate(lam, 7, backend=backend, out=out, **bounds)
    assert (out == -7).all()


def _spoil(what, lam, low, high, k):
    """Make worker ``k``'s bounds bad in one way; returns the message that names it."""
    if what == "negative":
        low[k] = -1
        return rf"min_tasks must be >= 0; got -1 for worker {k}\b"
    if what == "crossed":
        low[k], high[k] = 3, 2
        return rf"got min_tasks 3 > max_tasks 2 for worker {k}\b"
    if what == "negative maximum":
        low[k], high[k] = 0, -2
        return rf"max_tasks must be >= 0; got -2 for worker {k}\b"
    if what == "unavailable":
        lam[k], low[k] = np.inf, 1
        return rf"min_tasks must be 0 for an unavailable worker \(lam = \+inf\); got 1 for worker {k}\b"
    if what == "over the budget":
        low[k] = high[k] = 2**62
        return r"min_tasks must sum to at most budget"
    if what == "capacity":
        high[:] = 3  # enough for the budget (3 n) only if the unavailable workers counted
        return r"max_tasks of the available workers \(lam < inf\) must sum to at least budget"
    raise AssertionError(what)


@pytest.mark.parametrize("k", [0, 517, 1002])
@pytest.mark.parametrize("what", ["negative", "crossed", "negative maximum", "unavailable", "over the budget",
                                  "capacity"])
def test_bad_bounds_among_many_workers_are_named_and_change_nothing(fast_backend, what, k):
    # From 256 workers the bounds are checked in the pass that takes the first estimate:
    # every kind of bad bound, in a SIMD block and in the scalar tail (1003 workers).
    rng = np.random.default_rng(k)
    n = 1003
    lam = np.where(rng.random(n) < 0.1, np.inf, rng.lognormal(0.0, 0.5, n))
    lam[k] = 1.0
    low = np.where(lam < np.inf, 1, 0)
    high = np.full(n, 8)
    budget = 3 * n
    assert fa.allocate(lam, budget, min_tasks=low, max_tasks=high, backend=fast_backend).sum() == budget
    message = _spoil(what, lam, low, high, k)
    out = np.full(n, -7, dtype=np.int64)
    with pytest.raises(ValueError, match=message):
        fa.allocate(lam, budget, min_tasks=low, max_tasks=high, backend=fast_backend, out=out)
    assert (out == -7).all()


def test_maximums_past_int64_cap_nothing(backend):
    # A list of integers past int64, which numpy would read as floats or objects, is clipped
    # as one such integer is: a maximum above the budget binds nothing.
    want = fa.allocate([1.0, 2.0], 5, backend=backend)
    for high in ([2**64, 2**64], [2**63, 4], 2**64):
        np.testing.assert_array_equal(fa.allocate([1.0, 2.0], 5, max_tasks=high, backend=backend), want)


def test_bad_lam_is_reported_before_the_bounds(backend):
    with pytest.raises(ValueError, match="lam must not contain NaN"):
        fa.allocate([1.0, np.nan], 3, min_tasks=5, backend=backend)


@given(problem=bounded_problems(max_n=8))
def test_batch_equals_a_loop_of_single_calls(problem):
    lam, budget, low, high = problem
    lam2d = np.stack([lam, lam * 3.0, lam * 2.0])  # zeros and +inf where they were
    low2d = np.stack([low, np.zeros_like(low), low])
    budgets = np.array([budget, budget, int(low.sum())])
    for b in fa.available_backends():
        got = fa.allocate_batch(lam2d, budgets, min_tasks=low2d, max_tasks=high, backend=b)
        for r in range(3):
            np.testing.assert_array_equal(got[r], fa.allocate(lam2d[r], int(budgets[r]), min_tasks=low2d[r],
                                                              max_tasks=high, backend="python"))


@given(problem=bounded_problems(max_n=8))
def test_batch_bounds_shared_by_every_row_equal_a_loop(problem):
    lam, budget, low, high = problem
    lam2d = np.stack([lam, lam * 3.0, lam * 2.0])
    high2d = np.stack([high, high + 1, high])
    for b in fa.available_backends():
        got = fa.allocate_batch(lam2d, budget, min_tasks=low, max_tasks=high2d, backend=b)  # one row of minimums
        for r in range(3):
            np.testing.assert_array_equal(got[r], fa.allocate(lam2d[r], budget, min_tasks=low, max_tasks=high2d[r],
                                                              backend="python"))


def test_batch_bounds_shared_by_every_problem_are_one_row():
    """One number or one row for every problem: a (1, n) row that the kernels read for each,
    not an (m, n) copy (at 65,536 problems of 459 workers that copy was 240 MB a bound)."""
    lam2d = np.ones((1000, 50))
    low, high = _validate.task_bounds(1, np.arange(50), lam2d)
    assert low.shape == high.shape == (1, 50)
    assert _validate.task_bounds([[2] * 50], None, lam2d)[0].shape == (1, 50)
    per_row = np.ones((1000, 50), np.int64)
    assert _validate.task_bounds(per_row, None, lam2d)[0] is per_row
    lam2d[3, 7] = np.inf  # a single minimum leaves out row 3's unavailable worker only
    low = _validate.task_bounds(1, None, lam2d)[0]
    assert low.shape == (1000, 50) and low[3, 7] == 0 and low[4, 7] == 1


def test_batch_bad_row_is_named_and_changes_nothing(backend):
    lam2d = np.array([[1.0, 2.0], [1.0, 2.0]])
    out = np.full((2, 2), -7, dtype=np.int64)
    with pytest.raises(ValueError, match=r"max_tasks .* must sum to at least budget \(5\); got a sum of 4 in row 1"):
        fa.allocate_batch(lam2d, [3, 5], max_tasks=2, backend=backend, out=out)
    assert (out == -7).all()


@pytest.mark.parametrize("n", [5, 400])
def test_allocator_takes_bounds(backend, n):
    rng = np.random.default_rng(n)
    allocator = fa.Allocator(n, backend=backend)
    for _ in range(3):
        lam = rng.lognormal(0, 1, n)
        got = allocator(lam, 3 * n, min_tasks=1, max_tasks=5).copy()
        np.testing.assert_array_equal(got, fa.allocate(lam, 3 * n, min_tasks=1, max_tasks=5, backend="python"))
        np.testing.assert_array_equal(allocator(lam, 2 * n), fa.allocate(lam, 2 * n, backend="python"))
    before = allocator(lam, n).copy()
    with pytest.raises(ValueError, match="max_tasks of the available workers"):
        allocator(lam, 6 * n, max_tasks=5)
    np.testing.assert_array_equal(allocator._out, before)


def test_allocator_takes_its_own_last_result_as_a_bound(backend):
    """A bound that is the array the Allocator returned last (which its next call overwrites)
    is read as it was: the next round keeps at least, or at most, last round's tasks."""
    rng = np.random.default_rng(4)
    lam = rng.lognormal(0.0, 1.0, 50)
    allocator = fa.Allocator(50, backend=backend)
    last = allocator(lam, 100)
    kept = last.copy()
    got = allocator(lam * rng.uniform(0.5, 2.0, 50), 150, min_tasks=last).copy()
    assert (got >= kept).all() and got.sum() == 150
    again = allocator(lam, 120, max_tasks=allocator(lam, 150, min_tasks=kept))
    want = fa.allocate(lam, 120, max_tasks=fa.allocate(lam, 150, min_tasks=kept), backend="python")
    np.testing.assert_array_equal(again, want)


def test_jit_bounded_allocation():
    lam = np.array([1.0, 2.0, 4.0])
    out = np.zeros(3, dtype=np.int64)
    low = np.zeros(3, dtype=np.int64)
    fj.allocate_into_bounded(lam, 7, low, np.full(3, 3, dtype=np.int64), out)
    assert out.tolist() == [3, 3, 1]
    ties, heap = fj.scratch(3)
    assert fj.allocate_into_bounded_scratch_status(lam, 7, low, np.full(3, 2, dtype=np.int64), out, ties, heap) \
        == fa.kernels.status.CAPACITY_SHORT
    assert out.tolist() == [3, 3, 1]
    assert fj.allocate_into_bounded_status(lam, 7, low[:2], low, out) == fj.BOUNDS_SHAPE
    with pytest.raises(ValueError, match="min_tasks must be <= max_tasks"):
        fj.allocate_into_bounded(lam, 7, np.full(3, 2, dtype=np.int64), low, out)


# --- Policies, executors and the simulator -------------------------------------------------


POLICIES = [
    lambda: fa.ATA(6, 20, alpha=0.5),
    lambda: fa.ATAEmpirical(6, 20, eta=0.3),
    lambda: fa.ATAEmpirical(6, 20, eta=0.3, explore_share=0.25, gamma=0.9),
    lambda: fa.FTA([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 20),
]


@pytest.mark.parametrize("make", POLICIES)
def test_policy_rounds_with_bounds_are_the_bounded_allocation(backend, make):
    policy, twin = make(), make()
    rng = np.random.default_rng(0)
    for r in range(6):
        if r == 3:
            policy.set_available([5], False)
            twin.set_available([5], False)
        low, high = 1, np.array([6, 6, 6, 6, 3, 3])
        got = policy.allocate(min_tasks=low, max_tasks=high)
        assert (got[policy.available] >= 1).all() and (got <= high).all() and got.sum() == 20
        if getattr(policy, "explore_share", 1.0) == 1.0:
            expected = fa.allocate(twin.lower_bounds, 20, min_tasks=low, max_tasks=high, backend="python")
            np.testing.assert_array_equal(got, expected)
        twin.allocate(min_tasks=low, max_tasks=high)
        times = rng.exponential(1.0, got.sum()) * np.repeat(np.arange(1, 7), got)
        policy.observe(np.repeat(np.arange(6), got), times)
        twin.observe(np.repeat(np.arange(6), got), times)


@pytest.mark.parametrize("make", POLICIES + [lambda: fa.UTA(6, 20, seed=3)])
def test_policy_rejects_infeasible_bounds_and_stays_as_it_was(make):
    policy = make()
    policy.allocate()
    before = policy.allocate.__self__.__dict__.copy()
    scratch = {"_lock", "_ties", "_heap", "_s"}  # written by every call, read by none
    saved = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in before.items() if k not in scratch}
    with pytest.raises(ValueError, match=r"max_tasks of the available workers .* got a sum of 12"):
        policy.allocate(max_tasks=2)
    with pytest.raises(ValueError, match=r"min_tasks must sum to at most budget \(20\)"):
        policy.allocate(min_tasks=4)
    for k, v in saved.items():
        now = policy.__dict__[k]
        if isinstance(v, np.ndarray):
            np.testing.assert_array_equal(now, v)
        elif k == "_rng":
            continue
        else:
            assert now == v, k
    if isinstance(policy, fa.UTA):
        twin = make()
        twin.allocate()
        np.testing.assert_array_equal(policy.allocate(max_tasks=4), twin.allocate(max_tasks=4))


def test_uta_with_bounds_spreads_from_its_offset():
    a = fa.UTA(5, 7, seed=1).allocate(max_tasks=2)
    assert a.sum() == 7 and a.max() <= 2 and a.min() >= 1


def test_executor_round_with_bounds_and_a_lost_worker():
    from test_executor import FakeEngine, square

    from fastata import executor as ex

    engine = FakeEngine({"w0": 1.0, "w1": 1.0, "w2": 1.0, "w3": 1.0})
    policy = fa.ATAEmpirical(4, 1, eta=0.2)
    runner = ex.AdaptiveRunner(engine, policy)
    assert runner.run_round(square, range(12), min_tasks=1, max_tasks=[6, 6, 6, 1]) == [x * x for x in range(12)]
    first = runner.history[-1].allocation
    assert first["w3"] == 1 and all(first[a] >= 1 for a in ("w0", "w1", "w2"))
    # w0 dies after a few results: its unfinished tasks go to the others within their maxima.
    engine.hooks[engine.reported + 2] = lambda: engine.kill("w0")
    calls = []

    def record(x):
        calls.append(x)
        return -x

    assert runner.run_round(record, range(12), max_tasks=[4, 5, 5, 2]) == [-x for x in range(12)]
    assert sorted(calls) == list(range(12))
    started = {}
    for address, _, _ in engine.submitted[-(12 + runner.history[-1].resubmitted):]:
        started[address] = started.get(address, 0) + 1
    assert started.get("w1", 0) <= 5 and started.get("w2", 0) <= 5 and started.get("w3", 0) <= 2
    # Too little room left for what was lost: a clear error, and the runner stays usable.
    engine.hooks[engine.reported + 1] = lambda: engine.kill("w1")
    with pytest.raises(ValueError, match=r"max_tasks leaves the workers that remain room for \d+ more tasks"):
        runner.run_round(square, range(9), max_tasks=[0, 5, 2, 2])
    assert runner.run_round(square, range(4)) == [0, 1, 4, 9]


def test_greedy_executor_takes_no_bounds():
    from test_executor import FakeEngine, square

    from fastata import executor as ex

    runner = ex.GreedyRunner(FakeEngine({"w0": 1.0}))
    with pytest.raises(TypeError, match="min_tasks and max_tasks bound an adaptive executor"):
        runner.run_round(square, range(3), max_tasks=2)


def test_simulator_rounds_respect_the_bounds():
    workers = fa.sim.presets.cifar_workers(12)
    policy = fa.ATAEmpirical(12, 30, eta=0.77)
    result = fa.sim.run(policy, workers, 200, seed=0, min_tasks=1, max_tasks=4, record_allocations=True)
    assert result.allocations.min() >= 1 and result.allocations.max() <= 4
    free = fa.sim.run(fa.ATAEmpirical(12, 30, eta=0.77), workers, 200, seed=0, record_allocations=True)
    assert free.allocations.max() > 4  # the cap binds: without it the fast workers take more
    results = fa.sim.compare(workers, 30, 100, seed=0, policies=("fta", "uta", "gta"), max_tasks=3,
                             record_allocations=True)
    assert results["fta"].allocations.max() <= 3 and results["uta"].allocations.max() <= 3
    with pytest.raises(TypeError, match="max_tasks must be an integer or an array of integers"):
        fa.sim.run(fa.ATAEmpirical(12, 30, eta=0.77), workers, 10, seed=0, max_tasks=2.5)


def test_cli_simulate_with_bounds(tmp_path, capsys):
    from fastata import cli

    data = tmp_path / "run.json"
    argv = ["simulate", "--preset", "cifar", "--rounds", "100", "--n", "9", "--budget", "12", "--no-progress",
            "--plain", "--max-tasks", "2", "--min-tasks", "1", "--json", str(data)]
    assert cli.main(argv) == 0
    assert "min_tasks=1, max_tasks=2" in capsys.readouterr().out
    import json

    params = json.loads(data.read_text())["parameters"]
    assert (params["min_tasks"], params["max_tasks"]) == (1, 2)
    assert cli.main(argv[:-4] + ["--max-tasks", "1"]) != 0  # 9 workers cannot hold 12 tasks
    assert "--max-tasks of the available workers (lam < inf) must sum to at least budget (12); got a sum of 9" in (
        capsys.readouterr().err)


# --- One task of room a worker: a selection, from threshold.UNIT_SLACK_FROM workers ---------

UNIT_N = threshold.UNIT_SLACK_FROM + 1003  # and a scalar tail after the SIMD blocks

UNIT_TIMES = [
    ("lognormal", lambda rng, n: rng.lognormal(0, 0.5, n)),
    ("exponential", lambda rng, n: rng.exponential(1, n)),
    ("paper", lambda rng, n: 58.0 * np.arange(1, n + 1)),
    ("one machine type", lambda rng, n: rng.lognormal(0, 0.05, n)),
    ("extreme", lambda rng, n: 10.0 ** rng.uniform(-300, 300, n)),
    ("zeros", lambda rng, n: np.where(rng.random(n) < 0.1, 0.0, rng.lognormal(0, 0.5, n))),
    ("unavailable", lambda rng, n: np.where(rng.random(n) < 0.1, np.inf, rng.exponential(1, n))),
    ("two speeds", lambda rng, n: np.where(np.arange(n) % 2, 1.0, 2.0)),
    ("whole milliseconds", lambda rng, n: np.round(rng.lognormal(3, 0.5, n))),
]


def unit_room(kind, lam, rng):
    """Bounds with at most one task of room a worker: as numbers or as arrays."""
    n = len(lam)
    available = lam < np.inf
    if kind == "0 to 1":
        return 0, 1
    if kind == "3 to 4":
        return 3, 4
    if kind == "arrays 0 to 1":
        return np.zeros(n, np.int64), np.ones(n, np.int64)
    if kind == "arrays, one task, room 0 or 1":
        low = available.astype(np.int64)
        return low, low + (rng.random(n) < 0.7)
    # per worker: minimums 0 to 5, room 0 or 1 (the sample places the budget's key too
    # roughly there for the selection, which leaves such calls to the general path)
    low = np.where(available, rng.integers(0, 6, n), 0).astype(np.int64)
    return low, low + rng.integers(0, 2, n)


def as_arrays(lam, low, high):
    n = len(lam)
    if np.isscalar(low):
        low = np.where(lam < np.inf, low, 0).astype(np.int64)
    return low, np.broadcast_to(np.asarray(high, np.int64), (n,)).copy()


@pytest.mark.parametrize("name, draw", UNIT_TIMES, ids=[name for name, _ in UNIT_TIMES])
@pytest.mark.parametrize("kind", ["0 to 1", "3 to 4", "arrays 0 to 1", "arrays, one task, room 0 or 1",
                                  "arrays, room 0 or 1"])
@pytest.mark.parametrize("share", [0.02, 0.1, 0.5, 0.9, 0.99])
def test_one_task_of_room_a_worker_is_canonical_on_every_backend(name, draw, kind, share):
    rng = np.random.default_rng([len(name), len(kind), int(share * 100)])
    lam = draw(rng, UNIT_N)
    low, high = unit_room(kind, lam, rng)
    low_a, high_a = as_arrays(lam, low, high)
    available = lam < np.inf
    taken = int(low_a.sum())
    room = int(((high_a > low_a) & available).sum())
    budget = taken + int(share * room)
    results = [fa.allocate(lam, budget, min_tasks=low, max_tasks=high, backend=b) for b in CPU_FAST]
    assert is_canonical(lam, budget, results[0], low_a, high_a)
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])


@pytest.mark.parametrize("name, draw", UNIT_TIMES[:7], ids=[name for name, _ in UNIT_TIMES[:7]])
@pytest.mark.parametrize("kind", ["0 to 1", "3 to 4", "arrays 0 to 1", "arrays, one task, room 0 or 1"])
def test_the_selection_takes_the_call_and_equals_the_reference(name, draw, kind):
    # The algorithm as plain Python (threshold.py, which numba compiles) and Cython's port each
    # take these calls (distinct times, the budget's key well inside the sample), and give the
    # reference greedy's allocation.
    rng = np.random.default_rng([len(name), len(kind)])
    lam = draw(rng, UNIT_N)
    low, high = unit_room(kind, lam, rng)
    low_a, high_a = as_arrays(lam, low, high)
    budget = int(low_a.sum()) + int(0.3 * ((high_a > low_a) & (lam < np.inf)).sum())
    want = reference(lam, budget, low_a, high_a)
    out = np.full(UNIT_N, -7, dtype=np.int64)
    ties, heap = np.empty(UNIT_N, np.int64), np.empty(UNIT_N + 2)
    with np.errstate(all="ignore"):
        assert threshold.allocate_unit_slack(lam, budget, low, high, out, ties, heap, False)
    np.testing.assert_array_equal(out, want)
    if "cython" in fa.available_backends():
        from fastata.kernels import cython_cpu

        out[:] = -7
        shared = np.isscalar(low)
        assert cython_cpu.allocate_unit_slack_with(lam, budget, low_a if not shared else np.full(UNIT_N, low),
                                                   high_a, out, shared=shared)
        np.testing.assert_array_equal(out, want)


TIED_TIMES = [
    ("two speeds", lambda rng, n: np.where(np.arange(n) % 2, 1.0, 2.0)),
    ("integers 1..4", lambda rng, n: rng.integers(1, 5, n).astype(np.float64)),
    ("all equal", lambda rng, n: np.ones(n)),
    ("zeros", lambda rng, n: np.where(rng.random(n) < 0.1, 0.0, rng.lognormal(0, 0.5, n))),
    ("unavailable, two speeds", lambda rng, n: np.where(rng.random(n) < 0.1, np.inf, 1.0 + (rng.random(n) < 0.5))),
]


def tied_minimums(kind, lam, rng):
    available = lam < np.inf
    if kind == "one minimum":
        low = available.astype(np.int64)
    elif kind == "levels that tie":  # lam 1 at minimum 1 and lam 2 at minimum 0: both keys 2
        low = (available & (lam == 1.0)).astype(np.int64)
    else:
        low = np.where(available, rng.integers(0, 2, len(lam)), 0).astype(np.int64)
    return low, low + (rng.random(len(lam)) < 0.95)


@pytest.mark.parametrize("name, draw", TIED_TIMES, ids=[name for name, _ in TIED_TIMES])
@pytest.mark.parametrize("kind", ["one minimum", "levels that tie", "minimums 0 or 1"])
@pytest.mark.parametrize("share", [0.1, 0.5, 0.9])
def test_ties_under_bound_arrays_of_one_task_of_room_come_by_level_then_worker(name, draw, kind, share):
    # Keys at one product are taken by level (the minimum plus one), then by worker. Where every
    # worker at the budget's product has one minimum, the selection takes them itself (in worker
    # order); where their minimums differ, it gives way (to the listing of the keys between its
    # cuts, or to the general path) after it has written part of out: what comes back is still
    # the reference's allocation, on every backend and SIMD level.
    rng = np.random.default_rng([len(name), len(kind), int(share * 100)])
    lam = draw(rng, UNIT_N)
    low, high = tied_minimums(kind, lam, rng)
    taken = int(low.sum())
    budget = taken + int(share * int(((high > low) & (lam < np.inf)).sum()))
    want = reference(lam, budget, low, high)
    out = np.full(UNIT_N, -7, dtype=np.int64)
    ties, heap = np.empty(UNIT_N, np.int64), np.empty(UNIT_N + 2)
    with np.errstate(all="ignore"):
        took = threshold.allocate_unit_slack(lam, budget, low, high, out, ties, heap, False)
    if took:
        np.testing.assert_array_equal(out, want)
    if name == "all equal" and kind == "one minimum":
        assert took  # one tied product at one level: the selection's own case
    for b in CPU_FAST:
        np.testing.assert_array_equal(fa.allocate(lam, budget, min_tasks=low, max_tasks=high, backend=b), want)
    if "cython" in fa.available_backends():
        from fastata.kernels import cython_cpu

        def selection(level):
            out[:] = -7
            if cython_cpu.allocate_unit_slack_with(lam, budget, low, high, out):
                np.testing.assert_array_equal(out, want)
            elif name == "all equal" and kind == "one minimum":
                pytest.fail(f"Cython's selection at {level} gave way on one tied product at one level")

        at_every_level(selection)


@pytest.mark.parametrize("name, draw", UNIT_TIMES, ids=[name for name, _ in UNIT_TIMES])
@pytest.mark.parametrize("kind", ["0 to 1", "arrays 0 to 1", "arrays, one task, room 0 or 1"])
@pytest.mark.parametrize("keys", [3, 300])
def test_a_budget_just_past_the_minimums_is_a_selection_too(name, draw, kind, keys):
    # 300 keys past the minimums (under 2 % of the room): the sample's lowest cuts fall
    # below its least key and go to 0, below every key; the selection takes the call, in
    # plain Python and in Cython at every SIMD level, and gives the reference's allocation.
    # 3 keys (under one of the sample's): the general path's, as before.
    rng = np.random.default_rng([len(name), len(kind), keys])
    lam = draw(rng, UNIT_N)
    low, high = unit_room(kind, lam, rng)
    low_a, high_a = as_arrays(lam, low, high)
    budget = int(low_a.sum()) + keys
    want = reference(lam, budget, low_a, high_a)
    out = np.full(UNIT_N, -7, dtype=np.int64)
    ties, heap = np.empty(UNIT_N, np.int64), np.empty(UNIT_N + 2)
    with np.errstate(all="ignore"):
        took = threshold.allocate_unit_slack(lam, budget, low, high, out, ties, heap, False)
    assert took == (keys == 300)
    if took:
        np.testing.assert_array_equal(out, want)
    for b in CPU_FAST:
        np.testing.assert_array_equal(fa.allocate(lam, budget, min_tasks=low, max_tasks=high, backend=b), want)
    if "cython" in fa.available_backends():
        from fastata.kernels import cython_cpu

        shared = np.isscalar(low)

        def selection(level):
            out[:] = -7
            assert cython_cpu.allocate_unit_slack_with(
                lam, budget, low_a if not shared else np.full(UNIT_N, low), high_a, out, shared=shared) == took, level
            if took:
                np.testing.assert_array_equal(out, want, err_msg=level)

        at_every_level(selection)


@pytest.mark.parametrize("k", [0, 5000, UNIT_N - 1])
@pytest.mark.parametrize("what", ["negative", "crossed", "negative maximum", "unavailable"])
@pytest.mark.parametrize("fast_backend", CPU_FAST)
def test_bad_bounds_with_one_task_of_room_are_named_and_change_nothing(fast_backend, what, k):
    rng = np.random.default_rng(k)
    lam = np.where(rng.random(UNIT_N) < 0.1, np.inf, rng.lognormal(0.0, 0.5, UNIT_N))
    lam[k] = 1.0
    low = np.where(lam < np.inf, 1, 0)
    high = low + 1
    budget = int(low.sum()) + UNIT_N // 4
    message = _spoil(what, lam, low, high, k)
    out = np.full(UNIT_N, -7, dtype=np.int64)
    with pytest.raises(ValueError, match=message):
        fa.allocate(lam, budget, min_tasks=low, max_tasks=high, backend=fast_backend, out=out)
    assert (out == -7).all()


@pytest.mark.parametrize("k", [0, 5000, UNIT_N - 1])
@pytest.mark.parametrize("what", ["more room", "a minimum past the budget", "NaN", "negative time"])
@pytest.mark.parametrize("fast_backend", CPU_FAST)
def test_one_worker_unlike_the_rest_leaves_the_call_to_the_general_path(fast_backend, what, k):
    rng = np.random.default_rng(k)
    lam = rng.lognormal(0.0, 0.5, UNIT_N)
    low, high = np.zeros(UNIT_N, np.int64), np.ones(UNIT_N, np.int64)
    budget = UNIT_N // 3
    if what == "more room":
        high[k] = 5
        got = fa.allocate(lam, budget, min_tasks=low, max_tasks=high, backend=fast_backend)
        assert is_canonical(lam, budget, got, low, high)
        return
    if what == "a minimum past the budget":
        low[k] = high[k] = budget + 1
        match = "min_tasks must sum to at most budget"
    else:
        lam[k] = np.nan if what == "NaN" else -1.0
        match = "lam must not contain NaN" if what == "NaN" else "lam must be >= 0"
    out = np.full(UNIT_N, -7, dtype=np.int64)
    with pytest.raises(ValueError, match=match):
        fa.allocate(lam, budget, min_tasks=low, max_tasks=high, backend=fast_backend, out=out)
    assert (out == -7).all()


@pytest.mark.parametrize("n", [300, 3000, 20_000])
@pytest.mark.parametrize("bounds", ["none", "numbers", "arrays"])
@pytest.mark.parametrize("past", ["half", "few"])
def test_keys_past_the_largest_double_go_to_available_workers_only(fast_backend, n, bounds, past):
    # Times near the largest double, whose next keys overflow to +inf, among unavailable
    # workers (lam = +inf, whose keys 1/lam = 0 would read as NaN at t* = +inf): the budget
    # reaches into the overflowing keys, which the available workers take in worker order.
    rng = np.random.default_rng(n)
    lam = rng.choice([1e308, 1.7e308, 1.0], n)
    lam[rng.random(n) < 0.1] = np.inf
    available = lam < np.inf
    ones = int((lam == 1.0).sum())
    if bounds == "none":
        low, high = None, None
        budget = 2 * ones + (int(available.sum()) - ones) * (2 if past == "half" else 1) + 3
    else:
        low = 2 if bounds == "numbers" else np.where(available, 2, 0).astype(np.int64)
        high = 3 if bounds == "numbers" else np.full(n, 3, np.int64)
        extra = (int(available.sum()) - ones) // 2 if past == "half" else 3
        budget = 2 * int(available.sum()) + ones + extra
    want = fa.allocate(lam, budget, min_tasks=low, max_tasks=high, backend="python")
    assert want[~available].max() == 0
    got = fa.allocate(lam, budget, min_tasks=low, max_tasks=high, backend=fast_backend)
    np.testing.assert_array_equal(got, want)

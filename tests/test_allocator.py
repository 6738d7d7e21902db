"""fa.Allocator: buffers kept between calls, the same bits as fa.allocate, no memory growth."""

import tracemalloc

import numpy as np
import pytest

import fastata as fa
from fastata import _validate
from oracle import is_canonical, reference


def test_returns_the_canonical_allocation_in_a_reused_array(backend):
    allocator = fa.Allocator(5, backend=backend)
    rng = np.random.default_rng(0)
    first = allocator(rng.lognormal(size=5), 11)
    for _ in range(20):
        lam, budget = rng.lognormal(size=5), int(rng.integers(0, 40))
        a = allocator(lam, budget)
        assert a is first  # the same array every call: nothing allocated
        np.testing.assert_array_equal(a, reference(lam, budget))


def test_inputs_outside_the_fast_path_are_converted(backend):
    allocator = fa.Allocator(4, backend=backend)
    lam = np.array([1.0, 2.0, 4.0, 3.0, 9.0, 9.0, 5.0, 1.5])
    expected = reference(lam[::2].copy(), 9)
    for given in (lam[::2], lam[::2].tolist(), lam[::2].astype(np.float32), np.arange(1, 5)):
        np.testing.assert_array_equal(allocator(given, np.int64(9)), reference(np.asarray(given, np.float64), 9))
    np.testing.assert_array_equal(allocator(lam[::2], 9), expected)
    with pytest.raises(TypeError, match="budget must be an integer; got True"):
        allocator(lam[::2], True)
    with pytest.raises(ValueError, match="budget must be an integer; got 9.5"):
        allocator(lam[::2], 9.5)
    with pytest.raises(ValueError, match=r"lam must be 1-D; got an array of shape \(2, 2\)"):
        allocator(np.ones((2, 2)), 3)


def test_auto_follows_the_single_problem_rule():
    assert fa.Allocator(51).backend == "cython"
    assert fa.Allocator(4096).backend == "cython"
    assert fa.Allocator(3, backend="python").backend == "python"


def test_bad_input_is_rejected_and_the_last_result_kept(backend):
    allocator = fa.Allocator(3, backend=backend)
    good = allocator([1.0, 2.0, 4.0], 7).copy()
    with pytest.raises(ValueError, match=r"lam must have shape \(3,\), the allocator's n_workers; got shape \(2,\)"):
        allocator([1.0, 2.0], 7)
    with pytest.raises(ValueError, match="lam must not contain NaN; got nan at index 1"):
        allocator([1.0, np.nan, 2.0], 7)
    with pytest.raises(ValueError, match=r"budget must be in \[0, 2\*\*53\]; got -1"):
        allocator([1.0, 2.0, 4.0], -1)
    with pytest.raises(ValueError, match="n_workers must be >= 0; got -1"):
        fa.Allocator(-1)
    with pytest.raises(ValueError, match=r"n_workers must be <= 1152921504606846975 \(a numpy array holds"):
        fa.Allocator(2**62)
    np.testing.assert_array_equal(allocator([1.0, 2.0, 4.0], 7), good)


@pytest.mark.parametrize("backend", ["cython", "numba"])
def test_no_memory_growth_over_100000_rounds(backend):
    allocator = fa.Allocator(51, backend=backend)
    lam = np.random.default_rng(1).lognormal(0.0, 0.5, 51)
    for _ in range(1000):  # warm up: compile, caches, the interpreter's free lists
        allocator(lam, 23)
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for _ in range(100_000):
            allocator(lam, 23)
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    growth = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert growth < 4096, f"{growth} bytes more after 100,000 rounds"


def test_policy_rounds_into_out_allocate_nothing():
    policy = fa.ATAEmpirical(51, 23, eta=0.5)
    out = np.empty(51, dtype=np.int64)
    workers = np.arange(51, dtype=np.int64)
    durations = np.random.default_rng(2).exponential(1.0, 51)
    for _ in range(200):
        policy.allocate(out=out)
        policy.observe(workers, durations)
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for _ in range(20_000):
            policy.allocate(out=out)
            policy.observe(workers, durations)
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    growth = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert growth < 4096, f"{growth} bytes more after 20,000 rounds"


NUMPY_INTEGERS = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64, np.longlong, np.ulonglong]


@pytest.mark.parametrize("backend", ["cython", "numba", "python"])
def test_numpy_integer_budgets_take_the_fast_path(backend, monkeypatch):
    allocator = fa.Allocator(5, backend=backend)
    lam = np.random.default_rng(3).lognormal(size=5)
    expected = reference(lam, 23)

    def full_validation(value, name="budget"):
        raise AssertionError(f"the full validation ran for a budget of type {type(value).__name__}")

    monkeypatch.setattr(_validate, "budget", full_validation)
    for kind in NUMPY_INTEGERS:
        np.testing.assert_array_equal(allocator(lam, kind(23)), expected)


def test_numpy_budgets_outside_the_rules_are_rejected():
    allocator = fa.Allocator(3)
    good = allocator([1.0, 2.0, 4.0], 7).copy()
    for budget, error, match in [
        (np.int64(-1), ValueError, r"budget must be in \[0, 2\*\*53\]; got -1"),
        (np.uint64(2**63), ValueError, r"budget must be in \[0, 2\*\*53\]; got 9223372036854775808"),
        (np.bool_(True), TypeError, "budget must be an integer; got np.True_"),
        (np.float64(7.0), ValueError, "budget must be an integer; got np.float64"),
        (np.timedelta64(7), TypeError, "budget must be an integer; got np.timedelta64"),
    ]:
        with pytest.raises(error, match=match):
            allocator([1.0, 2.0, 4.0], budget)
        with pytest.raises(error, match=match):
            fa.allocate([1.0, 2.0, 4.0], budget)
    np.testing.assert_array_equal(allocator._out, good)


@pytest.mark.parametrize("n", [256, 5000])
@pytest.mark.parametrize("bounded", [False, True])
def test_a_warm_start_from_thresholds_hundreds_of_orders_of_magnitude_higher(fast_backend, n, bounded):
    # The last call's bracket, scaled down to this call's relaxation, underflows to 0: the
    # first guess is then the relaxation itself (a count at 0 used to end the search with a
    # wrong allocation, far from the budget).
    rng = np.random.default_rng(n)
    allocator = fa.Allocator(n, backend=fast_backend)
    budget = 2**40
    allocator(rng.uniform(1.0, 2.0, n) * 1e200, budget)
    lam = np.where(rng.random(n) < 0.2, 5e-324, rng.exponential(size=n))  # relaxation near 1e-315
    lam[rng.random(n) < 0.3] = np.inf
    kw = {}
    if bounded:
        kw = dict(min_tasks=rng.integers(0, 2, n) * (lam < np.inf), max_tasks=np.full(n, 2**45))
    a = allocator(lam, budget, **kw)
    assert is_canonical(lam, budget, a, kw.get("min_tasks"), kw.get("max_tasks"))
    np.testing.assert_array_equal(a, fa.allocate(lam, budget, backend=fast_backend, **kw))

"""Property-based tests (hypothesis): every backend against the reference and brute force."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastata as fa
from oracle import is_canonical, reference

# Values that stress the contract: ties, zeros, +inf, tiny and huge magnitudes.
special = st.sampled_from([0.0, np.inf, 1.0, 2.0, 0.1, 0.3, 1e-300, 1e300, 5e-324, 1.7976931348623157e308])
positive = st.floats(min_value=5e-324, max_value=1e300, allow_nan=False, allow_infinity=False)
lam_values = st.one_of(positive, special)


@st.composite
def problems(draw, max_n=12, max_budget=80):
    lam = draw(st.lists(lam_values, min_size=1, max_size=max_n))
    if all(x == np.inf for x in lam):
        lam[0] = 1.0
    return np.array(lam), draw(st.integers(0, max_budget))


@given(problem=problems())
def test_equals_reference(backend, problem):
    lam, budget = problem
    a = fa.allocate(lam, budget, backend=backend)
    assert a.sum() == budget
    np.testing.assert_array_equal(a, reference(lam, budget))


@given(problem=problems(max_n=6), extra=st.integers(1, 10**15))
def test_large_budget_is_canonical(fast_backend, problem, extra):
    lam, budget = problem
    a = fa.allocate(lam, budget + extra, backend=fast_backend)
    assert is_canonical(lam, budget + extra, a)


def _brute_force_loss(lam, budget):
    best = np.inf
    for a in itertools.product(range(budget + 1), repeat=len(lam)):
        if sum(a) == budget:
            best = min(best, fa.proxy_loss(np.array(a), lam))
    return best


@settings(max_examples=60)
@given(
    lam=st.lists(st.one_of(st.floats(0.05, 20.0), st.sampled_from([0.0, 1.0, np.inf])), min_size=1, max_size=4),
    budget=st.integers(0, 7),
)
def test_loss_equals_brute_force(backend, lam, budget):
    lam = np.array(lam)
    if np.isinf(lam).all():
        lam[0] = 1.0
    a = fa.allocate(lam, budget, backend=backend)
    assert fa.proxy_loss(a, lam) == _brute_force_loss(lam, budget)


@given(problem=problems(), more=st.integers(0, 50))
def test_raising_the_budget_never_lowers_any_share(backend, problem, more):
    lam, budget = problem
    small = fa.allocate(lam, budget, backend=backend)
    large = fa.allocate(lam, budget + more, backend=backend)
    assert (large >= small).all()


@given(
    rows=st.lists(problems(max_n=6, max_budget=40), min_size=1, max_size=5),
)
def test_batch_equals_single_calls(backend, rows):
    n = max(lam.size for lam, _ in rows)
    lam2d = np.ones((len(rows), n))
    for r, (lam, _) in enumerate(rows):
        lam2d[r, : lam.size] = lam
    budgets = np.array([b for _, b in rows])
    expected = np.stack([reference(lam2d[r], int(budgets[r])) for r in range(len(rows))])
    np.testing.assert_array_equal(fa.allocate_batch(lam2d, budgets, backend=backend), expected)


@pytest.mark.parametrize("n", [1, 2, 5, 33])
def test_round_robin_over_unexplored_workers(backend, n):
    lam = np.zeros(n)
    for budget in range(0, 3 * n + 2):
        a = fa.allocate(lam, budget, backend=backend)
        assert a.tolist() == [budget // n + (i < budget % n) for i in range(n)]


def _realistic_lam(kind, n, seed):
    """Per-task times as they come from measurements and from the policies' bounds."""
    rng = np.random.default_rng(seed)
    if kind == "lognormal":
        return rng.lognormal(0.0, 0.5, n)
    if kind == "linear":  # the paper's CIFAR means, 29 i
        return 29.0 * (1 + rng.permutation(n))
    if kind == "grid":  # many exact ties: times measured to a coarse clock
        return rng.integers(1, 8, n) * 0.25
    if kind == "churn":  # some workers gone, some unexplored
        lam = rng.exponential(1.0, n)
        lam[rng.random(n) < 0.2] = np.inf
        return lam
    return 10.0 ** rng.uniform(-200, 200, n)  # "wide": magnitudes far apart


@settings(max_examples=40)
@given(
    kind=st.sampled_from(["lognormal", "linear", "grid", "churn", "wide"]),
    n=st.integers(13, 1500),
    tasks_per_worker=st.sampled_from([0.05, 0.5, 1.0, 3.7, 40.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_many_workers_equal_reference(fast_backend, kind, n, tasks_per_worker, seed):
    # Sizes where the fast backends bracket the boundary with counting passes, or fall
    # back to the heap search when ties make the counts jump.
    lam = _realistic_lam(kind, n, seed)
    budget = int(tasks_per_worker * n)
    np.testing.assert_array_equal(fa.allocate(lam, budget, backend=fast_backend), reference(lam, budget))


def _sequence_lam(kind, n, rng):
    """A cluster's per-task times from one call to the next: drifting, rescaled by orders of
    magnitude, with workers that leave, go unexplored, or run at subnormal times."""
    lam = rng.lognormal(0.0, float(rng.choice([0.5, 5.0])), n)
    if kind == "scaled":
        lam *= 10.0 ** float(rng.integers(-300, 280))
    elif kind == "subnormal":
        lam[rng.random(n) < 0.3] = float(rng.choice([5e-324, 1e-310, 3e-308]))
    elif kind == "churn":
        lam[rng.random(n) < 0.2] = np.inf
        lam[rng.random(n) < 0.1] = 0.0
        lam[0] = 1.0  # one worker stays
    return lam


@settings(max_examples=60)
@given(
    n=st.sampled_from([3, 64, 300, 4100]),
    calls=st.lists(
        st.tuples(st.sampled_from(["drift", "scaled", "subnormal", "churn"]), st.sampled_from([0.5, 1, 4, 2**40]),
                  st.booleans()),
        min_size=2, max_size=5),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_sequence_of_calls_equals_cold_calls(fast_backend, n, calls, seed):
    # fa.Allocator starts each call from the last one's bracket (as every policy's rounds
    # do): whatever that bracket was, the result is the cold call's.
    rng = np.random.default_rng(seed)
    allocator = fa.Allocator(n, backend=fast_backend)
    for kind, per_worker, bounded in calls:
        lam = _sequence_lam(kind, n, rng)
        budget = min(int(per_worker * n), 2**40)
        kw = {}
        if bounded:  # at least a task for some of the available workers, as many as the budget allows
            low = rng.integers(0, 2, n) * (lam < np.inf)
            kw = dict(min_tasks=low * (np.cumsum(low) <= budget), max_tasks=np.full(n, 2 * budget))
        a = allocator(lam, budget, **kw)
        assert is_canonical(lam, budget, a, kw.get("min_tasks"), kw.get("max_tasks"))
        np.testing.assert_array_equal(a, fa.allocate(lam, budget, backend=fast_backend, **kw))


@st.composite
def few_candidates(draw):
    """From 4096 workers, a few fast ones among many far slower (or unavailable): the call
    lists the few and solves their problem alone. Ties among the fast ones, a handful of
    distinct times or any, where the slow and unavailable ones lie, and the budget all vary."""
    n = draw(st.integers(4096, 4200))
    fast_values = draw(st.one_of(
        st.lists(st.sampled_from([1.0, 2.0, 3.0, 0.1, 0.3, 1.0 / 3.0]), min_size=1, max_size=3),
        st.lists(st.floats(0.5, 4.0), min_size=1, max_size=50)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    share = draw(st.sampled_from([0.001, 0.02, 0.06, 0.1]))
    slow = draw(st.sampled_from([1e9, 1e200, np.inf]))
    lam = np.where(rng.random(n) < share, rng.choice(fast_values, n), slow)
    lam[draw(st.integers(0, n - 1))] = fast_values[0]  # at least one available
    return lam, draw(st.integers(1, 20000))


@settings(max_examples=40)
@given(problem=few_candidates())
def test_few_fast_workers_among_many_slow_equal_the_reference(fast_backend, problem):
    lam, budget = problem
    np.testing.assert_array_equal(fa.allocate(lam, budget, backend=fast_backend), reference(lam, budget))


# From 4096 workers, times of at most eight distinct values go to a table of them (and a
# ninth, a zero without bounds or a huge time sends the call the general way; with bounds a
# zero is a time of the table): drawn as a few times, their shares and a layout, with
# budgets from one task to many a worker.
few_time_values = st.one_of(st.sampled_from([1.0, 2.0, 3.0, 4.0, 0.1, 0.3, 0.7, np.inf, 1.8132702392002724,
                                             1.8132702392002726, 0.0, 1e300]),
                            st.floats(min_value=1e-3, max_value=1e3))


@pytest.mark.parametrize("cpu_backend", [b for b in ("numba", "cython") if b in fa.available_backends()])
@settings(max_examples=40, deadline=None)
@given(times=st.lists(few_time_values, min_size=1, max_size=9), seed=st.integers(0, 2**32 - 1),
       layout=st.sampled_from(["random", "repeating", "sorted", "one odd worker"]),
       per_worker=st.floats(min_value=0.0, max_value=6.0), extra=st.integers(1, 40))
def test_a_few_distinct_times_are_canonical(cpu_backend, times, seed, layout, per_worker, extra):
    """The CPU backends (the CUDA simulator is too slow at these sizes; the GPU goes the
    general way) against the reference, or the canonicity check past twice the workers."""
    rng = np.random.default_rng(seed)
    n = 4096 + int(rng.integers(0, 3000))
    values = np.array(times)
    if layout == "random":
        lam = rng.choice(values, n, p=rng.dirichlet(np.ones(values.size)))
    elif layout == "repeating":
        lam = np.resize(values, n)
    elif layout == "sorted":
        lam = np.sort(rng.choice(values, n))
    else:
        lam = np.full(n, values[0])
        lam[rng.integers(0, n)] = values[-1]
    if not (lam < np.inf).any():
        lam[0] = 1.0
    budget = int(per_worker * n) + extra
    a = fa.allocate(lam, budget, backend=cpu_backend)
    assert is_canonical(lam, budget, a)
    if budget <= 2 * n:
        np.testing.assert_array_equal(a, reference(lam, budget))


@pytest.mark.parametrize("cpu_backend", [b for b in ("numba", "cython") if b in fa.available_backends()])
@settings(max_examples=40, deadline=None)
@given(times=st.lists(few_time_values, min_size=1, max_size=9), seed=st.integers(0, 2**32 - 1),
       given_as=st.sampled_from(["arrays by time", "numbers", "arrays, one worker apart"]),
       where=st.floats(min_value=0.0, max_value=1.0))
def test_a_few_distinct_times_with_bounds_are_canonical(cpu_backend, times, seed, given_as, where):
    """Bounds over a few distinct times: one minimum and maximum a time (machine types with
    their own slots), two numbers, or a time's bounds with one worker apart (the table gives
    way); budgets from the minimums alone to every slot full. Against the reference, or the
    canonicity check past twice the workers."""
    rng = np.random.default_rng(seed)
    n = 4096 + int(rng.integers(0, 2000))
    lam = rng.choice(np.array(times), n)
    if not (lam < np.inf).any():
        lam[0] = 1.0
    values = np.unique(lam)
    available = lam < np.inf
    if given_as == "numbers":
        least = int(rng.integers(0, 3))
        most = least + int(rng.integers(1, 4))
        lo, hi = least, most
        low, high = np.where(available, least, 0), np.full(n, most)
    else:
        least = dict(zip(values, rng.integers(0, 3, values.size)))
        room = dict(zip(values, rng.integers(0, 5, values.size)))
        low = np.array([least[x] if x < np.inf else 0 for x in lam], dtype=np.int64)
        high = low + np.array([room[x] for x in lam], dtype=np.int64)
        if given_as != "arrays by time":
            i = int(rng.integers(0, n))
            high[i] += 1
        lo, hi = low, high
    minimums, capacity = int(low.sum()), int(high[available].sum())
    if capacity < max(minimums, 1):
        return
    budget = max(1, minimums + int(where * (capacity - minimums)))
    a = fa.allocate(lam, budget, min_tasks=lo, max_tasks=hi, backend=cpu_backend)
    assert is_canonical(lam, budget, a, low, high)
    if budget <= 2 * n:
        np.testing.assert_array_equal(a, fa.allocate(lam, budget, min_tasks=lo, max_tasks=hi, backend="python"))

"""fa.allocate and fa.allocate_batch: the canonical allocation, bit for bit, on every backend."""

import time

import numpy as np
import pytest

import fastata as fa
from oracle import at_every_level, is_canonical, reference

KNOWN = [
    # (lam, budget, canonical allocation): worked by hand from the key order.
    ([1.0, 2.0, 4.0], 7, [4, 2, 1]),
    ([1.0, 1.0, 1.0], 4, [2, 1, 1]),  # ties: lowest index first
    ([1.0, 2.0], 3, [2, 1]),  # keys (2,2,0) and (2,1,1) tie on product; smaller j wins
    ([2.0, 1.0], 3, [1, 2]),
    ([0.0, 5.0, 0.0, 1.0], 5, [3, 0, 2, 0]),  # lam = 0 takes everything, round-robin
    ([np.inf, 1.0, 3.0], 4, [0, 3, 1]),  # +inf gets nothing
    ([7.0], 11, [11]),
    ([3.0, 1.0], 0, [0, 0]),
    ([np.inf, np.inf], 0, [0, 0]),
    ([], 0, []),
]


@pytest.mark.parametrize("lam, budget, expected", KNOWN)
def test_known_allocations(backend, lam, budget, expected):
    a = fa.allocate(lam, budget, backend=backend)
    assert a.dtype == np.int64 and a.shape == (len(lam),)
    assert a.tolist() == expected


def _random_cases(seed, count):
    rng = np.random.default_rng(seed)
    makers = [
        lambda n: rng.exponential(1.0, n),
        lambda n: rng.integers(1, 4, n).astype(float),  # many exact ties
        lambda n: rng.choice([0.1, 0.2, 0.3, 0.7], n),  # ties whose products round
        lambda n: 10.0 ** rng.uniform(-300, 300, n),  # extreme magnitudes
        lambda n: np.where(rng.random(n) < 0.3, np.inf, rng.uniform(0.5, 2, n)),
        lambda n: np.full(n, 1e-300),
        lambda n: np.full(n, 1e300),
        lambda n: 29.0 * np.arange(1, n + 1),  # the paper's CIFAR means
    ]
    for k in range(count):
        n = int(rng.integers(1, 40))
        lam = makers[k % len(makers)](n)
        if not np.isfinite(lam).any():
            lam[0] = 1.0
        yield lam, int(rng.integers(0, 120))


@pytest.mark.parametrize("lam, budget", list(_random_cases(0, 160)))
def test_equals_reference(backend, lam, budget):
    np.testing.assert_array_equal(fa.allocate(lam, budget, backend=backend), reference(lam, budget))


@pytest.mark.parametrize("n, budget, down", [(256, 1, False), (300, 2, True), (300, 977, True)])
@pytest.mark.parametrize("top", [np.finfo(float).max, 1.7976931348623153e308])
def test_times_at_the_largest_double_equal_reference(backend, n, budget, down, top):
    # 1/lam is subnormal there and 1/max(1/lam) rounds past the largest double, which made the
    # fastest time +inf, and a first guess above it too: every worker took a task, or the
    # counts were NaN (from 256 workers, where the estimates start from the fastest time).
    lam = np.full(n, top)
    lam[n // 3] = np.nextafter(top, 0.0)
    if down:
        lam[::4] = np.inf
    want = reference(lam, budget)
    np.testing.assert_array_equal(fa.allocate(lam, budget, backend=backend), want)
    np.testing.assert_array_equal(fa.allocate_batch(np.stack([lam, lam]), budget, backend=backend)[1], want)


@pytest.mark.parametrize(
    "lam, budget",
    [
        (np.array([1e306, 1e306, 3e306]), 400),  # products overflow to +inf
        (np.array([1.5e308, 1e308, np.inf]), 7),
        (np.array([5e-324, 1e-320, 1.0]), 50),  # subnormals: 1/lam overflows
        (np.array([5e-324, 5e-324]), 33),
        (np.array([1e-300, 1e300]), 20),
        (np.array([0.1] * 7 + [0.3] * 5), 97),
    ],
)
def test_extreme_values_equal_reference(backend, lam, budget):
    np.testing.assert_array_equal(fa.allocate(lam, budget, backend=backend), reference(lam, budget))


@pytest.mark.parametrize(
    "lam, budget",
    [
        ([1.0, 2.0, 3.0], 10**12),
        ([1e-300, 1e300, 1.0], 10**12),
        ([0.1, 0.1, 0.3], 2**53),
        ([1e300, 1e300], 10**9),  # almost every product overflows
        (np.linspace(0.5, 3.0, 1000), 10**15),
        ([1.0] * 64, 10**12 + 7),
    ],
)
def test_huge_budgets_are_canonical_and_fast(fast_backend, lam, budget):
    start = time.perf_counter()
    a = fa.allocate(lam, budget, backend=fast_backend)
    assert is_canonical(lam, budget, a)
    # A budget-proportional kernel would need hours here; allow for first-call compiles.
    assert time.perf_counter() - start < 60


@pytest.mark.parametrize("n, budget", [(2000, 2000), (4096, 4096), (3000, 4500), (1000, 10**6)])
@pytest.mark.parametrize("kind", ["random", "ties", "groups"])
def test_large_instances_are_canonical(fast_backend, n, budget, kind):
    if fast_backend == "cuda":  # the simulator runs kernels in Python: keep it small
        n, budget = n // 8, budget // 8
    rng = np.random.default_rng(n + budget)
    lam = {
        "random": rng.lognormal(0, 1, n),
        "ties": np.full(n, 0.7),
        "groups": rng.choice([0.1, 0.2, 0.3, 1.7], n),
    }[kind]
    assert is_canonical(lam, budget, fa.allocate(lam, budget, backend=fast_backend))


def test_is_canonical_rejects_non_canonical():
    """The oracle used above must be able to fail."""
    lam = [1.0, 2.0, 4.0]
    assert is_canonical(lam, 7, np.array([4, 2, 1]))
    assert not is_canonical(lam, 7, np.array([3, 3, 1]))  # optimal-ish but not canonical
    assert not is_canonical([1.0, 1.0], 3, np.array([1, 2]))  # tie broken the wrong way
    assert not is_canonical(lam, 7, np.array([4, 2, 2]))  # wrong sum
    assert not is_canonical([np.inf, 1.0], 1, np.array([1, 0]))


def test_input_forms_accepted(backend):
    expected = reference([1.0, 2.0, 4.0], 9)
    base = np.array([1.0, 9.0, 2.0, 9.0, 4.0])
    for lam in ([1, 2, 4], (1.0, 2.0, 4.0), np.array([1, 2, 4], np.int32),
                np.array([1, 2, 4], np.float32), base[::2]):
        np.testing.assert_array_equal(fa.allocate(lam, 9, backend=backend), expected)
    np.testing.assert_array_equal(fa.allocate([1.0, 2.0, 4.0], np.int64(9), backend=backend), expected)


def test_out_is_filled_and_returned(backend):
    out = np.full(3, -5, dtype=np.int64)
    result = fa.allocate([1.0, 2.0, 4.0], 7, backend=backend, out=out)
    assert result is out
    assert out.tolist() == [4, 2, 1]


def test_out_untouched_when_the_call_fails(backend):
    out = np.full(3, -5, dtype=np.int64)
    for lam, budget in [([1.0, np.nan, 2.0], 3), ([np.inf] * 3, 3), ([1.0, -1.0, 2.0], 1)]:
        with pytest.raises(ValueError):
            fa.allocate(lam, budget, backend=backend, out=out)
        assert out.tolist() == [-5, -5, -5]


def test_batch_equals_loop_of_single_calls(backend):
    rng = np.random.default_rng(7)
    lam2d = rng.exponential(1.0, (12, 9))
    lam2d[3] = 1.0
    lam2d[4, :4] = 0.0
    lam2d[5, ::2] = np.inf
    budgets = rng.integers(0, 40, 12)
    batch = fa.allocate_batch(lam2d, budgets, backend=backend)
    loop = np.stack([fa.allocate(row, int(b), backend="python") for row, b in zip(lam2d, budgets)])
    np.testing.assert_array_equal(batch, loop)
    scalar = fa.allocate_batch(lam2d, 17, backend=backend)
    np.testing.assert_array_equal(scalar, np.stack([reference(row, 17) for row in lam2d]))


def test_batch_out_semantics(backend):
    lam2d = np.array([[1.0, 2.0, 4.0], [1.0, 1.0, 1.0]])
    out = np.full((2, 3), -1, dtype=np.int64)
    assert fa.allocate_batch(lam2d, [7, 4], backend=backend, out=out) is out
    assert out.tolist() == [[4, 2, 1], [2, 1, 1]]
    bad = lam2d.copy()
    bad[1, 2] = np.nan
    out[:] = -1
    with pytest.raises(ValueError, match=r"lam2d\[1\] must not contain NaN; got nan at index 2"):
        fa.allocate_batch(bad, 7, backend=backend, out=out)
    assert (out == -1).all()  # rows are all checked before any is written


def test_batch_empty_shapes(backend):
    assert fa.allocate_batch(np.empty((0, 4)), 3, backend=backend).shape == (0, 4)
    assert fa.allocate_batch(np.empty((2, 0)), 0, backend=backend).tolist() == [[], []]


def test_proxy_loss():
    assert fa.proxy_loss([4, 2, 1], [1.0, 2.0, 4.0]) == 4.0
    assert fa.proxy_loss([0, 3], [np.inf, 2.0]) == 6.0  # idle workers count as 0
    assert fa.proxy_loss([0, 0], [1.0, 1.0]) == 0.0
    assert fa.proxy_loss([1, 0], [np.inf, 1.0]) == np.inf
    assert fa.proxy_loss(np.array([3], np.int32), [0.1]) == 3 * 0.1


# --- Few candidates: times over many orders of magnitude ---------------------------------


def _few_fast(n, seed):
    """Inputs where few workers can hold a key at t* at all (a sample shows it)."""
    rng = np.random.default_rng(seed)
    spread = 10.0 ** rng.uniform(-300.0, 300.0, n)
    tied = 10.0 ** rng.integers(-150, 150, n).astype(float)  # the candidates tie, a few levels
    types = np.where(rng.random(n) < 0.03, rng.choice([1.0, 2.0, 3.0], n), 1e9)  # 3 % of three fast types
    gone = np.where(rng.random(n) < 0.05, rng.uniform(1.0, 2.0, n), np.inf)  # the rest unavailable
    subnormal = np.where(rng.random(n) < 0.05, 5e-324 * rng.integers(1, 64, n), 1e-290)
    descending = np.sort(np.exp(rng.normal(0.0, 100.0, n)))[::-1].copy()
    return {"spread": spread, "tied": tied, "types": types, "gone": gone, "subnormal": subnormal,
            "descending": descending}


@pytest.mark.parametrize("name", ["spread", "tied", "types", "gone", "subnormal", "descending"])
@pytest.mark.parametrize("n", [4096, 5003, 20011])
def test_few_candidates_are_listed_and_solved_alone(general_path, fast_backend, name, n):
    """Without bounds only workers with ``lam <= budget * lam_min`` can hold a key at t*: where a
    sample says they are few, one pass lists them and their problem alone is solved. Same
    canonical allocation on every backend, and that pass is the only one over all workers
    (without the table of a few times, which takes the three fast types and the rest
    unavailable too: ``general_path``)."""
    from fastata import _bench
    from fastata.kernels import threshold

    lam = _few_fast(n, n)[name]
    for budget in (1, 7, n // 3, n, 10**6, 2**40):
        if budget > 10**6 and name in ("types", "gone"):
            continue  # there every worker may hold a key
        assert threshold.candidates_cut(lam, budget, threshold.sampled_extremes(lam)[0]) > 0.0, budget  # the sample sees few
        out = fa.allocate(lam, budget, backend=fast_backend)
        assert is_canonical(lam, budget, out), budget
        passes = _bench.counting_passes(lam, budget)
        assert passes.pop("listing of the few candidates") == 1, passes
        assert all(kind.endswith("over the candidates") for kind in passes), passes
    if n == 4096:
        np.testing.assert_array_equal(fa.allocate(lam, 999, backend=fast_backend), reference(lam, 999))


def test_few_candidates_bad_input_is_refused_as_before(fast_backend):
    """The listing pass stops at a time that is not above 0 and the validation decides:
    NaN and negative times are refused with the same message, ``out`` untouched; a zero
    takes every task."""
    lam = _few_fast(8192, 1)["spread"]
    for bad, message in ((np.nan, "lam must not contain NaN; got nan at index 5000"), (-1.0, "lam must be >= 0.*-1.0 at index 5000")):
        broken = lam.copy()
        broken[5000] = bad
        out = np.full(lam.size, 7, dtype=np.int64)
        with pytest.raises(ValueError, match=message):
            fa.allocate(broken, 100, backend=fast_backend, out=out)
        assert (out == 7).all()
    zeros = lam.copy()
    zeros[[3000, 8000]] = 0.0
    expected = np.zeros(lam.size, dtype=np.int64)
    expected[[3000, 8000]] = [50, 50]
    np.testing.assert_array_equal(fa.allocate(zeros, 100, backend=fast_backend), expected)


def test_few_candidates_in_the_sample_many_in_all_falls_back(general_path, fast_backend):
    """The sample can mislead: its workers slow but one, the others fast. The listing gives
    up past a quarter of the workers and the whole problem is solved as usual (three times:
    without the table of a few times, ``general_path``)."""
    from fastata import _bench
    from fastata.kernels import threshold

    n = 8192
    stride = threshold.sample_stride(n, threshold.SAMPLED_RELAXATION)
    lam = np.full(n, 2e-10)  # within 2 * budget * least of every worker: all candidates
    lam[::stride] = 1e6
    lam[0] = 1e-10
    budget = 4096
    assert threshold.candidates_cut(lam, budget, threshold.sampled_extremes(lam)[0]) > 0.0
    assert is_canonical(lam, budget, out := fa.allocate(lam, budget, backend=fast_backend))
    np.testing.assert_array_equal(out, fa.allocate(lam, budget, backend="numba"))
    passes = _bench.counting_passes(lam, budget)
    assert passes.pop("listing of the few candidates") == 1 and not any("candidates" in k for k in passes)


def test_few_candidates_warm_calls_match_cold_ones(fast_backend):
    """A policy's rounds warm-start from the candidates' problem: each call the cold allocation."""
    rng = np.random.default_rng(4)
    lam = _few_fast(8192, 2)["spread"]
    allocator = fa.Allocator(lam.size, backend=fast_backend)
    for _ in range(6):
        moved = lam * rng.uniform(0.9, 1.1, lam.size)
        np.testing.assert_array_equal(allocator(moved, 5000), fa.allocate(moved, 5000, backend="numba"))


# --- A budget below the workers that no second key reaches: the selection of one key a worker

SINGLE_N = 16384 + 1003  # from threshold.UNIT_SLACK_FROM workers, and a scalar tail after the SIMD blocks

SINGLE_KEY_TIMES = [
    ("one machine type", lambda rng, n: rng.lognormal(0.0, 0.05, n), (0.1, 0.5, 0.8)),
    ("uniform 1..2", lambda rng, n: rng.uniform(1.0, 2.0, n), (0.1, 0.5, 0.8)),
    ("all equal", lambda rng, n: np.ones(n), (0.1, 0.5, 0.8)),
    ("two speeds", lambda rng, n: np.where(np.arange(n) % 2, 1.0, 2.0), (0.1,)),
    ("integers 1..4", lambda rng, n: rng.integers(1, 5, n).astype(np.float64), (0.1,)),
    ("one machine type, 10 % unavailable",
     lambda rng, n: np.where(rng.random(n) < 0.1, np.inf, rng.lognormal(0.0, 0.05, n)), (0.1, 0.5, 0.8)),
]


def _kernel_calls(kernel, lam, budget, bounds=()):
    """Whether the plain-Python ``threshold.<kernel>`` and Cython's ``<kernel>_with`` (at each
    SIMD level) take the call, each checked against the reference where it does. ``bounds``:
    the kernel's ``(min_tasks, max_tasks)`` arguments, where it takes them."""
    from fastata.kernels import threshold

    want = _reference(lam, budget, bounds)
    n = len(lam)
    out = np.full(n, -7, dtype=np.int64)
    with np.errstate(all="ignore"):
        took = [getattr(threshold, kernel)(lam, budget, *bounds, out, np.empty(n, np.int64), np.empty(n + 2))]
    if took[0]:
        np.testing.assert_array_equal(out, want)
    if "cython" in fa.available_backends():
        from fastata.kernels import cython_cpu

        def kernel_call(level):
            out[:] = -7
            took.append(getattr(cython_cpu, f"{kernel}_with")(lam, budget, out, *bounds))
            if took[-1]:
                np.testing.assert_array_equal(out, want, err_msg=level)

        at_every_level(kernel_call)
    return took, want


def _bound_keywords(bounds):
    """``fa.allocate``'s keywords for a kernel's ``(min_tasks, max_tasks)`` arguments."""
    return {} if not bounds or bounds[0] is None else dict(min_tasks=bounds[0], max_tasks=bounds[1])


def _reference(lam, budget, bounds=()):
    """The reference backend's allocation, with the bounds where given."""
    return fa.allocate(lam, budget, backend="python", **_bound_keywords(bounds))


def _check_kernel_calls(kernel, lam, budget, taken, bounds=()):
    """:func:`_kernel_calls`, asserting that every kernel took the call (``taken``) or none did
    (``None``: either, every kernel alike), and the public numba and Cython calls equal to the
    reference."""
    took, want = _kernel_calls(kernel, lam, budget, bounds)
    if taken is None:  # either, as long as every kernel decides alike
        assert all(took) or not any(took), (budget, took)
    else:
        assert all(took) if taken else not any(took), (budget, took)
    for b in ("numba", "cython"):
        if b in fa.available_backends():
            np.testing.assert_array_equal(fa.allocate(lam, budget, backend=b, **_bound_keywords(bounds)), want)


@pytest.mark.parametrize("name, draw, shares", SINGLE_KEY_TIMES, ids=[t[0] for t in SINGLE_KEY_TIMES])
def test_a_budget_no_second_key_reaches_is_a_selection_of_one_key_a_worker(name, draw, shares):
    """Without bounds, where twice the least time is past the budget's key (times a few percent
    apart, a few machine types, a budget below the workers), every worker holds at most one
    key that counts, and the allocation is the selection of ``min_tasks=0, max_tasks=1``:
    taken by the plain-Python kernel and by Cython's at every SIMD level, equal to the
    reference on every backend."""
    rng = np.random.default_rng(len(name))
    lam = draw(rng, SINGLE_N)
    for share in shares:
        budget = int(share * np.isfinite(lam).sum())
        _check_kernel_calls("allocate_single_keys", lam, budget, taken=True)


@pytest.mark.parametrize("what", ["one worker twice as fast", "a zero", "one fast worker in the sample",
                                  "a budget past the available workers"])
def test_a_second_key_before_the_budget_leaves_the_selection(what):
    """The sample does not see one worker that holds a second key below the budget's (or a
    worker with ``lam = 0``, whose keys are all 0): the counts pass finds the least time and
    the call goes the general way. Where the sample sees it, no pass is made. Either way the
    reference's allocation, on every backend."""
    from fastata.kernels import threshold

    rng = np.random.default_rng(11)
    lam = rng.lognormal(0.0, 0.05, SINGLE_N)
    budget = SINGLE_N // 2
    stride = threshold.sample_stride(SINGLE_N, threshold.UNIT_SAMPLE)
    if what == "one worker twice as fast":
        lam[1] = 0.3  # not sampled (the sample is every stride-th worker from 0)
    elif what == "a zero":
        lam[stride + 1] = 0.0
    elif what == "one fast worker in the sample":
        lam[stride:4 * stride:stride] = 0.3  # three of the sample: its least time, twice which few keys lie below
    else:
        budget = SINGLE_N + 1
    _check_kernel_calls("allocate_single_keys", lam, budget, taken=False)


def test_bad_times_under_the_selection_of_one_key_are_refused_as_before(fast_backend):
    rng = np.random.default_rng(5)
    lam = rng.lognormal(0.0, 0.05, SINGLE_N)
    for bad, message in ((np.nan, "lam must not contain NaN; got nan at index 9000"),
                         (-1.0, "lam must be >= 0.*-1.0 at index 9000")):
        broken = lam.copy()
        broken[9000] = bad
        out = np.full(SINGLE_N, 7, dtype=np.int64)
        with pytest.raises(ValueError, match=message):
            fa.allocate(broken, SINGLE_N // 3, backend=fast_backend, out=out)
        assert (out == 7).all()


# --- A few distinct times without bounds: the table of the times

FEW_N = 4096 + 3 * 256 + 37  # from threshold.FEW_TIMES_FROM workers, whole blocks and a tail
NO_BOUNDS = (None, None)  # the table's kernel arguments without bounds

# Two times whose third keys round to one product (3 * v == 3 * w): keys at one product and
# one level from two times, taken in worker order across both.
SAME_THIRD = (1.8132702392002724, 1.8132702392002726)


def _alternating(values):
    return lambda rng, n: np.resize(np.asarray(values, dtype=np.float64), n)


FEW_TIMES = [
    ("two speeds", _alternating([1.0, 2.0]), (1, 0.1, 0.9, 1.0, 1.5, 4.0)),
    ("integers 1..4", lambda rng, n: rng.integers(1, 5, n).astype(np.float64), (1, 0.1, 0.9, 1.0, 2.5, 4.0)),
    ("all equal", lambda rng, n: np.full(n, 0.3), (1, 0.5, 1.0, 1.3, 7.0)),
    ("eight kinds", lambda rng, n: rng.integers(1, 9, n) * 0.1, (0.1, 1.0, 3.3)),
    ("three kinds, 10 % unavailable",
     lambda rng, n: np.where(rng.random(n) < 0.1, np.inf, rng.choice([0.7, 1.3, 2.9], n)), (0.5, 1.0, 2.0)),
    ("third keys at one product", _alternating(SAME_THIRD), (2.3, 2.5, 2.7)),
    ("times 10**6 apart", _alternating([1e-3, 1e3, 1.0]), (1.0, 1000.0)),
    ("a type of one worker in two hundred", lambda rng, n: np.where(np.arange(n) % 199 == 5, 0.25, 1.0), (1.0, 1.7)),
    ("an odd worker in the last block", lambda rng, n: np.where(np.arange(n) == n - 3, 0.75, 3.0), (1.0, 1.01)),
]


@pytest.mark.parametrize("name, draw, shares", FEW_TIMES, ids=[t[0] for t in FEW_TIMES])
def test_a_few_distinct_times_are_solved_over_a_table_of_them(name, draw, shares):
    """Without bounds, where every worker's time is one of at most eight (a few machine types,
    times rounded in a config file, all equal, unavailable workers among them), the
    allocation comes from a table of the times: taken by the plain-Python kernel and by
    Cython's at every SIMD level, equal to the reference on every backend. Budgets of one
    task, below, at and above the workers, and ties at ``t*`` that the budget splits: within
    one time, across times at different levels, and across two times at one level."""
    rng = np.random.default_rng(len(name))
    lam = draw(rng, FEW_N)
    for share in shares:
        budget = max(1, int(share * np.isfinite(lam).sum()))
        _check_kernel_calls("allocate_few_times", lam, budget, taken=True, bounds=NO_BOUNDS)


def test_third_keys_at_one_product_come_in_worker_order_across_both_times():
    """The case above worked by hand: every worker holds two keys below ``3 v = 3 w``, and the
    keys at it (level 2 for both times) come in worker order, whatever the time."""
    v, w = SAME_THIRD
    assert 3 * v == 3 * w and 2 * v != 2 * w
    lam = np.resize(np.array([v, w, w, v]), FEW_N)
    budget = 2 * FEW_N + 1001
    want = np.full(FEW_N, 2, dtype=np.int64)
    want[:1001] = 3
    np.testing.assert_array_equal(reference(lam, budget), want)
    took, _ = _kernel_calls("allocate_few_times", lam, budget, NO_BOUNDS)
    assert all(took), took


@pytest.mark.parametrize("what", ["nine times", "a zero", "continuous times"])
def test_more_times_than_the_table_holds_go_the_general_way(what):
    """Nine distinct times (eight in the sample, the ninth found by the counts pass), a worker
    with ``lam = 0``, times all distinct: the table gives way, before anything is written,
    and the general path's allocation is the reference's."""
    rng = np.random.default_rng(3)
    lam = rng.integers(1, 9, FEW_N).astype(np.float64)
    if what == "nine times":
        lam[FEW_N // 2] = 9.0
    elif what == "a zero":
        lam[FEW_N - 1] = 0.0
    else:
        lam = rng.lognormal(0.0, 0.5, FEW_N)
    _check_kernel_calls("allocate_few_times", lam, FEW_N, taken=False, bounds=NO_BOUNDS)


def test_bad_times_under_the_table_of_a_few_times_are_refused_as_before(fast_backend):
    """A NaN or negative time the sample does not see: the counts pass stops there, the
    general path reports it, and ``out`` is untouched."""
    lam = np.resize(np.array([1.0, 2.0, 4.0]), FEW_N)
    for bad, message in ((np.nan, "lam must not contain NaN; got nan at index 4000"),
                         (-1.0, "lam must be >= 0.*-1.0 at index 4000")):
        broken = lam.copy()
        broken[4000] = bad
        out = np.full(FEW_N, 7, dtype=np.int64)
        with pytest.raises(ValueError, match=message):
            fa.allocate(broken, FEW_N, backend=fast_backend, out=out)
        assert (out == 7).all()


def _by_time(lam, per_time):
    """int64 bounds of each worker from its time (``per_time``: time -> bound)."""
    return np.array([per_time[x] for x in lam], dtype=np.int64)


# Machine types with their own slots: (times, {time: (min_tasks, max_tasks)}), budgets as
# shares of the way from the minimums to every slot full.
FEW_TIMES_BOUNDED = [
    ("two speeds, a slot each, one task kept", [1.0, 2.0], {1.0: (1, 2), 2.0: (1, 2)}),
    ("integers, slots by speed", [1.0, 2.0, 3.0, 4.0], {1.0: (0, 8), 2.0: (1, 4), 3.0: (0, 2), 4.0: (2, 2)}),
    ("all equal, three slots", [0.3], {0.3: (0, 3)}),
    ("unavailable workers among three types", [0.7, 1.3, np.inf], {0.7: (1, 6), 1.3: (0, 1), np.inf: (0, 5)}),
    ("a fast type held by its maximum", [1e-3, 1.0], {1e-3: (0, 2), 1.0: (0, 50)}),
    ("maximums past the budget", [1.0, 3.0], {1.0: (0, 2**62), 3.0: (2, 2**40)}),
]


@pytest.mark.parametrize("name, values, per_time", FEW_TIMES_BOUNDED, ids=[t[0] for t in FEW_TIMES_BOUNDED])
@pytest.mark.parametrize("share", [0.0, 0.003, 0.4, 0.77, 1.0])
def test_a_few_distinct_times_with_bounds_by_time_are_solved_over_the_table(name, values, per_time, share):
    """Bounds as arrays where each time's workers share theirs (the counts pass checks), from
    the minimums alone (``t*`` below every key) to every slot full: taken by the plain-Python
    kernel and Cython's at every SIMD level, equal to the reference on every backend. Near a
    fill, where the minimums alone make the budget, the general path may take it, whose
    validation pass writes it (one pass to the table's two)."""
    rng = np.random.default_rng(len(name))
    lam = rng.choice(np.array(values), FEW_N)
    low = _by_time(lam, {x: b[0] for x, b in per_time.items()})
    high = _by_time(lam, {x: b[1] for x, b in per_time.items()})
    available = lam < np.inf
    minimums, room = int(low.sum()), int(np.minimum(high[available], 10**6).sum())
    budget = max(1, minimums + int(share * (min(room, 3 * FEW_N) - minimums)))
    # Within the sample's noise of the minimums the table may give way (its sample's minimums,
    # scaled to every worker, make the budget: a fill, the general path's one pass).
    near_fill = budget <= minimums + FEW_N // 8
    _check_kernel_calls("allocate_few_times", lam, budget, taken=None if near_fill else True, bounds=(low, high))


@pytest.mark.parametrize("least, most", [(0, 1), (1, 3), (2, 2)])
def test_a_few_distinct_times_with_bounds_as_numbers_are_solved_over_the_table(least, most):
    """Bounds given as two numbers (the minimum on the available workers alone)."""
    lam = np.resize(np.array([1.0, np.inf, 2.0, 0.5]), FEW_N)
    available = int((lam < np.inf).sum())
    for budget in sorted({max(1, least * available), min((least + most) * available // 2 + 17, most * available),
                          most * available}):
        _check_kernel_calls("allocate_few_times", lam, budget, taken=True, bounds=(least, most))


@pytest.mark.parametrize("bounds", ["arrays by time", "numbers"])
@pytest.mark.parametrize("negative", [False, True], ids=["lam = 0", "lam = -0.0"])
def test_idle_workers_with_bounds_are_a_time_of_the_table(bounds, negative):
    """Workers with ``lam = 0`` (idle, or a time rounded to 0) own keys at product 0 alone,
    before every other: with bounds the table takes them as a time. Budgets from just past
    the minimums, through the idle workers' room (their keys tie at ``t* = 0``: a level
    at a time, each in worker order, the last level split), to its end and past it (they
    take their maximum, ``t* > 0``). Without bounds they take every task, which the general
    path gives out (``test_more_times_than_the_table_holds_go_the_general_way``)."""
    zero = -0.0 if negative else 0.0
    lam = np.resize(np.array([1.0, zero, 2.0, np.inf, zero, 0.5]), FEW_N)
    available = lam < np.inf
    idle = int((lam == 0).sum())
    if bounds == "numbers":
        low, high = 1, 4
        minimums, room = int(available.sum()), 4 * int(available.sum())
    else:
        low = _by_time(lam, {1.0: 1, 0.0: 1, 2.0: 0, np.inf: 0, 0.5: 2})
        high = _by_time(lam, {1.0: 3, 0.0: 4, 2.0: 2, np.inf: 1, 0.5: 2})
        minimums, room = int(low.sum()), int(high[available].sum())
    at_zero = minimums + 3 * idle  # the idle workers' keys end here
    assert at_zero + 1000 < room
    # At the fill (the minimums make the budget) and just past it the general path may take
    # the call (the sample's minimums make the budget), in one pass.
    for budget in (minimums, minimums + 1):
        _check_kernel_calls("allocate_few_times", lam, budget, taken=None, bounds=(low, high))
    for budget in (minimums + idle + 17, at_zero - 1, at_zero, at_zero + 1, at_zero + 1000, room):
        _check_kernel_calls("allocate_few_times", lam, budget, taken=True, bounds=(low, high))


@pytest.mark.parametrize("by_type", [False, True], ids=["bounds by availability", "bounds by type"])
@pytest.mark.parametrize("what", ["a worker's minimum", "a worker's maximum", "an unavailable worker's maximum"])
def test_a_worker_with_bounds_other_than_its_times_goes_the_general_way(what, by_type):
    """One worker whose bounds are not its time's (anywhere: the sample need not see it), with
    bounds alike on every available worker or set type by type: the table gives way before
    anything is written, and the general path's allocation is the reference's."""
    lam = np.resize(np.array([1.0, 2.0, np.inf]), FEW_N)
    low = np.where(lam < np.inf, 1, 0).astype(np.int64)
    high = np.where(lam == 2.0, 3, 4).astype(np.int64) if by_type else np.full(FEW_N, 4, dtype=np.int64)
    i = {"a worker's minimum": 3999, "a worker's maximum": 4000, "an unavailable worker's maximum": 4001}[what]
    if what == "a worker's minimum":
        low[i] = 2
    else:
        high[i] = 5
    _check_kernel_calls("allocate_few_times", lam, 2 * FEW_N, taken=False, bounds=(low, high))


def test_bad_bounds_over_a_few_times_are_refused_as_before(fast_backend):
    """Bounds the allocation cannot take, every worker of a time alike: the table leaves them
    to the general path, which names them, and ``out`` is untouched."""
    lam = np.resize(np.array([1.0, 2.0, np.inf]), FEW_N)
    ones = np.ones(FEW_N, dtype=np.int64)
    cases = [(np.where(lam == 2.0, 3, 0), np.full(FEW_N, 2), 100, "min_tasks must be <= max_tasks"),
             (np.where(lam < np.inf, 1, 0), np.full(FEW_N, 2), 10, "min_tasks must sum to at most budget"),
             (np.zeros(FEW_N), np.ones(FEW_N), 3 * FEW_N, "max_tasks of the available workers .* at least budget"),
             (ones, np.full(FEW_N, 2), 3 * FEW_N, "min_tasks must be 0 for an unavailable worker")]
    for low, high, budget, message in cases:
        out = np.full(FEW_N, 7, dtype=np.int64)
        with pytest.raises(ValueError, match=message):
            fa.allocate(lam, budget, min_tasks=low.astype(np.int64), max_tasks=high.astype(np.int64),
                        backend=fast_backend, out=out)
        assert (out == 7).all()

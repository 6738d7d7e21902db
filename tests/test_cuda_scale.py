"""CUDA at scale: one large problem on the whole GPU, batches and single problems
whose data stays on the device. Everything is checked bit for bit against the reference.

Under NUMBA_ENABLE_CUDASIM the grid is shrunk (a few blocks of four threads) so that
problems of a few hundred workers take the whole-GPU path, through the same code as on a
GPU: block reductions, block scans, several blocks whose partial results meet on the
host. Each test also checks which path ran, so a fallback cannot pass for the real
thing. The simulator runs kernels as Python threads: this file takes about a minute.

On a real GPU (``NUMBA_ENABLE_CUDASIM=0 pytest tests/test_cuda_scale.py``) the last tests
also run every distribution of the benchmark at its full sizes on the default grid; under
the simulator they are skipped (they would take hours there).
"""

import numpy as np
import pytest

import fastata as fa
from oracle import is_canonical, reference

from fastata._bench import DISTRIBUTIONS, case_bounds, make_lam

pytestmark = pytest.mark.cuda

if "cuda" not in fa.available_backends():  # pragma: no cover - CI always has the simulator
    pytest.fail("the cuda backend must be available (GPU or NUMBA_ENABLE_CUDASIM=1)")

from numba import cuda  # noqa: E402  (after conftest set NUMBA_ENABLE_CUDASIM)

from fastata.kernels import cuda as cuda_kernels  # noqa: E402


@pytest.fixture
def paths(monkeypatch):
    """Every problem of 2 workers or more takes the whole-GPU path on a small grid; returns
    the names of the steps that ran (the one-thread fallback included; "landed" where a
    bracketing count was the budget itself)."""
    monkeypatch.setattr(cuda_kernels, "WIDE_N", 2)
    monkeypatch.setattr(cuda_kernels, "WIDE_BLOCKS", 3)
    monkeypatch.setattr(cuda_kernels, "WIDE_THREADS", 4)
    monkeypatch.setattr(cuda_kernels, "THREADS_PER_BLOCK", 8)
    ran = []
    for name in ("select_between", "exact_search", "take_ties", "fill"):
        original = getattr(cuda_kernels._Wide, name)

        def spy(self, *args, _original=original, _name=name):
            ran.append(_name if _name != "fill" else ("fill zeros", "fill level")[args[0]])
            return _original(self, *args)

        monkeypatch.setattr(cuda_kernels._Wide, name, spy)
    bracket = cuda_kernels._Wide.bracket

    def spy_bracket(self, *args):
        before = len(ran)
        result = bracket(self, *args)
        if result[0] and len(ran) == before:  # a count landed on the budget: nothing left to select
            ran.append("landed")
        return result

    monkeypatch.setattr(cuda_kernels._Wide, "bracket", spy_bracket)
    one_thread = cuda_kernels._allocate_one_thread

    def spy_one_thread(*args):
        ran.append("one thread")
        return one_thread(*args)

    monkeypatch.setattr(cuda_kernels, "_allocate_one_thread", spy_one_thread)
    one_thread_bounded = cuda_kernels.allocate_batch_bounded_into

    def spy_one_thread_bounded(*args):
        ran.append("one thread")
        return one_thread_bounded(*args)

    monkeypatch.setattr(cuda_kernels, "allocate_batch_bounded_into", spy_one_thread_bounded)
    return ran


def _check(lam, budget, ran, expected_path):
    ran.clear()
    a = fa.allocate(lam, budget, backend="cuda")
    np.testing.assert_array_equal(a, reference(lam, budget))
    assert ran == expected_path


def test_bracketing_orders_the_boundary_keys_exactly(paths):
    rng = np.random.default_rng(0)
    for n, budget in ((150, 1), (150, 77), (97, 3000)):
        lam = rng.lognormal(0.0, 0.7, n)
        lam[rng.random(n) < 0.2] = np.inf  # unavailable workers count nothing
        _check(lam, budget, paths, ["select_between"])


def test_ties_take_the_exact_search(paths):
    rng = np.random.default_rng(1)
    # Equal lam: every count jumps by n keys, bracketing gives up. Few distinct values: the
    # keys at t* span several levels j (the level bisection and the rank pass).
    _check(np.full(90, 0.3), 1, paths, ["exact_search", "take_ties", "fill level"])
    _check(np.full(90, 0.3), 200, paths, ["exact_search", "take_ties", "fill level"])
    lam = rng.integers(1, 4, 120) * 0.5
    _check(lam, 250, paths, ["exact_search", "take_ties", "fill level"])


def test_overflowing_inverse_takes_the_exact_search(paths):
    # Subnormal lam: sum(1/lam) overflows, so there is no relaxation to start from.
    lam = np.random.default_rng(2).integers(1, 1000, 60) * 5e-324
    _check(lam, 500, paths, ["exact_search", "take_ties", "fill level"])


def test_overflowing_products(paths):
    # The budget-th key's product overflows: t* = +inf, keys ordered by (j, i) alone.
    lam = np.array([1e308, 1.5e308, 1e308, 1.7e308, np.inf])
    _check(lam, 9, paths, ["exact_search", "take_ties", "fill level"])


def test_keys_at_t_star_in_one_stretch_take_the_level_at_once(paths, monkeypatch):
    # Keys whose product overflows, from a low level on each worker up to the budget, and
    # lam = 0 workers with room, bounds alike: every worker holds each level between, the
    # count of keys at t* is linear in the level there, and one pass gives it (the level
    # bisection took a pass per halving of the span: 20 at a million tasks here).
    levels = []
    tie_count = cuda_kernels._Wide.tie_count
    monkeypatch.setattr(cuda_kernels._Wide, "tie_count", lambda self, level: levels.append(level) or tie_count(self, level))
    lam = np.random.default_rng(3).lognormal(0.0, 1.0, 40) * 1e306
    paths.clear()
    assert is_canonical(lam, 10**6, fa.allocate(lam, 10**6, backend="cuda"))
    assert paths == ["exact_search", "take_ties", "fill level"] and levels == []
    zeros = np.zeros(30)
    zeros[::7] = 2.0
    low, high = np.ones(30, np.int64), np.full(30, 50, np.int64)
    assert "take_ties" in _check_bounded(zeros, 1000, low, high, paths) and levels == []


def test_zeros_round_robin_across_blocks(paths):
    rng = np.random.default_rng(3)
    lam = rng.exponential(1.0, 100)
    lam[rng.random(100) < 0.3] = 0.0
    zeros = int((lam == 0).sum())
    for budget in (0, 1, zeros // 2, 3 * zeros + 5):  # the cut falls inside some block
        _check(lam, budget, paths, ["fill zeros"])


def test_budget_zero_writes_zeros(paths):
    _check(np.array([1.0, np.inf, 2.0]), 0, paths, ["fill zeros"])


def test_sums_too_large_for_int64_take_one_thread(paths):
    lam = np.random.default_rng(10).lognormal(0.0, 0.5, 500)
    budget = 2**53  # budget * n >= 4e18: per-block sums could overflow int64
    paths.clear()
    assert is_canonical(lam, budget, fa.allocate(lam, budget, backend="cuda"))
    assert paths == ["one thread"]


@pytest.mark.parametrize("blocks, threads", [(1, 2), (3, 4), (5, 8)])
def test_any_grid_gives_the_same_bits(monkeypatch, blocks, threads):
    # Another grid sums 1/lam in another order and guesses other thresholds: same answer.
    monkeypatch.setattr(cuda_kernels, "WIDE_N", 2)
    monkeypatch.setattr(cuda_kernels, "WIDE_BLOCKS", blocks)
    monkeypatch.setattr(cuda_kernels, "WIDE_THREADS", threads)
    lam = 10.0 ** np.random.default_rng(4).uniform(-3, 3, 80)
    for budget in (1, 80, 1000):
        np.testing.assert_array_equal(fa.allocate(lam, budget, backend="cuda"), reference(lam, budget))


def test_large_budget_stays_canonical(paths):
    lam = np.random.default_rng(5).lognormal(0.0, 0.5, 70)
    budget = 10**15 + 7  # the oracle would need 10**15 heap steps: check canonicity instead
    paths.clear()
    assert is_canonical(lam, budget, fa.allocate(lam, budget, backend="cuda"))
    assert "one thread" not in paths


def test_bad_lam_is_rejected_and_out_left_alone(paths):
    out = np.full(4, -7, dtype=np.int64)
    with pytest.raises(ValueError, match="lam must not contain NaN; got nan at index 2"):
        fa.allocate([1.0, 2.0, np.nan, -1.0], 3, backend="cuda", out=out)
    with pytest.raises(ValueError, match=r"lam must be >= 0 \(use \+inf for an unavailable worker\); got -1.0 at index 1"):
        fa.allocate([1.0, -1.0, np.nan, 2.0], 3, backend="cuda", out=out)
    with pytest.raises(ValueError, match="lam must have an available worker"):
        fa.allocate(np.full(4, np.inf), 3, backend="cuda", out=out)
    assert (out == -7).all()


def _check_bounded(lam, budget, low, high, ran):
    """The bounded allocation on the whole GPU, bit for bit the reference's; returns the steps."""
    ran.clear()
    got = fa.allocate(lam, budget, min_tasks=low, max_tasks=high, backend="cuda")
    np.testing.assert_array_equal(got, fa.allocate(lam, budget, min_tasks=low, max_tasks=high, backend="python"))
    return list(ran)


def test_bounds_on_the_whole_gpu(paths):
    """Bounds that bind (minimums, caps), unavailable workers, ties and zeros with too little
    room for the tasks left: the whole-GPU passes, never the one-thread fallback."""
    rng = np.random.default_rng(11)
    n = 150
    smooth = rng.lognormal(0.0, 0.7, n)
    smooth[rng.random(n) < 0.15] = np.inf
    tied = rng.integers(1, 4, n) * 0.5
    zeros = rng.exponential(1.0, n)
    zeros[rng.random(n) < 0.2] = 0.0
    for lam in (smooth, tied, zeros):
        available = lam < np.inf
        for budget in (int(available.sum()) + 7, 400, 1500):
            low = np.where(available, 1, 0)
            high = np.where(lam == 0.0, 2, np.where(available, max(2 * budget // n, 2) + rng.integers(0, 3, n), 3))
            steps = _check_bounded(lam, budget, low, high, paths)
            zero_room = (high - low)[lam == 0.0].sum()
            if zero_room >= budget - low.sum():  # the lam = 0 workers take what is left: t* = 0
                assert steps == ["take_ties", "fill level"]
            else:
                assert steps and "one thread" not in steps, steps
    # Every key at t* in one level, and a few levels: the level bisection and the rank pass.
    steps = _check_bounded(np.full(90, 0.3), 200, np.zeros(90, np.int64), np.full(90, 3), paths)
    assert steps[-2:] == ["take_ties", "fill level"]


def test_bounds_without_a_search_stay_on_the_whole_gpu(paths):
    """Every task at the minimums (a copy of them: no pass), or lam = 0 workers with room for
    every task left (t* = 0: their keys by (j, i), the tie passes, levels of uneven room
    included); never one GPU thread."""
    lam = np.array([1.0, 0.0, 2.0, 0.0, 3.0] * 20)
    low = np.ones(100, np.int64)
    high = np.full(100, 5)
    assert _check_bounded(lam, 100, low, high, paths) == []
    assert _check_bounded(lam, 130, low, high, paths) == ["take_ties", "fill level"]
    uneven = np.where(np.arange(100) % 7 == 0, 2, 9)
    assert _check_bounded(lam, 300, low, uneven, paths) == ["take_ties", "fill level"]
    assert _check_bounded(lam, 101, np.where(lam == 0.0, 0, 1), uneven, paths) == ["take_ties", "fill level"]
    assert "one thread" not in _check_bounded(lam, 300, low, high, paths)


def test_bad_bounds_on_the_whole_gpu_give_the_cpu_status(paths):
    """The parallel bounds check reports the first bad worker's status, as numba's loop does,
    and writes nothing."""
    from fastata.kernels import numba_cpu

    rng = np.random.default_rng(12)
    n, budget = 120, 300
    lam = rng.lognormal(0.0, 0.5, n)
    lam[[5, 70]] = np.inf
    good_lo, good_hi = np.where(lam < np.inf, 1, 0), np.where(lam < np.inf, 6, 0)
    cases = []
    for i in (3, 64, 119):
        for kind in ("negative", "crossed", "on unavailable"):
            lo, hi = good_lo.copy(), good_hi.copy()
            if kind == "negative":
                lo[i] = -1
            elif kind == "crossed":
                lo[i], hi[i] = 3, 2
            else:
                lo[70] = hi[70] = 1
            lo[(i + 30) % n] = -1  # a later bad worker: the first decides
            cases.append((lo, hi))
    cases += [(good_lo * 3, good_hi), (good_lo, np.minimum(good_hi, 2)), (good_lo, good_hi * 2**50)]
    seen = set()
    for lo, hi in cases:
        lo, hi = lo.astype(np.int64), hi.astype(np.int64)
        expected = numba_cpu.allocate_bounded_into(lam, budget, lo, hi, np.empty(n, np.int64),
                                                   np.empty(n, np.int64), np.empty(n + 2))
        out = np.full(n, -7, dtype=np.int64)
        paths.clear()
        assert cuda_kernels.allocate_bounded_into(lam, budget, lo, hi, out) == expected
        assert "one thread" not in paths
        if expected:
            assert (out == -7).all()
        seen.add(expected)
    assert len(seen) == 6  # every bounds status, and OK


# --- Data on the device ---------------------------------------------------------------


def test_single_problem_on_the_device(paths):
    lam = np.random.default_rng(6).lognormal(0.0, 0.5, 120)
    d_lam = cuda.to_device(lam)
    d_out = fa.allocate(d_lam, 90, backend="cuda")
    assert not isinstance(d_out, np.ndarray) and hasattr(d_out, "copy_to_host")  # still on the device
    np.testing.assert_array_equal(d_out.copy_to_host(), reference(lam, 90))
    mine = cuda.device_array(120, dtype=np.int64)
    assert fa.allocate(d_lam, 10, backend="cuda", out=mine) is mine
    np.testing.assert_array_equal(mine.copy_to_host(), reference(lam, 10))
    d_bad = cuda.to_device(np.array([1.0, np.nan, 2.0]))
    with pytest.raises(ValueError, match="lam must not contain NaN; got nan at index 1"):
        fa.allocate(d_bad, 2, backend="cuda", out=cuda.to_device(np.full(3, -7, np.int64)))


def test_small_problem_on_the_device_uses_one_thread():
    d_out = fa.allocate(cuda.to_device(np.array([1.0, 2.0, 4.0])), 7, backend="cuda")
    assert d_out.copy_to_host().tolist() == [4, 2, 1]
    assert fa.allocate(cuda.device_array(0, np.float64), 0, backend="cuda").shape == (0,)


def test_batch_on_the_device():
    rng = np.random.default_rng(7)
    lam2d = rng.lognormal(0.0, 0.7, (40, 23))
    lam2d[rng.random(lam2d.shape) < 0.1] = np.inf
    lam2d[:, 0] = 1.0
    budgets = rng.integers(0, 60, 40)
    expected = fa.allocate_batch(lam2d, budgets, backend="numba")
    d_lam2d = cuda.to_device(lam2d)
    for given in (budgets, cuda.to_device(budgets.astype(np.int64))):
        d_out = fa.allocate_batch(d_lam2d, given, backend="cuda")
        assert not isinstance(d_out, np.ndarray)
        np.testing.assert_array_equal(d_out.copy_to_host(), expected)
    mine = cuda.device_array((40, 23), dtype=np.int64)
    assert fa.allocate_batch(d_lam2d, 17, backend="cuda", out=mine) is mine
    np.testing.assert_array_equal(mine.copy_to_host(), fa.allocate_batch(lam2d, 17, backend="numba"))


def test_batch_on_the_device_rejects_bad_rows_and_leaves_out_alone():
    lam2d = np.ones((4, 3))
    lam2d[2, 1] = np.nan
    lam2d[3, 0] = -1.0
    out = cuda.to_device(np.full((4, 3), -7, dtype=np.int64))
    with pytest.raises(ValueError, match=r"lam2d\[2\] must not contain NaN; got nan at index 1"):
        fa.allocate_batch(cuda.to_device(lam2d), 5, backend="cuda", out=out)
    assert (out.copy_to_host() == -7).all()
    with pytest.raises(ValueError, match=r"budgets must be in \[0, 2\*\*53\]; got -3 at index 1"):
        fa.allocate_batch(cuda.to_device(np.ones((2, 3))), cuda.to_device(np.array([1, -3])), backend="cuda")
    with pytest.raises(ValueError, match=r"lam2d\[1\] must have at least one worker when budget > 0"):
        fa.allocate_batch(cuda.device_array((2, 0), np.float64), [0, 4], backend="cuda")
    assert fa.allocate_batch(cuda.device_array((0, 5), np.float64), 3, backend="cuda").shape == (0, 5)


def test_bad_device_arrays():
    d3 = cuda.to_device(np.ones(3))
    with pytest.raises(TypeError, match="lam must be a device array of float64; got dtype float32"):
        fa.allocate(cuda.to_device(np.ones(3, np.float32)), 2, backend="cuda")
    with pytest.raises(ValueError, match=r"lam must have shape \(n,\); got shape \(2, 2\)"):
        fa.allocate(cuda.to_device(np.ones((2, 2))), 2, backend="cuda")
    with pytest.raises(ValueError, match=r"out must have shape \(3,\); got shape \(4,\)"):
        fa.allocate(d3, 2, backend="cuda", out=cuda.device_array(4, np.int64))
    with pytest.raises(TypeError, match="out must be a device array like lam"):
        fa.allocate(d3, 2, backend="cuda", out=np.zeros(3, np.int64))
    with pytest.raises(ValueError, match=r"lam must be C-contiguous on the device"):
        fa.allocate(cuda.to_device(np.ones(6))[::2], 2, backend="cuda")
    with pytest.raises(ValueError, match=r"lam2d must have shape \(m, n\); got shape \(3,\)"):
        fa.allocate_batch(d3, 2, backend="cuda")
    with pytest.raises(ValueError, match=r"out must have shape \(1, 3\); got shape \(3,\)"):
        fa.allocate_batch(cuda.to_device(np.ones((1, 3))), 2, backend="cuda", out=cuda.device_array(3, np.int64))
    with pytest.raises(TypeError, match="budgets must be a device array of int64; got dtype int32"):
        fa.allocate_batch(cuda.to_device(np.ones((2, 3))), cuda.to_device(np.ones(2, np.int32)), backend="cuda")
    with pytest.raises(TypeError, match="lam must be a host array here: pass backend='cuda' for GPU arrays"):
        fa.allocate(d3, 2, backend="numba")


def test_allocator_keeps_a_device_array_for_device_input(paths):
    allocator = fa.Allocator(50, backend="cuda")
    rng = np.random.default_rng(8)
    first = None
    for budget in (5, 60):
        lam = rng.lognormal(0.0, 0.5, 50)
        d_out = allocator(cuda.to_device(lam), budget)
        first = d_out if first is None else first
        assert d_out is first  # kept between calls, on the device
        np.testing.assert_array_equal(d_out.copy_to_host(), reference(lam, budget))
    np.testing.assert_array_equal(allocator(lam, 7), reference(lam, 7))  # host input: host output
    with pytest.raises(ValueError, match=r"lam must have shape \(50,\), the allocator's n_workers; got shape \(3,\)"):
        allocator(cuda.to_device(np.ones(3)), 2)


def test_policy_on_the_cuda_backend_matches_the_cpu(paths):
    rng = np.random.default_rng(9)
    gpu, cpu = (fa.ATAEmpirical(40, 30, eta=0.3, backend=b) for b in ("cuda", "numba"))
    for _ in range(4):  # round 1: every bound is 0 (zeros path); later, ties and bracketing
        a = gpu.allocate()
        np.testing.assert_array_equal(a, cpu.allocate())
        workers = np.repeat(np.arange(40), a)
        durations = rng.exponential(1.0 + workers)
        gpu.observe(workers, durations)
        cpu.observe(workers, durations)
    assert "one thread" not in paths


# --- At full size on a real GPU --------------------------------------------------------

def _simulated():
    from numba import config

    return bool(config.ENABLE_CUDASIM)


needs_real_gpu = pytest.mark.skipif(_simulated(), reason="full-size problems need a real GPU (run with "
                                    "NUMBA_ENABLE_CUDASIM=0 there; the simulator would take hours)")


@needs_real_gpu
@pytest.mark.parametrize("n, budget", [(65_536, 65_536), (65_536, 262_144), (10**6, 10**6)])
@pytest.mark.parametrize("distribution", sorted(DISTRIBUTIONS))
def test_full_size_problems_match_the_cpu(distribution, n, budget):
    """Every distribution of the benchmark at its sizes, with and without the benchmark's
    bounds, from host arrays and (without bounds) from device arrays: the default grid,
    hundreds of blocks, bit for bit numba's result (itself checked against the reference
    everywhere else)."""
    lam = make_lam(n, distribution=distribution)
    expected = fa.allocate(lam, budget, backend="numba")
    np.testing.assert_array_equal(fa.allocate(lam, budget, backend="cuda"), expected)
    np.testing.assert_array_equal(fa.allocate(cuda.to_device(lam), budget, backend="cuda").copy_to_host(), expected)
    low, high = case_bounds(n, budget, lam)
    expected = fa.allocate(lam, budget, min_tasks=low, max_tasks=high, backend="numba")
    np.testing.assert_array_equal(fa.allocate(lam, budget, min_tasks=low, max_tasks=high, backend="cuda"), expected)


@needs_real_gpu
def test_full_size_batch_matches_the_cpu():
    """4096 problems of 459 workers drawn from every distribution, with and without bounds."""
    names = sorted(DISTRIBUTIONS)
    lam2d = np.stack([make_lam(459, seed=r, distribution=names[r % len(names)]) for r in range(4096)])
    budgets = np.random.default_rng(3).integers(0, 2000, 4096)
    expected = fa.allocate_batch(lam2d, budgets, backend="numba")
    np.testing.assert_array_equal(fa.allocate_batch(lam2d, budgets, backend="cuda"), expected)
    np.testing.assert_array_equal(
        fa.allocate_batch(cuda.to_device(lam2d), cuda.to_device(budgets), backend="cuda").copy_to_host(), expected)
    available = lam2d < np.inf
    low = (available & (budgets[:, None] >= available.sum(1, keepdims=True))).astype(np.int64)
    high = np.repeat(np.maximum(2 * budgets // 459, 1)[:, None] + 1, 459, axis=1)
    expected = fa.allocate_batch(lam2d, budgets, min_tasks=low, max_tasks=high, backend="numba")
    np.testing.assert_array_equal(fa.allocate_batch(lam2d, budgets, min_tasks=low, max_tasks=high, backend="cuda"),
                                  expected)

"""fastata.jit: the kernels called from a user's own @njit code, as an embedding framework would."""

import subprocess
import sys

import numpy as np
import pytest
from numba import njit, prange
from numba.core.errors import TypingError

import fastata as fa
from fastata import jit
from oracle import reference


@njit
def user_round(lam, budget, out):
    """A user's jitted scheduler step: allocate, then read the result, all in nopython mode."""
    jit.allocate_into(lam, budget, out)
    return out.sum()


@njit(parallel=True)
def user_many(lam2d, budgets, out):
    for r in prange(lam2d.shape[0]):
        jit.allocate_into(lam2d[r], budgets[r], out[r])


@njit
def user_hot_loop(lam2d, budget, out):
    ties, heap = jit.scratch(lam2d.shape[1])  # once, outside the loop
    for r in range(lam2d.shape[0]):
        jit.allocate_into_scratch(lam2d[r], budget, out[r], ties, heap)


@njit
def user_learns(workers, durations, n, alpha, budget):
    counts = np.zeros(n)
    means = np.zeros(n)
    m2 = np.zeros(n)
    available = np.ones(n, dtype=np.uint8)
    s = np.empty(n)
    out = np.empty(n, dtype=np.int64)
    jit.observe_into(workers, durations, counts, means, m2)
    jit.ata_bounds_into(counts, means, available, alpha, 1.0, s)
    jit.allocate_into(s, budget, out)
    return counts, means, s, out


def test_allocate_into_from_njit_equals_the_reference():
    lam = np.random.default_rng(1).lognormal(0.0, 0.5, 51)
    out = np.empty(51, dtype=np.int64)
    assert user_round(lam, 23, out) == 23
    np.testing.assert_array_equal(out, reference(lam, 23))


def test_prange_over_many_problems_equals_single_calls():
    rng = np.random.default_rng(2)
    lam2d = rng.lognormal(0.0, 1.0, (300, 37))
    lam2d[rng.random(lam2d.shape) < 0.1] = np.inf
    lam2d[:, 0] = 1.0  # every row keeps an available worker
    budgets = rng.integers(0, 200, 300)
    out = np.empty(lam2d.shape, dtype=np.int64)
    user_many(lam2d, budgets, out)
    for r in range(0, 300, 7):
        np.testing.assert_array_equal(out[r], reference(lam2d[r], int(budgets[r])))
    np.testing.assert_array_equal(out, fa.allocate_batch(lam2d, budgets))


def test_caller_owned_scratch_gives_the_same_bits():
    lam2d = np.random.default_rng(3).exponential(1.0, (20, 459))
    out = np.empty(lam2d.shape, dtype=np.int64)
    user_hot_loop(lam2d, 459, out)
    np.testing.assert_array_equal(out, fa.allocate_batch(lam2d, 459))


def test_statistics_and_bounds_match_the_policy():
    workers = np.array([0, 1, 1, 2, 0, 2, 2], dtype=np.int64)
    durations = np.array([1.0, 2.0, 2.5, 0.5, 1.5, 0.7, 0.6])
    counts, means, s, out = user_learns(workers, durations, 4, 0.1, 9)
    policy = fa.ATA(4, 9, alpha=0.1)
    policy.observe(workers, durations)
    expected = policy.allocate()  # its first round: k = 1, as rounds=1.0 above
    np.testing.assert_array_equal(counts, policy.counts)
    np.testing.assert_array_equal(means, policy.means)
    np.testing.assert_array_equal(out, expected)
    assert s[3] == 0.0  # unexplored


def test_empirical_bounds():
    counts, means = np.array([4.0, 0.0, 9.0]), np.array([2.0, 0.0, 1.0])
    s = np.empty(3)
    jit.ata_empirical_bounds_into(counts, means, np.array([1, 1, 0], np.uint8), 0.05, 3.0, s)
    policy = fa.ATAEmpirical(3, 5, eta=0.05)
    policy._counts[:], policy._means[:] = counts, means  # the same state, set directly
    policy._kdisc = 3.0
    policy.set_available([2], False)
    np.testing.assert_array_equal(s, policy.lower_bounds)


@pytest.mark.parametrize(
    "lam, budget, out_len, match",
    [
        ([1.0, np.nan], 3, 2, "lam must not contain NaN"),
        ([1.0, -2.0], 3, 2, "lam must be >= 0"),
        ([np.inf, np.inf], 3, 2, "lam must have an available worker"),
        ([1.0, 2.0], -1, 2, r"budget must be in \[0, 2\*\*53\]"),
        ([1.0, 2.0], 3, 3, "out must have the shape of lam"),
    ],
)
def test_bad_input_raises_inside_jitted_code_and_leaves_out_alone(lam, budget, out_len, match):
    out = np.full(out_len, -7, dtype=np.int64)
    with pytest.raises(ValueError, match=match):
        user_round(np.array(lam), budget, out)
    assert (out == -7).all()


@pytest.mark.parametrize(
    "workers, durations, match",
    [
        ([0, 5], [1.0, 1.0], r"workers must be in \[0, n_workers\)"),
        ([0, 1], [1.0, np.inf], "durations must be finite"),
        ([0, 1], [1.0, -1.0], "durations must be >= 0"),
        ([0, 1], [1.0], "workers and durations must have the same length"),
    ],
)
def test_bad_samples_raise_and_change_nothing(workers, durations, match):
    counts, means, m2 = np.zeros(3), np.zeros(3), np.zeros(3)
    with pytest.raises(ValueError, match=match):
        jit.observe_into(np.array(workers, np.int64), np.array(durations), counts, means, m2)
    assert not counts.any() and not means.any() and not m2.any()


def test_bad_bound_parameters():
    z = np.zeros(2)
    with pytest.raises(ValueError, match="alpha and eta must be > 0"):
        jit.ata_bounds_into(z, z, np.ones(2, np.uint8), 0.0, 1.0, np.empty(2))
    with pytest.raises(ValueError, match="rounds must be >= 0"):
        jit.ata_bounds_into(z, z, np.ones(2, np.uint8), 1.0, -1.0, np.empty(2))
    with pytest.raises(ValueError, match="must all have length n_workers"):
        jit.ata_bounds_into(z, z, np.ones(2, np.uint8), 1.0, 1.0, np.empty(3))
    with pytest.raises(ValueError, match="use fastata.jit.scratch"):
        jit.allocate_into_scratch(np.ones(4), 2, np.empty(4, np.int64), *jit.scratch(2))


@pytest.mark.parametrize(
    "args, match",
    [
        ((np.ones(4, np.float32), 3, np.empty(4, np.int64)), r"lam must be a 1-D float64 array \(fastata.jit\); got array\(float32"),
        ((np.ones((2, 2)), 3, np.empty(2, np.int64)), r"lam must be a 1-D float64 array \(fastata.jit\); got array\(float64, 2d"),
        ((np.ones(4), 3.0, np.empty(4, np.int64)), r"budget must be an integer \(fastata.jit\); got float64"),
        ((np.ones(4), True, np.empty(4, np.int64)), r"budget must be an integer \(fastata.jit\); got bool"),
        ((np.ones(4), 3, np.empty(4)), r"out must be a writeable 1-D int64 array \(fastata.jit\); got array\(float64"),
    ],
)
def test_wrong_types_are_refused_when_numba_compiles_the_caller(args, match):
    # float32 lam would silently change the float products the canonical order is defined on.
    with pytest.raises(TypingError, match=match):
        user_round(*args)


def test_wrong_types_of_statistics_and_bounds():
    z = np.zeros(3)
    with pytest.raises(TypingError, match=r"workers must be a 1-D int64 array \(fastata.jit\); got array\(int32"):
        jit.observe_into(np.zeros(2, np.int32), np.zeros(2), z, z, z)
    with pytest.raises(TypingError, match=r"available must be a 1-D uint8 or bool array \(fastata.jit\); got array\(int32"):
        jit.ata_bounds_into(z, z, np.ones(3, np.int32), 1.0, 1.0, np.empty(3))
    with pytest.raises(TypingError, match=r"heap must be a writeable 1-D float64 array"):
        jit.allocate_into_scratch(np.ones(3), 2, np.empty(3, np.int64), np.empty(3, np.int64), np.empty(5, np.float32))


def test_rows_and_columns_of_2d_arrays_are_accepted():
    lam2d = np.random.default_rng(4).lognormal(0.0, 0.5, (7, 5))
    out = np.empty(7, dtype=np.int64)
    user_round(lam2d[:, 2], 9, out)  # a strided column: any layout
    np.testing.assert_array_equal(out, reference(lam2d[:, 2].copy(), 9))


@pytest.mark.parametrize("bounds", [jit.ata_bounds_into, jit.ata_empirical_bounds_into])
def test_available_may_be_bool(bounds):
    # A policy's ``available`` is a bool array: it goes in as it is.
    counts, means = np.array([4.0, 0.0, 9.0, 2.0]), np.array([2.0, 0.0, 1.0, 3.0])
    flags = np.array([True, True, False, True])
    s_bool, s_uint8 = np.empty(4), np.empty(4)
    bounds(counts, means, flags, 0.05, 3.0, s_bool)
    bounds(counts, means, flags.astype(np.uint8), 0.05, 3.0, s_uint8)
    np.testing.assert_array_equal(s_bool, s_uint8)
    assert s_bool[2] == np.inf and np.isfinite(s_bool[[0, 1, 3]]).all()


@njit
def user_bounds_from_policy_flags(counts, means, available, rounds, s):
    jit.ata_empirical_bounds_into(counts, means, available, 0.5, rounds, s)


def test_a_policys_available_goes_straight_into_jitted_bounds():
    policy = fa.ATAEmpirical(3, 5, eta=0.5)
    policy.observe([0, 1, 2, 0], [1.0, 2.0, 3.0, 1.5])
    policy.allocate()
    policy.set_available([1], False)
    s = np.empty(3)
    user_bounds_from_policy_flags(policy.counts, policy.means, policy.available, float(policy.rounds), s)
    np.testing.assert_array_equal(s, policy.lower_bounds)


# --- Status codes: for prange bodies, where numba does not deliver exceptions -----------


@njit(parallel=True)
def user_rows_with_status(lam2d, budgets, out):
    status = np.zeros(lam2d.shape[0], dtype=np.int64)
    for r in prange(lam2d.shape[0]):
        status[r] = jit.allocate_into_status(lam2d[r], budgets[r], out[r])
    return status


@njit(parallel=True)
def user_rows_checked(lam2d, budget, out):
    status = np.zeros(lam2d.shape[0], dtype=np.int64)
    for r in prange(lam2d.shape[0]):
        ties, heap = jit.scratch(lam2d.shape[1])
        status[r] = jit.allocate_into_scratch_status(lam2d[r], budget, out[r], ties, heap)
    for r in range(lam2d.shape[0]):
        jit.check_status(status[r])


def test_prange_with_status_writes_every_good_row_and_reports_the_bad_ones():
    rng = np.random.default_rng(5)
    lam2d = rng.lognormal(0.0, 0.5, (400, 51))
    budgets = np.full(400, 23)
    lam2d[7, 3] = np.nan
    lam2d[150, 0] = -1.0
    lam2d[251] = np.inf
    budgets[333] = -4
    out = np.full(lam2d.shape, -7, dtype=np.int64)
    status = user_rows_with_status(lam2d, budgets, out)
    bad = {7: jit.LAM_NAN, 150: jit.LAM_NEGATIVE, 251: jit.NO_AVAILABLE_WORKER, 333: jit.BUDGET_OUT_OF_RANGE}
    assert {int(r): int(status[r]) for r in np.flatnonzero(status)} == bad
    for r in range(400):
        if r in bad:
            assert (out[r] == -7).all()  # a rejected row is left as it was
        else:
            np.testing.assert_array_equal(out[r], reference(lam2d[r], 23))


def test_check_status_after_the_parallel_loop_raises_the_valueerror():
    lam2d = np.random.default_rng(6).lognormal(0.0, 0.5, (64, 20))
    out = np.empty(lam2d.shape, dtype=np.int64)
    user_rows_checked(lam2d, 9, out)
    np.testing.assert_array_equal(out, fa.allocate_batch(lam2d, 9))
    lam2d[40, 2] = np.nan
    with pytest.raises(ValueError, match=r"lam must not contain NaN \(fastata.jit\)"):
        user_rows_checked(lam2d, 9, out)


@pytest.mark.parametrize(
    "lam, budget, out_len, code, match",
    [
        ([1.0, np.nan], 3, 2, "LAM_NAN", "lam must not contain NaN"),
        ([1.0, -2.0], 3, 2, "LAM_NEGATIVE", "lam must be >= 0"),
        ([np.inf, np.inf], 3, 2, "NO_AVAILABLE_WORKER", "lam must have an available worker"),
        ([1.0, 2.0], -1, 2, "BUDGET_OUT_OF_RANGE", r"budget must be in \[0, 2\*\*53\]"),
        ([1.0, 2.0], 2**53 + 1, 2, "BUDGET_OUT_OF_RANGE", r"budget must be in \[0, 2\*\*53\]"),
        ([1.0, 2.0], 3, 3, "OUT_SHAPE", "out must have the shape of lam"),
    ],
)
def test_status_functions_return_the_code_check_status_words_it(lam, budget, out_len, code, match):
    out = np.full(out_len, -7, dtype=np.int64)
    got = jit.allocate_into_status(np.array(lam), budget, out)
    assert got == getattr(jit, code) != jit.OK
    assert (out == -7).all()
    with pytest.raises(ValueError, match=match):
        jit.check_status(got)
    with pytest.raises(ValueError, match=match):  # the raising function says the same
        jit.allocate_into(np.array(lam), budget, out)


def test_scratch_status_and_the_codes():
    lam = np.array([1.0, 2.0, 4.0])
    out = np.empty(3, dtype=np.int64)
    short = jit.scratch(2)
    assert jit.allocate_into_scratch_status(lam, 7, out, *short) == jit.SCRATCH_TOO_SMALL
    with pytest.raises(ValueError, match="use fastata.jit.scratch"):
        jit.check_status(jit.SCRATCH_TOO_SMALL)
    assert jit.allocate_into_scratch_status(lam, 7, out, *jit.scratch(3)) == jit.OK
    assert out.tolist() == [4, 2, 1]
    assert jit.check_status(jit.OK) is None
    codes = [jit.OK, jit.LAM_NAN, jit.LAM_NEGATIVE, jit.NO_AVAILABLE_WORKER, jit.BUDGET_OUT_OF_RANGE,
             jit.OUT_SHAPE, jit.SCRATCH_TOO_SMALL]  # fmt: skip
    assert len(set(codes)) == len(codes)
    with pytest.raises(ValueError, match=r"status must be a code of fastata.jit"):
        jit.check_status(99)
    with pytest.raises(TypingError, match=r"status must be an integer \(fastata.jit\); got float64"):
        jit.check_status(1.0)


# --- numba's cache and fastata upgrades ------------------------------------------------

USER_MODULE = """
from numba import njit
import fastata.jit

@njit(cache=True)
def fastata_compiled_with():
    return fastata.jit.VERSION

print(fastata_compiled_with(), len(fastata_compiled_with.stats.cache_hits) > 0)  # loaded from the cache?
fastata.jit.check_cached_version(fastata_compiled_with())  # as the README says: at import
"""

RUN = """
import sys
sys.path.insert(0, {folder!r})
import fastata, fastata.jit
if {upgrade!r}:  # what an upgrade changes, as far as the cached caller can see
    fastata.__version__ = fastata.jit.VERSION = "999.0"
import user_cached
"""


def _run_user(folder, upgrade):
    script = RUN.format(folder=str(folder), upgrade=upgrade)
    # Run in the user's folder: from the checkout, ``-c`` would import its fastata/, not the installed one.
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=folder)


def test_a_stale_numba_cache_is_detected(tmp_path):
    (tmp_path / "user_cached.py").write_text(USER_MODULE)
    first = _run_user(tmp_path, upgrade=False)  # compiles, writes the user's cache
    assert first.returncode == 0, first.stderr[-2000:]
    assert first.stdout.split() == [fa.__version__, "False"]
    stale = _run_user(tmp_path, upgrade=True)  # fastata "upgraded": the cache still loads
    assert stale.stdout.split() == [fa.__version__, "True"]
    assert stale.returncode != 0
    assert "RuntimeError: compiled must be the installed fastata version '999.0'; got '0.1.0'" in stale.stderr
    for cached in (tmp_path / "__pycache__").glob("user_cached.*.nb[ic]"):
        cached.unlink()  # the documented fix
    fresh = _run_user(tmp_path, upgrade=True)
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    assert fresh.stdout.split() == ["999.0", "False"]

"""fastata.jit: the kernels called from a user's own @njit code, as an embedding framework would."""

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
    with pytest.raises(TypingError, match=r"available must be a 1-D uint8 array \(fastata.jit\); got array\(bool"):
        jit.ata_bounds_into(z, z, np.ones(3, np.bool_), 1.0, 1.0, np.empty(3))
    with pytest.raises(TypingError, match=r"heap must be a writeable 1-D float64 array"):
        jit.allocate_into_scratch(np.ones(3), 2, np.empty(3, np.int64), np.empty(3, np.int64), np.empty(5, np.float32))


def test_rows_and_columns_of_2d_arrays_are_accepted():
    lam2d = np.random.default_rng(4).lognormal(0.0, 0.5, (7, 5))
    out = np.empty(7, dtype=np.int64)
    user_round(lam2d[:, 2], 9, out)  # a strided column: any layout
    np.testing.assert_array_equal(out, reference(lam2d[:, 2].copy(), 9))

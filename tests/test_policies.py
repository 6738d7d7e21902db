"""Policies (DESIGN.md section 3): bounds by hand, every backend against the reference,
learning on a stationary instance, drift and churn, bad input that changes nothing."""

import copy
import math
import pickle

import numpy as np
import pytest

import fastata as fa
from fastata.kernels import status

MU = np.arange(1.0, 21.0)  # the stationary instance: 20 workers, exponential, means 1..20
B = 40


def state(policy):
    """Everything that determines a policy's future, as comparable Python values."""
    meta, arrays = policy._state()
    return meta, {key: array.tobytes() for key, array in arrays.items()}


def simulate(policy, mu, rounds, rng, losses=None):
    """Run ``rounds`` rounds with exponential task times; return the allocations."""
    allocations = []
    for _ in range(rounds):
        a = policy.allocate()
        allocations.append(a)
        workers = np.repeat(np.arange(mu.size), a)
        policy.observe(workers, rng.exponential(mu[workers]))
    return np.array(allocations)


def window_losses(allocations, mu):
    return np.array([fa.proxy_loss(a, mu) for a in allocations])


# --- bounds by hand ---------------------------------------------------------------------


def test_ata_bounds_by_hand(backend):
    # K = (4, 1, 0), means (3, 10, -), no round yet: k = 1, L = ln 2.
    # Worker 0: c_0 = sqrt(ln2 / 4) + ln2 / 4 = 0.41627... + 0.17329... = 0.58956...
    #           s_0 = 3 - 2 * 0.5 * 0.58956... = 2.41044...
    # Worker 1: c_1 = sqrt(ln2) + ln2 = 1.52570...;  s_1 = 10 - 1.52570... = 8.47430...
    policy = fa.ATA(3, 5, alpha=0.5, backend=backend)
    policy.observe([0, 1, 0, 0, 0], [3.0, 10.0, 3.0, 3.0, 3.0])
    assert policy.lower_bounds.tolist() == [2.4104358992811648, 8.474298208282358, 0.0]
    assert policy.lower_bounds == pytest.approx([2.41043590, 8.47429821, 0.0], rel=1e-8)


def test_ata_empirical_bounds_by_hand(backend):
    # Same counts, eta = 0.25: s_0 = 3 * (1 - 0.5 * 0.58956...) = 2.11565...,
    # s_1 = 10 * (1 - 0.5 * 1.52570...) = 2.37149...
    policy = fa.ATAEmpirical(3, 5, eta=0.25, backend=backend)
    policy.observe([0, 1, 0, 0, 0], [3.0, 10.0, 3.0, 3.0, 3.0])
    assert policy.lower_bounds.tolist() == [2.115653848921747, 2.371491041411785, 0.0]
    assert policy.lower_bounds == pytest.approx([2.11565385, 2.37149104, 0.0], rel=1e-8)


def test_bounds_by_hand_with_discount(backend):
    # gamma = 0.5: four samples, then two rounds: K_0 = 4 * 0.5 * 0.5 = 1, and the
    # discounted round count k = 1 + 0.5 = 1.5, L = ln(2 * 1.5^2) = ln 4.5 = 1.50408...
    # c_0 = sqrt(1.50408) + 1.50408 = 2.73049...;  ATA alpha = 0.25: s_0 = 3 - 0.5 * 2.73049
    policy = fa.ATA(2, 1, alpha=0.25, gamma=0.5, backend=backend)
    policy.observe([0, 0, 0, 0], [3.0, 3.0, 3.0, 3.0])
    policy.allocate()
    policy.allocate()
    assert policy.counts.tolist() == [1.0, 0.0]
    assert policy.means.tolist() == [3.0, 0.0]
    assert policy.lower_bounds[0] == pytest.approx(1.6347571356165, rel=1e-12)
    # Empirical with the same state: 3 * (1 - 2 * 0.1 * 2.73049...) = 1.36170856...
    empirical = fa.ATAEmpirical(2, 1, eta=0.1, gamma=0.5, backend=backend)
    empirical.observe([0, 0, 0, 0], [3.0, 3.0, 3.0, 3.0])
    empirical.allocate()
    empirical.allocate()
    expected = 3.0 * (1.0 - 0.2 * (math.sqrt(math.log(4.5)) + math.log(4.5)))
    assert empirical.lower_bounds[0] == expected
    assert expected == pytest.approx(1.36170856, rel=1e-8)


def test_bounds_clip_at_zero_and_unavailable_is_inf(backend):
    policy = fa.ATA(3, 4, alpha=100.0, backend=backend)
    policy.observe([0, 1], [1.0, 2.0])
    policy.set_available([2], False)
    assert policy.lower_bounds.tolist() == [0.0, 0.0, math.inf]
    assert math.copysign(1.0, policy.lower_bounds[0]) == 1.0  # +0.0, never -0.0


def test_first_rounds_explore_round_robin(backend):
    policy = fa.ATA(5, 7, alpha=1.0, backend=backend)
    assert policy.allocate().tolist() == [2, 2, 1, 1, 1]


def test_welford_statistics_match_numpy(backend):
    rng = np.random.default_rng(3)
    workers = rng.integers(0, 4, size=200)
    durations = rng.gamma(2.0, 1.5, size=200)
    policy = fa.ATA(4, 4, alpha=1.0, backend=backend)
    policy.observe(workers[:77], durations[:77])
    policy.observe(workers[77:], durations[77:])
    for i in range(4):
        samples = durations[workers == i]
        assert policy.counts[i] == samples.size
        assert policy.means[i] == pytest.approx(samples.mean(), rel=1e-12)
        assert policy.variances[i] == pytest.approx(samples.var(), rel=1e-10)


def test_discount_weights_samples_by_age():
    # gamma = 0.5: a sample from two rounds ago weighs 1/4, one from the last round 1.
    policy = fa.ATA(1, 1, alpha=1.0, gamma=0.5, backend="python")
    policy.observe([0], [8.0])
    policy.allocate()
    policy.allocate()
    policy.observe([0], [2.0])
    assert policy.counts[0] == 1.25
    assert policy.means[0] == pytest.approx((0.25 * 8.0 + 2.0) / 1.25, rel=1e-15)


# --- every backend equals the reference -------------------------------------------------


def _scripted_run(cls, backend, rounds, **params):
    """A run that exercises every state change; returns the allocations and final state."""
    rng = np.random.default_rng(11)
    mu = rng.uniform(0.5, 8.0, size=9)
    policy = cls(9, 13, backend=backend, **params)
    allocations = []
    for r in range(rounds):
        if r == 5:
            policy.set_available([2, 7], False)
        if r == 9:
            policy.add_workers(2)
            mu = np.append(mu, [0.7, 3.0])
        if r == 12:
            policy.set_available([2], True)
            policy.reset([0])
        budget = None if r % 4 else int(rng.integers(0, 40))
        a = policy.allocate(budget)
        allocations.append(a.copy())
        workers = rng.permutation(np.repeat(np.arange(mu.size), a))
        policy.observe(workers, rng.exponential(mu[workers]))
        allocations.append(policy.lower_bounds)
    return allocations, state(policy)


@pytest.mark.parametrize(
    "cls, params",
    [
        (fa.ATA, dict(alpha=0.3)),
        (fa.ATA, dict(alpha=0.2, c=1.5, gamma=0.9)),
        (fa.ATAEmpirical, dict(eta=0.3)),
        (fa.ATAEmpirical, dict(eta=0.15, gamma=0.8)),
        (fa.ATABernstein, dict(eta=0.3)),
        (fa.ATABernstein, dict(eta=0.2, c=0.5, gamma=0.9)),
    ],
)
def test_every_backend_equals_reference(backend, cls, params):
    rounds = 16 if backend == "cuda" else 40  # the CUDA simulator is slow
    expected, expected_state = _scripted_run(cls, "python", rounds, **params)
    got, got_state = _scripted_run(cls, backend, rounds, **params)
    for e, g in zip(expected, got):
        assert e.dtype == g.dtype and e.tobytes() == g.tobytes()
    # The meta records the backend the caller asked for; everything else must match.
    expected_state[0].pop("backend"), got_state[0].pop("backend")
    assert got_state == expected_state


def test_kernels_agree_bitwise_on_random_state(backend):
    from fastata import _backends

    _, kernels = _backends.resolve(backend)
    _, ref = _backends.resolve("python")
    rng = np.random.default_rng(5)
    n = 300
    counts = np.where(rng.random(n) < 0.2, 0.0, rng.gamma(1.0, 20.0, n))
    means = rng.gamma(2.0, 3.0, n)
    available = (rng.random(n) < 0.9).astype(np.uint8)
    for variant in (status.VARIANT_ATA, status.VARIANT_EMPIRICAL):
        for weight, log_term in [(0.7, math.log(2.0)), (0.05, math.log(2.0 * 37.3**2)), (3.0, 11.0)]:
            expected, got = np.empty(n), np.empty(n)
            ref.bounds_into(counts, means, available, variant, weight, log_term, expected)
            kernels.bounds_into(counts, means, available, variant, weight, log_term, got)
            assert expected.tobytes() == got.tobytes()


def test_bernstein_bounds_agree_bitwise_at_extreme_means(backend):
    # Means below about 1e-162 square to 0 (the observed spread then divides by 0), and means
    # near 1e300 overflow it: every backend takes IEEE's quotient there, the reference too
    # (Python's division raised).
    from fastata import _backends

    _, kernels = _backends.resolve(backend)
    _, ref = _backends.resolve("python")
    rng = np.random.default_rng(6)
    n = 64
    counts = rng.integers(1, 50, n).astype(np.float64)
    means = rng.choice([1e-300, 1e-200, 1e-163, 1e-150, 1.0, 1e150, 1e300], n)
    with np.errstate(over="ignore"):  # 1e300 squared: an M2 of +inf, as Welford reaches there
        m2 = np.where(rng.random(n) < 0.5, 0.0, means * means * rng.random(n) * counts)
    available = np.ones(n, np.uint8)
    expected, got = np.empty(n), np.empty(n)
    for c, ce in [(1.0, 0.3), (0.5, 3.0)]:
        ref.bernstein_bounds_into(counts, means, m2, available, c, ce, math.log(2.0 * 9.0**2), expected)
        kernels.bernstein_bounds_into(counts, means, m2, available, c, ce, math.log(2.0 * 9.0**2), got)
        assert expected.tobytes() == got.tobytes()
        assert np.all((expected > 0.0) & (expected <= means))


@pytest.mark.parametrize("order", ["grouped", "shuffled", "runs", "alternating"])
def test_observe_kernels_give_the_references_bits(backend, order):
    """Welford's statistics from every backend's observe kernel are the reference's bits,
    whether a worker's samples come grouped (the fast kernels keep a run in registers),
    spread out, in several runs, or two workers taking turns (Cython updates two samples of
    two workers at once); the first and last samples' workers are written back."""
    from fastata import _backends

    _, kernels = _backends.resolve(backend)
    _, ref = _backends.resolve("python")
    rng = np.random.default_rng(["grouped", "shuffled", "runs", "alternating"].index(order))
    n = 40
    for m in (0, 1, 2, 7, 300):
        workers = np.repeat(np.arange(n), rng.multinomial(m, rng.dirichlet(np.full(n, 0.3))))
        if order == "shuffled":
            workers = rng.permutation(workers)
        elif order == "runs":
            workers = np.concatenate([rng.permutation(workers)[: m // 2], workers[m // 2:]])
        elif order == "alternating":
            workers = np.resize(np.array([3, 5, 3, 5, 5, 3, 7, 3]), workers.size)
        durations = rng.exponential(rng.choice([1e-3, 1.0, 1e6], workers.size))
        counts = rng.choice([0.0, 1.0, 7.5], n)
        state = [counts, np.where(counts > 0, rng.exponential(1.0, n), 0.0), rng.exponential(1.0, n) * counts]
        expected = [a.copy() for a in state]
        assert kernels.observe_into(workers, durations, *state) == ref.observe_into(workers, durations, *expected) == 0
        for a, b in zip(state, expected):
            assert a.tobytes() == b.tobytes()


def test_observe_kernels_report_the_first_bad_sample(backend):
    """Every backend's observe kernel checks a whole batch in one pass and reports the first
    bad sample's status, as the reference's loop does; a bad batch changes nothing."""
    from fastata import _backends
    from oracle import sample_batches

    _, kernels = _backends.resolve(backend)
    _, ref = _backends.resolve("python")
    n = 50
    for workers, durations in sample_batches(n):
        state = [np.full(n, 2.0), np.ones(n), np.full(n, 0.5)]
        expected = [a.copy() for a in state]
        assert kernels.observe_into(workers, durations, *state) == ref.observe_into(workers, durations, *expected)
        for a, b in zip(state, expected):
            assert a.tobytes() == b.tobytes()


def test_cython_policy_codes_mirror_status_py():
    from fastata.kernels import cython_cpu

    assert cython_cpu.policy_codes() == {
        "WORKER_OUT_OF_RANGE": status.WORKER_OUT_OF_RANGE,
        "DURATION_NOT_FINITE": status.DURATION_NOT_FINITE,
        "DURATION_NEGATIVE": status.DURATION_NEGATIVE,
        "VARIANT_ATA": status.VARIANT_ATA,
        "VARIANT_EMPIRICAL": status.VARIANT_EMPIRICAL,
    }


# --- learning ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, tolerance",
    [(lambda: fa.ATA(20, B, alpha=1.0), 1.2), (lambda: fa.ATAEmpirical(20, B, eta=0.25), 1.35)],
)
def test_proxy_loss_falls_towards_fta(make, tolerance):
    optimum = fa.proxy_loss(fa.FTA(MU, B).allocate(), MU)
    uniform = fa.proxy_loss(fa.UTA(20, B, seed=0).allocate(), MU)
    losses = window_losses(simulate(make(), MU, 400, np.random.default_rng(2024)), MU)
    early, late = losses[:25].mean(), losses[-100:].mean()
    assert (losses >= optimum).all()  # FTA is optimal for the proxy loss
    assert late < early
    assert late <= tolerance * optimum < uniform


def test_discount_readapts_after_a_speed_change():
    mu = MU.copy()
    rng_seed = 7
    results = {}
    for gamma in (1.0, 0.95):
        policy = fa.ATA(20, B, alpha=1.0, gamma=gamma)
        rng = np.random.default_rng(rng_seed)
        simulate(policy, mu, 200, rng)
        slow = mu.copy()
        slow[0] = 30.0  # the fastest worker becomes the slowest
        after = simulate(policy, slow, 150, rng)
        results[gamma] = (window_losses(after[30:], slow).mean(), after[30:, 0].mean())
    optimum = fa.proxy_loss(fa.allocate(np.r_[30.0, MU[1:]], B), np.r_[30.0, MU[1:]])
    adaptive_loss, adaptive_tasks = results[0.95]
    stale_loss, stale_tasks = results[1.0]
    # gamma = 1 still trusts the once-fast worker 150 rounds later (its mean moves by
    # 1/K per sample); gamma = 0.95 forgets it within a few dozen rounds.
    assert adaptive_loss < 0.5 * stale_loss
    assert adaptive_tasks < 0.5 * stale_tasks
    assert adaptive_loss <= 1.7 * optimum


# --- baselines --------------------------------------------------------------------------


def test_fta_is_allocate_on_the_true_means(backend):
    policy = fa.FTA(MU, B, backend=backend)
    assert policy.allocate().tolist() == fa.allocate(MU, B).tolist()
    policy.set_available([0], False)
    assert policy.allocate(7).tolist() == fa.allocate(np.r_[np.inf, MU[1:]], 7).tolist()
    assert policy.lower_bounds[0] == math.inf and policy.rounds == 2
    ids = policy.add_workers(1, means=[0.5])
    assert ids.tolist() == [20] and policy.allocate()[20] > 0


def test_uta_spreads_evenly_from_a_random_offset():
    policy = fa.UTA(5, 12, seed=1)
    rows = np.array([policy.allocate() for _ in range(200)])
    assert (rows.sum(axis=1) == 12).all()
    assert set(np.unique(rows)) == {2, 3}
    # The two extra tasks go to neighbours (round-robin), from a changing offset.
    assert len({tuple(row) for row in rows}) == 5
    assert np.abs(rows.mean(axis=0) - 12 / 5).max() < 0.15
    again = fa.UTA(5, 12, seed=1)
    assert np.array_equal(np.array([again.allocate() for _ in range(200)]), rows)
    policy.set_available([1, 3], False)
    assert policy.allocate(9)[[1, 3]].tolist() == [0, 0]


# --- churn ------------------------------------------------------------------------------


def test_add_workers_start_unexplored(backend):
    policy = fa.ATA(3, 6, alpha=0.1, backend=backend)
    policy.observe(np.repeat([0, 1, 2], 50), np.repeat([1.0, 2.0, 3.0], 50))
    policy.allocate()
    assert policy.add_workers(2).tolist() == [3, 4]
    assert policy.n_workers == 5 and policy.counts[3:].tolist() == [0.0, 0.0]
    assert policy.lower_bounds[3:].tolist() == [0.0, 0.0]
    assert policy.allocate().tolist() == [0, 0, 0, 3, 3]  # unexplored: round-robin first


def test_unavailable_worker_keeps_its_statistics(backend):
    policy = fa.ATA(3, 6, alpha=0.1, backend=backend)
    policy.observe(np.repeat([0, 1, 2], 50), np.repeat([1.0, 2.0, 3.0], 50))
    before = policy.allocate().copy()
    assert before[0] > 0
    policy.set_available([0], False)
    assert not policy.available[0]
    a = policy.allocate()
    assert a[0] == 0 and a.sum() == 6
    policy.observe([0], [1.0])  # a late result is still welcome
    assert policy.counts[0] == 51
    policy.set_available(np.array([0]), True)
    assert policy.allocate()[0] > 0


def test_no_available_worker_raises_and_changes_nothing(backend):
    policy = fa.ATA(2, 3, alpha=1.0, backend=backend)
    policy.set_available([0, 1], False)
    before = state(policy)
    with pytest.raises(ValueError, match="available must hold at least one worker when budget > 0; got none"):
        policy.allocate()
    assert state(policy) == before
    assert policy.allocate(0).tolist() == [0, 0]


def test_reset_forgets_a_worker(backend):
    policy = fa.ATAEmpirical(3, 6, eta=0.5, backend=backend)
    policy.observe([0, 1, 1, 2], [1.0, 2.0, 2.0, 3.0])
    policy.reset([1])
    assert policy.counts.tolist() == [1.0, 0.0, 1.0]
    assert policy.means.tolist() == [1.0, 0.0, 3.0]
    assert np.isnan(policy.variances[1])


# --- protocol details ---------------------------------------------------------------------


def test_views_are_read_only():
    policy = fa.ATA(3, 3, alpha=1.0)
    for view in (policy.counts, policy.means, policy.available):
        with pytest.raises(ValueError, match="read-only"):
            view[0] = 1
    bounds = policy.lower_bounds
    bounds[0] = 5.0  # a copy: writing to it does not reach the policy
    assert policy.lower_bounds[0] == 0.0


def test_allocate_into_out_and_budget_override(backend):
    policy = fa.ATA(4, 8, alpha=1.0, backend=backend)
    out = np.full(4, -1, dtype=np.int64)
    assert policy.allocate(out=out) is out and out.tolist() == [2, 2, 2, 2]
    assert policy.allocate(5).sum() == 5 and policy.rounds == 2
    assert policy.budget == 8


def test_observe_accepts_lists_other_dtypes_and_empty():
    policy = fa.ATA(3, 3, alpha=1.0)
    policy.observe([2, 2], [1, 3])  # integer durations are times too
    policy.observe(np.array([1], dtype=np.uint8), np.array([0.5], dtype=np.float32))
    policy.observe(np.arange(3)[::2], np.array([4.0, 5.0]))  # a strided view
    policy.observe([], [])
    assert policy.counts.tolist() == [1.0, 1.0, 3.0]
    assert policy.means.tolist() == [4.0, 0.5, 3.0]


# --- bad input: a clear error, and nothing changes ----------------------------------------

BAD_OBSERVE = [
    ([0, 3], [1.0, 1.0], ValueError, r"workers must be in \[0, 3\); got 3 at index 1"),
    ([-1], [1.0], ValueError, r"workers must be in \[0, 3\); got -1 at index 0"),
    ([0, 1], [1.0, np.nan], ValueError, r"durations must be finite; got nan at index 1"),
    ([0, 1], [np.inf, 1.0], ValueError, r"durations must be finite; got inf at index 0"),
    ([0, 1, 2], [1.0, 2.0, -0.5], ValueError, r"durations must be >= 0; got -0.5 at index 2"),
    ([0, 1], [1.0], ValueError, r"workers and durations must have the same length; got 2 and 1"),
    ([[0, 1]], [[1.0, 1.0]], ValueError, r"workers must be 1-D; got an array of shape \(1, 2\)"),
    ([0, 1], [[1.0, 1.0]], ValueError, r"durations must be 1-D; got an array of shape \(1, 2\)"),
    ([0.0, 1.0], [1.0, 1.0], TypeError, r"workers must be integer worker ids; got \[0.0, 1.0\] \(type list\)"),
    ([True], [1.0], TypeError, r"workers must be integer worker ids"),
    ([0], ["1.0"], TypeError, r"durations must be an array of real numbers"),
    (np.array([2**63], dtype=np.uint64), [1.0], ValueError,
     r"workers must be in \[0, 3\); got 9223372036854775808 at index 0"),
    (np.array([0, 2**64 - 1], dtype=np.uint64), [1.0, 1.0], ValueError,
     r"workers must be in \[0, 3\); got 18446744073709551615 at index 1"),
    ([0, 2**70], [1.0, 1.0], ValueError, r"workers must be in \[0, 3\); got 1180591620717411303424 at index 1"),
    (np.array([0, 1], dtype=object), [1.0, 1.0], TypeError, r"workers must be integer worker ids; got an array"),
]


@pytest.mark.parametrize("workers, durations, error, message", BAD_OBSERVE)
@pytest.mark.parametrize("make", [lambda b: fa.ATA(3, 4, alpha=1.0, gamma=0.9, backend=b), lambda b: fa.UTA(3, 4, seed=0, backend=b)])
def test_bad_observe_raises_and_changes_nothing(backend, make, workers, durations, error, message):
    policy = make(backend)
    # A few good rounds first, so there is state to corrupt; the good sample in the
    # bad batch must not be added either.
    for _ in range(3):
        a = policy.allocate()
        policy.observe(np.repeat(np.arange(3), a), np.repeat([1.0, 2.0, 3.0], a))
    before = state(policy)
    with pytest.raises(error, match=message):
        policy.observe(workers, durations)
    assert state(policy) == before


BAD_CONSTRUCTOR = [
    (lambda: fa.ATA(3, 4, alpha=0.0), ValueError, r"alpha must be finite and > 0; got 0.0"),
    (lambda: fa.ATA(3, 4, alpha=-1), ValueError, r"alpha must be finite and > 0; got -1.0"),
    (lambda: fa.ATA(3, 4, alpha=np.inf), ValueError, r"alpha must be finite and > 0; got inf"),
    (lambda: fa.ATA(3, 4, alpha="1"), TypeError, r"alpha must be a real number; got '1'"),
    (lambda: fa.ATAEmpirical(3, 4, eta=0), ValueError, r"eta must be finite and > 0; got 0.0"),
    (lambda: fa.ATAEmpirical(3, 4, eta=np.nan), ValueError, r"eta must be finite and > 0; got nan"),
    (lambda: fa.ATA(3, 4, alpha=1.0, gamma=0.0), ValueError, r"gamma must be in \(0, 1\]; got 0.0"),
    (lambda: fa.ATA(3, 4, alpha=1.0, gamma=1.5), ValueError, r"gamma must be in \(0, 1\]; got 1.5"),
    (lambda: fa.ATA(3, 4, alpha=1.0, c=0.0), ValueError, r"c must be finite and > 0; got 0.0"),
    (lambda: fa.ATA(3, -1, alpha=1.0), ValueError, r"budget must be in \[0, 2\*\*53\]; got -1"),
    (lambda: fa.ATA(3, 2.5, alpha=1.0), ValueError, r"budget must be an integer; got 2.5"),
    (lambda: fa.ATA(0, 4, alpha=1.0), ValueError, r"n_workers must be >= 1; got 0"),
    (lambda: fa.ATA(2.0, 4, alpha=1.0), TypeError, r"n_workers must be an integer; got 2.0"),
    (lambda: fa.ATA(2**62 + 5, 4, alpha=1.0), ValueError,
     r"n_workers must be <= 1152921504606846975 \(a numpy array holds at most 1152921504606846975 workers\); "
     r"got 4611686018427387909"),
    (lambda: fa.UTA(3, 4).add_workers(2**60), ValueError, r"k must be <= 1152921504606846972 \(a numpy array"),
    (lambda: fa.FTA([1.0], 4).add_workers(2**63, means=[1.0]), ValueError, r"k must be <= 1152921504606846974 "),
    (lambda: fa.sim.Exponential(1.0, n=2**61), ValueError, r"n must be <= 1152921504606846975 \(a numpy array"),
    (lambda: fa.UTA(0, 4), ValueError, r"n_workers must be >= 1; got 0"),
    (lambda: fa.UTA(2, -3), ValueError, r"budget must be in \[0, 2\*\*53\]; got -3"),
    (lambda: fa.FTA([1.0, 0.0], 4), ValueError, r"means must be finite and > 0; got 0.0 at index 1"),
    (lambda: fa.FTA([1.0, -2.0], 4), ValueError, r"means must be finite and > 0; got -2.0 at index 1"),
    (lambda: fa.FTA([np.inf], 4), ValueError, r"means must be finite and > 0; got inf at index 0"),
    (lambda: fa.FTA([np.nan, 1.0], 4), ValueError, r"means must be finite and > 0; got nan at index 0"),
    (lambda: fa.FTA([], 4), ValueError, r"means must have at least one worker; got an empty array"),
    (lambda: fa.FTA([[1.0]], 4), ValueError, r"means must be 1-D"),
    (lambda: fa.ATA(3, 4, alpha=1.0, backend="gpu"), ValueError, r"backend must be 'auto' or one of"),
    (lambda: fa.ATA(3, 4, alpha=1.0, explore_share=0.0), ValueError, r"explore_share must be in \(0, 1\]; got 0.0"),
    (lambda: fa.ATAEmpirical(3, 4, eta=1.0, explore_share=1.5), ValueError, r"explore_share must be in \(0, 1\]; got 1.5"),
    (lambda: fa.ATAEmpirical(3, 4, eta=1.0, explore_share=np.nan), ValueError, r"explore_share must be in \(0, 1\]; got nan"),
    (lambda: fa.ATA(3, 4, alpha=1.0, explore_share="1/4"), TypeError, r"explore_share must be a real number; got '1/4'"),
]


@pytest.mark.parametrize("make, error, message", BAD_CONSTRUCTOR)
def test_bad_constructor_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make()


BAD_CALLS = [
    (lambda p: p.allocate(-1), ValueError, r"budget must be in \[0, 2\*\*53\]; got -1"),
    (lambda p: p.allocate(out=np.zeros(3, dtype=np.int32)), TypeError, r"out must have dtype int64"),
    (lambda p: p.allocate(out=np.zeros(4, dtype=np.int64)), ValueError, r"out must have shape \(3,\)"),
    (lambda p: p.set_available([3], False), ValueError, r"workers must be in \[0, 3\); got 3 at index 0"),
    (lambda p: p.set_available([0], 1), TypeError, r"flag must be True or False; got 1"),
    (lambda p: p.reset([0, -2]), ValueError, r"workers must be in \[0, 3\); got -2 at index 1"),
    (lambda p: p.reset([0.5]), TypeError, r"workers must be integer worker ids"),
    (lambda p: p.add_workers(-1), ValueError, r"k must be >= 0; got -1"),
    (lambda p: p.add_workers(1.5), TypeError, r"k must be an integer; got 1.5"),
]


@pytest.mark.parametrize("call, error, message", BAD_CALLS)
def test_bad_calls_raise_and_change_nothing(call, error, message):
    policy = fa.ATAEmpirical(3, 4, eta=0.5, gamma=0.95)
    policy.observe([0, 1, 2, 0], [1.0, 2.0, 3.0, 1.5])
    policy.allocate()
    before = state(policy)
    with pytest.raises(error, match=message):
        call(policy)
    assert state(policy) == before


def test_fta_add_workers_needs_one_mean_each():
    policy = fa.FTA([1.0, 2.0], 3)
    before = state(policy)
    with pytest.raises(ValueError, match=r"means must have one entry per new worker, 2; got 1"):
        policy.add_workers(2, means=[1.0])
    with pytest.raises(ValueError, match=r"means must be finite and > 0; got -1.0 at index 0"):
        policy.add_workers(1, means=[-1.0])
    assert state(policy) == before


# --- censored observations (an extension) -----------------------------------------------------


def test_censored_sample_counts_only_where_it_raises_the_estimate(backend):
    policy = fa.ATAEmpirical(3, 4, eta=0.5, backend=backend)
    twin = fa.ATAEmpirical(3, 4, eta=0.5, backend=backend)
    for p in (policy, twin):
        p.observe([0, 0, 1], [2.0, 4.0, 5.0])  # means 3, 5, unexplored
    # Worker 2 has no sample: added. Worker 0: 3.5 > 3, added. Worker 1: 5 is not > 5, dropped.
    assert policy.observe_censored([2, 0, 1], [7.0, 3.5, 5.0]) == 2
    twin.observe([2, 0], [7.0, 3.5])
    assert state(policy) == state(twin)  # the same Welford update, bit for bit
    before = state(policy)
    assert policy.observe_censored([0, 1, 2], [1.0, 0.0, 6.9]) == 0  # each at or below its mean
    assert state(policy) == before


def test_censored_samples_are_taken_in_order(backend):
    policy = fa.ATA(1, 1, alpha=1.0, backend=backend)
    policy.observe([0], [2.0])
    # 4 raises the mean to 3; then 2.5 no longer exceeds it; then 3.5 does.
    assert policy.observe_censored([0, 0, 0], [4.0, 2.5, 3.5]) == 2
    assert policy.counts[0] == 3 and policy.means[0] == pytest.approx(9.5 / 3, rel=1e-15)


def test_censored_sample_raises_the_bound_of_a_slow_worker(backend):
    """A round that timed out on worker 1 (an hour into a task that usually takes a second)
    leaves its bound far above the others' instead of where it was."""
    policy = fa.ATAEmpirical(3, 30, eta=0.2, backend=backend)
    policy.observe(np.repeat([0, 1, 2], 20), np.ones(60))
    policy.allocate()
    before = policy.lower_bounds
    policy.observe_censored([1], [3600.0])
    after = policy.lower_bounds
    assert after[1] > 100 * before[1] and after[[0, 2]].tolist() == before[[0, 2]].tolist()
    assert policy.allocate()[1] == 0


BAD_CENSORED = [
    ([0, 3], [1.0, 1.0], ValueError, r"workers must be in \[0, 3\); got 3 at index 1"),
    ([-1], [1.0], ValueError, r"workers must be in \[0, 3\); got -1 at index 0"),
    ([0, 1], [9.0, np.nan], ValueError, r"elapsed must be finite; got nan at index 1"),
    ([0, 1], [np.inf, 9.0], ValueError, r"elapsed must be finite; got inf at index 0"),
    ([0, 1, 2], [9.0, 9.0, -0.5], ValueError, r"elapsed must be >= 0; got -0.5 at index 2"),
    ([0, 1], [9.0], ValueError, r"workers and elapsed must have the same length; got 2 and 1"),
    ([[0, 1]], [[9.0, 9.0]], ValueError, r"workers must be 1-D; got an array of shape \(1, 2\)"),
    ([0, 1], [[9.0, 9.0]], ValueError, r"elapsed must be 1-D; got an array of shape \(1, 2\)"),
    ([0.0, 1.0], [9.0, 9.0], TypeError, r"workers must be integer worker ids; got \[0.0, 1.0\] \(type list\)"),
    ([0], ["9"], TypeError, r"elapsed must be an array of real numbers"),
]


@pytest.mark.parametrize("workers, elapsed, error, message", BAD_CENSORED)
@pytest.mark.parametrize("make", [lambda b: fa.ATA(3, 4, alpha=1.0, gamma=0.9, backend=b), lambda b: fa.UTA(3, 4, seed=0, backend=b)])
def test_bad_censored_raises_and_changes_nothing(backend, make, workers, elapsed, error, message):
    policy = make(backend)
    for _ in range(3):
        a = policy.allocate()
        policy.observe(np.repeat(np.arange(3), a), np.repeat([1.0, 2.0, 3.0], a))
    before = state(policy)
    # The good samples in a bad batch (each 9.0, above every mean) must not be added either.
    with pytest.raises(error, match=message):
        policy.observe_censored(workers, elapsed)
    assert state(policy) == before


def test_censored_while_workers_are_added_loses_no_sample():
    """observe_censored holds the policy's lock: a sample written to the statistics arrays
    that add_workers is replacing at that moment would be lost."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    threads, per_thread = 4, 3000
    policy = fa.ATAEmpirical(threads, 8, eta=0.5)
    start = threading.Barrier(threads + 1)
    done = threading.Event()

    def censor(worker):
        start.wait()
        for k in range(per_thread):
            policy.observe_censored([worker], [k + 1.0])  # above the mean of 1..k: always added

    def grow():
        start.wait()
        while not done.is_set():
            policy.add_workers(1)

    with ThreadPoolExecutor(threads + 1) as pool:
        grower = pool.submit(grow)
        try:
            list(pool.map(censor, range(threads)))
        finally:
            done.set()
        grower.result()
    assert policy.n_workers > threads
    assert policy.counts[:threads].tolist() == [per_thread] * threads


# --- bounded exploration (an extension) -----------------------------------------------------


def capped_greedy(s, caps, budget):
    """The canonical allocation with per-worker maxima, one task at a time (DESIGN.md section 2)."""
    import heapq

    a = np.zeros(s.size, dtype=np.int64)
    heap = [(s[i], 0, i) for i in range(s.size) if s[i] != np.inf and caps[i] != 0]
    heapq.heapify(heap)
    for _ in range(budget):
        _, j, i = heapq.heappop(heap)
        a[i] += 1
        if a[i] != caps[i]:
            heapq.heappush(heap, ((j + 2) * s[i], j + 1, i))
    return a


def share_caps(counts, available, share, budget):
    """explore_share's caps by their definition, written out independently of the policy."""
    from fractions import Fraction

    unexplored = [i for i in range(counts.size) if available[i] and counts[i] == 0]
    explored = [i for i in range(counts.size) if available[i] and counts[i] > 0]
    caps = np.full(counts.size, -1)
    if share < 1 and unexplored and explored:
        total = max(1, math.floor(Fraction(share) * budget))
        for r, i in enumerate(unexplored):
            caps[i] = total // len(unexplored) + (r < total % len(unexplored))
    return caps


@pytest.mark.parametrize("seed", range(40))
def test_explore_share_is_the_canonical_allocation_with_caps(backend, seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 12))
    make = fa.ATA if seed % 2 else fa.ATAEmpirical
    kwargs = {"alpha": float(rng.uniform(0.05, 3))} if seed % 2 else {"eta": float(rng.uniform(0.05, 1))}
    share = float(rng.choice([0.1, 0.25, 1 / 3, 0.5, 0.9]))
    gamma = float(rng.choice([1.0, 0.9]))
    policy = make(n, 1, **kwargs, gamma=gamma, explore_share=share, backend=backend)
    paper = make(n, 1, **kwargs, gamma=gamma, backend=backend)
    for _ in range(3):
        seen = rng.random(n) < 0.6
        workers = np.repeat(np.flatnonzero(seen), rng.integers(1, 30, seen.sum()))
        durations = rng.exponential(rng.uniform(0.5, 5.0, n)[workers])
        forget = [int(rng.integers(n))] if rng.random() < 0.3 else []
        for p in (policy, paper):
            p.observe(workers, durations)
            p.reset(forget)
            p.set_available(np.arange(n), True)
        off = rng.random(n) < 0.2
        off[int(rng.integers(n))] = False  # at least one available
        for p in (policy, paper):
            p.set_available(np.flatnonzero(off), False)
        budget = int(rng.integers(0, 60))
        s = policy.lower_bounds
        caps = share_caps(policy.counts, policy.available, share, budget)
        expected = capped_greedy(s, caps, budget)
        got = policy.allocate(budget)
        np.testing.assert_array_equal(got, expected)
        paper.allocate(budget)
        # Only the allocation differs: statistics, discount and round count are the paper's.
        assert state(policy)[1] == state(paper)[1] and policy.rounds == paper.rounds


def test_explore_share_spares_the_first_rounds_and_bounds_newcomers(backend):
    policy = fa.ATA(5, 7, alpha=1.0, explore_share=0.1, backend=backend)
    assert policy.allocate().tolist() == [2, 2, 1, 1, 1]  # nothing explored: the paper's round-robin
    policy = fa.ATAEmpirical(3, 48, eta=0.2, explore_share=0.25, backend=backend)
    paper = fa.ATAEmpirical(3, 48, eta=0.2, backend=backend)
    for p in (policy, paper):
        p.observe(np.repeat([0, 1, 2], 40), np.repeat([1.0, 1.0, 2.0], 40))
        p.allocate()
        p.add_workers(2)
    assert paper.allocate().tolist() == [0, 0, 0, 24, 24]  # the paper: newcomers take the round
    a = policy.allocate()
    assert a[3:].tolist() == [6, 6] and a.sum() == 48  # floor(0.25 * 48) = 12, round-robin
    np.testing.assert_array_equal(a[:3], fa.allocate(policy.lower_bounds[:3], 36))
    assert policy.explore_share == 0.25 and "explore_share=0.25" in repr(policy)


def test_explore_share_gives_a_newcomer_at_least_one_task(backend):
    policy = fa.ATA(2, 3, alpha=0.1, explore_share=0.01, backend=backend)
    policy.observe([0, 1] * 20, [1.0, 2.0] * 20)
    policy.add_workers(1)
    assert policy.allocate()[2] == 1  # floor(0.01 * 3) = 0, but a newcomer must be explored


def test_uta_gives_tasks_to_added_workers():
    policy = fa.UTA(2, 8, seed=0)
    policy.add_workers(2)
    assert policy.allocate(8).tolist() == [2, 2, 2, 2]
    policy.set_available([0], False)
    policy.add_workers(1)
    a = policy.allocate(8)
    assert a[0] == 0 and a[1:].tolist() == [2, 2, 2, 2]


def test_readme_explore_and_censored_example():
    """README.md's example of bounded exploration and a censored sample, run as written."""
    import contextlib
    import io

    from test_readme import example

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(example("explore"), "README.md:explore", "exec"), {"__name__": "readme"})
    assert printed.getvalue().splitlines() == ["[15 14  7  6  6]", "[17 16  3  6  6]"]


@pytest.mark.parametrize("bad", [{"max_tasks": [3, 3]}, {"min_tasks": 1.5}, {"max_tasks": True}])
def test_a_uniform_round_refused_for_its_bounds_draws_nothing(bad):
    # The round's random offset is drawn after the bounds' checks: the rounds that follow
    # are those of a policy that never saw the bad call.
    refused, fresh = fa.UTA(4, 7, seed=0), fa.UTA(4, 7, seed=0)
    with pytest.raises((TypeError, ValueError)):
        refused.allocate(**bad)
    assert [refused.allocate().tolist() for _ in range(4)] == [fresh.allocate().tolist() for _ in range(4)]


@pytest.mark.parametrize("make", [lambda: fa.ATAEmpirical(3, 5, eta=0.5), lambda: fa.FTA([1.0, 2.0, 3.0], 5)])
def test_adding_workers_that_memory_cannot_hold_leaves_the_policy_as_it_was(make, monkeypatch):
    policy = make()
    policy.observe([0, 1, 2], [1.0, 2.0, 3.0])
    before = policy.allocate().tolist()
    concatenate, calls = np.concatenate, []

    def failing(*args, **kwargs):  # the third new array does not fit
        calls.append(1)
        if len(calls) == 3:
            raise MemoryError("no room")
        return concatenate(*args, **kwargs)

    monkeypatch.setattr(np, "concatenate", failing)
    with pytest.raises(MemoryError):
        policy.add_workers(2, **({"means": [1.0, 1.0]} if isinstance(policy, fa.FTA) else {}))
    monkeypatch.setattr(np, "concatenate", concatenate)
    assert policy.n_workers == 3 and policy.counts.shape == (3,) and policy.means.shape == (3,)
    assert policy.allocate().tolist() == before


def test_bounded_exploration_yields_to_caller_maxima_that_need_the_newcomers():
    # One explored worker capped at 4 by the caller, two newcomers whose exploration caps
    # (1 and 0 of a 10 % share) would leave room for 5 of 10 tasks: the caller's bounds are
    # feasible, so the round is theirs alone; with room enough the caps still hold.
    policy = fa.ATAEmpirical(3, 10, eta=0.2, explore_share=0.1)
    policy.observe([0], [1.0])
    policy.allocate()
    expected = fa.allocate(policy.lower_bounds, 10, max_tasks=[4, 9, 9])
    assert policy.allocate(max_tasks=[4, 9, 9]).tolist() == expected.tolist()
    assert expected.sum() == 10
    roomy = policy.allocate(max_tasks=[10, 9, 9])
    assert roomy[1] + roomy[2] <= 1  # the share's one task between the newcomers


@pytest.mark.parametrize("copier", [copy.copy, copy.deepcopy, lambda p: pickle.loads(pickle.dumps(p))],
                         ids=["copy", "deepcopy", "pickle"])
@pytest.mark.parametrize("make", [lambda: fa.ATAEmpirical(4, 7, eta=0.5, gamma=0.9), lambda: fa.UTA(4, 7, seed=1),
                                  lambda: fa.FTA([1.0, 2.0, 3.0, 4.0], 7), lambda: fa.ATABernstein(4, 7, eta=0.5)],
                         ids=["ata-empirical", "uta", "fta", "ata-bernstein"])
def test_a_copied_or_pickled_policy_is_a_policy_of_its_own(copier, make):
    # The same state, the same next rounds, and statistics of its own: observing into the
    # copy leaves the original as it was.
    policy = make()
    for _ in range(3):
        a = policy.allocate()
        policy.observe(np.repeat(np.arange(4), a), np.repeat([1.0, 2.0, 3.0, 4.0], a))
    twin = copier(policy)
    assert state(twin) == state(policy)
    for _ in range(3):
        a = policy.allocate()
        assert twin.allocate().tolist() == a.tolist()
        policy.observe(np.repeat(np.arange(4), a), np.repeat([1.5, 2.0, 2.5, 4.0], a))
        twin.observe(np.repeat(np.arange(4), a), np.repeat([1.5, 2.0, 2.5, 4.0], a))
    assert state(twin) == state(policy)
    before = state(policy)
    twin.observe([0], [9.0])
    twin.add_workers(1, **({"means": [1.0]} if isinstance(twin, fa.FTA) else {}))
    assert state(policy) == before and policy.n_workers == 4

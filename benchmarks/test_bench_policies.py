"""Policy rounds: one full ATA round (observe the previous round's samples, bounds, allocate)
against ``fa.allocate`` alone and against numpy-only rounds, in the same run.

Run: ``pytest benchmarks/test_bench_policies.py --benchmark-columns=median,iqr,rounds``.
Targets, read within a group: at n = budget = 4096 a full round within 3x of
``fa.allocate`` alone; at n = 51, budget = 23 at least 100,000 rounds a second through
the public API (a median of at most 10 us). Every timed round starts from the same policy
state, put back before each call and not timed (``fastata._bench.restorer``).
"""

import math

import numpy as np
import pytest

import fastata as fa
from cases import BACKENDS
from fastata._bench import naive_numpy, restorer

POLICY_CASES = [(4096, 4096), (51, 23)]
#: Timed rounds per case: single calls, as the state is put back before each.
ROUNDS = 2000


def case_id(n, budget):
    return f"n={n}-budget={budget}"


def warm_policy(n, budget, backend, rounds=100, seed=0):
    """An ATA policy after ``rounds`` rounds on log-normal mean times, and one round's samples."""
    rng = np.random.default_rng(seed)
    mu = rng.lognormal(0.0, 0.5, n)
    policy = fa.ATA(n, budget, alpha=0.02, backend=backend)
    for _ in range(rounds):
        a = policy.allocate()
        workers = np.repeat(np.arange(n), a)
        policy.observe(workers, rng.exponential(mu[workers]))
    workers = np.repeat(np.arange(n), policy.allocate())
    return policy, workers, rng.exponential(mu[workers])


@pytest.mark.parametrize("backend", ("auto",) + BACKENDS)
@pytest.mark.parametrize("n, budget", POLICY_CASES, ids=[case_id(*c) for c in POLICY_CASES])
def test_policy_round(benchmark, backend, n, budget):
    """``observe`` of ``budget`` samples, then ``allocate`` (bounds + allocation + discount)."""
    benchmark.group = f"policy round {case_id(n, budget)}"
    policy, workers, durations = warm_policy(n, budget, backend)
    restore = restorer(policy)  # each timed round starts from the same state (see restorer)

    def one_round():
        policy.observe(workers, durations)
        return policy.allocate()

    assert benchmark.pedantic(one_round, setup=restore, rounds=ROUNDS, warmup_rounds=10).sum() == budget


@pytest.mark.parametrize("backend", ("auto",) + BACKENDS)
@pytest.mark.parametrize("n, budget", POLICY_CASES, ids=[case_id(*c) for c in POLICY_CASES])
def test_allocate_alone(benchmark, backend, n, budget):
    """The same round's allocation problem, through ``fa.allocate``: the 3x yardstick."""
    benchmark.group = f"policy round {case_id(n, budget)}"
    policy, _, _ = warm_policy(n, budget, backend)
    lam = policy.lower_bounds
    assert benchmark(fa.allocate, lam, budget, backend=backend).sum() == budget


class NumpyATA:
    """The same round written with numpy only: bincount statistics, vector bounds, an allocator.

    Sums instead of Welford (numpy has no scatter-Welford), so the state is not bit-equal
    to fastata's; the work per round is the same.
    """

    def __init__(self, n, budget, alpha, allocator):
        self.n, self.budget, self.weight = n, budget, 2.0 * alpha
        self.counts, self.sums, self.squares = np.zeros(n), np.zeros(n), np.zeros(n)
        self.rounds = 0
        self.allocator = allocator

    def observe(self, workers, durations):
        workers = np.asarray(workers, dtype=np.int64)
        durations = np.asarray(durations, dtype=np.float64)
        if workers.shape != durations.shape or not np.isfinite(durations).all() or (durations < 0).any():
            raise ValueError("bad samples")
        if workers.size and (workers.min() < 0 or workers.max() >= self.n):
            raise ValueError("bad ids")
        self.counts += np.bincount(workers, minlength=self.n)
        self.sums += np.bincount(workers, durations, minlength=self.n)
        self.squares += np.bincount(workers, durations * durations, minlength=self.n)

    def allocate(self):
        k = max(self.rounds, 1)
        log_term = math.log(2.0 * k * k)
        seen = self.counts > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            r = log_term / self.counts
            means = self.sums / self.counts
            s = np.where(seen, np.maximum(means - self.weight * (np.sqrt(r) + r), 0.0), 0.0)
        self.rounds += 1
        return self.allocator(s, self.budget)


@pytest.mark.parametrize(
    "allocator_name, allocator",
    [("naive numpy greedy", naive_numpy), ("fa.allocate", lambda s, b: fa.allocate(s, b))],
)
@pytest.mark.parametrize("n, budget", POLICY_CASES, ids=[case_id(*c) for c in POLICY_CASES])
def test_numpy_round(benchmark, n, budget, allocator_name, allocator):
    """Baseline: numpy statistics and bounds, allocated by numpy alone or by fastata."""
    benchmark.group = f"policy round {case_id(n, budget)}"
    benchmark.name = f"numpy round + {allocator_name}"
    _, workers, durations = warm_policy(n, budget, "auto")
    policy = NumpyATA(n, budget, 0.02, allocator)
    policy.observe(workers, durations)
    state = policy.counts.copy(), policy.sums.copy(), policy.squares.copy(), policy.rounds

    def restore():
        for array, saved in zip((policy.counts, policy.sums, policy.squares), state):
            np.copyto(array, saved)
        policy.rounds = state[3]

    def one_round():
        policy.observe(workers, durations)
        return policy.allocate()

    assert benchmark.pedantic(one_round, setup=restore, rounds=ROUNDS, warmup_rounds=10).sum() == budget

"""Simulator speed: 10,000 rounds of all five policies, against a plain numpy simulation loop.

Run: ``pytest benchmarks/test_bench_sim.py --benchmark-columns=median,iqr,rounds``.
Targets: the paper's CIFAR setup (n = 51, budget = 23), 10,000 rounds of
ATA, ATA-Empirical, FTA, UTA and GTA in under 10 s on 2 cores; n = 459 in under 30 s.
The baseline, timed in the same run, is the obvious numpy loop (numpy sampling per
round, ``bincount`` for per-worker busy time, ``np.partition`` of every completion for
GTA) driving the same policy objects.
"""

import numpy as np
import pytest

import fastata as fa

ROUNDS = 10_000
BUDGET = 23
SIZES = (51, 459)


def case_id(n):
    return f"n={n}-budget={BUDGET}"


@pytest.mark.parametrize("n", SIZES, ids=[case_id(n) for n in SIZES])
def test_five_policies(benchmark, n):
    """``fa.sim.compare``: all five policies, 10,000 rounds each, common random numbers."""
    benchmark.group = f"simulate 10k rounds {case_id(n)}"
    benchmark.name = "fastata.sim: all five policies"
    workers = fa.sim.presets.cifar_workers(n)
    results = benchmark.pedantic(fa.sim.compare, (workers, BUDGET, ROUNDS), {"seed": 0}, rounds=3, iterations=1)
    assert set(results) == set(fa.sim.POLICIES)


class NumpyLoop:
    """Baseline: the same simulation written the plain way, one numpy call after another."""

    def __init__(self, n, seed):
        i = np.arange(1, n + 1, dtype=np.float64)
        self.shift, self.scale = 29.0 * i, 29.0 * i
        self.n = n
        self.rng = np.random.default_rng(seed)

    def allocation_run(self, policy, rounds):
        total = 0.0
        ids = np.arange(self.n)
        for _ in range(rounds):
            a = policy.allocate()
            workers = np.repeat(ids, a)
            durations = self.shift[workers] + self.rng.exponential(self.scale[workers])
            busy = np.bincount(workers, durations, minlength=self.n)
            total += busy.max()
            policy.observe(workers, durations)
        return total

    def greedy_run(self, budget, rounds):
        total = 0.0
        for _ in range(rounds):
            # every worker's first `budget` completions; the round ends at the budget-th overall
            times = self.shift[:, None] + self.rng.exponential(self.scale[:, None], (self.n, budget))
            done = np.cumsum(times, axis=1)
            total += np.partition(done.ravel(), budget - 1)[budget - 1]
        return total


def numpy_five_policies(n, rounds):
    loop = NumpyLoop(n, 0)
    workers = fa.sim.presets.cifar_workers(n)
    fleet = fa.sim.Fleet(workers)
    policies = [
        fa.ATA(n, BUDGET, alpha=fleet.alpha_bound()),
        fa.ATAEmpirical(n, BUDGET, eta=fleet.eta_bound()),
        fa.FTA(workers.means, BUDGET),
        fa.UTA(n, BUDGET, seed=0),
    ]
    return [loop.allocation_run(p, rounds) for p in policies] + [loop.greedy_run(BUDGET, rounds)]


@pytest.mark.parametrize("n", SIZES, ids=[case_id(n) for n in SIZES])
def test_numpy_loop_baseline(benchmark, n):
    """The baseline: the same five runs as a plain numpy loop (independent, not common, random numbers)."""
    benchmark.group = f"simulate 10k rounds {case_id(n)}"
    benchmark.name = "numpy loop: all five policies"
    totals = benchmark.pedantic(numpy_five_policies, (n, ROUNDS), rounds=3, iterations=1)
    assert len(totals) == 5 and min(totals) > 0


@pytest.mark.parametrize("n", SIZES, ids=[case_id(n) for n in SIZES])
def test_one_policy(benchmark, n):
    """One policy (ATA-Empirical) alone, 10,000 rounds: the per-round floor is the policy's own work."""
    benchmark.group = f"simulate 10k rounds {case_id(n)}"
    benchmark.name = "fastata.sim: ATA-Empirical only"
    workers = fa.sim.presets.cifar_workers(n)

    def one():
        return fa.sim.run(fa.sim.make_policy("ata-empirical", workers, BUDGET), workers, ROUNDS, seed=0)

    assert benchmark.pedantic(one, rounds=3, iterations=1).rounds == ROUNDS

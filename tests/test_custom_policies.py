"""Any policy everywhere (the protocol, the confidence-bound base, --policy) and ATA-Bernstein."""

import math
import sys
import textwrap

import numpy as np
import pytest

import fastata as fa
from fastata import sim
from fastata.policies import ConfidenceBound, register

CIFAR = sim.presets.cifar_workers(11)
BUDGET = 7


# --- ATA-Bernstein ----------------------------------------------------------------------


def bernstein_by_hand(K, mean, var, k, eta, c=1.0):  # noqa: PLR0913
    """The bound as the derivation states it: the larger root of Q, solved with numpy's roots."""
    r = math.log(2.0 * k * k) / K
    u, e, B = c * math.sqrt(2 * r), c * eta * r, c * eta * math.sqrt(24 * r)
    v = var / mean**2
    x = e + u * 3 * eta  # without the variance: sigma <= 3 eta mu
    # Q(x) = (x - e)^2 - B u (x - e) - u^2 (v (1 + x)^2 + x^2)
    a2 = 1 - u * u * (1 + v)
    if a2 > 0:
        coeffs = [a2, -(2 * e + B * u + 2 * u * u * v), e * e + B * u * e - u * u * v]
        x = min(x, max(np.roots(coeffs).real))
    return mean / (1 + x)


def test_bernstein_bounds_by_hand(backend):
    policy = fa.ATABernstein(3, 5, eta=0.4, backend=backend)
    samples = {0: [3.0, 2.0, 4.0, 3.5] * 20, 1: [10.0, 12.0], 2: []}
    for w, xs in samples.items():
        policy.observe([w] * len(xs), xs)
    got = policy.lower_bounds
    for w in (0, 1):
        xs = np.array(samples[w])
        assert got[w] == pytest.approx(bernstein_by_hand(xs.size, xs.mean(), xs.var(), 1, 0.4), rel=1e-12)
    assert 0 < got[0] < 3.125 and 0 < got[1] < 11.0 and got[2] == 0.0
    policy.set_available([0], False)
    assert policy.lower_bounds[0] == np.inf


def test_bernstein_kernels_agree_bitwise_and_jit(backend):
    from fastata import _backends
    from fastata.jit import ata_bernstein_bounds_into

    _, kernels = _backends.resolve(backend)
    _, ref = _backends.resolve("python")
    rng = np.random.default_rng(3)
    n = 400
    counts = np.where(rng.random(n) < 0.2, 0.0, rng.gamma(1.0, 30.0, n))
    means = np.where(counts > 0, rng.gamma(2.0, 3.0, n), 0.0)
    means[:5] = 0.0  # a worker whose tasks all took 0
    m2 = counts * rng.gamma(1.0, 4.0, n)
    available = (rng.random(n) < 0.9).astype(np.uint8)
    for c, eta, k in [(1.0, 0.7, 1.0), (0.5, 0.05, 37.3), (2.0, 3.0, 5000.0)]:
        expected, got = np.empty(n), np.empty(n)
        ref.bernstein_bounds_into(counts, means, m2, available, c, c * eta, math.log(2.0 * k * k), expected)
        kernels.bernstein_bounds_into(counts, means, m2, available, c, c * eta, math.log(2.0 * k * k), got)
        assert expected.tobytes() == got.tobytes()
        assert ((expected >= 0) & ((expected <= means) | (available == 0))).all()
        if c == 1.0:
            jitted = np.empty(n)
            ata_bernstein_bounds_into(counts, means, m2, available, eta, k, jitted)
            assert jitted.tobytes() == expected.tobytes()


def coverage(make, mu, rounds, seed):
    """Fraction of (round, worker) pairs whose bound exceeds the true mean, and the promised level."""
    rng = np.random.default_rng(seed)
    policy = make()
    above = pairs = 0
    promised = 0.0
    for k in range(rounds):
        s = policy.lower_bounds
        explored = policy.counts > 0
        above += int((s[explored] > mu[explored]).sum())
        pairs += int(explored.sum())
        promised += explored.sum() / max(k, 1) ** 2  # P(mu_i < s_i) <= 1/k^2 per worker and round
        a = policy.allocate()
        workers = np.repeat(np.arange(mu.size), a)
        policy.observe(workers, rng.exponential(mu[workers]))
    return above / pairs, promised / pairs


def test_bernstein_coverage_meets_the_promised_level():
    # Exponential times: Bernstein's condition holds with scale mu, so eta = 1 is honest.
    mu = np.linspace(1.0, 6.0, 8)
    observed, promised = coverage(lambda: fa.ATABernstein(8, 16, eta=1.0), mu, 400, seed=0)
    assert observed <= promised
    # The test can fail: far below the inequality's constant the bounds do cross the means.
    crossed, _ = coverage(lambda: fa.ATABernstein(8, 16, eta=1.0, c=0.05), mu, 400, seed=0)
    assert crossed > promised


def test_bernstein_in_the_simulator_and_cli_names():
    results = sim.compare(CIFAR, BUDGET, 300, seed=1, policies=("ata-bernstein", "fta"))
    assert results["ata-bernstein"].policy == "ata-bernstein"
    assert results["ata-bernstein"].params == {"eta": sim.Fleet(CIFAR).eta_bound(), "c": 1.0, "gamma": 1.0}
    again = sim.run(fa.ATABernstein(11, BUDGET, eta=sim.Fleet(CIFAR).eta_bound()), CIFAR, 300, seed=1)
    assert again.total_time == results["ata-bernstein"].total_time


def test_bernstein_bad_arguments():
    with pytest.raises(ValueError, match="eta must be finite and > 0; got -1.0"):
        fa.ATABernstein(3, 4, eta=-1.0)
    with pytest.raises(ValueError, match="c must be finite and > 0; got 0.0"):
        fa.ATABernstein(3, 4, eta=1.0, c=0.0)


# --- the confidence-bound base ----------------------------------------------------------


@register
class StdBound(ConfidenceBound):
    """A test bound: mean minus c times the standard error, floored at 0."""

    def __init__(self, n_workers, budget, *, scale=1.0, **kwargs):
        super().__init__(n_workers, budget, **kwargs)
        self.scale = scale

    def params(self):
        return {"scale": self.scale}

    def bounds(self, counts, means, variances, rounds):
        width = self.c * self.scale * np.sqrt(variances * math.log(2 * rounds**2) / counts)
        return np.maximum(means - width, 0.0)


def test_subclass_writes_only_bounds(tmp_path):
    policy = StdBound(3, 6, scale=0.5, gamma=0.9)
    assert policy.allocate().tolist() == [2, 2, 2]  # unexplored: bound 0, round-robin
    policy.observe([0, 0, 1, 1, 2, 2], [1.0, 1.5, 2.0, 2.5, 9.0, 9.5])
    s = policy.lower_bounds
    expected = np.array([1.25, 2.25, 9.25]) - 0.5 * np.sqrt(0.0625 * math.log(2) / 2)
    np.testing.assert_allclose(s, expected, rtol=1e-12)
    np.testing.assert_array_equal(policy.allocate(), fa.allocate(s, 6))
    assert policy.counts.tolist() == [1.8, 1.8, 1.8]  # the inherited discount
    policy.save(tmp_path / "p.npz")
    loaded = fa.load(tmp_path / "p.npz")
    assert type(loaded) is StdBound and loaded.scale == 0.5 and loaded.gamma == 0.9
    np.testing.assert_array_equal(loaded.allocate(), policy.allocate())


def test_subclass_bad_bounds_raise_and_change_nothing():
    class Broken(ConfidenceBound):
        def bounds(self, counts, means, variances, rounds):
            return means - 100.0

    policy = Broken(2, 4)
    policy.observe([0, 1], [1.0, 2.0])
    before = (policy.counts.copy(), policy.rounds)
    with pytest.raises(ValueError, match=r"Broken.bounds\(\) must return bounds >= 0 .*got -99.0 for worker 0"):
        policy.allocate()
    assert policy.counts.tolist() == before[0].tolist() and policy.rounds == before[1]


@pytest.mark.parametrize("returned, error, message", [
    (None, TypeError, r"Odd.bounds\(\) must return an array of 2 real numbers; got None"),
    (np.inf, ValueError, r"Odd.bounds\(\) must leave an available worker a finite bound when budget > 0; got \+inf "
                         r"for every available worker and budget 4"),
])
@pytest.mark.parametrize("bounded", [False, True])
def test_subclass_bounds_that_leave_no_worker_are_named_as_such(returned, error, message, bounded):
    # Bounds of None, or +inf for every available worker (which reads as no worker
    # available at all), are named as what the subclass returned, and change nothing.
    class Odd(ConfidenceBound):
        def bounds(self, counts, means, variances, rounds):
            return None if returned is None else np.full(counts.shape, returned)

    policy = Odd(2, 4)
    policy.observe([0, 1], [1.0, 2.0])
    with pytest.raises(error, match=message):
        policy.allocate(**({"max_tasks": 4} if bounded else {}))
    assert policy.rounds == 0 and policy.counts.tolist() == [1.0, 1.0]


def test_subclass_with_an_njit_bound_equals_the_builtin():
    from numba import njit

    @njit(cache=False)
    def relative(counts, means, c_eta, rounds):
        r = math.log(2.0 * rounds * rounds) / counts
        return means * np.maximum(1.0 - c_eta * (np.sqrt(r) + r), 0.0)

    class Mine(ConfidenceBound):
        def bounds(self, counts, means, variances, rounds):
            return relative(counts, means, self.c * 0.3, rounds)

    mine, builtin = Mine(CIFAR.n, BUDGET, c=2.0), fa.ATAEmpirical(CIFAR.n, BUDGET, eta=0.3)
    a, b = sim.run(mine, CIFAR, 200, seed=0), sim.run(builtin, CIFAR, 200, seed=0)
    np.testing.assert_array_equal(a.allocations, b.allocations)


# --- any object that speaks the protocol -------------------------------------------------


class Plain:
    """Only the protocol's required members: equal shares, lowest ids first."""

    name = "plain"

    def __init__(self, n, budget):
        self.n_workers, self.budget = n, budget
        self.up = np.ones(n, dtype=bool)
        self.seen = 0

    def allocate(self, budget=None, *, out=None):
        budget = self.budget if budget is None else budget
        idx = np.flatnonzero(self.up)
        a = np.zeros(self.n_workers, dtype=np.int64)
        a[idx] = budget // idx.size
        a[idx[: budget % idx.size]] += 1
        return a

    def observe(self, workers, durations):
        self.seen += len(workers)

    def set_available(self, ids, flag):
        self.up[ids] = flag


def test_simulator_runs_a_protocol_object():
    fleet = sim.Fleet(CIFAR, outages=[sim.Outage([0], 10, 20)])
    result = sim.run(Plain(11, BUDGET), fleet, 50, seed=0)
    assert result.policy == "plain" and result.allocations[15, 0] == 0 and result.allocations[25, 0] > 0
    results = sim.compare(CIFAR, BUDGET, 50, seed=0, policies=("fta", Plain(11, BUDGET), ("mine", Plain(11, BUDGET))))
    assert list(results) == ["fta", "plain", "mine"]
    assert results["plain"].total_time == results["mine"].total_time


@pytest.mark.parametrize(
    "policy, error, message",
    [
        (object(), TypeError, r"policies\[0\] must be a policy: a fastata policy or an object with n_workers, budget, "
                              r"allocate, observe, set_available .*which lacks n_workers, budget, allocate"),
        (Plain(4, BUDGET), ValueError, "policy must have one worker per simulated worker, 11; got n_workers=4"),
        (Plain(11, 3), ValueError, r"policies\[0\].budget must equal the run's budget, 7; got 3"),
    ],
)
def test_compare_rejects_what_is_not_a_policy(policy, error, message):
    with pytest.raises(error, match=message):
        sim.compare(CIFAR, BUDGET, 5, seed=0, policies=(policy,))


def test_simulator_checks_a_protocol_objects_allocations():
    class Greedy(Plain):
        def allocate(self, budget=None, *, out=None):
            a = np.zeros(self.n_workers, dtype=np.int64)
            a[0] = self.budget + 1
            return a

    with pytest.raises(ValueError, match=r"policy.allocate\(\) must hand out exactly the round's budget, 7 tasks; got 8"):
        sim.run(Greedy(11, BUDGET), CIFAR, 5, seed=0)


# --- fastata simulate --policy -----------------------------------------------------------

MODULE = """
import numpy as np
import fastata as fa

def make(n_workers, budget, *, alpha, eta, gamma, c):
    return fa.ATAEmpirical(n_workers, budget, eta=eta, gamma=gamma)

def eta_half(n_workers, budget, *, alpha, eta, gamma, c):
    return fa.ATAEmpirical(n_workers, budget, eta=eta / 2)
"""


def test_cli_runs_a_users_policy_beside_the_builtins(tmp_path, monkeypatch, capsys):
    import json

    from fastata import cli

    (tmp_path / "mypolicies.py").write_text(textwrap.dedent(MODULE))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    args = ["simulate", "--preset", "cifar", "--rounds", "300", "--n", "11", "--budget", "7", "--plain",
            "--no-progress", "--policies", "ata-empirical,fta", "--policy", "mypolicies:make",
            "--policy", "mypolicies:eta_half", "--json", str(tmp_path / "out.json")]  # fmt: skip
    assert cli.main(args) in (0, None)
    numbers = json.loads((tmp_path / "out.json").read_text())["policies"]
    assert list(numbers) == ["ata-empirical", "fta", "mypolicies:make", "mypolicies:eta_half"]
    # The same policy by name and from the user's module: the same run.
    assert numbers["mypolicies:make"]["total_time"] == numbers["ata-empirical"]["total_time"]
    assert "mypolicies:eta_half" in capsys.readouterr().out


def test_cli_rejects_a_bad_policy_spec(capsys):
    from fastata import cli

    code = cli.main(["simulate", "--rounds", "5", "--policy", "no_such_module_here:make", "--no-progress"])
    assert code == 2
    assert "--policy must name an importable module; got 'no_such_module_here:make'" in capsys.readouterr().err
    # A callable of another kind: named as the factory it is not, with what it raised.
    code = cli.main(["simulate", "--rounds", "5", "--policy", "os:getcwd", "--no-progress"])
    assert code == 2
    assert ("policy 'os:getcwd' must be a factory called as factory(n_workers, budget, *, alpha, eta, gamma, c); "
            "calling it raised: ") in capsys.readouterr().err


# --- the executor with a protocol object ------------------------------------------------


def test_executor_runs_a_protocol_object_without_the_optional_members():
    from fastata import executor as ex
    from test_executor import FakeEngine, square

    engine = FakeEngine({"w0": 1.0, "w1": 1.0, "w2": 2.0})
    policy = Plain(3, 6)
    runner = ex.AdaptiveRunner(engine, policy)
    assert runner.run_round(square, range(6)) == [x * x for x in range(6)]
    assert policy.seen == 6
    engine.hooks[8] = lambda: engine.kill("w2")  # mid-round: its tasks go to the others by equal estimates
    assert runner.run_round(square, range(9)) == [x * x for x in range(9)]
    assert runner.history[-1].resubmitted > 0
    engine.join("w3", 1.0)  # no add_workers: the newcomer gets no task, the round still runs
    assert runner.run_round(square, range(4)) == [x * x for x in range(4)]
    assert runner.history[-1].allocation.get("w3", 0) == 0


def test_executor_checks_a_protocol_objects_allocation():
    from fastata import executor as ex
    from test_executor import FakeEngine, square

    class Short(Plain):
        def allocate(self, budget=None, *, out=None):
            return np.zeros(self.n_workers, dtype=np.int64)

    runner = ex.AdaptiveRunner(FakeEngine({"w0": 1.0, "w1": 1.0}), Short(2, 3))
    with pytest.raises(ValueError, match=r"policy.allocate\(\) must hand out exactly the round's budget, 3 tasks; got 0"):
        runner.run_round(square, range(3))

"""Simulator worker models: stated means, spreads and psi_1 norms against samples; traces;
drift, outages and renumbering; bad parameters."""

import math

import warnings

import numpy as np
import pytest

import fastata as fa
from fastata.sim import _psi1

sim = fa.sim

#: One of every family, each with two workers of different parameters.
FAMILIES = {
    "exponential": sim.Exponential(scale=[1.0, 5.0]),
    "shifted-exponential": sim.ShiftedExponential(shift=[29.0, 58.0], scale=[29.0, 58.0]),
    "lognormal": sim.LogNormal(median=[1.0, 3.0], sigma=[0.25, 0.8]),
    "gamma (shape < 1)": sim.Gamma(shape=[0.3, 0.7], scale=[2.0, 1.0]),
    "gamma": sim.Gamma(shape=[2.0, 9.5], scale=[1.0, 0.5]),
    "uniform": sim.Uniform(low=[0.0, 4.0], high=[1.0, 10.0]),
    "half-normal": sim.HalfNormal(scale=[1.0, 7.0]),
    "pareto": sim.Pareto(shape=[2.5, 4.0], minimum=[1.0, 3.0]),
    "trace": sim.Trace(np.array([[1.0, 10.0], [2.0, 20.0], [6.0, np.nan], [3.0, 30.0]])),
}
DRAWS = 40_000  # per worker: 200 rounds x 200 tasks


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_sample_mean_matches_stated_mean(name):
    workers = FAMILIES[name]
    x = sim.sample(workers, 200, 200, seed=11).transpose(1, 0, 2).reshape(workers.n, -1)
    se = workers.stds / math.sqrt(DRAWS)
    tol = 6.0 * se + 1e-12
    np.testing.assert_array_less(np.abs(x.mean(axis=1) - workers.means), tol)
    if name not in ("pareto", "lognormal"):  # heavy tails: the sample std converges slowly
        np.testing.assert_allclose(x.std(axis=1), workers.stds, rtol=0.03)
    assert (x >= 0).all()


def test_trace_resamples_its_records():
    workers = FAMILIES["trace"]
    x = sim.sample(workers, 50, 40, seed=0)
    assert set(np.unique(x[:, 0])) == {1.0, 2.0, 6.0, 3.0}
    assert set(np.unique(x[:, 1])) == {10.0, 20.0, 30.0}  # the NaN pad is not a record
    np.testing.assert_allclose(workers.means, [3.0, 20.0])


def test_trace_in_order_replays_and_cycles():
    workers = sim.Trace([np.array([1.0, 2.0, 3.0]), np.array([7.0])], order="sequential")
    x = sim.sample(workers, 2, 4, seed=0)
    np.testing.assert_array_equal(x[:, 0].ravel(), [1, 2, 3, 1, 2, 3, 1, 2])
    np.testing.assert_array_equal(x[:, 1].ravel(), [7.0] * 8)


@pytest.mark.parametrize("name", ["exponential", "gamma", "uniform", "half-normal", "shifted-exponential"])
def test_psi1_norm_meets_its_definition(name):
    """E exp(|X - mu| / psi1) = 2, by numerical integration against the density (not the closed forms)."""
    workers = FAMILIES[name]
    for i in range(workers.n):
        mu, t = workers.means[i], workers.psi1[i]
        x = np.linspace(0.0, mu + 300.0 * t, 3_000_001)
        value = np.trapezoid(np.exp(np.abs(x - mu) / t) * _pdf(workers, i, x), x)
        assert value == pytest.approx(2.0, rel=1e-4)


def _pdf(workers, i, x):
    p = {name: v[i] for name, v in workers._p.items()}
    if isinstance(workers, sim.ShiftedExponential):
        return np.where(x >= p["shift"], np.exp(-(x - p["shift"]) / p["scale"]) / p["scale"], 0.0)
    if isinstance(workers, sim.Exponential):
        return np.exp(-x / p["scale"]) / p["scale"]
    if isinstance(workers, sim.Uniform):
        return np.where((x >= p["low"]) & (x <= p["high"]), 1.0 / (p["high"] - p["low"]), 0.0)
    if isinstance(workers, sim.HalfNormal):
        return np.sqrt(2.0 / np.pi) / p["scale"] * np.exp(-0.5 * (x / p["scale"]) ** 2)
    k, s = p["shape"], p["scale"]  # gamma, shape >= 1 here
    with np.errstate(divide="ignore"):
        return np.exp((k - 1.0) * np.log(x / s) - x / s - math.lgamma(k)) / s


def test_psi1_constants():
    assert _psi1.EXPONENTIAL == pytest.approx(1.53135, abs=1e-5)
    assert _psi1.gamma(1.0) == pytest.approx(_psi1.EXPONENTIAL, rel=1e-12)  # Gamma(1) = Exp
    assert _psi1.gamma(100.0) == pytest.approx(10.0 * 1.33, rel=0.05)  # ~ normal: sd * 1.33 for large shape
    x = np.random.default_rng(0).exponential(size=400_000)
    assert _psi1.empirical(x) == pytest.approx(_psi1.EXPONENTIAL, rel=0.03)
    assert _psi1.empirical(np.full(5, 2.0)) == 0.0


def test_default_alpha_and_eta_for_the_paper_workers():
    fleet = sim.Fleet(sim.presets.cifar_workers(51))
    assert fleet.alpha_bound() == pytest.approx(_psi1.EXPONENTIAL * 29 * 51)
    assert fleet.eta_bound() == pytest.approx(_psi1.EXPONENTIAL / 2)
    heavy = sim.Fleet(sim.Pareto(shape=1.5, minimum=1.0))
    assert not heavy.sub_exponential
    assert heavy.alpha_bound() == pytest.approx(_psi1.EXPONENTIAL * 3.0)  # infinite sd: the mean stands in


@pytest.mark.parametrize("family", sorted(sim.workers.FAMILIES))
def test_from_means_gives_the_means(family):
    means = np.array([1.0, 2.5, 40.0])
    np.testing.assert_allclose(sim.from_means(family, means).means, means, rtol=1e-12)


def test_trace_files(tmp_path):
    table = np.array([[1.0, 4.0], [3.0, np.nan], [2.0, 6.0]])
    np.save(tmp_path / "t.npy", table)
    (tmp_path / "wide.csv").write_text("a,b\n1,4\n3,\n2,6\n")
    (tmp_path / "long.csv").write_text("worker,duration\n0,1\n1,4\n0,3\n0,2\n1,6\n")
    for name in ("t.npy", "wide.csv", "long.csv"):
        workers = sim.Trace.load(tmp_path / name)
        np.testing.assert_allclose(workers.means, [2.0, 5.0])
        assert workers.n == 2


@pytest.mark.parametrize(
    "content, message",
    [("worker,duration\n0,1\n0,-2\n", "durations of worker 0 must be finite and >= 0"),
     ("worker,duration\n1,1\n", "durations of worker 0 must hold at least one record"),
     ("worker,duration\n0.5,1\n", r"worker ids must be integers >= 0; got 0.5 in row 1$"),
     ("worker,duration\n0,1\n-1,2\n", r"bad.csv': worker ids must be integers >= 0; got -1 in row 2$"),
     ("0,2\n0,1\n", "durations of worker 0 must have a positive mean"),
     ("worker,duration\n", "a worker,duration file needs at least one row below its header; got none"),
     ("worker,duration\n0,1,2\n", "a worker,duration file needs 2 columns; got 3"),
     ("w0,w1\n", "durations of worker 0 must hold at least one record")],
)  # fmt: skip
def test_bad_trace_files(tmp_path, content, message):
    (tmp_path / "bad.csv").write_text(content)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the message is fastata's alone: numpy's warnings stay inside
        with pytest.raises(ValueError, match=message):
            sim.Trace.load(tmp_path / "bad.csv")


def test_trace_file_extension(tmp_path):
    with pytest.raises(ValueError, match="must end in .npy or .csv"):
        sim.Trace.load(tmp_path / "x.txt")


@pytest.mark.parametrize(
    "make, error, message",
    [(lambda: sim.Exponential(scale=-1.0), ValueError, "scale must be finite and > 0; got -1.0 at index 0"),
     (lambda: sim.Exponential(scale=[1.0, np.nan]), ValueError, "scale must be finite and > 0; got nan at index 1"),
     (lambda: sim.ShiftedExponential(shift=[1.0, 2.0], scale=[1.0, 2.0, 3.0]), ValueError, "one entry per worker, 3; got 2"),
     (lambda: sim.Pareto(shape=1.0, minimum=1.0), ValueError, "shape must be finite and > 1"),
     (lambda: sim.Pareto.from_means([1.0], shape=0.5), ValueError, "shape must be finite and > 1; got 0.5"),
     (lambda: sim.Uniform(low=2.0, high=1.0), ValueError, "high - low must be finite and > 0"),
     (lambda: sim.Gamma(shape="x", scale=1.0), TypeError, "shape must be a real number"),
     (lambda: sim.LogNormal(median=1.0, sigma=[[1.0]]), ValueError, "sigma must be a scalar or 1-D"),
     (lambda: sim.Exponential(scale=1.0, n=0), ValueError, "n must be >= 1; got 0"),
     (lambda: sim.from_means("weibull", [1.0]), ValueError, "distribution must be one of"),
     (lambda: sim.Fleet(), ValueError, "groups must hold at least one distribution"),
     (lambda: sim.Fleet(sim.Exponential(1.0, n=3), drift=sim.SmoothDrift(amplitude=1.0, period=10)),
      ValueError, r"amplitude must be in \[0, 1\); got 1.0"),
     (lambda: sim.Fleet(sim.Exponential(1.0, n=3), drift=sim.StepDrift([(5, [3], 2.0)])),
      ValueError, r"drift workers must be in \[0, 3\); got 3"),
     (lambda: sim.StepDrift([(5, [0], 0.0)]), ValueError, r"changes\[0\] factor must be finite and > 0"),
     (lambda: sim.Fleet(sim.Exponential(1.0, n=2), outages=[sim.Outage([0, 1], 3, 9)]),
      ValueError, "outages must leave at least one worker available; got none in round 3"),
     (lambda: sim.Outage([0], 5, 2), ValueError, "outage stop must be >= 5; got 2"),
     (lambda: sim.Trace(np.array([[1.0, np.inf]])), ValueError, "durations of worker 1 must be finite"),
     (lambda: sim.Trace([[1.0], [2.0, np.inf]]), ValueError, "durations of worker 1 must be finite"),
     (lambda: sim.Trace([]), ValueError, "durations must hold at least one worker"),
     (lambda: sim.Trace([[1.0]], order="backwards"), ValueError, "order must be one of 'random', 'sequential'")],
)  # fmt: skip
def test_bad_parameters(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_step_drift_scales_the_same_draws():
    base = sim.Exponential(scale=[1.0, 2.0, 3.0])
    drift = sim.StepDrift([(2, [0, 2], 4.0), (3, 0, 1.0)])
    drifted = sim.Fleet(base, drift=drift)
    x, y = sim.sample(base, 4, 3, seed=5), sim.sample(drifted, 4, 3, seed=5)
    factors = np.array([[1, 1, 1], [1, 1, 1], [4, 1, 4], [1, 1, 4]], dtype=float)
    np.testing.assert_array_equal(y, x * factors[:, :, None])
    np.testing.assert_array_equal(drift.max_factors(3), [4.0, 1.0, 4.0])
    assert drifted.alpha_bound() == pytest.approx(4.0 * _psi1.EXPONENTIAL * 3.0)


def test_smooth_drift():
    fleet = sim.Fleet(sim.Exponential(1.0, n=2), drift=sim.SmoothDrift(amplitude=[0.5, 0.0], period=4))
    np.testing.assert_allclose(fleet.factors(1), [1.5, 1.0])
    np.testing.assert_allclose(fleet.factors(3), [0.5, 1.0])


def test_outage_schedule():
    fleet = sim.Fleet(sim.Exponential(1.0, n=4), outages=[sim.Outage([1, 2], 2, 4), sim.Outage(3, 3, 5)])
    assert fleet.available(1).tolist() == [True] * 4
    assert fleet.available(3).tolist() == [True, False, False, False]
    assert fleet.available(4).tolist() == [True, True, True, False]
    assert fleet.availability_changes() == [2, 3, 4, 5]


def test_shuffled_keeps_each_worker_with_its_drift_and_outages():
    means = np.arange(1.0, 9.0)
    fleet = sim.Fleet(sim.Exponential(scale=means), drift=sim.StepDrift([(1, [0], 3.0)]), outages=[sim.Outage([7], 0, 2)])
    shuffled = fleet.shuffled(4)
    old = shuffled.permutation
    assert sorted(old.tolist()) == list(range(8)) and old.tolist() != list(range(8))
    np.testing.assert_array_equal(shuffled.means, means[old])
    new0, new7 = int(np.flatnonzero(old == 0)[0]), int(np.flatnonzero(old == 7)[0])
    assert shuffled.factors(1)[new0] == 3.0 and shuffled.factors(1).sum() == 3.0 + 7
    assert shuffled.available(0).tolist().count(False) == 1 and not shuffled.available(0)[new7]


def test_uniform_stream_is_flat_and_uncorrelated():
    x = sim.sample(sim.Uniform(0.0, 1.0, n=3), 3000, 30, seed=2)
    assert abs(x.mean() - 0.5) < 0.003 and abs(x.var() - 1 / 12) < 0.002
    flat = x.reshape(-1)
    for lag in (1, 30, 90):  # next task, next worker, next round
        assert abs(np.corrcoef(flat[:-lag], flat[lag:])[0, 1]) < 0.01
    counts = np.histogram(flat, bins=20, range=(0, 1))[0]
    assert counts.min() > 0.95 * flat.size / 20
    assert not np.array_equal(sim.sample(sim.Uniform(0.0, 1.0), 2, 2, seed=3), sim.sample(sim.Uniform(0.0, 1.0), 2, 2, seed=4))


def test_a_trace_given_as_lists_refuses_nan_records():
    # NaN pads a table's shorter columns; in a list of records it is a bad record.
    with pytest.raises(ValueError, match=r"durations of worker 0 must be finite and >= 0; got nan at index 1"):
        fa.sim.Trace([[1.0, np.nan, 3.0], [2.0]])
    assert fa.sim.Trace(np.array([[1.0, 2.0], [np.nan, 3.0]])).means.tolist() == [1.0, 2.5]

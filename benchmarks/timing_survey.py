"""Allocation time on inputs outside the benchmark's case table, as ratios to the numpy pass
measured in the same process: the check a new user makes with times of their own.

Two sets of inputs:

- ``clusters``: the cluster-shaped inputs of ``pass_survey.py`` (a few machine types, noise,
  orders, idle and unavailable workers, bounds in a third of them), drawn at ``--n`` workers;
- ``outside``: named distributions the case table does not hold (two types 100x apart with
  1 % noise, durations in whole milliseconds, three types 1e-12 apart, times near 1e-305 or
  1e300, a heavy Cauchy tail, ...) over sizes from 5000 x 5000 to 20,000 x 2 * 10**7, each
  without and with bounds (at least one task where the budget allows, at most twice the fair
  share a worker).

::

    python benchmarks/timing_survey.py clusters before.json --n 131072
    python benchmarks/timing_survey.py clusters after.json --n 131072
    python benchmarks/timing_survey.py compare before.json after.json
    python benchmarks/timing_survey.py outside outside.json

Medians of ratios within rounds of auto-ranged loops (``fastata._bench.interleaved_times``);
the machine's noise moves a ratio by a tenth now and then, so look at what changed twice
before believing it.
"""

import argparse
import json
import statistics
import sys

import numpy as np

import fastata as fa
from fastata import _bench
from pass_survey import cluster

#: Distributions the case table does not hold: ``name -> lam(n, rng)``.
OUTSIDE = {
    "gamma": lambda n, r: r.gamma(2.0, 1.0, n),
    "weibull": lambda n, r: r.weibull(0.5, n) + 1e-3,
    "two-types-100x": lambda n, r: np.where(r.random(n) < 0.5, 1.0, 100.0) * r.lognormal(0, 0.01, n),
    "lognormal-2": lambda n, r: r.lognormal(0, 2.0, n),
    "lognormal-6": lambda n, r: r.lognormal(0, 6.0, n),
    "milliseconds": lambda n, r: np.round(r.lognormal(0, 0.5, n) * 1000) / 1000,
    "three-types": lambda n, r: r.choice([1.0, 1.5, 3.0], n),
    "ten-kinds": lambda n, r: r.integers(1, 11, n) * 0.1,
    "powers-of-two": lambda n, r: 2.0 ** r.integers(-5, 5, n),
    "half-idle": lambda n, r: np.where(r.random(n) < 0.5, 0.0, r.lognormal(0, 0.5, n)),
    "half-unavailable": lambda n, r: np.where(r.random(n) < 0.5, np.inf, r.lognormal(0, 0.5, n)),
    "one-percent-available": lambda n, r: np.where(r.random(n) < 0.99, np.inf, r.lognormal(0, 0.5, n)),
    "sorted": lambda n, r: np.sort(r.lognormal(0, 0.5, n)),
    "reversed": lambda n, r: np.sort(r.lognormal(0, 0.5, n))[::-1].copy(),
    "tiny": lambda n, r: r.lognormal(0, 0.5, n) * 1e-305,
    "huge": lambda n, r: r.lognormal(0, 0.5, n) * 1e300,
    "types-1e-12-apart": lambda n, r: 1.0 + r.integers(0, 3, n) * 1e-12,
    "half-slow": lambda n, r: np.where(np.arange(n) < n // 2, 1.0, 1e6) * r.lognormal(0, 0.1, n),
    "cauchy": lambda n, r: np.abs(r.standard_cauchy(n)) + 1e-9,
    "uniform-0-1": lambda n, r: r.uniform(0, 1, n),
}
#: ``(n, budget)`` for the ``outside`` inputs.
OUTSIDE_SIZES = ((5000, 5000), (30000, 3000), (30000, 90000), (100000, 100000), (100000, 1000),
                 (300000, 10**6), (20000, 2 * 10**7))


def ratios(lam, budget, low=None, high=None, backends=("cython", "numba"), min_time=0.005):
    """Each backend's ``fa.allocate`` time over the numpy pass's, in one process: the median of
    the ratios within rounds that loop each once (``fastata._bench.interleaved_times``)."""
    n = lam.shape[0]
    out = np.empty(n, np.int64)
    pass_over = _bench.numpy_pass(n)
    fns = {"numpy pass": lambda: pass_over(lam, budget)}
    for backend in backends:
        fns[backend] = lambda backend=backend: fa.allocate(
            lam, budget, min_tasks=low, max_tasks=high, backend=backend, out=out)
    with np.errstate(all="ignore"):
        rounds = _bench.interleaved_times(fns, min_time=min_time, repeat=5)
    base = rounds["numpy pass"]
    return {b: statistics.median(x / y for x, y in zip(rounds[b], base)) for b in backends}


def outside_bounds(lam, budget):
    """At least one task for every available worker where the budget allows, at most twice the
    fair share."""
    available = int(np.sum(lam < np.inf))
    cap = max(1, -(-2 * budget // available))
    low = np.where(lam < np.inf, 1 if budget >= available else 0, 0).astype(np.int64)
    return low, np.full(lam.shape[0], cap, np.int64)


def run_clusters(path, n, seeds, backends):
    found = {}
    for seed in seeds:
        lam, budget, low, high, _ = cluster(seed, n=n)
        if budget > 2**50:  # the numpy pass then says little
            continue
        found[str(seed)] = ratios(lam, budget, low, high, backends)
    with open(path, "w") as f:
        json.dump({"n": n, "inputs": found}, f)
    summary(found, backends)


def run_outside(path, backends):
    found = {}
    for n, budget in OUTSIDE_SIZES:
        for name, make in OUTSIDE.items():
            lam = make(n, np.random.default_rng(7))
            low, high = outside_bounds(lam, budget)
            row = {"plain": ratios(lam, budget, backends=backends),
                   "bounded": ratios(lam, budget, low, high, backends)}
            found[f"{name} {n}x{budget}"] = row
            print(f"{name:22s} {n:>7} x {budget:<9}", "  ".join(
                f"{kind} {backend} {row[kind][backend]:5.2f}" for kind in row for backend in backends), flush=True)
    with open(path, "w") as f:
        json.dump({"inputs": found}, f)


def summary(found, backends):
    for backend in backends:
        values = np.array([r[backend] for r in found.values()])
        print(f"{backend}: {len(values)} inputs, sum {values.sum():.1f}, median {np.median(values):.2f}, "
              f"max {values.max():.2f}, over 4x: {int((values > 4).sum())}")


def flat(inputs):
    """``name -> {backend: ratio}``, an ``outside`` input's rows as ``"name plain"`` and
    ``"name bounded"``."""
    found = {}
    for name, row in inputs.items():
        if all(isinstance(v, dict) for v in row.values()):
            found.update({f"{name} {kind}": ratios for kind, ratios in row.items()})
        else:
            found[name] = row
    return found


def compare(before_path, after_path, threshold=0.1):
    with open(before_path) as f:
        before = json.load(f)
    with open(after_path) as f:
        after = json.load(f)
    n = before.get("n")
    a, b = flat(before["inputs"]), flat(after["inputs"])
    for backend in next(iter(a.values())):
        for seed in a:
            if seed in b and abs(b[seed][backend] / a[seed][backend] - 1) > threshold:
                described = cluster(int(seed), n=n)[4] if n else seed
                print(f"{backend} {seed}: {a[seed][backend]:.2f} -> {b[seed][backend]:.2f}  {described}")
        total_a = sum(a[s][backend] for s in a if s in b)
        total_b = sum(b[s][backend] for s in a if s in b)
        print(f"{backend}: sum {total_a:.1f} -> {total_b:.1f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    clusters_parser = sub.add_parser("clusters", help="time the cluster-shaped inputs into a JSON file")
    clusters_parser.add_argument("path")
    clusters_parser.add_argument("--n", type=int, default=131072, help="workers (default 131072)")
    clusters_parser.add_argument("--seeds", type=int, default=200, help="inputs 0..SEEDS-1 (default 200)")
    outside_parser = sub.add_parser("outside", help="time the named inputs outside the table into a JSON file")
    outside_parser.add_argument("path")
    for p in (clusters_parser, outside_parser):
        p.add_argument("--backends", default="cython,numba", help="comma-separated (default cython,numba)")
    compare_parser = sub.add_parser("compare", help="cluster inputs whose ratio moved by over a tenth")
    compare_parser.add_argument("before")
    compare_parser.add_argument("after")
    args = parser.parse_args(argv)
    if args.command == "clusters":
        run_clusters(args.path, args.n, range(args.seeds), args.backends.split(","))
    elif args.command == "outside":
        run_outside(args.path, args.backends.split(","))
    else:
        compare(args.before, args.after)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Passes over the workers that allocations make, over many cluster-shaped inputs: the
survey behind a change to the kernel's search (``kernels/threshold.py``).

Each input is a cluster of a few machine types: 1 to 64 types, times spread over six orders
of magnitude or within a few percent, types in random, sorted, reversed, interleaved or
block order, relative noise from none to 10 %, times rounded to milliseconds in some, a
share of idle (``lam = 0``) or unavailable (``+inf``) workers in some, budgets from 0.01 to
a million tasks a worker, and a third with bounds (at least one task where the budget
allows, at most twice the fair share). The passes are counted by running the algorithm as
plain Python (``fastata._bench.counting_passes``): machine-independent, and each backend
follows the same steps. An estimate pass reads ``1/lam`` alone and counts a quarter::

    python benchmarks/pass_survey.py run before.json            # seeds 0..1399, n = 4096 and 16,384
    python benchmarks/pass_survey.py run after.json
    python benchmarks/pass_survey.py compare before.json after.json

A change to the search is worth keeping when the total falls and no input gets worse, or
each that does has been looked at (``trace SEED`` prints one input's passes).
"""

import argparse
import json
import sys

import numpy as np

from fastata._bench import counting_passes

#: Cost of a pass relative to an exact counting pass: estimates read ``1/lam`` alone.
WEIGHTS = {"estimate": 0.25, "estimate with slope": 0.3, "estimate pair": 0.35}


def cluster(seed, n=None):
    """``(lam, budget, min_tasks, max_tasks, description)`` of the ``seed``-th input (with
    ``n`` workers, if given, instead of the 4096 or 16,384 drawn)."""
    rng = np.random.default_rng(seed)
    drawn = int(rng.choice([4096, 4096, 16384]))
    n = drawn if n is None else n  # the rest of the input as drawn for its seed
    k = int(rng.choice([1, 2, 2, 3, 4, 5, 8, 16, 64]))
    if rng.random() < 0.5:
        types = 10.0 ** rng.uniform(-3, 3, k)
    else:
        types = rng.uniform(1, 1 + rng.choice([0.01, 0.1, 1, 10]), k)
    if rng.random() < 0.3:
        types = np.round(types * 1000) / 1000 + 0.001
    weights = rng.dirichlet(np.ones(k) * rng.choice([0.1, 1, 10]))
    order = str(rng.choice(["shuffled", "sorted", "interleaved", "blocks", "reversed"]))
    if order == "interleaved":
        kind = np.arange(n) % k
    else:
        kind = rng.choice(k, n, p=weights)
        if order in ("sorted", "blocks"):
            kind = np.sort(kind)
        elif order == "reversed":
            kind = np.sort(kind)[::-1]
    lam = types[kind].astype(np.float64)
    noise = float(rng.choice([0, 0, 1e-12, 1e-9, 1e-6, 1e-3, 1e-1]))
    if noise:
        lam = lam * (1 + noise * rng.standard_normal(n))
    if rng.random() < 0.3:
        unit = float(rng.choice([1e-3, 1e-2, 1.0]))
        lam = np.maximum(np.round(lam / unit) * unit, 0)
    if rng.random() < 0.15:
        lam[rng.random(n) < rng.choice([0.001, 0.1, 0.5])] = 0.0
    if rng.random() < 0.15:
        lam[rng.random(n) < rng.choice([0.001, 0.1, 0.5])] = np.inf
    lam = np.abs(lam)
    if not np.isfinite(lam).any():
        lam[0] = 1.0
    per_worker = float(rng.choice([0.01, 0.1, 0.5, 1, 1, 4, 64, 1000, 1e6]))
    budget = max(1, int(per_worker * n))
    least = most = None
    bounded = bool(rng.random() < 0.35)
    if bounded:
        available = np.isfinite(lam)
        most = np.where(available, max(1, int(2 * budget / n)), 0).astype(np.int64)
        least = np.where(available, 1 if budget >= available.sum() else 0, 0).astype(np.int64)
        if most.sum() < budget:
            most = np.where(available, budget, 0).astype(np.int64)
    description = dict(n=n, types=k, order=order, noise=noise, tasks_a_worker=per_worker, bounded=bounded)
    return lam, budget, least, most, description


def cost(passes):
    return sum(WEIGHTS.get(kind, 1.0) * count for kind, count in passes.items())


def run(path, seeds):
    found = {}
    for seed in seeds:
        lam, budget, least, most, _ = cluster(seed)
        found[str(seed)] = counting_passes(lam, budget, None, least, most)
    with open(path, "w") as f:
        json.dump(found, f)
    print(f"{len(found)} inputs, {sum(cost(p) for p in found.values()):.2f} weighted passes -> {path}")


def compare(before_path, after_path):
    with open(before_path) as f:
        before = json.load(f)
    with open(after_path) as f:
        after = json.load(f)
    changed = sorted((cost(after[s]) - cost(before[s]), s) for s in before if cost(after[s]) != cost(before[s]))
    for delta, seed in changed:
        print(f"seed {seed:>5}: {cost(before[seed]):6.2f} -> {cost(after[seed]):6.2f}  {cluster(int(seed))[4]}")
    total_before = sum(cost(p) for p in before.values())
    total_after = sum(cost(after[s]) for s in before)
    better = sum(1 for delta, _ in changed if delta < 0)
    print(f"total {total_before:.2f} -> {total_after:.2f}; {better} better, {len(changed) - better} worse "
          f"of {len(before)}")
    return len(changed) - better


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="count the passes of every input into a JSON file")
    run_parser.add_argument("path")
    run_parser.add_argument("--seeds", type=int, default=1400, help="inputs 0..SEEDS-1 (default 1400)")
    compare_parser = sub.add_parser("compare", help="inputs whose passes changed between two runs")
    compare_parser.add_argument("before")
    compare_parser.add_argument("after")
    trace_parser = sub.add_parser("trace", help="one input's description and passes")
    trace_parser.add_argument("seed", type=int)
    args = parser.parse_args(argv)
    if args.command == "run":
        run(args.path, range(args.seeds))
    elif args.command == "compare":
        compare(args.before, args.after)
    else:
        lam, budget, least, most, description = cluster(args.seed)
        print(description, f"budget={budget}", counting_passes(lam, budget, None, least, most))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A random search of the public allocation API for wrong answers: every compiled backend
against the others and against an independent check of the contract, on inputs no test
lists.

Each input is drawn from its own seed, ``(SEED, k)``: 1 to 140,000 workers whose times are
lognormal over up to three orders of magnitude, a few machine types, integers, one value,
``10**uniform(-300, 300)``, subnormal ones, the paper's ``58 i``, rounded exponentials,
neighbouring floats; with idle (``lam = 0``) and unavailable (``+inf``) workers in some;
budgets from 0 to ``2**53``; without bounds, with bounds given as numbers, or as arrays that
bind, never bind, or force every task, or that leave each worker one task of room at most. Each input runs on ``fa.allocate`` with every compiled
backend (numba, cython), with the reference greedy where the budget allows (up to 20,000
tasks over 5000 workers), and now and then through ``fa.Allocator`` and ``fa.allocate_batch``
(a batch of the input, its reverse and the input again, against single calls). Every
backend must give the same answer, or reject the input with the same error; the answer
must sum to the budget, keep every bound, give unavailable workers nothing, and be a prefix
of the canonical order (``oracle.is_canonical``: the largest key taken below the smallest
left), which checks budgets the greedy cannot reach.

::

    python benchmarks/random_search.py run --seed 1 --seconds 600
    python benchmarks/random_search.py replay 1 4071      # one input again, with its answers

A failure prints its ``(seed, k)``; ``replay`` draws that input again. The first run of the
numba kernels compiles them (a minute or more each, once: numba caches them on disk).
"""

import argparse
import os
import sys
import time

import numpy as np

import fastata as fa

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from oracle import is_canonical  # noqa: E402

SIZES = np.array([1, 2, 3, 5, 8, 17, 51, 100, 300, 1000, 3000, 5000, 20000, 70000, 140000])
SIZE_WEIGHTS = np.array([5, 5, 5, 5, 5, 5, 10, 10, 10, 10, 8, 7, 7, 7, 6]) / 105


def draw_times(rng, n):
    kind = rng.integers(0, 16)
    if kind == 0:
        lam = rng.lognormal(0, rng.uniform(0, 3), n)
    elif kind == 1:
        lam = rng.integers(1, rng.integers(2, 6), n).astype(float)
    elif kind == 2:
        lam = np.full(n, rng.choice([1.0, 0.1, 3.0, 1e-300, 1e300, 5e-324]))
    elif kind == 3:
        lam = 10.0 ** rng.uniform(-300, 300, n)
    elif kind == 4:
        lam = rng.choice([1.0, 2.0], n)
    elif kind == 5:
        lam = 58.0 * np.arange(1, n + 1)
    elif kind == 6:
        lam = rng.pareto(1.5, n) + 1
    elif kind == 7:
        lam = rng.lognormal(0, 0.05, n)
    elif kind == 8:
        lam = np.full(n, 1.0)
        lam[rng.integers(n)] = 1e-6
    elif kind == 9:
        lam = rng.choice([0.1, 0.2, 0.3, 0.7, 1 / 3, 2 / 3], n)
    elif kind == 10:
        lam = np.round(rng.exponential(1, n), rng.integers(0, 4))
    elif kind == 11:
        lam = rng.choice(10.0 ** rng.uniform(-5, 5, rng.integers(1, 6)), n)
    elif kind == 12:
        lam = np.nextafter(1.0, 2.0 * rng.integers(0, 2, n)) * rng.choice([1.0, 3.0], n)
    elif kind == 13:
        lam = rng.uniform(1, 2, n)
    elif kind == 14:
        lam = rng.choice([5e-324, 1e-310, 2.2e-308, 1.0], n)
    else:
        lam = rng.exponential(1, n)
    lam = np.asarray(lam, dtype=float)
    if rng.random() < 0.15:
        lam[rng.random(n) < rng.uniform(0, 0.5)] = 0.0
    if rng.random() < 0.2:
        lam[rng.random(n) < rng.uniform(0, 0.9)] = np.inf
    if rng.random() < 0.05:
        lam[:] = np.inf
        lam[rng.integers(n)] = rng.choice([0.0, 1.0])
    return lam


def draw_budget(rng, n):
    kind = rng.integers(0, 8)
    if kind == 0:
        return int(rng.integers(0, 4))
    if kind == 7:  # below the workers: a task for some of them
        return int(n * rng.uniform(0.0, 1.0))
    if kind == 1:
        return int(rng.integers(0, 3 * n + 2))
    if kind == 2:
        return int(n * rng.uniform(0.5, 10))
    if kind == 3:
        return int(rng.integers(0, 2**20))
    if kind == 4:
        return int(2 ** rng.uniform(20, 53))
    if kind == 5:
        return n
    return int(rng.integers(0, 2**53))


def draw_bounds(rng, lam, budget):
    """``(min_tasks, max_tasks)``: None, numbers, or int64 arrays."""
    n = lam.shape[0]
    kind = rng.integers(0, 6)
    if kind == 0:
        return None, None
    available = int((lam < np.inf).sum())
    if kind == 5:  # at most one task of room a worker: a slot each, as numbers or arrays
        low = int(rng.integers(0, 3))
        if rng.random() < 0.5:
            return low, low + 1
        low = np.where(lam < np.inf, rng.integers(0, 3, n), 0).astype(np.int64)
        return low, low + (rng.random(n) < rng.uniform(0.5, 1.0))
    if kind == 1:
        low = int(rng.integers(0, 3))
        high = 2**62 if rng.random() < 0.3 else int(low + rng.integers(0, 2 + 2 * budget // max(available, 1)))
        return low, high
    low = rng.integers(0, rng.integers(1, 4), n) if rng.random() < 0.7 else np.zeros(n, dtype=np.int64)
    low[lam == np.inf] = 0
    high = low + rng.integers(0, max(1, 3 * budget // max(available, 1)) + 1, n)
    if rng.random() < 0.3:
        high[rng.random(n) < 0.5] = 2**62
    if rng.random() < 0.3:
        high = low.copy()  # every task forced
    return low.astype(np.int64), high.astype(np.int64)


def draw(seed, k):
    """Input ``k`` of the search from ``seed``: ``(lam, budget, min_tasks, max_tasks)``."""
    rng = np.random.default_rng([seed, k])
    n = int(rng.choice(SIZES, p=SIZE_WEIGHTS))
    lam = draw_times(rng, n)
    budget = draw_budget(rng, n)
    low, high = draw_bounds(rng, lam, budget)
    if high is not None and rng.random() < 0.5:  # a budget the bounds can hold, most of the time
        available = lam < np.inf
        capacity = int(np.minimum(np.broadcast_to(high, (n,))[available], 2**53).sum())
        least = int(np.broadcast_to(low, (n,))[available].sum())
        if capacity >= least:
            budget = int(rng.integers(least, min(capacity, 2**53) + 1))
    return lam, budget, low, high


def answers(lam, budget, low, high):
    """Each backend's answer: the allocation, or the first words of its ``ValueError``."""
    backends = [b for b in ("cython", "numba") if b in fa.available_backends()]
    if budget <= 20000 and lam.shape[0] <= 5000:
        backends.append("python")  # the reference greedy
    found = {}
    for b in backends:
        try:
            found[b] = fa.allocate(lam, budget, min_tasks=low, max_tasks=high, backend=b)
        except ValueError as error:
            found[b] = str(error).split(":")[0]
    return found


def check(seed, k, rng):
    """Problems with input ``k`` (a list of strings, empty where all is well)."""
    lam, budget, low, high = draw(seed, k)
    n = lam.shape[0]
    found = answers(lam, budget, low, high)
    first = next(iter(found.values()))
    if isinstance(first, str):
        return [] if all(a == first for a in found.values()) else [f"not the same rejection: {found}"]
    problems = [f"{b} differs from {next(iter(found))}" for b, a in found.items()
                if isinstance(a, str) or not np.array_equal(a, first)]
    low_n = None if low is None else np.where(lam < np.inf, low, 0) if np.ndim(low) == 0 else low
    high_n = None if high is None else np.broadcast_to(np.asarray(high, dtype=np.int64), (n,))
    if not is_canonical(lam, budget, first, low_n, high_n):
        problems.append("not the canonical allocation")
    if rng.random() < 0.2:
        again = fa.Allocator(n)(lam, budget, min_tasks=low, max_tasks=high)
        if not np.array_equal(again, first):
            problems.append("fa.Allocator differs")
    if rng.random() < 0.2 and n <= 20000:
        problems += batch_problems(lam, budget, low, high, first)
    return problems


def batch_problems(lam, budget, low, high, single):
    """``fa.allocate_batch`` over the input, its reverse and the input again, per backend."""
    def reverse(b):
        return b if b is None or np.ndim(b) == 0 else b[::-1].copy()

    def rows(b):
        return b if b is None or np.ndim(b) == 0 else np.stack([b, b[::-1], b])

    flipped = lam[::-1].copy()
    problems = []
    for b in ("cython", "numba"):
        if b not in fa.available_backends():
            continue
        try:
            got = fa.allocate_batch(np.stack([lam, flipped, lam]), [budget] * 3, min_tasks=rows(low),
                                    max_tasks=rows(high), backend=b)
        except ValueError:
            continue  # the reversed row may not be feasible
        expected = fa.allocate(flipped, budget, min_tasks=reverse(low), max_tasks=reverse(high), backend=b)
        if not (np.array_equal(got[0], single) and np.array_equal(got[2], single)
                and np.array_equal(got[1], expected)):
            problems.append(f"fa.allocate_batch differs ({b})")
    return problems


def run(seed, seconds=None, cases=None):
    """Inputs ``(seed, 0)``, ``(seed, 1)``, ... for ``seconds`` or ``cases``; returns the failures."""
    failures = []
    start = time.monotonic()
    k = 0
    with np.errstate(all="ignore"):
        while (cases is None or k < cases) and (seconds is None or time.monotonic() - start < seconds):
            problems = check(seed, k, np.random.default_rng([seed, k, 1]))
            if problems:
                failures.append((seed, k, problems))
                print(f"input ({seed}, {k}): {'; '.join(problems)}", flush=True)
            k += 1
    print(f"{k} inputs from seed {seed}, {len(failures)} failing", flush=True)
    return failures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="draw and check inputs until the time is up")
    run_parser.add_argument("--seed", type=int, default=0)
    run_parser.add_argument("--seconds", type=float, default=60.0)
    replay_parser = sub.add_parser("replay", help="one input again, and each backend's answer")
    replay_parser.add_argument("seed", type=int)
    replay_parser.add_argument("k", type=int)
    args = parser.parse_args(argv)
    if args.command == "run":
        return 1 if run(args.seed, seconds=args.seconds) else 0
    lam, budget, low, high = draw(args.seed, args.k)
    print(f"n={lam.shape[0]} budget={budget} distinct times={np.unique(lam).size} "
          f"min_tasks={'arrays' if np.ndim(low) else low} max_tasks={'arrays' if np.ndim(high) else high}")
    for backend, answer in answers(lam, budget, low, high).items():
        print(backend, answer if isinstance(answer, str) else f"sum {answer.sum()}: {answer[:8]}...")
    return 0


if __name__ == "__main__":
    sys.exit(main())

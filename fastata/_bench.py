"""The allocation benchmark: one case table and its baselines, for ``fastata bench`` and ``benchmarks/``.

Every figure is a median over repeats of an auto-ranged timing loop, and every
target is a ratio against a baseline measured in the same run: these machines are
shared and noisy, so absolute times mean little on their own. A case's loops run in
rounds (``interleaved_times``), and its ratios are medians of the rounds' ratios.
"""

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from . import _backends
from .allocate import allocate, allocate_batch
from .kernels import reference

def _lognormal(n, rng):
    return rng.lognormal(0.0, 0.5, n)


def _with_share(value):
    def make(n, rng):
        lam = rng.lognormal(0.0, 0.5, n)
        lam[rng.random(n) < 0.1] = value
        return lam

    return make


def _one_fast(n, rng):
    lam = rng.lognormal(0.0, 0.5, n)
    lam[n // 3] = 1e-6
    return lam


#: Per-task times a cluster produces, by name: smooth ones, heavy tails, the paper's means,
#: the ties of a few machine types or of rounded durations, and times over many orders of
#: magnitude or one worker far faster than the rest (the hard cases for a threshold search).
#: ``fastata bench --dist NAME[,NAME]`` picks some.
DISTRIBUTIONS = {
    "lognormal": _lognormal,  # lognormal(0, 0.5): measured worker times often are
    "exponential": lambda n, rng: rng.exponential(1.0, n),
    "paper": lambda n, rng: 58.0 * np.arange(1, n + 1),  # the paper's means, 58 i
    "pareto": lambda n, rng: rng.pareto(1.5, n) + 1.0,
    "uniform": lambda n, rng: rng.uniform(1.0, 2.0, n),
    "two-speeds": lambda n, rng: np.where(np.arange(n) % 2 == 0, 1.0, 2.0),
    "integers": lambda n, rng: rng.integers(1, 5, n).astype(np.float64),  # 1..4
    "equal": lambda n, rng: np.ones(n),
    "zeros": _with_share(0.0),  # 10 % unexplored workers
    "unavailable": _with_share(np.inf),  # 10 % unavailable workers
    "wide": lambda n, rng: np.exp(rng.normal(0.0, 20.0, n)),  # lognormal(0, 20): 1e-40..1e40 and beyond
    "one-fast": _one_fast,  # one worker a million times faster than the rest
    "extreme": lambda n, rng: 10.0 ** rng.uniform(-300.0, 300.0, n),  # six hundred orders of magnitude
    "close": lambda n, rng: rng.lognormal(0.0, 0.05, n),  # one machine type: times a few percent apart
}
DEFAULT_DISTRIBUTION = "lognormal"

#: ``(n, budget)`` on the default distribution only.
SMALL_CASES = ((16, 16), (51, 23), (459, 23), (459, 459), (3, 10**9))
#: ``(n, budget)`` on every distribution: a task or a few a worker, and fewer tasks than workers
#: (a tenth of a task a worker, and nine tenths), where with bounds each takes at most one.
LARGE_CASES = ((4096, 4096), (65536, 65536), (65536, 262144), (10**6, 10**6), (65536, 6553), (65536, 58982))


def make_cases(distributions=None, sizes=None):
    """``(n, budget, distribution)`` rows: the small sizes on the default distribution and the
    large ones on every distribution; or exactly ``sizes`` x ``distributions`` when given."""
    if sizes is not None:
        return [(n, b, d) for d in (distributions or (DEFAULT_DISTRIBUTION,)) for n, b in sizes]
    distributions = distributions or tuple(DISTRIBUTIONS)
    rows = [(n, b, DEFAULT_DISTRIBUTION) for n, b in SMALL_CASES] if DEFAULT_DISTRIBUTION in distributions else []
    return rows + [(n, b, d) for n, b in LARGE_CASES for d in distributions]


#: The whole table of ``fastata bench`` and ``benchmarks/``.
CASES = make_cases()
#: Largest ``n`` whose passes ``--passes`` counts (it runs the algorithm as plain Python).
MAX_PASSES_N = 65536
#: The batched case: ``m`` problems of ``n`` workers, ``budget`` tasks each.
BATCH = (1024, 459, 459)
#: Baselines whose cost grows with the budget run only where a call stays under ~1 s, and
#: on the default distribution only (they do not depend on it).
MAX_NAIVE_WORK = 2 * 10**7  # budget * n
MAX_HEAPQ_BUDGET = 3 * 10**5


def make_lam(n, seed=0, distribution=DEFAULT_DISTRIBUTION):
    """Per-task times of ``n`` workers drawn from one of :data:`DISTRIBUTIONS`."""
    return DISTRIBUTIONS[distribution](n, np.random.default_rng(seed)).astype(np.float64)


def naive_numpy(lam, budget):
    """The textbook greedy: ``budget`` times, give a task to ``argmin((a + 1) * lam)``."""
    a = np.zeros(lam.shape[0], dtype=np.int64)
    for _ in range(budget):
        a[np.argmin((a + 1) * lam)] += 1
    return a


def heapq_greedy(lam, budget):
    """The heap greedy (the reference backend's kernel): O(budget log n) in Python."""
    out = np.empty(lam.shape[0], dtype=np.int64)
    reference.allocate_into(lam, budget, out)
    return out


def numpy_pass(n):
    """One vectorised numpy pass over n, the relaxation ``floor(c / lam)``, into a buffer
    allocated once: it measures the pass, not the page faults of a fresh result."""
    buf = np.empty(n)

    def one_pass(lam, budget):
        return np.floor(np.divide(budget, lam, out=buf), out=buf)

    return one_pass


def baselines(n, budget, distribution=DEFAULT_DISTRIBUTION):
    """Name -> callable(lam, budget) of the baselines feasible at this size."""
    found = {"numpy pass": numpy_pass(n)}
    if distribution != DEFAULT_DISTRIBUTION:
        return found
    if budget * n <= MAX_NAIVE_WORK:
        found["naive numpy loop"] = naive_numpy
    if budget <= MAX_HEAPQ_BUDGET and n <= 4096:
        found["heapq greedy"] = heapq_greedy
    return found


def floor_call(backend, n):
    """The call-overhead floor: the backend's empty kernel, called with the same arguments."""
    module = _backends.resolve(backend)[1]
    out, ties, heap = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n + 2)
    return lambda lam, budget: module.empty_allocate_into(lam, budget, out, ties, heap)


def compiled_backends():
    """The backends benchmarked per case: every available one but the python reference
    (it is the heapq baseline) and cuda (measured on a GPU, see ``benchmarks/``)."""
    return tuple(b for b in _backends.available_backends() if b in ("numba", "cython"))


def _loop_size(fn, args, min_time):
    """Calls of ``fn`` in one timing loop, so that the loop lasts at least ``min_time`` (first
    call excluded: it compiles); returns ``(number, seconds per call of the sizing loop)``."""
    fn(*args)
    number = 1
    while True:
        per_call = _loop_seconds(fn, args, number)
        if per_call * number >= min_time or number >= 10**6:
            return number, per_call
        number *= 10 if per_call * number < min_time / 10 else 2


def _loop_seconds(fn, args, number):
    start = time.perf_counter()
    for _ in range(number):
        fn(*args)
    return (time.perf_counter() - start) / number


def median_time(fn, *args, min_time=0.02, repeat=5):
    """Median seconds per call over ``repeat`` loops, each looping ``fn`` for at least ``min_time``."""
    number, first = _loop_size(fn, args, min_time)
    samples = [first] + [_loop_seconds(fn, args, number) for _ in range(repeat - 1)]
    return statistics.median(samples)


def interleaved_times(fns, *args, min_time=0.02, repeat=5):
    """Seconds per call of every function in ``fns`` (name -> callable), ``repeat`` loops each,
    timed in rounds that loop every function once, in turn: two samples of one round saw the
    machine as it was then, so their ratio is free of the drift of a shared machine's speed
    from one second to the next (which moved a ratio of medians taken a second apart by up
    to 1.8x). Returns name -> list of seconds per call, one per round."""
    numbers = {name: _loop_size(fn, args, min_time)[0] for name, fn in fns.items()}
    samples = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            samples[name].append(_loop_seconds(fn, args, numbers[name]))
    return samples


def call_percentiles(fn, *args, min_calls=200, min_time=0.05, setup=None):
    """``(p50, p99)`` seconds of single calls: the jitter a scheduler sees, one call at a time.
    ``setup``, if given, runs before each call, untimed."""
    if setup is not None:
        setup()
    fn(*args)
    samples = []
    deadline = time.perf_counter() + min_time
    while len(samples) < min_calls or time.perf_counter() < deadline:
        if setup is not None:
            setup()
        start = time.perf_counter_ns()
        fn(*args)
        samples.append(time.perf_counter_ns() - start)
        if len(samples) >= 100_000:
            break
    p50, p99 = np.percentile(np.array(samples, dtype=np.float64), [50, 99])
    return p50 * 1e-9, p99 * 1e-9


def restorer(policy):
    """A function that puts a confidence-bound ``policy`` back, in place, to its state now:
    statistics, round count, discounted rounds and warm start.

    A benchmark of rounds then starts every round from one real state. Observing the same
    samples round after round instead drifts: the bounds of the workers those samples leave
    out fall to 0, and allocating on zeros is a different, cheaper problem (one pass).
    """
    arrays = {name: getattr(policy, name).copy() for name in ("_counts", "_means", "_m2", "_warm")}
    scalars = {name: getattr(policy, name) for name in ("_rounds", "_kdisc")}

    def restore():
        for name, array in arrays.items():
            np.copyto(getattr(policy, name), array)
        for name, value in scalars.items():
            setattr(policy, name, value)

    return restore


def counting_passes(lam, budget, warm=None, min_tasks=None, max_tasks=None):
    """The passes over the workers one allocation makes, by kind: the kernel's algorithm
    (``kernels/threshold.py``, which numba, cuda and, step for step, Cython run) executed as
    plain Python with counters around its passes. A measurement hook, not in any hot path.

    ``warm``: as for ``threshold.allocate_warm`` (updated); ``None`` for a cold call.
    ``min_tasks``, ``max_tasks``: int64 bounds (both or neither).
    """
    from .kernels import threshold

    lam = np.ascontiguousarray(lam, dtype=np.float64)
    counted = {"inverse": "inverse_pass", "estimate": "estimate_into", "estimate with slope": "estimate_slope_into",
               "estimate pair": "estimate_pair_into", "bounds check and estimate": "estimate_checking_into",
               "inverse, bounds check and estimate": "inverse_checking_pass",
               "bounds check": "scan_bounds", "count": "count_into",
               "count with extremes": "count_extremes_into", "count by division": "count_into_divided",
               "count and listing": "count_list_into", "boundary": "list_all_between",
               "split at t*": "split_at_threshold", "split by division": "split_divided", "levels' range": "tied_levels", "levels": "count_levels",
               "two adjacent levels": "count_up_to_level",
               "level histogram": "count_buckets", "room of lam = 0 workers": "zero_room",
               "split of many keys at t*": "split_ties", "room above the finite keys": "overflow_room",
               "tied intervals' span": "tied_span", "tied keys up to a level": "tied_up_to",
               "tied intervals' histogram": "tied_buckets",
               "tied keys below the level": "take_below", "least and largest finite time": "finite_extremes",
               "times scaled by a power of two": "rescaled_copy", "listing of the few candidates": "list_candidates",
               "selection's check and counts": "unit_slack_counts", "selection's write and listing": "unit_slack_write",
               "selection's write of a tie": "unit_slack_tied", "table of the times: counts": "few_times_counts",
               "table of the times: write": "few_times_write"}
    passes = dict.fromkeys(counted, 0)
    originals = {name: getattr(threshold, name) for name in counted.values()}
    n = lam.shape[0]

    def counting(kind, fn):
        def wrapped(*args):
            # A pass over the few workers that can hold a key at t* (list_candidates) is
            # a pass over a copy of a few of them, counted apart.
            if args[0].shape[0] < n:
                part = f"{kind}, over the candidates"
                passes[part] = passes.get(part, 0) + 1
            else:
                passes[kind] += 1
            return fn(*args)

        return wrapped

    try:
        for kind, name in counted.items():
            setattr(threshold, name, counting(kind, originals[name]))
        out, ties, heap = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n + 2)
        with np.errstate(all="ignore"):
            if warm is None:
                warm = np.zeros(3)
            threshold.allocate_bounded_warm(lam, budget, min_tasks, max_tasks, out, ties, heap, warm)
    finally:
        for name, fn in originals.items():
            setattr(threshold, name, fn)
    return {kind: k for kind, k in passes.items() if k}


def case_bounds(n, budget, lam):
    """The bounds of the bounded column, as int64 arrays a scheduler keeps: every available
    worker at least one task (when the budget allows) and at most ``2 * budget / n``."""
    least, most = case_bound_numbers(n, budget, lam)
    low = np.where(lam < np.inf, least, 0).astype(np.int64)
    return low, np.full(n, most, dtype=np.int64)


def case_bound_numbers(n, budget, lam):
    """The same bounds given as one number each, as ``fa.allocate(..., min_tasks=1,
    max_tasks=4)`` takes them (a single minimum leaves the unavailable workers out); the
    maximum at least what lets the available workers hold the budget."""
    available = int((lam < np.inf).sum())
    return (1 if budget >= available else 0), max(2 * budget // n, -(-budget // max(available, 1)), 1)


def run_cases(cases=CASES, min_time=0.02, repeat=5, percentiles=True, passes=False):
    """Time every backend and baseline on every case; returns a list of row dicts."""
    rows = []
    for n, budget, distribution in cases:
        lam = make_lam(n, distribution=distribution)
        fns, tails = {}, {}
        for b in ("auto",) + compiled_backends():
            out = np.empty(n, dtype=np.int64)  # reused, as a scheduler would: no page faults
            fns[f"fa.allocate[{b}]"] = lambda b=b, out=out: allocate(lam, budget, backend=b, out=out)
        low, high = case_bounds(n, budget, lam)
        for label, bounds in (("bounded", (low, high)), ("bounded as numbers", case_bound_numbers(n, budget, lam))):
            for b in compiled_backends():
                out = np.empty(n, dtype=np.int64)
                fns[f"{label}[{b}]"] = lambda b=b, out=out, bounds=bounds: allocate(
                    lam, budget, min_tasks=bounds[0], max_tasks=bounds[1], backend=b, out=out)
        for b in compiled_backends():
            fns[f"floor[{b}]"] = lambda floor=floor_call(b, n): floor(lam, budget)
        for name, fn in baselines(n, budget, distribution).items():
            fns[name] = lambda fn=fn: fn(lam, budget)
        with np.errstate(divide="ignore"):  # zeros in lam: the numpy pass divides by them
            rounds = interleaved_times(fns, min_time=min_time, repeat=repeat)
        timings = {name: statistics.median(samples) for name, samples in rounds.items()}
        row = {"n": n, "budget": budget, "distribution": distribution, "seconds": timings,
               "seconds per round": rounds}
        if percentiles:
            for b in ("auto",) + compiled_backends():
                tails[f"fa.allocate[{b}]"] = call_percentiles(fns[f"fa.allocate[{b}]"], min_time=min_time)
            row["p50_p99_seconds"] = tails
        if passes and n <= MAX_PASSES_N:
            row["passes"] = counting_passes(lam, budget)
            row["passes with bounds"] = counting_passes(lam, budget, min_tasks=low, max_tasks=high)
        rows.append(row)
    return rows


def warm_start(n=4096, budget=4096, rounds=40, backend="auto", seed=0):
    """A policy's sequence of allocation problems (ATA-Empirical's bounds, round after round,
    on log-normal workers), allocated cold and warm-started from the previous round: counting
    passes per call (mean) and median seconds per call of each."""
    from .kernels import threshold
    from .policies import ATAEmpirical

    rng = np.random.default_rng(seed)
    mu = rng.lognormal(0.0, 0.5, n)
    policy = ATAEmpirical(n, budget, eta=0.5, backend=backend)
    problems = []
    for k in range(rounds + 50):
        a = policy.allocate()
        workers = np.repeat(np.arange(n), a)
        policy.observe(workers, rng.exponential(mu[workers]))
        if k >= 50:  # past the first, exploring rounds
            problems.append(policy.lower_bounds.copy())
    cold = [sum(counting_passes(lam, budget).values()) for lam in problems]
    warm_state = np.zeros(3)
    warm = [sum(counting_passes(lam, budget, warm_state).values()) for lam in problems]
    kernels = _backends.resolve(backend)[1]
    out, ties, heap = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n + 2)
    state = np.zeros(3)

    def cold_calls():
        for lam in problems:
            kernels.allocate_into(lam, budget, out, ties, heap)

    def warm_calls():
        for lam in problems:
            kernels.allocate_warm_into(lam, budget, out, ties, heap, state)

    return {
        "n": n, "budget": budget, "rounds": rounds,
        "passes per call": {"cold": float(np.mean(cold)), "warm": float(np.mean(warm))},
        "seconds per call": {"cold": median_time(cold_calls) / rounds, "warm": median_time(warm_calls) / rounds},
    }


def embedding(min_time=0.02, repeat=7):
    """The hot paths a scheduler embeds, against what they are compared with in one run:
    ``fa.Allocator`` and ``fa.allocate`` at n = 51, budget = 23 against the Cython call floor;
    a full ATA-Empirical round (observe the last round's samples, then allocate) at
    n = budget = 4096 against ``fa.allocate`` on the same bounds."""
    from .allocate import Allocator
    from .policies import ATAEmpirical

    found = {}
    lam = make_lam(51)
    allocator = Allocator(51)
    if "cython" in compiled_backends():
        found["floor[cython], n=51"] = median_time(floor_call("cython", 51), lam, 23, min_time=min_time, repeat=repeat)
    found["fa.Allocator, n=51, budget=23"] = median_time(allocator, lam, 23, min_time=min_time, repeat=repeat)
    found["fa.allocate, n=51, budget=23"] = median_time(lambda: allocate(lam, 23), min_time=min_time, repeat=repeat)
    n = budget = 4096
    rng = np.random.default_rng(0)
    mu = rng.lognormal(0.0, 0.5, n)
    policy = ATAEmpirical(n, budget, eta=0.5)
    for _ in range(100):
        a = policy.allocate()
        workers = np.repeat(np.arange(n), a)
        policy.observe(workers, rng.exponential(mu[workers]))
    workers = np.repeat(np.arange(n), policy.allocate())
    durations = rng.exponential(mu[workers])
    restore = restorer(policy)  # every timed round starts from this state

    def one_round():
        policy.observe(workers, durations)
        return policy.allocate(out=out)

    out = np.empty(n, dtype=np.int64)
    policy.observe(workers, durations)
    bounds = policy.lower_bounds.copy()  # what the round allocates on
    # Single calls, the state put back before each (untimed), and fa.allocate timed alike.
    found["ATA-Empirical round, n=budget=4096"] = call_percentiles(one_round, setup=restore, min_time=min_time * repeat)[0]
    found["fa.allocate on its bounds, n=budget=4096"] = call_percentiles(
        lambda: allocate(bounds, budget, out=out), min_time=min_time * repeat)[0]
    return found


def run_batch(m=BATCH[0], n=BATCH[1], budget=BATCH[2], min_time=0.05, repeat=5):
    """Batched allocation (numba, prange) against a loop of single calls on the same rows."""
    lam2d = np.stack([make_lam(n, seed) for seed in range(m)])

    def loop():
        for row in lam2d:
            allocate(row, budget, backend="numba")

    return {
        "m": m, "n": n, "budget": budget,
        "seconds": {
            "fa.allocate_batch[numba]": median_time(lambda: allocate_batch(lam2d, budget, backend="numba"), min_time=min_time, repeat=repeat),
            "loop of fa.allocate[numba]": median_time(loop, min_time=min_time, repeat=repeat),
        },
    }


def _python(code, env=None, capture=False):
    """Run ``code`` in a fresh interpreter, from a neutral folder (in a source checkout,
    ``import fastata`` would otherwise find the uninstalled tree); returns (seconds, stdout)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=tempfile.gettempdir(),
                          capture_output=capture, text=True)
    return time.perf_counter() - start, done.stdout


def startup_costs(repeat=3):
    """``import fastata`` (less a bare interpreter start) and numba's cold-cache compile time."""
    bare = statistics.median(_python("pass")[0] for _ in range(repeat))
    imported = statistics.median(_python("import fastata")[0] for _ in range(repeat))
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        code = ("import time, fastata as fa; t = time.perf_counter(); "
                "fa.allocate([1.0, 2.0], 3, backend='numba'); print(time.perf_counter() - t)")
        cold = float(_python(code, env, capture=True)[1])
        warm = float(_python(code, env, capture=True)[1])
    return {"import fastata": max(imported - bare, 0.0), "numba first call, cold cache": cold,
            "numba first call, warm cache": warm}


def case_name(n, budget, distribution):
    return f"n={n}, budget={budget}, {distribution}"


def _ratio_in(row):
    """``ratio(a, b)``: the median over the row's rounds of ``a``'s time over ``b``'s in the
    same round (the ratio of the medians for a row without rounds)."""
    rounds, medians = row.get("seconds per round"), row["seconds"]

    def ratio(a, b):
        if rounds is None:
            return medians[a] / medians[b]
        return statistics.median(x / y for x, y in zip(rounds[a], rounds[b]))

    return ratio


def ratios(rows, batch, embedded=None):
    """The targets, as ratios measured in this run."""
    found = {}
    if embedded:
        e = embedded
        if "floor[cython], n=51" in e:
            found["n=51, budget=23: fa.Allocator / cython floor"] = e["fa.Allocator, n=51, budget=23"] / e["floor[cython], n=51"]
            found["n=51, budget=23: fa.allocate / cython floor"] = e["fa.allocate, n=51, budget=23"] / e["floor[cython], n=51"]
        found["n=budget=4096: ATA-Empirical round / fa.allocate on its bounds"] = (
            e["ATA-Empirical round, n=budget=4096"] / e["fa.allocate on its bounds, n=budget=4096"])
    for row in rows:
        s, key = row["seconds"], case_name(row["n"], row["budget"], row["distribution"])
        ratio = _ratio_in(row)
        for b in compiled_backends():
            mine = f"fa.allocate[{b}]"
            if "naive numpy loop" in s:
                found[f"{key}: naive numpy loop / {b}"] = ratio("naive numpy loop", mine)
            if "heapq greedy" in s:
                found[f"{key}: heapq greedy / {b}"] = ratio("heapq greedy", mine)
            found[f"{key}: {b} / numpy pass"] = ratio(mine, "numpy pass")
            if f"bounded[{b}]" in s:
                found[f"{key}: {b} with bounds / numpy pass"] = ratio(f"bounded[{b}]", "numpy pass")
            if f"bounded as numbers[{b}]" in s:
                found[f"{key}: {b} with bounds as numbers / numpy pass"] = ratio(f"bounded as numbers[{b}]", "numpy pass")
        if "fa.allocate[numba]" in s and "fa.allocate[cython]" in s:
            found[f"{key}: numba / cython"] = ratio("fa.allocate[numba]", "fa.allocate[cython]")
        if "floor[cython]" in s and row["n"] < 1000:
            found[f"{key}: auto / cython floor"] = ratio("fa.allocate[auto]", "floor[cython]")
    by_case = {(r["n"], r["budget"]): r["seconds"] for r in rows if r["distribution"] == DEFAULT_DISTRIBUTION}
    if (3, 10**9) in by_case:
        lam3 = make_lam(3)
        small = median_time(lambda: allocate(lam3, 3), repeat=5)
        found["n=3: budget 10**9 / budget 3 (auto)"] = by_case[(3, 10**9)]["fa.allocate[auto]"] / small
    if batch:
        b = batch["seconds"]
        found["batch: loop of single calls / allocate_batch"] = b["loop of fa.allocate[numba]"] / b["fa.allocate_batch[numba]"]
    return found


def format_report(rows, batch, ratio_table, startup, warm=None, embedded=None):
    """Plain-text tables of medians and ratios."""
    lines = ["Allocation, median time per call (microseconds); p50 / p99 of single calls"]
    for row in rows:
        lines.append(f"  {case_name(row['n'], row['budget'], row['distribution'])}")
        tails = row.get("p50_p99_seconds", {})
        for name, sec in row["seconds"].items():
            tail = f"   p50 {tails[name][0] * 1e6:10.2f}  p99 {tails[name][1] * 1e6:10.2f}" if name in tails else ""
            lines.append(f"      {name:<28} {sec * 1e6:14.2f}{tail}")
        for key in ("passes", "passes with bounds"):
            if row.get(key):
                lines.append(f"      {key} over the workers: " + ", ".join(f"{k} {v}" for k, v in row[key].items()))
    if batch:
        lines.append(f"Batched: m={batch['m']} problems of n={batch['n']}, budget={batch['budget']} (ms)")
        for name, sec in batch["seconds"].items():
            lines.append(f"      {name:<28} {sec * 1e3:14.2f}")
    if embedded:
        lines.append("Embedded hot paths (microseconds)")
        for name, sec in embedded.items():
            lines.append(f"      {name:<44} {sec * 1e6:10.2f}")
    if warm:
        lines.append(f"Warm start: a policy's rounds, n={warm['n']}, budget={warm['budget']}, {warm['rounds']} rounds")
        for kind in ("cold", "warm"):
            lines.append(f"      {kind:<6} passes per call {warm['passes per call'][kind]:6.2f}"
                         f"   {warm['seconds per call'][kind] * 1e6:10.2f} us per call")
    if startup:
        lines.append("Start-up (seconds)")
        for name, sec in startup.items():
            lines.append(f"      {name:<34} {sec:8.3f}")
    lines.append("Ratios (same run)")
    for name, value in ratio_table.items():
        lines.append(f"      {name:<72} {value:12.2f}")
    return "\n".join(lines)


def run(cases=CASES, batch=True, startup=True, quick=False, json_path=None, stream=sys.stdout,
        passes=False, warm=True):
    """Run the benchmark, print the report, optionally write JSON; returns the results dict."""
    min_time, repeat = (0.002, 3) if quick else (0.02, 7)
    rows = run_cases(cases, min_time=min_time, repeat=repeat, passes=passes)
    batch_result = run_batch(min_time=min_time, repeat=repeat) if batch else None
    warm_result = warm_start(rounds=5 if quick else 40) if warm else None
    embedded = embedding(min_time=min_time, repeat=repeat) if warm else None
    startup_result = startup_costs(repeat=1 if quick else 3) if startup else None
    ratio_table = ratios(rows, batch_result, embedded)
    print(format_report(rows, batch_result, ratio_table, startup_result, warm_result, embedded), file=stream)
    results = {
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), "backends": list(_backends.available_backends()),
                    "cython simd": _cython_simd_level()},
        "cases": rows, "batch": batch_result, "warm start": warm_result, "embedded": embedded,
        "startup": startup_result,
        "ratios": ratio_table,
    }
    if json_path:
        with open(json_path, "w") as f:
            json.dump(results, f, indent=2)
    return results


def _cython_simd_level():
    """The instruction set the Cython passes run (``FASTATA_SIMD`` may force a narrower one)."""
    try:
        from .kernels import cython_cpu
    except ImportError:
        return None
    return cython_cpu.simd_level()

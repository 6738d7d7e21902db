"""The allocation benchmark: one case table and its baselines, for ``fastata bench`` and ``benchmarks/``.

Every figure is a median over repeats of an auto-ranged timing loop, and every
target is a ratio against a baseline measured in the same run: these machines are
shared and noisy, so absolute times mean little on their own.
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

#: ``(n, budget)`` of the allocation benchmark (issue 3).
CASES = (
    (16, 16),
    (51, 23),
    (459, 23),
    (459, 459),
    (4096, 4096),
    (65536, 65536),
    (65536, 262144),
    (3, 10**9),
)
#: The batched case: ``m`` problems of ``n`` workers, ``budget`` tasks each.
BATCH = (1024, 459, 459)
#: Baselines whose cost grows with the budget run only where a call stays under ~1 s.
MAX_NAIVE_WORK = 2 * 10**7  # budget * n
MAX_HEAPQ_BUDGET = 3 * 10**5


def make_lam(n, seed=0):
    """Heterogeneous per-task times: log-normal, as measured worker times often are."""
    return np.random.default_rng(seed).lognormal(0.0, 0.5, n)


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


def numpy_pass(lam, budget):
    """One vectorised numpy pass over n: the relaxation ``floor(c / lam)``."""
    return np.floor(budget / lam)


def baselines(n, budget):
    """Name -> callable(lam, budget) of the baselines feasible at this size."""
    found = {"numpy pass": numpy_pass}
    if budget * n <= MAX_NAIVE_WORK:
        found["naive numpy loop"] = naive_numpy
    if budget <= MAX_HEAPQ_BUDGET:
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


def median_time(fn, *args, min_time=0.02, repeat=5):
    """Median seconds per call over ``repeat`` loops, each looping ``fn`` for at least ``min_time``."""
    fn(*args)  # warm up (compiles on first call)
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn(*args)
        elapsed = time.perf_counter() - start
        if elapsed >= min_time or number >= 10**6:
            break
        number *= 10 if elapsed < min_time / 10 else 2
    samples = [elapsed / number]
    for _ in range(repeat - 1):
        start = time.perf_counter()
        for _ in range(number):
            fn(*args)
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def run_cases(cases=CASES, min_time=0.02, repeat=5):
    """Time every backend and baseline on every case; returns a list of row dicts."""
    rows = []
    for n, budget in cases:
        lam = make_lam(n)
        timings = {f"fa.allocate[{b}]": median_time(lambda: allocate(lam, budget, backend=b), min_time=min_time, repeat=repeat)
                   for b in ("auto",) + compiled_backends()}
        for b in compiled_backends():
            timings[f"floor[{b}]"] = median_time(floor_call(b, n), lam, budget, min_time=min_time, repeat=repeat)
        for name, fn in baselines(n, budget).items():
            timings[name] = median_time(fn, lam, budget, min_time=min_time, repeat=repeat)
        rows.append({"n": n, "budget": budget, "seconds": timings})
    return rows


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


def ratios(rows, batch):
    """The targets of issue 3, as ratios measured in this run."""
    found = {}
    for row in rows:
        s, key = row["seconds"], f"n={row['n']}, budget={row['budget']}"
        for b in compiled_backends():
            mine = s[f"fa.allocate[{b}]"]
            if "naive numpy loop" in s:
                found[f"{key}: naive numpy loop / {b}"] = s["naive numpy loop"] / mine
            if "heapq greedy" in s:
                found[f"{key}: heapq greedy / {b}"] = s["heapq greedy"] / mine
            found[f"{key}: {b} / numpy pass"] = mine / s["numpy pass"]
        if "floor[cython]" in s:
            found[f"{key}: auto / cython floor"] = s["fa.allocate[auto]"] / s["floor[cython]"]
    by_case = {(r["n"], r["budget"]): r["seconds"] for r in rows}
    if (3, 10**9) in by_case:
        lam3 = make_lam(3)
        small = median_time(lambda: allocate(lam3, 3), repeat=5)
        found["n=3: budget 10**9 / budget 3 (auto)"] = by_case[(3, 10**9)]["fa.allocate[auto]"] / small
    if batch:
        b = batch["seconds"]
        found["batch: loop of single calls / allocate_batch"] = b["loop of fa.allocate[numba]"] / b["fa.allocate_batch[numba]"]
    return found


def format_report(rows, batch, ratio_table, startup):
    """Plain-text tables of medians and ratios."""
    lines = ["Allocation, median time per call (microseconds)"]
    for row in rows:
        lines.append(f"  n={row['n']:>6} budget={row['budget']:>10}")
        for name, sec in row["seconds"].items():
            lines.append(f"      {name:<28} {sec * 1e6:14.2f}")
    if batch:
        lines.append(f"Batched: m={batch['m']} problems of n={batch['n']}, budget={batch['budget']} (ms)")
        for name, sec in batch["seconds"].items():
            lines.append(f"      {name:<28} {sec * 1e3:14.2f}")
    if startup:
        lines.append("Start-up (seconds)")
        for name, sec in startup.items():
            lines.append(f"      {name:<34} {sec:8.3f}")
    lines.append("Ratios (same run)")
    for name, value in ratio_table.items():
        lines.append(f"      {name:<52} {value:12.1f}")
    return "\n".join(lines)


def run(cases=CASES, batch=True, startup=True, quick=False, json_path=None, stream=sys.stdout):
    """Run the benchmark, print the report, optionally write JSON; returns the results dict."""
    min_time, repeat = (0.002, 3) if quick else (0.02, 7)
    rows = run_cases(cases, min_time=min_time, repeat=repeat)
    batch_result = run_batch(min_time=min_time, repeat=repeat) if batch else None
    startup_result = startup_costs(repeat=1 if quick else 3) if startup else None
    ratio_table = ratios(rows, batch_result)
    print(format_report(rows, batch_result, ratio_table, startup_result), file=stream)
    results = {
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), "backends": list(_backends.available_backends())},
        "cases": rows, "batch": batch_result, "startup": startup_result, "ratios": ratio_table,
    }
    if json_path:
        with open(json_path, "w") as f:
            json.dump(results, f, indent=2)
    return results

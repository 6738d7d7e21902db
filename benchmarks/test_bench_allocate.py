"""Allocation throughput: every backend and every baseline on one case table, in the same run.

Run: ``pytest benchmarks/test_bench_allocate.py --benchmark-columns=median,iqr,rounds``
(``-k two-speeds`` for one distribution; ``FASTATA_SIMD=avx2`` runs the Cython passes as on an
AVX2-only CPU). Compare within a group (one ``(n, budget, distribution)`` case): targets are
ratios, never absolute times. The same table with p50/p99 per call: ``fastata bench``.
"""

import subprocess
import sys
import tempfile

import numpy as np
import pytest

import fastata as fa
from cases import BACKENDS, BATCH, CASES, baselines, case_bound_numbers, case_bounds, case_id, floor_call, make_lam

# The numpy pass divides by the zeros of the "zeros" distribution, as it should.
pytestmark = pytest.mark.filterwarnings("ignore:divide by zero encountered:RuntimeWarning")

BASELINE_CASES = [(n, b, d, name) for n, b, d in CASES for name in baselines(n, b, d)]
CASE_IDS = [case_id(*c) for c in CASES]


@pytest.mark.parametrize("backend", ("auto",) + BACKENDS)
@pytest.mark.parametrize("n, budget, distribution", CASES, ids=CASE_IDS)
def test_allocate(benchmark, backend, n, budget, distribution):
    benchmark.group = f"allocate {case_id(n, budget, distribution)}"
    lam = make_lam(n, distribution=distribution)
    out = np.empty(n, dtype=np.int64)  # reused, as a scheduler would
    a = benchmark(fa.allocate, lam, budget, backend=backend, out=out)
    assert a.sum() == budget


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "cuda"])
@pytest.mark.parametrize("n, budget, distribution", CASES, ids=CASE_IDS)
def test_allocate_bounded(benchmark, backend, n, budget, distribution):
    """With bounds a scheduler keeps as arrays (at least 1 task, at most 2 * budget / n):
    the same group, so the ratio to the numpy pass and to the unbounded call is read off."""
    benchmark.group = f"allocate {case_id(n, budget, distribution)}"
    lam = make_lam(n, distribution=distribution)
    low, high = case_bounds(n, budget, lam)
    out = np.empty(n, dtype=np.int64)
    a = benchmark(fa.allocate, lam, budget, min_tasks=low, max_tasks=high, backend=backend, out=out)
    assert a.sum() == budget and (a <= high).all() and (a >= low).all()


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "cuda"])
@pytest.mark.parametrize("n, budget, distribution", CASES, ids=CASE_IDS)
def test_allocate_bounded_as_numbers(benchmark, backend, n, budget, distribution):
    """The same bounds given as one number each (``min_tasks=1, max_tasks=4``), as most
    callers write them: the same group, to be read against the arrays' call."""
    benchmark.group = f"allocate {case_id(n, budget, distribution)}"
    lam = make_lam(n, distribution=distribution)
    least, most = case_bound_numbers(n, budget, lam)
    out = np.empty(n, dtype=np.int64)
    a = benchmark(fa.allocate, lam, budget, min_tasks=least, max_tasks=most, backend=backend, out=out)
    low, high = case_bounds(n, budget, lam)
    assert a.sum() == budget and (a <= high).all() and (a >= low).all()


@pytest.mark.parametrize("n, budget, distribution, name", BASELINE_CASES,
                         ids=[f"{case_id(n, b, d)}-{name}" for n, b, d, name in BASELINE_CASES])
def test_baseline(benchmark, n, budget, distribution, name):
    benchmark.group = f"allocate {case_id(n, budget, distribution)}"
    lam = make_lam(n, distribution=distribution)
    benchmark(baselines(n, budget, distribution)[name], lam, budget)


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "cuda"])
@pytest.mark.parametrize("n, budget, distribution", CASES, ids=CASE_IDS)
def test_call_overhead_floor(benchmark, backend, n, budget, distribution):
    """The backend's empty kernel with the same arguments: what no implementation can beat."""
    benchmark.group = f"allocate {case_id(n, budget, distribution)}"
    benchmark(floor_call(backend, n), make_lam(n, distribution=distribution), budget)


@pytest.fixture(scope="module")
def batch_input():
    m, n, budget = BATCH
    return np.stack([make_lam(n, seed) for seed in range(m)]), budget


def test_batch_prange(benchmark, batch_input):
    benchmark.group = "batch m=1024 n=459"
    lam2d, budget = batch_input
    benchmark(fa.allocate_batch, lam2d, budget, backend="numba")


def test_batch_loop_of_single_calls(benchmark, batch_input):
    benchmark.group = "batch m=1024 n=459"
    lam2d, budget = batch_input

    def loop():
        for row in lam2d:
            fa.allocate(row, budget, backend="numba")

    benchmark(loop)


def test_budget_does_not_matter(benchmark):
    """``budget = 10**9`` with n = 3 against ``budget = 3``: compare with the (3, 10**9) group."""
    benchmark.group = f"allocate {case_id(3, 10**9, 'lognormal')}"
    benchmark(fa.allocate, make_lam(3), 3)


def _python(code):
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tempfile.gettempdir())


def test_import_time(benchmark):
    """``import fastata`` in a fresh interpreter; compare with the bare interpreter below."""
    benchmark.group = "start-up"
    benchmark.pedantic(_python, args=("import fastata",), rounds=5)


def test_bare_interpreter(benchmark):
    benchmark.group = "start-up"
    benchmark.pedantic(_python, args=("pass",), rounds=5)


def test_numba_compile_cold_cache(benchmark, tmp_path):
    """First numba call with an empty cache directory: compile cost, paid once per install."""
    benchmark.group = "start-up"
    code = f"import os; os.environ['NUMBA_CACHE_DIR'] = {str(tmp_path)!r}; import fastata; fastata.allocate([1.0], 1, backend='numba')"

    def cold():
        for entry in tmp_path.iterdir():
            if entry.is_dir():
                import shutil

                shutil.rmtree(entry)
            else:
                entry.unlink()
        _python(code)

    benchmark.pedantic(cold, rounds=2)

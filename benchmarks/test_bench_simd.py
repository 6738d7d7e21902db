"""The counting pass alone, per implementation: the Cython kernel's SIMD levels this CPU
runs (scalar, AVX2, AVX-512) against numba's pass over the same workers, in one group.

Run: ``pytest benchmarks/test_bench_simd.py --benchmark-columns=median,iqr,rounds``.
It shows what the run-time choice buys on this CPU; the whole allocation is in
``test_bench_allocate.py``.
"""

import numpy as np
import pytest

from cases import make_lam

cython_cpu = pytest.importorskip("fastata.kernels.cython_cpu")

N, BUDGET = 65536, 262144


@pytest.fixture(scope="module")
def problem():
    lam = make_lam(N)
    t = (BUDGET + 0.5 * N) / np.sum(1.0 / lam)  # the kernel's first guess
    return lam, t


@pytest.mark.parametrize("level", cython_cpu.simd_levels())
def test_count_pass_cython(benchmark, problem, level):
    benchmark.group = f"count pass n={N}"
    lam, t = problem
    out = np.empty(N, dtype=np.int64)
    total = benchmark(cython_cpu.count_into_with, level, lam, 1.0 / lam, t, BUDGET, out)
    assert abs(total - BUDGET) < N


def test_count_pass_numba(benchmark, problem):
    numba = pytest.importorskip("numba")
    from fastata.kernels import threshold

    from fastata.kernels import numba_cpu  # noqa: F401  (registers the CPU compile options)

    count_into = numba.njit(error_model="numpy")(
        lambda lam, inv, t, budget, out: threshold.count_into(lam, inv, t, budget, out, None, None))  # no bounds
    benchmark.group = f"count pass n={N}"
    lam, t = problem
    inv = 1.0 / lam
    out = np.empty(N, dtype=np.int64)
    count_into(lam, inv, t, BUDGET, out)  # compile outside the timing
    total = benchmark(count_into, lam, inv, t, BUDGET, out)
    assert abs(total - BUDGET) < N

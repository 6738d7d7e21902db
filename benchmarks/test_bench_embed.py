"""Embedding: the reused-buffer hot path against the call-overhead floor, and
throughput from two threads against one.

Run: ``pytest benchmarks/test_bench_embed.py --benchmark-columns=median,iqr,rounds``.
Targets, read within a group: ``fa.Allocator`` at n = 51, budget = 23 close to the
backend's call-overhead floor (the ratio is in benchmarks/RESULTS.md); two threads on two
cores >= 1.7x the throughput of one on large problems (group ``threads``: the
``threads=2`` median must be at most 1/1.7 of ``threads=1``, as both do the same work).
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import fastata as fa
from fastata._bench import floor_call, make_lam

CPU_BACKENDS = ("cython", "numba")


@pytest.mark.benchmark(group="allocator n=51 budget=23")
@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_allocator_hot_path(benchmark, backend):
    allocator = fa.Allocator(51, backend=backend)
    lam = make_lam(51)
    a = benchmark(allocator, lam, 23)
    np.testing.assert_array_equal(a, fa.allocate(lam, 23, backend="python"))


@pytest.mark.benchmark(group="allocator n=51 budget=23")
@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_call_overhead_floor(benchmark, backend):
    benchmark(floor_call(backend, 51), make_lam(51), 23)


#: Large problems: each call is long enough that the GIL is a small part of it.
THREAD_N, THREAD_BUDGET, THREAD_CALLS = 65536, 65536, 16


@pytest.mark.benchmark(group="threads")
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_threads_throughput(benchmark, backend, threads):
    problems = [make_lam(THREAD_N, seed) for seed in range(THREAD_CALLS)]
    allocators = [fa.Allocator(THREAD_N, backend=backend) for _ in range(threads)]
    allocators[0](problems[0], THREAD_BUDGET)  # compile / warm up outside the timing

    def share(k):
        for lam in problems[k::threads]:
            allocators[k](lam, THREAD_BUDGET)

    with ThreadPoolExecutor(threads) as pool:
        benchmark(lambda: list(pool.map(share, range(threads))))

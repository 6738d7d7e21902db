"""CUDA at scale, against the numba backend on 2 CPU threads in the same run.

Run on a machine with a GPU: ``pytest benchmarks/test_bench_cuda.py
--benchmark-columns=median,iqr,rounds``. Without a real GPU (the simulator is not timed)
every benchmark here is reported as not run, with the reason. The numba baseline is held
to 2 threads (``numba.set_num_threads(2)``), the 2-core machine the targets refer to,
whatever the GPU host has.

* batched: m = 65,536 problems of n = 459 (budget 459): host arrays in and out, and data
  already on the device (``fa.allocate_batch(device_lam2d, budget, backend="cuda")``);
* one problem of n = 10**6 workers (budget 10**6): host arrays in and out, and data
  on the device; and the same with ties (a policy's early rounds: many equal bounds),
  which takes the exact search instead of bracketing;
* both again with per-worker bounds (host arrays: every available worker at least one
  task, at most ``2 * budget / n``, the bounded column of ``fastata bench``);
* one small problem (n = 51, budget 23), which a single GPU thread runs.
"""

import numpy as np
import pytest

import fastata as fa
from cases import BACKENDS
from fastata._bench import case_bound_numbers, case_bounds, make_lam

HAS_GPU = "cuda" in BACKENDS
pytestmark = pytest.mark.skipif(not HAS_GPU, reason="no real GPU here (the CUDA simulator is not benchmarked)")
BATCH_M, BATCH_N = 65_536, 459
BIG_N = 10**6
CPU_THREADS = 2


@pytest.fixture(scope="module", autouse=True)
def two_cpu_threads():
    import numba

    saved = numba.get_num_threads()
    numba.set_num_threads(min(CPU_THREADS, numba.config.NUMBA_NUM_THREADS))
    yield
    numba.set_num_threads(saved)


@pytest.fixture(scope="module")
def batch():
    return np.random.default_rng(0).lognormal(0.0, 0.5, (BATCH_M, BATCH_N))


def _ties(n):
    """Bounds as in a policy's early rounds: a few distinct values, most of them repeated."""
    return np.random.default_rng(1).integers(1, 5, n) * 0.25


@pytest.mark.benchmark(group="cuda batch m=65536 n=459")
@pytest.mark.parametrize("backend", ["numba", "cuda"])
def test_batch_host_arrays(benchmark, batch, backend):
    out = np.empty(batch.shape, dtype=np.int64)
    fa.allocate_batch(batch[:2], BATCH_N, backend=backend)  # compile outside the timing
    benchmark.pedantic(fa.allocate_batch, (batch, BATCH_N), {"backend": backend, "out": out}, rounds=5)
    np.testing.assert_array_equal(out[:64], fa.allocate_batch(batch[:64], BATCH_N, backend="numba"))


@pytest.mark.benchmark(group="cuda batch m=65536 n=459")
def test_batch_device_arrays(benchmark, batch):
    from numba import cuda

    d_lam, d_out = cuda.to_device(batch), cuda.device_array(batch.shape, dtype=np.int64)

    def on_device():
        fa.allocate_batch(d_lam, BATCH_N, backend="cuda", out=d_out)
        cuda.synchronize()

    on_device()
    benchmark.pedantic(on_device, rounds=10)
    np.testing.assert_array_equal(d_out[:64].copy_to_host(), fa.allocate_batch(batch[:64], BATCH_N, backend="numba"))


@pytest.mark.benchmark(group="cuda single n=1e6")
@pytest.mark.parametrize("kind", ["lognormal", "ties"])
@pytest.mark.parametrize("backend", ["numba", "cuda"])
def test_single_host_arrays(benchmark, backend, kind):
    lam = make_lam(BIG_N) if kind == "lognormal" else _ties(BIG_N)
    fa.allocate(lam, BIG_N, backend=backend)
    a = benchmark.pedantic(fa.allocate, (lam, BIG_N), {"backend": backend}, rounds=10)
    np.testing.assert_array_equal(a, fa.allocate(lam, BIG_N, backend="numba"))


@pytest.mark.benchmark(group="cuda single n=1e6")
@pytest.mark.parametrize("kind", ["lognormal", "ties"])
def test_single_device_arrays(benchmark, kind):
    from numba import cuda

    lam = make_lam(BIG_N) if kind == "lognormal" else _ties(BIG_N)
    d_lam, d_out = cuda.to_device(lam), cuda.device_array(BIG_N, dtype=np.int64)

    def on_device():
        fa.allocate(d_lam, BIG_N, backend="cuda", out=d_out)
        cuda.synchronize()

    on_device()
    benchmark.pedantic(on_device, rounds=10)
    np.testing.assert_array_equal(d_out.copy_to_host(), fa.allocate(lam, BIG_N, backend="numba"))


@pytest.mark.benchmark(group="cuda batch m=65536 n=459, bounded")
@pytest.mark.parametrize("backend", ["numba", "cuda"])
def test_batch_bounded_host_arrays(benchmark, batch, backend):
    low, high = case_bound_numbers(BATCH_N, BATCH_N, batch[0])
    bounds = {"min_tasks": low, "max_tasks": high}
    out = np.empty(batch.shape, dtype=np.int64)
    fa.allocate_batch(batch[:2], BATCH_N, backend=backend, **bounds)
    benchmark.pedantic(fa.allocate_batch, (batch, BATCH_N), {"backend": backend, "out": out, **bounds}, rounds=5)
    np.testing.assert_array_equal(out[:64], fa.allocate_batch(batch[:64], BATCH_N, backend="numba", **bounds))


@pytest.mark.benchmark(group="cuda single n=1e6, bounded")
@pytest.mark.parametrize("kind", ["lognormal", "ties"])
@pytest.mark.parametrize("backend", ["numba", "cuda"])
def test_single_bounded_host_arrays(benchmark, backend, kind):
    lam = make_lam(BIG_N) if kind == "lognormal" else _ties(BIG_N)
    low, high = case_bounds(BIG_N, BIG_N, lam)
    bounds = {"min_tasks": low, "max_tasks": high}
    fa.allocate(lam, BIG_N, backend=backend, **bounds)
    a = benchmark.pedantic(fa.allocate, (lam, BIG_N), {"backend": backend, **bounds}, rounds=10)
    np.testing.assert_array_equal(a, fa.allocate(lam, BIG_N, backend="numba", **bounds))


@pytest.mark.benchmark(group="cuda single n=51")
@pytest.mark.parametrize("backend", ["numba", "cuda"])
def test_single_small(benchmark, backend):
    """A scheduler's problem: one GPU thread runs it, which costs far more than the CPU."""
    lam = make_lam(51)
    fa.allocate(lam, 23, backend=backend)
    a = benchmark.pedantic(fa.allocate, (lam, 23), {"backend": backend}, rounds=200)
    np.testing.assert_array_equal(a, fa.allocate(lam, 23, backend="python"))

"""CUDA at scale (issue 7), against the 2-core numba backend in the same run.

Run on a machine with a GPU: ``pytest benchmarks/test_bench_cuda.py
--benchmark-columns=median,iqr,rounds``. Without a real GPU (the simulator is not timed)
every benchmark here is reported as not run, with the reason.

* batched: m = 65,536 problems of n = 459 (budget 459), host arrays in and out;
* one problem of n = 10**6 workers (budget 10**6), host arrays in and out, and with the
  data already on the device (``fa.allocate(device_lam, budget, backend="cuda")``).
"""

import numpy as np
import pytest

import fastata as fa
from cases import BACKENDS
from fastata._bench import make_lam

HAS_GPU = "cuda" in BACKENDS
needs_gpu = pytest.mark.skipif(not HAS_GPU, reason="no real GPU here (the CUDA simulator is not benchmarked)")
BATCH_M, BATCH_N = 65_536, 459
BIG_N = 10**6


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    return rng.lognormal(0.0, 0.5, (BATCH_M, BATCH_N))


@needs_gpu
@pytest.mark.benchmark(group="cuda batch m=65536 n=459")
@pytest.mark.parametrize("backend", ["numba", "cuda"])
def test_batch(benchmark, batch, backend):
    out = np.empty(batch.shape, dtype=np.int64)
    fa.allocate_batch(batch[:2], BATCH_N, backend=backend)  # compile outside the timing
    benchmark.pedantic(fa.allocate_batch, (batch, BATCH_N), {"backend": backend, "out": out}, rounds=5)
    np.testing.assert_array_equal(out[:64], fa.allocate_batch(batch[:64], BATCH_N, backend="numba"))


@needs_gpu
@pytest.mark.benchmark(group="cuda single n=1e6")
@pytest.mark.parametrize("backend", ["numba", "cuda"])
def test_single_host_arrays(benchmark, backend):
    lam = make_lam(BIG_N)
    fa.allocate(lam, BIG_N, backend=backend)
    a = benchmark.pedantic(fa.allocate, (lam, BIG_N), {"backend": backend}, rounds=10)
    np.testing.assert_array_equal(a, fa.allocate(lam, BIG_N, backend="numba"))


@needs_gpu
@pytest.mark.benchmark(group="cuda single n=1e6")
def test_single_device_arrays(benchmark):
    from numba import cuda

    lam = make_lam(BIG_N)
    d_lam, d_out = cuda.to_device(lam), cuda.device_array(BIG_N, dtype=np.int64)
    fa.allocate(d_lam, BIG_N, backend="cuda", out=d_out)

    def on_device():
        fa.allocate(d_lam, BIG_N, backend="cuda", out=d_out)
        cuda.synchronize()

    benchmark.pedantic(on_device, rounds=10)
    np.testing.assert_array_equal(d_out.copy_to_host(), fa.allocate(lam, BIG_N, backend="numba"))

"""CUDA backend: the shared exact algorithm (``threshold``) as ``numba.cuda`` kernels.

One thread per problem over a grid-stride loop, so a batch of many problems fills the
GPU; a single problem is a batch of one. Host arrays are copied in and the result is
copied back only if every row was valid, so a rejected call changes nothing. Runs on a
real GPU (the ``numba-cuda`` package) or under ``NUMBA_ENABLE_CUDASIM=1``, which must be
set before numba is first imported.
"""

import numpy as np
from numba import cuda

from . import threshold
from .status import NO_AVAILABLE_WORKER, OK

THREADS_PER_BLOCK = 128


def is_available():
    """True where a CUDA GPU or the CUDA simulator can run these kernels."""
    try:
        return bool(cuda.is_available())
    except Exception:  # a broken driver install must not break the CPU backends
        return False


@cuda.jit
def _check_rows(lam2d, budgets, status):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for r in range(start, lam2d.shape[0], stride):
        status[r] = threshold.scan_exact(lam2d[r], budgets[r])[0]


@cuda.jit
def _allocate_rows(lam2d, budgets, out, ties, heap, status):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for r in range(start, lam2d.shape[0], stride):
        status[r] = threshold.allocate_into(lam2d[r], budgets[r], out[r], ties[r], heap[r])


def _blocks(m):
    return max(1, (m + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK)


def allocate_batch_into(lam2d, budgets, out, ties, heap, status):
    """Row ``r`` of ``out`` gets the allocation of ``budgets[r]`` over ``lam2d[r]``.

    ``ties`` and ``heap`` are accepted for the common kernel signature; the scratch
    used lives on the device.
    """
    m, n = lam2d.shape
    if lam2d.size == 0:  # nothing to launch; with no worker, only budget 0 is valid
        status[:] = np.where(budgets > 0, NO_AVAILABLE_WORKER, OK)
        return
    d_lam = cuda.to_device(lam2d)
    d_budgets = cuda.to_device(budgets)
    d_status = cuda.device_array(m, dtype=np.int64)
    _check_rows[_blocks(m), THREADS_PER_BLOCK](d_lam, d_budgets, d_status)
    d_status.copy_to_host(status)
    if (status != OK).any():
        return
    d_out = cuda.device_array((m, n), dtype=np.int64)
    d_ties = cuda.device_array((m, max(n, 1)), dtype=np.int64)
    d_heap = cuda.device_array((m, n + 2), dtype=np.float64)
    _allocate_rows[_blocks(m), THREADS_PER_BLOCK](d_lam, d_budgets, d_out, d_ties, d_heap, d_status)
    d_status.copy_to_host(status)
    d_out.copy_to_host(out)


def allocate_into(lam, budget, out, ties=None, heap=None):
    """Canonical allocation into ``out`` (a batch of one); returns a status code."""
    status = np.zeros(1, dtype=np.int64)
    allocate_batch_into(
        lam.reshape(1, -1), np.array([budget], dtype=np.int64), out.reshape(1, -1), None, None, status
    )
    return int(status[0])


# --- Policy statistics and bounds ------------------------------------------------------
# A policy's statistics are O(n) numbers updated with O(budget) samples a round: copying
# them to the GPU and back each round costs more than the update itself, so they stay on
# the host and run in the numba CPU kernels (the same shared code, so the same bits).
# Only the allocation, the part that grows with n and the budget, runs on the GPU.


def observe_into(workers, durations, counts, means, m2):
    """Check every sample, then add them all (Welford), on the host; returns a status code."""
    from . import numba_cpu

    return numba_cpu.observe_into(workers, durations, counts, means, m2)


def bounds_into(counts, means, available, variant, weight, log_term, s):
    """Lower confidence bounds into ``s``, on the host (numba CPU kernel)."""
    from . import numba_cpu

    numba_cpu.bounds_into(counts, means, available, variant, weight, log_term, s)


def policy_round(counts, means, m2, available, variant, weight, log_term, gamma, budget, s, out, ties, heap):
    """Bounds on the host, the allocation on the GPU, then the discount on the host."""
    from . import numba_cpu

    numba_cpu.bounds_into(counts, means, available, variant, weight, log_term, s)
    status = allocate_into(s, budget, out)
    if status == OK and gamma != 1.0:
        counts *= gamma
        m2 *= gamma
    return status

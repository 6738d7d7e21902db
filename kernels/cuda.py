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
from .status import LAM_NAN, LAM_NEGATIVE, NO_AVAILABLE_WORKER, OK

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
    """Canonical allocation into ``out``; returns a status code.

    From ``WIDE_N`` workers on, a single problem runs on the whole GPU (see
    :func:`allocate_wide`); below, as a batch of one (one GPU thread).
    """
    if lam.shape[0] >= WIDE_N:
        d_out = cuda.device_array(lam.shape[0], dtype=np.int64)
        status = allocate_wide(cuda.to_device(lam), budget, d_out)
        if status == OK:
            d_out.copy_to_host(out)
        return status
    status = np.zeros(1, dtype=np.int64)
    allocate_batch_into(
        lam.reshape(1, -1), np.array([budget], dtype=np.int64), out.reshape(1, -1), None, None, status
    )
    return int(status[0])


def allocate_device(lam, budget, out):
    """Canonical allocation with ``lam`` and ``out`` already on the device (any object with
    ``__cuda_array_interface__``): nothing is copied to or from the host. Returns a status code."""
    d_lam, d_out = _numba_view(lam), _numba_view(out)
    if d_lam.shape[0] >= WIDE_N:
        return allocate_wide(d_lam, budget, d_out)
    return _allocate_one_thread(d_lam, budget, d_out)


def _numba_view(array):
    """A numba device array for any GPU array (CuPy, PyTorch, ...), without a copy."""
    return array if hasattr(array, "__cuda_ndarray__") else cuda.as_cuda_array(array)


def to_host(array):
    """A host copy of a device array (for error messages only)."""
    return _numba_view(array).copy_to_host()


# --- One large problem on the whole GPU ------------------------------------------------
# One thread per problem leaves a GPU idle on a single problem of a million workers.
# Here every pass over the workers (the scan, each count) is a grid-stride kernel whose
# per-thread partial results meet in atomics; the bracketing loop of threshold.py runs on
# the host, one scalar copied back per count. Sums taken in another order give another
# threshold, but any threshold's prefix is canonical (threshold.py), and the few keys left
# between the bracket's ends are ordered exactly on the host, so the bits are the CPU's.
# Inputs that need the general search (zeros, ties that defeat bracketing, overflow)
# fall back to the one-thread kernel: exact, slower.

#: Workers from which ``allocate_into`` uses the whole GPU for one problem.
WIDE_N = 1 << 15
WIDE_BLOCKS = 256


@cuda.jit
def _wide_scan(lam, inv_sum, counts, first_bad):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    n = lam.shape[0]
    inv = 0.0
    finite = 0
    zeros = 0
    nan_at = n
    negative_at = n
    for i in range(start, n, stride):
        x = lam[i]
        if x != x:
            nan_at = min(nan_at, i)
        elif x < 0.0:
            negative_at = min(negative_at, i)
        elif x == 0.0:
            zeros += 1
        elif x < threshold.INF:
            finite += 1
            inv += 1.0 / x
    cuda.atomic.add(inv_sum, 0, inv)
    cuda.atomic.add(counts, 0, finite)
    cuda.atomic.add(counts, 1, zeros)
    cuda.atomic.min(first_bad, 0, nan_at)
    cuda.atomic.min(first_bad, 1, negative_at)


@cuda.jit
def _wide_count(lam, t, cap, out, total):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    local = 0
    for i in range(start, lam.shape[0], stride):
        c = threshold.count_le_fast(lam[i], t, cap)
        out[i] = c
        local += c
    cuda.atomic.add(total, 0, local)


@cuda.jit
def _wide_gather(lam, lo, hi, out, cand_p, cand_j, cand_i, n_cand):
    """``out = lo``; the keys counted in ``hi`` but not in ``lo`` as (product, j, i) candidates."""
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for i in range(start, lam.shape[0], stride):
        below = lo[i]
        upto = hi[i]
        out[i] = below
        for j in range(below + 1, upto + 1):
            k = cuda.atomic.add(n_cand, 0, 1)
            if k < cand_j.shape[0]:
                cand_p[k] = j * lam[i]
                cand_j[k] = j
                cand_i[k] = i


@cuda.jit
def _wide_take(out, workers):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, workers.shape[0], stride):
        cuda.atomic.add(out, workers[k], 1)


def _launch(kernel, *args):
    kernel[WIDE_BLOCKS, THREADS_PER_BLOCK](*args)


def _wide_total(d_lam, t, budget, d_counts):
    total = cuda.to_device(np.zeros(1, dtype=np.int64))
    _launch(_wide_count, d_lam, t, float(budget), d_counts, total)
    return int(total.copy_to_host()[0])


def allocate_wide(d_lam, budget, d_out):
    """The canonical allocation of one problem, ``d_lam`` and ``d_out`` on the device.

    Returns a status code; ``d_out`` is written only when it is ``OK``.
    """
    n = d_lam.shape[0]
    inv_sum = cuda.to_device(np.zeros(1))
    counts = cuda.to_device(np.zeros(2, dtype=np.int64))
    first_bad = cuda.to_device(np.full(2, n, dtype=np.int64))
    _launch(_wide_scan, d_lam, inv_sum, counts, first_bad)
    nan_at, negative_at = first_bad.copy_to_host()
    if min(nan_at, negative_at) < n:
        return LAM_NAN if nan_at < negative_at else LAM_NEGATIVE
    n_finite, n_zero = (int(v) for v in counts.copy_to_host())
    if budget > 0 and n_finite == 0 and n_zero == 0:
        return NO_AVAILABLE_WORKER
    inv = float(inv_sum.copy_to_host()[0])
    if budget == 0 or n_zero > 0 or not inv < threshold.INF or float(budget) * n >= 4e18:
        return _allocate_one_thread(d_lam, budget, d_out)
    t = min((budget + 0.5 * n_finite) / inv, threshold.DBL_MAX)  # threshold.relaxation
    if _bracket_on_device(d_lam, budget, t, inv, d_out):
        return OK
    return _allocate_one_thread(d_lam, budget, d_out)


def _bracket_on_device(d_lam, budget, t, slope, d_out):
    """``threshold.bracket_and_select`` with the counting passes on the device; False if it gives up."""
    n = d_lam.shape[0]
    width_max = int(2.0 * np.sqrt(n)) + 16
    lo_buf, try_buf = d_out, cuda.device_array(n, dtype=np.int64)
    try_in_out = have_lo = last_was_hi = False
    lo_t, lo_c, hi_t, hi_c = 0.0, 0, threshold.INF, budget + n + 1
    prev_t, prev_c = -1.0, 0
    for _ in range(threshold.MAX_BRACKET_STEPS):
        c = _wide_total(d_lam, t, budget, try_buf)
        if c == budget:
            if not try_in_out:
                lo_buf.copy_to_device(try_buf)
            return True
        if c < budget:
            lo_t, lo_c, have_lo, last_was_hi = t, c, True, False
            lo_buf, try_buf = try_buf, lo_buf
            try_in_out = not try_in_out
        else:
            hi_t, hi_c, last_was_hi = t, c, True
        if have_lo and hi_c - lo_c <= width_max:
            break
        nxt = threshold.next_guess(budget, t, c, slope, prev_t, prev_c, have_lo, lo_t, lo_c, hi_t, hi_c)
        prev_t, prev_c, t = t, c, nxt
        if not (lo_t < t < hi_t and t < threshold.DBL_MAX):
            return False
    else:
        return False
    if not last_was_hi:
        _wide_total(d_lam, hi_t, budget, try_buf)  # overwritten since: count again
    width = hi_c - lo_c
    cand_p = cuda.device_array(width, dtype=np.float64)
    cand_j = cuda.device_array(width, dtype=np.int64)
    cand_i = cuda.device_array(width, dtype=np.int64)
    n_cand = cuda.to_device(np.zeros(1, dtype=np.int64))
    _launch(_wide_gather, d_lam, lo_buf, try_buf, d_out, cand_p, cand_j, cand_i, n_cand)
    p, j, i = cand_p.copy_to_host(), cand_j.copy_to_host(), cand_i.copy_to_host()
    # The canonical order (product, j, i) of the few keys left, on the host: exact.
    order = np.lexsort((i, j, p))
    taken = np.ascontiguousarray(i[order[: budget - lo_c]])
    if taken.size:
        _launch(_wide_take, d_out, cuda.to_device(taken))
    return True


def _allocate_one_thread(d_lam, budget, d_out):
    """The general search on one GPU thread (zeros, ties, overflow): exact, not parallel."""
    d_status = cuda.to_device(np.zeros(1, dtype=np.int64))
    d_ties = cuda.device_array((1, max(d_lam.shape[0], 1)), dtype=np.int64)
    d_heap = cuda.device_array((1, d_lam.shape[0] + 2), dtype=np.float64)
    _allocate_rows[1, 1](
        d_lam.reshape(1, -1), cuda.to_device(np.array([budget], dtype=np.int64)),
        d_out.reshape(1, -1), d_ties, d_heap, d_status,
    )  # fmt: skip
    return int(d_status.copy_to_host()[0])


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

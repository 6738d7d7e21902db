"""CUDA backend: the exact allocation on the GPU, for large batches and very large ``n``.

Two layouts, both bit-identical to the CPU backends:

* **A batch of problems** (and a single problem below ``WIDE_N`` workers): one GPU thread
  per problem running the shared exact algorithm (``threshold``), over a grid-stride loop,
  so that many problems fill the GPU.
* **One large problem** (``WIDE_N`` workers or more): the whole GPU works on it. Every
  O(n) pass of the algorithm is a kernel over all workers whose per-block partial results
  (block reductions in shared memory, no atomics on one address) are combined on the
  host; the host steers the search, one small read-back per pass (see "One large problem"
  below for why the result is still the canonical one).

Host arrays are copied in and the result is copied back only if the call succeeded, so a
rejected call changes nothing. Device arrays (numba, CuPy, PyTorch: anything with
``__cuda_array_interface__``) stay on the device: only scalars and the few keys at the
boundary of the answer come back. Device scratch is kept per thread between calls (grown
on demand, see :func:`release_scratch`). Runs on a real GPU (the ``numba-cuda`` package)
or under ``NUMBA_ENABLE_CUDASIM=1``, which must be set before numba is first imported.
"""

import threading

import numpy as np
from numba import cuda, float64, int64
from numba.cuda import libdevice

try:
    from numba.cuda.extending import overload  # numba-cuda
except ImportError:  # numba's own numba.cuda
    from numba.core.extending import overload

from . import threshold
from .status import (BOUNDS_CROSSED, LAM_NAN, LAM_NEGATIVE, MIN_NEGATIVE, MIN_ON_UNAVAILABLE, NO_AVAILABLE_WORKER,
                     OK)

#: Threads per block of the one-thread-per-problem kernels.
THREADS_PER_BLOCK = 128
#: Workers from which a single problem runs on the whole GPU.
WIDE_N = 1 << 15
#: Threads per block of the whole-GPU kernels: a power of two, at most ``_MAX_THREADS``.
WIDE_THREADS = 256
#: Most blocks of a whole-GPU pass (fewer for smaller ``n``: about 4 workers a thread).
WIDE_BLOCKS = 1024
#: The size of the shared arrays the whole-GPU kernels reduce in (fixed when compiled).
_MAX_THREADS = 256
#: Where a thread's count of tied keys saturates: no budget is larger.
_TIE_CAP = 2**53
#: Above this many keys (``budget * n``) per-block counts could overflow int64: one thread then.
_MAX_KEYS = 4e18
#: What :meth:`_Wide.run` returns for a bounded problem it leaves to one GPU thread.
_ONE_THREAD = -1
_JIT = dict(cache=True)

INF = threshold.INF
DBL_MAX = threshold.DBL_MAX


# threshold's rounding helpers in CUDA kernels: libdevice's functions (numba-cuda has no
# np.trunc, np.floor, np.rint or np.nextafter); the same results, each exact.


@overload(threshold.trunc, target="cuda")
def _trunc_cuda(x):
    return lambda x: libdevice.trunc(x)


@overload(threshold.floor, target="cuda")
def _floor_cuda(x):
    return lambda x: libdevice.floor(x)


@overload(threshold.rint, target="cuda")
def _rint_cuda(x):
    return lambda x: libdevice.rint(x)


@overload(threshold.nextafter, target="cuda")
def _nextafter_cuda(x, y):
    return lambda x, y: libdevice.nextafter(x, y)


# A CUDA thread cannot allocate the copy that threshold.allocate_guided scales times far
# below 1 into: it takes them as they are (exact, only slower).


# numba-cuda types the branches that numba prunes by type: the selection's code over bound
# arrays does not type for the bounds as numbers that a call without bounds passes it, so on
# the GPU such a call goes the general way (the same allocation).


@overload(threshold.allocate_single_keys, target="cuda")
def _allocate_single_keys_cuda(lam, budget, out, ties, heap):
    return lambda lam, budget, out, ties, heap: False


# Nor does the table of a few distinct times (its scratch is the CPU's): the general way again.
@overload(threshold.allocate_few_times, target="cuda")
def _allocate_few_times_cuda(lam, budget, lo, hi, out, ties, heap):
    return lambda lam, budget, lo, hi, out, ties, heap: False


@overload(threshold.rescale_shift, target="cuda")
def _rescale_shift_cuda(lam, budget, hi):
    return lambda lam, budget, hi: 0


@overload(threshold.rescaled_copy, target="cuda")
def _rescaled_copy_cuda(lam, k):
    return lambda lam, k: lam  # never called: no shift


def is_available():
    """True where a CUDA GPU or the CUDA simulator can run these kernels."""
    try:
        return bool(cuda.is_available())
    except Exception:  # a broken driver install must not break the CPU backends
        return False


# --- Device scratch, kept per thread -----------------------------------------------------

_cache = threading.local()


def _buffer(key, size, dtype):
    """A device array of at least ``size`` elements, kept for this thread; its first ``size``."""
    buffers = _cache.__dict__.setdefault("buffers", {})
    found = buffers.get(key)
    if found is None or found.shape[0] < size:
        found = cuda.device_array(max(size, 1), dtype=dtype)
        buffers[key] = found
    return found[:size]


def _matrix(key, rows, cols, dtype):
    """A C-contiguous ``(rows, cols)`` device array on a kept buffer."""
    return _buffer(key, rows * cols, dtype).reshape(rows, cols)


def _kept_copy(key, array):
    """The host ``array`` (C-contiguous) copied into this thread's kept buffer ``key``."""
    found = _buffer(key, array.size, array.dtype).reshape(array.shape)
    found.copy_to_device(array)
    return found


def release_scratch():
    """Free this thread's kept device scratch (it is grown to the largest problem seen)."""
    _cache.__dict__.pop("buffers", None)


def _numba_view(array):
    """A numba device array for any GPU array (CuPy, PyTorch, ...), without a copy."""
    return array if hasattr(array, "__cuda_ndarray__") else cuda.as_cuda_array(array)


def to_host(array):
    """A host copy of a device array (for error messages only)."""
    return _numba_view(array).copy_to_host()


# --- A batch: one thread per problem ---------------------------------------------------


@cuda.jit(**_JIT)
def _check_rows(lam2d, budgets, status, first_bad):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for r in range(start, lam2d.shape[0], stride):
        code = threshold.scan_exact(lam2d[r], budgets[r])[0]
        status[r] = code
        if code != OK:
            cuda.atomic.min(first_bad, 0, r)


@cuda.jit(**_JIT)
def _allocate_rows(lam2d, budgets, out, ties, heap, status):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for r in range(start, lam2d.shape[0], stride):
        status[r] = threshold.allocate_into(lam2d[r], budgets[r], out[r], ties[r], heap[r])


@cuda.jit(**_JIT)
def _check_rows_bounded(lam2d, budgets, lo2d, hi2d, status, first_bad):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for r in range(start, lam2d.shape[0], stride):
        code = threshold.scan_exact(lam2d[r], budgets[r])[0]
        if code == OK:
            code = threshold.scan_bounds_exact(lam2d[r], budgets[r], lo2d[r % lo2d.shape[0]], hi2d[r % hi2d.shape[0]])[0]
        status[r] = code
        if code != OK:
            cuda.atomic.min(first_bad, 0, r)


@cuda.jit(**_JIT)
def _allocate_rows_bounded(lam2d, budgets, lo2d, hi2d, out, ties, heap, status):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for r in range(start, lam2d.shape[0], stride):
        status[r] = threshold.allocate_bounded_into(lam2d[r], budgets[r], lo2d[r % lo2d.shape[0]],
                                                    hi2d[r % hi2d.shape[0]], out[r], ties[r], heap[r])


def allocate_batch_bounded_into(lam2d, budgets, lo2d, hi2d, out, ties, heap, status):
    """:func:`allocate_batch_into` with per-row bounds (host arrays: a row per problem, or one
    row for all)."""
    _allocate_batch(lam2d, budgets, (lo2d, hi2d), out, status)


def allocate_bounded_into(lam, budget, min_tasks, max_tasks, out, ties=None, heap=None):
    """:func:`allocate_into` with per-worker bounds: on the whole GPU from ``WIDE_N`` workers
    (:class:`_Wide`), else as a batch of one (one GPU thread)."""
    n = lam.shape[0]
    if n >= WIDE_N:
        d_lam, d_lo, d_hi = (_kept_copy(key, a) for key, a in (("lam", lam), ("min_tasks", min_tasks),
                                                                ("max_tasks", max_tasks)))
        d_out = _buffer("out", n, np.int64)
        status = _Wide(d_lam, budget, d_out, d_lo, d_hi).run()
        if status != _ONE_THREAD:
            if status == OK:
                d_out.copy_to_host(out)
            return status
    status = np.zeros(1, dtype=np.int64)
    allocate_batch_bounded_into(lam.reshape(1, -1), np.array([budget], dtype=np.int64), min_tasks.reshape(1, -1),
                                max_tasks.reshape(1, -1), out.reshape(1, -1), None, None, status)
    return int(status[0])


def allocate_bounded_warm_into(lam, budget, min_tasks, max_tasks, out, ties, heap, warm):
    """:func:`allocate_bounded_into` (the GPU kernels start cold: ``warm`` is left as it is)."""
    return allocate_bounded_into(lam, budget, min_tasks, max_tasks, out, ties, heap)


def _blocks(m):
    return max(1, (m + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK)


def _check_batch(d_lam, d_budgets, d_bounds=None):
    """``(first bad row, its status)`` of a batch on the device, or ``(-1, OK)``; ``d_bounds``:
    the device ``(lo2d, hi2d)``, or None."""
    m = d_lam.shape[0]
    d_status = _buffer("status", m, np.int64)
    first_bad = _kept_copy("first_bad", np.array([m], dtype=np.int64))
    if d_bounds is None:
        _check_rows[_blocks(m), THREADS_PER_BLOCK](d_lam, d_budgets, d_status, first_bad)
    else:
        _check_rows_bounded[_blocks(m), THREADS_PER_BLOCK](d_lam, d_budgets, *d_bounds, d_status, first_bad)
    row = int(first_bad.copy_to_host()[0])
    if row == m:
        return -1, OK
    return row, int(d_status[row : row + 1].copy_to_host()[0])


def _run_rows(d_lam, d_budgets, d_out, d_bounds=None):
    m, n = d_lam.shape
    d_ties = _matrix("ties2d", m, max(n, 1), np.int64)
    d_heap = _matrix("heap2d", m, n + 2, np.float64)
    d_status = _buffer("status", m, np.int64)
    if d_bounds is None:
        _allocate_rows[_blocks(m), THREADS_PER_BLOCK](d_lam, d_budgets, d_out, d_ties, d_heap, d_status)
    else:
        _allocate_rows_bounded[_blocks(m), THREADS_PER_BLOCK](d_lam, d_budgets, *d_bounds, d_out, d_ties, d_heap,
                                                              d_status)


def allocate_batch_into(lam2d, budgets, out, ties, heap, status):
    """Row ``r`` of ``out`` gets the allocation of ``budgets[r]`` over ``lam2d[r]`` (host arrays).

    ``ties`` and ``heap`` are accepted for the common kernel signature; the scratch used
    lives on the device. Every row is checked first: on a bad row ``status`` says which
    and ``out`` is untouched.
    """
    _allocate_batch(lam2d, budgets, None, out, status)


def _allocate_batch(lam2d, budgets, bounds, out, status):
    """A batch of host arrays on the kept device scratch, ``bounds`` ``(lo2d, hi2d)`` or None."""
    m, n = lam2d.shape
    if lam2d.size == 0:  # nothing to launch; with no worker, only budget 0 is valid
        status[:] = np.where(budgets > 0, NO_AVAILABLE_WORKER, OK)
        return
    d_lam = _kept_copy("lam2d", lam2d)
    d_budgets = _kept_copy("budgets", budgets)
    d_bounds = None if bounds is None else (_kept_copy("lo2d", bounds[0]), _kept_copy("hi2d", bounds[1]))
    row, code = _check_batch(d_lam, d_budgets, d_bounds)
    status[:] = OK
    if row >= 0:
        status[row] = code
        return
    d_out = _matrix("out2d", m, n, np.int64)
    _run_rows(d_lam, d_budgets, d_out, d_bounds)
    d_out.copy_to_host(out)


def allocate_batch_device(lam2d, budgets, out):
    """A batch already on the device: ``lam2d`` (m, n) float64 with ``m, n >= 1``, ``budgets``
    (m,) int64 in ``[0, 2**53]`` and ``out`` (m, n) int64, any GPU arrays. Nothing but two
    scalars comes back to the host.

    Returns ``(row, status)``: the first bad row and its status code, or ``(-1, OK)``, in
    which case ``out`` holds the allocations (it is not written otherwise).
    """
    d_lam, d_budgets, d_out = _numba_view(lam2d), _numba_view(budgets), _numba_view(out)
    row, code = _check_batch(d_lam, d_budgets)
    if row < 0:
        _run_rows(d_lam, d_budgets, d_out)
    return row, code


# --- A single problem ------------------------------------------------------------------


def allocate_into(lam, budget, out, ties=None, heap=None):
    """Canonical allocation of host arrays into ``out``; returns a status code.

    From ``WIDE_N`` workers on, the problem runs on the whole GPU (:func:`allocate_wide`);
    below, as a batch of one (one GPU thread).
    """
    n = lam.shape[0]
    if n >= WIDE_N:
        d_lam = _kept_copy("lam", lam)
        d_out = _buffer("out", n, np.int64)
        status = allocate_wide(d_lam, budget, d_out)
        if status == OK:
            d_out.copy_to_host(out)
        return status
    status = np.zeros(1, dtype=np.int64)
    allocate_batch_into(lam.reshape(1, -1), np.array([budget], dtype=np.int64), out.reshape(1, -1), None, None, status)
    return int(status[0])


def allocate_warm_into(lam, budget, out, ties, heap, warm):
    """:func:`allocate_into`; the GPU kernels start cold, so ``warm`` is left as it is (the
    interface of the CPU backends' warm start, whose result is the same)."""
    return allocate_into(lam, budget, out, ties, heap)


def allocate_device(lam, budget, out):
    """Canonical allocation with ``lam`` and ``out`` already on the device (any object with
    ``__cuda_array_interface__``): nothing is copied to or from the host but scalars.
    Returns a status code; ``out`` is written only when it is ``OK``."""
    d_lam, d_out = _numba_view(lam), _numba_view(out)
    n = d_lam.shape[0]
    if n == 0:
        return NO_AVAILABLE_WORKER if budget > 0 else OK
    if n >= WIDE_N:
        return allocate_wide(d_lam, budget, d_out)
    return _allocate_one_thread(d_lam, budget, d_out)


def _allocate_one_thread(d_lam, budget, d_out):
    """One problem on one GPU thread: small problems, and sums too large for the wide path."""
    d_budgets = _kept_copy("budget", np.array([budget], dtype=np.int64))
    n = d_lam.shape[0]
    d_lam2d, d_out2d = d_lam.reshape(1, n), d_out.reshape(1, n)
    row, code = _check_batch(d_lam2d, d_budgets)
    if row < 0:
        _run_rows(d_lam2d, d_budgets, d_out2d)
    return code


# --- One large problem on the whole GPU ------------------------------------------------
# One thread per problem leaves a GPU idle on a single problem of a million workers.
# Here each pass over the workers is a kernel: every block owns a contiguous chunk of
# workers (its threads stride through it, so reads coalesce), reduces its part in shared
# memory and writes one partial result; the host adds the partials and decides the next
# pass. Why the answer is the canonical one (DESIGN.md section 2, threshold.py): for any
# float t the keys with product <= t are a prefix of the canonical order, and
# ``count_le_fast`` counts each worker's share of it exactly; integer counts add up the
# same in any order. Only the guesses of t depend on the float sum of 1/lam, whose order
# differs from the CPU's; the answer does not. The passes:
#
# 1. scan: validation, zeros, sum(1/lam). Zeros (or budget 0): round-robin over the zero
#    workers, by a rank pass (below).
# 2. bracketing, as threshold.allocate_positive's secant steps: counts at guessed
#    thresholds until two counts straddle the budget with few keys between; those keys
#    are gathered, ordered exactly on the host by (product, j, i), and the first taken.
# 3. otherwise (ties: counts jump by many keys; or 1/lam overflowed), the exact search:
#    bisection on the bits of t between "the smallest product above lo" and "the largest
#    product at or below hi" (each count pass also reduces those two), which ends on t*,
#    the product of the budget-th key; then threshold.take_ties in parallel: every key
#    below t*, and the keys at t* in (j, i) order, by bisection on the level j and a rank
#    pass for the keys at the last level, lowest index first.
#
# The rank pass: a block counts its flagged workers, the host turns the counts into
# offsets, and each block ranks its own in index order by prefix sums over tiles.
#
# Per-worker bounds (min_tasks, max_tasks): a parallel check first (the first bad worker
# decides, as threshold.scan_bounds_exact), then the same passes with each worker's keys
# limited to j = min_i + 1 .. max_i (a lam = 0 worker counts its maximum at any threshold).
# Two cases need no search: every task at the minimums (a copy), and lam = 0 workers with
# room for every task left (t* = 0: their keys taken by (j, i), as the ties above).


def _wide_grid(n):
    """Blocks for a pass over ``n`` workers: about 4 workers a thread, at most ``WIDE_BLOCKS``."""
    per_block = 4 * WIDE_THREADS
    return max(1, min(WIDE_BLOCKS, (n + per_block - 1) // per_block))


@cuda.jit(device=True)
def _chunk(n):
    """The workers ``[start, stop)`` of this block."""
    size = (n + cuda.gridDim.x - 1) // cuda.gridDim.x
    start = cuda.blockIdx.x * size
    return start, min(start + size, n)


@cuda.jit(device=True)
def _reduce(buf, value, op):
    """Sum (``op`` 0), minimum (1) or maximum (2) of one value per thread; every thread gets it."""
    tid = cuda.threadIdx.x
    buf[tid] = value
    cuda.syncthreads()
    half = cuda.blockDim.x // 2
    while half > 0:
        if tid < half:
            a = buf[tid]
            b = buf[tid + half]
            if op == 0:
                buf[tid] = a + b
            elif op == 1:
                buf[tid] = min(a, b)
            else:
                buf[tid] = max(a, b)
        cuda.syncthreads()
        half //= 2
    result = buf[0]
    cuda.syncthreads()  # buf is reused by the next reduction
    return result


@cuda.jit(device=True)
def _inclusive_scan(buf, value):
    """``(prefix sum up to this thread, block total)`` of one integer per thread."""
    tid = cuda.threadIdx.x
    buf[tid] = value
    cuda.syncthreads()
    offset = 1
    while offset < cuda.blockDim.x:
        before = buf[tid - offset] if tid >= offset else 0
        cuda.syncthreads()
        buf[tid] += before
        cuda.syncthreads()
        offset *= 2
    result = buf[tid]
    total = buf[cuda.blockDim.x - 1]
    cuda.syncthreads()
    return result, total


@cuda.jit(**_JIT)
def _wide_scan(lam, ints, floats):
    """Per block: finite workers, zero workers, first NaN and first negative index, sum(1/lam)."""
    ibuf = cuda.shared.array(_MAX_THREADS, int64)
    fbuf = cuda.shared.array(_MAX_THREADS, float64)
    n = lam.shape[0]
    start, stop = _chunk(n)
    finite = 0
    zeros = 0
    nan_at = n
    negative_at = n
    inv = 0.0
    for i in range(start + cuda.threadIdx.x, stop, cuda.blockDim.x):
        x = lam[i]
        if x != x:
            nan_at = min(nan_at, i)
        elif x < 0.0:
            negative_at = min(negative_at, i)
        elif x == 0.0:
            zeros += 1
        elif x < INF:
            finite += 1
            inv += 1.0 / x
    finite = _reduce(ibuf, finite, 0)
    zeros = _reduce(ibuf, zeros, 0)
    nan_at = _reduce(ibuf, nan_at, 1)
    negative_at = _reduce(ibuf, negative_at, 1)
    inv = _reduce(fbuf, inv, 0)
    if cuda.threadIdx.x == 0:
        b = cuda.blockIdx.x
        ints[b, 0] = finite
        ints[b, 1] = zeros
        ints[b, 2] = nan_at
        ints[b, 3] = negative_at
        floats[b, 0] = inv


@cuda.jit(device=True)
def _bounds_of(lo, hi, bounded, budget, i):
    """Worker i's keys are ``j = floor + 1 .. cap``: ``(floor, cap)``, ``(0, budget)`` unbounded."""
    if bounded:
        return lo[i], min(hi[i], budget)
    return 0, budget


@cuda.jit(**_JIT)
def _wide_scan_bounds(lam, lo, hi, budget, ints):
    """threshold.scan_bounds_exact in parallel. Per block: the first worker with a bad bound
    and its status, as ``16 * i + status`` so that the least is the first (``16 * n``: none);
    the minimums' sum, the maximums' sum and the room on ``lam = 0`` workers over the
    available workers, each saturated at ``budget + 1`` as there."""
    ibuf = cuda.shared.array(_MAX_THREADS, int64)
    n = lam.shape[0]
    start, stop = _chunk(n)
    limit = budget + 1
    first_bad = 16 * n
    taken = 0
    capacity = 0
    room = 0
    for i in range(start + cuda.threadIdx.x, stop, cuda.blockDim.x):
        x = lam[i]
        low = lo[i]
        code = 0
        if low < 0:
            code = MIN_NEGATIVE
        elif low > hi[i]:
            code = BOUNDS_CROSSED
        elif x == INF and low > 0:
            code = MIN_ON_UNAVAILABLE
        if code != 0:
            first_bad = min(first_bad, 16 * i + code)
        elif x < INF:
            high = min(hi[i], limit)
            taken = min(taken + min(low, limit), limit)
            capacity = min(capacity + high, limit)
            if x == 0.0:
                room = min(room + high - low, limit)
    first_bad = _reduce(ibuf, first_bad, 1)
    taken = _reduce(ibuf, taken, 0)  # at most WIDE_THREADS * (2**53 + 2): no overflow
    capacity = _reduce(ibuf, capacity, 0)
    room = _reduce(ibuf, room, 0)
    if cuda.threadIdx.x == 0:
        b = cuda.blockIdx.x
        ints[b, 0] = first_bad
        ints[b, 1] = min(taken, limit)
        ints[b, 2] = min(capacity, limit)
        ints[b, 3] = min(room, limit)


@cuda.jit(**_JIT)
def _wide_count(lam, t, budget, lo, hi, bounded, out, ints, floats):
    """``out[i]`` = worker i's keys with product ``<= t``; per block: their sum, the smallest
    product above ``t`` and the largest at or below it (over the keys a worker owns:
    ``j <= budget``, and with bounds ``min_i < j <= max_i``)."""
    ibuf = cuda.shared.array(_MAX_THREADS, int64)
    fbuf = cuda.shared.array(_MAX_THREADS, float64)
    start, stop = _chunk(lam.shape[0])
    total = 0
    above = INF
    below = -1.0
    for i in range(start + cuda.threadIdx.x, stop, cuda.blockDim.x):
        x = lam[i]
        floor_i, cap_i = _bounds_of(lo, hi, bounded, budget, i)
        # lam = 0 (only with bounds here): every key has product 0, its maximum is counted
        c = cap_i if x == 0.0 else max(threshold.count_le_fast(x, t, float(cap_i)), floor_i)
        out[i] = c
        total += c
        if c < cap_i:
            above = min(above, (c + 1) * x)
        if c > floor_i:
            below = max(below, c * x)
    total = _reduce(ibuf, total, 0)
    above = _reduce(fbuf, above, 1)
    below = _reduce(fbuf, below, 2)
    if cuda.threadIdx.x == 0:
        b = cuda.blockIdx.x
        ints[b, 0] = total
        floats[b, 0] = above
        floats[b, 1] = below


@cuda.jit(**_JIT)
def _wide_gather(lam, lo, hi, out, cand_p, cand_j, cand_i, n_cand):
    """``out = lo``; the keys counted in ``hi`` but not in ``lo`` as (product, j, i) candidates."""
    start, stop = _chunk(lam.shape[0])
    for i in range(start + cuda.threadIdx.x, stop, cuda.blockDim.x):
        below = lo[i]
        upto = hi[i]
        out[i] = below
        for j in range(below + 1, upto + 1):  # rare: the workers at the boundary
            k = cuda.atomic.add(n_cand, 0, 1)
            if k < cand_j.shape[0]:
                cand_p[k] = j * lam[i]
                cand_j[k] = j
                cand_i[k] = i


@cuda.jit(**_JIT)
def _wide_take(out, workers):
    start, stride = cuda.grid(1), cuda.gridsize(1)
    for k in range(start, workers.shape[0], stride):
        cuda.atomic.add(out, workers[k], 1)


@cuda.jit(**_JIT)
def _wide_split(lam, budget, tstar, lo, hi, bounded, out, ties, ints):
    """``out[i]`` = worker i's keys below ``t*``, ``ties[i]`` = its keys at ``t*`` (``t* = inf``:
    the keys whose product overflows); per block: the sum of ``out``, and the lowest and
    highest ``j`` of the keys at ``t*`` (threshold.take_ties, first loop). With bounds a
    worker keeps its minimum, and one with ``lam = 0`` its maximum where ``t* > 0``; at
    ``t* = 0`` (``lam = 0`` workers with room for every task left) their keys above the
    minimum are the keys at ``t*``, taken by ``(j, i)`` as threshold.fill_zeros_bounded."""
    ibuf = cuda.shared.array(_MAX_THREADS, int64)
    start, stop = _chunk(lam.shape[0])
    taken = 0
    j_lo = budget + 1
    j_hi = 0
    for i in range(start + cuda.threadIdx.x, stop, cuda.blockDim.x):
        x = lam[i]
        floor_i, cap_i = _bounds_of(lo, hi, bounded, budget, i)
        below = floor_i
        upto = floor_i
        if x == 0.0 and bounded:
            below = cap_i if tstar > 0.0 else floor_i  # at t* = 0 its keys left are all at t*
            upto = cap_i
        elif 0.0 < x < INF and tstar > 0.0:
            guess = threshold.count_le_fast(x, min(tstar, DBL_MAX), float(cap_i))
            below, upto = threshold.split_at(x, tstar, cap_i, guess, floor_i)
        out[i] = below
        ties[i] = upto - below
        taken += below
        if upto > below:
            j_lo = min(j_lo, below + 1)
            j_hi = max(j_hi, upto)
    taken = _reduce(ibuf, taken, 0)
    j_lo = _reduce(ibuf, j_lo, 1)
    j_hi = _reduce(ibuf, j_hi, 2)
    if cuda.threadIdx.x == 0:
        b = cuda.blockIdx.x
        ints[b, 0] = taken
        ints[b, 1] = j_lo
        ints[b, 2] = j_hi


@cuda.jit(**_JIT)
def _wide_tie_count(out, ties, level, ints):
    """Per block: keys at ``t*`` with ``j <= level`` (worker i's are ``j`` in
    ``(out[i], out[i] + ties[i]]``, as in threshold.take_tied), each thread's
    saturated at ``2**53`` (no budget is larger), so that a block's sum fits in int64."""
    ibuf = cuda.shared.array(_MAX_THREADS, int64)
    start, stop = _chunk(out.shape[0])
    total = 0
    for i in range(start + cuda.threadIdx.x, stop, cuda.blockDim.x):
        if ties[i] > 0:
            total = min(total + min(max(level - out[i], 0), ties[i]), _TIE_CAP)
    total = _reduce(ibuf, total, 0)
    if cuda.threadIdx.x == 0:
        ints[cuda.blockIdx.x, 0] = total


@cuda.jit(**_JIT)
def _wide_tied_span(out, ties, j_lo, j_hi, ints):
    """Per block: threshold.tied_span over its chunk (the workers with keys at ``t*`` in
    ``[j_lo, j_hi]``, the sum of their first levels less ``j_lo``, the last first level and the
    first last level); the caller keeps ``n (j_hi - j_lo)`` within int64."""
    ibuf = cuda.shared.array(_MAX_THREADS, int64)
    start, stop = _chunk(out.shape[0])
    m = 0
    starts = 0
    last_start = j_lo
    first_end = j_hi
    for i in range(start + cuda.threadIdx.x, stop, cuda.blockDim.x):
        c = ties[i]
        first = max(out[i] + 1, j_lo)
        last = min(out[i] + c, j_hi)
        if c > 0 and first <= last:
            m += 1
            starts += first - j_lo
            last_start = max(last_start, first)
            first_end = min(first_end, last)
    m = _reduce(ibuf, m, 0)
    starts = _reduce(ibuf, starts, 0)
    last_start = _reduce(ibuf, last_start, 2)
    first_end = _reduce(ibuf, first_end, 1)
    if cuda.threadIdx.x == 0:
        b = cuda.blockIdx.x
        ints[b, 0] = m
        ints[b, 1] = starts
        ints[b, 2] = last_start
        ints[b, 3] = first_end


#: Rank-pass modes: which workers are ranked, and what the fill writes.
_ZEROS = 0  # lam = 0 workers: out = share (+1 for the first ``first``), 0 elsewhere
_LEVEL = 1  # workers with a key at t* at level j: out += keys at t* below the level (+1 ...)


@cuda.jit(device=True)
def _flagged(mode, lam, out, ties, level, i):
    if mode == _ZEROS:
        return lam[i] == 0.0
    return out[i] < level <= out[i] + ties[i]


@cuda.jit(**_JIT)
def _wide_flag_count(mode, lam, out, ties, level, ints):
    """Per block: the number of flagged workers in its chunk."""
    ibuf = cuda.shared.array(_MAX_THREADS, int64)
    start, stop = _chunk(lam.shape[0])
    total = 0
    for i in range(start + cuda.threadIdx.x, stop, cuda.blockDim.x):
        if _flagged(mode, lam, out, ties, level, i):
            total += 1
    total = _reduce(ibuf, total, 0)
    if cuda.threadIdx.x == 0:
        ints[cuda.blockIdx.x, 0] = total


@cuda.jit(**_JIT)
def _wide_fill(mode, lam, out, ties, level, share, offsets, first):
    """Write the allocation; the flagged workers of rank ``< first`` in index order get one
    more task (``offsets[b]``: flagged workers before block ``b``)."""
    ibuf = cuda.shared.array(_MAX_THREADS, int64)
    start, stop = _chunk(lam.shape[0])
    rank0 = offsets[cuda.blockIdx.x]
    tile = start
    while tile < stop:  # the same trip count on every thread: the scan synchronises
        i = tile + cuda.threadIdx.x
        flag = 1 if i < stop and _flagged(mode, lam, out, ties, level, i) else 0
        upto, total = _inclusive_scan(ibuf, flag)
        if i < stop:
            extra = 1 if flag == 1 and rank0 + upto - 1 < first else 0
            if mode == _ZEROS:
                out[i] = share + extra if flag == 1 else 0
            else:
                below = out[i]
                out[i] = below + min(max(level - 1 - below, 0), ties[i]) + extra
        rank0 += total
        tile += cuda.blockDim.x


class _Wide:
    """The host side of one whole-GPU allocation: launches, partial results, scratch."""

    def __init__(self, d_lam, budget, d_out, d_lo=None, d_hi=None):
        n = d_lam.shape[0]
        self.lam, self.budget, self.out, self.n = d_lam, budget, d_out, n
        # Per-worker bounds (int64 on the device), or none: the kernels then read no bounds
        # (``out`` stands in for the arrays they are not given).
        self.bounded = d_lo is not None
        self.lo, self.hi = (d_lo, d_hi) if self.bounded else (d_out, d_out)
        self.blocks = _wide_grid(n)
        self.launch = (self.blocks, WIDE_THREADS)
        self.ints = _matrix("wide_ints", self.blocks, 4, np.int64)
        self.floats = _matrix("wide_floats", self.blocks, 2, np.float64)
        self.spare = _buffer("wide_spare", n, np.int64)  # counts at a second threshold
        self.ties = _buffer("wide_ties", n, np.int64)

    def partials(self):
        return self.ints.copy_to_host(), self.floats.copy_to_host()

    def count(self, t, into):
        """``(keys with product <= t, smallest product above t, largest at or below)``; counts into ``into``."""
        _wide_count[self.launch](self.lam, t, self.budget, self.lo, self.hi, self.bounded, into, self.ints,
                                 self.floats)
        ints, floats = self.partials()
        return int(ints[:, 0].sum()), float(floats[:, 0].min()), float(floats[:, 1].max())

    def tie_count(self, level):
        _wide_tie_count[self.launch](self.out, self.ties, level, self.ints)
        blocks = self.ints.copy_to_host()[:, 0]
        # A block's sum is below 2**62, their total need not be: saturated at 2**62 (the float
        # sum only tells whether it would overflow; the int64 one is exact below that).
        if blocks.sum(dtype=np.float64) >= float(threshold.ESTIMATE_CAP):
            return threshold.ESTIMATE_CAP
        return int(blocks.sum())

    def fill(self, mode, level, share, first):
        """The rank pass (see above): one count kernel, offsets on the host, one fill kernel."""
        _wide_flag_count[self.launch](mode, self.lam, self.out, self.ties, level, self.ints)
        counts = self.ints.copy_to_host()[:, 0]
        offsets = _buffer("wide_offsets", self.blocks, np.int64)
        offsets.copy_to_device(np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64))
        _wide_fill[self.launch](mode, self.lam, self.out, self.ties, level, share, offsets, first)

    def run(self):
        """The allocation; returns a status code (``out`` is written only when ``OK``)."""
        budget, n = self.budget, self.n
        _wide_scan[self.launch](self.lam, self.ints, self.floats)
        ints, floats = self.partials()
        nan_at, negative_at = int(ints[:, 2].min()), int(ints[:, 3].min())
        if min(nan_at, negative_at) < n:  # the first bad entry decides, as scan_exact
            return LAM_NAN if nan_at < negative_at else LAM_NEGATIVE
        n_finite, n_zero = int(ints[:, 0].sum()), int(ints[:, 1].sum())
        if budget > 0 and n_finite == 0 and n_zero == 0:
            return NO_AVAILABLE_WORKER
        if self.bounded:
            status, remaining, zero_room = self.check_bounds()
            if status != OK:
                return status
            if remaining == 0:  # every task at the minimums
                self.out.copy_to_device(self.lo)
                return OK
            if float(budget) * n >= _MAX_KEYS:  # sums that could overflow: one GPU thread
                return _ONE_THREAD
            if n_zero > 0 and zero_room >= remaining:  # lam = 0 workers take the rest: t* = 0
                self.take_ties(0.0)
                return OK
        elif budget == 0 or n_zero > 0:
            share, extra = divmod(budget, n_zero) if n_zero else (0, 0)
            self.fill(_ZEROS, 0, share, extra)
            return OK
        elif float(budget) * n >= _MAX_KEYS:
            return _allocate_one_thread(self.lam, budget, self.out)
        inv = float(floats[:, 0].sum())
        lo = (0.0, None)  # (threshold with fewer than budget keys, smallest product above it)
        hi = INF  # a product with at least budget keys at or below it
        if inv < INF:
            t = min((budget + 0.5 * n_finite) / inv, DBL_MAX)  # threshold.relaxation
            done, lo, hi = self.bracket(t, inv)
            if done:
                return OK
        self.exact_search(*lo, hi)
        return OK

    def check_bounds(self):
        """threshold.scan_bounds on the GPU: ``(status, tasks left after the minimums, room
        on lam = 0 workers)``; the first bad worker decides, as on the CPU."""
        _wide_scan_bounds[self.launch](self.lam, self.lo, self.hi, self.budget, self.ints)
        ints = self.ints.copy_to_host()
        first_bad = int(ints[:, 0].min())
        if first_bad < 16 * self.n:
            return first_bad % 16, 0, 0
        limit = self.budget + 1
        taken, capacity, room = (min(sum(map(int, ints[:, k])), limit) for k in (1, 2, 3))  # no int64 overflow
        return threshold.sums_status(self.budget, taken, capacity, room)

    def bracket(self, t, slope):
        """threshold.allocate_positive's secant bracketing with the counting passes on the GPU.

        Returns ``(True, ...)`` when ``out`` holds the allocation, else ``(False, lo, hi)``
        for :meth:`exact_search` (ties defeat bracketing).
        """
        budget, n = self.budget, self.n
        width_max = min((n + 2) // 3, int(2.0 * np.sqrt(n)) + 16)  # as threshold.allocate_positive
        lo_buf, try_buf = self.out, self.spare  # counts at lo_t, counts at the last t
        have_lo, last_was_hi = False, False
        lo_t, lo_c, lo_next, hi_t, hi_c, hi_prev = 0.0, 0, None, INF, budget + n + 1, INF
        prev_t, prev_c = -1.0, 0
        for _ in range(threshold.MAX_BRACKET_STEPS):
            c, above, below = self.count(t, try_buf)
            if c == budget:  # the prefix at t is the allocation
                if try_buf is not self.out:
                    self.out.copy_to_device(try_buf)
                return True, None, None
            if c < budget:
                lo_t, lo_c, lo_next, have_lo, last_was_hi = t, c, above, True, False
                lo_buf, try_buf = try_buf, lo_buf
            else:
                hi_t, hi_c, hi_prev, last_was_hi = t, c, below, True
            if have_lo and hi_t < INF and hi_c - lo_c <= width_max:
                break
            nxt = threshold.next_guess(budget, t, c, slope, prev_t, prev_c, have_lo, lo_t, lo_c, hi_t, hi_c, width_max,
                                       False, 0)
            prev_t, prev_c, t = t, c, nxt
            if not (lo_t < t < hi_t and t < DBL_MAX):
                return False, (lo_t, lo_next), hi_prev
        else:
            return False, (lo_t, lo_next), hi_prev
        if not last_was_hi:
            self.count(hi_t, try_buf)  # overwritten since: count again
        self.select_between(lo_c, lo_buf, try_buf, hi_c - lo_c)
        return True, None, None

    def select_between(self, taken, lo_buf, hi_buf, width):
        """``out`` = the prefix ``lo_buf`` plus the first ``budget - taken`` keys between it and
        ``hi_buf``, ordered exactly on the host: (product, j, i), as threshold.select_between."""
        cand_p = _buffer("cand_p", width, np.float64)
        cand_j = _buffer("cand_j", width, np.int64)
        cand_i = _buffer("cand_i", width, np.int64)
        n_cand = _buffer("n_cand", 1, np.int64)
        n_cand.copy_to_device(np.zeros(1, dtype=np.int64))
        _wide_gather[self.launch](self.lam, lo_buf, hi_buf, self.out, cand_p, cand_j, cand_i, n_cand)
        p, j, i = cand_p.copy_to_host(), cand_j.copy_to_host(), cand_i.copy_to_host()
        taken_i = np.ascontiguousarray(i[np.lexsort((i, j, p))[: self.budget - taken]])
        if taken_i.size:
            _wide_take[_blocks(taken_i.size), THREADS_PER_BLOCK](self.out, cuda.to_device(taken_i))

    def exact_search(self, lo, lo_next, hi):
        """The product ``t*`` of the budget-th key by bisection on the bits of t, then the
        keys below it and the first of those at it (see the comment above :class:`_Wide`).

        ``lo`` has fewer than ``budget`` keys at or below it and ``lo_next`` is the smallest
        product above ``lo`` (None: not counted yet); ``hi`` is a product with at least
        ``budget`` keys at or below it, or ``inf`` if none is known yet.
        """
        budget = self.budget
        if lo_next is None:
            _, lo_next, _ = self.count(lo, self.spare)
        if hi == INF:
            c, _, below = self.count(DBL_MAX, self.spare)
            hi = below if c >= budget else INF  # INF: the budget-th key's product overflows
        if hi < INF:
            # Invariant: no key has a product in (lo, lo_next); t* lies in [lo_next, hi].
            while lo_next < hi:
                t = _from_bits((_bits(lo_next) + _bits(hi)) // 2)
                c, above, below = self.count(t, self.spare)
                if c >= budget:
                    hi = below  # no product in (below, t]: the same count
                else:
                    lo_next = above
        self.take_ties(hi)

    def take_ties(self, tstar):
        """threshold.take_ties in parallel, given the product ``t*`` of the budget-th key."""
        budget = self.budget
        _wide_split[self.launch](self.lam, budget, tstar, self.lo, self.hi, self.bounded, self.out, self.ties,
                                 self.ints)
        ints = self.ints.copy_to_host()
        remaining = budget - int(ints[:, 0].sum())
        j_lo, j_hi = int(ints[:, 1].min()), int(ints[:, 2].max())
        # Smallest level J whose keys at t* (j <= J) cover what remains.
        level = j_lo
        if j_lo < j_hi:
            top = j_hi
            if j_hi - j_lo <= threshold.ESTIMATE_CAP // self.n:
                # threshold.tied_level's first pass: where every interval of levels holds
                # each level, J at once (bounds alike; keys that overflow), else its side.
                _wide_tied_span[self.launch](self.out, self.ties, j_lo, j_hi, self.ints)
                ints = self.ints.copy_to_host()
                m, starts = int(ints[:, 0].sum()), int(ints[:, 1].sum())
                last_start, first_end = int(ints[:, 2].max()), int(ints[:, 3].min())
                if m > 0 and last_start <= first_end:
                    found, rank, level, top, _ = threshold.in_stretch(remaining, j_lo, m, starts, last_start,
                                                                      first_end, j_hi)
                    if found > 0:
                        self.fill(_LEVEL, found, 0, rank)
                        return
            while level < top:
                mid = level + (top - level) // 2
                if self.tie_count(mid) >= remaining:
                    top = mid
                else:
                    level = mid + 1
            remaining -= self.tie_count(level - 1)
        self.fill(_LEVEL, level, 0, remaining)


def _bits(x):
    """The bits of a float ``x >= 0`` as a Python int: they order like the floats."""
    return int(np.float64(x).view(np.int64))


def _from_bits(bits):
    return float(np.int64(bits).view(np.float64))


def allocate_wide(d_lam, budget, d_out):
    """The canonical allocation of one problem on the whole GPU, ``d_lam`` and ``d_out`` on
    the device. Returns a status code; ``d_out`` is written only when it is ``OK``."""
    return _Wide(d_lam, budget, d_out).run()


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


def bernstein_bounds_into(counts, means, m2, available, c, ce, log_term, s):
    """ATA-Bernstein's lower confidence bounds into ``s``, on the host (numba CPU kernel)."""
    from . import numba_cpu

    numba_cpu.bernstein_bounds_into(counts, means, m2, available, c, ce, log_term, s)


def policy_round(counts, means, m2, available, variant, weight, log_term, gamma, budget, s, out, ties, heap):
    """Bounds on the host, the allocation on the GPU, then the discount on the host."""
    from . import numba_cpu

    numba_cpu.bounds_into(counts, means, available, variant, weight, log_term, s)
    status = allocate_into(s, budget, out)
    if status == OK and gamma != 1.0:
        counts *= gamma
        m2 *= gamma
    return status


def policy_round_warm(counts, means, m2, available, variant, weight, log_term, gamma, budget, s, out, ties, heap,
                      warm):
    """:func:`policy_round` (the GPU kernels start cold: ``warm`` is left as it is)."""
    return policy_round(counts, means, m2, available, variant, weight, log_term, gamma, budget, s, out, ties, heap)

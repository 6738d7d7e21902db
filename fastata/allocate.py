"""``allocate``, ``allocate_batch`` and ``proxy_loss``: validate, dispatch, run a kernel into ``out``."""

import threading

import numpy as np

from . import _backends, _validate
from .kernels import status as _status

_scratch = threading.local()
_FLOAT64 = np.dtype(np.float64)
_NDARRAY = np.ndarray  # a module global: one lookup on the hot path, not two
_MAX_BUDGET = _validate.MAX_BUDGET
_NUMPY_INTEGERS = _validate.NUMPY_INTEGERS


#: Workers from which :class:`Allocator` warm-starts each call from the previous one.
WARM_START_N = 256


def _scratch_lengths(n):
    """The least ``(ties, heap)`` lengths the kernels take for ``n`` workers: the one place
    that knows. ``fastata.jit`` compiles this same function for its checks and ``scratch``."""
    return n, n + 2


def _new_scratch(n):
    ties, heap = _scratch_lengths(n)
    return np.empty(ties, dtype=np.int64), np.empty(heap, dtype=np.float64)


def _single_scratch(kernels, n):
    """Per-thread scratch of ``kernels`` for single problems, grown on demand and kept between
    calls as ``_backends.scratch`` keeps it: the Cython kernels acquire its arrays once, not
    on every call (a fifth of a call at 51 workers)."""
    kept = getattr(_scratch, "single", None)
    if kept is None:
        kept = _scratch.single = {}
    found = kept.get(kernels)
    if found is None or found[0] < n:
        found = kept[kernels] = n, _backends.scratch(kernels, *_new_scratch(n))
    return found[1]


def _batch_scratch(m, n):
    """Per-thread scratch for batches, reused: fresh megabytes would page-fault on every call.

    Rows may be longer than ``n`` needs (:func:`_scratch_lengths`): the kernels take any
    scratch at least that long.
    """
    buffers = getattr(_scratch, "batch", None)
    if buffers is None or buffers[0].shape[0] < m or buffers[0].shape[1] < n:
        rows = max(m, 0 if buffers is None else buffers[0].shape[0])
        ties, heap = _scratch_lengths(max(n, 0 if buffers is None else buffers[0].shape[1]))
        buffers = (np.empty((rows, ties), dtype=np.int64), np.empty((rows, heap), dtype=np.float64))
        _scratch.batch = buffers
    return buffers[0][:m], buffers[1][:m]


def allocate(lam, budget, *, min_tasks=None, max_tasks=None, backend="auto", out=None):
    """Allocate ``budget`` tasks to ``n`` workers, minimising ``max_i a_i * lam_i``.

    Returns the canonical allocation of DESIGN.md section 2, bit for bit the same on
    every backend: tasks handed out one at a time, each to the worker with the
    smallest key ``((a_i + 1) * lam_i, a_i, i)``. Workers with ``lam_i = 0`` take
    every task, round-robin from the lowest index; workers with ``lam_i = +inf`` are
    unavailable and get none.

    With bounds, ``min_tasks <= a <= max_tasks``: every worker starts at its minimum and
    the remaining tasks go one at a time by the same keys to the workers below their
    maximum. That still minimises ``max_i a_i * lam_i`` under the bounds (an exchange
    argument: if an optimal allocation differs, some worker j holds a task the greedy
    gave to i, whose key is no larger; moving it from j to i keeps the bounds and never
    raises the maximum), and it costs the same linear time.

    Parameters
    ----------
    lam : array_like of float, shape (n,)
        Per-task time estimates, each in ``[0, +inf]``. Lists, integer or float32
        arrays and non-contiguous views are accepted and never modified.
    budget : int
        Number of tasks, ``0 <= budget <= 2**53``.
    min_tasks, max_tasks : int or array_like of int, shape (n,), optional
        Per-worker bounds on the allocation (one value for every worker, or one each):
        a worker's free slots, a memory limit, at least one task to keep its speed
        known. ``0 <= min_tasks <= max_tasks``. A single ``min_tasks`` applies to the
        available workers; an array must hold 0 where ``lam = +inf``.
    backend : {"auto", "python", "numba", "cython", "cuda"}
        Which kernel runs; ``"auto"`` follows the rule in ``fastata._backends``.
        ``"python"`` is the plain reference, one task at a time (``O(budget log n)``):
        for checking small problems, not for large budgets.
    out : ndarray of int64, shape (n,), optional
        Filled in place and returned. Left untouched if the call raises. Not memory of
        ``lam`` or a bound (the kernel writes it while it reads them).

    Returns
    -------
    ndarray of int64, shape (n,)
        ``a`` with ``a.sum() == budget``.

    Raises
    ------
    ValueError
        NaN or negative ``lam``, ``budget`` out of range or not an integer,
        ``budget > 0`` with no available worker, a bad ``out`` shape or an ``out`` that
        shares memory with ``lam`` or a bound, an unknown backend;
        bounds no allocation meets (``min_tasks > max_tasks``, ``sum(min_tasks) > budget``,
        the available workers' ``max_tasks`` summing to less than ``budget``, a minimum on
        an unavailable worker, a negative bound), naming the worker and the value.
    TypeError
        ``lam`` not real numbers, ``budget`` not a number, ``out`` not int64, bounds not
        integers.

    Examples
    --------
    >>> import fastata as fa
    >>> fa.allocate([1.0, 2.0, 4.0], 7).tolist()
    [4, 2, 1]
    >>> fa.allocate([1.0, 2.0, 4.0], 7, max_tasks=3).tolist()
    [3, 3, 1]
    >>> fa.allocate([1.0, 2.0, 4.0], 7, min_tasks=[0, 0, 2]).tolist()
    [3, 2, 2]
    """
    if backend == "cuda" and _validate.is_device_array(lam):
        _validate.no_device_bounds(min_tasks, max_tasks)
        return _allocate_on_device(lam, budget, out)
    lam = _validate.real_array(lam, "lam", 1)
    budget = _validate.budget(budget)
    n = lam.shape[0]
    _, kernels = _backends.resolve(backend)
    kept = _single_scratch(kernels, n)
    # Tested here, not in task_bounds: a call without bounds pays no extra function call.
    bounds = None if min_tasks is None and max_tasks is None else _backends.first_bounds(
        kept, min_tasks, max_tasks, lam)
    out = np.empty(n, dtype=np.int64) if out is None else _validate.out_array(
        out, (n,), lam=lam, min_tasks=min_tasks, max_tasks=max_tasks)
    if bounds is not None:
        status, bounds = _backends.allocate_bounded(kept, lam, budget, min_tasks, max_tasks, out, bounds)
    else:
        status, bounds = kept.allocate(lam, budget, out), None
    if status:
        _validate.raise_for_status(status, lam, budget, bounds=bounds)
    return out


def _allocate_on_device(lam, budget, out):
    """``allocate(backend="cuda")`` for arrays already on the GPU: the result stays there."""
    _, kernels = _backends.resolve("cuda")
    from numba import cuda  # only reached with a device array in hand

    lam = _validate.device_vector(lam, "lam", np.float64)
    budget = _validate.budget(budget)
    n = lam.shape[0]
    out = cuda.device_array(n, dtype=np.int64) if out is None else _validate.device_vector(out, "out", np.int64, n)
    status = kernels.allocate_device(lam, budget, out)
    if status:
        _validate.raise_for_status(status, kernels.to_host(lam), budget)
    return out


def allocate_batch(lam2d, budgets, *, min_tasks=None, max_tasks=None, backend="auto", out=None):
    """Solve ``m`` independent allocation problems at once, one per row of ``lam2d``.

    Row ``r`` of the result equals ``allocate(lam2d[r], budgets[r])`` bit for bit.

    Parameters
    ----------
    lam2d : array_like of float, shape (m, n)
    budgets : int or array_like of int, shape (m,)
        One budget for every row, or one per row.
    min_tasks, max_tasks : int or array_like of int, shape (n,) or (m, n), optional
        Per-worker bounds as in :func:`allocate`: one value, one row for every problem,
        or one row per problem. One value or one row is read by every problem as it is
        (no ``(m, n)`` array is built for it).
    backend : {"auto", "python", "numba", "cython", "cuda"}
        ``"auto"`` prefers numba, which solves the rows in parallel.
    out : ndarray of int64, shape (m, n), optional
        Filled in place and returned. Every row is checked before any is written,
        so ``out`` is left untouched if the call raises. Not memory of ``lam2d`` or a bound.

    Returns
    -------
    ndarray of int64, shape (m, n)

    Examples
    --------
    >>> import numpy as np
    >>> import fastata as fa
    >>> lam2d = np.array([[1.0, 2.0, 4.0], [1.0, 1.0, 1.0]])
    >>> fa.allocate_batch(lam2d, 7).tolist()            # one budget for every row
    [[4, 2, 1], [3, 2, 2]]
    >>> fa.allocate_batch(lam2d, [3, 4]).tolist()       # or one per row
    [[2, 1, 0], [2, 1, 1]]
    """
    if backend == "cuda" and _validate.is_device_array(lam2d):
        _validate.no_device_bounds(min_tasks, max_tasks)
        return _allocate_batch_on_device(lam2d, budgets, out)
    _, kernels = _backends.resolve(backend, "batch")
    lam2d = _validate.real_array(lam2d, "lam2d", 2)
    m, n = lam2d.shape
    budgets = _validate.budgets(budgets, m)
    low, high = _validate.task_bounds(min_tasks, max_tasks, lam2d)
    out = np.empty((m, n), dtype=np.int64) if out is None else _validate.out_array(
        out, (m, n), lam=lam2d, min_tasks=min_tasks, max_tasks=max_tasks, lam_name="lam2d")
    ties, heap = _batch_scratch(m, n)
    status = np.zeros(m, dtype=np.int64)
    if low is None:
        kernels.allocate_batch_into(lam2d, budgets, out, ties, heap, status)
    else:
        kernels.allocate_batch_bounded_into(lam2d, budgets, low, high, out, ties, heap, status)
    bad = np.flatnonzero(status)
    if bad.size:
        row = int(bad[0])
        bounds = None if low is None else (low[row % len(low)], high[row % len(high)])
        _validate.raise_for_status(int(status[row]), lam2d[row], int(budgets[row]), "lam2d", row, bounds)
    return out


def _allocate_batch_on_device(lam2d, budgets, out):
    """``allocate_batch(backend="cuda")`` for ``lam2d`` already on the GPU: the result stays there."""
    _, kernels = _backends.resolve("cuda")
    from numba import cuda  # only reached with a device array in hand

    lam2d = _validate.device_array(lam2d, "lam2d", np.float64, ("m", "n"))
    m, n = lam2d.shape
    host_budgets, device_budgets = _validate.device_budgets(budgets, m)
    if out is None:
        out = cuda.device_array((m, n), dtype=np.int64)
    else:
        out = _validate.device_array(out, "out", np.int64, (m, n), like="lam2d")
    if m == 0 or n == 0:  # nothing to write; with no worker, only budget 0 is valid
        row = int(np.flatnonzero(host_budgets > 0)[0]) if n == 0 and (host_budgets > 0).any() else -1
        status = _status.NO_AVAILABLE_WORKER
    else:
        if device_budgets is None:
            device_budgets = cuda.to_device(host_budgets)
        row, status = kernels.allocate_batch_device(lam2d, device_budgets, out)
    if row >= 0:
        lam_row = kernels.to_host(lam2d[row]) if n else np.empty(0)
        _validate.raise_for_status(status, lam_row, int(host_budgets[row]), "lam2d", row)
    return out


def proxy_loss(a, lam):
    """The proxy round time ``max_i a_i * lam_i`` (terms with ``a_i = 0`` count as 0).

    Parameters
    ----------
    a : array_like of int, shape (n,)
        An allocation (non-negative integers).
    lam : array_like of float, shape (n,)
        Per-task times in ``[0, +inf]``.

    Returns
    -------
    float
        ``0.0`` when no worker has a task; ``inf`` when an unavailable worker has one.

    Examples
    --------
    >>> import fastata as fa
    >>> lam = [1.0, 2.0, 4.0]
    >>> fa.proxy_loss(fa.allocate(lam, 7), lam)    # the optimum: worker 0's 4 tasks take 4.0
    4.0
    >>> fa.proxy_loss([7, 0, 0], lam)              # everything on the fastest worker
    7.0
    """
    lam = _validate.real_array(lam, "lam", 1)
    _validate.lam_values(lam)
    a = _validate.allocation(a, lam.shape[0])
    busy = a > 0
    if not busy.any():
        return 0.0
    return float(np.max(a[busy].astype(np.float64) * lam[busy]))


class Allocator:
    """Allocation for a fixed number of workers, with every buffer kept between calls.

    For hot loops (a scheduler's, a benchmark's): a call validates its input, runs the
    kernel and returns the allocation in an array it owns and **overwrites on the next
    call**, so nothing is allocated per call. Copy the result if you keep it.

    Parameters
    ----------
    n_workers : int
        The length of every ``lam`` this allocator accepts (``>= 0``).
    backend : {"auto", "python", "numba", "cython", "cuda"}
        Chosen once; ``"auto"`` follows :func:`allocate`'s rule for ``n_workers``. With
        ``"cuda"``, a ``lam`` already on the GPU gets its answer in a kept GPU array.

    Raises
    ------
    RuntimeError
        A call made while another thread's call on the same allocator is running.

    Examples
    --------
    >>> import fastata as fa
    >>> allocator = fa.Allocator(3)
    >>> allocator([1.0, 2.0, 4.0], 7).tolist()
    [4, 2, 1]

    Thread safety: give each thread its own allocator; :func:`allocate` is safe from
    many threads. Two calls that overlap on one allocator are refused, not queued: the
    second raises ``RuntimeError`` and changes nothing. Without that, two GIL-free kernels
    would write the same scratch at once and crash the interpreter. A lock that made the
    second call wait was the alternative, and it would hide the bug rather than fix it:
    both calls return the same array, so one thread would read the other's allocation.
    The guard is an atomic token, a few tens of nanoseconds a call (a ``threading.Lock``
    costs four times more); calls from different threads one after another are fine.
    """

    def __init__(self, n_workers, *, backend="auto"):
        n = _validate.count(n_workers, "n_workers", 0, _validate.MAX_WORKERS)
        self.backend, self._kernels = _backends.resolve(backend)
        self.n_workers = n
        self._shape = (n,)
        self._out = np.zeros(n, dtype=np.int64)
        # Successive calls are usually similar problems: from WARM_START_N workers on, each
        # starts its search from the previous call's threshold (the result is the same).
        # Below, a search costs less than the extra argument.
        scratch = _backends.scratch(self._kernels, *_new_scratch(n), np.zeros(3) if n >= WARM_START_N else None)
        self._kernel = scratch.allocate  # looked up once: this is the hot path
        self._scratch = scratch
        self._device_out = None  # created on the first call with a GPU array
        # The call guard: a call takes the one token and gives it back. list.pop and
        # list.append are atomic under the GIL and in free-threaded builds alike.
        self._idle = [True]

    def __call__(self, lam, budget, *, min_tasks=None, max_tasks=None):
        """The canonical allocation of ``budget`` tasks over ``lam`` (as :func:`allocate`,
        bounds included), in the allocator's own array. A rejected call leaves that array
        as it was."""
        idle = self._idle
        try:
            idle.pop()
        except IndexError:
            raise _validate.allocator_in_use() from None
        try:
            # The common case in the cheapest checks (each costs ~20-40 ns); anything else
            # takes the full validation, which converts what it can and words every error.
            if not (type(lam) is _NDARRAY and lam.dtype is _FLOAT64 and lam.shape == self._shape
                    and lam.flags.c_contiguous):  # fmt: skip
                if self.backend == "cuda" and _validate.is_device_array(lam):
                    _validate.no_device_bounds(min_tasks, max_tasks)
                    return self._on_device(lam, budget)
                lam = self._checked(lam)
            if type(budget) is not int:
                # numpy integers are as common as ints (an element of a budgets array) and
                # as cheap to convert; the numba kernel would compile anew for uint64.
                budget = int(budget) if type(budget) in _NUMPY_INTEGERS else _validate.budget(budget)
            if not 0 <= budget <= _MAX_BUDGET:
                budget = _validate.budget(budget)
            if min_tasks is None and max_tasks is None:
                status = self._kernel(lam, budget, self._out)
                bounds = None
            else:
                # A bound may be this allocator's own last result (the array the kernel is
                # about to overwrite): read from a copy.
                status, bounds = _backends.allocate_bounded(self._scratch, lam, budget, min_tasks, max_tasks,
                                                            self._out, bound_may_be_out=True)
            if status:
                _validate.raise_for_status(status, lam, budget, bounds=bounds)
            return self._out
        finally:
            idle.append(True)

    def _checked(self, lam):
        lam = _validate.real_array(lam, "lam", 1)
        if lam.shape != self._shape:
            raise ValueError(_validate.allocator_shape(lam.shape, self.n_workers))
        return lam

    def _on_device(self, lam, budget):
        lam = _validate.device_vector(lam, "lam", np.float64)
        if lam.shape[0] != self.n_workers:
            raise ValueError(_validate.allocator_shape(tuple(lam.shape), self.n_workers))
        budget = _validate.budget(budget)
        if self._device_out is None:
            from numba import cuda

            self._device_out = cuda.device_array(self.n_workers, dtype=np.int64)
        return _allocate_on_device(lam, budget, self._device_out)

    def __repr__(self):
        return f"Allocator(n_workers={self.n_workers}, backend={self.backend!r})"

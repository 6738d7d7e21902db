"""fastata's kernels for your own ``@njit`` code: call them where a Python call is not possible.

Every function here is a numba dispatcher (``cache=True, nogil=True``), callable from
Python and from inside ``@njit`` / ``@njit(parallel=True)`` functions, where numba links
it straight into your code::

    import numpy as np
    from numba import njit, prange
    from fastata.jit import allocate_into_status, check_status

    @njit(parallel=True)
    def allocate_many(lam2d, budget, out):
        status = np.zeros(lam2d.shape[0], dtype=np.int64)
        for r in prange(lam2d.shape[0]):
            status[r] = allocate_into_status(lam2d[r], budget, out[r])
        for r in range(lam2d.shape[0]):  # after the parallel loop: here a raise arrives
            check_status(status[r])

Types are checked when numba compiles your function: ``lam``, ``durations``, ``counts``,
``means``, ``m2``, ``s`` and ``heap`` must be 1-D float64 arrays, ``out``, ``workers`` and
``ties`` 1-D int64, ``available`` 1-D uint8 or bool (any layout: rows and columns of 2-D
arrays are fine), ``budget`` an integer; anything else is a ``TypingError`` that names the
argument (float32 would change the float products the canonical order is defined on).

Where errors go
---------------
Outside a ``prange`` body, bad values raise ``ValueError`` inside the jitted code, with
the messages of ``fastata._validate`` (a jitted raise carries a constant message, so it
names the parameter and the rule but not the offending value). A rejected call writes
nothing.

**Inside a** ``prange`` **body numba does not deliver exceptions**: depending on the
threading layer a raise there is lost (the call returns normally, with the rows after the
bad one on that thread never written) or surfaces as a ``SystemError``. In a ``prange``
body call only the ``*_status`` functions: they never raise, return a status code (``OK``,
0, on success; the rejected call writes nothing) and leave the error to you. Collect the
codes and, after the loop, pass them to :func:`check_status`, which raises the
``ValueError`` the raising function would have raised (callable from jitted code and from
Python). The other functions raise, so keep them out of ``prange`` bodies.

Numba's cache and fastata upgrades
----------------------------------
numba compiles the fastata code your function calls into your function. With
``@njit(cache=True)`` that code is stored in *your* module's numba cache, which numba
keys on your source file only: after fastata is upgraded, your cached function keeps
running the fastata code it was compiled with, and nothing says so. After upgrading
fastata, delete your module's numba cache (the ``*.nbi`` and ``*.nbc`` files in the
``__pycache__`` folder beside it, or in ``NUMBA_CACHE_DIR``), or compile with
``cache=False``, or keep one cache per fastata version by setting ``NUMBA_CACHE_DIR`` to a
folder named after ``fastata.__version__`` before numba is imported. To detect a stale
cache at run time, compile a function that returns :data:`VERSION` into the same module
and pass its result to :func:`check_cached_version` at module level, so that the check runs
on every import, before any of the module's jitted functions::

    import fastata.jit

    @njit(cache=True)
    def fastata_compiled_with():
        return fastata.jit.VERSION  # frozen into this module's cache when compiled

    fastata.jit.check_cached_version(fastata_compiled_with())  # RuntimeError if stale

Functions
---------
``allocate_into(lam, budget, out)`` and ``allocate_into_status(lam, budget, out) -> int``
    The canonical allocation (DESIGN.md section 2) into ``out``; scratch is allocated per
    call. In a hot loop, allocate the scratch once with ``scratch(n)`` and call
    ``allocate_into_scratch(lam, budget, out, ties, heap)`` or
    ``allocate_into_scratch_status(...)``, which allocate nothing.
``allocate_into_bounded(lam, budget, min_tasks, max_tasks, out)`` and ``allocate_into_bounded_status``
    The same with per-worker bounds ``min_tasks <= out <= max_tasks`` (int64 arrays of
    ``lam``'s length); ``allocate_into_bounded_scratch(_status)`` take the scratch.
``check_status(code)``
    Raise the ``ValueError`` for a status code (nothing for ``OK``). The codes: ``OK``,
    ``LAM_NAN``, ``LAM_NEGATIVE``, ``NO_AVAILABLE_WORKER`` (from the kernel) and
    ``BUDGET_OUT_OF_RANGE``, ``OUT_SHAPE``, ``SCRATCH_TOO_SMALL`` (the argument checks);
    with bounds also ``MIN_NEGATIVE``, ``BOUNDS_CROSSED``, ``MIN_ON_UNAVAILABLE``,
    ``MIN_OVER_BUDGET``, ``CAPACITY_SHORT`` and ``BOUNDS_SHAPE``.
``observe_into(workers, durations, counts, means, m2)``
    Welford's update of the per-worker statistics; checks every sample first, so a
    rejected batch changes nothing.
``ata_bounds_into(counts, means, available, alpha, rounds, s)``
    The lower confidence bounds of ATA after ``rounds`` completed rounds, with the
    paper's constant ``c = 2``; ``available`` is uint8 or bool (0 or ``False`` =
    unavailable).
``ata_empirical_bounds_into(counts, means, available, eta, rounds, s)``
    The same for ATA-Empirical.
``ata_bernstein_bounds_into(counts, means, m2, available, eta, rounds, s)``
    ATA-Bernstein's bounds (its inequality's constant ``c = 1``), from the counts, means
    and Welford's ``m2``.
``VERSION`` and ``check_cached_version(compiled)``
    The installed fastata version, as a constant numba freezes into the code that reads
    it, and the check that a cached function was compiled against it (above).
"""

import math

import numpy as np
from numba import njit, types
from numba.core.errors import TypingError
from numba.extending import overload, register_jitable

from . import __version__, _validate
from .allocate import _scratch_lengths
from .kernels import stats, threshold
from .kernels.status import (
    BOUNDS_CROSSED,
    CAPACITY_SHORT,
    DURATION_NEGATIVE,
    DURATION_NOT_FINITE,
    LAM_NAN,
    LAM_NEGATIVE,
    MIN_NEGATIVE,
    MIN_ON_UNAVAILABLE,
    MIN_OVER_BUDGET,
    NO_AVAILABLE_WORKER,
    OK,
    VARIANT_ATA,
    VARIANT_EMPIRICAL,
    WORKER_OUT_OF_RANGE,
)

#: The installed fastata version. numba freezes it into the code that reads it, so a
#: cached function that returns it tells which fastata it was compiled against.
VERSION = __version__

# Status codes of the argument checks made here, above the kernel's (kernels/status.py),
# so that the two ranges can never collide.
#: ``budget`` outside ``[0, 2**53]``.
BUDGET_OUT_OF_RANGE = 101
#: ``out`` not of ``lam``'s length.
OUT_SHAPE = 102
#: ``ties`` or ``heap`` shorter than ``scratch(n)`` makes them.
SCRATCH_TOO_SMALL = 103
#: ``min_tasks`` or ``max_tasks`` not of ``lam``'s length.
BOUNDS_SHAPE = 104

# The scratch lengths are fastata.allocate's, compiled: one rule for every caller.
register_jitable(_scratch_lengths)

_JIT = dict(cache=True, nogil=True, error_model="numpy")
_PAPER_C = 2.0  # fastata.policies.PAPER_C; not imported, so that this module stays light
_BERNSTEIN_C = 1.0  # fastata.policies.bernstein.THEORY_C

# Module-level strings are compile-time constants for numba.
_MSG_LAM_NAN = _validate.JIT_MESSAGES["lam_nan"]
_MSG_LAM_NEGATIVE = _validate.JIT_MESSAGES["lam_negative"]
_MSG_NO_WORKER = _validate.JIT_MESSAGES["no_available_worker"]
_MSG_BUDGET = _validate.JIT_MESSAGES["budget_range"]
_MSG_OUT_SHAPE = _validate.JIT_MESSAGES["out_shape"]
_MSG_SCRATCH = _validate.JIT_MESSAGES["scratch_size"]
_MSG_WORKER = _validate.JIT_MESSAGES["worker_out_of_range"]
_MSG_DURATION_FINITE = _validate.JIT_MESSAGES["duration_not_finite"]
_MSG_DURATION_NEGATIVE = _validate.JIT_MESSAGES["duration_negative"]
_MSG_SAMPLES_SHAPE = _validate.JIT_MESSAGES["samples_shape"]
_MSG_STATS_SHAPE = _validate.JIT_MESSAGES["stats_shape"]
_MSG_PARAM = _validate.JIT_MESSAGES["param_positive"]
_MSG_MIN_NEGATIVE = _validate.JIT_MESSAGES["min_negative"]
_MSG_BOUNDS_CROSSED = _validate.JIT_MESSAGES["bounds_crossed"]
_MSG_MIN_UNAVAILABLE = _validate.JIT_MESSAGES["min_on_unavailable"]
_MSG_MIN_BUDGET = _validate.JIT_MESSAGES["min_over_budget"]
_MSG_CAPACITY = _validate.JIT_MESSAGES["capacity_short"]
_MSG_BOUNDS_SHAPE = _validate.JIT_MESSAGES["bounds_shape"]
_MSG_ROUNDS = _validate.JIT_MESSAGES["rounds_negative"]
_MSG_STATUS = _validate.JIT_MESSAGES["status_unknown"]
_MAX_BUDGET = _validate.MAX_BUDGET


# --- Types, checked at compile time --------------------------------------------------
# Each ``_check_*`` function does nothing at run time; its overload inspects the numba
# types of the caller's arguments and raises TypingError with fastata's wording.


def _array_problem(ty, name, dtype, writable=False):
    dtypes = dtype if isinstance(dtype, tuple) else (dtype,)
    if isinstance(ty, types.Array) and ty.ndim == 1 and ty.dtype in dtypes and (ty.mutable or not writable):
        return None
    return _validate.JIT_ARRAY_TYPE.format(
        name=name, dtype=" or ".join(map(str, dtypes)), writable="writeable " if writable else "", got=ty
    )


def _raise_first(*problems):
    for problem in problems:
        if problem is not None:
            raise TypingError(problem)


def _integer_problem(ty, name):
    ok = isinstance(ty, types.Integer) and not isinstance(ty, types.Boolean)
    return None if ok else _validate.JIT_INTEGER_TYPE.format(name=name, got=ty)


def _real_problem(ty, name):
    ok = isinstance(ty, (types.Integer, types.Float)) and not isinstance(ty, types.Boolean)
    return None if ok else _validate.JIT_REAL_TYPE.format(name=name, got=ty)


def _check_allocation(lam, budget, out):
    pass


def _check_scratch(ties, heap):
    pass


def _check_task_bounds(min_tasks, max_tasks):
    pass


def _check_samples(workers, durations, counts, means, m2):
    pass


def _check_bounds(counts, means, available, param, rounds, s):
    pass


def _check_code(code):
    pass


def _check_m2(m2):
    pass


@overload(_check_m2, jit_options=_JIT)
def _type_m2(m2):
    _raise_first(_array_problem(m2, "m2", types.float64))
    return lambda m2: None


@overload(_check_allocation, jit_options=_JIT)
def _type_allocation(lam, budget, out):
    _raise_first(
        _array_problem(lam, "lam", types.float64),
        _integer_problem(budget, "budget"),
        _array_problem(out, "out", types.int64, writable=True),
    )
    return lambda lam, budget, out: None


@overload(_check_scratch, jit_options=_JIT)
def _type_scratch(ties, heap):
    _raise_first(
        _array_problem(ties, "ties", types.int64, writable=True),
        _array_problem(heap, "heap", types.float64, writable=True),
    )
    return lambda ties, heap: None


@overload(_check_task_bounds, jit_options=_JIT)
def _type_task_bounds(min_tasks, max_tasks):
    _raise_first(
        _array_problem(min_tasks, "min_tasks", types.int64),
        _array_problem(max_tasks, "max_tasks", types.int64),
    )
    return lambda min_tasks, max_tasks: None


@overload(_check_samples, jit_options=_JIT)
def _type_samples(workers, durations, counts, means, m2):
    _raise_first(
        _array_problem(workers, "workers", types.int64),
        _array_problem(durations, "durations", types.float64),
        *(_array_problem(ty, name, types.float64, writable=True)
          for ty, name in ((counts, "counts"), (means, "means"), (m2, "m2"))),  # fmt: skip
    )
    return lambda workers, durations, counts, means, m2: None


@overload(_check_bounds, jit_options=_JIT)
def _type_bounds(counts, means, available, param, rounds, s):
    _raise_first(
        _array_problem(counts, "counts", types.float64),
        _array_problem(means, "means", types.float64),
        _array_problem(available, "available", (types.uint8, types.boolean)),
        _real_problem(param, "alpha and eta"),
        _real_problem(rounds, "rounds"),
        _array_problem(s, "s", types.float64, writable=True),
    )
    return lambda counts, means, available, param, rounds, s: None


@overload(_check_code, jit_options=_JIT)
def _type_code(code):
    _raise_first(_integer_problem(code, "status"))
    return lambda code: None


# --- The kernels ------------------------------------------------------------------------


@njit(**_JIT)
def scratch(n):
    """``(ties, heap)``: the scratch :func:`allocate_into_scratch` needs for ``n`` workers.

    Examples
    --------
    >>> from fastata.jit import scratch
    >>> ties, heap = scratch(3)
    >>> ties.dtype.name, ties.shape, heap.dtype.name, heap.shape
    ('int64', (3,), 'float64', (5,))
    """
    ties, heap = _scratch_lengths(n)
    return np.empty(ties, dtype=np.int64), np.empty(heap, dtype=np.float64)


@njit(**_JIT)
def check_status(code):
    """Raise the ``ValueError`` that status ``code`` stands for; nothing for ``OK`` (0).

    For the codes of the ``*_status`` functions, after a ``prange`` loop (where numba
    does not deliver exceptions); callable from jitted code and from Python.

    Examples
    --------
    >>> from fastata import jit
    >>> jit.check_status(jit.OK)
    >>> jit.check_status(jit.LAM_NAN)
    Traceback (most recent call last):
        ...
    ValueError: lam must not contain NaN (fastata.jit)
    """
    _check_code(code)
    if code == OK:
        return
    if code == LAM_NAN:
        raise ValueError(_MSG_LAM_NAN)
    if code == LAM_NEGATIVE:
        raise ValueError(_MSG_LAM_NEGATIVE)
    if code == NO_AVAILABLE_WORKER:
        raise ValueError(_MSG_NO_WORKER)
    if code == BUDGET_OUT_OF_RANGE:
        raise ValueError(_MSG_BUDGET)
    if code == OUT_SHAPE:
        raise ValueError(_MSG_OUT_SHAPE)
    if code == SCRATCH_TOO_SMALL:
        raise ValueError(_MSG_SCRATCH)
    if code == MIN_NEGATIVE:
        raise ValueError(_MSG_MIN_NEGATIVE)
    if code == BOUNDS_CROSSED:
        raise ValueError(_MSG_BOUNDS_CROSSED)
    if code == MIN_ON_UNAVAILABLE:
        raise ValueError(_MSG_MIN_UNAVAILABLE)
    if code == MIN_OVER_BUDGET:
        raise ValueError(_MSG_MIN_BUDGET)
    if code == CAPACITY_SHORT:
        raise ValueError(_MSG_CAPACITY)
    if code == BOUNDS_SHAPE:
        raise ValueError(_MSG_BOUNDS_SHAPE)
    raise ValueError(_MSG_STATUS)


@register_jitable
def _arguments_status(lam, budget, out, ties, heap):
    """The argument checks of the allocation functions, as a status code (``OK``: none failed)."""
    n = lam.shape[0]
    if budget < 0 or budget > _MAX_BUDGET:
        return BUDGET_OUT_OF_RANGE
    if out.shape[0] != n:
        return OUT_SHAPE
    least_ties, least_heap = _scratch_lengths(n)
    if ties.shape[0] < least_ties or heap.shape[0] < least_heap:
        return SCRATCH_TOO_SMALL
    return OK


@njit(**_JIT)
def allocate_into_scratch_status(lam, budget, out, ties, heap):
    """:func:`allocate_into_scratch` that never raises: returns a status code (``OK`` is 0).

    For ``prange`` bodies; a call that returns another code wrote nothing.

    Examples
    --------
    >>> import numpy as np
    >>> from fastata.jit import allocate_into_scratch_status, scratch
    >>> out = np.zeros(3, dtype=np.int64)
    >>> ties, heap = scratch(3)
    >>> allocate_into_scratch_status(np.array([1.0, 2.0, 4.0]), 7, out, ties, heap), out.tolist()
    (0, [4, 2, 1])
    >>> allocate_into_scratch_status(np.array([1.0, np.nan, 4.0]), 7, out, ties, heap), out.tolist()
    (1, [4, 2, 1])
    """
    _check_allocation(lam, budget, out)
    _check_scratch(ties, heap)
    code = _arguments_status(lam, budget, out, ties, heap)
    if code != OK:
        return code
    return threshold.allocate_into(lam, budget, out, ties, heap)


@njit(**_JIT)
def allocate_into_status(lam, budget, out):
    """:func:`allocate_into` that never raises: returns a status code (``OK`` is 0).

    For ``prange`` bodies; a call that returns another code wrote nothing.

    Examples
    --------
    >>> import numpy as np
    >>> from fastata.jit import LAM_NEGATIVE, OK, allocate_into_status
    >>> out = np.zeros(3, dtype=np.int64)
    >>> allocate_into_status(np.array([1.0, 2.0, 4.0]), 7, out) == OK, out.tolist()
    (True, [4, 2, 1])
    >>> allocate_into_status(np.array([1.0, -2.0, 4.0]), 7, out) == LAM_NEGATIVE, out.tolist()
    (True, [4, 2, 1])
    """
    _check_allocation(lam, budget, out)  # before the scratch, for the caller's wording
    ties, heap = scratch(lam.shape[0])
    return allocate_into_scratch_status(lam, budget, out, ties, heap)


@njit(**_JIT)
def allocate_into_scratch(lam, budget, out, ties, heap):
    """:func:`allocate_into` with caller-owned scratch (see :func:`scratch`): allocates nothing.

    Examples
    --------
    >>> import numpy as np
    >>> from numba import njit
    >>> from fastata.jit import allocate_into_scratch, scratch
    >>> @njit
    ... def allocate_rounds(lam2d, budget, out):
    ...     ties, heap = scratch(lam2d.shape[1])          # once, for every row
    ...     for r in range(lam2d.shape[0]):
    ...         allocate_into_scratch(lam2d[r], budget, out[r], ties, heap)
    ...
    >>> lam2d = np.array([[1.0, 2.0, 4.0], [4.0, 2.0, 1.0]])
    >>> out = np.empty((2, 3), dtype=np.int64)
    >>> allocate_rounds(lam2d, 7, out)
    >>> out.tolist()
    [[4, 2, 1], [1, 2, 4]]
    """
    check_status(allocate_into_scratch_status(lam, budget, out, ties, heap))


@njit(**_JIT)
def allocate_into(lam, budget, out):
    """The canonical allocation of ``budget`` tasks over ``lam`` into ``out`` (int64, shape ``(n,)``).

    Raises ``ValueError`` (leaving ``out`` untouched) for NaN or negative ``lam``, a budget
    outside ``[0, 2**53]``, a wrong ``out`` length, or ``budget > 0`` with no available
    worker. Not in a ``prange`` body: use :func:`allocate_into_status` there.

    Examples
    --------
    >>> import numpy as np
    >>> from fastata.jit import allocate_into
    >>> out = np.empty(3, dtype=np.int64)
    >>> allocate_into(np.array([1.0, 2.0, 4.0]), 7, out)    # from Python, or from @njit code
    >>> out.tolist()
    [4, 2, 1]
    >>> allocate_into(np.array([1.0, 2.0, 4.0]), -1, out)
    Traceback (most recent call last):
        ...
    ValueError: budget must be ...
    """
    check_status(allocate_into_status(lam, budget, out))


@njit(**_JIT)
def allocate_into_bounded_scratch_status(lam, budget, min_tasks, max_tasks, out, ties, heap):
    """:func:`allocate_into_bounded_scratch` that never raises: returns a status code.

    For ``prange`` bodies; a call that returns another code than ``OK`` wrote nothing.

    Examples
    --------
    >>> import numpy as np
    >>> from fastata.jit import allocate_into_bounded_scratch_status, scratch
    >>> lam, out = np.array([1.0, 2.0, 4.0]), np.zeros(3, dtype=np.int64)
    >>> ties, heap = scratch(3)
    >>> low, high = np.zeros(3, dtype=np.int64), np.full(3, 3, dtype=np.int64)
    >>> allocate_into_bounded_scratch_status(lam, 7, low, high, out, ties, heap), out.tolist()
    (0, [3, 3, 1])
    >>> allocate_into_bounded_scratch_status(lam, 10, low, high, out, ties, heap)  # CAPACITY_SHORT
    15
    """
    _check_allocation(lam, budget, out)
    _check_task_bounds(min_tasks, max_tasks)
    _check_scratch(ties, heap)
    if min_tasks.shape[0] != lam.shape[0] or max_tasks.shape[0] != lam.shape[0]:
        return BOUNDS_SHAPE
    code = _arguments_status(lam, budget, out, ties, heap)
    if code != OK:
        return code
    return threshold.allocate_bounded_into(lam, budget, min_tasks, max_tasks, out, ties, heap)


@njit(**_JIT)
def allocate_into_bounded_status(lam, budget, min_tasks, max_tasks, out):
    """:func:`allocate_into_bounded` that never raises: returns a status code (``OK`` is 0).

    Examples
    --------
    >>> import numpy as np
    >>> from fastata.jit import allocate_into_bounded_status
    >>> out = np.zeros(3, dtype=np.int64)
    >>> low = np.array([0, 0, 2])
    >>> allocate_into_bounded_status(np.array([1.0, 2.0, 4.0]), 7, low, np.full(3, 9), out), out.tolist()
    (0, [3, 2, 2])
    """
    _check_allocation(lam, budget, out)
    ties, heap = scratch(lam.shape[0])
    return allocate_into_bounded_scratch_status(lam, budget, min_tasks, max_tasks, out, ties, heap)


@njit(**_JIT)
def allocate_into_bounded_scratch(lam, budget, min_tasks, max_tasks, out, ties, heap):
    """:func:`allocate_into_bounded` with caller-owned scratch (see :func:`scratch`).

    Examples
    --------
    >>> import numpy as np
    >>> from fastata.jit import allocate_into_bounded_scratch, scratch
    >>> out = np.zeros(3, dtype=np.int64)
    >>> ties, heap = scratch(3)
    >>> allocate_into_bounded_scratch(np.array([1.0, 2.0, 4.0]), 7, np.ones(3, dtype=np.int64),
    ...                               np.full(3, 3), out, ties, heap)
    >>> out.tolist()
    [3, 3, 1]
    """
    check_status(allocate_into_bounded_scratch_status(lam, budget, min_tasks, max_tasks, out, ties, heap))


@njit(**_JIT)
def allocate_into_bounded(lam, budget, min_tasks, max_tasks, out):
    """The canonical allocation with per-worker bounds ``min_tasks <= out <= max_tasks``
    (int64 arrays of ``lam``'s length; DESIGN.md section 2) into ``out``.

    Raises ``ValueError`` (leaving ``out`` untouched) as :func:`allocate_into`, and for
    bounds no allocation meets: a negative minimum, ``min_tasks > max_tasks``, a minimum on
    an unavailable worker, ``sum(min_tasks) > budget``, or available workers whose
    maximums sum to less than ``budget``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastata.jit import allocate_into_bounded
    >>> out = np.zeros(3, dtype=np.int64)
    >>> allocate_into_bounded(np.array([1.0, 2.0, 4.0]), 7, np.zeros(3, dtype=np.int64), np.full(3, 3), out)
    >>> out.tolist()
    [3, 3, 1]
    """
    check_status(allocate_into_bounded_status(lam, budget, min_tasks, max_tasks, out))


@njit(**_JIT)
def observe_into(workers, durations, counts, means, m2):
    """Add per-task samples (worker ids, durations) to the statistics, all or none.

    Examples
    --------
    >>> import numpy as np
    >>> from fastata.jit import observe_into
    >>> counts, means, m2 = np.zeros(2), np.zeros(2), np.zeros(2)
    >>> observe_into(np.array([0, 0, 1]), np.array([1.0, 3.0, 5.0]), counts, means, m2)
    >>> counts.tolist(), means.tolist(), (m2 / counts).tolist()     # variances: M2 / K
    ([2.0, 1.0], [2.0, 5.0], [1.0, 0.0])
    >>> observe_into(np.array([0, 2]), np.array([1.0, 1.0]), counts, means, m2)
    Traceback (most recent call last):
        ...
    ValueError: workers must be in [0, n_workers) (fastata.jit.observe_into)
    >>> counts.tolist()                                             # the rejected batch changed nothing
    [2.0, 1.0]
    """
    _check_samples(workers, durations, counts, means, m2)
    if workers.shape[0] != durations.shape[0]:
        raise ValueError(_MSG_SAMPLES_SHAPE)
    if means.shape[0] != counts.shape[0] or m2.shape[0] != counts.shape[0]:
        raise ValueError(_MSG_STATS_SHAPE)
    code = stats.observe_into(workers, durations, counts, means, m2)
    if code == WORKER_OUT_OF_RANGE:
        raise ValueError(_MSG_WORKER)
    if code == DURATION_NOT_FINITE:
        raise ValueError(_MSG_DURATION_FINITE)
    if code == DURATION_NEGATIVE:
        raise ValueError(_MSG_DURATION_NEGATIVE)


@njit(**_JIT)
def _bounds(counts, means, available, variant, param, rounds, s):
    _check_bounds(counts, means, available, param, rounds, s)
    n = counts.shape[0]
    if means.shape[0] != n or available.shape[0] != n or s.shape[0] != n:
        raise ValueError(_MSG_STATS_SHAPE)
    if not (param > 0.0):
        raise ValueError(_MSG_PARAM)
    if not (rounds >= 0.0):
        raise ValueError(_MSG_ROUNDS)
    k = rounds if rounds > 1.0 else 1.0  # as fastata.policies: L = ln(2 k^2), k >= 1
    stats.bounds_into(counts, means, available, variant, _PAPER_C * param, math.log(2.0 * k * k), s)


@njit(**_JIT)
def ata_bounds_into(counts, means, available, alpha, rounds, s):
    """ATA's lower confidence bounds into ``s`` (``+inf`` where ``available == 0``).

    Examples
    --------
    >>> import numpy as np
    >>> import fastata as fa
    >>> from fastata.jit import ata_bounds_into
    >>> policy = fa.ATA(3, 6, alpha=0.1)
    >>> policy.observe([0, 0, 1, 1, 2, 2], [1.0, 1.5, 2.0, 2.5, 9.0, 9.5])
    >>> _ = policy.allocate()                                       # one completed round
    >>> s = np.empty(3)
    >>> ata_bounds_into(policy.counts, policy.means, np.array([1, 1, 0], dtype=np.uint8), 0.1, 1, s)
    >>> s.round(4).tolist()
    [1.0629, 2.0629, inf]
    >>> policy.lower_bounds.round(4).tolist()                      # the same formula, every worker available
    [1.0629, 2.0629, 9.0629]
    """
    _bounds(counts, means, available, VARIANT_ATA, alpha, rounds, s)


@njit(**_JIT)
def ata_empirical_bounds_into(counts, means, available, eta, rounds, s):
    """ATA-Empirical's lower confidence bounds into ``s`` (``+inf`` where ``available == 0``).

    Examples
    --------
    >>> import numpy as np
    >>> from fastata.jit import ata_empirical_bounds_into
    >>> counts, means = np.array([10.0, 0.0]), np.array([2.0, 0.0])
    >>> s = np.empty(2)
    >>> ata_empirical_bounds_into(counts, means, np.array([True, True]), 0.05, 1, s)
    >>> s.round(4).tolist()                    # a worker with no sample has bound 0
    [1.9335, 0.0]
    """
    _bounds(counts, means, available, VARIANT_EMPIRICAL, eta, rounds, s)


@njit(**_JIT)
def ata_bernstein_bounds_into(counts, means, m2, available, eta, rounds, s):
    """ATA-Bernstein's lower confidence bounds into ``s`` with its inequality's constant ``c = 1``
    (``+inf`` where ``available == 0``); ``m2`` is Welford's sum of squared deviations.

    Examples
    --------
    >>> import numpy as np
    >>> from fastata.jit import ata_bernstein_bounds_into
    >>> counts, means, m2 = np.array([10.0, 0.0]), np.array([2.0, 0.0]), np.array([0.4, 0.0])
    >>> s = np.empty(2)
    >>> ata_bernstein_bounds_into(counts, means, m2, np.array([True, True]), 0.05, 1, s)
    >>> s.round(4).tolist()
    [1.888, 0.0]
    """
    _check_bounds(counts, means, available, eta, rounds, s)
    _check_m2(m2)
    n = counts.shape[0]
    if means.shape[0] != n or m2.shape[0] != n or available.shape[0] != n or s.shape[0] != n:
        raise ValueError(_MSG_STATS_SHAPE)
    if not (eta > 0.0):
        raise ValueError(_MSG_PARAM)
    if not (rounds >= 0.0):
        raise ValueError(_MSG_ROUNDS)
    k = rounds if rounds > 1.0 else 1.0  # as fastata.policies: L = ln(2 k^2), k >= 1
    c = _BERNSTEIN_C
    stats.bernstein_bounds_into(counts, means, m2, available, c, c * eta, math.log(2.0 * k * k), s)


def check_cached_version(compiled):
    """Raise ``RuntimeError`` unless ``compiled``, the :data:`VERSION` a function of yours
    returned, is the installed fastata's: a function loaded from numba's cache may have
    been compiled against an older fastata (see the module docstring).

    Examples
    --------
    >>> import fastata.jit
    >>> fastata.jit.check_cached_version(fastata.jit.VERSION)    # compiled against this fastata: fine
    >>> fastata.jit.check_cached_version("0.0.1")
    Traceback (most recent call last):
        ...
    RuntimeError: compiled must be the installed fastata version ...; got '0.0.1': ...
    """
    if compiled != VERSION:
        raise _validate.stale_jit_cache(compiled, VERSION)

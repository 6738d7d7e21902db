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
the messages of :mod:`fastata._validate` (a jitted raise carries a constant message, so it
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
``check_status(code)``
    Raise the ``ValueError`` for a status code (nothing for ``OK``). The codes: ``OK``,
    ``LAM_NAN``, ``LAM_NEGATIVE``, ``NO_AVAILABLE_WORKER`` (from the kernel) and
    ``BUDGET_OUT_OF_RANGE``, ``OUT_SHAPE``, ``SCRATCH_TOO_SMALL`` (the argument checks).
``observe_into(workers, durations, counts, means, m2)``
    Welford's update of the per-worker statistics; checks every sample first, so a
    rejected batch changes nothing.
``ata_bounds_into(counts, means, available, alpha, rounds, s)`` and
``ata_empirical_bounds_into(counts, means, available, eta, rounds, s)``
    The lower confidence bounds of ATA and ATA-Empirical after ``rounds`` completed
    rounds, with the paper's constant ``c = 2``; ``available`` is uint8 or bool (0 or
    ``False`` = unavailable).
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
    DURATION_NEGATIVE,
    DURATION_NOT_FINITE,
    LAM_NAN,
    LAM_NEGATIVE,
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
    """``(ties, heap)``: the scratch :func:`allocate_into_scratch` needs for ``n`` workers."""
    ties, heap = _scratch_lengths(n)
    return np.empty(ties, dtype=np.int64), np.empty(heap, dtype=np.float64)


@njit(**_JIT)
def check_status(code):
    """Raise the ``ValueError`` that status ``code`` stands for; nothing for ``OK`` (0).

    For the codes of the ``*_status`` functions, after a ``prange`` loop (where numba
    does not deliver exceptions); callable from jitted code and from Python.
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
    raise ValueError(_MSG_STATUS)


@njit(**_JIT)
def allocate_into_scratch_status(lam, budget, out, ties, heap):
    """:func:`allocate_into_scratch` that never raises: returns a status code (``OK`` is 0).

    For ``prange`` bodies; a call that returns another code wrote nothing.
    """
    _check_allocation(lam, budget, out)
    _check_scratch(ties, heap)
    n = lam.shape[0]
    if budget < 0 or budget > _MAX_BUDGET:
        return BUDGET_OUT_OF_RANGE
    if out.shape[0] != n:
        return OUT_SHAPE
    least_ties, least_heap = _scratch_lengths(n)
    if ties.shape[0] < least_ties or heap.shape[0] < least_heap:
        return SCRATCH_TOO_SMALL
    return threshold.allocate_into(lam, budget, out, ties, heap)


@njit(**_JIT)
def allocate_into_status(lam, budget, out):
    """:func:`allocate_into` that never raises: returns a status code (``OK`` is 0).

    For ``prange`` bodies; a call that returns another code wrote nothing.
    """
    _check_allocation(lam, budget, out)  # before the scratch, for the caller's wording
    ties, heap = scratch(lam.shape[0])
    return allocate_into_scratch_status(lam, budget, out, ties, heap)


@njit(**_JIT)
def allocate_into_scratch(lam, budget, out, ties, heap):
    """:func:`allocate_into` with caller-owned scratch (see :func:`scratch`): allocates nothing."""
    check_status(allocate_into_scratch_status(lam, budget, out, ties, heap))


@njit(**_JIT)
def allocate_into(lam, budget, out):
    """The canonical allocation of ``budget`` tasks over ``lam`` into ``out`` (int64, shape ``(n,)``).

    Raises ``ValueError`` (leaving ``out`` untouched) for NaN or negative ``lam``, a budget
    outside ``[0, 2**53]``, a wrong ``out`` length, or ``budget > 0`` with no available
    worker. Not in a ``prange`` body: use :func:`allocate_into_status` there.
    """
    check_status(allocate_into_status(lam, budget, out))


@njit(**_JIT)
def observe_into(workers, durations, counts, means, m2):
    """Add per-task samples (worker ids, durations) to the statistics, all or none."""
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
    """ATA's lower confidence bounds into ``s`` (``+inf`` where ``available == 0``)."""
    _bounds(counts, means, available, VARIANT_ATA, alpha, rounds, s)


@njit(**_JIT)
def ata_empirical_bounds_into(counts, means, available, eta, rounds, s):
    """ATA-Empirical's lower confidence bounds into ``s`` (``+inf`` where ``available == 0``)."""
    _bounds(counts, means, available, VARIANT_EMPIRICAL, eta, rounds, s)


@njit(**_JIT)
def ata_bernstein_bounds_into(counts, means, m2, available, eta, rounds, s):
    """ATA-Bernstein's lower confidence bounds into ``s`` with its inequality's constant ``c = 1``
    (``+inf`` where ``available == 0``); ``m2`` is Welford's sum of squared deviations."""
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
    been compiled against an older fastata (see the module docstring)."""
    if compiled != VERSION:
        raise _validate.stale_jit_cache(compiled, VERSION)

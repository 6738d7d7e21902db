"""fastata's kernels for your own ``@njit`` code: call them where a Python call is not possible.

Every function here is a numba dispatcher (``cache=True, nogil=True``), callable from
Python and from inside ``@njit`` / ``@njit(parallel=True)`` functions, where numba links
it straight into your code::

    import numpy as np
    from numba import njit, prange
    from fastata.jit import allocate_into

    @njit(parallel=True)
    def allocate_many(lam2d, budget, out):
        for r in prange(lam2d.shape[0]):
            allocate_into(lam2d[r], budget, out[r])

Inputs must already be what the kernels read: C-contiguous float64 ``lam`` (int64
``out``), as numba passes them. Bad values raise ``ValueError`` inside the jitted code,
with the messages of :mod:`fastata._validate` (a jitted raise carries a constant message,
so it names the parameter and the rule but not the offending value).

Functions
---------
``allocate_into(lam, budget, out)``
    The canonical allocation (DESIGN.md section 2) into ``out``; scratch is allocated per
    call. In a hot loop, allocate the scratch once with ``scratch(n)`` and call
    ``allocate_into_scratch(lam, budget, out, ties, heap)``, which allocates nothing.
``observe_into(workers, durations, counts, means, m2)``
    Welford's update of the per-worker statistics; checks every sample first, so a
    rejected batch changes nothing.
``ata_bounds_into(counts, means, available, alpha, rounds, s)`` and
``ata_empirical_bounds_into(counts, means, available, eta, rounds, s)``
    The lower confidence bounds of ATA and ATA-Empirical after ``rounds`` completed
    rounds, with the paper's constant ``c = 2``; ``available`` is uint8 (0 = unavailable).
"""

import math

import numpy as np
from numba import njit

from . import _validate
from .kernels import stats, threshold
from .kernels.status import (
    DURATION_NEGATIVE,
    DURATION_NOT_FINITE,
    LAM_NAN,
    LAM_NEGATIVE,
    NO_AVAILABLE_WORKER,
    VARIANT_ATA,
    VARIANT_EMPIRICAL,
    WORKER_OUT_OF_RANGE,
)

_JIT = dict(cache=True, nogil=True, error_model="numpy")
_PAPER_C = 2.0  # fastata.policies.PAPER_C; not imported, so that this module stays light

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
_MAX_BUDGET = _validate.MAX_BUDGET


@njit(**_JIT)
def scratch(n):
    """``(ties, heap)``: the scratch :func:`allocate_into_scratch` needs for ``n`` workers."""
    return np.empty(max(n, 1), dtype=np.int64), np.empty(n + 2, dtype=np.float64)


@njit(**_JIT)
def _raise_for_allocation(code):
    if code == LAM_NAN:
        raise ValueError(_MSG_LAM_NAN)
    if code == LAM_NEGATIVE:
        raise ValueError(_MSG_LAM_NEGATIVE)
    if code == NO_AVAILABLE_WORKER:
        raise ValueError(_MSG_NO_WORKER)


@njit(**_JIT)
def allocate_into_scratch(lam, budget, out, ties, heap):
    """:func:`allocate_into` with caller-owned scratch (see :func:`scratch`): allocates nothing."""
    n = lam.shape[0]
    if budget < 0 or budget > _MAX_BUDGET:
        raise ValueError(_MSG_BUDGET)
    if out.shape[0] != n:
        raise ValueError(_MSG_OUT_SHAPE)
    if ties.shape[0] < n or heap.shape[0] < n + 2:
        raise ValueError(_MSG_SCRATCH)
    code = threshold.allocate_into(lam, budget, out, ties, heap)
    if code != 0:
        _raise_for_allocation(code)


@njit(**_JIT)
def allocate_into(lam, budget, out):
    """The canonical allocation of ``budget`` tasks over ``lam`` into ``out`` (int64, shape ``(n,)``).

    Raises ``ValueError`` (leaving ``out`` untouched) for NaN or negative ``lam``, a budget
    outside ``[0, 2**53]``, a wrong ``out`` length, or ``budget > 0`` with no available worker.
    """
    ties, heap = scratch(lam.shape[0])
    allocate_into_scratch(lam, budget, out, ties, heap)


@njit(**_JIT)
def observe_into(workers, durations, counts, means, m2):
    """Add per-task samples (worker ids, durations) to the statistics, all or none."""
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

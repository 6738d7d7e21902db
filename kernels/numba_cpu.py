"""Numba CPU backend: ``@njit(cache=True)`` wrappers around the shared exact algorithm.

The algorithm lives in :mod:`threshold` (shared with the cuda backend); this file only
compiles it and adds ``prange`` over batched problems. Nothing is compiled at import
time: each kernel compiles (or loads from numba's on-disk cache) on first call.
"""

from numba import njit, prange

from . import stats, threshold

# One place for the compile options of every kernel in this file.
_JIT = dict(cache=True, nogil=True, error_model="numpy")


@njit(**_JIT)
def allocate_into(lam, budget, out, ties, heap):
    """Canonical allocation into ``out``; returns a status code (see ``status.py``)."""
    return threshold.allocate_into(lam, budget, out, ties, heap)


@njit(parallel=True, **_JIT)
def allocate_batch_into(lam2d, budgets, out, ties, heap, status):
    """Row ``r`` of ``out`` gets the allocation of ``budgets[r]`` over ``lam2d[r]``, in parallel.

    Every row is checked before any is written, so a rejected batch changes nothing.
    """
    if threshold.check_batch(lam2d, budgets, status) >= 0:
        return
    for r in prange(lam2d.shape[0]):
        status[r] = threshold.allocate_into(lam2d[r], budgets[r], out[r], ties[r], heap[r])


@njit(**_JIT)
def empty_allocate_into(lam, budget, out, ties, heap):
    """Takes what :func:`allocate_into` takes and does nothing: the call-overhead floor."""
    return 0


# --- Policy statistics and bounds (shared code in stats.py) ---------------------------


@njit(**_JIT)
def observe_into(workers, durations, counts, means, m2):
    """Check every sample, then add them all (Welford); returns a status code."""
    return stats.observe_into(workers, durations, counts, means, m2)


@njit(**_JIT)
def bounds_into(counts, means, available, variant, weight, log_term, s):
    """Lower confidence bounds of ATA (``variant`` 0) or ATA-Empirical (1) into ``s``."""
    stats.bounds_into(counts, means, available, variant, weight, log_term, s)


@njit(**_JIT)
def policy_round(counts, means, m2, available, variant, weight, log_term, gamma, budget, s, out, ties, heap):
    """Bounds, allocation and discount of one round in one call; returns a status code."""
    return stats.policy_round(
        counts, means, m2, available, variant, weight, log_term, gamma, budget, s, out, ties, heap
    )

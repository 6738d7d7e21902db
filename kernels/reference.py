"""The reference backend: the allocation contract written as plainly as possible.

This is the test oracle (and the fallback when no compiled backend is present).
It follows DESIGN.md section 2 to the letter: hand the ``budget`` tasks out one at a
time, each to the worker with the smallest key ``((a_i + 1) * lam_i, a_i, i)``.
It is O(budget log n): correct, not fast.
"""

import heapq
import math

from .status import LAM_NAN, LAM_NEGATIVE, NO_AVAILABLE_WORKER, OK


def scan_lam(lam):
    """Status of a 1-D ``lam``: NaN or negative entries, as the fast kernels report them."""
    for x in lam:
        if x != x:
            return LAM_NAN
        if x < 0.0:
            return LAM_NEGATIVE
    return OK


def allocate_into(lam, budget, out, ties=None, heap=None):
    """Fill ``out`` with the canonical allocation of ``budget`` tasks; return a status code.

    Workers with ``lam = +inf`` are unavailable and get nothing; all others start
    with the key ``(lam_i, 0, i)``. ``float(a + 1) * lam`` is the IEEE float64
    product named by the contract (an overflowing product is ``+inf`` and still
    ordered by ``(a_i, i)``).
    """
    status = scan_lam(lam)
    if status != OK:
        return status
    heap = [(float(x), 0, i) for i, x in enumerate(lam) if x != math.inf]
    if budget > 0 and not heap:
        return NO_AVAILABLE_WORKER
    out[:] = 0
    heapq.heapify(heap)
    for _ in range(budget):
        _, a, i = heap[0]
        out[i] = a + 1
        heapq.heapreplace(heap, (float(a + 2) * float(lam[i]), a + 1, i))
    return OK


def allocate_batch_into(lam2d, budgets, out, ties, heap, status):
    """Row by row :func:`allocate_into`; ``status[r]`` receives each row's code.

    Every row is checked before any is written, so a rejected batch changes nothing.
    """
    for r in range(lam2d.shape[0]):
        status[r] = scan_lam(lam2d[r])
        if status[r] == OK and budgets[r] > 0 and not (lam2d[r] < math.inf).any():
            status[r] = NO_AVAILABLE_WORKER
    if status.any():
        return
    for r in range(lam2d.shape[0]):
        status[r] = allocate_into(lam2d[r], int(budgets[r]), out[r])


def empty_allocate_into(lam, budget, out, ties=None, heap=None):
    """Takes what :func:`allocate_into` takes and does nothing: the call-overhead floor."""
    return OK

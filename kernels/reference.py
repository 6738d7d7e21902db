"""The reference backend: the allocation contract written as plainly as possible.

This is the test oracle (and the fallback when no compiled backend is present).
It follows DESIGN.md section 2 to the letter: hand the ``budget`` tasks out one at a
time, each to the worker with the smallest key ``((a_i + 1) * lam_i, a_i, i)``.
It is O(budget log n): correct, not fast.
"""

import heapq
import math

import numpy as np

from .status import (
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
    WORKER_OUT_OF_RANGE,
)


def scan_lam(lam):
    """Status of a 1-D ``lam``: NaN or negative entries, as the fast kernels report them."""
    for x in lam:
        if x != x:
            return LAM_NAN
        if x < 0.0:
            return LAM_NEGATIVE
    return OK


def fit_available_minimum(lam, value, low, bits):
    """The minimums of one ``min_tasks`` for every worker, which leaves the unavailable ones
    out: ``low[i] = value`` where ``lam[i] < +inf``, 0 where ``lam[i] = +inf``. ``bits``
    (uint32, bit ``i % 32`` of word ``i // 32``) marks the unavailable workers. Returns how
    many workers are unavailable.

    ``low`` and ``bits`` are kept from call to call (``fastata._validate``), starting as
    ``value`` everywhere and 0. The compiled version (Cython) writes only the words whose
    bits changed since the last call; this one writes them all."""
    unavailable = np.asarray(lam) == math.inf
    low[:] = np.where(unavailable, 0, value)
    padded = np.zeros(bits.shape[0] * 32, dtype=bool)
    padded[: unavailable.shape[0]] = unavailable
    bits[:] = np.packbits(padded, bitorder="little").view("<u4")
    return int(unavailable.sum())


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


def scan_bounds(lam, budget, min_tasks, max_tasks):
    """Status of the bounds, checked worker by worker (then the sums) in the kernels' order."""
    for x, low, high in zip(lam, min_tasks, max_tasks):
        if low < 0:
            return MIN_NEGATIVE
        if low > high:
            return BOUNDS_CROSSED
        if x == math.inf and low > 0:
            return MIN_ON_UNAVAILABLE
    if sum(int(v) for v in min_tasks) > budget:
        return MIN_OVER_BUDGET
    if sum(min(int(high), budget) for x, high in zip(lam, max_tasks) if x != math.inf) < budget:
        return CAPACITY_SHORT
    return OK


def allocate_bounded_into(lam, budget, min_tasks, max_tasks, out, ties=None, heap=None):
    """:func:`allocate_into` with ``min_tasks <= out <= max_tasks`` (DESIGN.md section 2).

    Start from ``a = min_tasks``; hand the remaining tasks out one at a time, each to the
    worker with the smallest key ``((a_i + 1) * lam_i, a_i, i)`` among those below their
    maximum.
    """
    status = scan_lam(lam)
    if status == OK and budget > 0 and not any(x != math.inf for x in lam):
        status = NO_AVAILABLE_WORKER
    if status == OK:
        status = scan_bounds(lam, budget, min_tasks, max_tasks)
    if status != OK:
        return status
    out[:] = min_tasks
    heap = [(float(a + 1) * float(x), int(a), i) for i, (x, a) in enumerate(zip(lam, min_tasks))
            if x != math.inf and a < max_tasks[i]]
    heapq.heapify(heap)
    for _ in range(budget - int(sum(int(v) for v in min_tasks))):
        _, a, i = heap[0]
        out[i] = a + 1
        if a + 1 < max_tasks[i]:
            heapq.heapreplace(heap, (float(a + 2) * float(lam[i]), a + 1, i))
        else:
            heapq.heappop(heap)
    return OK


def allocate_bounded_warm_into(lam, budget, min_tasks, max_tasks, out, ties, heap, warm):
    """:func:`allocate_bounded_into` (the greedy has no search to warm-start)."""
    return allocate_bounded_into(lam, budget, min_tasks, max_tasks, out)


def allocate_warm_into(lam, budget, out, ties, heap, warm):
    """:func:`allocate_into`: the greedy has no search to warm-start (``warm`` is left as it is)."""
    return allocate_into(lam, budget, out)


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


def allocate_batch_bounded_into(lam2d, budgets, lo2d, hi2d, out, ties, heap, status):
    """:func:`allocate_batch_into` with per-row bounds (a row per problem, or one row for all);
    every row is checked before any is written."""
    for r in range(lam2d.shape[0]):
        status[r] = scan_lam(lam2d[r])
        if status[r] == OK and budgets[r] > 0 and not (lam2d[r] < math.inf).any():
            status[r] = NO_AVAILABLE_WORKER
        if status[r] == OK:
            status[r] = scan_bounds(lam2d[r], int(budgets[r]), lo2d[r % len(lo2d)], hi2d[r % len(hi2d)])
    if status.any():
        return
    for r in range(lam2d.shape[0]):
        status[r] = allocate_bounded_into(lam2d[r], int(budgets[r]), lo2d[r % len(lo2d)], hi2d[r % len(hi2d)], out[r])


def empty_allocate_into(lam, budget, out, ties=None, heap=None):
    """Takes what :func:`allocate_into` takes and does nothing: the call-overhead floor."""
    return OK


# --- Policy statistics and bounds (DESIGN.md section 3) --------------------------------
# The same operations in the same order as stats.py, written as plain loops.


def observe_into(workers, durations, counts, means, m2):
    """Check every sample (ids in ``[0, n)``, durations finite and ``>= 0``), then add them all.

    Welford's update with weight 1 per sample, in the order given. The first bad
    sample decides the status, and a rejected batch changes nothing.
    """
    n = counts.shape[0]
    for w, x in zip(workers, durations):
        if not 0 <= w < n:
            return WORKER_OUT_OF_RANGE
        if math.isnan(x) or math.isinf(x):
            return DURATION_NOT_FINITE
        if x < 0.0:
            return DURATION_NEGATIVE
    for w, x in zip(workers, durations):
        x = float(x)
        k = float(counts[w]) + 1.0
        delta = x - float(means[w])
        mean = float(means[w]) + delta / k
        counts[w] = k
        means[w] = mean
        m2[w] = float(m2[w]) + delta * (x - mean)
    return OK


def bounds_into(counts, means, available, variant, weight, log_term, s):
    """Lower confidence bounds into ``s``.

    ``c_i = sqrt(L / K_i) + L / K_i``; ATA: ``max(mean_i - weight * c_i, 0)``,
    ATA-Empirical: ``mean_i * max(1 - weight * c_i, 0)``; 0 while ``K_i = 0``,
    ``+inf`` for an unavailable worker.
    """
    for i in range(counts.shape[0]):
        k = float(counts[i])
        if not available[i]:
            s[i] = math.inf
        elif k > 0.0:
            r = log_term / k
            ci = math.sqrt(r) + r
            if variant == VARIANT_ATA:
                s[i] = max(float(means[i]) - weight * ci, 0.0)
            else:
                s[i] = float(means[i]) * max(1.0 - weight * ci, 0.0)
        else:
            s[i] = 0.0


def bernstein_bounds_into(counts, means, m2, available, c, ce, log_term, s):
    """ATA-Bernstein's lower confidence bounds into ``s`` (``ce = c * eta``; stats.py has the formulas)."""
    for i in range(counts.shape[0]):
        k = float(counts[i])
        mean = float(means[i])
        if not available[i]:
            s[i] = math.inf
        elif k > 0.0 and mean > 0.0:
            r = log_term / k
            u = c * math.sqrt(2.0 * r)
            e = ce * r
            bu = ce * math.sqrt(24.0 * r) * u
            spread = float(m2[i]) / k
            square = mean * mean
            # IEEE's quotient, as the kernels take it: the square underflows to 0 for means below
            # about 1e-162, where Python's division raises (NaN if there is no spread either).
            v = spread / square if square > 0.0 else (math.inf if spread > 0.0 else math.nan)
            uu = u * u
            a2 = 1.0 - uu * (1.0 + v)
            x = e + 3.0 * ce * math.sqrt(2.0 * r)  # sigma <= 3 eta mu (Lyapunov), without the variance
            if a2 > 0.0:
                b1 = 2.0 * e + bu + 2.0 * uu * v
                a0 = e * e + bu * e - uu * v
                disc = b1 * b1 - 4.0 * a2 * a0
                disc = disc if disc > 0.0 else 0.0
                xv = (b1 + math.sqrt(disc)) / (2.0 * a2)
                x = xv if xv < x else x
            s[i] = mean / (1.0 + x)
        else:
            s[i] = 0.0


def policy_round(counts, means, m2, available, variant, weight, log_term, gamma, budget, s, out, ties, heap):
    """Bounds into ``s``, the allocation into ``out``, then ``K`` and ``M2`` times ``gamma``."""
    bounds_into(counts, means, available, variant, weight, log_term, s)
    status = allocate_into(s, budget, out)
    if status == OK and gamma != 1.0:
        for i in range(counts.shape[0]):
            counts[i] = float(counts[i]) * gamma
            m2[i] = float(m2[i]) * gamma
    return status


def policy_round_warm(counts, means, m2, available, variant, weight, log_term, gamma, budget, s, out, ties, heap,
                      warm):
    """:func:`policy_round` (the greedy has no search to warm-start: ``warm`` is left as it is)."""
    return policy_round(counts, means, m2, available, variant, weight, log_term, gamma, budget, s, out, ties, heap)

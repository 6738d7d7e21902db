"""The exact threshold algorithm, written once for the numba and cuda backends.

Every function here is ``register_jitable``: plain Python when called from
Python, inlined into the caller when called from ``@njit`` or ``@cuda.jit`` code.
The Cython backend (``cython_cpu.pyx``) is a line-by-line port; the reference
backend (``reference.py``) is the oracle they are all tested against.

Why it is exact (DESIGN.md section 2). Worker ``i`` owns the keys
``(fl(j * lam_i), j, i)``, ``j >= 1``, increasing in ``j``; the canonical allocation
gives ``a_i`` = the number of worker ``i``'s keys among the ``budget`` smallest keys.
For a float threshold ``t`` the keys with product ``<= t`` are a prefix of that order,
and we can count them exactly per worker (``count_le``). So:

1. Guess ``t`` from the relaxation ``T = (budget + n/2) / sum(1/lam)``; count the
   prefix. If it holds exactly ``budget`` keys, it *is* the answer (the usual case
   for ``n = 1`` and a frequent one otherwise).
2. Otherwise the deficit ``d`` is O(sqrt n) on typical inputs and at most about
   ``n/2``: a bounded heap of ``|d|`` products, streamed once over the workers,
   finds the product ``t*`` of the ``budget``-th smallest key. Equal products do
   not move a heap entry, so tied workers cost O(1) each.
3. Keys with product ``< t*`` are all taken; the keys with product exactly ``t*``
   are taken in ``(j, i)`` order, found by a water-filling level ``J``.

A bracketing search replaces step 2 in the pathological cases where the guess is
too far off for the heap (products that overflow, budgets near 2**53).
"""

import math
import sys

from numba.extending import register_jitable

from .status import LAM_NAN, LAM_NEGATIVE, NO_AVAILABLE_WORKER, OK

INF = math.inf
DBL_MAX = sys.float_info.max
#: Upper bound on bracketing steps; each one halves the bracket (in exponent, then
#: mantissa), so about 2 * 64 suffice; the bound only guards against a bug.
MAX_REFINE = 4096
#: 2**64: how far the bracketing search jumps up while it has no upper bound.
GROWTH = 18446744073709551616.0
#: Newton steps tried while the deficit is large. With few tasks per worker the
#: fractional parts of t/lam are not uniform, the centred guess is off by O(n), and one
#: O(n) recount is far cheaper than a heap of that size; ties defeat Newton, so stop early.
MAX_NEWTON = 2


@register_jitable
def count_le(x, t, cap):
    """Number of ``j`` in ``1..cap`` with ``fl(j * x) <= t``, for ``x > 0`` and ``0 <= t <= DBL_MAX``.

    ``t / x`` is only a guess (off by at most one after rounding); the float products
    decide, so the count is exact. ``x = +inf`` counts 0 (``0 * inf`` is NaN, which
    compares false), so callers need no availability test.
    """
    q = t / x
    c = cap if q >= cap else int(q)
    return count_le_from(x, t, cap, c)


@register_jitable
def count_le_from(x, t, cap, c):
    """:func:`count_le` from a guess ``c`` in ``[0, cap]``: no division, a step or two when ``c`` is close."""
    while c < cap and (c + 1) * x <= t:
        c += 1
    # No "c > 0" guard: 0 * x = 0 <= t always, and that guard is a badly predicted branch.
    while c * x > t:
        c -= 1
    return c


@register_jitable
def heap_push(heap, size, v):
    """Push ``v`` onto the max-heap ``heap[:size]`` (the caller increments size)."""
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        if heap[parent] >= v:
            break
        heap[i] = heap[parent]
        i = parent
    heap[i] = v


@register_jitable
def heap_replace_top(heap, size, v):
    """Replace the largest entry of the max-heap ``heap[:size]`` by ``v``."""
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and heap[child + 1] > heap[child]:
            child += 1
        if heap[child] <= v:
            break
        heap[i] = heap[child]
        i = child
    heap[i] = v


@register_jitable
def scan(lam, budget):
    """Validate ``lam`` in one pass, before anything is written.

    Returns ``(status, n_zero, n_avail, inv_sum, lam_min)``, the last three over the
    available workers (``0 < lam < inf``).
    """
    n_zero = 0
    n_avail = 0
    inv_sum = 0.0
    lam_min = INF
    for i in range(lam.shape[0]):
        x = lam[i]
        if not (x >= 0.0):
            if x != x:
                return LAM_NAN, 0, 0, 0.0, 0.0
            return LAM_NEGATIVE, 0, 0, 0.0, 0.0
        if x == 0.0:
            n_zero += 1
        elif x < INF:
            n_avail += 1
            inv_sum += 1.0 / x
            if x < lam_min:
                lam_min = x
    if budget > 0 and n_zero == 0 and n_avail == 0:
        return NO_AVAILABLE_WORKER, 0, 0, 0.0, 0.0
    return OK, n_zero, n_avail, inv_sum, lam_min


@register_jitable
def round_robin_zeros(lam, budget, n_zero, out):
    """``lam = 0`` workers take every task, round-robin, lowest index first."""
    share = budget // n_zero
    extra = budget - share * n_zero
    for i in range(lam.shape[0]):
        if lam[i] == 0.0:
            if extra > 0:
                out[i] = share + 1
                extra -= 1
            else:
                out[i] = share


@register_jitable
def relaxation(lam, budget, n_avail, inv_sum, lam_min):
    """Centred relaxation threshold ``(budget + n/2) / sum(1/lam)``, overflow-safe."""
    target = budget + 0.5 * n_avail
    if inv_sum < INF:
        t = target / inv_sum
    else:
        # 1/lam overflowed (subnormal lam): sum lam_min/lam, which lies in [1, n].
        s = 0.0
        for i in range(lam.shape[0]):
            x = lam[i]
            if x < INF:
                s += lam_min / x
        t = lam_min * (target / s)
    return min(t, DBL_MAX)


@register_jitable
def count_prefix(lam, t, budget, limit, out, recount):
    """``out[i]`` = worker i's keys with product ``<= t``; returns their sum, saturated at ``limit``.

    With ``recount``, ``out`` holds the counts at a nearby threshold and serves as the guess.
    """
    total = 0
    for i in range(lam.shape[0]):
        # No availability test: lam = +inf counts 0 by itself, and the branch costs.
        x = lam[i]
        c = count_le_from(x, t, budget, out[i]) if recount else count_le(x, t, budget)
        out[i] = c
        total += c if total <= limit else 0
    return total


@register_jitable
def product_of_next(lam, budget, k, out, heap):
    """Product of the ``k``-th smallest key above the prefix ``out`` (``k <= heap.size``)."""
    size = 0
    for i in range(lam.shape[0]):
        x = lam[i]
        if 0.0 < x < INF:
            j = out[i] + 1
            while j <= budget:
                p = j * x
                if size < k:
                    heap_push(heap, size, p)
                    size += 1
                elif p < heap[0]:
                    heap_replace_top(heap, size, p)
                else:
                    break
                j += 1
    return heap[0]


@register_jitable
def product_of_last(lam, k, out, heap):
    """Product of the ``k``-th largest key inside the prefix ``out`` (``k <= heap.size``).

    The heap keeps negated products, so the same max-heap serves both directions.
    """
    size = 0
    for i in range(lam.shape[0]):
        x = lam[i]
        if 0.0 < x < INF:
            j = out[i]
            while j >= 1:
                v = -(j * x)
                if size < k:
                    heap_push(heap, size, v)
                    size += 1
                elif v < heap[0]:
                    heap_replace_top(heap, size, v)
                else:
                    break
                j -= 1
    return -heap[0]


@register_jitable
def find_threshold(lam, budget, t, slope, out, heap):
    """Product ``t*`` of the ``budget``-th smallest key, or ``-1.0`` if the prefix at ``t`` is exact.

    When ``-1.0`` is returned, ``out`` already holds the allocation.
    """
    room = heap.shape[0]
    limit = budget + room + 1
    newton_limit = 4.0 * math.sqrt(lam.shape[0]) + 32.0
    lo = 0.0  # invariant: fewer than budget keys have product <= lo
    hi = INF  # invariant: more than budget keys have product <= hi
    deficit = 0
    fits = False
    for step in range(MAX_REFINE):
        deficit = budget - count_prefix(lam, t, budget, limit, out, step > 0)
        if deficit == 0:
            return -1.0
        if deficit > 0 and t >= DBL_MAX:
            return INF  # every missing key's product overflows
        fits = deficit <= room if deficit > 0 else 1 - deficit <= room
        if fits and (step >= MAX_NEWTON or abs(deficit) <= newton_limit):
            break
        if deficit > 0:
            lo = t
        else:
            hi = t
        nxt = t + deficit / slope if step < MAX_NEWTON else -1.0
        if not (lo < nxt < hi):
            if fits:
                break  # Newton cannot help here (ties); the heap can
            # The guess is too far off for the heap: shrink the bracket and retry.
            if hi == INF:
                nxt = min(lo * GROWTH, DBL_MAX)
            elif lo == 0.0:
                nxt = hi / GROWTH
            elif hi > 4.0 * lo:
                nxt = math.sqrt(lo) * math.sqrt(hi)
            else:
                nxt = 0.5 * lo + 0.5 * hi
        if not (lo < nxt < hi):
            return hi  # lo and hi are adjacent floats: every boundary key has product hi
        t = nxt
    if not fits:
        return hi  # bracketing never converged (a bug guard): never overrun the heap
    if deficit > 0:
        return product_of_next(lam, budget, deficit, out, heap)
    return product_of_last(lam, 1 - deficit, out, heap)


@register_jitable
def tie_count(out, ties, level):
    """Number of tied keys with ``j <= level``; worker i's tied keys are ``j`` in ``(out[i], out[i] + ties[i]]``."""
    total = 0
    for i in range(out.shape[0]):
        if ties[i] > 0:
            total += min(max(level - out[i], 0), ties[i])
    return total


@register_jitable
def take_ties(lam, budget, tstar, out, ties):
    """Fill ``out`` given the threshold ``t*``: every key below it, then ties in ``(j, i)`` order."""
    taken = 0
    j_lo = budget + 1
    j_hi = 0
    for i in range(lam.shape[0]):
        x = lam[i]
        if 0.0 < x < INF:
            if tstar == INF:
                below = count_le(x, DBL_MAX, budget)
                upto = budget
            else:
                upto = count_le_from(x, tstar, budget, out[i])
                below = upto
                while below * x >= tstar:  # 0 * x < t*: stops at 0 without a guard
                    below -= 1
            out[i] = below
            ties[i] = upto - below
            taken += below
            if upto > below:
                j_lo = min(j_lo, below + 1)
                j_hi = max(j_hi, upto)
        else:
            ties[i] = 0
    remaining = budget - taken
    # Smallest level J whose tied keys (j <= J) cover what remains.
    level = j_lo
    if j_lo < j_hi:
        hi = j_hi
        while level < hi:
            mid = level + (hi - level) // 2
            if tie_count(out, ties, mid) >= remaining:
                hi = mid
            else:
                level = mid + 1
        remaining -= tie_count(out, ties, level - 1)
    for i in range(lam.shape[0]):
        if ties[i] > 0:
            below = out[i]
            out[i] = below + min(max(level - 1 - below, 0), ties[i])
            if remaining > 0 and below < level <= below + ties[i]:
                out[i] += 1
                remaining -= 1


@register_jitable
def allocate_into(lam, budget, out, ties, heap):
    """Canonical allocation of ``budget`` tasks over ``lam`` into ``out``; returns a status code.

    ``ties`` (int64, ``>= n``) and ``heap`` (float64, ``>= n + 2``) are scratch. Assumes
    ``0 <= budget <= 2**53`` so that every task index is exact in float64.
    """
    status, n_zero, n_avail, inv_sum, lam_min = scan(lam, budget)
    if status != OK:
        return status  # out untouched: a rejected call changes nothing
    for i in range(lam.shape[0]):
        out[i] = 0
    if budget == 0:
        return OK
    if n_zero > 0:
        round_robin_zeros(lam, budget, n_zero, out)
        return OK
    t = relaxation(lam, budget, n_avail, inv_sum, lam_min)
    slope = inv_sum if inv_sum < INF else INF
    tstar = find_threshold(lam, budget, t, slope, out, heap)
    if tstar >= 0.0:
        take_ties(lam, budget, tstar, out, ties)
    return OK


@register_jitable
def check_batch(lam2d, budgets, status):
    """``status[r]`` for every row, without writing any allocation; returns the first bad row or -1.

    Batched kernels call this first so that a rejected batch leaves ``out`` untouched.
    """
    first_bad = -1
    for r in range(lam2d.shape[0]):
        status[r] = scan(lam2d[r], budgets[r])[0]
        if status[r] != OK and first_bad < 0:
            first_bad = r
    return first_bad

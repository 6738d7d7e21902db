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

1. ``scan`` validates ``lam`` and sums ``1/lam`` in branch-free loops the compiler
   vectorises; the relaxation ``T = (budget + n/2) / sum(1/lam)`` guesses ``t``.
2. ``bracket_and_select`` (the usual case): counting passes, also branch-free, at
   Newton steps aimed a little past the target, until two thresholds bracket the
   ``budget``-th key with only a few keys between them (O(sqrt n) on typical inputs);
   those keys are sorted in the canonical order and the first ones taken. If a count
   lands on ``budget`` exactly, that prefix *is* the answer.
3. When counts jump by many keys at once (ties: many equal ``lam``), or the guess is far
   off, the general search takes over: ``find_threshold`` finds the product ``t*`` of
   the ``budget``-th smallest key (Newton, bracketing, then a bounded heap of ``|d|``
   products streamed once over the workers; equal products do not move a heap entry,
   so tied workers cost O(1) each), and ``take_ties`` takes every key below ``t*`` and
   the keys at ``t*`` in ``(j, i)`` order, by a water-filling level ``J``.
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
#: Counting passes the bracketing fast path may spend before the general search takes over.
MAX_BRACKET_STEPS = 8


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
def count_le_fast(x, t, cap):
    """:func:`count_le` without branches (``cap`` as a float), so that loops over it vectorise.

    ``q = fl(t / x)`` is correctly rounded and every integer up to ``2**53`` is a float, so
    ``floor(q)`` and the exact count both lie in ``{floor(t/x), floor(t/x) + 1}`` (capped):
    one step each way decides.
    """
    c = float(int(min(t / x, cap)))  # t / x >= 0, so truncation is the floor
    c += 1.0 if (c < cap) & ((c + 1.0) * x <= t) else 0.0
    c -= 1.0 if c * x > t else 0.0
    return int(c)


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
def scan(lam, budget, scratch):
    """Validate ``lam`` in one pass, before anything is written.

    Returns ``(status, n_zero, n_avail, inv_sum, lam_min)``, the last three over the
    available workers (``0 < lam < inf``). ``scratch`` (float64, length >= n) receives
    ``1 / lam``.
    """
    # The common case, every entry in (0, +inf], in branch-free loops the compiler
    # vectorises: the divisions first, then eight partial sums (float addition may not
    # be reordered for it). A NaN, zero or negative entry sends us to the exact pass.
    n = lam.shape[0]
    n_bad = 0
    n_finite = 0
    for i in range(n):
        x = lam[i]
        scratch[i] = 1.0 / x
        n_bad += int(not (x > 0.0))
        n_finite += int(x < INF)
    if n_bad > 0 or n_finite == 0:
        return scan_exact(lam, budget)
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    blocks = n // 8
    for block in range(blocks):
        i = 8 * block
        s0 += scratch[i]
        s1 += scratch[i + 1]
        s2 += scratch[i + 2]
        s3 += scratch[i + 3]
        s4 += scratch[i + 4]
        s5 += scratch[i + 5]
        s6 += scratch[i + 6]
        s7 += scratch[i + 7]
    for i in range(8 * blocks, n):
        s0 += scratch[i]
    inv_sum = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
    if not (inv_sum < INF):
        return scan_exact(lam, budget)  # 1/lam overflowed: relaxation needs lam_min
    return OK, 0, n_finite, inv_sum, 0.0


@register_jitable
def scan_exact(lam, budget):
    """:func:`scan`, one entry at a time: finds what is wrong, and sums ``1/lam`` safely."""
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
def count_prefix(lam, t, budget, limit, out):
    """``out[i]`` = worker i's keys with product ``<= t``; returns their sum, saturated at ``limit``."""
    cap = float(budget)
    if cap * lam.shape[0] < 4e18:
        # The sum cannot overflow: no saturation, so the loop stays branch-free.
        total = 0
        for i in range(lam.shape[0]):
            c = count_le_fast(lam[i], t, cap)
            out[i] = c
            total += c
        return min(total, limit)
    total = 0
    for i in range(lam.shape[0]):
        c = count_le_fast(lam[i], t, cap)
        out[i] = c
        total = min(total + c, limit)
    return total


@register_jitable
def product_of_next(lam, budget, k, out, heap):
    """Product of the ``k``-th smallest key above the prefix ``out`` (``k <= heap.size``)."""
    size = 0
    top = INF  # heap[0] once the heap is full; until then every finite key enters
    for i in range(lam.shape[0]):
        x = lam[i]
        j = out[i] + 1
        # Most workers' next key is above the heap's top: one product and one test.
        # (lam = +inf gives +inf, which never enters; nor do products that overflow.)
        if j * x < top:
            while j <= budget:
                p = j * x
                if size < k:
                    if p == INF:
                        break
                    heap_push(heap, size, p)
                    size += 1
                elif p < heap[0]:
                    heap_replace_top(heap, size, p)
                else:
                    break
                j += 1
            if size == k:
                top = heap[0]
    return top


@register_jitable
def product_of_last(lam, k, out, heap):
    """Product of the ``k``-th largest key inside the prefix ``out`` (``k <= heap.size``).

    The heap keeps negated products, so the same max-heap serves both directions.
    """
    size = 0
    top = INF
    for i in range(lam.shape[0]):
        x = lam[i]
        j = out[i]
        if -(j * x) < top:  # lam = +inf has j = 0, and 0 * inf = NaN never enters
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
            if size == k:
                top = heap[0]
    return -top


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
        deficit = budget - count_prefix(lam, t, budget, limit, out)
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
def split_at(x, tstar, budget, c):
    """``(below, upto)``: a worker's keys with product ``< t*`` and ``<= t*`` (``0 < x < inf``);
    ``c`` is a guess of ``upto`` in ``[0, budget]``. ``t* = inf`` means the keys whose product
    overflows: ``below`` counts the finite ones."""
    if tstar == INF:
        return count_le(x, DBL_MAX, budget), budget
    upto = count_le_from(x, tstar, budget, c)
    below = upto
    while below * x >= tstar:  # 0 * x < t*: stops at 0 without a guard
        below -= 1
    return below, upto


@register_jitable
def take_ties(lam, budget, tstar, out, ties):
    """Fill ``out`` given the threshold ``t*``: every key below it, then ties in ``(j, i)`` order.

    ``out`` holds the prefix counted at a threshold near ``t*``.
    """
    taken = 0
    j_lo = budget + 1
    j_hi = 0
    for i in range(lam.shape[0]):
        x = lam[i]
        c = out[i]
        ties[i] = 0
        # Most workers have their last key below t* and their next key above it: they
        # keep their count. One test for them, without the guards below.
        if c * x < tstar and (c >= budget or (c + 1) * x > tstar):
            taken += c
            continue
        if 0.0 < x < INF:
            below, upto = split_at(x, tstar, budget, c)
            out[i] = below
            ties[i] = upto - below
            taken += below
            if upto > below:
                j_lo = min(j_lo, below + 1)
                j_hi = max(j_hi, upto)
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
def key_before(p, j, i, heap, k):
    """Whether the key ``(p, j, i)`` comes before candidate ``k``, stored as the triple
    ``heap[3k : 3k + 3]`` (product, task index, worker)."""
    if p != heap[3 * k]:
        return p < heap[3 * k]
    if j != heap[3 * k + 1]:
        return j < heap[3 * k + 1]
    return i < heap[3 * k + 2]


@register_jitable
def select_between(lam, budget, taken, lo, hi, out, heap):
    """``out`` = the prefix ``lo`` (``taken`` keys) plus the ``budget - taken`` smallest of
    the keys counted in ``hi`` but not in ``lo``.

    The caller guarantees there are at most ``(n + 2) // 3`` of those, so that they fit in
    ``heap`` as triples; insertion keeps them in the canonical order ``(product, j, i)``,
    which settles ties exactly. ``lo`` or ``hi`` may be ``out`` itself.
    """
    m = 0
    for i in range(lam.shape[0]):
        below = lo[i]
        upto = hi[i]
        out[i] = below
        if upto > below:  # rare: the workers at the boundary
            x = lam[i]
            fi = float(i)
            for j in range(below + 1, upto + 1):
                p = j * x
                fj = float(j)
                k = m
                while k > 0 and key_before(p, fj, fi, heap, k - 1):
                    heap[3 * k] = heap[3 * k - 3]
                    heap[3 * k + 1] = heap[3 * k - 2]
                    heap[3 * k + 2] = heap[3 * k - 1]
                    k -= 1
                heap[3 * k] = p
                heap[3 * k + 1] = fj
                heap[3 * k + 2] = fi
                m += 1
    for k in range(budget - taken):
        out[int(heap[3 * k + 2])] += 1


@register_jitable
def next_guess(budget, t, c, slope, prev_t, prev_c, have_lo, lo_t, lo_c, hi_t, hi_c):
    """The next threshold to count while bracketing the ``budget``-th key (``c`` keys at ``t``).

    Aims past the side still missing (or the farther one) by about the counts' scatter
    around the linear model, so that the next count brackets closely. The counts' slope:
    ``sum(1/lam)`` holds only when every worker gets many tasks; with few, the secant
    through the last two counts (``prev_t < 0``: none yet) is far closer.
    """
    local = slope
    if prev_t >= 0.0 and c != prev_c:
        local = (c - prev_c) / (t - prev_t)
    margin = 2.0 * math.sqrt(abs(budget - c)) + 4.0
    if hi_t == INF or (have_lo and budget - lo_c <= hi_c - budget):
        target = budget + margin
    else:
        target = budget - margin
    if have_lo and hi_t < INF:
        return lo_t + (target - lo_c) * ((hi_t - lo_t) / (hi_c - lo_c))
    return t + (target - c) / local


@register_jitable
def bracket_and_select(lam, budget, t, slope, out, ties, heap):
    """The usual case, in a few branch-free counting passes: bracket the ``budget``-th key
    between two thresholds whose counts differ by a few keys, then sort those keys.

    Returns False if it gives up (counts that jump by many keys at once: ties, or a
    relaxation too far off); ``out`` and the scratch are then garbage, and the caller
    runs the general search. ``t`` is the first guess, ``slope`` about keys per unit of t.
    """
    n = lam.shape[0]
    width_max = min((n + 2) // 3, int(2.0 * math.sqrt(n)) + 16)
    limit = budget + n + 1
    lo_buf = out  # counts at lo_t, once have_lo
    try_buf = ties  # counts at the threshold last tried
    try_in_out = False
    have_lo = False
    last_was_hi = False
    lo_t = 0.0
    lo_c = 0
    hi_t = INF
    hi_c = limit
    prev_t = -1.0
    prev_c = 0
    for step in range(MAX_BRACKET_STEPS):
        c = count_prefix(lam, t, budget, limit, try_buf)
        if c == budget:  # the prefix at t is the allocation
            if not try_in_out:
                copy_into(try_buf, out)
            return True
        if c < budget:
            lo_t = t
            lo_c = c
            lo_buf, try_buf = try_buf, lo_buf
            try_in_out = not try_in_out
            have_lo = True
            last_was_hi = False
        else:
            hi_t = t
            hi_c = c
            last_was_hi = True
        if have_lo and hi_c - lo_c <= width_max:
            break
        nxt = next_guess(budget, t, c, slope, prev_t, prev_c, have_lo, lo_t, lo_c, hi_t, hi_c)
        prev_t = t
        prev_c = c
        t = nxt
        if not (lo_t < t < hi_t and t < DBL_MAX):
            return False
    else:
        return False
    if not last_was_hi:
        count_prefix(lam, hi_t, budget, limit, try_buf)  # overwritten since: count again
    select_between(lam, budget, lo_c, lo_buf, try_buf, out, heap)
    return True


@register_jitable
def copy_into(src, dst):
    """``dst[:] = src[:dst.size]`` (scratch may be longer than ``out``)."""
    for i in range(dst.shape[0]):
        dst[i] = src[i]


@register_jitable
def allocate_into(lam, budget, out, ties, heap):
    """Canonical allocation of ``budget`` tasks over ``lam`` into ``out``; returns a status code.

    ``ties`` (int64, ``>= n``) and ``heap`` (float64, ``>= n + 2``) are scratch. Assumes
    ``0 <= budget <= 2**53`` so that every task index is exact in float64.
    """
    status, n_zero, n_avail, inv_sum, lam_min = scan(lam, budget, heap)
    if status != OK:
        return status  # out untouched: a rejected call changes nothing
    if budget == 0 or n_zero > 0:
        for i in range(lam.shape[0]):
            out[i] = 0
        if budget > 0:
            round_robin_zeros(lam, budget, n_zero, out)
        return OK
    # No zeroing otherwise: the first count writes every out[i].
    t = relaxation(lam, budget, n_avail, inv_sum, lam_min)
    slope = inv_sum if inv_sum < INF else INF
    if bracket_and_select(lam, budget, t, slope, out, ties, heap):
        return OK
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
        status[r] = scan_exact(lam2d[r], budgets[r])[0]
        if status[r] != OK and first_bad < 0:
            first_bad = r
    return first_bad

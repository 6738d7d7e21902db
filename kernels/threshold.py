"""The exact threshold algorithm, written once for the numba and cuda backends.

Every function here is ``register_jitable``: plain Python when called from
Python, inlined into the caller when called from ``@njit`` or ``@cuda.jit`` code.
The Cython backend (``cython_cpu.pyx``) is a line-by-line port; the reference
backend (``reference.py``) is the oracle they are all tested against.

Why it is exact (DESIGN.md section 2). Worker ``i`` owns the keys
``(fl(j * lam_i), j, i)``, ``j >= 1``, increasing in ``j``; the canonical allocation
gives ``a_i`` = the number of worker ``i``'s keys among the ``budget`` smallest keys.
For a float threshold ``t`` the keys with product ``<= t`` are a prefix of that order,
and a pass over the workers counts them exactly (``count_one``). So:

1. ``scan`` validates ``lam``, stores ``1/lam`` and sums it; the centred relaxation
   ``t = (budget + n/2) / sum(1/lam)`` guesses the threshold. A call without bounds, from
   4096 workers, also takes the first estimate (step 2) in that pass, at the relaxation of
   a sample of the workers (``sampled_relaxation``), or warm-started at the previous
   call's bracket scaled by it: the pass waits on its divisions anyway.
2. ``estimate_bracket`` (from 256 workers, below ``budget = 2**51``, and above with bounds): estimate passes,
   ``sum_i trunc(t * (1/lam_i))`` over the stored ``1/lam`` alone, at secant steps aimed a
   little past the target, bracket the ``budget``-th key between two thresholds whose
   estimates differ by a few keys (O(sqrt n) on typical inputs). An estimate is off only
   where ``t / lam_i`` is within a few ulps of an integer, so a relative margin of
   ``2**-50`` on each end makes the bracket proven (``estimate_into``). One exact pass then
   counts the keys up to the lower end and lists the workers with keys between
   (``count_list_into``), and ``select_listed`` selects the first of those keys in the
   canonical order. With bounds, the first estimate pass also checks them
   (``scan_bounds_estimating``), and as workers at a bound stop counting, the second step
   divides by the slope that pass finds rather than by ``sum(1/lam)``; every later pass
   estimates at a pair of thresholds either side of the budget (``estimate_pair_into``).
   From 4096 workers the pass that validates ``lam`` and the bounds estimates at the
   sampled guess and 3 % above it; where the line through those two estimates can be
   trusted (``speculative_bracket``: smooth times, the budget near them), the count and
   listing go straight to the bracket it aims, and keep the answer if their exact count
   and the keys they list hold the budget; else the estimates run as they would have. So,
   from 32,768 workers, after a pair whose own secant agrees with the line the next pair
   would aim along, the budget near (``pair_line_trusted``): the count and listing go
   there, not another pair.
   Where bounds make the count grow like ``log t`` (``lam`` over many orders of
   magnitude, :func:`log_like`), steps and pairs aim along a line in ``log t``.
3. ``allocate_positive``, when the estimates do not bracket closely or on few workers:
   counting passes at the same secant steps bracket the key exactly; a count that lands
   on ``budget`` is the answer, a narrow bracket goes to ``select_between``.
4. Ties (many equal or commensurate ``lam``) make the count jump by many keys at one
   product, and no threshold brackets closely. The estimates stop at the jump: a sample of
   the workers holds many keys at one product in their bracket (``sampled_top``), or else
   a step finds the count flat, and the product a few workers have next to where the
   line through the estimates at the bracket's ends reaches the budget (``product_near``)
   is the guess; the split below checks the guess as ``t*``. Failing that, each exact pass
   also finds the products next to its threshold (``count_extremes_into``): no step lands
   in a gap between products, and when a single product is left inside the bracket it is
   the product ``t*`` of the ``budget``-th key. Steps that shrink the bracket geometrically
   bound the passes whatever the input.
5. Given ``t*``, ``take_at`` takes every key below it in one pass and the keys at ``t*``
   in ``(j, i)`` order. The pass writes one array: a worker's keys below ``t*``, or ``-j``
   when it has a key at ``t*`` at level ``j``; the level passes read the signs. Below
   ``budget = 2**51`` a worker owns at most one key at a finite ``t*`` (two equal
   products ``j * x`` and ``(j + 1) * x`` need ``j >= 2**52``), so this is a selection of
   the level ``J`` among at most ``n`` integers (``select_level``): a bisection with
   counting passes over a few levels, a radix histogram over a wide spread. Keys that
   overflow (``t* = inf``), and counts from about ``2**52``, where the split finds a
   worker with two keys at ``t*``, are the multi-key case (``take_ties``), and so are
   ``lam = 0`` workers with room under bounds (``fill_zeros_bounded``): a worker's keys at
   ``t*`` are an interval of levels, and ``tied_level`` selects ``J`` in one pass where
   the count is linear (intervals alike, or all from a low level to the budget), else by
   a radix select over the levels.

Bounds that leave each worker at most one task of room (``max_tasks = min_tasks + 1``) make
the allocation a selection of one key a worker: from ``UNIT_SLACK_FROM`` workers,
:func:`allocate_unit_slack` counts the keys below eight sampled cuts in one pass and writes
and lists in a second, without ``1/lam``; it gives way to the steps above where the sample
or the counts do not fit it. Without bounds, a budget below the workers is the same
selection (``min_tasks=0, max_tasks=1``) where twice the least time is past the taken keys:
no worker's second key comes before them (times a few percent apart, a few machine types).

Times that take at most eight distinct values (a few machine types, all equal), each with
one pair of bounds where bounds are given, are solved over a table of them
(:func:`allocate_few_times`): a pass counts the workers at each time (and checks bounds
given as arrays), ``t*`` comes from the table alone, a pass writes.

Where the time goes (DESIGN.md section 4): a handful of passes over ``n``. Below
``budget = 2**51`` the counting passes multiply by the stored ``1/lam`` instead of
dividing: ``fl(t * fl(1/x))`` is within ``t/x * 2**-52`` of ``t/x``, so its floor is at
most one off the exact count and the same one step each way corrects it (the step up
and the step down cannot both be needed below ``2**51``). The counts stay float64
(exact integers) and are summed in float64; ``numba_cpu`` lets exactly those sums
reassociate so that they vectorise, which changes no result. Over ``lam`` spanning hundreds
of orders of magnitude, products below ``2**-1022`` would each cost a microcode assist: the
estimate passes and the count that lists flush them to zero (:func:`flush_tiny`), and the
validation pass keeps its own products clear of them (:func:`reach_of_inverse`,
:func:`inverse_checking_pass`); no count changes.
"""

import math
import sys

import numpy as np
from numba.extending import register_jitable

from .status import (
    BOUNDS_CROSSED,
    CAPACITY_SHORT,
    LAM_NAN,
    LAM_NEGATIVE,
    MIN_NEGATIVE,
    MIN_ON_UNAVAILABLE,
    MIN_OVER_BUDGET,
    NO_AVAILABLE_WORKER,
    OK,
)

INF = math.inf
DBL_MAX = sys.float_info.max
#: The least normal float64, 2**-1022.
TINY = sys.float_info.min
#: Below this budget, counts are taken from ``t * (1/lam)`` (see the module docstring),
#: and a worker owns at most one key at any finite product.
RECIPROCAL_CAP = 2.0**51
#: Where the conversions of :func:`int_of` and :func:`float_of` stop holding.
TWO52 = 2.0**52
TWO52_INT = 2**52
#: :func:`count_divided` divides ``t`` by at most ``t`` times this.
DIVISOR_CAP = 2.0**1021
#: Upper bound on refinement steps; each one shrinks the bracket at least geometrically
#: (in exponent, then mantissa), so about 2 * 64 suffice; the bound only guards a bug.
MAX_REFINE = 4096
#: 2**64: how far the search jumps up while it has no upper bound.
GROWTH = 18446744073709551616.0
#: Counting passes the secant bracketing may spend before steps that shrink geometrically
#: (each a secant kept within the middle three quarters: from budgets of 2**51, whose
#: brackets must close to a few hundred keys in 2**52, 8 left the last steps crawling
#: by that eighth; 16 took 919 -> 818 passes over the big-budget table with bounds, the
#: same elsewhere).
MAX_BRACKET_STEPS = 16
#: A bracket whose ends are further apart than this factor, where the counts grew by less
#: than the square root of it, is interpolated in ``log t`` (see :func:`log_like`).
WIDE = 2.0
#: From this many workers on, the second count already finds the products next to its
#: threshold (see :func:`allocate_positive`).
EXTREMES_N = 256
#: Relative margin on a threshold that turns an estimate (:func:`estimate_into`) into a
#: bound on the exact count: ``fl(s * fl(1/x))`` and ``fl(j * x)`` are each within a few ulps.
ESTIMATE_MARGIN = 2.0**-50
#: The cap on an estimate's terms: its passes take a worker's bounds as floats below
#: ``2**52`` (:func:`float_of`). From ``2**52`` tasks a worker whose count passes it is
#: estimated low, which only weakens the estimate (the exact passes check every bracket);
#: the caller estimates only where no minimum and no worker's share of the relaxation is
#: that large (:func:`allocate_guided`).
ESTIMATE_TERMS_CAP = 2**52 - 1
#: Estimate passes one call spends at most before the exact passes take over.
MAX_ESTIMATES = 12
#: Thresholds whose estimates are certified: near them every product is a normal float.
ESTIMATE_LOW = 2.0**-1000
ESTIMATE_HIGH = 2.0**1000
#: Estimates are read as integers up to here: far past any budget (<= 2**53), so that a step
#: past the budget still tells by how far (a sum above 2**53 is rounded, which only matters
#: near the budget, where it is exact).
ESTIMATE_CAP = 2**62
#: What :func:`estimate_bracket` found: a bracket narrow enough to select in, an estimate
#: equal to the budget, a count that jumps (ties), a product that many sampled workers
#: share (ties: the likely ``t*``), or the allocation itself (a pair's line aimed the count
#: and listing, :func:`pair_line_trusted`).
NARROW = 1
LANDED = 2
JUMP = 3
TIED = 4
SELECTED = 5
#: What :func:`take_at` returns when it has filled ``out``.
TAKEN = -1


# --- Rounding on every target ------------------------------------------------------------
# numba's CPU target compiles np.trunc and its kin to one vector instruction each;
# numba-cuda has no such ufuncs, only libdevice's functions of the same name (as exact:
# rounding to an integer and stepping to the next float round nothing). These four are
# numpy's in Python, on the CPU and under the CUDA simulator; ``cuda.py`` overloads them for
# the CUDA target, which numba prefers there to these generic versions.
# ``tests/test_cuda_compile.py`` compiles every CUDA kernel, which the simulator cannot check.


@register_jitable
def trunc(x):
    return np.trunc(x)


@register_jitable
def floor(x):
    return np.floor(x)


@register_jitable
def rint(x):
    return np.rint(x)


@register_jitable
def nextafter(x, y):
    return np.nextafter(x, y)


# --- Counting the keys below a threshold ------------------------------------------------


@register_jitable
def count_le(x, t, cap):
    """Number of ``j`` in ``1..cap`` with ``fl(j * x) <= t``, for ``x > 0`` and ``0 <= t <= DBL_MAX``.

    ``t / x`` is only a guess (off by at most one after rounding); the float products
    decide, so the count is exact. ``x = +inf`` counts 0 (``0 * inf`` is NaN, which
    compares false), so callers need no availability test.
    """
    q = t / (x + 0.0)  # lam = -0.0 divides as +0 (inverse_terms)
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
    """:func:`count_le` as :func:`count_divided` counts it (``cap`` as a float)."""
    return int(count_divided(x, t, cap))


@register_jitable
def count_divided(x, t, cap):
    """The exact count of :func:`count_le` as a float, by division, for any ``cap <= 2**53``.

    ``q = fl(t / x)`` is correctly rounded and every integer up to ``2**53`` is a float, so
    ``trunc(q)`` and the exact count both lie in ``{floor(t/x), floor(t/x) + 1}`` (capped): one
    step each way decides. Branch-free and in floats, so that passes over it vectorise. ``q``
    is NaN only at ``t = x = 0`` or ``t = x = inf``, where every key's product is ``t``: the cap.

    A worker more than ``2**1021`` times slower than ``t`` divides by that instead: ``q`` then
    truncates to 0 as before, but is never below ``2**-1022``, which x86 divides many times
    slower (``lam`` over 600 orders of magnitude: a pass took 5.6 numpy passes, not 1.6).
    """
    q = t / min(x + 0.0, max(t * DIVISOR_CAP, TINY))  # lam = -0.0: +inf, as lam = 0
    c = trunc(q) if q < cap else cap  # q >= 0: truncation floors
    c += 1.0 if (c < cap) & ((c + 1.0) * x <= t) else 0.0
    return c - (1.0 if c * x > t else 0.0)


@register_jitable
def count_one(x, inv, t, cap):
    """The exact count of :func:`count_le` as a float, from ``inv = fl(1/x)``; needs ``cap < 2**51``.

    Branch-free and without integer conversions, so that passes over it vectorise on
    any x86-64 (AVX2 has no packed float64-to-int64 conversion).
    """
    return count_product(x, inv, t, cap)[0]


@register_jitable
def count_product(x, inv, t, cap):
    """``(count_one, p)``: ``p`` the product of the count before its last step down, which is
    ``t`` exactly where the count's last key has product ``t`` (for ``t > 0``): a step down
    means ``p > t``, and then the key below cannot be at ``t``, since ``trunc(t * inv)``, within
    a few ulps of ``t / x``, would have been under the count, not at it (``cap < 2**51``)."""
    c = trunc(min(t * inv, cap))  # t * inv >= 0 (NaN only for x = 0, never counted)
    c += 1.0 if (c < cap) & ((c + 1.0) * x <= t) else 0.0
    p = c * x
    return c - (1.0 if p > t else 0.0), p


# Four bit-level helpers. Here they are plain conversions; ``numba_cpu`` compiles them
# for the CPU as bit reinterpretations, because AVX2 has no packed conversion between
# float64 and int64 and a pass that converts each lane stops vectorising.


@register_jitable
def saturated(total, limit):
    """A float sum of counts as an int, held at ``limit`` (at most ``2**62``): past ``2**63``
    ``int()`` does not hold (a compiled backend reads such a sum negative), and every sum
    past a budget means the same, too many keys."""
    return limit if total >= limit else int(total)


@register_jitable
def int_of(c):
    """``int(c)`` for an integer-valued float64 in ``[0, 2**52)``."""
    return int(c)


@register_jitable
def float_of(k):
    """``float(k)`` for an int64 in ``[0, 2**52)``."""
    return float(k)


@register_jitable
def order_key(p):
    """A value that orders as ``p`` does, for ``p`` in ``(0, +inf]`` (on the CPU: its bits)."""
    return p


@register_jitable
def sign_bit(x):
    """Negative where ``x < 0`` (on the CPU: the bits of ``x``, negative also for -0.0 and a
    NaN with its sign bit set)."""
    return -int(x < 0.0)


@register_jitable
def from_order_key(k):
    """The ``p`` of :func:`order_key`."""
    return k


# Two more for the estimate passes and the count that lists. Where ``lam`` spans hundreds of
# orders of magnitude, a threshold times ``1/lam`` of the slowest workers falls below
# 2**-1022, and x86 computes such a product in microcode, many times slower. An estimate term
# is ``trunc(s * (1/lam))``, 0 for any product below 1, so flushing those products to zero
# changes no estimate: ``numba_cpu`` compiles these two as setting and restoring the
# flush-to-zero bit of the x86 MXCSR register around the pass. Not around a pass that
# divides, which would flush a quotient, nor one whose products of ``lam`` (which may be
# subnormal) it keeps, as the extremes of :func:`count_extremes_into`.


@register_jitable
def flush_tiny():
    """Start flushing results below ``2**-1022`` to zero; returns what :func:`restore_tiny` takes."""
    return 0


@register_jitable
def restore_tiny(state):
    """Undo :func:`flush_tiny`."""
    return state


@register_jitable
def wide_vectors():
    """Mark the pass that calls it to be vectorised at the widest SIMD the CPU has.

    A no-op here, in plain Python and on the GPU. ``numba_cpu`` compiles it as the LLVM
    function attribute ``"prefer-vector-width"="512"`` on the calling pass (and keeps the
    pass from being inlined, which would lose it): LLVM's tuning for several AVX-512 CPUs
    (Ice Lake, Rocket Lake) prefers 256-bit vectors, and numba takes that tuning for the
    whole process, so these passes ran half as wide as the Cython kernel's AVX-512 loops.
    Without AVX-512 the attribute changes nothing. Not in the validation pass without
    bounds, which waits on its divisions: wider vectors slowed it.
    """
    return 0


# Per-worker bounds (DESIGN.md section 2): worker i owns the keys j = min_i + 1 .. max_i, so a
# count is clamped to [min_i, max_i] and the algorithm is otherwise the same. Every function
# that counts takes ``lo`` and ``hi`` (int64 arrays of min_tasks and max_tasks), or None for
# none: numba compiles the None case without a trace of the bounds. On the CPU both bounds
# may also be one int64 each for every worker (:func:`bound_of`): numba compiles that case
# with the bounds read once, before each pass's loop (a pass over blocks tests
# ``isinstance(lo, int)``, which numba decides as it compiles, before it slices them).


@register_jitable
def bound_of(b, i):
    """Worker ``i``'s bound: ``b[i]``, or ``b`` itself where the bound is one integer for every
    worker (numba decides which as it compiles)."""
    if isinstance(b, int):
        return b
    return b[i]


@register_jitable
def minimum_of(lo, i, available):
    """Worker ``i``'s ``min_tasks``: ``lo[i]``, or, where the minimum is one integer (bounds given
    as numbers), that integer for an available worker and 0 for an unavailable one, as a
    single ``min_tasks`` means. ``available``: ``lam_i != inf`` (or ``1/lam_i != 0``, where a
    pass reads only the stored inverse), which numba leaves out for arrays."""
    if isinstance(lo, int):
        return lo if available else 0
    return lo[i]


@register_jitable
def minimums_into(lam, lo, out, taken):
    """``out[i] = min_tasks_i`` for every worker, whose sum is ``taken``: a minimum given as a
    number that sum shows on every worker is written without a look at ``lam``."""
    n = out.shape[0]
    # Scalars only past the type's test: CUDA types what a false isinstance guards too.
    first = bound_of(lo, 0) if n > 0 else 0
    if given_as_number(lo) and (first == 0 or taken // first == n):
        for i in range(n):
            out[i] = first
        return
    for i in range(n):
        out[i] = minimum_of(lo, i, lam[i] != INF)


@register_jitable
def given_as_number(b):
    """Whether the bound ``b`` is one integer for every worker (numba decides as it compiles)."""
    return isinstance(b, int)


@register_jitable
def floor_at(lo, i, available):
    """``min_tasks`` of worker ``i`` as a float (0 without bounds; :func:`minimum_of`);
    ``lo[i] <= budget < 2**51``."""
    if lo is None:
        return 0.0
    # For a number, a select of two floats: the conversion stays out of the loop. (No call
    # on lo in a branch of its own: CUDA types both branches, and float_of takes no array.)
    low = float_of(bound_of(lo, i))
    return low if available or not isinstance(lo, int) else 0.0


@register_jitable
def cap_at(hi, i, budget, cap):
    """``min(max_tasks_i, budget)`` as a float (``cap = float(budget)`` without bounds), for
    ``budget < 2**51``."""
    if hi is None:
        return cap
    return float_of(min(bound_of(hi, i), budget))


@register_jitable
def int_of_wide(c):
    """``int(c)`` for an integer-valued float64 in ``[0, 2**53]``: :func:`int_of` of what lies
    below ``2**52``, in two parts above it (branch-free)."""
    part = TWO52 if c >= TWO52 else 0.0
    return int_of(c - part) + int_of(part)


@register_jitable
def float_of_wide(k):
    """``float(k)`` for an int64 in ``[0, 2**53]``, as :func:`int_of_wide` splits it."""
    part = TWO52_INT if k >= TWO52_INT else 0
    return float_of(k - part) + float_of(part)


@register_jitable
def low_of(lo, i, available):
    """``min_tasks`` of worker ``i`` as an int (0 without bounds; :func:`minimum_of`)."""
    if lo is None:
        return 0
    return minimum_of(lo, i, available)


@register_jitable
def high_of(hi, i, budget):
    """``min(max_tasks_i, budget)`` as an int (``budget`` without bounds)."""
    if hi is None:
        return budget
    return min(bound_of(hi, i), budget)


@register_jitable
def count_into(lam, inv, t, budget, counts, lo, hi):
    """``counts[i]`` = worker i's keys with product ``<= t``; returns their sum as a float64.

    The numba backend compiles this with float reassociation (see ``numba_cpu``): every
    term is an integer and so is every partial sum, so the order cannot change the sum
    while it stays below ``2**53``, and above it the sum only needs to exceed the budget.
    """
    wide_vectors()
    cap = float(budget)
    total = 0.0
    for i in range(lam.shape[0]):
        c = max(count_one(lam[i], inv[i], t, cap_at(hi, i, budget, cap)), floor_at(lo, i, lam[i] != INF))
        counts[i] = int_of(c)
        total += c
    return total


@register_jitable
def count_extremes_into(lam, inv, t, budget, counts, lo, hi):
    """:func:`count_into`, and the products next to ``t``: ``(sum, smallest product of a key
    above t, largest at or below t)`` (``+inf`` and 0 when there is none)."""
    wide_vectors()
    cap = float(budget)
    total = 0.0
    above = order_key(INF)
    below = order_key(0.0)
    for i in range(lam.shape[0]):
        x = lam[i]
        cap_i = cap_at(hi, i, budget, cap)
        floor_i = floor_at(lo, i, x != INF)
        c = max(count_one(x, inv[i], t, cap_i), floor_i)
        counts[i] = int_of(c)
        total += c
        p = order_key((c + 1.0) * x if c < cap_i else INF)
        above = p if p < above else above
        q = order_key(c * x if c > floor_i else 0.0)
        below = q if q > below else below
    return total, from_order_key(above), from_order_key(below)


@register_jitable
def count_into_divided(lam, t, budget, limit, counts, lo, hi):
    """:func:`count_extremes_into` by division, for budgets from ``2**51`` or when ``1/lam``
    overflowed: the sum as an int64 saturated at ``limit`` (at most ``2**62``).

    Branch-free and in floats up to the write (:func:`count_divided`, :func:`int_of_wide`), so
    that it vectorises: a scalar loop with branches took 6-40 numpy passes at 65,536 workers.
    The counts add up exactly past ``2**53``, where a float sum would round and the
    bracket's width, which sizes the selection's scratch, must not: as two int64 sums, of
    their bits above and below bit 32, which cannot overflow below ``2**31`` workers (a
    saturating sum a worker at a time does not vectorise).
    """
    wide_vectors()
    cap = float(budget)  # exact: budget <= 2**53
    high = 0
    low = 0
    above = order_key(INF)
    below = order_key(0.0)
    for i in range(lam.shape[0]):
        x = lam[i]
        c, cap_i, floor_i = divided_count_at(lam, i, t, budget, cap, lo, hi)
        k = int_of_wide(c)
        counts[i] = k
        high += k >> 32
        low += k & 0xFFFFFFFF
        p = order_key((c + 1.0) * x if c < cap_i else INF)
        above = p if p < above else above
        q = order_key(c * x if c > floor_i else 0.0)
        below = q if q > below else below
    return wide_total(high, low, limit), from_order_key(above), from_order_key(below)


@register_jitable
def divided_count_at(lam, i, t, budget, cap, lo, hi):
    """Worker ``i``'s count at ``t`` by division (:func:`count_divided`), clamped to its bounds,
    with the cap and minimum it was clamped to, as floats exact up to ``2**53`` (``cap =
    float(budget)``: the cap without bounds)."""
    cap_i = cap if hi is None else float_of_wide(high_of(hi, i, budget))
    floor_i = 0.0 if lo is None else float_of_wide(minimum_of(lo, i, lam[i] != INF))
    return max(count_divided(lam[i], t, cap_i), floor_i), cap_i, floor_i


@register_jitable
def wide_total(high, low, limit):
    """The sum of counts added as their bits above bit 32 (``high``) and below it (``low``),
    saturated at ``limit <= 2**62``."""
    high += low >> 32
    return limit if high > (limit >> 32) else min((high << 32) + (low & 0xFFFFFFFF), limit)


@register_jitable
def count_at(lam, inv, t, budget, limit, reach, extremes, counts, lo, hi):
    """``counts[i]`` = worker i's keys with product ``<= t``; returns ``(their sum saturated at
    limit, smallest product above t, largest at or below t)``.

    Counted from the stored ``1/lam`` where ``t <= reach`` (see :func:`reach_of_inverse`), else
    by division. Without ``extremes`` the products are not looked for (``t`` and ``+inf`` come
    back: no information).
    """
    if not (t <= reach):
        return count_into_divided(lam, t, budget, limit, counts, lo, hi)
    if extremes:
        total, above, below = count_extremes_into(lam, inv, t, budget, counts, lo, hi)
    else:
        total = count_into(lam, inv, t, budget, counts, lo, hi)
        above = t
        below = INF
    return saturated(total, limit), above, below


# --- Validation, zeros and the first guess ----------------------------------------------


@register_jitable
def inverse_pass(lam, inv, s, s2, budget, zero_above):
    """``inv[i] = 1/lam[i]``, or 0 where ``lam[i] > zero_above`` (:func:`reach_of_inverse`; None:
    nowhere); returns ``(sum of inv over lam > 0, entries not >= 0, zeros,
    entries < inf, estimate at s, estimate at s2, largest inv)``: the estimates of
    :func:`estimate_into` without bounds, which mean something only for valid ``lam`` without
    zeros (``s = 1``, ``budget = 0``: 0, when no estimate is wanted; ``s2`` None: 0, compiled
    without it, which numba's loop would take a fifth longer for), and
    ``1/lam`` of the fastest worker, which bounds ``t*`` without bounds (see :func:`scan`).

    Branch-free, so that it vectorises. The sum feeds only the first guess, never a
    result, so the numba backend lets it reassociate (and Cython sums in SIMD lanes). It
    leaves ``lam = 0`` workers out: with bounds they take their maximum at any threshold
    and the relaxation is over the others. The pass waits on its divisions: the estimate
    in it costs nothing measurable, and saves a pass of its own; so does the comparison
    with ``zero_above``. The sum and the largest inv are of the true ``1/lam``; the estimate
    reads the stored value.
    """
    cap = float(budget)
    total = 0.0
    n_invalid = 0
    n_zero = 0
    n_finite = 0
    estimate = 0.0
    second = 0.0
    top = order_key(0.0)  # as bits on the CPU: an integer max vectorises, a float max does not
    for i in range(lam.shape[0]):
        v, positive, invalid, zero, finite, k = inverse_terms(lam, i)
        w = stored_inverse(v, lam[i], zero_above)
        inv[i] = w
        total += positive
        n_invalid += invalid
        n_zero += zero
        n_finite += finite
        estimate += max(min(trunc(s * w), cap), 0.0)
        second += paired_term(s2, w, cap)
        top = k if k > top else top
    return total, n_invalid, n_zero, n_finite, estimate, second, from_order_key(top)


@register_jitable
def paired_term(s2, w, cap):
    """Worker's term of :func:`inverse_pass`'s estimate at ``s2`` (None: 0, compiled without)."""
    if s2 is None:
        return 0.0
    return max(min(trunc(s2 * w), cap), 0.0)


@register_jitable
def stored_inverse(v, x, zero_above):
    """What the validation pass stores for ``v = 1/x``: 0 where ``x > zero_above`` (None: ``v``
    everywhere, compiled without the comparison)."""
    if zero_above is None:
        return v
    return 0.0 if x > zero_above else v


@register_jitable
def clamped(x, least):
    """``max(x, least)`` (None: ``x``, compiled without the maximum)."""
    if least is None:
        return x
    return max(x, least)


@register_jitable
def inverse_terms(lam, i):
    """Worker ``i``'s terms of :func:`inverse_pass`: ``(1/lam_i, 1/lam_i if lam_i > 0 else 0,
    not >= 0, zero, < inf, order key of 1/lam_i)``."""
    x = lam[i]
    # + 0.0: lam = -0.0 is a zero worker, whose 1/lam the passes after read as +inf (the
    # sum leaves no sign on a zero, and only "reassoc" is allowed: see numba_cpu).
    v = 1.0 / (x + 0.0)
    return v, v if x > 0.0 else 0.0, int(not (x >= 0.0)), int(x == 0.0), int(x < INF), order_key(max(v, 0.0))


@register_jitable
def scan(lam, budget, inv, s, s2, zero_above):
    """Validate ``lam`` in one pass, before anything is written; ``inv[i] = 1/lam[i]`` (0 where
    ``lam[i] > zero_above``, None: nowhere; :func:`inverse_pass`).

    Returns ``(status, n_zero, n_avail, inv_sum, lam_min, estimate, second)``, the middle three over
    the available workers (``0 < lam < inf``); ``lam_min`` is ``1/max(1/lam)``, within an ulp
    (with zeros 0, and -1 where ``inv_sum`` overflowed or ``1/max(1/lam)`` did: the caller
    asks :func:`scan_exact` for it if it needs it, which a rescale spares, see
    :func:`allocate_guided`).
    ``estimate``: :func:`estimate_into` without bounds at ``s > 0``,
    taken in the same pass, where the estimate passes may start (no zeros, ``1/lam`` summed
    without overflow), else -1; ``second``: the same at ``s2 > 0`` too, else -1.

    Without bounds, the fastest worker alone holds ``budget`` keys at ``budget * lam_min``:
    ``t*`` is at most that, and past it the count stalls (that worker is at the budget) and
    looks like ties to a secant step; the estimates never look there (:func:`estimate_bracket`).
    """
    if s > 0.0 < s2:
        inv_sum, n_invalid, n_zero, n_finite, estimate, second, top = inverse_pass(lam, inv, s, s2, budget, zero_above)
    else:
        inv_sum, n_invalid, n_zero, n_finite, estimate, second, top = inverse_pass(
            lam, inv, s if s > 0.0 else 1.0, None, budget if s > 0.0 else 0, zero_above)
    if n_invalid > 0:
        return scan_exact(lam, budget) + (-1.0, -1.0)
    if n_zero > 0:
        return OK, n_zero, n_finite - n_zero, inv_sum, 0.0, -1.0, -1.0
    if n_finite == 0:
        return scan_exact(lam, budget) + (-1.0, -1.0)  # no available worker: its status
    if not (inv_sum < INF):
        return OK, 0, n_finite, INF, -1.0, -1.0, -1.0  # 1/lam overflowed: lam_min not known (scan_exact)
    lam_min = 1.0 / top
    if not (lam_min < INF):  # every time within a few ulps of the largest double: 1/(1/lam) rounds past it
        lam_min = -1.0
    return OK, 0, n_finite, inv_sum, lam_min, estimate if s > 0.0 else -1.0, second if s > 0.0 < s2 else -1.0


@register_jitable
def scan_exact(lam, budget):
    """:func:`scan`, one entry at a time: finds what is wrong, and sums ``1/lam`` safely."""
    wide_vectors()
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
    wide_vectors()
    share = budget // n_zero
    extra = budget - share * n_zero
    seen = 0
    for i in range(lam.shape[0]):  # branch-free: zeros may lie anywhere
        z = int(lam[i] == 0.0)
        out[i] = z * (share + int(seen < extra))
        seen += z


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
            if 0.0 < x < INF:
                s += lam_min / x
        t = lam_min * (target / s)
    return min(t, DBL_MAX)


# --- A narrow bracket: list the few keys between, select in the canonical order ---------


@register_jitable
def key_before(heap, a, b):
    """Whether candidate ``a`` comes before candidate ``b``; candidate ``k`` is the triple
    ``heap[3k : 3k + 3]`` (product, task index, worker): the canonical order."""
    pa = heap[3 * a]
    pb = heap[3 * b]
    if pa != pb:
        return pa < pb
    if heap[3 * a + 1] != heap[3 * b + 1]:
        return heap[3 * a + 1] < heap[3 * b + 1]
    return heap[3 * a + 2] < heap[3 * b + 2]


@register_jitable
def swap_entries(values, a, b, width):
    """Swap entries ``a`` and ``b`` of ``values``, each ``width`` consecutive items (a candidate's
    triple in :func:`select_first`, a sampled key's pair in :func:`nth_sampled_key`)."""
    for f in range(width):
        v = values[width * a + f]
        values[width * a + f] = values[width * b + f]
        values[width * b + f] = v


@register_jitable
def select_first(heap, m, k):
    """Reorder the ``m`` candidates so that the first ``k`` are the ``k`` smallest (``0 < k <= m``).

    Quickselect with a median-of-three pivot, insertion sort below 16 candidates: linear on
    average, and the candidates are distinct keys (no ties to degrade it).
    """
    lo = 0
    hi = m - 1  # the k-th smallest (index k - 1) lies in [lo, hi]
    target = k - 1
    while hi - lo >= 16:
        mid = lo + (hi - lo) // 2
        # Median of three into position lo as the pivot.
        if key_before(heap, mid, lo):
            swap_entries(heap, mid, lo, 3)
        if key_before(heap, hi, lo):
            swap_entries(heap, hi, lo, 3)
        if key_before(heap, hi, mid):
            swap_entries(heap, hi, mid, 3)
        swap_entries(heap, lo, mid, 3)  # pivot (the median) at lo
        i = lo + 1
        j = hi
        while True:
            while i <= j and key_before(heap, i, lo):
                i += 1
            while i <= j and key_before(heap, lo, j):
                j -= 1
            if i >= j:
                break
            swap_entries(heap, i, j, 3)
            i += 1
            j -= 1
        swap_entries(heap, lo, j, 3)  # pivot at its final place j
        if j == target:
            return
        if j < target:
            lo = j + 1
        else:
            hi = j - 1
    for a in range(lo + 1, hi + 1):
        b = a
        while b > lo and key_before(heap, b, b - 1):
            swap_entries(heap, b, b - 1, 3)
            b -= 1


#: Workers per block of :func:`select_between`'s listing: a block is first tested as a whole,
#: in a loop that vectorises, and listed one worker at a time only if it holds a key between.
LIST_BLOCK = 64


@register_jitable
def select_between(lam, budget, lo_c, hi_t, out, idx, heap, lo, hi):
    """``out`` = the prefix it holds (``lo_c`` keys) plus the ``budget - lo_c`` smallest keys
    above it with product ``<= hi_t``.

    Returns False, ``out`` unfinished, when more than ``(n + 2) // 3`` such keys (the room in
    ``heap``, as triples) are found: callers that count exactly never find so many.
    """
    m = list_all_between(lam, budget, hi_t, out, idx, hi)
    return select_listed(lam, budget, lo_c, hi_t, out, idx, m, heap, hi)


@register_jitable
def list_all_between(lam, budget, hi_t, out, idx, hi):
    """The workers with a key above their count ``out[i]`` and at or below ``hi_t``, into ``idx``:
    returns how many.

    Few workers have a key between: a branch per worker would keep the whole pass scalar
    (three times slower at 65,536 workers). The test of a block runs a fixed number of
    times, which is what lets numba vectorise it.
    """
    wide_vectors()
    n = lam.shape[0]
    m = 0
    for start in range(0, n - n % LIST_BLOCK, LIST_BLOCK):
        found = 0
        for k in range(LIST_BLOCK):
            i = start + k
            found += key_between(lam[i], out[i], high_of(hi, i, budget), hi) <= hi_t
        if found > 0:
            m = list_between(lam, budget, hi_t, out, idx, hi, start, start + LIST_BLOCK, m)
    return list_between(lam, budget, hi_t, out, idx, hi, n - n % LIST_BLOCK, n, m)


#: A product ``q = fl(t * fl(1/lam_i))`` farther than ``q * COUNT_MARGIN`` from every integer
#: floors to worker i's exact count at ``t``: ``q`` is within ``2**-51`` of ``t / lam_i``
#: (``2**-50.5`` where ``1/lam_i`` is subnormal), and a key's float product within ``2**-53``
#: of ``j * lam_i``, so no key is in doubt (see :func:`count_list_into`).
COUNT_MARGIN = 2.0**-48

#: Workers per block of :func:`count_list_into`: a block is counted in a loop that vectorises,
#: and one with a key within reach is gone through again, a worker at a time, to list it.
#: Half :data:`LIST_BLOCK`: a bounded count at 65,536 workers finds a key in about a quarter
#: of its blocks, and shorter blocks list less for little more of the reductions that end
#: each block. numba's calls with bounds at 65,536 workers took 2-15 % less, without bounds
#: at 4096 workers 10 % less, none more (256-bit and AVX2 code alike; 16 was slower without
#: bounds, and blocks whose size is no power of two vectorise worse).
COUNT_LIST_BLOCK = 32


@register_jitable
def count_list_into(lam, inv, t, budget, hi_t, counts, idx, lo, hi):
    """:func:`count_into` at ``t`` and :func:`select_between`'s listing of the workers with a key
    in ``(t, hi_t]``, in one pass: returns ``(the count's sum, workers listed in idx)``.

    The counts come from ``1/lam`` alone, ``trunc(t * (1/lam_i))`` clamped, wherever that
    product is not within :data:`COUNT_MARGIN` of an integer, which away from ties is every
    worker: the pass then reads neither ``lam`` nor writes more than the counts, a fifth
    fewer bytes (a bounded pass at 65,536 workers no longer spills out of a 2 MiB L2). A
    block of workers with one in doubt is counted again exactly, from ``lam``; ``lam`` is
    also read for the workers whose next key ``1/lam`` puts at or below ``hi_t``, which the
    listing checks exactly. Block by block, as the listing: a block's counts are still in
    the cache when it is listed. (Compiled with float reassociation as :func:`count_into`.)

    Products below ``2**-1022`` are flushed to zero (:func:`flush_tiny`) where ``t`` is at least
    that: a product is only ever truncated or compared with ``t`` or ``hi_t``, and one below
    ``2**-1022`` truncates to 0 and compares with them as 0 does.
    """
    wide_vectors()
    n = lam.shape[0]
    cap = float(budget)
    reach = hi_t * (1.0 + COUNT_MARGIN)
    total = 0.0
    m = 0
    state = flush_tiny() if t >= TINY else -1
    for start in range(0, n - n % COUNT_LIST_BLOCK, COUNT_LIST_BLOCK):
        block = 0.0
        doubtful = 0
        found = 0  # bit k: worker start + k may have a key in (t, hi_t]
        for k in range(COUNT_LIST_BLOCK):
            i = start + k
            v = inv[i]
            cap_i = cap_at(hi, i, budget, cap)
            q = t * v
            # Past cap + 1/2 the count is the cap (below 2**48; above, every q is in doubt).
            near = min(q, cap_i + 0.5)
            doubtful += abs(near - rint(near)) < near * COUNT_MARGIN  # never for q = 0
            c = max(trunc(min(q, cap_i)), floor_at(lo, i, v != 0.0))
            counts[i] = int_of(c)
            block += c
            found |= int((c < cap_i) & (c + 1.0 <= reach * v)) << k
        stop = start + COUNT_LIST_BLOCK
        if doubtful > 0:
            block = recount_into(lam, inv, t, budget, counts, lo, hi, start, stop)
            m = list_between(lam, budget, hi_t, counts, idx, hi, start, stop, m)
        elif found != 0:
            m = list_found(lam, hi_t, counts, idx, start, found, m)
        total += block
    total += recount_into(lam, inv, t, budget, counts, lo, hi, n - n % COUNT_LIST_BLOCK, n)
    m = list_between(lam, budget, hi_t, counts, idx, hi, n - n % COUNT_LIST_BLOCK, n, m)
    if state >= 0:
        restore_tiny(state)
    return total, m


@register_jitable
def recount_into(lam, inv, t, budget, counts, lo, hi, start, stop):
    """:func:`count_into` over the workers ``start .. stop - 1``: exact, from ``lam``."""
    cap = float(budget)
    total = 0.0
    for i in range(start, stop):
        c = max(count_one(lam[i], inv[i], t, cap_at(hi, i, budget, cap)), floor_at(lo, i, lam[i] != INF))
        counts[i] = int_of(c)
        total += c
    return total


@register_jitable
def list_found(lam, hi_t, out, idx, start, found, m):
    """:func:`list_between` over the workers ``start + k`` for each bit ``k`` set in ``found``,
    those whose count and ``1/lam`` put their next key within reach of ``hi_t``: the
    exact product decides. Visits the set bits only (a block of 32 workers holds one or two
    at most, away from ties; a loop over the whole block cost numba's bounded count more
    than the count itself at 65,536 workers)."""
    while found != 0:
        i = start + lowest_bit(found)
        if (float_of(out[i]) + 1.0) * lam[i] <= hi_t:
            idx[m] = i
            m += 1
        found &= found - 1
    return m


@register_jitable
def lowest_bit(bits):
    """The index of the lowest bit set in ``bits > 0`` (on the CPU: one instruction)."""
    k = 0
    while (bits >> k) & 1 == 0:
        k += 1
    return k


@register_jitable
def select_listed(lam, budget, lo_c, hi_t, out, idx, m, heap, hi):
    """:func:`select_between` once the prefix is in ``out`` and the ``m`` workers with keys
    between in ``idx``."""
    size = 0
    room = heap.shape[0] // 3
    for b in range(m):
        i = idx[b]
        x = lam[i]
        j = out[i] + 1
        high = high_of(hi, i, budget)
        while j <= high and j * x <= hi_t:
            if size == room:
                return False
            heap[3 * size] = j * x
            heap[3 * size + 1] = float(j)
            heap[3 * size + 2] = float(i)
            size += 1
            j += 1
    k = min(budget - lo_c, size)
    select_first(heap, size, k)
    for c in range(k):
        out[int(heap[3 * c + 2])] += 1
    return True


@register_jitable
def list_between(lam, budget, hi_t, out, idx, hi, start, stop, m):
    """Append to ``idx[m:]`` the workers in ``start .. stop - 1`` with a key above their count
    ``out[i]`` and at or below ``hi_t``; returns the new length."""
    for i in range(start, stop):
        if key_between(lam[i], out[i], high_of(hi, i, budget), hi) <= hi_t:
            idx[m] = i
            m += 1
    return m


@register_jitable
def key_between(x, c, cap, hi):
    """The product of a worker's next key after its count ``c`` (``x = lam_i``), or ``+inf`` at
    its ``cap = min(max_tasks_i, budget)`` (``c`` and ``cap`` both ints or both floats).

    Without bounds (``hi`` None) the cap, the budget, never binds before a key past ``hi_t``,
    so the product is all. With bounds, the cap is folded in by a max, without a branch, so
    that the test of a block of workers vectorises.
    """
    if hi is None:
        return (c + 1) * x
    return max((c + 1) * x, INF if c >= cap else 0.0)


# --- Ties: the keys at the threshold product t* -----------------------------------------


#: Interleaved copies of :func:`select_level`'s histogram, ``2**LANE_BITS``, bucket ``b``'s
#: in ``hist[b * lanes : (b + 1) * lanes]``: consecutive workers at one level would
#: otherwise make each increment wait on the one before (8 rather than 4: 65,536 workers
#: at one level, a histogram pass 53 -> 31 us).
LANE_BITS = 3
LANES = 1 << LANE_BITS
#: Buckets of a histogram pass at most: its lanes then fit in 64 KiB, which each pass clears
#: and reads up to the bucket it keeps. The levels' range shrinks to the levels the pass
#: sees in that bucket, so a few machine types finish in one or two passes whatever this is.
MAX_BUCKETS = 1024
#: Slots, after the lanes, where :func:`count_buckets` counts the workers outside its range,
#: worker ``i`` in slot ``i % DUMPS``, for the same reason.
DUMPS = 16
#: Below this spread of levels, :func:`select_level` bisects with counting passes: a
#: handful of them costs less than one histogram pass, whose increments are scattered.
NARROW_LEVELS = 64
#: Bisection passes :func:`select_level` makes over a wider spread before its histogram
#: passes: a level count costs about an eighth of one (integers 1..4 at ``2**40`` tasks,
#: 65,536 workers: 3.3 us against 27). The ends move onto levels, so a few dozen distinct
#: ones (integer times, whose products many workers share) take five to eight; at four,
#: rounded times over 16,384 workers went on to a histogram on 8 of 80 calls.
LEVEL_BISECTIONS = 8


@register_jitable
def count_up_to_level(marks, level):
    """Workers whose key at ``t*`` is at a level ``j <= level``: :func:`count_levels`' count
    alone, which is all :func:`select_level` needs between two adjacent levels (two machine
    types at a task or two a worker), at half its cost on AVX2 (no unsigned comparisons,
    minimum or maximum to emulate)."""
    wide_vectors()
    total = 0
    for i in range(marks.shape[0]):
        total += int((marks[i] < 0) & (marks[i] >= -level))
    return total


@register_jitable
def count_levels(marks, level):
    """Workers whose key at ``t*`` is at a level ``j <= level``: entries ``-level <= marks[i] < 0``
    (:func:`split_at_threshold` marks such a worker with ``-j``); and the levels next to
    ``level``: ``(count, largest level <= level, smallest level > level)`` (0 and ``2**62``
    when there is none).

    With ``w = marks[i] + level``, the levels up to ``level`` are ``0 <= w < level`` and those
    above are ``w < 0``: read as unsigned, one comparison counts the first, and a plain
    minimum and maximum find the levels next to ``level`` (no masks: an unmarked worker's
    ``w >= level`` is neither); as fast as the count alone.
    """
    wide_vectors()
    bound = np.uint64(level)
    total = 0
    least = np.uint64(0xFFFFFFFFFFFFFFFF)
    most = np.uint64(0)
    for i in range(marks.shape[0]):
        w = np.uint64(marks[i] + level)
        total += int(w < bound)
        least = min(least, w)
        most = max(most, w)
    under = level - np.int64(least) if least < bound else 0
    over = level - np.int64(most) if most >= np.uint64(1 << 63) else 1 << 62
    return total, under, over


@register_jitable
def select_level(marks, rank, j_min, j_max, total, level_sum, hist, where):
    """The smallest ``J`` with ``rank`` workers marked at a level ``j <= J`` (``marks[i] = -j``),
    ``rank`` minus those below ``J``, and the workers at ``J`` (the ``total`` marked levels
    lie in ``[j_min, j_max]``, and sum to ``level_sum``, or it is negative where unknown);
    ``(J + 1, 0, 0)`` when every key at ``J`` is needed.

    Two adjacent levels (two machine types, one twice as fast, at a task or two a worker)
    need no pass: ``total * j_max - level_sum`` workers are at ``j_min``.

    First a bisection with counting passes, which vectorise; each pass also finds the
    levels next to its middle, and the ends move onto them, so that a few distinct levels
    (a few machine types) take a pass or two whatever their spread; the counts at its two
    ends are its own, so the answer takes no further pass. Over a spread of
    :data:`NARROW_LEVELS` levels or more, after :data:`LEVEL_BISECTIONS` passes, a radix
    select over what is left: each pass counts the entries per bucket of ``2**shift``
    levels in ``hist`` (float64, at least 3 long; ``where``, int64 and as long as ``marks``,
    is scratch) and keeps the bucket that holds the ``rank``-th, so buckets shrink by up to
    :data:`MAX_BUCKETS` a pass (fewer where ``hist`` is short), and to the levels the pass
    saw in the bucket.
    """
    if j_min == j_max:
        return j_min, rank, total
    lo = j_min  # below = count_levels(lo - 1) < rank <= count_levels(hi) = at_hi
    hi = j_max
    below = 0  # no level under j_min
    at_hi = total  # every entry is at j_max or under
    steps = 0
    while lo < hi and (hi - lo < NARROW_LEVELS or steps < LEVEL_BISECTIONS):
        # No level lies in (under, mid] or (mid, over): the counts there are c.
        if hi - lo == 1:
            c = adjacent_levels_count(lo, hi, j_min, j_max, total, level_sum)
            if c < 0:
                c = count_up_to_level(marks, lo)
            under, over = lo, hi
        else:
            c, under, over = count_levels(marks, lo + (hi - lo) // 2)
        if c >= rank:
            hi = under
            at_hi = c
        else:
            lo = over
            below = c
        steps += 1
    if lo == hi:
        if at_hi == rank:
            return lo + 1, 0, 0  # every key at level lo completes the budget
        return lo, rank - below, at_hi - below
    rank -= below  # the radix select counts the levels in [lo, hi] only
    lane_bits, dumps = (LANE_BITS, DUMPS) if hist.shape[0] >= 2 * LANES + DUMPS else (0, 1)
    bins = min((hist.shape[0] - dumps) >> lane_bits, MAX_BUCKETS)
    base = lo
    span = hi - lo  # levels in [base, base + span]
    shift = 0
    while (span >> shift) >= bins:
        shift += 1
    while True:
        n_bins = (span >> shift) + 1
        least, most = count_buckets(marks, base, span, shift, n_bins, lane_bits, dumps, hist, where)
        b = 0
        here = bucket_total(hist, b, lane_bits)
        while here < rank and b < n_bins - 1:
            rank -= here
            b += 1
            here = bucket_total(hist, b, lane_bits)
        base += b << shift
        if shift == 0 or least == most:  # one level in the bucket: J
            level = base if shift == 0 else least
            if here == rank:
                return level + 1, 0, 0
            return level, rank, here
        span = min(span - (b << shift), (1 << shift) - 1)
        # The bucket shrunk to the levels the pass saw at either end of its range: a few
        # machine types leave a handful of levels far apart, and the next pass then finds
        # the one in the bucket alone, however wide the buckets were.
        if most < base + span:
            span = most - base
        if least > base:
            span -= least - base
            base = least
        while shift > 0 and (span >> (shift - 1)) < bins:
            shift -= 1


@register_jitable
def adjacent_levels_count(lo, hi, j_min, j_max, total, level_sum):
    """The workers at level ``lo`` where the ``total`` marked ones lie on ``lo = j_min`` and
    ``hi = j_max = lo + 1`` only, from the sum of their levels (exact while
    ``total * j_max <= 2**53``, whatever the order it was summed in); -1 otherwise."""
    if lo != j_min or hi != j_max or level_sum < 0.0 or float(total) * float(j_max) > 2.0**53:
        return -1
    return total * j_max - int(level_sum)


@register_jitable
def count_buckets(marks, base, span, shift, n_bins, lane_bits, dumps, hist, where):
    """``hist[(b << lane_bits) + lane]``: the workers marked at a level ``j = -marks[i]`` in
    ``[base, base + span]`` whose level falls in bucket ``b`` (``2**shift`` levels each), lane
    ``i % 2**lane_bits``; the others in the ``dumps`` slots after them. Returns the least and
    the largest of those levels.

    Two loops: the first, branch-free and without multiplications, vectorises (AVX2 has no
    64-bit multiply): it writes each worker's slot into ``where`` and finds the levels'
    range. The second only increments. In one loop, tied and untied workers alternating at
    random cost a branch misprediction or a stall each (integers 1..4, 65,536 workers,
    ``2**40`` tasks: 250 us a pass, 11 numpy passes; now 26).
    """
    wide_vectors()
    dump = n_bins << lane_bits
    for b in range(dump + dumps):
        hist[b] = 0.0
    lane_mask = (1 << lane_bits) - 1
    least = span  # relative to base
    most = 0
    for i in range(marks.shape[0]):
        d = -marks[i] - base
        inside = -int((marks[i] < 0) & (d >= 0) & (d <= span))  # all bits set, or none
        away = dump + (i & (dumps - 1))
        where[i] = away + (inside & ((((d >> shift) << lane_bits) | (i & lane_mask)) - away))
        least = min(least, span + (inside & (d - span)))
        most = max(most, inside & d)
    for i in range(marks.shape[0]):
        hist[where[i]] += 1.0
    return base + least, base + most


@register_jitable
def bucket_total(hist, b, lane_bits):
    total = 0
    for lane in range(b << lane_bits, (b + 1) << lane_bits):
        total += int(hist[lane])
    return total


@register_jitable
def split_at_threshold(lam, inv, tstar, budget, out, lo, hi):
    """Worker i's keys below ``t*`` into ``out[i]``, or ``-j`` when it has a key at ``t*``, at
    level ``j`` (one at most, ``budget < 2**51``; it then has ``j - 1`` below): one array
    written, read by the level passes and completed by :func:`take_levels`. Returns ``(keys
    below, keys at)``; :func:`tied_levels` finds the levels' range, and their sum, when
    they are needed. Counts from the stored ``1/lam`` (``t*`` within reach:
    :func:`reach_of_inverse`).

    Branch-free, so that it vectorises; the sum is integer-valued (see :func:`count_into`).
    It sums the counts and takes the ties off at the end, and negates by a mask, where a
    select for each cost AVX2 a sixth more (65,536 workers, numba for Haswell: 1.84 -> 1.55
    numpy passes, 2.36 -> 2.08 with bounds), as Cython's AVX2 split does.
    """
    wide_vectors()
    cap = float(budget)
    counted = 0.0
    n_tied = 0
    for i in range(lam.shape[0]):
        c, p = count_product(lam[i], inv[i], tstar, cap_at(hi, i, budget, cap))
        c, tied = raised_count(c, p, tstar, lo, i, lam[i] != INF)
        k = int_of(c)
        negate = -int(tied)  # all bits set where tied: (k ^ -1) + 1 = -k
        out[i] = (k ^ negate) - negate  # c >= 1 when tied: the sign tells them apart
        counted += c
        n_tied += int(tied)
    # Saturated: at a guess far above t* the counts, each up to the budget, can sum past 2**63.
    return saturated(counted, ESTIMATE_CAP) - n_tied, n_tied


@register_jitable
def raised_count(c, p, tstar, lo, i, available):
    """``(c, tied)``: worker ``i``'s count from :func:`count_product` (``c``, ``p``) raised to its
    minimum, and whether its last key is at ``t*`` (``p = c * x`` unless the minimum raised
    ``c``). Without bounds, nothing to raise: a count is never negative."""
    if lo is None:
        return c, (c > 0.0) & (p == tstar)
    floor_i = floor_at(lo, i, available)
    c = max(c, floor_i)
    return c, (c > floor_i) & (p == tstar)


@register_jitable
def split_divided(lam, tstar, budget, out, lo, hi):
    """:func:`split_at_threshold` by division, for any budget (and ``t*`` beyond the stored
    ``1/lam``'s reach): ``(keys below, keys at, crowded)``, ``crowded`` when a worker owns
    more than one key at ``t*`` (counts from about ``2**52``, where ``fl(j * x)`` and
    ``fl((j - 1) * x)`` can be equal), which the split's one mark a worker cannot hold:
    ``out`` is then garbage. Branch-free, as the split from ``1/lam``.
    """
    wide_vectors()
    cap = float(budget)
    high = 0  # the keys below, summed as count_into_divided sums them
    low = 0
    n_tied = 0
    crowded = 0
    for i in range(lam.shape[0]):
        x = lam[i]
        c, _, floor_i = divided_count_at(lam, i, tstar, budget, cap, lo, hi)
        tied = (c > floor_i) & (c * x == tstar)
        crowded += int(tied & (c - 1.0 > floor_i) & ((c - 1.0) * x == tstar))
        k = int_of_wide(c)
        out[i] = -k if tied else k
        k -= int(tied)
        high += k >> 32
        low += k & 0xFFFFFFFF
        n_tied += int(tied)
    return wide_total(high, low, ESTIMATE_CAP), n_tied, crowded > 0


@register_jitable
def tied_levels(marks):
    """``(min j, max j, sum of the j)`` over the workers :func:`split_at_threshold` marked
    ``-j``, the sum as a float (exact while ``n_tied * max j <= 2**53``: the int64 sum wraps
    only beyond, where :func:`adjacent_levels_count` does not read it).

    A pass of its own: in the split's loop these two int64 reductions cost numba's AVX2 code
    more than the whole of this pass (the split at 65,536 workers 108 -> 70 us without them,
    this pass 18 us; compiled for this CPU 63 -> 50 and 9.5 us), and float ones stop it
    vectorising; even a float sum there cost the split 9-13 % on Zen 3, where this pass
    takes the int64 sum at 0-4 % of a split. Cython's split finds all three in its own
    loop, where its vector code takes them at little cost.
    """
    wide_vectors()
    none = 1 << 62
    j_min = none
    j_max = 0
    total = 0
    for i in range(marks.shape[0]):
        v = marks[i]
        j_min = min(j_min, -v if v < 0 else none)
        j_max = max(j_max, -v)
        total += min(v, 0)
    return j_min, j_max, float(-total)


@register_jitable
def take_at(lam, inv, budget, reach, tstar, out, hist, where, lo, hi):
    """Fill ``out`` given the finite product ``t*`` of the ``budget``-th key: every key below
    ``t*``, then the keys at ``t*`` in ``(j, i)`` order.

    Below ``2**51`` tasks each worker owns at most one key at ``t*`` (module docstring), at
    level ``j``; the keys below level ``J`` are taken, then the first ones at ``J`` in worker
    order. Above, where the split by division finds a worker with more than one,
    :func:`take_ties` takes them.
    Returns :data:`TAKEN` when done. When ``t*`` is not that product (fewer than ``budget``
    keys at or below it, or ``budget`` below it: a guess, checked), returns the number of
    keys below it, ``out`` unfinished and the scratch ``hist`` (float64) and ``where``
    (int64) untouched. The stored ``1/lam`` is read if ``t* <= reach`` (:func:`reach_of_inverse`).
    """
    if tstar <= reach:
        taken, n_tied = split_at_threshold(lam, inv, tstar, budget, out, lo, hi)
    else:
        taken, n_tied, crowded = split_divided(lam, tstar, budget, out, lo, hi)
        if crowded:  # only from 2**52 tasks, where t* is never a guess (finish_at)
            take_many_ties(lam, inv, budget, reach, tstar, out, where, hist, lo, hi)
            return TAKEN
    rank = budget - taken
    if not (0 < rank <= n_tied):
        return int(taken)
    if rank == n_tied:
        level = budget + 1  # every key at t*: all levels are below it
        rank = 0
        n_at = 0
    else:
        j_min, j_max, level_sum = tied_levels(out)
        level, rank, n_at = select_level(out, rank, j_min, j_max, n_tied, level_sum, hist, where)
    take_levels(out, level, rank, n_at)
    return TAKEN


#: Entries per block when :func:`take_levels` looks for the ``rank``-th one at a level.
LEVEL_BLOCK = 256


@register_jitable
def take_levels(out, level, rank, n_at):
    """The allocation from the split's ``out``: a worker marked ``-j`` keeps its ``j - 1`` keys
    below ``t*`` and takes the one at ``t*`` if ``j < level``, or if ``j = level`` and it is
    among the first ``rank`` of the ``n_at`` there, in worker order."""
    wide_vectors()
    n = out.shape[0]
    cut = -1  # the last worker taken at level
    if 0 < rank <= n_at - rank:
        cut = nth_mark(out, -level, rank)
    elif rank > 0:  # nearer the end: count from there
        cut = nth_mark_from_end(out, -level, n_at - rank + 1)
    for i in range(n):
        v = out[i]
        j = -v
        taken = int((j < level) | ((j == level) & (i <= cut)))
        # j - 1 + taken where marked, else v, as arithmetic on v's sign: LLVM turned the
        # select into a masked store (vpmaskmovq), whose stores cost AMD's Zen 3 twice this
        # loop (65,536 workers: 39-69 us against 21-24)
        neg = v >> 63
        out[i] = (v ^ neg) - neg - (neg & (1 - taken))


@register_jitable
def count_marks(block, mark):
    """Entries of ``block`` equal to ``mark``; a slice, so that the indices start at 0 and the
    count vectorises. Not marked for wide vectors (:func:`wide_vectors`): called a block at a
    time, it would then be called, not inlined, and the calls cost more than the width saves."""
    k = 0
    for i in range(block.shape[0]):
        k += int(block[i] == mark)
    return k


@register_jitable
def nth_mark(out, mark, rank):
    """The index of the ``rank``-th entry equal to ``mark`` (``rank >= 1``), or the last index
    if there are fewer; whole blocks are counted first, in loops that vectorise."""
    n = out.shape[0]
    start = 0
    while True:
        stop = min(start + LEVEL_BLOCK, n)
        k = count_marks(out[start:stop], mark)
        if k >= rank or stop == n:
            break
        rank -= k
        start = stop
    cut = start
    while cut < n - 1:
        rank -= int(out[cut] == mark)
        if rank <= 0:
            break
        cut += 1
    return cut


@register_jitable
def nth_mark_from_end(out, mark, rank):
    """:func:`nth_mark` counting from the end: the index of the ``rank``-th entry equal to
    ``mark`` from the last one, or 0 if there are fewer."""
    stop = out.shape[0]
    while True:
        start = max(stop - LEVEL_BLOCK, 0)
        k = count_marks(out[start:stop], mark)
        if k >= rank or start == 0:
            break
        rank -= k
        stop = start
    cut = stop - 1
    while cut > 0:
        rank -= int(out[cut] == mark)
        if rank <= 0:
            break
        cut -= 1
    return cut


@register_jitable
def split_at(x, tstar, cap, c, floor):
    """``(below, upto)``: a worker's keys with product ``< t*`` and ``<= t*`` (``0 < x < inf``),
    counted in ``[floor, cap]``; ``c`` is a guess of ``upto`` in ``[0, cap]``. ``t* = inf`` means
    the keys whose product overflows: ``below`` counts the finite ones."""
    if tstar == INF:
        return max(count_le(x, DBL_MAX, cap), floor), cap
    upto = count_le_from(x, tstar, cap, c)
    below = upto
    while below * x >= tstar:  # 0 * x < t*: stops at 0 without a guard
        below -= 1
    return max(below, floor), max(upto, floor)


@register_jitable
def take_ties(lam, budget, tstar, out, ties, hist, lo, hi):
    """:func:`take_at` where a worker may own many keys at ``t*``: ``t* = inf`` (keys whose
    product overflows) or budgets from ``2**51``. Where none owns more than one, the level
    ``J`` as :func:`take_at` selects it (:func:`take_single_ties`); else as
    :func:`take_tied` does.

    ``out`` holds the prefix counted at a threshold near ``t*`` (at ``DBL_MAX`` for
    ``t* = inf``); ``hist`` (float64, ``n + 2``) is scratch.
    """
    if tstar == INF:
        taken, j_lo, j_hi, n_tied, single = overflow_room(lam, budget, out, ties, hi)
    else:
        taken, j_lo, j_hi, n_tied, single = split_ties(lam, budget, tstar, out, ties, lo, hi)
    if single:
        take_single_ties(out, ties, lam.shape[0], budget - taken, n_tied, j_lo, j_hi, hist)
    else:
        take_tied(out, ties, lam.shape[0], budget - taken, j_lo, j_hi, hist)


@register_jitable
def overflow_room(lam, budget, out, ties, hi):
    """:func:`split_ties` at ``t* = inf``, where ``out`` holds the count at ``DBL_MAX``: the keys
    whose product is finite. A worker's other keys, up to its cap, overflow: all at ``t*``.
    No division and no branch, so that it vectorises (the split divided for each worker:
    times near ``1e306`` at ``2**40`` tasks, 65,536 workers, 12x the numpy pass)."""
    wide_vectors()
    taken = 0
    j_lo = budget + 1
    j_hi = 0
    n_tied = 0
    multi = 0
    for i in range(lam.shape[0]):
        x = lam[i]
        c = out[i]
        room = (high_of(hi, i, budget) - c) * int((0.0 < x) & (x < INF))  # lam = 0, inf: none
        room = max(room, 0)
        ties[i] = room
        taken += c
        tied = int(room > 0)
        j_lo = min(j_lo, c + 1 + (budget + 1) * (1 - tied))
        j_hi = max(j_hi, (c + room) * tied)
        n_tied += tied
        multi += int(room > 1)
    return taken, min(j_lo, budget + 1), j_hi, n_tied, multi == 0


@register_jitable
def split_ties(lam, budget, tstar, out, ties, lo, hi):
    """``out[i]``: worker i's keys below a finite ``t*`` (:func:`overflow_room` takes ``t* = inf``),
    ``ties[i]``: its keys at ``t*``, from the counts at a threshold near it in ``out``; returns ``(keys below t*, least and greatest level at
    t*, workers with keys at t*, whether none has more than one)``."""
    wide_vectors()
    taken = 0
    j_lo = budget + 1
    j_hi = 0
    n_tied = 0
    single = True
    for i in range(lam.shape[0]):
        x = lam[i]
        c = out[i]
        ties[i] = 0
        high = high_of(hi, i, budget)
        low = low_of(lo, i, x != INF)
        # Most workers have their last key below t* and their next key above it: they keep
        # their count, as does one held at its minimum with no key above it at or below t*
        # (split_at would step from a minimum far above t* / x to it a key at a time: hours,
        # from 2**52 tasks). One test for them, without the guards below.
        if (c * x < tstar or c <= low) and (c >= high or (c + 1) * x > tstar):
            taken += c
            continue
        if 0.0 < x < INF:
            below, upto = split_at(x, tstar, high, min(c, high), low)
            out[i] = below
            ties[i] = upto - below
            taken += below
            if upto > below:
                j_lo = min(j_lo, below + 1)
                j_hi = max(j_hi, upto)
                n_tied += 1
                single = single and upto == below + 1
        else:
            taken += c  # lam = 0 under bounds: at its maximum (x = inf: nothing)
    return taken, j_lo, j_hi, n_tied, single


@register_jitable
def take_single_ties(out, ties, n, rank, n_tied, j_lo, j_hi, hist):
    """:func:`take_tied` where each worker owns one tied key at most: marked ``-j`` as the
    split marks it, and the ``rank`` first by ``(j, i)`` taken as :func:`take_at` takes them
    (the bisection took up to 53 counting passes: integers 1..4, 65,536 workers, a budget
    of ``2**52``, 200x the numpy pass). ``ties`` is scratch once read."""
    for i in range(n):
        v = out[i]
        out[i] = -(v + 1) if ties[i] > 0 else v
    if rank <= 0:
        level, rank, n_at = 0, 0, 0  # no level is below 0: none taken
    elif rank >= n_tied:
        level, rank, n_at = j_hi + 1, 0, 0  # every one taken
    else:
        level, rank, n_at = select_level(out, rank, j_lo, j_hi, n_tied, -1.0, hist, ties)
    take_levels(out, level, rank, n_at)


@register_jitable
def take_tied(out, ties, n, remaining, j_lo, j_hi, hist):
    """Hand ``remaining`` tied keys out by ``(j, i)``: worker i's are ``j`` in
    ``(out[i], out[i] + ties[i]]``, and the levels lie in ``[j_lo, j_hi]``; ``hist`` (float64,
    at least 3 long) is scratch, and so is ``ties`` once read."""
    level, remaining = tied_level(out, ties, n, remaining, j_lo, j_hi, hist)
    # One level: each tied worker owns a single key, at it (ties[i] = 1, out[i] = j_lo - 1),
    # and none below it, so take_below would leave out and ties as they are (lam = 0
    # workers with a cap of one task above their minimum; a pass that reads and writes two
    # arrays, a fifth of that call at 65,536 workers).
    if j_lo != j_hi:
        take_below(out, ties, n, level)
    if remaining > 0:  # the first ``remaining`` marked take their key at the level
        cut = nth_mark(ties[:n], 1, remaining)
        for i in range(cut + 1):
            out[i] += ties[i]


@register_jitable
def take_below(out, ties, n, level):
    """Every tied key below ``level`` into ``out``, and ``ties[i] = 1`` where worker i has one
    at it (0 elsewhere). Branch-free, so that it vectorises."""
    wide_vectors()
    for i in range(n):
        below = out[i]
        c = ties[i]
        out[i] = below + min(max(level - 1 - below, 0), c)
        ties[i] = int((below < level) & (level <= below + c))  # c = 0: never


#: Where a bucket's count of tied keys saturates in :func:`tied_buckets`: no budget is
#: larger, and float64 holds every count up to it exactly.
TIED_CAP = 9007199254740992.0  # 2**53


@register_jitable
def tied_level(out, ties, n, remaining, j_lo, j_hi, hist):
    """``(J, rank)``: the level ``J`` of the ``remaining``-th tied key by ``(j, i)`` (worker i's
    are ``j`` in ``(out[i], out[i] + ties[i]]``, all in ``[j_lo, j_hi]``), and ``remaining``
    minus the tied keys below ``J``; ``hist`` (float64, at least 3 long) is scratch.

    The count of tied keys up to a level is linear between the last level at which an
    interval starts and the first at which one ends: one pass that vectorises finds both
    (:func:`tied_span`), and ``J`` at once where it lies between (intervals alike, as
    bounds on ``lam = 0`` workers give; keys that overflow, from a low level on each
    worker to the budget). Else, where every interval has started below ``J``, the levels
    below the last start drop out (:func:`tied_up_to`), and a radix select over the levels
    left (:func:`tied_buckets`) keeps, each pass, the one of up to ``n / 8`` buckets (at
    least :data:`MAX_BUCKETS`) that holds the ``remaining``-th key: one pass over a span
    of up to ``n / 8`` levels, six at most over ``2**53``; where no interval starts or ends
    inside the bucket kept, the count is linear there too. (A bisection took up to 53
    passes: times near ``1e306`` at ``2**40`` tasks, 41; bounds per worker on ``lam = 0``
    workers, 13.)
    """
    lo = j_lo  # the answer lies in [lo, hi]; below: the tied keys at levels under lo
    hi = j_hi
    below = 0
    if lo < hi and hi - lo <= ESTIMATE_CAP // max(n, 1):  # the sum of the starts fits in int64
        m, starts, last_start, first_end = tied_span(out, ties, n, lo, hi)
        if last_start <= first_end:
            level, rank, lo, hi, below = in_stretch(remaining, lo, m, starts, last_start, first_end, hi)
            if level > 0:
                return level, rank
        elif lo <= last_start - 1 < hi:
            # Every interval has started by last_start - 1: where J lies above it, the
            # buckets see no start (bounds per worker on lam = 0 workers: minimums of 0 to
            # 2, maximums anywhere), which the radix pass takes at a third of the cost.
            up_to = tied_up_to(out, ties, n, lo, hi, last_start - 1)
            if up_to < remaining:
                below = up_to
                lo = last_start
            else:
                hi = last_start - 1
    # Buckets: up to an eighth of the workers (a pass costs several numpy passes, the scan of
    # the buckets a few operations each), at least MAX_BUCKETS where the scratch holds them.
    bins = min((hist.shape[0] + 1) // 2, max(MAX_BUCKETS, hist.shape[0] // 8))
    while lo < hi:
        shift = 0
        while ((hi - lo) >> shift) >= bins:
            shift += 1
        n_bins = ((hi - lo) >> shift) + 1
        whole = float(tied_buckets(out, ties, n, lo, hi, shift, n_bins, hist))
        width = float(1 << shift)
        run = float(below)
        b = 0
        while True:
            # Bucket b: the intervals that cover it whole, each ``width`` keys, and the keys
            # of those that cover it in part (hist[b]). No overflow or rounding: a count
            # that saturates is past every ``remaining``.
            here = min(whole * width + hist[b], TIED_CAP)
            if run + here >= remaining or b == n_bins - 1:
                break
            run += here
            b += 1
            whole += hist[n_bins + b - 1]
        below = int(run)
        lo += b << shift
        hi = min(hi, lo + (1 << shift) - 1)
        if hist[b] == 0.0 and whole > 0.0:  # every interval here covers the bucket: linear
            k = int(whole)
            levels = (remaining - below + k - 1) // k  # the levels from lo that reach it
            return lo + levels - 1, remaining - below - k * (levels - 1)
    return lo, remaining - below


@register_jitable
def in_stretch(remaining, lo, m, starts, last_start, first_end, hi):
    """``(J, rank, lo, hi, below)`` from :func:`tied_span`'s sums over ``[lo, hi]``, where every
    one of the ``m`` intervals holds each level of ``[last_start - 1, first_end]`` and the
    count of keys up to a level ``L`` there is ``m (L - lo + 1) - starts``: ``J``, the least
    level that reaches ``remaining``, and ``remaining`` less the keys below it, where it lies
    in that stretch; else ``J = 0`` and the side of it that holds ``J`` (``below``: the keys
    under its ``lo``)."""
    level = lo - 1 + (remaining + starts + m - 1) // m
    if level < last_start:  # below the stretch: J is too
        return 0, 0, lo, last_start - 1, 0
    if level > first_end:  # above it: from its end on
        return 0, 0, first_end + 1, hi, m * (first_end - lo + 1) - starts
    return level, remaining - (m * (level - lo) - starts), lo, hi, 0


@register_jitable
def tied_span(out, ties, n, lo, hi):
    """``(m, starts, last_start, first_end)`` over the ``m`` workers with tied keys: the sum of
    their first levels less ``lo``, the last first level and the first last level (``lo``
    and ``hi`` where none). Products, not selects, so that it vectorises."""
    wide_vectors()
    m = 0
    starts = 0
    last_start = lo
    first_end = hi
    for i in range(n):
        c = ties[i]
        tied = int(c > 0)
        m += tied
        starts += (out[i] + 1 - lo) * tied
        last_start = max(last_start, lo + (out[i] + 1 - lo) * tied)
        first_end = min(first_end, hi + (out[i] + c - hi) * tied)
    return m, starts, last_start, first_end


@register_jitable
def tied_up_to(out, ties, n, lo, hi, level):
    """The tied keys at levels in ``[lo, level]`` (``level <= hi``, the sum within int64 as
    :func:`tied_span`'s). Products, not selects, so that it vectorises."""
    wide_vectors()
    total = 0
    for i in range(n):
        c = ties[i]
        start = max(out[i] + 1, lo)
        end = min(out[i] + c, level)
        total += max(end - start + 1, 0) * int(c > 0)
    return total


@register_jitable
def tied_buckets(out, ties, n, lo, hi, shift, n_bins, hist):
    """The tied keys at levels in ``[lo, hi]`` by bucket of ``2**shift`` levels from ``lo``:
    ``hist[b]`` (b < ``n_bins``) counts the keys of the intervals that cover bucket b in part
    (saturated at :data:`TIED_CAP`), and ``hist[n_bins + b - 1]`` the change at bucket
    ``b >= 1`` in the intervals that cover it whole; returns those that cover bucket 0 whole.

    An interval that reaches ``hi`` counts as reaching its bucket's end: no level above
    ``hi`` is selected. The whole buckets are counted at an interval's ends, so that each
    worker costs a few operations however many buckets it covers.
    """
    wide_vectors()
    span = hi - lo
    mask = (1 << shift) - 1
    for b in range(2 * n_bins - 1):
        hist[b] = 0.0
    whole0 = 0  # an integer: a float sum here would chain every worker's add
    if shift == 0:
        # A bucket a level: every interval covers its buckets whole, counted at its ends
        # alone (a sixth of the general loop's time on intervals that start at lo and end
        # anywhere: no update where none applies, as an add of 0 to one place would chain
        # every worker's add to the one before).
        for i in range(n):
            c = ties[i]
            first = max(out[i] + 1, lo) - lo
            last = min(out[i] + c, hi) - lo
            if c > 0 and first <= last:
                whole0 += count_whole(hist, n_bins, first, last)
        return whole0
    for i in range(n):
        if ties[i] > 0:
            first = max(out[i] + 1, lo) - lo
            last = min(out[i] + ties[i], hi) - lo
            if first <= last:
                b_first = first >> shift
                b_last = last >> shift
                head = (first & mask) != 0
                tail = ((last + 1) & mask) != 0 and last < span
                if b_first == b_last and (head or tail):
                    hist[b_first] = min(hist[b_first] + float(last - first + 1), TIED_CAP)
                    continue
                if head:
                    hist[b_first] = min(hist[b_first] + float(((b_first + 1) << shift) - first), TIED_CAP)
                    b_first += 1
                if tail:
                    hist[b_last] = min(hist[b_last] + float(last - (b_last << shift) + 1), TIED_CAP)
                    b_last -= 1
                if b_first <= b_last:
                    whole0 += count_whole(hist, n_bins, b_first, b_last)
    return whole0


@register_jitable
def count_whole(hist, n_bins, b_first, b_last):
    """An interval that covers buckets ``b_first..b_last`` whole, counted at its ends in
    :func:`tied_buckets`' differences; returns 1 where it starts at bucket 0 (whose count
    the caller keeps)."""
    if b_last + 1 < n_bins:
        hist[n_bins + b_last] -= 1.0
    if b_first == 0:
        return 1
    hist[n_bins + b_first - 1] += 1.0
    return 0


@register_jitable
def try_as_tstar(lam, inv, budget, reach, guess, out, heap, ties, lo, hi, limit, hi_t, hi_c):
    """:func:`take_at` at a guess of ``t*``: ``(under, hi_t, hi_c)``, ``under`` as ``take_at``
    returns it, and the bracket's upper end (``hi_c`` keys at or below ``hi_t``) moved just
    below the guess where the split refused it with at least ``budget`` keys below it."""
    under = take_at(lam, inv, budget, reach, guess, out, heap, ties, lo, hi)
    if under != TAKEN and under >= budget:
        return under, nextafter(guess, 0.0), min(under, limit)
    return under, hi_t, hi_c


@register_jitable
def marks_to_counts(out):
    """The split's ``out`` read as each worker's keys at or below its threshold (a worker
    marked ``-j`` has ``j``); returns how many were marked. Branch-free, so it vectorises."""
    wide_vectors()
    marked = 0
    for i in range(out.shape[0]):
        v = out[i]
        marked += int(v < 0)
        out[i] = max(v, -v)
    return marked


@register_jitable
def finish_at(lam, inv, budget, reach, tstar, out, ties, heap, lo, hi):
    """``out`` from the product ``t*`` of the ``budget``-th key."""
    if tstar < INF:
        take_at(lam, inv, budget, reach, tstar, out, heap, ties, lo, hi)
    else:
        take_many_ties(lam, inv, budget, reach, tstar, out, ties, heap, lo, hi)


@register_jitable
def take_many_ties(lam, inv, budget, reach, tstar, out, ties, heap, lo, hi):
    """``out`` from ``t*`` where a worker may own many keys at it (``t* = inf``, or counts from
    about ``2**52``): the count just at ``t*`` (at ``DBL_MAX`` for ``+inf``), then :func:`take_ties`."""
    count_at(lam, inv, min(tstar, DBL_MAX), budget, budget, reach, False, out, lo, hi)
    take_ties(lam, budget, tstar, out, ties, heap, lo, hi)


# --- A bracket of many keys: a sample of its keys -----------------------------------------


#: What :func:`sampled_key_bracket` selecting a key costs, in sampled workers (measured, 131,072
#: workers: 30 ns a key, 2-3 ns a worker and its keys, one at a time). Sampling every worker
#: where the bracket held 1462 keys took 4.0 -> 6.8 numpy passes.
KEY_COST = 36.0
#: Workers it samples at least (where there are as many): the sample's keys then come from
#: that many workers, not from a few that hold many keys each.
KEY_SAMPLE_WORKERS = 64
#: The margin of its bracket, in standard deviations of the sampled rank of ``t*``.
KEY_MARGIN = 3.0
#: Sampled brackets a call tries at most.
KEY_ROUNDS = 2
#: The keys a sampled bracket may hold, as a share of the workers: selecting them costs
#: about what a counting pass does.
KEY_SELECT_SHARE = 64


@register_jitable
def sampled_key(lam, pairs, e):
    """The product of the ``e``-th sampled key in ``pairs`` (worker, task index), as the counts
    take it."""
    return float(pairs[2 * e + 1]) * lam[pairs[2 * e]]


@register_jitable
def nth_sampled_key(lam, pairs, m, k):
    """The product of the ``k``-th smallest of the ``m`` sampled keys in ``pairs`` (0-based),
    reordering them so that the first ``k`` are at most it (Hoare's selection, the pivot a
    median of three: linear on average, ties included)."""
    lo = 0
    hi = m - 1
    while lo < hi:
        p_lo = sampled_key(lam, pairs, lo)
        p_mid = sampled_key(lam, pairs, lo + (hi - lo) // 2)
        p_hi = sampled_key(lam, pairs, hi)
        pivot = max(min(p_lo, p_mid), min(max(p_lo, p_mid), p_hi))
        i = lo
        j = hi
        while i <= j:
            while sampled_key(lam, pairs, i) < pivot:
                i += 1
            while sampled_key(lam, pairs, j) > pivot:
                j -= 1
            if i <= j:
                swap_entries(pairs, i, j, 2)
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:  # between j and i every key is at the pivot
            break
    return sampled_key(lam, pairs, k)


@register_jitable
def key_margin(rank, m):
    """:func:`sampled_key_bracket`'s margin around the sampled rank ``rank`` of ``t*`` among ``m``
    sampled keys, in sampled keys."""
    return KEY_MARGIN * math.sqrt(rank * max(1.0 - rank / m, 0.0) + 1.0) + 1.0


@register_jitable
def key_bracket_keys(m, rank, stride):
    """The keys :func:`sampled_key_bracket`'s bracket holds, expected, for ``m`` sampled keys and the
    budget's sampled rank ``rank``, a sampled key for ``stride`` keys: the margin both ways,
    short of the lower end."""
    margin = key_margin(rank, max(m, 1.0))
    return stride * (min(rank, margin) + margin + 1.0)


@register_jitable
def sampled_key_bracket(lam, budget, lo_t, lo_c, hi_t, hi_c, counts, pairs, hi, most):
    """``(a, b)``: a bracket of ``t*`` inside ``(lo_t, hi_t]`` (``lo_c < budget <= hi_c`` keys at or
    below the ends, the counts at ``lo_t`` in ``counts``) from a sample of the keys between, a
    few hundred keys wide where the sample is right: the products of the sampled keys
    :data:`KEY_MARGIN` standard deviations below and above where the budget's rank falls
    among them, else the ends themselves; ``(-1, -1)`` where the sample has no key, or no
    room in ``pairs`` (int64 scratch, two entries a key), or where the sample's bracket would
    likely hold more than ``most`` keys (the budget's rank in the middle of many: there a
    line through the counts does better than a sample's few hundred keys).

    Counting steps aim along lines through the counts, which a band of keys bends: the
    keys of one machine type with noise, the budget in their band's tail, took ten exact
    counts that each moved a few keys (one type with 1e-12 noise, 131,072 workers at four
    tasks each, bounded). The sample's rank of the budget is a quantile, whatever the
    band's shape."""
    n = lam.shape[0]
    keys = hi_c - lo_c
    # A sample four times as dense halves the keys the bracket holds (about six standard
    # deviations of the budget's rank, sqrt(rank * stride) keys each): the step balances the
    # sample's cost, a worker each, against the selection's, a key each (KEY_COST workers).
    r = float(budget - lo_c)
    # (A step that shares no small factor, as sample_stride's: one of 16 over 16 types
    # interleaved sampled a single type, which had no key between.)
    step = max(1, min(int((n / (KEY_COST * math.sqrt(r + 1.0))) ** (2.0 / 3.0)), n // KEY_SAMPLE_WORKERS))
    stride = sample_stride(n, max(n // step, 1))
    if key_bracket_keys(float(keys) / stride, r / stride, stride) > 2.0 * most:
        return -1.0, -1.0  # likely too wide: not worth the sample
    room = pairs.shape[0] // 2
    m = 0
    for i in range(0, n, stride):
        x = lam[i]
        cap = high_of(hi, i, budget)
        j = counts[i] + 1
        while j <= cap and float(j) * x <= hi_t:
            if m == room:
                return -1.0, -1.0
            pairs[2 * m] = i
            pairs[2 * m + 1] = j
            m += 1
            j += 1
    if m == 0:
        return -1.0, -1.0
    share = float(m) / float(keys)
    rank = r * share  # the sampled keys at or below t*, expected
    margin = key_margin(rank, m)
    r_hi = int(math.ceil(rank + margin))
    r_lo = int(math.floor(rank - margin))
    if float(min(r_hi, m) - max(r_lo, -1)) > most * share:  # more keys between than worth selecting
        return -1.0, -1.0
    b = hi_t
    if r_hi < m:
        b = nth_sampled_key(lam, pairs, m, r_hi)
        m = r_hi  # the first r_hi are at most b
    a = lo_t
    if r_lo >= 0:
        a = max(nth_sampled_key(lam, pairs, m, r_lo), lo_t)
    if not (a < b):
        return -1.0, -1.0
    return a, b


# --- Bracketing and refinement ----------------------------------------------------------


@register_jitable
def scatter(budget, c):
    """About how far counts ``c`` keys from the budget scatter around a linear model of them."""
    return 2.0 * math.sqrt(abs(budget - c)) + 4.0


@register_jitable
def aim(budget, c, have_lo, lo_c, hi_t, hi_c, width):
    """The count :func:`next_guess` aims at: past the side still missing (or the farther one)
    by about the counts' scatter around the linear model, but where the other end is known,
    no further past than half the room that ``width`` keys between the ends leave."""
    margin = scatter(budget, c)
    if hi_t == INF or (have_lo and budget - lo_c <= hi_c - budget):
        side = 1.0
        room = width - (budget - lo_c) if have_lo else 0.0
    else:
        side = -1.0
        room = width - (hi_c - budget)
    if room >= 2.0:
        margin = min(margin, 0.5 * room)
    return budget + side * margin


@register_jitable
def log_like(lo_t, lo_c, hi_t, hi_c):
    """Whether counts ``lo_c`` at ``lo_t`` and ``hi_c`` at ``hi_t`` grow more like ``log t`` than
    like ``t``: the ends are more than :data:`WIDE` apart and the counts grew by less than
    the square root of the ratio. Per-worker bounds do that where ``lam`` spans many orders
    of magnitude: workers at their cap or minimum stop counting, and the count follows the
    distribution of ``log lam``, not ``t``. Callers pass the counts above the ``base`` keys at
    0 (the minimums), which would make any count look flat."""
    return lo_t > 0.0 and hi_t > WIDE * lo_t and lo_c > 0 and (hi_c / lo_c) ** 2 < hi_t / lo_t


@register_jitable
def log_between(lo_t, lo_c, hi_t, hi_c, target):
    """The threshold where the line through ``(log lo_t, lo_c)`` and ``(log hi_t, hi_c)`` reaches
    ``target`` keys, kept finite (plain Python's ``exp`` raises where it would overflow)."""
    u = math.log(lo_t)
    return math.exp(min(u + (target - lo_c) * ((math.log(hi_t) - u) / (hi_c - lo_c)), 709.0))


@register_jitable
def next_guess(budget, t, c, slope, prev_t, prev_c, have_lo, lo_t, lo_c, hi_t, hi_c, width, stalled, base):
    """The next threshold to count while bracketing the ``budget``-th key (``c`` keys at ``t``).

    Aims past the side still missing (or the farther one) by about the counts' scatter
    around the linear model, so that the next count brackets closely. The counts' slope:
    ``sum(1/lam)`` holds only when every worker gets many tasks; with few, the secant
    through the last two counts (``prev_t < 0``: none yet) is far closer. A wide bracket
    whose counts grow like ``log t`` is interpolated in ``log t``; without an upper end,
    counts that grow like ``log t``, or ``stalled`` (the secant has fallen short again and
    again), step as far as the secant in ``log t`` goes, if that is further; without a
    lower end, coming down, counts that fall like ``log t`` or slower step along that secant.
    """
    local = slope
    if prev_t >= 0.0 and c != prev_c:
        local = (c - prev_c) / (t - prev_t)
    target = aim(budget, c, have_lo, lo_c, hi_t, hi_c, width)
    if have_lo and hi_t < INF:
        if log_like(lo_t, lo_c - base, hi_t, hi_c - base):
            return log_between(lo_t, lo_c, hi_t, hi_c, target)
        return lo_t + (target - lo_c) * ((hi_t - lo_t) / (hi_c - lo_c))
    nxt = t + (target - c) / local if local > 0.0 else -1.0  # no slope (every worker at a bound): shrink
    if hi_t == INF and 0.0 < prev_t < t and prev_c < c < budget and (
            stalled or log_like(prev_t, prev_c - base, t, c - base)):
        # Going up without an upper end on counts that grow like log t (or that the secant
        # has fallen short of again and again): the line in log t, where it goes further.
        # The linear secant through two counts orders of magnitude apart at most doubles t.
        nxt = max(nxt, log_between(prev_t, prev_c, t, c, target))
    if not have_lo and 0.0 < t < prev_t and budget < c < prev_c and (
            log_like(t, c - base, prev_t, prev_c - base)
            or not (nxt > 0.0) and (stalled or prev_c - c > scatter(budget, c))):
        # Coming down without a lower end on counts that fall like log t, or slower than the
        # line through 0 would (by more than their scatter, or again and again): the line in
        # log t goes down orders of magnitude where the linear one would go below 0 and leave
        # steps that shrink by a constant factor to crawl (hundreds of passes over
        # 1e-300..1e300 with bounds, from a guess above t*). Not after the first count that
        # barely moved: a flat before a tie, which the line in log t would overshoot far.
        down = log_between(t, c, prev_t, prev_c, target)
        nxt = down if not (nxt > 0.0) else min(nxt, down)
    return nxt


@register_jitable
def middle(lo_t, hi_t):
    """The middle of ``(lo_t, hi_t)`` (``0 < lo_t``, ``hi_t`` finite): geometric across orders of
    magnitude, else arithmetic."""
    if hi_t > 4.0 * lo_t:
        return math.sqrt(lo_t) * math.sqrt(hi_t)
    return 0.5 * lo_t + 0.5 * hi_t


@register_jitable
def shrink_guess(budget, lo_t, lo_c, hi_t, hi_c, base):
    """A threshold inside ``(lo_t, hi_t)`` that shrinks the bracket at least geometrically:
    up by ``2**64`` without an upper bound; without a lower one, down by the share of the
    keys above the ``base`` keys at 0 that the budget needs; the geometric mean across
    orders of magnitude; else the secant kept within the middle three quarters."""
    if hi_t == INF:
        return min(lo_t * GROWTH, DBL_MAX)
    if lo_t == 0.0:
        # Down in proportion to the keys, as counts that grow linearly in t would. Above
        # minimums the keys vanish faster than t falls (a worker has none below
        # (min + 1) * lam), so that share would land where none is left: by its square root
        # there (measured: 7-9 passes -> 3 for a few keys above the minimums), if that goes
        # further down.
        return 0.75 * hi_t * min(budget / hi_c, math.sqrt((budget - base) / (hi_c - base)))
    if hi_t > 4.0 * lo_t:
        return math.sqrt(lo_t) * math.sqrt(hi_t)
    width = hi_t - lo_t
    t = lo_t + (budget - lo_c) * (width / (hi_c - lo_c))
    return min(max(t, lo_t + 0.125 * width), hi_t - 0.125 * width)


#: The least weight :func:`next_threshold` leaves the far end of a bracket (Anderson-Bjorck).
AB_LEAST = 0.125


@register_jitable
def next_threshold(budget, step, t, c, t2, slope, prev_t, prev_c, streak, have_lo, lo_t, lo_c, hi_t, hi_c, width, base):
    """The next threshold to count inside the bracket ``(lo_t, hi_t)`` after ``step`` counts (``c``
    keys at ``t``), or -1 when none is left between (adjacent floats); ``width``: the keys
    between the ends that the caller can select among.

    The caller's second guess ``t2`` first, then secant steps (halving a two-sided bracket
    once three in a row land on one side), then steps that shrink the bracket geometrically.
    """
    if step == 0 and lo_t < t2 < hi_t:
        nxt = t2
    elif step < MAX_BRACKET_STEPS:
        # Illinois: an end of the bracket that stays while the other moves twice in a
        # row counts as half as far from the budget, so that secant steps do not stall
        # on counts that bend (few tasks a worker, bounds bunched together); as near as the
        # share of the gap the last step closed if that is less (Anderson-Bjorck), down to
        # AB_LEAST: where a band of one machine type's keys makes the count steep on one
        # side of the budget and flat on the other, the steps crawled a few keys a pass
        # (168 inputs of twelve shapes, few types with 1 % noise among them, at 65,536
        # workers: 1000 -> 990 passes).
        lo_w = float(lo_c)
        hi_w = float(hi_c)
        if streak >= 2 and hi_t < INF:
            closed = max(float(c - prev_c) / float(budget - prev_c), AB_LEAST)
            hi_w = budget + (hi_c - budget) * min(0.5 ** (streak - 1), closed)
        elif streak <= -2 and have_lo:
            closed = max(float(prev_c - c) / float(prev_c - budget), AB_LEAST)
            lo_w = budget - (budget - lo_c) * min(0.5 ** (-streak - 1), closed)
        # Three counts or more on one side of the budget, the last closing less than half the gap.
        stalled = (streak >= 3 and 2.0 * (c - prev_c) < budget - prev_c
                   or streak <= -3 and 2.0 * (prev_c - c) < prev_c - budget)
        if (streak >= 3 or streak <= -3) and have_lo and hi_t < INF:
            # The secant crawls toward one end (most keys between sit at the other: a tie
            # of thousands of workers at the upper end, say): halve the bracket instead.
            nxt = middle(lo_t, hi_t)
        else:
            nxt = next_guess(budget, t, c, slope, prev_t, prev_c, have_lo, lo_t, lo_w, hi_t, hi_w, width, stalled,
                             base)
    else:
        nxt = shrink_guess(budget, lo_t, lo_c, hi_t, hi_c, base)
    if not (lo_t < nxt < hi_t and nxt < DBL_MAX):
        nxt = shrink_guess(budget, lo_t, lo_c, hi_t, hi_c, base)
        if not (lo_t < nxt < hi_t):
            nxt = 0.5 * lo_t + 0.5 * hi_t
            if not (lo_t < nxt < hi_t):
                return -1.0
    return nxt


# --- Estimates: bracketing from 1/lam alone ----------------------------------------------


@register_jitable
def trusted_secant(lam, t, first, second, moving):
    """The slope of the line through the validation pass's two estimates (``first`` at ``t``,
    ``second`` at ``t * SLOPE_STEP``) where it is one to aim by, else -1: within
    :data:`SECANT_TRUST` of ``moving`` (the slope of the relaxation: ``sum(1/lam)`` over the
    workers not at a bound), or steeper without repeated times in a sample (the density of
    ``lam`` where most workers hold a key or none; with ties a steep secant is a jump).

    Also shallower, where the keys are sparse: at most one for every
    :data:`SPARSE_SECANT`-th worker, and at least :data:`SECANT_KEYS` between the two
    estimates, over times a sample does not repeat. There nearly every worker holds no key
    and counts in ``moving``, though its next key lies far above ``t``: ``moving`` is many
    times the count's slope, the density of ``lam`` near ``t``, which the secant reads
    (gamma times at 100,000 workers x 1000 tasks, a task at most a worker: the slope 6.5x
    the secant, two estimate passes that crept to the budget, now none).
    """
    secant = (second - first) / (t * SLOPE_STEP - t)
    steeper = moving <= SECANT_TRUST * secant
    if steeper and secant <= SECANT_TRUST * moving:
        return secant
    sparse = SPARSE_SECANT * first <= lam.shape[0] and second - first >= SECANT_KEYS
    if (steeper or sparse) and not sampled_repeats(lam):
        return secant
    return -1.0


@register_jitable
def estimate_into(inv, s, budget, lo, hi):
    """``sum_i trunc(s * inv_i)``, each term clamped as a count is: an estimate of the keys with
    product ``<= s`` that reads ``1/lam`` (and the bounds) and writes nothing.

    Off by at most one per worker, and only where ``s / lam_i`` is within a few ulps of an
    integer, so :func:`estimate_bracket` certifies it with a margin on the threshold: an
    estimate below the budget at ``s`` puts ``t*`` above ``s * (1 - ESTIMATE_MARGIN)``, one at
    or above the budget puts it at or below ``s * (1 + ESTIMATE_MARGIN)``.
    """
    wide_vectors()
    cap = float(budget)
    total = 0.0
    state = flush_tiny()
    for i in range(inv.shape[0]):
        total += max(min(trunc(s * inv[i]), cap_at(hi, i, budget, cap)), floor_at(lo, i, inv[i] != 0.0))
    restore_tiny(state)
    return total


@register_jitable
def estimate_slope_into(inv, s, budget, lo, hi):
    """:func:`estimate_into`, and the count's slope at ``s``: the sum of ``inv_i`` over the
    workers whose count no bound holds (``min_i <= trunc(s * inv_i) < cap_i``).

    With bounds, ``sum(1/lam)`` far overstates the slope, as every worker at a bound stops
    counting; :func:`estimate_bracket`'s second step uses this one instead.
    """
    wide_vectors()
    cap = float(budget)
    total = 0.0
    slope = 0.0
    state = flush_tiny()
    for i in range(inv.shape[0]):
        x = inv[i]
        c, moving = estimate_term(x, s * x, cap_at(hi, i, budget, cap), floor_at(lo, i, x != 0.0))
        total += c
        slope += moving
    restore_tiny(state)
    return total, slope


@register_jitable
def estimate_term(x, product, cap_i, floor_i):
    """One worker's terms of :func:`estimate_slope_into` (``x = 1/lam_i``, ``product = s * x``, or
    any value below 1 where that is): its estimated count, clamped to ``[floor_i, cap_i]``, and
    ``x`` if no bound holds that count, else 0."""
    c = trunc(min(product, cap_i))
    return max(c, floor_i), x if (c >= floor_i) & (c < cap_i) else 0.0


@register_jitable
def estimate_bracket(lam, inv, budget, t, t2, slope, first, t2_estimate, base, width, lo, hi, t_min, t_max, reach,
                     out, ties, heap):
    """Bracket the product ``t*`` of the ``budget``-th key with estimate passes over ``inv = 1/lam``,
    from the guesses ``t`` and ``t2`` (as :func:`allocate_positive`); ``base`` keys have product 0.
    ``first``: the estimate at ``t`` if the bounds check took it (``slope`` then is its slope), else -1;
    ``t2_estimate``: the estimate at ``t2`` if the validation pass took it (without bounds), else -1.
    No pass estimates above ``t_max``, where at least ``budget`` keys are known to lie
    (``+inf``: nowhere known); ``t_min > 0``, a threshold below every key but the ``base``
    ones, is the bracket's lower end from the start (0: none known).

    With bounds, where the line the next pair of estimates would aim along can be trusted
    (:func:`pair_line_trusted`), the count and listing go to the bracket it aims instead,
    and where that holds the budget, select the allocation into ``out`` (:func:`select_aimed`,
    with ``ties`` and ``heap`` as :func:`allocate_positive` has them; ``heap`` holds ``inv``,
    untouched by a miss): :data:`SELECTED`. Only up to ``reach`` (-1: never).

    Returns ``(t_lo, t_hi, found, c_lo, c_hi)``: fewer than ``budget`` keys have product ``<= t_lo``, and
    ``found`` is :data:`NARROW` when at least ``budget`` have product ``<= t_hi`` and the
    estimates put at most ``width`` keys between; :data:`LANDED` when the estimate at
    ``t_hi`` is the budget (the exact count there likely is too); :data:`JUMP` when a step
    left the count of the end it moved unchanged: a flat between products, so ties, with
    ``t*`` in ``(t_lo, t_hi]``; :data:`TIED` when a sample of the workers holds many keys at
    one product in the bracket (:func:`sampled_top`), ``t_hi``: likely ``t*``; else 0, with
    ``t_hi`` the least threshold known to hold ``budget`` keys (``+inf``: none): the passes
    ran out, or a threshold left the range where the margin is proven. ``c_lo`` and ``c_hi``:
    the estimates at the ends (``base``, :data:`ESTIMATE_CAP`: none). :data:`SELECTED`: ``out``
    is the allocation, and ``(t_lo, t_hi)`` the bracket :func:`select_aimed` selected in.
    """
    lo_s = 0.0
    lo_c = base
    hi_s = INF
    hi_c = ESTIMATE_CAP
    have_lo = False
    prev_s = -1.0
    prev_c = 0
    streak = 0
    s = t if first >= 0.0 else min(t, t_max)
    known = t2 if t2_estimate >= 0.0 else -1.0  # the threshold t2_estimate is at
    t2 = min(t2, t_max)
    s2 = -1.0  # a second threshold the same pass estimates at, or -1
    total2 = 0.0
    c = 0
    if t_min > 0.0:
        lo_s = t_min
        have_lo = True
    terms = min(budget, ESTIMATE_TERMS_CAP)
    consulted = False  # the sample, after a flat (sampled_riser)
    placed = False  # ... placed a pair
    reaimed = False  # a second count and listing after an aimed one missed
    flat = empty = False
    for step in range(MAX_ESTIMATES):
        if not (ESTIMATE_LOW <= s <= ESTIMATE_HIGH and s2 <= ESTIMATE_HIGH):
            break
        if step == 0 and first >= 0.0:
            total = first
        elif s2 > 0.0:
            total, total2 = estimate_pair_into(inv, s, s2, terms, lo, hi)
        elif s == known:
            total = t2_estimate
        elif lo is None or step > 0:
            total = estimate_into(inv, s, terms, lo, hi)
        else:
            total, moving = estimate_slope_into(inv, s, terms, lo, hi)
            if moving > 0.0:
                slope = moving
        paired = s2 > 0.0
        last_s = prev_s  # the previous pass's estimate (its last, if a pair)
        last_c = prev_c
        for k in range(2 if paired else 1):
            if k == 1:
                prev_s = s  # next_threshold's secant, if the next pass is single: through the pair
                prev_c = c
                s = s2
                total = total2
            c = saturated(total, ESTIMATE_CAP)
            if c == budget:
                return lo_s * (1.0 - ESTIMATE_MARGIN), s, LANDED, lo_c, hi_c
            # A step that leaves the count of the end it moves unchanged found a flat: ties. (The
            # count's slope says little: with a task or two a worker it is the density of lam.)
            # Not a pair's second threshold on the side of its first in a bracket wider than
            # GROWTH: the pair, a few keys wide, aimed along a line that rough so far from
            # the budget that a flat there says nothing of ties. Nor, below the budget with
            # nothing estimated above, over times a sample does not repeat: there the keys
            # are sparse, not tied (10**uniform(-300, 300) at 64 tasks a worker with bounds, a
            # pair 1e-4 apart: 8 exact counts over 46 orders of magnitude after the flat, 12
            # passes -> 5). Above the budget with nothing below, a flat still ends the
            # estimates: a few machine types with noise leave gaps between their bands there.
            flat = (c == lo_c and have_lo) if c < budget else (c == hi_c)
            if flat and k == 1 and (c < budget) == (prev_c < budget):
                a_s, b_s = (s, hi_s) if c < budget else (lo_s, s)
                if b_s < INF:
                    flat = not (have_lo and GROWTH * a_s < b_s)
                else:
                    flat = sampled_repeats(lam)
            # With bounds, a first estimate with no key above the minimums: below every band
            # (the sampled guess, a relaxation, sits below the keys of times close together
            # at a task a worker or less). Not a flat, but the sample may place a pair.
            empty = step == 0 and lo is not None and c == base and not have_lo
            # A pass is one step of the streak: a pair on one side of the budget is not two
            # (two pairs below it read as four steps in a row, and the next halved a bracket
            # 2x wide instead of stepping along the pair's line).
            same_pass = k == 1 and (c < budget) == (prev_c < budget)
            if c < budget:
                lo_s = s
                lo_c = c
                have_lo = True
                streak = streak if same_pass else max(streak, 0) + 1
            else:
                hi_s = s
                hi_c = c
                streak = streak if same_pass else min(streak, 0) - 1
            if hi_c - lo_c <= width:
                return lo_s * (1.0 - ESTIMATE_MARGIN), hi_s * (1.0 + ESTIMATE_MARGIN), NARROW, lo_c, hi_c
            if flat:
                break
        if flat or empty:
            repeats = sampled_repeats(lam)
            # Unless a sample of workers of distinct times holds many keys spread between the
            # ends (a band, not ties: sampled_riser), once, and the pair it places stays below
            # t_max (at least budget keys there).
            if not consulted and not repeats:
                consulted = True
                a, b = sampled_riser(lam, budget, lo_s, min(hi_s, t_max), lo_c, hi_c if hi_s <= t_max else ESTIMATE_CAP,
                                     lo, hi)
                if a >= 0.0:
                    placed = True
                    prev_s = -1.0  # the next line goes through the pair alone: the flat's end is far
                    prev_c = 0
                    s = a
                    s2 = b
                    continue
            if flat or repeats:
                # Empty over a few machine types is a flat too: the count stays at the
                # minimums until the next product the sample has, which the caller tries
                # (a pair aimed along the first estimate's slope found it flat again: one
                # machine type, or two, at a task a worker or less, with bounds).
                return lo_s * (1.0 - ESTIMATE_MARGIN), hi_s * (1.0 + ESTIMATE_MARGIN), JUMP, lo_c, hi_c
        if hi_s < INF and inv.shape[0] >= SAMPLED_TIES_FROM:
            # Ties: a sample of the workers holds many keys at the largest product it has at or
            # below the upper end, enough to take the count from below the budget to above it
            # there, or at the only product it has in the bracket, enough for much of the
            # keys between. That product is likely t*, which the split checks: no estimate
            # pass finds the count flat first.
            p, share, alone = sampled_top(lam, lo_s * (1.0 - ESTIMATE_MARGIN), hi_s * (1.0 + ESTIMATE_MARGIN), budget,
                                          lo, hi)
            if share >= max(2 * (hi_c - budget), width) or (alone and have_lo and share >= 0.5 * (hi_c - lo_c)):
                return lo_s * (1.0 - ESTIMATE_MARGIN), p, TIED, lo_c, hi_c
        s2 = -1.0
        nxt = -1.0
        # With bounds, the next pass estimates at a pair of thresholds (a pass reads three arrays
        # there, and a second threshold costs it a quarter more, nothing from 10**6 workers;
        # without, it would double it). Without bounds too from PAIRED_FROM workers, where
        # 1/lam has left the cache and a pass waits on memory, once a secant can aim the
        # pair: the relaxation's slope alone aimed one at 14 and 48 times the budget by a
        # band of one machine type's keys. The caller's second guess goes first.
        pairs = lo is not None or inv.shape[0] >= PAIRED_FROM and last_s >= 0.0
        if pairs and not (step == 0 and lo_s < t2 < hi_s):
            near_s = s  # the pass's estimate nearest the budget
            near_c = c
            if paired and abs(prev_c - budget) < abs(c - budget):
                near_s = prev_s
                near_c = prev_c
            # The secant from the previous pass: a pair's own is too short to see past the
            # estimates' rounding (a few keys against the 2 * PAIR_AIM * width between them) ...
            local = (near_c - last_c) / (near_s - last_s) if last_s >= 0.0 and near_c != last_c else -1.0
            aim = local
            line_s = last_s
            line_c = last_c
            if paired and (own_slope(lam, c - prev_c, near_c - budget, have_lo, lo_s, hi_s)
                           or steeper_than_secant(lam, c - prev_c, s - prev_s, local, have_lo)):
                # ... unless it spans many keys, in a bracket within a factor 2, over distinct
                # times: there the counts bend (the tail of a band of keys: times within a few
                # percent of each other), the pair's own slope is the count's local one, and
                # the secant across the bend overshoots (a few machine types with noise, 16,384
                # workers x 262,144 tasks: 8.2 -> 3.6 passes, weighted).
                line_s, line_c = (s, c) if near_s == prev_s else (prev_s, prev_c)
                aim = (near_c - line_c) / (near_s - line_s)
            nxt, s2 = pair_thresholds(budget, near_s, near_c, slope, aim, width, have_lo, lo_s, lo_c, hi_s, hi_c,
                                      line_s, line_c, base, PAIR_AIM)
            # Not after the sample's pair: the lines bend along a band's tails, and a listing
            # that misses costs an exact pass where pairs cost a quarter of one (lognormal(0,
            # 0.05) at 65,536 x 58,982, at most one task a worker: 2 misses, 8.4 -> 6.4
            # numpy passes).
            a = b = -1.0
            if reach > 0.0 and inv.shape[0] >= SPECULATE_PAIRS_FROM and not placed:
                if s2 > 0.0:
                    if (paired and pair_line_trusted(budget, prev_s, prev_c, s, c, last_s, last_c, near_s, near_c,
                                                     width, base)
                            and not sampled_repeats(lam)):
                        # Where that line is trusted, the count and listing go to the bracket it
                        # aims, a pass fewer where it holds the budget (a miss costs one).
                        a, b = pair_thresholds(budget, near_s, near_c, slope, local, width, have_lo, lo_s, lo_c,
                                               hi_s, hi_c, last_s, last_c, base, SPECULATE_AIM)
                elif prev_s >= 0.0 and not sampled_repeats(lam):
                    # No next pair fits the bracket: the pass's estimate nearest the budget lies
                    # near it. The count and listing go on from there along the line through
                    # the pair's two estimates, or through a single one and the pass before's
                    # (prev_s: the pair's first, or the pass before's; -1 at the start).
                    a, b = line_extended(budget, near_s, near_c, prev_s, prev_c, s, c, width, lo_s, hi_s, base)
            if 0.0 < a and b <= reach:
                end, a_c, b_c = select_aimed_counted(lam, heap, budget, a, b, out, ties, heap, lo, hi)
                if end > 0.0:
                    return a, end, SELECTED, lo_c, hi_c
                if not reaimed:
                    # The miss counted exactly at a (and at b, below the budget): the
                    # bracket's ends, and a second count and listing between the exact
                    # end and the other, along the line through them (the counts over a
                    # band of one machine type bend, and a line from below aims short).
                    reaimed = True
                    lo_exact = hi_exact = True
                    if a_c >= budget:
                        hi_s = a
                        hi_c = a_c
                        lo_exact = False
                    else:
                        lo_s = a
                        lo_c = a_c
                        have_lo = True
                        if b_c < budget:
                            lo_s = b
                            lo_c = b_c
                            hi_exact = False
                        else:
                            hi_s = b
                            hi_c = b_c
                    if have_lo and hi_s < INF:
                        a, b = reaimed_bracket(budget, lo_s, lo_c, hi_s, hi_c, width, base, lo_exact, hi_exact)
                        if 0.0 < a and b <= reach:
                            end = select_aimed(lam, heap, budget, a, b, out, ties, heap, lo, hi)
                            if end > 0.0:
                                return a, end, SELECTED, lo_c, hi_c
        if s2 < 0.0:
            nxt = next_threshold(budget, step, s, c, t2, slope, prev_s, prev_c, streak, have_lo, lo_s, lo_c, hi_s,
                                 hi_c, width, base)
            if nxt < 0.0:
                break
        prev_s = s
        prev_c = c
        s = min(nxt, t_max)
        if s2 > t_max:  # a pair past t_max: one estimate there
            s2 = t_max if s < t_max else -1.0
    return lo_s * (1.0 - ESTIMATE_MARGIN), hi_s * (1.0 + ESTIMATE_MARGIN), 0, lo_c, hi_c


#: Estimate passes :func:`estimate_within` takes at most.
WITHIN_ESTIMATES = 8


@register_jitable
def estimate_within(inv, budget, s, step, t2, slope, prev_t, prev_c, streak, lo_t, lo_c, hi_t, hi_c, width, base, lo,
                    hi):
    """Narrow a bracket ``(lo_t, hi_t]`` of exact counts (``lo_c < budget <= hi_c`` keys at
    its ends, more than ``width`` between) with estimate passes over ``inv = 1/lam``,
    a quarter of an exact count each, from the threshold ``s`` that the exact steps would
    have counted next (``step``, ``t2``, ``slope`` and ``streak`` as they have them, and
    ``prev_t``, ``prev_c``, their last count):
    ``(narrow, t_lo, t_hi)``: the estimates' bracket, its ends widened by
    :data:`ESTIMATE_MARGIN` (an end they did not move is the caller's, widened); ``narrow``
    where they put at most ``width`` keys between, for one count and listing; False where
    they stop first: an estimate equal to an end's count (a gap between products, or ties,
    which the exact counts' neighbouring products step over), a threshold outside the
    estimates' range, or the passes ran out. ``hi_t = +inf``: no upper end yet.

    Where the keys between lie in the tail of a band (a few machine types with noise: the
    keys of one type at one task count within a fraction of a percent), the secant steps
    crawl along the tail, as exact steps would, at a quarter of their cost.
    """
    terms = min(budget, ESTIMATE_TERMS_CAP)
    for k in range(WITHIN_ESTIMATES):
        if not (ESTIMATE_LOW <= s <= ESTIMATE_HIGH):
            break
        total = estimate_into(inv, s, terms, lo, hi)
        c = saturated(total, ESTIMATE_CAP)
        if c == lo_c or c == hi_c:
            break
        if c < budget:
            lo_t = s
            lo_c = c
            streak = max(streak, 0) + 1
        else:
            hi_t = s
            hi_c = c
            streak = min(streak, 0) - 1
        if hi_c - lo_c <= width:
            return True, lo_t * (1.0 - ESTIMATE_MARGIN), hi_t * (1.0 + ESTIMATE_MARGIN)
        nxt = next_threshold(budget, step + 1 + k, s, c, t2, slope, prev_t, prev_c, streak, True, lo_t, lo_c, hi_t,
                             hi_c, width, base)
        if nxt < 0.0:
            break
        prev_t = s
        prev_c = c
        s = nxt
    return False, lo_t * (1.0 - ESTIMATE_MARGIN), hi_t * (1.0 + ESTIMATE_MARGIN)


#: The two thresholds of a paired estimate pass aim this share of the narrow width below and
#: above the budget: the pass brackets ``t*`` narrowly unless the line it aims by is off by
#: a third of the width or more (over the benchmark's distributions and sizes, 0.2 and 0.45
#: took more passes).
PAIR_AIM = 0.3
#: A pair's own slope aims the next pair (:func:`own_slope`) from this many keys between its
#: two estimates (a slope over 64 keys is off by an eighth or so) ...
PAIR_OWN_KEYS = 64
#: ... where the budget is at most this many times that many keys away (the slope's error
#: grows with the reach: 2**51 tasks over 8192 workers, pairs ~100 keys apart 10**7 keys
#: away, took 9 pairs along it against 4 along the secant).
PAIR_OWN_REACH = 8.0


@register_jitable
def own_slope(lam, keys, away, have_lo, lo_s, hi_s):
    """Whether the next pair aims along the slope of the pair just estimated, ``keys`` apart
    with the budget ``away`` keys from the nearer, rather than the secant from the pass
    before: at least :data:`PAIR_OWN_KEYS` keys apart and at most :data:`PAIR_OWN_REACH`
    times that from the budget, in a bracket ``(lo_s, hi_s]`` within a factor 2 (wider, the
    counts may grow like ``log t``, which the secant's ends see), over times a sample does
    not repeat (ties make the counts jump)."""
    keys = abs(keys)  # as floats: counts reach ESTIMATE_CAP, and numba's int64 wraps past 2**63
    return (keys >= PAIR_OWN_KEYS and float(abs(away)) <= PAIR_OWN_REACH * float(keys) and have_lo
            and hi_s <= 2.0 * lo_s and not sampled_repeats(lam))


#: A pair's own slope aims the next pair, however far the budget, where it is this many times
#: the secant's from the pass before (:func:`steeper_than_secant`) ...
PAIR_OWN_BEND = 1.5
#: ... and the pair holds at least one key for this many workers.
PAIR_OWN_SHARE = 4.0


@register_jitable
def steeper_than_secant(lam, keys, span, local, have_lo):
    """Whether the next pair aims along the slope of the pair just estimated (``keys`` apart
    over ``span``), however far the budget, because it is :data:`PAIR_OWN_BEND` times the
    secant's from the pass before (``local``; -1: none) or more: the counts bend between, and
    the line along the steeper slope stays on the pair's side of ``t*``, where the secant
    overshoots onto the flat side of the bend. Counts that bend so are concave below the
    budget (convex above it): where most workers are of one machine type with a little
    noise, at many tasks a worker, and reach their caps around ``t*``, the secant from
    above aimed into the flat past the caps, and the steps crawled down it (two types 100x
    apart, the fast half's caps holding the budget, 20,000 workers x 2 * 10**7 tasks: 23
    passes -> 11).

    Only for a pair of at least one key for every :data:`PAIR_OWN_SHARE` workers (and at
    least :data:`PAIR_OWN_KEYS`), over times a sample does not repeat: a few keys between a
    pair are a sample of where the workers' keys fall, and over types a hair apart a jump
    of one type's keys; their slope misled the steps on such inputs of the pass survey
    (4 inputs worse, 2 better, from 64 to 283 keys a pair at 4096 and 16,384 workers)."""
    keys = float(abs(keys))  # as own_slope
    return (keys >= PAIR_OWN_KEYS and PAIR_OWN_SHARE * keys >= lam.shape[0] and local > 0.0 and have_lo
            and keys >= PAIR_OWN_BEND * local * abs(span) and not sampled_repeats(lam))


@register_jitable
def pair_thresholds(budget, s, c, slope, local, width, have_lo, lo_s, lo_c, hi_s, hi_c, last_s, last_c, base, share):
    """Two thresholds ``a < b`` for the next estimate pass, aimed ``share * width`` keys below
    and above the budget along a line through the estimate (``c`` keys at ``s``) of slope
    ``local`` (the secant from the previous pass; -1: none), else the bracket's, else
    ``slope``. ``(-1, -1)`` if they do not fall strictly inside the bracket.

    Where the counts are close to linear, the pass brackets ``t*`` narrowly at once; where
    they bend (workers reaching their bounds), the two may land on one side, one of them
    nearer than a single step aimed past the budget would have.

    Where the counts above the ``base`` keys at 0 grow like ``log t`` (:func:`log_like`) between
    the two estimates the line goes through (the previous pass's, ``last_c`` keys at
    ``last_s``, and this one; else the bracket's ends), the pair aims along that line in
    ``log t`` instead.

    ``share``: :data:`PAIR_AIM` for an estimate pass, :data:`SPECULATE_AIM` for the bracket
    the count and listing go to where the line is trusted (:func:`pair_line_trusted`).
    """
    d = share * width
    if local <= 0.0 and have_lo and hi_s < INF:
        a, b = bracket_line(budget, d, lo_s, lo_c, hi_s, hi_c, base)
        return (a, b) if lo_s < a < b < hi_s else (-1.0, -1.0)
    k = slope
    if local > 0.0:
        p_s, p_c, q_s, q_c = (last_s, last_c, s, c) if last_s < s else (s, c, last_s, last_c)
        if log_like(p_s, p_c - base, q_s, q_c - base):
            a = log_between(p_s, p_c, q_s, q_c, budget - d)
            b = log_between(p_s, p_c, q_s, q_c, budget + d)
            return (a, b) if lo_s < a < b < hi_s else (-1.0, -1.0)
        k = local
    if not (k > 0.0):
        return -1.0, -1.0
    a = s + (budget - d - c) / k
    b = s + (budget + d - c) / k
    if not (lo_s < a < b < hi_s and b <= DBL_MAX):
        return -1.0, -1.0
    return a, b


@register_jitable
def bracket_line(budget, d, lo_s, lo_c, hi_s, hi_c, base):
    """The thresholds ``d`` keys below and above the budget along the line through a bracket's
    ends (``lo_c`` keys at ``lo_s``, ``hi_c`` at ``hi_s``), in ``log t`` where the counts grow
    so (:func:`log_like`); ``(-1, -1)`` where the counts do not rise between the ends."""
    if log_like(lo_s, lo_c - base, hi_s, hi_c - base):
        return log_between(lo_s, lo_c, hi_s, hi_c, budget - d), log_between(lo_s, lo_c, hi_s, hi_c, budget + d)
    k = (hi_c - lo_c) / (hi_s - lo_s)
    if not (k > 0.0):
        return -1.0, -1.0
    return lo_s + (budget - d - lo_c) / k, lo_s + (budget + d - lo_c) / k


@register_jitable
def estimate_pair_into(inv, s, s2, budget, lo, hi):
    """:func:`estimate_into` at ``s`` and at ``s2``, in one pass."""
    wide_vectors()
    cap = float(budget)
    total = 0.0
    total2 = 0.0
    state = flush_tiny()
    for i in range(inv.shape[0]):
        x = inv[i]
        cap_i = cap_at(hi, i, budget, cap)
        floor_i = floor_at(lo, i, x != 0.0)
        total += max(trunc(min(s * x, cap_i)), floor_i)
        total2 += max(trunc(min(s2 * x, cap_i)), floor_i)
    restore_tiny(state)
    return total, total2


#: Where :func:`speculative_bracket` trusts the line through the validation pass's two
#: estimates: the budget at most ``SPECULATE_SPAN`` times their distance outside them, and
#: within ``SPECULATE_WIDTHS`` narrow widths of the nearer one ...
SPECULATE_SPAN = 2.0
SPECULATE_WIDTHS = 12.0
#: ... and the bracket it aims, this share of the narrow width below and above the budget:
#: wider than an estimate pair's (:data:`PAIR_AIM`), as no estimate confirms it first.
SPECULATE_AIM = 0.45
#: From this many workers the count and listing may go where an estimate pair's line aims
#: (:func:`pair_line_trusted`): the pair pass it saves costs in proportion to the workers,
#: the wider listing (``2 * SPECULATE_AIM`` against at most ``2 * PAIR_AIM`` narrow widths,
#: ``O(sqrt n)``) and the check of the sample do not. Whole numba calls over 95 random
#: bounded problems where it changed the passes, against not going (medians): 1.08x the
#: time at 4096 workers, 1.03x at 8192, 1.00x at 16,384, 0.93x at 40,000, 0.92x at 65,536.
SPECULATE_PAIRS_FROM = 32768


@register_jitable
def speculative_bracket(budget, t, first, second, width):
    """``(a, b)``: thresholds ``SPECULATE_AIM * width`` keys below and above the budget along
    the line through the validation pass's estimates (``first`` at ``t``, ``second`` at ``t *
    SLOPE_STEP``), where that line is close enough to trust; ``(-1, -1)`` elsewhere.

    From the sampled guess those two estimates are a secant that aims within a fraction of
    the narrow width on smooth inputs (a pair pass there brackets ``t*`` at once): the count
    and listing can go straight there, a pair pass fewer (65,536 workers, 262,144 tasks:
    eight of the table's thirteen distributions with bounds). Not where the line would
    reach far (the pair pass after it misses too: ``t*`` where the counts bend), nor flat
    (ties: a jump, not a slope).
    """
    if not (second > first):
        return -1.0, -1.0
    spread = second - first
    reach = (budget - first) / spread
    near = min(abs(budget - first), abs(budget - second))
    if not (-SPECULATE_SPAN <= reach <= 1.0 + SPECULATE_SPAN and near <= SPECULATE_WIDTHS * width):
        return -1.0, -1.0
    k = spread / (t * SLOPE_STEP - t)
    d = SPECULATE_AIM * width
    a = t + (budget - d - first) / k
    b = t + (budget + d - first) / k
    if not (ESTIMATE_LOW <= a < b <= ESTIMATE_HIGH):
        return -1.0, -1.0
    return a, b


@register_jitable
def listed_keys(lam, budget, hi_t, out, idx, m, hi):
    """The keys in ``(t, hi_t]`` of the ``m`` workers :func:`count_list_into` listed at ``t`` in
    ``idx`` (their counts at ``t`` in ``out``): what :func:`select_listed` would select from."""
    total = 0
    for b in range(m):
        i = idx[b]
        total += max(count_le(lam[i], hi_t, high_of(hi, i, budget)) - out[i], 0)
    return total


@register_jitable
def allocate_aimed(lam, inv, budget, t, first, second, width, reach, base, out, ties, heap, lo, hi):
    """The count and listing at the bracket :func:`speculative_bracket` aims from the validation
    pass's estimates, and the selection, where that bracket holds the budget
    (:func:`select_aimed`): returns it (``(t_lo, t_lo)`` where the count there is the budget),
    else ``(-1, -1)``, and the estimates run as they would have.

    A miss still counted exactly at ``t_lo`` (and at ``t_hi``, below the budget): with the
    validation pass's estimate nearest beyond it on the budget's other side, a second count
    and listing goes between (:func:`reaimed_bracket`), as after a pair's aimed miss in
    :func:`estimate_bracket`. The secant of two estimates 3 % apart bends over a band of
    one machine type (``lognormal(0, 0.05)``, 65,536 workers, 58,982 tasks, at most one a
    worker: ten keys over the budget at ``t_lo``, then a pair above that count, wasted).
    From :data:`SPECULATE_PAIRS_FROM` workers, as a pair's aimed count: over the 1400
    cluster-shaped inputs, at 4096 and 16,384 workers, it missed again more often than
    it held (4298.15 -> 4299.50 weighted passes).
    """
    t_lo, t_hi = speculative_bracket(budget, t, first, second, width)
    if not (0.0 < t_lo and t_hi <= reach) or sampled_repeats(lam):
        return -1.0, -1.0
    end, c_lo, c_hi = select_aimed_counted(lam, inv, budget, t_lo, t_hi, out, ties, heap, lo, hi)
    if end > 0.0:
        return t_lo, end
    if lam.shape[0] < SPECULATE_PAIRS_FROM:  # as for a pair's line: below, a miss costs more than the pair
        return -1.0, -1.0
    t_up = t * SLOPE_STEP  # where the validation pass took ``second``
    above = c_lo >= budget  # t_lo exact above the budget, else t_hi exact below it
    if above:  # the nearest estimate below t_lo
        hi_s, hi_c = t_lo, c_lo
        if second < budget and t_up < t_lo:
            lo_s, lo_c = t_up, int(second)
        elif first < budget and t < t_lo:
            lo_s, lo_c = t, int(first)
        else:
            return -1.0, -1.0
    elif 0 <= c_hi < budget:  # the nearest estimate above t_hi
        lo_s, lo_c = t_hi, c_hi
        if first >= budget and t > t_hi:
            hi_s, hi_c = t, int(first)
        elif second >= budget and t_up > t_hi:
            hi_s, hi_c = t_up, int(second)
        else:
            return -1.0, -1.0
    else:  # more keys between than the selection has room for
        return -1.0, -1.0
    a, b = reaimed_bracket(budget, lo_s, lo_c, hi_s, hi_c, width, base, not above, above)
    if not (0.0 < a and b <= reach):
        return -1.0, -1.0
    end = select_aimed(lam, inv, budget, a, b, out, ties, heap, lo, hi)
    return (a, end) if end > 0.0 else (-1.0, -1.0)


@register_jitable
def select_aimed(lam, inv, budget, t_lo, t_hi, out, ties, heap, lo, hi):
    """The count and listing at a bracket ``(t_lo, t_hi]`` that a line aimed and no estimate
    pass confirmed, and the selection where it holds the budget: returns ``t_hi`` (``t_lo``
    where the count there is the budget: the prefix is the allocation), else -1. The pass
    checks the bracket itself: its count at the lower end is exact, and so is the number of
    keys it lists. Where it fails, nothing was written over ``1/lam`` (``heap``, which the
    selection overwrites), only ``out`` and ``ties``."""
    return select_aimed_counted(lam, inv, budget, t_lo, t_hi, out, ties, heap, lo, hi)[0]


@register_jitable
def select_aimed_counted(lam, inv, budget, t_lo, t_hi, out, ties, heap, lo, hi):
    """:func:`select_aimed`, and what its pass counted exactly: ``(end, keys at or below t_lo,
    keys at or below t_hi)``, the last -1 where the count at ``t_lo`` reached the budget
    (nothing was listed)."""
    total, listed = count_list_into(lam, inv, t_lo, budget, t_hi, out, ties, lo, hi)
    lo_c = saturated(total, ESTIMATE_CAP)
    if total == budget:  # the prefix is the allocation
        return t_lo, lo_c, -1
    if not (total < budget):
        return -1.0, lo_c, -1
    between = listed_keys(lam, budget, t_hi, out, ties, listed, hi)
    if not (budget - lo_c <= between <= heap.shape[0] // 3):  # select_listed's room
        return -1.0, lo_c, lo_c + between
    select_listed(lam, budget, lo_c, t_hi, out, ties, listed, heap, hi)
    return t_hi, lo_c, lo_c + between


@register_jitable
def reaimed_bracket(budget, lo_s, lo_c, hi_s, hi_c, width, base, lo_exact, hi_exact):
    """The bracket a second count and listing goes to after an aimed one missed, between the
    ends of the bracket (``lo_c`` keys at ``lo_s``, ``hi_c`` at ``hi_s``), one or both of them
    the exact counts of that miss (``lo_exact``, ``hi_exact``), the others estimates: each
    end :data:`SPECULATE_AIM` widths past the budget along the line through the two (in
    ``log t`` where the counts grow so, :func:`log_like`), or the bracket's end itself where
    the line's threshold would lie past it, or where that end is exact and the budget lies
    within :data:`REAIM_WIDTHS` widths of it (a side that cannot miss; an estimate's end
    could, and a listing that reaches the far end of a narrow bracket selects among more
    keys than it needs: one machine type at 262,144 x 26,214, 2006 keys listed where 550
    would do, and the pass fewer gained nothing)."""
    a, b = bracket_line(budget, SPECULATE_AIM * width, lo_s, lo_c, hi_s, hi_c, base)
    if not (a > lo_s) or lo_exact and float(budget - lo_c) <= REAIM_WIDTHS * width:
        a = lo_s
    if not (b < hi_s) or hi_exact and float(hi_c - budget) <= REAIM_WIDTHS * width:
        b = hi_s
    return a, b


#: Where an exact end after a missed aim lies within this many widths of the budget, the second
#: count and listing starts (or ends) there rather than at a threshold the line aims.
REAIM_WIDTHS = 2.0


@register_jitable
def line_extended(budget, s, c, p_s, p_c, q_s, q_c, width, lo_s, hi_s, base):
    """``(a, b)``: the bracket the count and listing go to from an estimate near the budget
    (``c`` keys at ``s``), along the line through two estimates (``p_c`` keys at ``p_s``,
    ``q_c`` at ``q_s``: a pair's own, or the last pass's and the one before; in ``log t``
    where the counts grow so, :func:`log_like`) to :data:`SPECULATE_AIM` narrow widths past
    the budget, and from ``s`` itself, widened as the bracket's ends are, on the near side.
    ``(-1, -1)`` where the two estimates lie fewer than :data:`PAIR_OWN_KEYS` keys apart, or
    the budget lies farther from ``c`` than they do or than a narrow width, or the bracket
    ``(lo_s, hi_s]`` does not hold the far end.

    Where no next pair fits the bracket, the estimates cost a pass more: an estimate just
    past the budget, then the count and listing (lognormal(0, 20) at 65,536 x 262,144 with
    bounds 1 to 8, a pair 121 keys short of the budget, 336 keys apart: 5 passes -> 4;
    10**uniform(-300, 300) at 65,536 x 6553, bounds 0 to 1, the step down 61 keys short,
    1045 keys below the validation pass's estimate: 4 -> 3)."""
    keys = abs(q_c - p_c)
    gap = abs(budget - c)
    if not (c != budget and keys >= PAIR_OWN_KEYS and gap <= keys and float(gap) <= width):
        return -1.0, -1.0
    if p_s > q_s:
        p_s, p_c, q_s, q_c = q_s, q_c, p_s, p_c
    target = budget + SPECULATE_AIM * width if c < budget else budget - SPECULATE_AIM * width
    if log_like(p_s, p_c - base, q_s, q_c - base):
        far = log_between(p_s, p_c, q_s, q_c, target)
    else:
        far = s + (target - c) * ((q_s - p_s) / (q_c - p_c))
    if c < budget:  # the near end widened as the bracket's ends are: it cannot miss
        a = s * (1.0 - ESTIMATE_MARGIN)
        b = far
        inside = b < hi_s
    else:
        a = far
        b = s * (1.0 + ESTIMATE_MARGIN)
        inside = a > lo_s
    if not (inside and 0.0 < a < b <= DBL_MAX):
        return -1.0, -1.0
    return a, b


@register_jitable
def pair_line_trusted(budget, s, c, s2, c2, last_s, last_c, near_s, near_c, width, base):
    """Whether the line that :func:`pair_thresholds` aims the next pair along, after an estimate
    pair (``c`` keys at ``s``, ``c2`` at ``s2 > s``), is close enough to trust for the count and
    listing: its secant from the previous pass (``last_c`` at ``last_s``) to the pair's
    estimate nearer the budget (``near_c`` at ``near_s``) reaches the budget within
    :data:`SPECULATE_SPAN` times its own rise, :data:`SPECULATE_WIDTHS` narrow widths and
    :data:`PAIR_OWN_REACH` times the keys between the pair, and the pair's own secant agrees
    with it within :data:`SECANT_TRUST` (in ``log t`` where the line is, :func:`log_like`).

    The conditions of :func:`speculative_bracket` for the validation pass's two estimates,
    where the pair's own secant is the check on the line: over the bounded table and shapes
    with a few machine types, noise, rounded times and soft floors (16,384 workers, 0.3 to 16
    tasks a worker), of 20 pairs followed by another, these trust 13 and 12 of them hold
    the budget; a flat pair (a few keys apart, a count that bends) or a line reaching far
    does not. Over 270 random bounded problems of other families (4096 to 65,536 workers,
    with no size limit), 83 calls took a pair pass fewer (or more) and 11 an exact pass more.
    """
    rise = near_c - last_c
    gap = abs(budget - near_c)
    if not (last_s >= 0.0 and rise != 0 and c2 > c):
        return False
    if not (gap <= SPECULATE_SPAN * abs(rise) and gap <= SPECULATE_WIDTHS * width):
        return False
    if not float(gap) <= PAIR_OWN_REACH * float(c2 - c):
        # Nor where the budget lies many times the pair's own keys away: the check of the
        # line's slope sees too little of the curve between. Over the table's inputs at
        # 65,536 and 262,144 workers and 120 cluster-shaped ones at 262,144, with and without
        # bounds, the lines within 8 times held the budget 26 times in 27, those farther 5
        # in 10 (exponential times at 0.1 tasks a worker: 16 times, aimed short).
        return False
    p_s, p_c, q_s, q_c = (last_s, last_c, near_s, near_c) if last_s < near_s else (near_s, near_c, last_s, last_c)
    if log_like(p_s, p_c - base, q_s, q_c - base):
        line = (q_c - p_c) / (math.log(q_s) - math.log(p_s))
        own = (c2 - c) / (math.log(s2) - math.log(s))
    else:
        line = (q_c - p_c) / (q_s - p_s)
        own = (c2 - c) / (s2 - s)
    return line > 0.0 and own <= SECANT_TRUST * line and line <= SECANT_TRUST * own


#: Sampled workers whose next ones :func:`sampled_repeats` compares them with.
REPEAT_REACH = 8


@register_jitable
def sample_stride(n, size):
    """The step of a sample of about ``size`` of ``n`` workers (every step-th one): the largest
    step at most ``n // size`` that shares no factor with 2, 3, 5 or 7 (odd below 11). So
    workers listed in a repeating pattern of 2 to 10 kinds (two machine types alternating,
    racks interleaved) all show in the sample: a step of 64 over two types alternating saw one
    of them only, and the passes after it searched for ties the sample could not show."""
    step = max(n // size, 1)
    if step <= 10:
        return (max(step, 2) - 1) | 1
    while step % 2 == 0 or step % 3 == 0 or step % 5 == 0 or step % 7 == 0:
        step -= 1
    return step


@register_jitable
def sampled_repeats(lam):
    """Whether a sampled worker (:data:`SAMPLED_WORKERS`, evenly spaced) of ``0 < lam < inf``
    has the same ``lam`` as one of the next :data:`REPEAT_REACH` sampled ones: the mark of a
    few machine types or of rounded durations, whose ties make the counts jump (no line to
    aim by), and which distinct times almost never show."""
    n = lam.shape[0]
    stride = sample_stride(n, SAMPLED_WORKERS)
    for i in range(0, n, stride):
        x = lam[i]
        if 0.0 < x < INF:
            for d in range(1, REPEAT_REACH + 1):
                k = i + d * stride
                if k >= n:
                    break
                if lam[k] == x:
                    return True
    return False


@register_jitable
def sampled_integers(lam):
    """Whether every sampled worker (:data:`SAMPLED_WORKERS`, evenly spaced) of ``0 < lam <
    inf`` has an integer ``lam`` below ``2**53`` (and one has): the mark of durations recorded
    in whole units (milliseconds, say), whose keys' products are whole numbers too."""
    n = lam.shape[0]
    found = False
    for i in range(0, n, sample_stride(n, SAMPLED_WORKERS)):
        x = lam[i]
        if 0.0 < x < INF:
            if not (x < TIED_CAP and x == math.floor(x)):
                return False
            found = True
    return found


#: Workers :func:`product_near` and its kin look at, evenly spaced.
SAMPLED_WORKERS = 64


@register_jitable
def line_start(lam, t_lo, t_hi, c_lo, budget, base, lo, hi):
    """Where a line through the estimates at the ends of a bracket ``(t_lo, t_hi]`` starts: at
    ``t_lo``, or where its count ``c_lo`` is the ``base`` keys alone (nothing below the
    bracket says where the keys begin), at the least product of a key above the minimums
    among the sampled workers (:data:`SAMPLED_WORKERS`), if that is inside."""
    start = t_lo
    if c_lo <= base:
        n = lam.shape[0]
        least = INF
        for i in range(0, n, sample_stride(n, SAMPLED_WORKERS)):
            x = lam[i]
            if 0.0 < x < INF and low_of(lo, i, True) < high_of(hi, i, budget):
                least = min(least, (low_of(lo, i, True) + 1) * x)
        if least < t_hi:
            start = max(start, least)
    return start


@register_jitable
def product_near(lam, t_lo, t_hi, aim, budget, lo, hi):
    """The product of a key in ``(t_lo, t_hi]`` (``t_hi`` finite) of one of the sampled workers
    (:data:`SAMPLED_WORKERS`) next to ``aim``: the least at or above it, else the largest
    below it; 0 if none of them has one there."""
    n = lam.shape[0]
    above = INF
    below = 0.0
    for i in range(0, n, sample_stride(n, SAMPLED_WORKERS)):
        x = lam[i]
        if 0.0 < x < INF:
            low = low_of(lo, i, True)
            cap = high_of(hi, i, budget)
            c = max(count_le(x, aim, cap), low)
            if c < cap and (c + 1) * x <= t_hi:
                above = min(above, (c + 1) * x)
            if c > low and c * x > t_lo:
                below = max(below, c * x)
    return above if above < INF else below


@register_jitable
def top_key_inside(x, low, cap, t_lo, t_hi):
    """``(p, more)``: the product of the last key in ``(t_lo, t_hi]`` of a worker with ``0 < lam = x <
    inf`` and bounds ``low``, ``cap`` (0: none there), and whether it has another one there."""
    c = max(count_le(x, t_hi, cap), low)
    if c > low and c * x > t_lo:
        return c * x, (c - 1 > low) and ((c - 1) * x > t_lo)
    return 0.0, False


#: Sampled workers that must hold a key at one product for :func:`sampled_top` to tell of it.
TIED_HOLDERS = 4
#: From this many workers :func:`estimate_bracket` looks at the sample for ties after each
#: pass: its 64 divisions (0.26 us) cost a sixteenth of the estimate pass they may save here
#: (at 4096 workers, a quarter, on every input: 5-12 % of a smooth call).
SAMPLED_TIES_FROM = 16384


#: No product in a slot of :func:`four_largest`.
NO_SLOT = (-INF, 0, 0, -INF, 0, 0, -INF, 0, 0, -INF, 0, 0)


@register_jitable
def four_largest(slots, p, more):
    """``slots`` (``NO_SLOT`` at first: product, holders, holders with another key, four
    times, largest first) with one more holder of ``p``. A product drops out only for four
    larger ones, so the holders of the four left at the end are exact."""
    p1, h1, m1, p2, h2, m2, p3, h3, m3, p4, h4, m4 = slots
    if p == p1:
        return p1, h1 + 1, m1 + more, p2, h2, m2, p3, h3, m3, p4, h4, m4
    if p == p2:
        return p1, h1, m1, p2, h2 + 1, m2 + more, p3, h3, m3, p4, h4, m4
    if p == p3:
        return p1, h1, m1, p2, h2, m2, p3, h3 + 1, m3 + more, p4, h4, m4
    if p == p4:
        return p1, h1, m1, p2, h2, m2, p3, h3, m3, p4, h4 + 1, m4 + more
    if p > p1:
        return p, 1, more, p1, h1, m1, p2, h2, m2, p3, h3, m3
    if p > p2:
        return p1, h1, m1, p, 1, more, p2, h2, m2, p3, h3, m3
    if p > p3:
        return p1, h1, m1, p2, h2, m2, p, 1, more, p3, h3, m3
    if p > p4:
        return p1, h1, m1, p2, h2, m2, p3, h3, m3, p, 1, more
    return slots


@register_jitable
def tied_slot(slots):
    """``(p, holders, with another key)`` of the first of :func:`four_largest`'s slots that
    :data:`TIED_HOLDERS` sampled workers hold, with fewer than that passed over before it (the
    keys of a few workers of rare kinds); ``(-inf, 0, 0)`` if none."""
    p1, h1, m1, p2, h2, m2, p3, h3, m3, p4, h4, m4 = slots
    if h1 >= TIED_HOLDERS:
        return p1, h1, m1
    if h2 >= TIED_HOLDERS and h1 < TIED_HOLDERS:
        return p2, h2, m2
    if h3 >= TIED_HOLDERS and h1 + h2 < TIED_HOLDERS:
        return p3, h3, m3
    if h4 >= TIED_HOLDERS and h1 + h2 + h3 < TIED_HOLDERS:
        return p4, h4, m4
    return -INF, 0, 0


@register_jitable
def sampled_top(lam, t_lo, t_hi, budget, lo, hi):
    """``(p, share, alone)``: the largest product ``p`` of a key in ``(t_lo, t_hi]`` that
    :data:`TIED_HOLDERS` of the sampled workers (:data:`SAMPLED_WORKERS`) hold, the workers
    holding a key at ``p`` scaled from the sample to all of them, and whether ``p`` is all but
    alone in the bracket (fewer than :data:`TIED_HOLDERS` sampled workers have a key there at
    another product); ``(0, 0, False)`` if there is none. Workers of distinct speeds share no
    product: ``share`` is the mark of ties (equal or commensurate ``lam``), and the size of the
    count's jump at ``p``.

    Larger products held by fewer workers are passed over (:func:`tied_slot`): a faster
    worker of a rare kind in the sample has its last key in the bracket above the tied
    product, and hid the tie (99.9 % of 65,536 workers at one time: up to 20 passes where
    the sample held a faster one, 6 where it did not)."""
    n = lam.shape[0]
    stride = sample_stride(n, SAMPLED_WORKERS)
    slots = NO_SLOT
    inside = 0  # sampled workers with a key in the bracket
    for i in range(0, n, stride):
        x = lam[i]
        if 0.0 < x < INF:
            p, again = top_key_inside(x, low_of(lo, i, True), high_of(hi, i, budget), t_lo, t_hi)
            if p > 0.0:
                inside += 1
                slots = four_largest(slots, p, int(again))
    p, holders, more = tied_slot(slots)
    if holders == 0:
        return 0.0, 0.0, False
    return p, float(holders * stride), inside - holders + more < TIED_HOLDERS


@register_jitable
def product_above(lam, t_lo, t_hi, need, budget, lo, hi):
    """``(reach, tied)``: where the count likely jumps next above ``t_lo`` (at most ``t_hi``),
    from the four smallest products the sampled workers (:data:`SAMPLED_WORKERS`) have next
    there; ``(0, 0)`` if none of them has one. ``reach``: the first at which the sample's keys
    from ``t_lo``, scaled to all workers, make half of ``need`` (the keys the count lacks
    there; half, for the sample's noise), else the smallest. ``tied``: the one most of them
    share (:data:`TIED_HOLDERS` at least, and half of those with a key there), past the single
    ones of at most three others, where its holders make half of ``need`` too, or 0: with
    ties, often ``t*``. A worker of a rare kind in the sample (one machine type but for
    0.1 %, say) has a product of its own next, which the count barely moves at; the tie
    above it is where it leaps."""
    n = lam.shape[0]
    stride = sample_stride(n, SAMPLED_WORKERS)
    slots = NO_SLOT  # of -p: the largest of them are the smallest products
    inside = 0  # sampled workers with a key there
    for i in range(0, n, stride):
        x = lam[i]
        if 0.0 < x < INF:
            cap = high_of(hi, i, budget)
            j = max(count_le(x, t_lo, cap), low_of(lo, i, True)) + 1
            p = float(j) * x
            if j <= cap and p <= t_hi:
                inside += 1
                slots = four_largest(slots, -p, 0)
    if inside == 0:
        return 0.0, 0.0
    p1, h1, _, p2, h2, _, p3, h3, _, p4, h4, _ = slots
    reach = p1
    if 2 * h1 * stride < need:
        if 2 * (h1 + h2) * stride >= need:
            reach = p2
        elif 2 * (h1 + h2 + h3) * stride >= need:
            reach = p3
        elif 2 * (h1 + h2 + h3 + h4) * stride >= need:
            reach = p4
    tied, holders, single = p1, h1, 0  # the first slot held by more than one, past `single` singles
    if h1 == 1:
        tied, holders, single = p2, h2, 1
        if h2 == 1:
            tied, holders, single = p3, h3, 2
            if h3 == 1:
                tied, holders, single = p4, h4, 3
    if holders < TIED_HOLDERS or 2 * holders * stride < need:
        return -reach, 0.0
    # Half of the sampled workers with a key there hold it; or fewer, where its holders alone
    # make twice the need and the singles before it not half (three machine types 1e-12
    # apart, a tie each, the budget inside the first: 7 passes -> 4 at 100,000 workers).
    if 2 * holders < inside and not (holders * stride >= 2 * need and 2 * single * stride < need):
        return -reach, 0.0
    return -reach, -tied


@register_jitable
def sampled_holders(lam, p, budget, lo, hi):
    """How many of the sampled workers have a key at product ``p``."""
    n = lam.shape[0]
    k = 0
    for i in range(0, n, sample_stride(n, SAMPLED_WORKERS)):
        x = lam[i]
        if 0.0 < x < INF:
            c = max(count_le(x, p, high_of(hi, i, budget)), low_of(lo, i, True))
            k += int(c > low_of(lo, i, True) and c * x == p)
    return k


@register_jitable
def sampled_keys_at(lam, p, budget, lo, hi):
    """``(holders, keys)``: the sampled workers with a key at product ``p``, and the keys they
    stand for (as many as workers each sampled one stands for)."""
    holders = sampled_holders(lam, p, budget, lo, hi)
    return holders, float(holders) * sample_stride(lam.shape[0], SAMPLED_WORKERS)


#: Products :func:`next_tie_above` sends to the split in a row after a refused guess of ties.
NEXT_TIES = 2


@register_jitable
def next_tie_above(lam, t, t_hi, need, budget, lo, hi):
    """Over repeated times (:func:`sampled_repeats`), the product in ``(t, t_hi]`` that
    :func:`product_above` finds for ``need`` keys (the tie most sampled workers share next,
    else where their keys reach half the need), where the sampled workers with a key there
    stand for at least ``need`` keys; else 0."""
    if not sampled_repeats(lam):
        return 0.0
    reached, tied = product_above(lam, t, t_hi, float(need), budget, lo, hi)
    p = tied if tied > 0.0 else reached
    if not (t < p <= t_hi):
        return 0.0
    return p if sampled_keys_at(lam, p, budget, lo, hi)[1] >= float(need) else 0.0


@register_jitable
def climb_ties(lam, inv, budget, reach, guess, under, t_hi, out, heap, ties, lo, hi, limit, hi_t, hi_c):
    """After the split refused ``guess`` with ``under < budget`` keys below it (its marks in
    ``out``): over repeated times, the product the sampled workers' keys reach next above it,
    where they stand for the keys the count lacks (:func:`next_tie_above`, up to ``t_hi``),
    goes to the split too, before any count, and once more if that is refused low. Three
    machine types 1e-12 apart, each a tie, the budget in the second (300,000 workers x 10**6
    tasks with bounds: 7 passes -> 4; the pass survey: 16 inputs better, none worse).

    Returns ``(p, guess, under, hi_t, hi_c)``: ``p > 0`` the product the split took as ``t*``
    (``out`` is the allocation); else the lower end, ``under`` keys at or below ``guess``
    (the last refused low) with their counts in ``out``, and the bracket's upper end
    (``hi_c`` keys at or below ``hi_t``) moved below a tie refused high."""
    under += marks_to_counts(out)
    for _ in range(NEXT_TIES):
        p = next_tie_above(lam, guess, t_hi, budget - under, budget, lo, hi)
        if p == 0.0:
            break
        copy_into(out, ties)  # the counts at the guess wait in ties, which a refused split leaves
        next_under, hi_t, hi_c = try_as_tstar(lam, inv, budget, reach, p, out, heap, ties, lo, hi, limit, hi_t, hi_c)
        if next_under == TAKEN:
            return p, guess, under, hi_t, hi_c
        if next_under >= budget:
            copy_into(ties, out)
            break
        guess = p  # the lower end moves up to it
        under = next_under + marks_to_counts(out)
    return 0.0, guess, under, hi_t, hi_c


@register_jitable
def lump_holds_excess(lam, p, c, budget, lo, hi):
    """Whether the keys at product ``p`` may hold the ``c - budget`` keys past the budget that
    a count at or above ``p`` found: over repeated times (:func:`sampled_repeats`), at least
    two sampled workers have a key at ``p``, and as many keys a sampled worker stands for
    cover the excess."""
    if not sampled_repeats(lam):
        return False
    holders, keys = sampled_keys_at(lam, p, budget, lo, hi)
    return holders >= 2 and keys >= float(c - budget)


@register_jitable
def lump_below(lam, t_lo, hi_t, c, budget, lo, hi):
    """Over repeated times (:func:`sampled_repeats`), the largest product in ``(t_lo, hi_t]`` that
    many sampled workers hold (:func:`sampled_top`), where its keys may hold the ``c - budget``
    keys past the budget that ``hi_t`` has at or below it (with :data:`LUMP_SLACK` for the
    sample's noise); else 0."""
    if not sampled_repeats(lam):
        return 0.0
    p, share, _ = sampled_top(lam, t_lo, hi_t, budget, lo, hi)
    return p if t_lo < p and LUMP_SLACK * share >= float(c - budget) else 0.0


#: :func:`lump_below` tries a lump whose sampled keys, times this, cover the keys past the
#: budget: a third of the 64 sampled workers at one product is counted within a sixth or so,
#: and a split refused there moves the upper end as an exact count would.
LUMP_SLACK = 1.25


#: Sampled keys a bracket must hold for :func:`sampled_riser` to place a pair inside it.
RISER_KEYS = 8
#: ... and the pair aims this many standard deviations of the sample's rank below and above
#: the budget's.
RISER_NOISE = 2.0


@register_jitable
def sampled_riser(lam, budget, t_lo, t_hi, c_lo, c_hi, lo, hi):
    """Two thresholds ``(a, b)``, ``t_lo < a < b < t_hi``, for the estimate pass after a flat,
    where the sampled workers (:data:`SAMPLED_WORKERS`) hold many keys in ``(t_lo, t_hi]``
    (``c_lo`` and ``c_hi`` keys estimated at the ends; ``t_hi = inf``, ``c_hi =``
    :data:`ESTIMATE_CAP`: no upper end yet); ``(-1, -1)`` where they do not, or where the
    sample puts both at one product (ties).

    A flat in the estimates marks ties (a few machine types), or a gap between the bands of
    one key a worker's products: times within a few percent of each other at a task or a few
    a worker (``lognormal(0, 0.05)``, 65,536 workers, 6553 tasks, at most one a worker: 16
    passes, most of them exact counts creeping up a band). There the keys between the ends
    are spread over a band, not piled on one product: the sample's count (its own keys,
    exact up to its divisions) says where in the band the budget's share lies, and the pair
    brackets that place with :data:`RISER_NOISE` standard deviations of the sample's error.
    """
    n = lam.shape[0]
    stride = sample_stride(n, SAMPLED_WORKERS)
    m = (n - 1) // stride + 1
    a = t_lo
    b = t_hi
    if not (b < INF) or not (a > 0.0):
        top = 0.0
        least = INF
        for i in range(0, n, stride):
            x = lam[i]
            if 0.0 < x < INF and low_of(lo, i, True) < high_of(hi, i, budget):
                top = max(top, high_of(hi, i, budget) * x)
                least = min(least, (low_of(lo, i, True) + 1) * x)
        if not (b < INF):
            b = min(top, DBL_MAX)
        if not (a > 0.0):
            a = 0.5 * least
    if not (0.0 < a < b <= DBL_MAX):
        return -1.0, -1.0
    c_a = sampled_count(lam, budget, a, lo, hi, stride)
    c_b = sampled_count(lam, budget, b, lo, hi, stride)
    keys = c_b - c_a
    if keys < RISER_KEYS:
        return -1.0, -1.0
    if t_hi < INF and c_hi < ESTIMATE_CAP:
        share = (budget - c_lo) / (c_hi - c_lo)  # of the keys between the ends, those up to t*
    else:
        share = (budget * (m / n) - c_a) / keys
    if not (0.0 < share < 1.0):
        return -1.0, -1.0
    rank = c_a + share * keys
    d = max(RISER_NOISE * math.sqrt(keys * share * (1.0 - share)), 1.0)
    first, c_first = sampled_rank_threshold(lam, budget, a, b, c_a, c_b, max(rank - d, c_a + 0.5), lo, hi, stride)
    second = sampled_rank_threshold(lam, budget, first, b, c_first, c_b, min(rank + d, c_a + keys - 0.5), lo, hi,
                                    stride)[0]
    if not (t_lo < first < second < t_hi):
        return -1.0, -1.0
    return first, second


#: Bisection steps :func:`sampled_rank_threshold` takes at most.
RISER_STEPS = 64


@register_jitable
def sampled_rank_threshold(lam, budget, a, b, c_a, c_b, rank, lo, hi, stride):
    """``(t, count)``: a threshold in ``(a, b]`` at which the sample (every ``stride``-th worker)
    holds ``count >= rank`` keys, with at most one sampled key between it and the last
    bisected threshold below ``rank``: bisected, in ``log t`` while the ends are more than a
    factor 2 apart, from the sample's counts ``c_a`` at ``a`` and ``c_b`` at ``b``."""
    for _ in range(RISER_STEPS):
        if c_b - c_a <= 1.0:
            break
        mid = math.sqrt(a) * math.sqrt(b) if b > 2.0 * a else a + 0.5 * (b - a)
        if not (a < mid < b):
            break
        c = sampled_count(lam, budget, mid, lo, hi, stride)
        if c < rank:
            a = mid
            c_a = c
        else:
            b = mid
            c_b = c
    return b, c_b


@register_jitable
def refused_aim(budget, t_lo, start, est_lo, hi_t, hi_c, key_min, base):
    """The first exact count's threshold after the split refused a guess with ``hi_c >= budget``
    keys at or below ``hi_t``, inside the estimates' bracket from ``t_lo`` (``est_lo`` keys
    there; the line starts at ``start``, :func:`line_start`)."""
    t = t_lo
    if t_lo > 0.0 and est_lo < budget < hi_c and start < hi_t:
        # Up the line from the lower end's estimate to the refused guess's exact count,
        # aimed below the budget by the counts' scatter, rather than at the lower end
        # itself, which the estimates know already.
        target = budget - scatter(budget, est_lo)
        t = start + (hi_t - start) * (max(target - est_lo, 0.0) / float(hi_c - est_lo))
    if t_lo == 0.0:
        # No lower end: the line from the least product a key can have (with no key below
        # it) up to the refused guess (a narrow spread, every worker at one key there: from
        # 0 the line had counted below lam_min, nothing).
        t = key_min + (hi_t - key_min) * (float(budget - base) / float(hi_c - base))
    return t


@register_jitable
def allocate_positive(lam, inv, budget, reach, t, t2, slope, first, second, t2_estimate, base, t_min, t_max, key_min,
                      out, ties, heap, lo, hi):
    """The allocation over workers with ``0 < lam <= inf`` (``budget > 0``), from the guess ``t``
    (and ``t2`` as the second, if it lands inside the bracket; 0: none). Returns a bracket
    ``(lo, hi)`` of the product of the ``budget``-th key, for the next call's guesses.
    ``first``: the estimate at ``t`` if the bounds check took it, else -1; ``second``: the
    validation pass's estimate at ``t * SLOPE_STEP`` where its secant with ``first`` is a
    slope to aim by (:func:`speculative_bracket`), else -1; ``t2_estimate``: the estimate at
    ``t2`` where the validation pass took it (:func:`estimate_bracket`), else -1; ``t_min``: a
    threshold below every key but the ``base`` ones, or 0; ``t_max``: a threshold that holds
    at least ``budget`` keys, or ``+inf`` (both as :func:`estimate_bracket` takes them);
    ``key_min``: no key but the ``base`` ones has a product below it (``lam_min`` without
    bounds), or 0;
    ``reach``: passes read the stored ``1/lam`` at thresholds up to it, and divide above
    (:func:`reach_of_inverse`; 0: never, for budgets from ``2**51``, where the estimate passes
    still read it; -1: never, nor do they, for an overflowed ``1/lam``).

    From 256 workers, below ``budget = 2**51`` (above it with bounds, ``reach = 0``), estimate
    passes bracket first
    (:func:`estimate_bracket`): a narrow bracket takes one exact count and the selection,
    a jump in the estimates (ties) a guess of ``t*`` that the split checks. Otherwise, or
    when that fails, counting passes bracket the ``budget``-th key: secant steps first,
    then steps that shrink the bracket geometrically. From the second pass on, each also
    finds the products next to its threshold, so that no step lands in a gap between products
    (where the count cannot move: ties) and the bracket closes on ``t*`` when a single
    product is left in it. Each count is written to whichever of ``out`` and ``ties`` does
    not hold the counts at the lower bracket, so that the prefix needs no recount.
    """
    n = lam.shape[0]
    width_max = min((n + 2) // 3, int(2.0 * math.sqrt(n)) + 16)
    key_most = max(width_max, n // KEY_SELECT_SHARE)  # the keys a sampled bracket may hold
    limit = ESTIMATE_CAP  # counts read far past the budget: a step past it still tells by how far
    lo_t = 0.0  # invariant: lo_c < budget keys have product <= lo_t, counted in lo_buf
    lo_c = base  # at 0: the minimums, and lam = 0 workers' maximum (with bounds)
    lo_next = 0.0  # the smallest product above lo_t, or lo_t if not known
    hi_t = INF  # invariant: hi_c >= budget keys have product <= hi_t
    hi_c = limit
    hi_last = INF  # the largest product at or below hi_t, or +inf if not known
    lo_buf = out  # at lo_t = 0 the counts are all 0: written only if needed
    try_buf = ties
    try_in_out = False
    have_lo = False
    prev_t = -1.0
    prev_c = 0
    streak = 0  # counts in a row on one side: > 0 below the budget, < 0 above
    # The first count only counts; later ones also find the products next to their
    # threshold: from the second on (smooth inputs rarely need a third), or from the third
    # on few workers, where a pass costs less than the two reductions' set-up.
    plain = 1 if n >= EXTREMES_N else 2
    counted = (-1, 0.0, 0.0)  # an exact count at t_hi that a jump's guesses took, if any
    if reach >= 0.0 and n >= EXTREMES_N:
        # Where the validation pass's two estimates aim a trusted line (an estimate of the
        # budget itself goes to its exact count instead, a cheaper pass), the count and
        # listing go there first.
        if second >= 0.0 and 0.0 <= first != budget:
            t_lo, t_hi = allocate_aimed(lam, inv, budget, t, first, second, width_max, reach, base, out, ties, heap,
                                        lo, hi)
            if t_lo > 0.0:
                return t_lo, t_hi
        # Estimate passes read 1/lam alone, a fifth of an exact pass: they bracket t* first,
        # and on smooth inputs one exact count at the lower end and the selection finish.
        # (inv is the scratch ``heap``, longer than n.)
        t_lo, t_hi, found, est_lo, est_hi = estimate_bracket(lam, inv[:n], budget, t, t2, slope, first, t2_estimate,
                                                             base, width_max, lo, hi, t_min, t_max, reach, out, ties,
                                                             heap)
        if found == SELECTED:
            return t_lo, t_hi
        if found == NARROW:
            if t_lo > reach:
                # From 2**51 tasks the count at the lower end divides; the listing is a pass of
                # its own (no stored 1/lam to tell which workers to list in the count's pass).
                lo_c = count_at(lam, inv, t_lo, budget, limit, reach, False, out, lo, hi)[0]
                if lo_c < budget and select_between(lam, budget, lo_c, t_hi, out, ties, heap, lo, hi):
                    return t_lo, t_hi
            elif t_lo > 0.0:
                # The count at the lower end and the listing of the workers with keys between.
                total, listed = count_list_into(lam, inv, t_lo, budget, t_hi, out, ties, lo, hi)
                lo_c = saturated(total, limit)
                if lo_c < budget and select_listed(lam, budget, lo_c, t_hi, out, ties, listed, heap, hi):
                    return t_lo, t_hi
            else:
                prefix_at_zero(lam, budget, lo, hi, out)
                if lo_c < budget and select_between(lam, budget, lo_c, t_hi, out, ties, heap, lo, hi):
                    return t_lo, t_hi
            # More keys between than the estimates said (a bound of many ties right at the
            # margin): the selection's scratch overwrote 1/lam; the exact passes take over.
            inverse_pass(lam, inv, 1.0, None, 0, None)
            lo_c = base
        elif (found == JUMP or found == TIED) and reach > 0.0:
            plain = 0  # ties: every exact count looks for the products next to its threshold
            # A guess of t* goes to the split, which checks it. A guess it refuses with more
            # keys below it than the budget is the bracket's upper end, far closer to the
            # budget than a count at the guess, which the tie swells; the exact passes then
            # count up from t_lo (a few machine types with noise: the steps had counted up
            # to 30 times t* above it).
            guess = 0.0
            start = t_lo
            if found == TIED:  # the product many sampled workers share
                guess = t_hi
            elif t_hi < INF:
                # The count jumps inside (t_lo, t_hi], at t*, where the bracket often holds no
                # other product; else the keys likely come in lumps at products many workers
                # share (integer times: 60 distinct ones, say, at a thousand tasks a worker).
                # The product a few workers have next to where the line through the
                # estimates at the ends reaches the budget is tried as t*, not just any
                # product they have inside (integer times from 6 to 89 at 65,536 workers:
                # 16 passes -> 11 at a thousand tasks a worker, 10 -> 6 at 4 to 16); if
                # none, an exact count at t_hi.
                start = line_start(lam, t_lo, t_hi, est_lo, budget, base, lo, hi)
                aim = start
                if est_hi > est_lo:
                    aim += (t_hi - start) * (float(budget - est_lo) / float(est_hi - est_lo))
                # A product most sampled workers share next goes first: a tie just above a
                # flat that a few workers of rare kinds cross (one machine type but for 1 %:
                # the line aimed at their keys, and exact counts crept to the tie, up to 24
                # passes). Refused, it is an end of the bracket all the same.
                guess = product_above(lam, t_lo, t_hi, float(budget - est_lo), budget, lo, hi)[1]
                if guess == 0.0:
                    guess = product_near(lam, t_lo, t_hi, aim, budget, lo, hi)
                whole = math.floor(t_hi)
                if guess == 0.0 and t_lo < whole and whole - 1.0 <= t_lo and sampled_integers(lam):
                    # No sampled worker has a key inside, but times in whole units have keys
                    # at whole products only, and one lies inside: t*, the split checks
                    # (rounded millisecond times, lognormal(5, 1), 65,536 workers and tasks:
                    # the exact count that would find it, a pass, saved).
                    guess = whole
            else:  # nothing estimated above the flat: the next product above it
                reached, tied = product_above(lam, t_lo, INF, float(budget - est_lo), budget, lo, hi)
                guess = tied if tied > 0.0 else reached
            if guess == INF:
                # Keys whose product overflows: the split takes a finite t* only (at +inf it
                # would read inf * 1/inf = NaN as the counts of unavailable workers); the
                # exact counts find t* = inf and take_ties takes those keys.
                guess = 0.0
            under = 0
            if guess > 0.0:
                under, hi_t, hi_c = try_as_tstar(lam, inv, budget, reach, guess, out, heap, ties, lo, hi, limit, hi_t,
                                                 hi_c)
                if under == TAKEN:
                    return t_lo, guess
            # Refused with fewer keys at or below it than the budget, any guess above t_lo is
            # the bracket's lower end, its counts the split's marks (a few machine types with
            # noise: four exact steps fewer to close on the band of one type's keys; fewer
            # tasks than workers over a few noisy machine types: the steps counted from t_lo
            # again, up to 10 exact counts to reach the guess's own count). Or the ties above
            # it the split takes (climb_ties; nothing estimated above: three machine types
            # 1e-12 apart without bounds, t* in the second type's keys, three exact counts
            # fewer).
            jumped = found == JUMP and t_hi < INF and hi_t == INF
            low = guess > t_lo and under < budget and hi_t == INF
            if low:
                p, guess, under, hi_t, hi_c = climb_ties(lam, inv, budget, reach, guess, under, t_hi, out, heap, ties,
                                                         lo, hi, limit, hi_t, hi_c)
                if p > 0.0:
                    return t_lo, p
                lo_t = guess
                lo_c = under
                lo_next = guess  # the product above it is not known
                have_lo = True
                streak = 1
            if jumped:
                if hi_t < INF:  # a tie refused high: the split's end is the tighter, no count at t_hi
                    counted = (-1, 0.0, 0.0)
                else:
                    counted = count_at(lam, inv, t_hi, budget, limit, reach, True, ties, lo, hi)
                    if counted[0] == budget:  # the exact passes' first count, at t_hi into ties
                        copy_into(ties, out)
                        return t_lo, t_hi
                c, _, below = counted
                if not low and c > budget and t_lo < below != guess:
                    under, hi_t, hi_c = try_as_tstar(lam, inv, budget, reach, below, out, heap, ties, lo, hi, limit,
                                                     hi_t, hi_c)
                    if under == TAKEN:
                        return t_lo, below
                    if hi_t < INF:  # the count at t_hi is no longer the upper end
                        counted = (-1, 0.0, 0.0)
        elif found == JUMP or found == TIED:
            # From 2**51 tasks no guess of t* goes to the split: from 2**52 a worker may own
            # several keys at a guess, which the split then takes as t*, unchecked (take_at).
            plain = 0
        if hi_t < INF:  # a refused guess bounded the bracket from above
            t = refused_aim(budget, t_lo, start, est_lo, hi_t, hi_c, key_min, base)
            p = product_near(lam, t_lo, hi_t, t, budget, lo, hi)
            # Where the sample has no product between that aim and the refused guess, if it is
            # right, a count there is the guess's own: its product below goes to the split.
            near = 0.0 < p < t and sampled_holders(lam, p, budget, lo, hi) >= 2
            for _ in range(NEXT_TIES):
                if not near:
                    # Else, over repeated times, the lump of keys just below the refused guess
                    # where it may hold the keys past the budget, and once more below that if
                    # refused: three machine types 1e-12 apart, a tie each, t* in the second
                    # (300,000 workers x 10**6 tasks: three exact counts before the split).
                    p = lump_below(lam, t_lo, hi_t, hi_c, budget, lo, hi)
                    if p == 0.0:
                        break
                under, hi_t, hi_c = try_as_tstar(lam, inv, budget, reach, p, out, heap, ties, lo, hi, limit, hi_t,
                                                 hi_c)
                if under == TAKEN:
                    return t_lo, p
                if under < budget:  # the lower end, its counts the split's marks
                    lo_t = p
                    lo_c = under + marks_to_counts(out)
                    lo_next = p  # the product above it is not known
                    have_lo = True
                    streak = 1
                    t = lo_t + (hi_t - lo_t) * (float(budget - lo_c) / float(hi_c - lo_c))
                    break
                t = refused_aim(budget, t_lo, start, est_lo, hi_t, hi_c, key_min, base)
                near = False
            if (not have_lo and 0.0 < t_lo and est_lo < budget and hi_t <= reach
                    and hi_c - est_lo <= key_most):
                # Nothing tried, or refused high: where the estimates' lower end and the
                # refused guess's exact count leave few keys between (as many as a sampled
                # bracket may hold), the count and listing go to that bracket and select
                # there, the pass checking the lower end (durations rounded to whole
                # milliseconds, 300,000 workers x 10**6 tasks: three exact counts and a
                # listing before; the pass survey: 24 inputs a pass fewer, none worse).
                end = select_aimed(lam, inv, budget, t_lo, hi_t, out, ties, heap, lo, hi)
                if end > 0.0:
                    return t_lo, end
        else:
            t = t_hi if t_hi < INF else max(t_lo, t)
        t2 = t_lo
        if have_lo and counted[0] < 0 and not (t > lo_t):  # from a refused guess: the step above it
            t = next_threshold(budget, 0, lo_t, lo_c, 0.0, slope, -1.0, 0, 1, True, lo_t, lo_c, INF, limit,
                               width_max, base)
    if counted[0] < 0:
        t = min(t, t_max)  # a guess: at most where the budget's keys are known to lie
    # estimate_within may run once on an open bracket and once on a closed one
    within = reach > 0.0 and n >= EXTREMES_N
    within_open = within
    keyed = 0  # sampled brackets tried (sampled_key_bracket)
    for step in range(MAX_REFINE):
        if step == 0 and counted[0] >= 0:  # done after the jump, as this count would (t = t_hi, try_buf = ties)
            c, above, below = counted
        else:
            c, above, below = count_at(lam, inv, t, budget, limit, reach, step >= plain, try_buf, lo, hi)
        if c == budget:  # the prefix at t is the allocation
            if not try_in_out:
                copy_into(try_buf, out)
            return lo_t, t
        if c < budget:
            lo_t = t
            lo_c = c
            lo_next = above
            lo_buf, try_buf = try_buf, lo_buf
            try_in_out = not try_in_out
            have_lo = True
            streak = max(streak, 0) + 1
        else:
            # No product lies in (below, t]: the count at the largest product at or below t is
            # the same, and that end lets the next step land inside the bracket where a step
            # past it would count once more just below it and learn nothing.
            hi_t = below if lo_t < below < t else t
            hi_c = c
            hi_last = below
            streak = min(streak, 0) - 1
            if not have_lo and lo_t < below < t and below <= reach and lump_holds_excess(lam, below, c, budget, lo, hi):
                # Nothing known below, over repeated times: where the sample says the lump of
                # keys at the largest product at or below t may hold the keys past the budget,
                # that product goes to the split, which checks it as t*; refused, the upper end
                # moves just below it, counted exactly all the same. (Ten kinds of times 0.1
                # apart, a thousand tasks a worker with bounds: the step down from an upper end
                # with no lower one went 25 % below t*, and three counts crept back up.)
                under, hi_t, hi_c = try_as_tstar(lam, inv, budget, reach, below, out, heap, ties, lo, hi, limit, hi_t,
                                                 hi_c)
                if under == TAKEN:
                    return lo_t, below
                hi_last = INF  # the largest product below it is not known
        # Few keys left between the exact ends (as many as a sampled bracket may hold, whose
        # selection costs about what a counting pass does): the listing and the selection
        # finish, where a count more would only narrow them (one machine type with 1e-12
        # noise, 1310 tasks over 131,072 workers: four exact counts crept from 1712 keys
        # between to 164).
        if hi_c - lo_c <= key_most:
            if not have_lo:
                prefix_at_zero(lam, budget, lo, hi, out)
            elif try_in_out:  # the counts at lo_t are in ties
                copy_into(ties, out)
            select_between(lam, budget, lo_c, hi_t, out, ties, heap, lo, hi)
            return lo_t, hi_t
        if lo_next >= hi_t:  # no product strictly inside: every key in (lo_t, hi_t] is at hi_t
            finish_at(lam, inv, budget, reach, hi_t, out, ties, heap, lo, hi)
            return lo_t, hi_t
        if lo_next == hi_last:  # a single product inside
            finish_at(lam, inv, budget, reach, lo_next, out, ties, heap, lo, hi)
            return lo_t, lo_next
        if lo_t >= DBL_MAX:  # every key left overflows
            finish_at(lam, inv, budget, reach, INF, out, ties, heap, lo, hi)
            return lo_t, INF
        if keyed < KEY_ROUNDS and have_lo and hi_t <= reach and hi_t < INF and not sampled_repeats(lam):
            # A sample of the keys between brackets t* by their quantile, where that takes few
            # keys (the budget's rank near the bracket's ends), and where it holds, the listing
            # and the selection finish (sampled_key_bracket). Not over repeated times: their
            # ties put the sample's bracket on one product, for the split instead.
            keyed += 1
            a, b = sampled_key_bracket(lam, budget, lo_t, lo_c, hi_t, hi_c, lo_buf, try_buf, hi, key_most)
            if b > 0.0:
                if a == lo_t:  # the counts at lo_t are the prefix: the listing and the selection
                    if try_in_out:
                        copy_into(ties, out)
                    listed = list_all_between(lam, budget, b, out, ties, hi)
                    c_a = lo_c
                    between = listed_keys(lam, budget, b, out, ties, listed, hi)
                    if budget - lo_c <= between <= heap.shape[0] // 3:
                        select_listed(lam, budget, lo_c, b, out, ties, listed, heap, hi)
                        return lo_t, b
                else:
                    end, c_a, c_b = select_aimed_counted(lam, inv, budget, a, b, out, ties, heap, lo, hi)
                    if end > 0.0:
                        return a, end
                    between = c_b - c_a if c_b >= 0 else -1
                    if c_a >= budget:  # the counts at lo_t were written over: again
                        lo_next = count_at(lam, inv, lo_t, budget, limit, reach, True, out, lo, hi)[1]
                # Missed: out holds the counts at the lower end, and the ends move to what was
                # counted exactly (a and b are products of keys).
                lo_buf = out
                try_buf = ties
                try_in_out = False
                if c_a >= budget:
                    hi_t = a
                    hi_c = c_a
                    hi_last = a
                else:
                    if c_a > lo_c:
                        lo_t = a
                        lo_c = c_a
                        lo_next = a  # the product above it is not known
                    if between >= 0 and c_a + between >= budget:
                        hi_t = b
                        hi_c = c_a + between
                        hi_last = b
                streak = 0
                if hi_c - lo_c <= key_most:
                    select_between(lam, budget, lo_c, hi_t, out, ties, heap, lo, hi)
                    return lo_t, hi_t
                if lo_next >= hi_t or lo_next == hi_last:  # one product inside, as below
                    tstar = hi_t if lo_next >= hi_t else lo_next
                    finish_at(lam, inv, budget, reach, tstar, out, ties, heap, lo, hi)
                    return lo_t, tstar
        nxt = next_threshold(budget, step, t, c, t2, slope, prev_t, prev_c, streak, have_lo, lo_t, lo_c, hi_t,
                             hi_c, width_max, base)
        if nxt < 0.0:  # adjacent floats: every key inside is at hi_t
            finish_at(lam, inv, budget, reach, hi_t, out, ties, heap, lo, hi)
            return lo_t, hi_t
        # Never count past t_max, nor inside a gap between products: the count would not move.
        nxt = max(min(nxt, t_max), lo_next)
        if nxt >= hi_last:
            nxt = nextafter(hi_last, 0.0)
        if within and have_lo and hi_t <= reach and (hi_t < INF or within_open):
            # Many keys lie above the lower end (and below the upper one, if known): over
            # times a sample does not repeat, estimates narrow the bracket first, at a quarter
            # of an exact count a pass (three machine types with 0.1 % noise, 65,536 workers,
            # a task a worker: the exact steps crawled along the tail of one type's band of
            # keys, 4 counts). Where they stop short, the exact steps go on from the end they
            # moved: the lower one inside a closed bracket (the keys between lie in a band
            # past it), the upper one of an open bracket; the estimates run again once the
            # exact counts close it (with bounds, a few machine types with noise: 12-16 ->
            # 7-10 passes).
            narrow = False
            a, b = lo_t, hi_t
            if sampled_repeats(lam):
                within = False
            else:
                narrow, a, b = estimate_within(inv[:n], budget, nxt, step, t2, slope, t, c, streak, lo_t, lo_c, hi_t,
                                               hi_c, width_max, base, lo, hi)
                within = hi_t == INF
                within_open = False
            if not narrow:
                if hi_t < INF and lo_t < a and lo_next <= a < hi_last:
                    nxt = a
                elif hi_t == INF and lo_next <= b < hi_last and b <= t_max:
                    nxt = b
            if narrow:
                total, listed = count_list_into(lam, inv, a, budget, b, out, ties, lo, hi)
                c_a = saturated(total, limit)
                if c_a < budget and select_listed(lam, budget, c_a, b, out, ties, listed, heap, hi):
                    return a, b
                # More keys between than the estimates said: the selection's scratch
                # overwrote 1/lam, and the counts at lo_t; the exact steps start again from
                # the estimates' lower end, below the upper end they had.
                inverse_pass(lam, inv, 1.0, None, 0, None)
                lo_t = 0.0
                lo_c = base
                lo_next = 0.0
                have_lo = False
                lo_buf = out
                try_buf = ties
                try_in_out = False
                streak = 0
                nxt = a
        prev_t = t
        prev_c = c
        t = nxt
    finish_at(lam, inv, budget, reach, hi_t, out, ties, heap, lo, hi)  # a bug guard: never reached
    return lo_t, hi_t


@register_jitable
def prefix_at_zero(lam, budget, lo, hi, out):
    """The counts at threshold 0: the minimums, and the maximum of ``lam = 0`` workers.

    Both bounds are read and one selected, not one read behind a branch: ``lam = 0``
    workers scattered among the rest made that branch mispredict (a tenth of 262,144
    workers: half the time of a bounded call with 26,214 tasks)."""
    wide_vectors()
    for i in range(lam.shape[0]):
        top = high_of(hi, i, budget)
        least = low_of(lo, i, lam[i] != INF)
        out[i] = top if lam[i] == 0.0 else least


@register_jitable
def copy_into(src, dst):
    """The entries both arrays have, from ``src`` into ``dst``: scratch may be longer than
    ``out``, either way round (``out`` saved into ``ties``, or restored from it)."""
    for i in range(min(src.shape[0], dst.shape[0])):
        dst[i] = src[i]


@register_jitable
def allocate_into(lam, budget, out, ties, heap):
    """Canonical allocation of ``budget`` tasks over ``lam`` into ``out``; returns a status code.

    ``ties`` (int64, ``>= n``) and ``heap`` (float64, ``>= n + 2``) are scratch. Assumes
    ``0 <= budget <= 2**53`` so that every task index is exact in float64.
    """
    return allocate_guided(lam, budget, None, None, out, ties, heap, 0.0, 0.0, 0.0)[0]


@register_jitable
def allocate_warm(lam, budget, out, ties, heap, warm):
    """:func:`allocate_into` for a sequence of similar problems (a policy's rounds).

    ``warm`` (float64, length 3) holds ``(lo, hi, r)`` from the previous call, zeros at
    first: a bracket of the product of its ``budget``-th key and its relaxation ``r``. The
    first two counts are taken at ``hi`` and ``lo`` scaled by the ratio of this call's
    relaxation to ``r``, so bounds that moved little, or all by the same factor, are
    bracketed at once; the result is the same whatever ``warm`` holds. Updated on success.
    From 4096 workers the relaxation is that of a sample (:func:`sampled_relaxation`),
    known before the validation pass, which then takes the first estimate itself.
    """
    return allocate_bounded_warm(lam, budget, None, None, out, ties, heap, warm)


@register_jitable
def allocate_bounded_into(lam, budget, min_tasks, max_tasks, out, ties, heap):
    """:func:`allocate_into` with per-worker bounds ``min_tasks <= out <= max_tasks`` (int64
    arrays of length n; on the CPU either may be one int64 for every worker, :func:`bound_of`):
    worker i owns the keys ``j = min_i + 1 .. max_i``. Returns a status
    code; bounds that no allocation meets are one (``status.py``), checked before any write."""
    return allocate_guided(lam, budget, min_tasks, max_tasks, out, ties, heap, 0.0, 0.0, 0.0)[0]


@register_jitable
def allocate_bounded_warm(lam, budget, min_tasks, max_tasks, out, ties, heap, warm):
    """:func:`allocate_bounded_into` warm-started as :func:`allocate_warm` (bounds may be None)."""
    status, lo, hi, r = allocate_guided(lam, budget, min_tasks, max_tasks, out, ties, heap, warm[0], warm[1],
                                        warm[2])
    if status == OK:
        warm[0] = lo
        warm[1] = hi
        warm[2] = r
    return status


#: Workers per block of :func:`scan_bounds`: a block's sum of terms up to ``2**53 + 1`` fits
#: in int64, so only the block sums need saturating (and the block loop vectorises).
BOUNDS_BLOCK = 256


@register_jitable
def scan_bounds(lam, budget, lo, hi):
    """Check the bounds against ``lam`` (already valid) and ``budget``.

    Returns ``(status, tasks left after the minimums, room left on lam = 0 workers, largest
    1/lam of a worker whose maximum holds the whole budget or 0)``. Sums saturate past
    ``budget``, so nothing overflows. Blocks without branches; a bad bound sends us to
    :func:`scan_bounds_exact`, which finds the first one.
    """
    limit = budget + 1
    n = lam.shape[0]
    taken = 0
    capacity = 0
    zero_room = 0
    n_bad = 0
    least = order_key(INF)
    for start in range(0, n, BOUNDS_BLOCK):
        stop = min(start + BOUNDS_BLOCK, n)
        # Slices, so that the loop's indices start at 0: numba then knows them non-negative
        # and the loop vectorises (3x faster than indexing from ``start``).
        if isinstance(lo, int):  # bounds given as numbers (numba_cpu): every worker's
            block_bad, block_taken, block_capacity, block_room, block_least = bounds_block(lam[start:stop], lo, hi,
                                                                                           limit)
        else:
            block_bad, block_taken, block_capacity, block_room, block_least = bounds_block(
                lam[start:stop], lo[start:stop], hi[start:stop], limit)
        n_bad += block_bad
        taken = min(taken + block_taken, limit)
        capacity = min(capacity + block_capacity, limit)
        zero_room = min(zero_room + block_room, limit)
        least = min(least, block_least)
    if n_bad > 0:
        status, remaining, zero_room = scan_bounds_exact(lam, budget, lo, hi)
        return status, remaining, zero_room, 0.0
    status, remaining, zero_room = sums_status(budget, taken, capacity, zero_room)
    least = from_order_key(least)
    return status, remaining, zero_room, 1.0 / least if least > 0.0 else INF


@register_jitable
def bounds_block(lam, lo, hi, limit):
    """:func:`scan_bounds` over one block: ``(bad bounds, minimums, maximums, room on lam = 0
    workers, order key of the least lam of a worker whose maximum holds the whole budget,
    limit - 1)``, each sum's terms clamped to ``[0, limit]``."""
    wide_vectors()
    n_bad = 0
    taken = 0
    capacity = 0
    room = 0
    least = order_key(INF)  # an integer min vectorises, a float min does not
    for i in range(lam.shape[0]):
        x = lam[i]
        low = minimum_of(lo, i, x != INF)
        high = bound_of(hi, i)
        available = x < INF
        n_bad += int((low < 0) | (low > high) | (~available & (low > 0)))
        high = min(max(high, 0), limit) if available else 0
        taken += min(max(low, 0), limit)
        capacity += high
        room += max(high - low, 0) if x == 0.0 else 0
        least = min(least, order_key(x if high >= limit - 1 else INF))
    return n_bad, taken, capacity, room, least


@register_jitable
def sums_status(budget, taken, capacity, zero_room):
    """:func:`scan_bounds`'s answer from its sums: the minimums' and the maximums' against the budget."""
    if taken > budget:
        return MIN_OVER_BUDGET, 0, 0
    if capacity < budget:
        return CAPACITY_SHORT, 0, 0
    return OK, budget - taken, zero_room


@register_jitable
def scan_bounds_exact(lam, budget, lo, hi):
    """:func:`scan_bounds`, one worker at a time, in the order the status codes are checked."""
    wide_vectors()
    limit = budget + 1
    taken = 0
    capacity = 0
    zero_room = 0
    for i in range(lam.shape[0]):
        x = lam[i]
        low = minimum_of(lo, i, x != INF)
        if low < 0:
            return MIN_NEGATIVE, 0, 0
        if low > bound_of(hi, i):
            return BOUNDS_CROSSED, 0, 0
        if x == INF:
            if low > 0:
                return MIN_ON_UNAVAILABLE, 0, 0
            continue
        high = min(bound_of(hi, i), limit)
        taken = min(taken + min(low, limit), limit)
        capacity = min(capacity + high, limit)
        if x == 0.0:
            zero_room = min(zero_room + high - low, limit)
    return sums_status(budget, taken, capacity, zero_room)


@register_jitable
def scan_bounds_estimating(lam, inv, s, budget, lo, hi):
    """:func:`scan_bounds` and :func:`estimate_slope_into` at ``s`` in one pass over ``1/lam``
    and the bounds, for ``budget < 2**51`` and ``1/lam`` that overflowed nowhere but at
    ``lam = 0`` (``inv = 0`` marks the unavailable workers, ``inv = inf`` the ``lam = 0``
    ones): ``(status, tasks left after the minimums, room left on lam = 0 workers,
    estimate, slope, largest 1/lam of a worker whose maximum holds the whole budget)``. Any
    doubt (a bad bound, sums that do not fit) and :func:`scan_bounds_exact` decides."""
    total, slope, n_bad, taken, capacity, room, whole = estimate_checking_into(inv, s, budget, lo, hi)
    status, remaining, zero_room = checked_status(lam, budget, lo, hi, n_bad, taken, capacity, room)
    return status, remaining, zero_room, total, slope, whole


@register_jitable
def checked_status(lam, budget, lo, hi, n_bad, taken, capacity, room):
    """:func:`scan_bounds`'s answer from a pass that checked the bounds (:func:`checking_terms`'
    sums): those sums where no bound is bad and they fit, else :func:`scan_bounds_exact`. The
    room saturates past the budget, as scan_bounds sums it: a float sum of it can pass
    ``2**63`` (9,224 ``lam = 0`` workers with room ``10**15`` each), where ``int()`` does not hold."""
    if n_bad == 0 and taken <= budget <= capacity:
        return OK, budget - int(taken), int(min(room, float(budget) + 1.0))
    return scan_bounds_exact(lam, budget, lo, hi)


@register_jitable
def estimate_checking_into(inv, s, budget, lo, hi):
    """:func:`estimate_slope_into`, and the bounds' check: ``(total, slope, bad bounds, sum of
    the minimums, sum of the available workers' caps, room above the minimums of the lam = 0
    workers, largest inv of a worker whose maximum holds the whole budget)``: see
    :func:`whole_budget_threshold`.

    A bound is bad if a minimum is negative, above its maximum or the budget, or positive on
    an unavailable worker (``inv = 0``). Without bad bounds every minimum and cap is an exact
    float, and their sums are exact up to ``2**53``, past the budget.
    """
    wide_vectors()
    total = 0.0
    slope = 0.0
    n_bad = 0
    taken = 0.0
    capacity = 0.0
    room = 0.0
    whole = order_key(0.0)
    state = flush_tiny()
    for i in range(inv.shape[0]):
        bad, c, moving, floor_i, cap_i, room_i, whole_i = checking_terms(inv[i], s, budget, lo, hi, i, None)
        n_bad += bad
        total += c
        slope += moving
        taken += floor_i
        capacity += cap_i
        room += room_i
        whole = max(whole, whole_i)
    restore_tiny(state)
    return total, slope, n_bad, taken, capacity, room, from_order_key(whole)


@register_jitable
def checking_terms(x, s, budget, lo, hi, i, least):
    """Worker ``i``'s terms of :func:`estimate_checking_into` (``x = 1/lam_i``): ``(bad bound,
    estimated count, its slope term, minimum, cap if available, room if lam_i = 0, the order
    key of x if its maximum holds the whole budget, else of 0)``. The estimate
    multiplies ``s`` by ``max(x, least)`` (:func:`clamped`), the same term for ``least <= 0.5 /
    s``. An order key, as the callers' maximum over it: an integer max vectorises, a float
    max does not (numba 11.2 -> 3.2 numpy passes at 65,536 x 262,144, bounds 1 to 17)."""
    low = minimum_of(lo, i, x != 0.0)
    high = high_of(hi, i, budget)
    bad = int((low < 0) | (low > high) | ((x == 0.0) & (low > 0)))  # above high: above max_tasks or the budget
    cap_i = float_of(high)
    floor_i = float_of(low)
    c, moving = estimate_term(x, s * clamped(x, least), cap_i, floor_i)
    whole = order_key(x if high >= budget else 0.0)  # +inf (lam = 0): the caller fills, not reading it
    return bad, c, moving, floor_i, cap_i if x > 0.0 else 0.0, cap_i - floor_i if x == INF else 0.0, whole


@register_jitable
def inverse_checking_pass(lam, inv, s, budget, lo, hi, least):
    """:func:`inverse_pass` (without its estimate, its counts and its largest ``inv``) and
    :func:`estimate_checking_into` at ``s`` in one loop, for ``budget < 2**51``: ``(sum of inv
    over lam > 0, entries flagged, estimate, slope, sum of the minimums, sum of the available
    workers' caps, room above the minimums of the lam = 0 workers, estimate at s * SLOPE_STEP,
    largest 1/lam of a worker whose maximum holds the whole budget)``;
    flagged: an entry of ``lam`` not ``>= 0``, or a bad bound (:func:`checking_terms`), which
    :func:`scan` and the bounds' own checks then name.

    The checks run while the divisions do: at 65,536 workers half a numpy pass less than
    the two passes. It counts neither the zeros nor the available workers: a sum of ``1/lam``
    in ``(0, inf)`` says that some worker is available and nothing overflowed, the room says
    what the ``lam = 0`` workers hold, and the relaxation that the count of available
    workers would centre comes from the sample. Two integer sums fewer, and the invalid
    entries in the bad bounds' sum (65,536 workers, 262,144 tasks, in numpy passes: numba
    1.50 -> 1.40 natively, 2.65 -> 2.31 for Haswell; Cython 1.66 -> 1.42 with AVX-512, 2.65
    -> 2.47 with AVX2). Nor does it read the fastest worker's time (nothing
    does with bounds where this pass decides, :func:`allocate_guided`): its integer maximum,
    which AVX2 emulates, kept numba's loop from vectorising.

    The pass divides, so it cannot flush tiny products (:func:`flush_tiny`): where they may
    occur, the caller passes ``least = 0.5 / s`` (else None), and the estimate multiplies
    ``s`` by ``max(1/lam, least)``, the same term (both below 1 where they differ), and never
    a product below ``2**-1022``. What it finds means something only where nothing is
    flagged and the sum is in ``(0, inf)``; :func:`allocate_guided` checks that first.

    Blocks of :data:`CHECK_BLOCK` workers first, each checked as a whole
    (:func:`checked_block`), then, from the first block with a flag or a sum not finite
    (``lam = 0`` workers among them), worker by worker (:func:`inverse_checking_exact`).
    """
    n = lam.shape[0]
    sums = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, order_key(0.0))
    start = 0
    while start + CHECK_BLOCK <= n:
        stop = start + CHECK_BLOCK
        # Slices, so that the block's indices start at 0 (as in scan_bounds: numba vectorises that).
        if isinstance(lo, int):
            signs, part = checked_block(lam[start:stop], inv[start:stop], s, budget, lo, hi, least)
        else:
            signs, part = checked_block(lam[start:stop], inv[start:stop], s, budget, lo[start:stop], hi[start:stop],
                                        least)
        if signs < 0 or not part[0] < INF:
            break
        sums = checking_sums_plus(sums, part)
        start = stop
    n_flagged = 0
    room = 0.0
    if start < n:
        if isinstance(lo, int):
            n_flagged, room, part = inverse_checking_exact(lam[start:], inv[start:], s, budget, lo, hi, least)
        else:
            n_flagged, room, part = inverse_checking_exact(lam[start:], inv[start:], s, budget, lo[start:], hi[start:],
                                                           least)
        sums = checking_sums_plus(sums, part)
    inv_sum, total, second, slope, taken, capacity, whole = sums
    return inv_sum, n_flagged, total, slope, taken, capacity, room, second, from_order_key(whole)


@register_jitable
def checking_sums_plus(a, b):
    """Two parts' sums of :func:`inverse_checking_pass`, ``(sum of inv, estimate, estimate at
    s * SLOPE_STEP, slope, minimums, caps, order key of the largest inv whose maximum holds
    the budget)``, as one."""
    return a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3], a[4] + b[4], a[5] + b[5], max(a[6], b[6])


#: Workers a block of :func:`checked_block`: the terms of one that holds a bad bound or lam
#: are counted again, exactly, with all that follow.
CHECK_BLOCK = 512


@register_jitable
def checked_block(lam, inv, s, budget, lo, hi, least):
    """:func:`inverse_checking_exact`'s sums over a block of workers, checked as a whole, not
    each worker's flags: ``(signs, sums)``, the sums as :func:`checking_sums_plus` takes them. The
    block is as the exact loop would find it, without a flag, where ``signs >= 0`` and the
    sum of ``1/lam`` is finite: no sign bit in a minimum, a cap, the room between them
    (a minimum above its maximum or the budget) or ``lam``, nor in the negated minimum of an
    unavailable worker, and no ``lam = 0``, NaN or subnormal time (an infinite or NaN sum);
    its terms are then the exact loop's, with no room on ``lam = 0`` workers. Its checks,
    two integer ORs a worker, cost less than per-worker flags (numba for Haswell at
    65,536 x 262,144, bounds as numbers: 91 -> 78 us a pass).
    """
    wide_vectors()
    s2 = s * SLOPE_STEP
    signs = 0
    inv_sum = total = second = slope = taken = capacity = 0.0
    whole = order_key(0.0)
    for i in range(lam.shape[0]):
        x = lam[i]
        v = 1.0 / (x + 0.0)
        inv[i] = v
        inv_sum += v
        # The bounds as given: for a number, the same every step (numba takes the terms out of
        # the loop), which an unavailable worker does not take; a minimum above the cap is
        # then flagged on the available workers too (the exact checks find which).
        low = bound_of(lo, i)
        high = high_of(hi, i, budget)
        signs |= low | high | (high - low) | sign_bit(x) | -(low * int((v == 0.0) & (not given_as_number(lo))))
        cap_i = float_of(high)
        floor_i = floor_at(lo, i, v != 0.0)
        c, moving = estimate_term(v, s * clamped(v, least), cap_i, floor_i)
        total += c
        second += estimate_term(v, s2 * clamped(v, least), cap_i, floor_i)[0]
        slope += moving
        taken += floor_i
        capacity += cap_i if v > 0.0 else 0.0
        whole = max(whole, order_key(v if high >= budget else 0.0))
    return signs, (inv_sum, total, second, slope, taken, capacity, whole)


@register_jitable
def inverse_checking_exact(lam, inv, s, budget, lo, hi, least):
    """:func:`inverse_checking_pass` worker by worker, each worker's flags counted: ``(entries
    flagged, room above the minimums of the lam = 0 workers, sums)``, the sums as
    :func:`checking_sums_plus` takes them."""
    wide_vectors()
    s2 = s * SLOPE_STEP
    inv_sum = 0.0
    n_flagged = 0
    total = 0.0
    second = 0.0
    slope = 0.0
    taken = 0.0
    capacity = 0.0
    room = 0.0
    whole = order_key(0.0)
    for i in range(lam.shape[0]):
        v, positive, invalid, _, _, _ = inverse_terms(lam, i)
        inv[i] = v
        inv_sum += positive
        bad, c, moving, floor_i, cap_i, room_i, whole_i = checking_terms(v, s, budget, lo, hi, i, least)
        n_flagged += bad | invalid
        total += c
        second += estimate_term(v, s2 * clamped(v, least), cap_i, floor_i)[0]
        slope += moving
        taken += floor_i
        capacity += cap_i
        room += room_i
        whole = max(whole, whole_i)
    return n_flagged, room, (inv_sum, total, second, slope, taken, capacity, whole)


@register_jitable
def fill_zeros_bounded(lam, budget, lo, hi, remaining, out, ties, heap):
    """Bounds with ``lam = 0`` workers that can take every task left after the minimums: their
    keys all have product 0, so they take them by ``(j, i)`` (level by level, lowest index
    first) and every other worker keeps its minimum; ``heap`` is scratch."""
    if remaining == 0:  # the minimums take the whole budget (at least one task each, say)
        minimums_into(lam, lo, out, budget)
        return
    j_lo, j_hi = zero_room(lam, budget, lo, hi, out, ties)
    take_tied(out, ties, lam.shape[0], remaining, j_lo, j_hi, heap)


@register_jitable
def zero_room(lam, budget, lo, hi, out, ties):
    """``out = lo``, and ``ties[i]`` the room above its minimum of a ``lam = 0`` worker (0
    elsewhere); returns the least and greatest level of that room (``budget + 1`` and 0
    where none). Products, not selects: numba vectorises them (half the workers at
    ``lam = 0``, at random: 9x faster than with a branch)."""
    wide_vectors()
    j_lo = budget + 1
    j_hi = 0
    for i in range(lam.shape[0]):
        low = minimum_of(lo, i, lam[i] != INF)
        out[i] = low
        room = (high_of(hi, i, budget) - low) * int(lam[i] == 0.0)
        ties[i] = room
        j_lo = min(j_lo, low + 1 + (budget + 1) * int(room <= 0))
        j_hi = max(j_hi, low + room)
    return min(j_lo, budget + 1), j_hi


@register_jitable
def allocate_guided(lam, budget, lo, hi, out, ties, heap, prev_lo, prev_hi, prev_relaxation):
    """:func:`allocate_bounded_warm`'s work: returns ``(status, lo, hi, relaxation)``, zeros when
    the answer needed no bracket (``budget = 0``, or ``lam = 0`` workers that take every task).

    Without bounds, where a sample says few workers can hold a key at ``t*`` at all (times
    over hundreds of orders of magnitude; :func:`candidates_cut`), or the division pass's
    least time does (one worker far faster than the rest; :func:`allocate_unscaled`), one
    pass lists those few and their problem is solved alone: the same keys in the same
    order, so the same allocation, in one pass over ``n`` instead of six or more. Bounds of
    one task of room a worker, and a budget below the workers that no worker's second key
    reaches, are a selection (:func:`allocate_unit_slack`); times of a few distinct values,
    with bounds shared by each time's workers or none, a table of them
    (:func:`allocate_few_times`)."""
    if lam.shape[0] >= FEW_TIMES_FROM and 0 < budget < RECIPROCAL_CAP and allocate_few_times(
            lam, budget, lo, hi, out, ties, heap):
        return OK, 0.0, 0.0, 0.0
    if lam.shape[0] >= UNIT_SLACK_FROM and 0 < budget < RECIPROCAL_CAP:
        if lo is not None:
            if unit_slack_bounds(lo, hi) and allocate_unit_slack(lam, budget, lo, hi, out, ties, heap, False):
                return OK, 0.0, 0.0, 0.0
        elif budget < lam.shape[0] and allocate_single_keys(lam, budget, out, ties, heap):
            return OK, 0.0, 0.0, 0.0
    sampled = lo is None and lam.shape[0] >= SAMPLED_FROM and 0 < budget < RECIPROCAL_CAP
    cut = candidates_cut(lam, budget, sampled_extremes(lam)[0]) if sampled else 0.0
    if cut == 0.0:
        # The division pass may find the least time far below the sample's (cut > 0 then)
        status, b_lo, b_hi, r, cut = allocate_scaled(lam, budget, lo, hi, out, ties, heap, prev_lo, prev_hi,
                                                     prev_relaxation, sampled)
        if cut == 0.0:
            return status, b_lo, b_hi, r
    m = list_candidates(lam, cut, ties, heap)
    if m <= 0:  # the sample misled: more than a quarter of the workers are candidates
        return allocate_scaled(lam, budget, lo, hi, out, ties, heap, prev_lo, prev_hi, prev_relaxation, False)[:4]
    # Scratch: the candidates' times in heap[:m], their indices in ties[:m], their allocation
    # in ties[m:2m]; their own scratch after those (m <= n/4 leaves room).
    status, b_lo, b_hi, r, _ = allocate_scaled(heap[:m], budget, None, None, ties[m:2 * m], ties[2 * m:], heap[m:],
                                               prev_lo, prev_hi, prev_relaxation, False)
    if status == OK:
        scatter_candidates(ties, m, out)
    return status, b_lo, b_hi, r


#: From this many workers, bounds that leave every available worker at most one task above its
#: minimum (a slot a worker: ``max_tasks = min_tasks + 1``, ``0`` and ``1`` the commonest) make
#: the allocation a selection: each such worker holds one key, ``(min_i + 1) * lam_i``, and the
#: ``budget - sum(min_tasks)`` smallest of them, in the canonical order, get their task
#: (:func:`allocate_unit_slack`). No division, no estimate: a pass that checks and counts at a
#: few cuts, a pass that writes and lists the workers between two of them.
UNIT_SLACK_FROM = 16384
#: Below this many workers :func:`allocate_unit_slack` takes a budget whose key the sample
#: puts within its noise of the minimums (cuts below its least key at 0). From it, the
#: workers listed between two cuts (some 3 % of them) are gathered from memory, not from the
#: cache, and their selection costs more than the passes it saves (Zen 3, 10 % unavailable
#: workers at a task or two, Cython: 65,536 workers 5.3-5.7 -> 3.8-3.9 numpy passes, 10^6
#: 4.8 -> 6.0).
UNIT_LOW_END_BELOW = 262144
#: Workers the cuts are placed by (evenly spaced), and cuts a counting pass takes.
UNIT_SAMPLE = 256
UNIT_CUTS = 8


@register_jitable
def unit_spread(k):
    """Cut ``k`` lies this many of the sample's standard errors in rank from the rank where it
    places the budget's key (-4, -2, -1, -0.34, then the same above; a function, not a tuple,
    which a CUDA kernel would index as an array)."""
    if k == 0:
        return -4.0
    if k == 1:
        return -2.0
    if k == 2:
        return -1.0
    if k == 3:
        return -0.34
    if k == 4:
        return 0.34
    if k == 5:
        return 1.0
    if k == 6:
        return 2.0
    return 4.0


@register_jitable
def unit_slack_bounds(lo, hi):
    """Whether the bounds may leave every worker at most one task above its minimum: for two
    numbers, ``max <= min + 1``; for arrays, :func:`unit_slack_counts` finds out."""
    if bounds_are_numbers(lo, hi):
        return bound_of(hi, 0) <= minimum_of(lo, 0, True) + 1
    return True


@register_jitable
def allocate_unit_slack(lam, budget, lo, hi, out, ties, heap, second_keys):
    """The allocation where every available worker may take at most one task above its
    minimum; False where the call is better left to the general path (a bound or time to
    reject, a worker with more room, the budget's key outside the cuts, or too many workers
    between them). ``out`` is written only once the counts pass has checked every time and
    bound; where the call gives way after a write (keys at one product with different
    minimums), the general path writes every worker again.

    ``second_keys``: the call has no bounds, and runs here as ``min_tasks=0, max_tasks=1``
    (bounds as numbers). Every worker then also holds ``2 lam_i, 3 lam_i, ...``; the
    selection is the allocation where none of those comes before a key it takes, that is
    where twice the least time is not below the cut above the taken keys (times a few
    percent apart, a few machine types, a budget below the workers). The sample gives way
    early where it shows otherwise; the counts pass finds the least time.

    Why it is exact: a worker with ``max_i = min_i + 1`` owns one key, ``(min_i + 1) * lam_i``
    at level ``min_i + 1``, and one with ``max_i = min_i`` none; the canonical allocation is
    the minimums plus a task for each of the ``budget - sum(min_tasks)`` smallest such keys
    in ``(product, level, worker)`` order. A pass counts the keys below each cut exactly
    (:func:`unit_slack_counts`); every key below the cut under the budget's rank is taken, and
    :func:`select_listed` takes the rest from the keys up to the next cut."""
    n = lam.shape[0]
    m, seen, taken_share, taken_square = unit_slack_sample(lam, budget, lo, hi, heap, second_keys)
    if m < UNIT_CUTS:
        return False
    # The sample's rank of the budget's key, and the cuts around it; its error, in ranks, that
    # of a sampled quantile and that of the sampled minimums and room (which a few
    # unavailable workers under a minimum of a few tasks make most of it). Near the top end
    # (nearly every worker with room takes its task), and where the minimums hold the whole
    # budget or all but a key of the sample's, the general path's passes are as few and
    # cheaper. Between (a minimum of one on 90 % of the workers, a task a worker) the cuts
    # below the sample's keys go to 0, below every key, up to UNIT_LOW_END_BELOW workers;
    # not without bounds, where the sample's least time is far above the least of all
    # there, and the counts pass would find a second key before the budget's (lognormal
    # times, 1000 tasks over 65,536 workers: 3.8 -> 5.7 numpy passes).
    slack_share = m / seen
    share = (budget / n - taken_share) / slack_share
    share_variance = ((taken_square - taken_share * taken_share) + share * share * slack_share * (1.0 - slack_share)) / (
        seen * slack_share * slack_share)
    rank = share * m
    error = math.sqrt(max(rank * (1.0 - rank / m), 1.0) + m * m * share_variance)
    if rank + unit_spread(UNIT_CUTS - 1) * error > m - 1.0 or (
            rank + unit_spread(0) * error < 0.0 and (rank < 1.0 or n >= UNIT_LOW_END_BELOW or second_keys)):
        return False
    sort_values(heap, m)  # only now: a call that gives way above has no use for it
    cuts = heap[m:m + UNIT_CUTS]
    for k in range(UNIT_CUTS):
        at = rank + unit_spread(k) * error
        # Below the sample's least key (the minimums hold nearly the whole budget): 0, below
        # every key, where the budget's key cannot lie.
        cuts[k] = heap[int(min(at, m - 1.0))] if at >= 0.0 else 0.0
        if k > 0 and cuts[k] <= cuts[k - 1]:
            # A key the sample repeats (ties) or two cuts at one rank: the cut just above it,
            # so that the keys at it are a bracket of their own.
            cuts[k] = nextafter(cuts[k - 1], INF)
    counts = ties[:UNIT_CUTS]
    flagged, taken, slack, least = unit_slack_counts(lam, budget, lo, hi, cuts, counts)
    if flagged or taken > budget or taken + slack < budget:
        return False  # the general path's checks report it
    remaining = budget - taken
    below = -1  # the cut under the budget's key: the keys below it are all taken
    for k in range(UNIT_CUTS):
        if counts[k] <= remaining:
            below = k
    if below < 0 or (counts[below] < remaining and below == UNIT_CUTS - 1):
        return False
    cut_lo = cuts[below]
    taken_below = counts[below]
    # The keys taken are below cut_hi (below cut_lo where nothing lies between)
    cut_hi = cuts[below + 1] if taken_below < remaining else cut_lo
    if second_keys and not (2.0 * least >= cut_hi):
        return False  # a second key of the fastest worker would come before some taken
    if taken_below < remaining:
        if (cut_lo < INF and cut_hi == nextafter(cut_lo, INF)
                and unit_slack_tied(lam, budget, lo, hi, cut_lo, remaining - taken_below, out)):
            return True
        between = counts[below + 1] - taken_below
        if between > (n + 2) // 3:
            return False
    m = unit_slack_write(lam, budget, lo, hi, cut_lo, cut_hi, out, ties)
    if taken_below < remaining:
        select_listed(lam, budget, taken + taken_below, INF, out, ties, m, heap, hi)
    return True


@register_jitable
def allocate_single_keys(lam, budget, out, ties, heap):
    """:func:`allocate_unit_slack` of a call without bounds (``second_keys``): bounds
    ``min_tasks=0, max_tasks=1`` given as numbers."""
    return allocate_unit_slack(lam, budget, 0, 1, out, ties, heap, True)


@register_jitable
def unit_slack_sample(lam, budget, lo, hi, heap, second_keys):
    """The keys of the sampled workers with room for a task (:data:`UNIT_SAMPLE`, evenly
    spaced), unsorted, in ``heap[:m]``: returns ``(m, workers sampled, the mean of their
    minimums and of its square)``, or ``m = -1`` where the sample shows a time or bound to
    reject or a worker with more room than one task, or (``second_keys``, no bounds) where
    the budget's key is likely past twice the least sampled time (before the sort). Equal
    keys (ties) are kept: the cuts then make the keys at one a bracket of their own."""
    n = lam.shape[0]
    stride = sample_stride(n, UNIT_SAMPLE)
    m = 0
    seen = 0
    taken = 0.0
    square = 0.0
    for i in range(0, n, stride):
        seen += 1
        x = lam[i]
        if not (x >= 0.0):
            return -1, 0, 0.0, 0.0
        available = x < INF
        low = minimum_of(lo, i, available)
        high = bound_of(hi, i)
        if low < 0 or high < low:
            return -1, 0, 0.0, 0.0
        if available:
            if high - low > 1:
                return -1, 0, 0.0, 0.0
            taken += low
            square += float(low) * low
            if high > low:
                heap[m] = float(low + 1) * x
                m += 1
    if m == 0 or (second_keys and not sampled_single_keys(heap, m, budget * seen / n)):
        return -1, 0, 0.0, 0.0
    return m, seen, taken / seen, square / seen


@register_jitable
def sampled_single_keys(keys, m, rank):
    """Whether the sampled keys (times, without bounds) below twice the least of them clearly
    outnumber ``rank``, the budget's rank in the sample: then the budget's key is likely
    below every worker's second key."""
    least = INF
    for k in range(m):
        least = min(least, keys[k])
    below = 0
    for k in range(m):
        below += keys[k] < 2.0 * least
    return rank + unit_spread(UNIT_CUTS - 1) * math.sqrt(max(rank * (1.0 - rank / m), 1.0)) < below


@register_jitable
def sort_values(v, m):
    """Sort ``v[:m]`` ascending in place (heapsort: no recursion, no scratch)."""
    for start in range(m // 2 - 1, -1, -1):
        sift_down(v, start, m)
    for end in range(m - 1, 0, -1):
        top = v[0]
        v[0] = v[end]
        v[end] = top
        sift_down(v, 0, end)


@register_jitable
def sift_down(v, root, end):
    while True:
        child = 2 * root + 1
        if child >= end:
            return
        if child + 1 < end and v[child] < v[child + 1]:
            child += 1
        if not v[root] < v[child]:
            return
        top = v[root]
        v[root] = v[child]
        v[child] = top
        root = child


@register_jitable
def unit_slack_counts(lam, budget, lo, hi, cuts, counts):
    """One pass: ``counts[k]`` = the keys ``(min_i + 1) * lam_i`` of the workers with room for a
    task below ``cuts[k]``; returns ``(flagged, taken, slack, least)``: whether a time or bound
    is to be rejected, a worker has more room than one task or a minimum past the budget, the
    sum of the available workers' minimums (held at ``budget + 1``), the workers with room,
    and, for bounds given as numbers, the least time (``+inf`` for arrays)."""
    if bounds_are_numbers(lo, hi):
        return unit_slack_counts_shared(lam, budget, minimum_of(lo, 0, True), bound_of(hi, 0), cuts, counts)
    wide_vectors()
    c0, c1, c2, c3, c4, c5, c6, c7 = cuts[0], cuts[1], cuts[2], cuts[3], cuts[4], cuts[5], cuts[6], cuts[7]
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0
    bad_time = 0
    negative = 0  # the sign bit of a negative minimum or of a maximum below the minimum
    wrong = 0  # set by more room than one task or a minimum past the budget (an available
    # worker), or by any minimum (an unavailable one)
    slack = 0
    # The minimums summed as their bits above and below bit 32, which cannot overflow
    # (wide_total): the pass then needs no blocks and no 64-bit multiply, which AVX2 lacks,
    # and numba vectorises it (65,536 workers, the least of 21 runs: 241 -> 105-146 us).
    high = 0
    low_bits = 0
    for i in range(lam.shape[0]):
        x = lam[i]
        available = x < INF
        low = minimum_of(lo, i, available)
        room = bound_of(hi, i) - low
        bad_time |= not (x >= 0.0)
        negative |= low | room
        wrong |= ((room >> 1) | ((budget - low) >> 63)) if available else low
        has = available & (room == 1)
        taken = low if available else 0
        high += taken >> 32
        low_bits += taken & 0xFFFFFFFF
        slack += has
        # A flagged minimum may make any key here: nothing after the pass reads them then.
        p = max(float_of(low + 1) * x, 0.0 if has else INF)
        s0 += p < c0
        s1 += p < c1
        s2 += p < c2
        s3 += p < c3
        s4 += p < c4
        s5 += p < c5
        s6 += p < c6
        s7 += p < c7
    store_counts(counts, s0, s1, s2, s3, s4, s5, s6, s7)
    flagged = bad_time != 0 or negative < 0 or wrong != 0
    return flagged, (0 if flagged else wide_total(high, low_bits, budget + 1)), slack, INF


@register_jitable
def unit_slack_counts_shared(lam, budget, low, high, cuts, counts):
    """:func:`unit_slack_counts` for bounds given as numbers: only the times can be flagged, and
    the keys are ``level * lam`` (``+inf`` where unavailable, NaN where no worker has room)."""
    if low < 0 or high < low or high - low > 1 or low > budget:
        return True, 0, 0, INF
    wide_vectors()
    level = float(low + 1) if high > low else INF
    c0, c1, c2, c3, c4, c5, c6, c7 = cuts[0], cuts[1], cuts[2], cuts[3], cuts[4], cuts[5], cuts[6], cuts[7]
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0
    flagged = 0
    available = 0
    least = order_key(INF)  # an integer min (of the bits, on the CPU) vectorises without fastmath
    for i in range(lam.shape[0]):
        x = lam[i]
        flagged |= not (x >= 0.0)
        available += x < INF
        least = min(least, order_key(x))
        p = level * x
        s0 += p < c0
        s1 += p < c1
        s2 += p < c2
        s3 += p < c3
        s4 += p < c4
        s5 += p < c5
        s6 += p < c6
        s7 += p < c7
    store_counts(counts, s0, s1, s2, s3, s4, s5, s6, s7)
    limit = budget + 1
    taken = limit if available > 0 and low > limit // available else low * available
    return flagged != 0, taken, available if high > low else 0, from_order_key(least)


@register_jitable
def store_counts(counts, s0, s1, s2, s3, s4, s5, s6, s7):
    counts[0] = s0
    counts[1] = s1
    counts[2] = s2
    counts[3] = s3
    counts[4] = s4
    counts[5] = s5
    counts[6] = s6
    counts[7] = s7


@register_jitable
def unit_slack_write(lam, budget, lo, hi, cut_lo, cut_hi, out, idx):
    """``out[i]`` = worker i's minimum, plus one where its key is below ``cut_lo``; the workers
    whose key is in ``[cut_lo, cut_hi)`` into ``idx``: returns how many. In blocks of
    :data:`CANDIDATES_BLOCK`, whose tests, kept as bits, vectorise."""
    wide_vectors()
    n = lam.shape[0]
    m = 0
    tail = n - n % CANDIDATES_BLOCK
    for start in range(0, tail, CANDIDATES_BLOCK):
        found = 0  # bit k: worker start + k has a key between the cuts
        for k in range(CANDIDATES_BLOCK):
            i = start + k
            p, low = unit_slack_key(lam[i], lo, hi, i)
            out[i] = low + (p < cut_lo)
            found |= int((p >= cut_lo) & (p < cut_hi)) << k
        while found != 0:
            idx[m] = start + lowest_bit(found)
            m += 1
            found &= found - 1
    for i in range(tail, n):
        p, low = unit_slack_key(lam[i], lo, hi, i)
        out[i] = low + (p < cut_lo)
        if cut_lo <= p < cut_hi:
            idx[m] = i
            m += 1
    return m


@register_jitable
def bounds_are_numbers(lo, hi):
    """Whether both bounds are one number for every worker. Where they are arrays, the code
    it guards reads them at worker 0, so that numba-cuda, which types a branch that numba
    prunes by type, types it too."""
    return isinstance(lo, int) and isinstance(hi, int)


@register_jitable
def unit_slack_tied(lam, budget, lo, hi, cut, rank, out):
    """Where the bounds are numbers (every key at one level), the keys below ``cut`` and the
    first ``rank`` at it taken (:func:`unit_slack_write_tied`): True; else False, nothing
    written."""
    if bounds_are_numbers(lo, hi):
        unit_slack_write_tied(lam, budget, minimum_of(lo, 0, True), bound_of(hi, 0), cut, rank, out)
        return True
    return unit_slack_write_tied_level(lam, lo, hi, cut, rank, out)


@register_jitable
def unit_slack_write_tied(lam, budget, low, high, cut, rank, out):
    """``out[i]`` = the minimum ``low`` (0 where unavailable), plus one where the key is below
    ``cut`` and for the first ``rank`` workers whose key is at it (bounds given as numbers:
    every key at one level, so worker order decides). In blocks of :data:`TIED_BLOCK`, each
    written in one loop that vectorises: a block gives every worker at ``cut`` its task while
    fewer than ``rank`` are taken, and the block that passes ``rank`` takes back the surplus
    from its last ones."""
    wide_vectors()
    n = lam.shape[0]
    level = float(low + 1) if high > low else INF
    taken = 0
    for start in range(0, n, TIED_BLOCK):
        stop = min(start + TIED_BLOCK, n)
        adding = taken < rank
        at = 0
        block = lam[start:stop]  # indices from 0: numba's loop then needs no wraparound check
        written = out[start:stop]
        for i in range(block.shape[0]):
            x = block[i]
            p = level * x
            tied = p == cut
            written[i] = (low if x < INF else 0) + (p < cut) + (tied & adding)
            at += tied
        if adding:
            taken += at
            i = stop - 1
            while taken > rank:
                if level * lam[i] == cut:
                    out[i] -= 1
                    taken -= 1
                i -= 1
    return taken


@register_jitable
def unit_slack_write_tied_level(lam, lo, hi, cut, rank, out):
    """:func:`unit_slack_write_tied` for bounds given as arrays, where every worker whose key is
    at ``cut`` has one minimum (one level: worker order decides, as for numbers): True. Where
    two of them have different minimums, whose order by level the general path takes: False,
    ``out`` partly written (the caller's write pass then writes every worker). Every block
    with a worker at ``cut`` is checked, also once ``rank`` are taken: a later worker at a
    lower level would come first. A block gives every worker at ``cut`` its task while fewer
    than ``rank`` are taken, and the block that passes ``rank`` takes back the surplus from
    its last ones: one loop a block."""
    wide_vectors()
    n = lam.shape[0]
    level = -1  # the minimum of the first worker at cut
    taken = 0
    for start in range(0, n, TIED_BLOCK):
        stop = min(start + TIED_BLOCK, n)
        adding = taken < rank
        # Slices, so that the loop's indices start at 0 (as in scan_bounds): an index start + i
        # into the bounds kept numba from vectorising it (65,536 workers, 10 % at lam = 0: the
        # pass took 2.6 numpy passes, 1.3 so).
        if isinstance(lo, int):
            at, other = tied_level_block(lam[start:stop], lo, hi, cut, adding, level, out[start:stop])
        else:
            at, other = tied_level_block(lam[start:stop], lo[start:stop], hi[start:stop], cut, adding, level,
                                         out[start:stop])
        if at == 0:
            continue
        if level < 0:
            level = tied_level_in(lam, lo, hi, cut, start, stop)
            other = 0
            for i in range(start, stop):
                p, low = unit_slack_key(lam[i], lo, hi, i)
                other |= (p == cut) & (low != level)
        if other:
            return False
        if adding:
            taken += at
            i = stop - 1
            while taken > rank:
                if unit_slack_key(lam[i], lo, hi, i)[0] == cut:
                    out[i] -= 1
                    taken -= 1
                i -= 1
    return True


@register_jitable
def tied_level_block(lam, lo, hi, cut, adding, level, out):
    """:func:`unit_slack_write_tied_level`'s loop over one block: ``out[i]`` = the minimum, plus
    one where the key is below ``cut`` or at it while ``adding``; returns ``(workers at cut,
    whether one of them has a minimum other than level)``."""
    at = 0
    other = 0
    for i in range(lam.shape[0]):
        p, low = unit_slack_key(lam[i], lo, hi, i)
        tied = p == cut
        out[i] = low + (p < cut) + (tied & adding)
        at += tied
        other |= tied & (low != level)
    return at, other


@register_jitable
def tied_level_in(lam, lo, hi, cut, start, stop):
    """The minimum of the first worker in ``start .. stop - 1`` whose key is at ``cut`` (-1: none)."""
    for i in range(start, stop):
        p, low = unit_slack_key(lam[i], lo, hi, i)
        if p == cut:
            return low
    return -1


@register_jitable
def unit_slack_key(x, lo, hi, i):
    """A worker's key ``(min + 1) * lam`` where it has room for a task (``+inf`` where not),
    and its minimum, for bounds :func:`unit_slack_counts` passed."""
    available = x < INF
    low = minimum_of(lo, i, available)
    has = available & (bound_of(hi, i) > low)
    return max(float_of(low + 1) * x, 0.0 if has else INF), low


#: From this many workers a call whose sample shows at most :data:`FEW_TIMES` distinct times
#: (a few machine types, times rounded in a config file, all equal), each with one minimum and
#: one maximum for its workers where bounds are given, is solved over a table of those times
#: (:func:`allocate_few_times`): a pass counts the workers of each time, the threshold comes
#: from the table alone, and a pass writes.
FEW_TIMES_FROM = 4096
#: Distinct times the table holds (a slot a lane in the passes: eight compares a worker).
FEW_TIMES = 8
#: The counts pass keeps its running counts at the end of each block of this many workers
#: (the write finds the tie's last worker from them; a pass stopped at a block with a time
#: outside the table goes on from there once the time has joined it).
FEW_BLOCK = 256
#: Steps from below ``t*`` through the table's keys, one product a step, before a bisection
#: takes over (a fast time held by few workers has many keys there).
FEW_STEPS = 64


@register_jitable
def few_times_sample(lam, budget, lo, hi, table, bounds):
    """The distinct times of :data:`SAMPLED_WORKERS` evenly spaced workers into ``table[:k]``,
    the rest of its :data:`FEW_TIMES` slots NaN (equal to no time), and each time's minimum
    and ``min(maximum, budget)`` into ``bounds[j]`` and ``bounds[8 + j]``, from its first
    worker; returns ``k``, or -1 where there are more than :data:`FEW_TIMES`, or a time the
    table does not take (:func:`few_times_takes`), or two workers of one time with different
    bounds, or where the sampled minimums, scaled to every worker, make the budget."""
    n = lam.shape[0]
    k = 0
    sampled = 0
    minimums = 0
    for i in range(0, n, sample_stride(n, SAMPLED_WORKERS)):
        x = lam[i]
        if not few_times_takes(x, lo):
            return -1
        sampled += 1
        minimums += low_of(lo, i, x < INF)
        new = True
        for j in range(k):
            if table[j] == x:
                new = False
                if bounds[j] != low_of(lo, i, x < INF) or bounds[FEW_TIMES + j] != high_of(hi, i, budget):
                    return -1
        if new:
            if k == FEW_TIMES:
                return -1
            few_times_join(lam, budget, lo, hi, table, bounds, k, i)
            k += 1
    if float(minimums) * n >= float(budget) * sampled:
        # The minimums likely make the budget (a fill: a task a worker, say): the general
        # path's validation pass finds that and writes them, one pass to the table's two.
        return -1
    for j in range(k, FEW_TIMES):
        table[j] = math.nan
        bounds[j] = bounds[FEW_TIMES + j] = 0
    return k


@register_jitable
def few_times_takes(x, lo):
    """Whether the table takes time ``x``: a normal double or ``+inf``, or 0 where bounds are
    given (a ``lam = 0`` worker's keys are all at product 0, before any other's; without
    bounds they take every task, which the general path gives out in one pass). NaN,
    negative and subnormal times go the general way, which checks them."""
    return x >= TINY or (x == 0.0 and lo is not None)


@register_jitable
def few_times_join(lam, budget, lo, hi, table, bounds, j, i):
    """Worker ``i``'s time and bounds into the table's slot ``j``."""
    x = lam[i]
    table[j] = x
    bounds[j] = low_of(lo, i, x < INF)
    bounds[FEW_TIMES + j] = high_of(hi, i, budget)


@register_jitable
def few_times_counts(lam, budget, lo, hi, table, bounds, k, counts, running):
    """The counts pass: the workers at each of the table's ``k`` times into ``counts[:8]``, and
    their running counts at the end of each :data:`FEW_BLOCK` into ``running[8 b : 8 b + 8]``.
    A time the sample missed (a machine type of a few workers, one odd machine) joins the
    table while it has room, and the pass goes on from the block where it found it (no worker
    before that block has it). Bounds as arrays: each worker's must be its time's. Returns
    the table's times, or -1 where a ninth time, one to reject or a worker with bounds other
    than its time's turns up (before anything is written: the general path takes the call)."""
    n = lam.shape[0]
    stop = 0
    while True:
        stop = few_times_pass(lam, budget, lo, hi, table, bounds, counts, running, stop)
        if stop == n or stop < 0:
            return k if stop == n else -1
        i = few_times_outside(lam, table, stop)
        if k == FEW_TIMES or not few_times_takes(lam[i], lo):
            return -1
        few_times_join(lam, budget, lo, hi, table, bounds, k, i)
        k += 1


@register_jitable
def few_times_pass(lam, budget, lo, hi, table, bounds, counts, running, start):
    """The counts pass from block ``start`` on: with bounds as arrays, checking them."""
    if lo is None:
        return few_times_blocks(lam, table, counts, running, start)
    if isinstance(lo, int):
        return few_times_blocks(lam, table, counts, running, start)
    return few_times_blocks_checked(lam, budget, lo, hi, table, bounds, counts, running, start)


@register_jitable
def few_times_blocks(lam, table, counts, running, start):
    """:func:`few_times_counts` over the table as it is, from block ``start`` on (a multiple of
    the block; the running counts before it hold): returns ``n``, or the start of the first
    block that holds a time outside the table, where it stops."""
    v0, v1, v2, v3, v4, v5, v6, v7 = table[0], table[1], table[2], table[3], table[4], table[5], table[6], table[7]
    n = lam.shape[0]
    c0, c1, c2, c3, c4, c5, c6, c7 = running_before(running, start)
    for begin in range(start, n, FEW_BLOCK):
        block = lam[begin:begin + FEW_BLOCK]  # indices from 0: numba's loop then needs no wraparound
        for i in range(block.shape[0]):
            x = block[i]
            c0 += x == v0
            c1 += x == v1
            c2 += x == v2
            c3 += x == v3
            c4 += x == v4
            c5 += x == v5
            c6 += x == v6
            c7 += x == v7
        # The times are distinct, so a worker matches one at most: one that matched none
        # leaves the counts short of the workers seen.
        if c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 < begin + block.shape[0]:
            return begin
        store_counts(running[FEW_TIMES * (begin // FEW_BLOCK):], c0, c1, c2, c3, c4, c5, c6, c7)
    store_counts(counts, c0, c1, c2, c3, c4, c5, c6, c7)
    return n


@register_jitable
def few_times_blocks_checked(lam, budget, lo, hi, table, bounds, counts, running, start):
    """:func:`few_times_blocks` for bounds as arrays, checking each worker's against its
    time's as it counts (a loop of its own: the checks read two more arrays, which the pass
    without them should not pay for); -1 where a worker's differ."""
    v0, v1, v2, v3, v4, v5, v6, v7 = table[0], table[1], table[2], table[3], table[4], table[5], table[6], table[7]
    l0, l1, l2, l3, l4, l5, l6, l7 = bounds[0], bounds[1], bounds[2], bounds[3], bounds[4], bounds[5], bounds[6], bounds[7]
    h0, h1, h2, h3, h4, h5, h6, h7 = bounds[8], bounds[9], bounds[10], bounds[11], bounds[12], bounds[13], bounds[14], bounds[
        15]
    # Bounds that go by availability alone (every available time's alike, the scheduler's
    # commonest) are picked by whether a time is +inf: two selects a worker, not sixteen.
    uniform, low_in, high_in, low_out, high_out = few_times_pairs(table, bounds)
    n = lam.shape[0]
    c0, c1, c2, c3, c4, c5, c6, c7 = running_before(running, start)
    for begin in range(start, n, FEW_BLOCK):
        block = lam[begin:begin + FEW_BLOCK]
        lows = lo[begin:begin + FEW_BLOCK]
        highs = hi[begin:begin + FEW_BLOCK]
        wrong = 0
        for i in range(block.shape[0]):
            x = block[i]
            c0 += x == v0
            c1 += x == v1
            c2 += x == v2
            c3 += x == v3
            c4 += x == v4
            c5 += x == v5
            c6 += x == v6
            c7 += x == v7
            if uniform:
                low = low_out if x == INF else low_in
                high = high_out if x == INF else high_in
            else:
                low = l7 if x == v7 else -1
                low = l6 if x == v6 else low
                low = l5 if x == v5 else low
                low = l4 if x == v4 else low
                low = l3 if x == v3 else low
                low = l2 if x == v2 else low
                low = l1 if x == v1 else low
                low = l0 if x == v0 else low
                high = h7 if x == v7 else -1
                high = h6 if x == v6 else high
                high = h5 if x == v5 else high
                high = h4 if x == v4 else high
                high = h3 if x == v3 else high
                high = h2 if x == v2 else high
                high = h1 if x == v1 else high
                high = h0 if x == v0 else high
            wrong += (lows[i] != low) | (min(highs[i], budget) != high)
        if c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 < begin + block.shape[0]:
            return begin
        if wrong > 0:
            return -1
        store_counts(running[FEW_TIMES * (begin // FEW_BLOCK):], c0, c1, c2, c3, c4, c5, c6, c7)
    store_counts(counts, c0, c1, c2, c3, c4, c5, c6, c7)
    return n


@register_jitable
def few_times_pairs(table, bounds):
    """Whether every available time of the table has one pair of bounds; that pair, and the
    unavailable workers' (where the table holds ``+inf``; -1 where it does not)."""
    low_in = high_in = low_out = high_out = -1
    seen = False
    for j in range(FEW_TIMES):
        if table[j] == INF:
            low_out, high_out = bounds[j], bounds[FEW_TIMES + j]
        elif table[j] == table[j]:  # not an empty (NaN) slot
            if seen and (bounds[j] != low_in or bounds[FEW_TIMES + j] != high_in):
                return False, low_in, high_in, low_out, high_out
            low_in, high_in = bounds[j], bounds[FEW_TIMES + j]
            seen = True
    return True, low_in, high_in, low_out, high_out


@register_jitable
def running_before(running, start):
    """The running counts at the end of the block before ``start`` (zeros at 0)."""
    if start == 0:
        return 0, 0, 0, 0, 0, 0, 0, 0
    last = running[FEW_TIMES * (start // FEW_BLOCK - 1):]
    return last[0], last[1], last[2], last[3], last[4], last[5], last[6], last[7]


@register_jitable
def few_times_outside(lam, table, start):
    """The first worker from ``start`` on whose time the table does not hold."""
    for i in range(start, lam.shape[0]):
        x = lam[i]
        held = False
        for j in range(FEW_TIMES):
            held |= x == table[j]
        if not held:
            return i
    return lam.shape[0] - 1


@register_jitable
def few_times_tasks(x, t, low, high, budget):
    """A worker's tasks at threshold ``t >= 0``: its keys at or below it, within its bounds
    (a ``lam = 0`` worker's keys are all at 0)."""
    if x == 0.0:
        return high
    return min(max(float_of(count_le(x, t, budget)), low), high)


@register_jitable
def few_times_keys(table, counts, low, high, k, t, budget):
    """The tasks of the table's workers at threshold ``t`` (a float, exact below ``2**53``; past
    it, at least the budget)."""
    total = 0.0
    for j in range(k):
        total += counts[j] * few_times_tasks(table[j], t, low[j], high[j], budget)
    return total


@register_jitable
def few_times_next(x, t, low, high, budget):
    """A worker's first key above ``t`` within its bounds (``+inf`` where none)."""
    a = few_times_tasks(x, t, low, high, budget)
    return (a + 1.0) * x if a < high else INF


@register_jitable
def few_times_threshold(table, counts, low, high, k, budget, heap):
    """``t*``, the product of the ``budget``-th task of the table's workers (the minimums
    first), or 0 where the table cannot place it (no available worker, bounds to report,
    keys past the largest double: the general path reports or takes those). ``heap[:k]``:
    scratch.

    From a threshold below ``t*`` (below the relaxation ``budget / sum(counts / table)``,
    where every time's keys number at most its share of the budget, or, where bounds make that
    too high, below every time's first key) the keys are taken a product at a time: at most
    :data:`FEW_STEPS`, then a bisection between the last product and a threshold that holds
    the budget."""
    inv_sum = 0.0
    least = INF
    workers = 0.0
    first = INF
    most = 0.0
    for j in range(k):
        workers += counts[j]
        if counts[j] > 0 and 0.0 < table[j] < INF:  # lam = 0 workers: their maximum at any t
            inv_sum += counts[j] / table[j]
            least = min(least, table[j])
            if low[j] < high[j]:
                first = min(first, (low[j] + 1.0) * table[j])
                most = max(most, high[j] * table[j])
    if not (0.0 < inv_sum < INF) or not first < INF:
        return 0.0
    # Below every count of budget - 1 keys, with room for the rounding of the sum, and never
    # below the least time's first key, which no threshold under it reaches.
    t = max((budget - 1) / inv_sum * (1.0 - 2.0**-30), nextafter(least, 0.0))
    below = few_times_keys(table, counts, low, high, k, t, budget)
    if below >= budget:  # minimums above the keys there: from below every first key
        t = nextafter(first, 0.0)
        below = few_times_keys(table, counts, low, high, k, t, budget)
        if below >= budget:
            return 0.0
    nxt = heap[:k]
    for j in range(k):
        nxt[j] = few_times_next(table[j], t, low[j], high[j], budget) if counts[j] > 0 else INF
    for _ in range(FEW_STEPS):
        p = INF
        for j in range(k):
            p = min(p, nxt[j])
        if not p < INF:
            return 0.0
        at = 0.0
        for j in range(k):
            if nxt[j] == p:
                at += counts[j]
        if below + at >= budget:
            return p
        below += at
        t = p
        for j in range(k):
            if nxt[j] == p:
                nxt[j] = few_times_next(table[j], p, low[j], high[j], budget)
    # Every time's keys up to (budget + workers) / sum(counts / table) hold the budget without
    # bounds; with them, every key within them (the last at ``high * time``) does.
    top = min((budget + workers) / inv_sum * (1.0 + 2.0**-30), budget * least)
    if not top < INF or few_times_keys(table, counts, low, high, k, top, budget) < budget:
        top = most
        if not top < INF or few_times_keys(table, counts, low, high, k, top, budget) < budget:
            return 0.0
    while True:
        # Halfway in the exponent while the ends are far apart, then halfway: 64 steps at most.
        mid = math.sqrt(t) * math.sqrt(top) if top > 4.0 * t else t + (top - t) * 0.5
        if mid <= t or mid >= top:
            return top
        if few_times_keys(table, counts, low, high, k, mid, budget) >= budget:
            top = mid
        else:
            t = mid


@register_jitable
def few_times_minimums(table, counts, bounds, low, high, k, budget):
    """The sum of the table's minimums, or -1 where its bounds are not ones the allocation takes
    as they are (else the general path reports which are not): ``0 <= min <= max``, minimums
    of 0 on unavailable workers, the minimums within the budget and the available workers'
    room holding it. Where they are, their numbers into ``low`` and ``high``."""
    minimums = 0.0
    room = 0.0
    for j in range(FEW_TIMES):
        low[j] = high[j] = 0.0
    for j in range(k):
        if not 0 <= bounds[j] <= bounds[FEW_TIMES + j] or (table[j] == INF and bounds[j] > 0):
            return -1.0
        low[j] = float_of(bounds[j])  # <= max <= budget: exact
        high[j] = float_of(bounds[FEW_TIMES + j])
        minimums += counts[j] * low[j]
        if table[j] < INF:
            room += counts[j] * high[j]
    return minimums if minimums <= budget <= room else -1.0


@register_jitable
def allocate_few_times(lam, budget, lo, hi, out, ties, heap):
    """The allocation where every worker's time is one of at most :data:`FEW_TIMES` (a few
    machine types, times rounded in a config file, all equal), with one minimum and one
    maximum for each time's workers where bounds are given; False, with ``out`` untouched,
    where the sample or the counts pass finds more, a time to reject, a worker with bounds
    other than its time's, or bounds to report (the general path then takes the call). Two
    passes over the workers: one counts the workers at each time (the times the sample missed
    join the table as it finds them), one writes.

    Why it is exact: workers with one time ``v`` and one pair of bounds own the same keys
    ``fl(j * v)``, ``min < j <= max``, so the tasks at or below any threshold are counted for
    the table's times alone, times their workers; the product ``t*`` of the ``budget``-th
    task follows (:func:`few_times_threshold`). Every key below ``t*`` is taken; a time with
    a key at ``t*`` has it at one level (its tasks below ``t*``), so the keys at ``t*`` come
    time by time in order of that level (times at one level together), each time's in worker
    order: whole times while the rest of the budget holds them, then the first workers of the
    times at the next level, up to the budget. With bounds, ``lam = 0`` workers own keys at
    product 0 alone, which come before every other: they take their maximum, where those keys
    and the minimums are at most the budget (``t* = 0`` where they are the budget); where
    they are more, those keys tie at ``t* = 0``, a level at a time, each in worker order.
    ``ties`` holds ``24 + 8 * ceil(n / FEW_BLOCK)``
    counts; ``heap`` 48 numbers."""
    table = heap[:FEW_TIMES]
    bounds = ties[FEW_TIMES:3 * FEW_TIMES]
    k = few_times_sample(lam, budget, lo, hi, table, bounds)
    if k < 0:
        return False
    counts = ties[:FEW_TIMES]
    running = ties[3 * FEW_TIMES:]
    k = few_times_counts(lam, budget, lo, hi, table, bounds, k, counts, running)
    if k < 0:
        return False
    # A time's tasks (its keys below t*, plus one where its key at t* is taken), whether its
    # key at t* is in the tie the budget splits, and its bounds as numbers.
    tasks = heap[FEW_TIMES:2 * FEW_TIMES]
    split = heap[2 * FEW_TIMES:3 * FEW_TIMES]
    level = heap[3 * FEW_TIMES:4 * FEW_TIMES]  # a time's level at t*; -1: none there, or settled
    low = heap[4 * FEW_TIMES:5 * FEW_TIMES]
    high = heap[5 * FEW_TIMES:6 * FEW_TIMES]
    minimums = few_times_minimums(table, counts, bounds, low, high, k, budget)
    if minimums < 0.0:
        return False
    zeros = few_times_zero_room(table, counts, low, high, k)
    if minimums + zeros > budget:
        rank = few_times_at_zero(table, counts, low, tasks, split, k, budget - minimums)
    else:
        alone = minimums + zeros == budget  # t* = 0: the minimums and lam = 0 workers' maximums make it
        tstar = 0.0 if alone else few_times_threshold(table, counts, low, high, k, budget, heap[3 * FEW_TIMES:])
        if not (alone or tstar > 0.0):
            return False
        under = nextafter(tstar, 0.0)
        remaining = float(budget)
        for j in range(FEW_TIMES):
            tasks[j] = split[j] = 0.0
            level[j] = -1.0
        for j in range(k):
            below = few_times_tasks(table[j], under, low[j], high[j], budget)
            tasks[j] = below
            remaining -= counts[j] * below
            if counts[j] > 0 and few_times_tasks(table[j], tstar, low[j], high[j], budget) > below:
                level[j] = below
        rank = 0.0
        while remaining > 0.0:
            least = INF
            for j in range(k):
                if level[j] >= 0.0:
                    least = min(least, level[j])
            at = 0.0
            for j in range(k):
                if level[j] == least:
                    at += counts[j]
            for j in range(k):
                if level[j] == least:
                    level[j] = -1.0
                    if at <= remaining:
                        tasks[j] += 1.0
                    else:
                        split[j] = 1.0
            if at > remaining:
                rank = remaining
            remaining -= at
    cut = few_times_cut(lam, table, split, running, rank) if rank > 0.0 else 0
    few_times_write(lam, table, tasks, split, cut, out)
    return True


@register_jitable
def few_times_zero_room(table, counts, low, high, k):
    """The keys of ``lam = 0`` workers above their minimums, all at product 0: where they and
    the minimums pass the budget, ``t* = 0`` and those keys tie there
    (:func:`few_times_at_zero`)."""
    room = 0.0
    for j in range(k):
        if table[j] == 0.0:
            room += counts[j] * (high[j] - low[j])
    return room


@register_jitable
def few_times_at_zero(table, counts, low, tasks, split, k, remaining):
    """The table's tasks where ``lam = 0`` workers' keys above their minimums tie at ``t* = 0``
    past the budget: every worker its minimum, and the ``remaining`` tasks to the ``lam = 0``
    workers a level at a time (the canonical order of their keys ``(0, j, i)``), the last
    level's to the first of them; returns how many take one more (``split`` marks them)."""
    rank = 0.0
    for j in range(FEW_TIMES):
        tasks[j] = split[j] = 0.0
    for j in range(k):
        tasks[j] = low[j]
        if table[j] == 0.0:
            share = int_of(remaining) // counts[j]  # whole levels, as round_robin_zeros splits
            tasks[j] += float_of(share)
            rank = remaining - float_of(share * counts[j])
            split[j] = 1.0 if rank > 0.0 else 0.0
    return rank


@register_jitable
def few_times_cut(lam, table, split, running, rank):
    """The index past the ``rank``-th worker whose time is ``split`` (1), from the counts pass's
    running counts: the block that reaches it, then its workers one by one."""
    n = lam.shape[0]
    before = 0.0
    start = 0
    for b in range((n + FEW_BLOCK - 1) // FEW_BLOCK):
        reached = 0.0
        for j in range(FEW_TIMES):
            reached += split[j] * float_of(running[FEW_TIMES * b + j])
        if reached >= rank:
            break
        before = reached
        start += FEW_BLOCK
    for i in range(start, n):
        x = lam[i]
        for j in range(FEW_TIMES):
            if x == table[j] and split[j] > 0.0:
                before += 1.0
        if before >= rank:
            return i + 1
    return n


@register_jitable
def few_times_write(lam, table, tasks, split, cut, out):
    """``out``: each worker's tasks by its time, plus one for the workers of a ``split`` time
    before ``cut``."""
    v0, v1, v2, v3, v4, v5, v6, v7 = table[0], table[1], table[2], table[3], table[4], table[5], table[6], table[7]
    a0, a1, a2, a3 = int_of(tasks[0]), int_of(tasks[1]), int_of(tasks[2]), int_of(tasks[3])
    a4, a5, a6, a7 = int_of(tasks[4]), int_of(tasks[5]), int_of(tasks[6]), int_of(tasks[7])
    s0, s1, s2, s3 = int_of(tasks[0] + split[0]), int_of(tasks[1] + split[1]), int_of(tasks[2] + split[2]), int_of(
        tasks[3] + split[3])
    s4, s5, s6, s7 = int_of(tasks[4] + split[4]), int_of(tasks[5] + split[5]), int_of(tasks[6] + split[6]), int_of(
        tasks[7] + split[7])
    for i in range(cut):
        x = lam[i]
        o = s7 if x == v7 else 0
        o = s6 if x == v6 else o
        o = s5 if x == v5 else o
        o = s4 if x == v4 else o
        o = s3 if x == v3 else o
        o = s2 if x == v2 else o
        o = s1 if x == v1 else o
        out[i] = s0 if x == v0 else o
    rest = lam[cut:]  # indices from 0, as in the loop above: no wraparound for numba to check
    after = out[cut:]
    for i in range(rest.shape[0]):
        x = rest[i]
        o = a7 if x == v7 else 0
        o = a6 if x == v6 else o
        o = a5 if x == v5 else o
        o = a4 if x == v4 else o
        o = a3 if x == v3 else o
        o = a2 if x == v2 else o
        o = a1 if x == v1 else o
        after[i] = a0 if x == v0 else o


#: :func:`list_candidates` reads ``lam`` in blocks of this many workers: the comparisons of a
#: block, kept as bits, vectorise, and only the candidates' bits are visited.
CANDIDATES_BLOCK = 32
#: The candidates are listed where at most this share of the sample is one, and solved
#: alone where at most a quarter of all workers are.
CANDIDATES_SHARE = 1.0 / 8.0
#: The write of a selection whose budget's key is tied (:func:`unit_slack_write_tied`) goes in
#: blocks of this many workers: a block's loop vectorises, and only the block that passes the
#: budget walks back (65,536 workers: blocks of 32 cost a fifth more).
TIED_BLOCK = 256


@register_jitable
def candidates_cut(lam, budget, least):
    """A time above which no worker holds a key at or below ``t*`` (no bounds), where at most
    :data:`CANDIDATES_SHARE` of the sample's workers are at or below it; else 0. ``least``:
    the least available time of the sample, or of every worker.

    Why it is safe: the fastest worker alone holds ``budget`` keys at ``budget * lam_min``, so
    ``t* <= budget * lam_min <= budget * least``, and a worker with ``lam > t*`` holds no key
    at or below it. The cut, ``2 * budget * least``, leaves a factor of two for rounding.
    Zeros, NaN and negative times count as below it: the listing pass finds them and gives
    way to the validation pass."""
    cut = 2.0 * budget * least
    return cut if cut < INF and sampled_share_within(lam, cut) <= CANDIDATES_SHARE else 0.0


@register_jitable
def sampled_share_within(lam, cut):
    """The share of :func:`sampled_relaxation`'s sample not above ``cut`` (NaN counted too)."""
    n = lam.shape[0]
    within = 0
    seen = 0
    for i in range(0, n, sample_stride(n, SAMPLED_RELAXATION)):
        within += int(not (lam[i] > cut))
        seen += 1
    return within / seen


@register_jitable
def list_candidates(lam, cut, idx, times):
    """The workers with ``lam <= cut``: their indices into ``idx[:m]``, ascending, and their
    times into ``times[:m]``; returns ``m``, or -1 (nothing to use) where some ``lam`` is not
    above 0 (a zero, NaN or a negative time: the validation pass decides) or more than a
    quarter of the workers are candidates. Block by block, as :func:`count_list_into`: the
    test of a block vectorises, and only its candidates are visited."""
    wide_vectors()
    n = lam.shape[0]
    most = n // 4
    m = 0
    for start in range(0, n - n % CANDIDATES_BLOCK, CANDIDATES_BLOCK):
        found = 0  # bit k: worker start + k is a candidate
        flagged = 0  # ... its time is not above 0 (as bits too: a sum beside the bits did not vectorise, 4.5x slower)
        for k in range(CANDIDATES_BLOCK):
            x = lam[start + k]
            found |= int(x <= cut) << k
            flagged |= int(not (x > 0.0)) << k
        while found != 0:
            i = start + lowest_bit(found)
            idx[m] = i
            times[m] = lam[i]
            m += 1
            found &= found - 1
        if flagged != 0 or m > most:
            return -1
    for i in range(n - n % CANDIDATES_BLOCK, n):
        x = lam[i]
        if not (x > 0.0):
            return -1
        if x <= cut:
            idx[m] = i
            times[m] = x
            m += 1
    return m if m <= most else -1


@register_jitable
def scatter_candidates(ties, m, out):
    """``out``: the candidates' allocation (``ties[m:2m]``) at their indices (``ties[:m]``), 0 elsewhere."""
    for i in range(out.shape[0]):
        out[i] = 0
    for k in range(m):
        out[ties[k]] = ties[m + k]


@register_jitable
def allocate_scaled(lam, budget, lo, hi, out, ties, heap, prev_lo, prev_hi, prev_relaxation, candidates):
    """:func:`allocate_guided` over every worker given: ``(status, lo, hi, relaxation, cut)``.
    With ``candidates``, a ``cut > 0`` before anything is written where the least time says
    few workers can hold a key at ``t*`` (:func:`allocate_unscaled`).

    Times far below 1 (subnormal ones, or every threshold below the estimates' range) are
    multiplied by a power of two first (:func:`rescale_shift`; not in a CUDA kernel, which
    cannot allocate the copy): the same keys, each scaled exactly, so the same allocation, in
    a handful of passes instead of many slow ones."""
    status, b_lo, b_hi, r, shift, cut = allocate_unscaled(lam, budget, lo, hi, out, ties, heap, prev_lo, prev_hi,
                                                          prev_relaxation, True, candidates)
    if shift == 0:
        return status, b_lo, b_hi, r, cut
    status, b_lo, b_hi, r, _, _ = allocate_unscaled(rescaled_copy(lam, shift), budget, lo, hi, out, ties, heap,
                                                    times_two_to(prev_lo, shift), times_two_to(prev_hi, shift),
                                                    times_two_to(prev_relaxation, shift), False, False)
    # The next call's guesses, in this call's units (rounded where they fall below 2**-1022).
    return status, times_two_to(b_lo, -shift), times_two_to(b_hi, -shift), times_two_to(r, -shift), 0.0


@register_jitable
def allocate_unscaled(lam, budget, lo, hi, out, ties, heap, prev_lo, prev_hi, prev_relaxation, rescale,
                      candidates):
    """:func:`allocate_guided` on ``lam`` as it is: ``(status, lo, hi, relaxation, 0, 0)``; or, with
    ``rescale`` and times far below 1, ``(OK, 0, 0, 0, k, 0)`` before anything is written: the
    caller runs it again on ``lam * 2**k``; or, with ``candidates`` and few workers within
    ``cut = 2 * budget * lam_min``, ``(OK, 0, 0, 0, 0, cut)`` before anything is written: the
    caller lists those workers and solves theirs alone. ``candidates`` only where
    :func:`allocate_guided` samples (no bounds, ``n >= SAMPLED_FROM``, ``0 < budget <
    RECIPROCAL_CAP``)."""
    t0 = 0.0  # where the validation pass estimates, if it does
    t2_sampled = 0.0
    r_sampled = 0.0
    if lam.shape[0] >= SAMPLED_FROM and 0 < budget < RECIPROCAL_CAP:
        # The validation pass takes the first estimate too (with bounds, and checks them): at
        # the relaxation of a sample (the exact one needs that pass's sum), or at the previous
        # call's bracket scaled by it.
        r_sampled = sampled_relaxation(lam, budget)
        t0, t2_sampled = sampled_guesses(r_sampled, prev_lo, prev_hi, prev_relaxation)
        if lo is not None and t0 > 0.0 and t2_sampled == 0.0:  # cold, with bounds
            guess = sampled_bounded_guess(lam, budget, t0, lo, hi, heap)
            t0 = guess if ESTIMATE_LOW <= guess <= ESTIMATE_HIGH else t0
        elif lo is None and t2_sampled == 0.0 and budget < lam.shape[0] and lam.shape[0] >= RANKED_FROM:
            # Cold, fewer tasks than workers, times within RANKED_SPREAD of each other (one
            # machine type) and the relaxation below all of them: most workers hold no key at
            # t*, where the relaxation spreads a fraction of one over each, and the start
            # from the least time (t_min below) takes them spread over [lam_min, 2 lam_min]
            # (normal(10, 0.1) at a tenth of a task a worker: the sampled relaxation counts
            # nothing, that start every worker, and ten estimates creep along the S of the
            # times' distribution). The sample's own keys bracket t*: the pair sampled_riser
            # places, its upper end the first guess.
            least, most = sampled_extremes(lam)
            if 0.0 < t0 < least and most < RANKED_SPREAD * least and not sampled_repeats(lam):
                a, b = sampled_riser(lam, budget, 0.0, INF, 0, ESTIMATE_CAP, None, None)
                if ESTIMATE_LOW <= a and b <= ESTIMATE_HIGH:
                    t0 = b
                    t2_sampled = a
    elif lam.shape[0] >= SAMPLED_FROM and budget >= RECIPROCAL_CAP and lo is not None and not prev_hi > 0.0:
        # From 2**51 tasks the validation pass does not estimate and the counts divide; the
        # relaxation ignores the bounds (2e-24 for a t* near 8e4 over lam = exp(normal(0, 5)), bounds 1 to 4 budget / n:
        # 17 counts by division). Cold, the sample's root with its bounds is the first guess.
        r_sampled = sampled_relaxation(lam, budget)
        if r_sampled > 0.0:
            guess = sampled_bounded_guess(lam, budget, r_sampled, lo, hi, heap)
            t2_sampled = guess if ESTIMATE_LOW <= guess <= ESTIMATE_HIGH else 0.0
    checked = False  # the validation pass checked the bounds too
    reach = INF  # the passes read the stored 1/lam at thresholds up to this
    n_zero = n_avail = 0  # scan counts them; where the validation pass checked, nothing reads them
    moving = taken = capacity = room = second = 0.0
    whole = 0.0  # with bounds, the largest 1/lam of a worker whose maximum holds the whole budget
    aim_second = -1.0  # the validation pass's second estimate, where its secant aims
    down = 0.0  # with bounds, the second guess along the line in log t, where the first is above
    t2_estimate = -1.0  # ... where it is at the second guess instead (warm, without bounds)
    # Where a guard against products below 2**-1022 can apply: a pass of the validation that
    # estimates with bounds, or any without (reach_of_inverse).
    sampled = lam.shape[0] >= EXTREMES_N and (lo is None or t0 > 0.0)
    least, most = sampled_extremes(lam) if sampled else (INF, 0.0)
    wide = most > least * WIDE_SPREAD
    if lo is not None and t0 > 0.0:
        if wide:
            inv_sum, n_flagged, first, moving, taken, capacity, room, second, whole = inverse_checking_pass(
                lam, heap, t0, budget, lo, hi, 0.5 / t0)
        else:
            inv_sum, n_flagged, first, moving, taken, capacity, room, second, whole = inverse_checking_pass(
                lam, heap, t0, budget, lo, hi, None)
        # Valid lam and bounds, an available worker and 1/lam summed without overflow: what scan
        # would find where it takes the estimate. Else scan and the bounds' checks decide.
        checked = n_flagged == 0 and 0.0 < inv_sum < INF
    if checked:
        status = OK
        # Read only without bounds, or where 1/lam overflowed (relaxation), neither of them here.
        lam_min = 0.0
    else:
        zero_above, reach = reach_of_inverse(least, budget, lo, t0) if wide else (INF, INF)
        # first: the estimate at the first guess, if the validation pass or the bounds check took it;
        # second: cold, from PAIRED_FROM workers without bounds, the estimate a few percent up,
        # as the pass with bounds takes it, where the sample says the first guess is close
        paired = (lo is None and t2_sampled == 0.0 and lam.shape[0] >= PAIRED_FROM and not sampled_repeats(lam)
                  and sampled_inverse_error(lam) <= PAIRED_ERROR)
        # Warm without bounds, the second estimate at the second guess instead: the estimate
        # passes' second step estimates there (inverse + estimate + count -> inverse + count).
        t0_up = t0 * SLOPE_STEP if paired else (t2_sampled if lo is None else 0.0)
        if zero_above < INF:
            status, n_zero, n_avail, inv_sum, lam_min, first, second = scan(lam, budget, heap, t0, t0_up, zero_above)
        else:
            status, n_zero, n_avail, inv_sum, lam_min, first, second = scan(lam, budget, heap,
                                                                            t0 if lo is None else 0.0, t0_up, None)
        if not paired:
            t2_estimate = second
            second = -1.0
    if status != OK:
        return status, 0.0, 0.0, 0.0, 0, 0.0  # out untouched: a rejected call changes nothing
    slope = inv_sum if inv_sum < INF else INF
    base = 0  # keys counted at threshold 0
    minimums = 0  # the minimums' sum
    if lo is not None:
        t = t0
        if checked:
            status, remaining, zero_room = checked_status(lam, budget, lo, hi, 0, taken, capacity, room)
        elif n_avail > 0 and budget < RECIPROCAL_CAP and inv_sum < INF and lam.shape[0] >= EXTREMES_N:
            # The first estimate pass reads the bounds anyway: it checks them in the same pass.
            t = first_guesses(lam, budget, n_avail, inv_sum, lam_min, prev_lo, prev_hi, prev_relaxation)[1]
            status, remaining, zero_room, first, moving, whole = scan_bounds_estimating(lam, heap[:lam.shape[0]], t,
                                                                                        budget, lo, hi)
        else:
            status, remaining, zero_room, whole = scan_bounds(lam, budget, lo, hi)
        if status != OK:
            return status, 0.0, 0.0, 0.0, 0, 0.0
        if first >= 0.0:  # the check took the first estimate, at t: its slope aims the next step
            if moving > 0.0:
                slope = moving
                if checked:
                    # The validation pass also estimated a few percent up: that secant sees the
                    # counts bend (workers reaching their bounds, or a few keys a worker, where
                    # the count follows the density of lam, not sum(1/lam)) and aims closer,
                    # unless flat, or steep past SECANT_TRUST where a sample repeats times
                    # (ties: a jump, not a slope). Steep without ties, it is that density: at
                    # most a task a worker and 58,982 tasks over 65,536 lognormal(0, 0.5)
                    # workers, the secant 9497 keys a unit against a slope of 2236 there, the
                    # first pair 20 % short of t* (5 passes -> 2).
                    secant = trusted_secant(lam, t, first, second, moving)
                    if secant > 0.0:
                        slope = secant
                        aim_second = second
            if moving < CAPPED_SHARE * inv_sum and first < budget:
                # Most of sum(1/lam) is on workers at a bound (a few far faster ones at their cap,
                # lam over many orders of magnitude): the next step aims where a sample holds
                # the budget.
                up = sampled_root(lam, budget, t, lo, hi)
                if up > t:
                    slope = (budget - first) / (up - t)
            elif (first > budget and second > first and most > LOG_SPREAD * least
                  and t * slope + (budget - first) <= 0.0 and not sampled_repeats(lam)):
                # Above the budget, where the count's line through the estimate goes below 0
                # (most workers at a bound), over times the sample spreads across many orders
                # of magnitude: the counts fall like log t, and the second guess is on the
                # line in log t of the count's slope there, t * moving (each worker between
                # its bounds counts t / lam_i). The steps down had shrunk by 30 % a pass, two
                # or three passes, before the counts spread far enough apart to be read in
                # log t (10**uniform(-300, 300) at 65,536 x 262,144 with bounds, a sample
                # that put the first guess twenty orders of magnitude above t*: 6 passes ->
                # 4). The secant to the validation pass's estimate 3 % up reads that slope
                # from a key or two (there at a task a worker and 6553 tasks: the guess 516
                # keys from the budget, 61 along t * moving).
                rate = t * moving
                down = t * math.exp((budget - first) / rate) if rate > 0.0 else 0.0
                down = down if 0.0 < down < t else 0.0
        if zero_room >= remaining:  # no room without lam = 0 workers: then the minimums take every task
            fill_zeros_bounded(lam, budget, lo, hi, remaining, out, ties, heap)
            return OK, 0.0, 0.0, 0.0, 0, 0.0
        base = budget - remaining + zero_room
        minimums = budget - remaining
        # lam = 0 workers, if any, count their maximum at every threshold > 0 on their own.
    elif budget == 0:
        for i in range(lam.shape[0]):
            out[i] = 0
        return OK, 0.0, 0.0, 0.0, 0, 0.0
    elif n_zero > 0:
        round_robin_zeros(lam, budget, n_zero, out)
        return OK, 0.0, 0.0, 0.0, 0, 0.0
    if candidates and 0.0 < lam_min and inv_sum < INF:
        # The least time, known now, may put far fewer workers within reach of t* than the
        # sample's did (one worker far faster than the rest, which a sample rarely holds):
        # the caller lists them and solves theirs alone (allocate_guided).
        cut = candidates_cut(lam, budget, lam_min)
        if cut > 0.0:
            return OK, 0.0, 0.0, 0.0, 0, cut
    if rescale and (not inv_sum < INF or 0.0 < lam_min and (
            lam_min < TINY or lam.shape[0] >= EXTREMES_N and budget * lam_min < ESTIMATE_LOW)):
        # Subnormal times (1/lam, or its sum, overflows; every count divides, products a few
        # units of 2**-1074 apart make the steps crawl, and x86 computes them in microcode),
        # or every threshold below the estimates' range: scaled by a power of two they are
        # ordinary. The caller allocates; nothing is written yet (and a call the minimums or
        # the lam = 0 workers answer has returned: no copy for it).
        # Not times far above 1: their exact passes cost what others do, and the copy more
        # (1e300 x 2**30 tasks at 65,536 workers: 4 -> 7 passes, 2.4x -> 4.1x).
        shift = rescale_shift(lam, budget, hi)
        if shift != 0:
            return OK, 0.0, 0.0, 0.0, shift, 0.0
    if lam_min < 0.0 or not inv_sum < INF and n_zero > 0:
        # 1/lam overflowed, or 1/max(1/lam) did: the relaxation needs the exact lam_min (scan leaves it)
        n_zero, n_avail, inv_sum, lam_min = scan_exact(lam, budget)[1:]
        slope = inv_sum if inv_sum < INF else INF
    if not inv_sum < INF:
        reach = -1.0  # 1/lam overflowed: counted by division, and nothing estimates
    elif not budget < RECIPROCAL_CAP:
        # From 2**51 tasks every count divides, but the estimate passes still read 1/lam: an
        # estimate is off by a few ulps of each worker's count, as at any budget, and its sum
        # is exact below 2**53, past every budget (bounds 1 to 4 budget / n over 65,536
        # workers at 2**51 tasks: 6 to 12 counts by division -> 1 and the selection). Nor do
        # they guess t* (allocate_positive). Only with bounds (without, the relaxation is
        # close: 2 or 3 counts), whose minimums stay below 2**51, and where the fastest
        # worker's share of the relaxation stays below ESTIMATE_TERMS_CAP: a worker that
        # holds more (one far faster than the rest) sends the estimates astray. Nor over a
        # few machine types (ties in a sample): there the estimates find a jump, which only a
        # guess would take, and cost a pass more (4.2 -> 4.8 numpy passes).
        fastest = budget / (lam_min * inv_sum) if lam_min > 0.0 else 0.0  # 0: with zeros, not known
        reach = 0.0 if (lo is not None and minimums < RECIPROCAL_CAP and fastest < ESTIMATE_TERMS_CAP
                       and not sampled_repeats(lam)) else -1.0
    r, t, t2 = first_guesses(lam, budget, n_avail, inv_sum, lam_min, prev_lo, prev_hi, prev_relaxation)
    if t0 == 0.0 and t2_sampled > 0.0 and not (0.5 * r <= t2_sampled <= 2.0 * r):
        # From 2**51 tasks, cold, with bounds that move the sample's root from the relaxation
        # (where it stays close, the relaxation's own Newton step is the better second count):
        # that root. The warm state keeps the exact relaxation, which a warm call scales by.
        t = t2_sampled
        t2 = 0.0
    if first >= 0.0 and (lo is None or checked):
        # The estimate at the sampled guess is a free first point. Cold, the exact relaxation
        # is the second (Newton from a guess that a skewed sample put far off falls short of
        # it) without bounds; with bounds, which it ignores, the estimate's slope leads.
        # Warm, the previous bracket's other end, scaled as the first was. The warm state
        # keeps the sampled relaxation, which the next call's sample scales against.
        t = t0
        t2 = t2_sampled if t2_sampled > 0.0 else (r if lo is None else down)
        r = r_sampled
        if lo is None and second >= 0.0 and trusted_secant(lam, t, first, second, slope) > 0.0:
            # The line through the two estimates aims the first count and listing (a miss
            # costs that pass, and the estimates go on from the exact relaxation as before):
            # lognormal, Pareto or unavailable times at a task a worker, 10**6 of them,
            # inverse + 3 estimates + count -> inverse + count.
            aim_second = second
    # A worker whose maximum holds the whole budget has budget keys at or below budget * lam_i,
    # whatever the others hold: t* lies there at most. Without bounds that is every worker
    # (see scan); with bounds, those the check found. Above, that worker's count is flat at
    # its cap, and steps from there crawl (min_tasks = 1 alone over lam = exp(normal(0, 20)),
    # 65,536 workers and 262,144 tasks: 24 passes -> 5; one worker a million times faster at
    # 2**51 tasks: 28 -> 8).
    if lo is None:
        t_max = budget * lam_min * (1.0 + COUNT_MARGIN) if lam_min > 0.0 else INF
    else:
        t_max = whole_budget_threshold(budget, whole)
    # Nor does any key lie below lam_min. A first guess under it (a budget under n / 2, which
    # the relaxation spreads over every worker) would only count 0: the estimates start from
    # that lower end instead, at the threshold that would hold the budget if the fastest
    # workers' times spread evenly over [lam_min, 2 lam_min] (a hard floor on the times).
    # Only where the estimate passes run (allocate_positive's test): they alone take t_min.
    t_min = 0.0
    if lam_min > 0.0 and t < lam_min and lo is None and reach > 0.0 and lam.shape[0] >= EXTREMES_N:
        t_min = lam_min * (1.0 - COUNT_MARGIN)
        t = min(lam_min * (1.0 + budget / n_avail), DBL_MAX)  # finite: times near the largest double
        first = -1.0
        t2 = t2 if t2 >= lam_min else 0.0
    key_min = lam_min if lo is None else 0.0
    t2_estimate = t2_estimate if t2 == t2_sampled else -1.0
    if lo is not None and checked and aim_second < 0.0 and t2 == 0.0 and 0.0 <= first < budget <= second:
        # The validation pass's two estimates hold the budget between them, and its secant
        # was refused (ties: the count jumps there, no slope). The second is the bracket's
        # upper end, which the estimates take as known: a pair aimed past it found the jump
        # again (two machine types at 4 tasks a worker, bounds 1 to 8: 5 passes -> 4).
        t2 = t * SLOPE_STEP
        t2_estimate = second
    bracket_lo, bracket_hi = allocate_positive(lam, heap, budget, reach, t, t2, slope, first, aim_second, t2_estimate,
                                               base, t_min, t_max, key_min, out, ties, heap, lo, hi)
    return OK, bracket_lo, bracket_hi, r, 0, 0.0


#: :func:`rescale_shift` keeps the least available ``lam`` at or above ``2**-RESCALED_TOP``
#: and a bound on ``t*`` below ``2**RESCALED_TOP``: inside the estimates' range, with room.
RESCALED_TOP = 990


@register_jitable
def rescale_shift(lam, budget, hi):
    """``k`` (0: none) such that ``lam * 2**k`` has the same allocation under the maximums ``hi``
    (None: none), with its least available time and every key up to ``t*`` well inside the
    estimates' range: the middle of the shifts that keep the least time at or above
    ``2**-RESCALED_TOP``, a bound on ``t*`` below ``2**RESCALED_TOP`` and every time finite.

    The bound: the fastest worker's ``budget``-th key without bounds; with them the largest
    cap times the largest time, past the largest key any worker may take (all of them hold
    the budget, which the bounds' check saw).
    Exact: scaling by a power of two is exact short of overflow or a subnormal result; a key
    ``j * lam_i`` of a subnormal ``lam_i = m * 2**-1074`` is exact while ``j * m < 2**53`` (below
    ``2**-1021``), and above that rounds to 53 bits, as its scaled image does. So every key up
    to the bound scales exactly and keeps its place; keys above it may not (one that
    overflowed becomes finite, or the other way), but stay above it, and none is taken.
    Zeros and ``+inf`` stay as they are."""
    least, most, top = finite_extremes(lam, budget, hi)
    if not (0.0 < least and 0.0 < top < INF):
        return 0
    # x < 2**e and x >= 2**(e - 1), with frexp's exponent e: exact, as a logarithm is not.
    lower = 1 - RESCALED_TOP - math.frexp(least)[1]  # least * 2**k at least 2**-TOP
    upper = min(RESCALED_TOP - math.frexp(top)[1], 1023 - math.frexp(most)[1])  # t* below 2**TOP, lam finite
    return (lower + upper) >> 1 if lower <= upper else 0


@register_jitable
def finite_extremes(lam, budget, hi):
    """``(least lam > 0, largest lam < inf, bound on t*)`` over the available workers
    (:func:`rescale_shift`; ``+inf``, 0 and 0 where none). Compares and maxima only: a
    product of a subnormal time costs a microcode assist (a pass of them, 15 numpy passes)."""
    wide_vectors()
    least = order_key(INF)  # an integer min and max vectorise, a float one does not
    most = order_key(0.0)  # -0.0, a zero, orders below it
    cap = 0
    for i in range(lam.shape[0]):
        x = lam[i]
        available = x < INF
        least = min(least, order_key(x if x > 0.0 else INF))
        most = max(most, order_key(x if available else 0.0))
        if hi is not None:
            cap = max(cap, high_of(hi, i, budget) if available else 0)
    least = from_order_key(least)
    most = from_order_key(most)
    return least, most, float(budget) * least if hi is None else float_of_wide(cap) * most


@register_jitable
def times_two_to(x, k):
    """``x * 2**k``: exact where neither ``x`` nor the result is subnormal (two factors, each finite)."""
    half = k >> 1  # floor(k / 2) in every backend
    return x * 2.0**half * 2.0**(k - half)


@register_jitable
def rescaled_copy(lam, k):
    """``lam * 2**k`` in a new array (:func:`rescale_shift`)."""
    wide_vectors()
    half = k >> 1  # as times_two_to, its factors computed once
    a = 2.0**half
    b = 2.0**(k - half)
    scaled = np.empty(lam.shape[0])
    for i in range(lam.shape[0]):
        scaled[i] = lam[i] * a * b
    return scaled


@register_jitable
def whole_budget_threshold(budget, whole):
    """A threshold that holds ``budget`` keys of a worker whose maximum holds them all, from its
    ``whole = 1/lam_i`` (0: no such worker): ``budget * lam_i`` with the margin of a rounded
    ``1/lam`` and product (:data:`COUNT_MARGIN`), or ``+inf`` (none, or ``1/lam_i`` subnormal,
    whose rounding the margin does not cover)."""
    if TINY <= whole < INF:
        return budget / whole * (1.0 + COUNT_MARGIN)
    return INF


@register_jitable
def reach_of_inverse(least, budget, lo, t0):
    """``(zero_above, reach)``: the validation pass stores 0 for ``1/lam`` where ``lam > zero_above``,
    and every pass that reads the stored values does so at a threshold at most ``reach``
    (above it, it divides); ``(+inf, +inf)``: every ``1/lam`` stored. ``least``: the least
    available ``lam`` of a sample; the caller asks only where the sample spreads wider than
    :data:`WIDE_SPREAD`.

    Why: over ``lam`` spanning more than about 300 orders of magnitude, ``t * (1/lam)`` of the
    slowest workers falls below ``2**-1022``, and x86 computes such a product many times
    slower (calls took 12-25x a numpy pass). The estimate passes and the count
    that lists flush those products (:func:`flush_tiny`); the other counting passes cannot,
    and the validation pass divides. Without bounds ``t* <= budget * lam_min`` (:func:`scan`),
    and ``lam_min <= least``, so no pass needs ``1/lam`` above ``reach = 2 * budget * least``;
    a worker with ``lam`` above twice that owns no key at or below ``reach``, and its estimate
    there is ``trunc(t * (1/lam)) = 0`` (``t / lam < 1/2``), as from a stored 0. The validation
    pass's own estimate is at ``t0``, so ``t0`` must be within reach too. With bounds ``t*``
    has no such bound (the validation pass raises its estimate's small factors instead: see
    :func:`inverse_checking_pass`), and with zeros or from ``2**51`` no pass reads ``1/lam``.
    """
    if lo is None and 0 < budget < RECIPROCAL_CAP:
        reach = 2.0 * budget * least
        if reach < INF and t0 <= reach:
            return 2.0 * reach, reach
    return INF, INF


#: A sample of ``lam`` whose largest available value exceeds its least by more than this
#: factor has the validation pass guard against products below ``2**-1022`` (which need a
#: spread of about ``2**1022 / n``); below it the guards would only cost.
WIDE_SPREAD = 2.0**900


@register_jitable
def sampled_extremes(lam):
    """``(least, largest)`` available ``lam`` (``0 < lam < inf``) of :func:`sampled_relaxation`'s
    sample (``+inf`` and 0 if none)."""
    n = lam.shape[0]
    least = INF
    most = 0.0
    for i in range(0, n, sample_stride(n, SAMPLED_RELAXATION)):
        x = lam[i]
        least = x if 0.0 < x < least else least
        most = x if most < x < INF else most
    return least, most


@register_jitable
def first_guesses(lam, budget, n_avail, inv_sum, lam_min, prev_lo, prev_hi, prev_relaxation):
    """``(r, t, t2)``: the relaxation and the first two guesses at the threshold, ``r`` itself
    or the previous call's bracket ``(prev_lo, prev_hi)`` scaled by the ratio of this call's
    relaxation to its ``prev_relaxation`` (see :func:`allocate_warm`)."""
    r = relaxation(lam, budget, n_avail, inv_sum, lam_min)
    t, t2 = scaled_guesses(r, prev_lo, prev_hi, prev_relaxation)
    return r, t, t2


@register_jitable
def scaled_guesses(r, prev_lo, prev_hi, prev_relaxation):
    """``(t, t2)``: the previous call's bracket scaled by the ratio of the relaxation ``r`` to
    its ``prev_relaxation``, or ``(r, 0)`` if there is none to start from, or if the scaled
    bracket underflows to 0 (thresholds hundreds of orders of magnitude below the last call's:
    a first guess must be positive)."""
    if 0.0 < prev_lo < prev_hi < INF and 0.0 < prev_relaxation < INF:
        scale = r / prev_relaxation
        t = min(prev_hi * scale, DBL_MAX)
        if t > 0.0:
            return t, prev_lo * scale
    return r, 0.0


#: Workers, evenly spaced, whose relaxation is the first guess of a cold call.
SAMPLED_RELAXATION = 64
#: From this many workers a cold call without bounds, with fewer tasks than workers over
#: times within a factor ``RANKED_SPREAD`` of each other (the sample's), takes its first
#: guesses from the sample's keys (:func:`sampled_riser`). Over a survey of 20 distributions
#: at 16,384 and 65,536 workers and budgets from 0.3 % to 99 % of them: 2423 -> 2242 passes
#: (three calls a pass more: uniform(1, 1.2) at 0.3 %); 2394 without the spread test (wide
#: times: pareto at 196 tasks 3 -> 9 passes, where the start from the least time is right).
RANKED_FROM = 16384
RANKED_SPREAD = 1.5
#: From this many workers the validation pass takes that first estimate: below, the sample
#: (0.25 us, its divisions) costs more than the estimate pass it saves (measured at 459).
SAMPLED_FROM = 4096


#: With bounds, where a sample's times spread wider than this factor and the first estimate
#: lies above the budget, the second guess is on the line in ``log t`` through the validation
#: pass's two estimates (:func:`allocate_unscaled`). The table's distributions at 65,536 and
#: 262,144 workers: 939.45 -> 935.90 weighted passes, 8 inputs better (`extreme` and `wide`
#: with bounds), none worse; the cluster survey, whose times spread over six orders of
#: magnitude at most, unchanged.
LOG_SPREAD = 1e6
#: The validation pass with bounds also estimates at ``s * SLOPE_STEP``; the secant from its
#: first estimate aims the next step where it is within a factor ``SECANT_TRUST`` of that
#: estimate's slope (bounded table and shapes 344 -> 339 passes: unavailable workers at
#: 65,536 x 65,536 and x 262,144 and uniform times at 65,536 x 262,144 a pair pass less; a
#: step of 1.01 or 1.1, or a trust of 1.5 or 4, within three passes of that). The pass waits
#: on its divisions: the second estimate costs it nothing measurable.
SLOPE_STEP = 1.03
SECANT_TRUST = 2.0
#: :func:`trusted_secant` trusts a secant shallower than that where the first estimate holds
#: at most a key for every ``SPARSE_SECANT``-th worker, and the two estimates at least
#: ``SECANT_KEYS`` keys apart (a secant read from fewer is mostly the keys' scatter). On
#: 540 inputs (the outside inputs, staircases of machine types, the case table; with and
#: without bounds): 9 inputs with fewer passes (estimates), none with more; the pass survey
#: unchanged. 16 or 24 keys: two inputs more an estimate fewer, and a survey input (eight
#: types 1e-12 apart) a pass more; a key for every second worker: as every fourth.
SPARSE_SECANT = 4
SECANT_KEYS = 32
#: With bounds, below this share of ``sum(1/lam)`` on the workers the first estimate finds
#: between their bounds, the next step aims at :func:`sampled_root`.
CAPPED_SHARE = 0.05
#: :func:`sampled_root` bisects to this relative width.
ROOT_WIDTH = 2.0**-10


#: With bounds, :func:`sampled_bounded_guess` samples every ``BOUNDED_STRIDE``-th worker, at
#: most ``BOUNDED_SAMPLE`` of them: 0.06-0.14 numpy passes at 4096 workers, 0.18-0.25 at
#: 65,536, where each sampled worker is a cache miss (512 or 256 at most: a pair pass more
#: on two or one of the table's distributions).
BOUNDED_SAMPLE = 1024
#: ... and keeps the guess unless the sample puts it this many standard deviations of the
#: sampled count away from the budget.
BOUNDED_NOISE = 2.0
#: ... and stops stepping within this share of that deviation, past what the sample knows.
BOUNDED_CLOSE = 0.25
BOUNDED_STRIDE = 64
#: Steps :func:`sampled_bounded_guess` takes at most.
BOUNDED_STEPS = 8
#: From this many sampled workers :func:`sampled_bounded_guess` brackets where Newton fails:
#: fewer, spread over hundreds of orders of magnitude, put the sample's root anywhere (64
#: workers of ``10**uniform(-300, 300)``: 5 -> 9 passes).
BOUNDED_BRACKET_FROM = 256
#: A bracket this narrow (the ratio of its ends) ends :func:`sampled_bounded_guess`.
BOUNDED_WIDTH = 1.0625


@register_jitable
def sampled_bounded_guess(lam, budget, t, lo, hi, scratch):
    """Where a sample of the workers, with their bounds, holds the budget: from the guess ``t``
    (the sampled relaxation, which ignores the bounds), Newton steps on the sample's
    relaxation ``sum_i clamp(t / lam_i - 1/2, min_i, cap_i)`` (the estimate's expected
    count, piecewise linear in ``t``); ``t`` itself where the sample puts its count there
    within :data:`BOUNDED_NOISE` standard deviations of the budget. ``scratch``: float64, at
    least :data:`RANK_KEYS` entries a sampled worker, and three a sampled worker in blocks of
    four (:func:`sample_slot`): ``n + 2`` hold them from 10 workers.

    The relaxation ignores the bounds, and they move ``t*`` far where they bind: workers at
    their caps push it up, minimums pull it down (exponential times with at most twice the
    average a worker: the first estimate 27 % short of the budget; 10 % unavailable workers
    at a task or two, 10**6 of them: 11 % over). The sample of up to 1024 workers lands
    within a few percent and the steps after it start from there (bounded table and
    shapes 339 -> 315 passes); where the sample is no better than the relaxation
    (bounds that rarely bind), its noise would only cost, and the relaxation stays.

    Times over many orders of magnitude leave every sampled worker at a bound at the
    relaxation (dozens of orders of magnitude from ``t*``), or make the count grow like
    ``log t``, which Newton climbs slowly; from :data:`BOUNDED_BRACKET_FROM` sampled workers
    the steps then go along the line in ``log t`` between the ends the sample brackets
    (``lognormal(0, 20)`` times, 65,536 workers at 4 tasks a worker: 6 -> 4 passes).
    """
    n = lam.shape[0]
    stride = sample_stride(n, min(BOUNDED_SAMPLE, max(n // BOUNDED_STRIDE, 1)))
    ranked = sampled_rank_guess(lam, budget, lo, hi, stride, scratch)
    if ESTIMATE_LOW <= ranked <= ESTIMATE_HIGH:
        return ranked
    m = 0
    for i in range(0, n, stride):
        x = lam[i]
        j = sample_slot(m)
        scratch[j] = 1.0 / (x + 0.0) if x > 0.0 else INF  # lam = 0: every key; +inf: none
        scratch[j + 4] = float(low_of(lo, i, x != INF))
        scratch[j + 8] = float(high_of(hi, i, budget))
        m += 1
    for k in range(m, (m + 3) & ~3):  # the last block's rest: terms of 0
        j = sample_slot(k)
        scratch[j] = 0.0
        scratch[j + 4] = 0.0
        scratch[j + 8] = 0.0
    target = budget * (m / n)
    a = 0.0  # the sample holds fewer than target keys at a, at least target at b
    b = INF
    total_a = 0.0
    total_b = 0.0
    side = 0  # the end the last step moved: -1 a, 1 b
    for step in range(BOUNDED_STEPS):
        total, squares, slope = sampled_relaxation_at(scratch, m, t)
        if step == 0:
            spread = math.sqrt(max(squares - total * total / m, 0.0))  # the sampled count's deviation
            if abs(total - target) <= BOUNDED_NOISE * spread:
                return t
        if abs(total - target) <= BOUNDED_CLOSE * spread:
            return t
        moved = -1 if total < target else 1
        if moved < 0:
            a = t
            total_a = total
        else:
            b = t
            total_b = total
        nxt = t + (target - total) / slope if slope > 0.0 else -1.0
        bracketed = 0.0 < a and b < INF
        if a < nxt < b and not (bracketed and moved < 0):
            t = nxt
            side = moved
            continue
        # Newton left what the sample brackets, or every sampled worker sits at a bound, or
        # it steps up inside a bracket: times over many orders of magnitude make counts that
        # grow like log t, which Newton from below climbs an order of magnitude or two a
        # step (from the relaxation it stopped dozens short, every worker at a bound).
        if m < BOUNDED_BRACKET_FROM:  # Newton alone: a small sample's ends say too little
            if 0.0 < nxt < INF:
                t = nxt
                continue
            return t
        # A missing end: where every sampled worker is at its cap, or at its minimum.
        if b == INF:
            b = sampled_end(scratch, m, 2)
            total_b = sampled_relaxation_at(scratch, m, b)[0]
            if not (total_b >= target and t < b):
                return t
        if a == 0.0:
            a = sampled_end(scratch, m, 1)
            total_a = sampled_relaxation_at(scratch, m, a)[0]
            if not (total_a < target and 0.0 < a < t):
                return t
        if b <= a * BOUNDED_WIDTH:
            return t
        # The line in log t between the ends, or Newton's step up if that goes further (counts
        # linear in t, where the line in log t falls short); an end that stays twice in a row
        # counts as half as far from the target (Illinois), so that the steps do not crawl.
        if moved == side:
            if moved < 0:
                total_b = target + 0.5 * (total_b - target)
            else:
                total_a = target - 0.5 * (target - total_a)
        u = math.log(a)
        f = (target - total_a) / (total_b - total_a)
        line = min(max(math.exp(u + (math.log(b) - u) * min(max(f, 0.01), 0.99)), a), b)
        if a < nxt < b and nxt > line:
            line = nxt
        side = moved
        t = line
    return t


#: With bounds, where no sampled worker has more than this many keys between its bounds,
#: :func:`sampled_bounded_guess` takes the sample's own keys (:func:`sampled_rank_guess`).
RANK_KEYS = 2
#: ... and where the sample's keys within its noise of that share span at least this ratio.
RANK_WINDOW = 1.004
#: ... and where the gap around it is at least this share of their average gap.
RANK_GAP = 0.125


@register_jitable
def sampled_rank_guess(lam, budget, lo, hi, stride, scratch):
    """Where the keys of every ``stride``-th worker hold the budget's share of them: their
    ``k``-th smallest; -1 where a sampled worker has more than :data:`RANK_KEYS` keys between
    its bounds, where the share is past those keys, or where ties may lie there. A share
    below one key (the minimums hold all but a few tasks: 58 of 58,982 over 65,536 workers,
    a tenth of them unavailable) takes the least key: 5 estimate passes -> 2 there.

    A worker with a key or two between its bounds counts 0, 1 or 2 at a threshold: steps
    at its keys, where the relaxation ramps over ``[lam/2, 3 lam/2]``. Over times within a
    few percent of each other the relaxation puts every worker at its cap
    (``lognormal(0, 0.05)``, 65,536 workers, 58,982 tasks, at most one a worker: 1.41
    against t* = 1.07), and the search then creeps up the times' distribution; the
    sample's keys are where the workers' keys are (within 0.4 % there).

    The next steps aim by the validation pass's second estimate, :data:`SLOPE_STEP` up: the
    sampled keys within :data:`RISER_NOISE` standard deviations of the share must span
    :data:`RANK_WINDOW` (times a billionth apart put that estimate past them all), and the
    gap around the quantile must be :data:`RANK_GAP` of their average gap (keys piled at a
    machine type's time: the count jumps there).
    """
    n = lam.shape[0]
    m = 0
    size = 0
    below = 0.0  # keys the sampled workers hold at every threshold > 0: minimums, lam = 0's maxima
    for i in range(0, n, stride):
        m += 1
        x = lam[i]
        if not x < INF:
            continue
        low = low_of(lo, i, True)
        high = high_of(hi, i, budget)
        if x == 0.0:
            below += high
            continue
        below += low
        if low < 0 or high < low or high - low > RANK_KEYS:  # (bad bounds: the checks name them)
            return -1.0
        for j in range(low + 1, high + 1):
            scratch[size] = j * x
            size += 1
    rank = math.ceil(budget * (m / n) - below)
    if not (rank <= size) or size == 0:
        return -1.0
    k = max(int(rank), 1)  # the share, or the least key where the sample's minimums hold it
    t = select_value(scratch, size, k)  # and the keys below it before it, those above after
    share = k / size
    d = max(int(math.ceil(RISER_NOISE * math.sqrt(size * share * (1.0 - share)))), 1)
    low_rank = max(k - d, 1)
    high_rank = min(k + d, size)
    neighbours_lo = max_value(scratch, k - 1) if k >= 2 else t
    neighbours_hi = min_value(scratch[k:], size - k) if k < size else t
    if neighbours_hi == neighbours_lo:  # a tie at the quantile: declined below, without the window's selections
        return -1.0
    below_t = select_value(scratch, k - 1, low_rank) if low_rank < k else t
    above_t = select_value(scratch[k:], size - k, high_rank - k) if high_rank > k else t
    if not above_t >= below_t * RANK_WINDOW:
        return -1.0
    # keys piled near t (a machine type's times, a few ulps apart): the count jumps there,
    # and the secant of the next steps aims past it
    gaps = (1 if k >= 2 else 0) + (1 if k < size else 0)  # between the neighbours
    if (neighbours_hi - neighbours_lo) * (high_rank - low_rank) < RANK_GAP * gaps * (above_t - below_t):
        return -1.0
    return t


@register_jitable
def max_value(values, m):
    """The largest of ``values[:m]`` (``m > 0``): a loop, as CUDA has no array reduction."""
    top = values[0]
    for b in range(1, m):
        top = max(top, values[b])
    return top


@register_jitable
def min_value(values, m):
    """The least of ``values[:m]`` (``m > 0``)."""
    least = values[0]
    for b in range(1, m):
        least = min(least, values[b])
    return least


@register_jitable
def select_value(values, m, k):
    """The ``k``-th smallest of ``values[:m]`` (``0 < k <= m``), reordering them: quickselect
    with a median-of-three pivot, insertion sort below 16 values."""
    lo = 0
    hi = m - 1
    target = k - 1
    while hi - lo >= 16:
        mid = lo + (hi - lo) // 2
        if values[mid] < values[lo]:
            values[mid], values[lo] = values[lo], values[mid]
        if values[hi] < values[lo]:
            values[hi], values[lo] = values[lo], values[hi]
        if values[hi] < values[mid]:
            values[hi], values[mid] = values[mid], values[hi]
        values[lo], values[mid] = values[mid], values[lo]  # pivot (the median) at lo
        pivot = values[lo]
        i = lo + 1
        j = hi
        while True:
            while i <= j and values[i] < pivot:
                i += 1
            while i <= j and pivot < values[j]:
                j -= 1
            if i >= j:
                break
            values[i], values[j] = values[j], values[i]
            i += 1
            j -= 1
        values[lo], values[j] = values[j], values[lo]
        if j == target:
            return values[j]
        if j < target:
            lo = j + 1
        else:
            hi = j - 1
    for a in range(lo + 1, hi + 1):
        b = a
        while b > lo and values[b] < values[b - 1]:
            values[b], values[b - 1] = values[b - 1], values[b]
            b -= 1
    return values[target]


@register_jitable
def sample_slot(k):
    """Where :func:`sampled_bounded_guess` keeps its ``k``-th sampled worker's ``1/lam`` in
    ``scratch``: blocks of four workers, their four ``1/lam``, then their four minimums, then
    their four caps (a vector unit loads each four at once)."""
    return 12 * (k >> 2) + (k & 3)


@register_jitable
def relaxation_term(scratch, j, t, least):
    """The sampled worker at ``scratch[j]``'s term of :func:`sampled_relaxation_at`: its count,
    clamped to its bounds, and its share of the slope."""
    v = scratch[j]
    low = scratch[j + 4]
    cap = scratch[j + 8]
    q = t * max(v, least) - 0.5
    return min(max(q, low), cap), (v if (low < q) & (q < cap) else 0.0)


@register_jitable
def sampled_relaxation_at(scratch, m, t):
    """The sample's relaxation at ``t`` (:func:`sampled_bounded_guess`): ``(sum, sum of squares,
    slope)`` over the ``m`` sampled workers in ``scratch`` (:func:`sample_slot`; the last
    block padded with terms of 0).

    The sums run in four lanes, worker ``k`` in lane ``k % 4``, added up as ``(0 + 1) + (2 +
    3)``: the same order in every backend, and four workers a step for a vector unit. One
    running sum waits on each addition: over times spread across many orders of magnitude
    the guess sums nine times over 1024 sampled workers, which took 17 us at 65,536 workers
    (0.7 of a numpy pass)."""
    least = 0.25 / t  # t * v under 1/4 counts the minimum either way: no product below 2**-1022
    total0 = total1 = total2 = total3 = 0.0
    squares0 = squares1 = squares2 = squares3 = 0.0
    slope0 = slope1 = slope2 = slope3 = 0.0
    for j in range(0, 12 * ((m + 3) >> 2), 12):
        c, d = relaxation_term(scratch, j, t, least)
        total0 += c
        squares0 += c * c
        slope0 += d
        c, d = relaxation_term(scratch, j + 1, t, least)
        total1 += c
        squares1 += c * c
        slope1 += d
        c, d = relaxation_term(scratch, j + 2, t, least)
        total2 += c
        squares2 += c * c
        slope2 += d
        c, d = relaxation_term(scratch, j + 3, t, least)
        total3 += c
        squares3 += c * c
        slope3 += d
    return (total0 + total1) + (total2 + total3), (squares0 + squares1) + (squares2 + squares3), (
        (slope0 + slope1) + (slope2 + slope3))


@register_jitable
def sampled_end(scratch, m, bound):
    """Where every sampled worker is at its cap (``bound = 2``: the largest ``(cap + 1/2) / v``)
    or at its minimum (``bound = 1``: the least ``(min + 1/2) / v``)."""
    end = 0.0 if bound == 2 else INF
    for k in range(m):
        j = sample_slot(k)
        v = scratch[j]
        if v > 0.0:
            p = (scratch[j + 4 * bound] + 0.5) / v
            end = max(end, p) if bound == 2 else min(end, p)
    return min(end, DBL_MAX)


@register_jitable
def sampled_count(lam, budget, t, lo, hi, stride):
    """The keys of every ``stride``-th worker with product ``<= t``, each clamped to its bounds
    (by division: a guide, not a count the allocation rests on)."""
    total = 0.0
    for i in range(0, lam.shape[0], stride):
        x = lam[i]
        if x < INF:
            cap = float(high_of(hi, i, budget))
            if x == 0.0:
                total += cap
            else:
                # Above t: no key at or below it, and t / x could only underflow (slow on x86).
                c = 0.0 if x > t else floor(t / x)
                total += min(max(c, float(low_of(lo, i, True))), cap)
    return total


@register_jitable
def sampled_root(lam, budget, s, lo, hi):
    """Where a sample of the workers (about 64: :func:`sample_stride`), scaled to all, holds the
    budget with the bounds: bisected in ``log t`` from ``s`` up to where every sampled worker
    is at its cap, to a relative width of :data:`ROOT_WIDTH`; 0 if the sample never holds
    it, or holds it at ``s`` already (the bisection would stop just above ``s``, a step that aimed a
    pair of passes a hair away: Weibull times with bounds, 5 -> 8 passes once the first
    guess came from the sample with bounds).

    With bounds, ``sum(1/lam)``, and the relaxation of it that the first estimate is taken
    at, can belong to a few workers far faster than the rest whose cap holds them at a few
    tasks, or to the fastest of workers spread over many orders of magnitude: the first
    estimate then lands orders of magnitude low, and steps along its slope crawl. The
    sample's own search costs a few microseconds and no pass over the workers.
    """
    n = lam.shape[0]
    stride = sample_stride(n, SAMPLED_RELAXATION)
    target = budget * (((n - 1) // stride + 1) / n)
    top = 0.0
    for i in range(0, n, stride):
        x = lam[i]
        if 0.0 < x < INF:
            top = max(top, high_of(hi, i, budget) * x)
    if not (s < top <= DBL_MAX) or sampled_count(lam, budget, top, lo, hi, stride) < target or (
            sampled_count(lam, budget, s, lo, hi, stride) >= target):  # already held at s: no step
        return 0.0
    a = s
    b = top
    for _ in range(64):
        m = math.sqrt(a) * math.sqrt(b)
        if not (a < m < b) or b <= a * (1.0 + ROOT_WIDTH):
            break
        if sampled_count(lam, budget, m, lo, hi, stride) < target:
            a = m
        else:
            b = m
    return b


@register_jitable
def sampled_guesses(r_sampled, prev_lo, prev_hi, prev_relaxation):
    """``(t0, t2)``: where the validation pass estimates (0: nowhere) and the next guess (0: the
    exact relaxation), from the sampled relaxation and the previous call's bracket."""
    if not (r_sampled > 0.0):
        return 0.0, 0.0
    t0, t2 = scaled_guesses(r_sampled, prev_lo, prev_hi, prev_relaxation)
    if ESTIMATE_LOW <= t0 <= ESTIMATE_HIGH:
        return t0, t2
    return r_sampled, 0.0


#: From this many workers, cold and without bounds, the validation pass also estimates a few
#: percent above the sampled relaxation, for a line to aim the first count by
#: (:func:`trusted_secant`): three estimate passes fewer where it hits, a count pass more where
#: it misses (the line reaches from a guess a few percent off). A miss costs a call half as
#: much again, a hit saves 10-30 %: the line's bracket (:data:`SPECULATE_AIM`) missed in 6 of
#: 80 cold calls over lognormal, Pareto, uniform and unavailable times at 65,536 and 131,072
#: workers (four seeds each, at 0.1 to 4 tasks a worker), Pareto ones in 9 of 24 from 32,768
#: workers, and in 1 of 48 at 262,144 (0.9 to 4 tasks a worker). From as many workers, the
#: estimate passes without bounds estimate at pairs of thresholds (:func:`estimate_bracket`).
PAIRED_FROM = 262144
#: ... where the sample's sum of ``1/lam`` has at most this relative standard error
#: (:func:`sampled_inverse_error`) and no repeated times. Else the guess is too far off for
#: that line, and the second estimate would only cost (3-7 % of a call at 65,536 workers).
#: The table's lognormal, Pareto, uniform and unavailable times are at 0.02-0.09, exponential
#: ones at 0.18-0.7, the rest near 1 or above.
PAIRED_ERROR = 0.125


@register_jitable
def sampled_inverses(lam):
    """Over a sample of about :data:`SAMPLED_RELAXATION` workers: ``(workers sampled, available
    ones, zeros, sum of the available ones' 1/lam, sum of its squares)``."""
    n = lam.shape[0]
    stride = sample_stride(n, SAMPLED_RELAXATION)
    sampled = 0
    available = 0
    zeros = 0
    total = 0.0
    squares = 0.0
    for i in range(0, n, stride):
        x = lam[i]
        sampled += 1
        zeros += x == 0.0
        if 0.0 < x < INF:
            v = 1.0 / x
            available += 1
            total += v
            squares += v * v
    return sampled, available, zeros, total, squares


@register_jitable
def sampled_inverse_error(lam):
    """The relative standard error of the sum of ``1/lam`` over the sample of
    :func:`sampled_relaxation`'s available workers; ``inf`` for fewer than two, where the
    squares overflow, or where a sampled worker has ``lam = 0`` (without bounds the zeros
    take every task, and no estimate is read)."""
    _, m, zeros, total, squares = sampled_inverses(lam)
    if m < 2 or zeros > 0 or not (squares < INF):
        return INF
    mean = total / m
    return math.sqrt(max(squares / m - mean * mean, 0.0) / m) / mean


@register_jitable
def sampled_relaxation(lam, budget):
    """The centred relaxation (:func:`relaxation`) of a sample of the workers, scaled to all:
    a guess at the threshold before any pass, or 0 if the sample has no available worker
    or overflows (or the guess leaves the range where estimates are proven). The estimate
    there comes free with the validation pass; the exact relaxation is the next guess, so a
    poor sample (skewed ``lam``) costs nothing."""
    n = lam.shape[0]
    sampled, available, _, inv_sum, _ = sampled_inverses(lam)
    if not (0.0 < inv_sum < INF):
        return 0.0
    t = (budget * (sampled / n) + 0.5 * available) / inv_sum
    return t if ESTIMATE_LOW <= t <= ESTIMATE_HIGH else 0.0


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


@register_jitable
def check_batch_bounded(lam2d, budgets, lo2d, hi2d, status):
    """:func:`check_batch` with per-row bounds (:func:`scan_bounds`); ``lo2d`` and ``hi2d`` have a
    row per problem, or one row for all (row ``r % rows``)."""
    first_bad = -1
    for r in range(lam2d.shape[0]):
        status[r] = scan_exact(lam2d[r], budgets[r])[0]
        if status[r] == OK:
            status[r] = scan_bounds_exact(lam2d[r], budgets[r], lo2d[r % lo2d.shape[0]], hi2d[r % hi2d.shape[0]])[0]
        if status[r] != OK and first_bad < 0:
            first_bad = r
    return first_bad

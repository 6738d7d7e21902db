"""Per-worker statistics and confidence bounds, written once for the numba (and cuda) backends.

Every function here is ``register_jitable`` (see ``threshold.py``). The Cython backend
(``cython_cpu.pyx``) is a line-by-line port and ``reference.py`` the plain oracle; all
three use the same operations in the same order, so the results agree bit for bit.

State per worker ``i`` (DESIGN.md section 3): ``counts[i] = K_i`` (a float: with a
discount ``gamma < 1`` it is a discounted count), ``means[i]`` (the running mean,
0 while ``K_i = 0``) and ``m2[i]`` (the running sum of squared deviations, Welford).

Fixed evaluation order of the bounds, with ``weight = c * alpha`` (ATA) or
``c * eta`` (ATA-Empirical) and ``log_term = ln(2 k^2)`` computed by the caller::

    r   = log_term / K_i
    c_i = sqrt(r) + r
    ATA:            v = mean_i - weight * c_i;  s_i = v if v > 0 else 0
    ATA-Empirical:  f = 1 - weight * c_i;       s_i = mean_i * f if f > 0 else 0

``s_i = 0`` when ``K_i = 0`` and ``s_i = +inf`` for an unavailable worker. Only
``+ - * / sqrt`` appear, all correctly rounded in IEEE float64, so no backend can differ.
"""

import math

from numba.extending import register_jitable

from . import threshold
from .status import DURATION_NEGATIVE, DURATION_NOT_FINITE, OK, VARIANT_ATA, WORKER_OUT_OF_RANGE

INF = math.inf


@register_jitable
def samples_ok(workers, durations, n):
    """Whether every sample is good: one branch-free pass, which the compiler vectorises."""
    ok = True
    for u in range(workers.shape[0]):
        w = workers[u]
        x = durations[u]
        ok &= (w >= 0) & (w < n) & (x >= 0.0) & (x < INF)
    return ok


@register_jitable
def check_samples(workers, durations, n):
    """Status of a batch of samples: the first bad element decides (id checked before duration)."""
    if samples_ok(workers, durations, n):
        return OK
    for u in range(workers.shape[0]):
        w = workers[u]
        if w < 0 or w >= n:
            return WORKER_OUT_OF_RANGE
        x = durations[u]
        if x != x or x == INF or x == -INF:
            return DURATION_NOT_FINITE
        if x < 0.0:
            return DURATION_NEGATIVE
    return OK


@register_jitable
def add_samples(workers, durations, counts, means, m2):
    """Welford's update, one sample at a time, in the order given (weight 1 per sample).

    A run of samples of one worker (a round's results often come grouped by worker) keeps
    that worker's statistics in registers: each sample's division waits on the mean the
    sample before it left, and a store and a load on that chain cost as much again.
    """
    if workers.shape[0] == 0:
        return
    i = workers[0]
    k, mean, spread = counts[i], means[i], m2[i]
    for u in range(workers.shape[0]):
        if workers[u] != i:
            counts[i], means[i], m2[i] = k, mean, spread
            i = workers[u]
            k, mean, spread = counts[i], means[i], m2[i]
        x = durations[u]
        k = k + 1.0
        delta = x - mean
        mean = mean + delta / k
        spread = spread + delta * (x - mean)
    counts[i], means[i], m2[i] = k, mean, spread


@register_jitable
def observe_into(workers, durations, counts, means, m2):
    """Check every sample, then add them all; a rejected batch changes nothing."""
    status = check_samples(workers, durations, counts.shape[0])
    if status == OK:
        add_samples(workers, durations, counts, means, m2)
    return status


@register_jitable
def bounds_into(counts, means, available, variant, weight, log_term, s):
    """Lower confidence bounds ``s`` of both ATA variants (module docstring for the formulas)."""
    for i in range(counts.shape[0]):
        k = counts[i]
        if available[i] == 0:
            s[i] = INF
        elif k > 0.0:
            r = log_term / k
            ci = math.sqrt(r) + r
            if variant == VARIANT_ATA:
                v = means[i] - weight * ci
                s[i] = v if v > 0.0 else 0.0
            else:
                f = 1.0 - weight * ci
                s[i] = means[i] * f if f > 0.0 else 0.0
        else:
            s[i] = 0.0


@register_jitable
def bernstein_bounds_into(counts, means, m2, available, c, ce, log_term, s):
    """ATA-Bernstein's lower confidence bounds into ``s`` (``fastata/policies/bernstein.py`` derives them).

    ``ce = c * eta``. With ``r = L / K_i``, ``u = c sqrt(2 r)``, ``e = ce r``,
    ``bu = ce sqrt(24 r) u`` and ``v = (M2_i / K_i) / mean_i^2``, ``s_i = mean_i / (1 + x)``
    with ``xv`` the larger root of ``a2 x^2 - b1 x + a0``::

        a2 = 1 - u^2 (1 + v)
        b1 = 2 e + bu + 2 u^2 v
        a0 = e^2 + bu e - u^2 v
        xv = (b1 + sqrt(max(b1^2 - 4 a2 a0, 0))) / (2 a2)
        x  = min(xv, e + 3 ce sqrt(2 r))    (e + 3 ce sqrt(2 r) alone unless a2 > 0)

    0 while ``K_i = 0`` or ``mean_i = 0``, ``+inf`` for an unavailable worker.
    """
    for i in range(counts.shape[0]):
        k = counts[i]
        if available[i] == 0:
            s[i] = INF
        elif k > 0.0 and means[i] > 0.0:
            r = log_term / k
            u = c * math.sqrt(2.0 * r)
            e = ce * r
            bu = ce * math.sqrt(24.0 * r) * u
            v = (m2[i] / k) / (means[i] * means[i])
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
            s[i] = means[i] / (1.0 + x)
        else:
            s[i] = 0.0


@register_jitable
def discount(counts, m2, gamma):
    """Multiply every ``K_i`` and ``M2_i`` by ``gamma`` (the mean of a discounted sum is unchanged)."""
    for i in range(counts.shape[0]):
        counts[i] = counts[i] * gamma
        m2[i] = m2[i] * gamma


@register_jitable
def policy_round(counts, means, m2, available, variant, weight, log_term, gamma, budget, s, out, ties, heap):
    """One round: bounds into ``s``, the allocation of ``budget`` on them into ``out``, then the discount.

    The discount runs only after a successful allocation, so a rejected round leaves the
    statistics as they were (``s`` is scratch).
    """
    bounds_into(counts, means, available, variant, weight, log_term, s)
    status = threshold.allocate_into(s, budget, out, ties, heap)
    if status == OK and gamma != 1.0:
        discount(counts, m2, gamma)
    return status


@register_jitable
def policy_round_warm(counts, means, m2, available, variant, weight, log_term, gamma, budget, s, out, ties, heap, warm):
    """:func:`policy_round` with the allocation warm-started from ``warm`` (threshold.allocate_warm)."""
    bounds_into(counts, means, available, variant, weight, log_term, s)
    status = threshold.allocate_warm(s, budget, out, ties, heap, warm)
    if status == OK and gamma != 1.0:
        discount(counts, m2, gamma)
    return status

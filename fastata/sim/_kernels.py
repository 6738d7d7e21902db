"""The simulator's compiled inner loops: task times from a counter-based stream, one round at a time.

**Common random numbers.** A task's time is a pure function of
``(seed, round k, worker i, task index u)``: the ``u``-th task worker ``i`` starts in
round ``k`` takes the same time whatever the policy, whatever the other workers do,
and whether or not earlier rounds gave that worker tasks. Comparisons between
policies (GTA included) are then paired, task by task, and their differences carry
much less noise than independent runs would.

The stream is SplitMix64 (Steele, Lea and Flood, OOPSLA 2014): a per-(round, worker)
key is derived by mixing the seed key with the round and worker numbers, and the
``t``-th 64-bit output of that key is ``mix(key + (t + 1) * golden)``. Task ``u`` owns the
counters ``u * STRIDE .. u * STRIDE + STRIDE - 1`` (a gamma draw may need several
uniforms), so no two tasks ever share a number. Distributions are made from these
uniforms by inversion (exponential, Pareto, uniform), Box-Muller (normal, log-normal,
half-normal) or Marsaglia-Tsang rejection (gamma).

Kernels never allocate or word an error: inputs are checked in ``fastata.sim``.
"""

import math

import numpy as np
from numba import njit

_JIT = dict(cache=True, nogil=True, error_model="numpy")

# Distribution kinds (``fastata.sim.workers`` writes them, one per worker).
EXPONENTIAL = 0  # p0 = scale
SHIFTED_EXPONENTIAL = 1  # p0 = shift, p1 = scale
LOGNORMAL = 2  # p0 = median, p1 = sigma
GAMMA = 3  # p0 = shape, p1 = scale
UNIFORM = 4  # p0 = low, p1 = high
HALF_NORMAL = 5  # p0 = scale
PARETO = 6  # p0 = shape, p1 = minimum (x_m)
TRACE = 7  # p0 = offset into the trace array, p1 = length, p2 = 1 for in-order replay

#: Counters reserved per task: a task's draws never reach the next task's.
STRIDE = 1 << 20

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_ODD = np.uint64(0xD1B54A32D192ED03)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_ONE = np.uint64(1)
_TWO_POW_M53 = 1.0 / 9007199254740992.0
_TWO_PI = 2.0 * math.pi


@njit(**_JIT)
def _mix(z):
    """SplitMix64's output function: a bijection of uint64 with full avalanche."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(**_JIT)
def round_key(seed_key, k):
    """The key of round ``k`` (a uint64)."""
    return _mix(seed_key + (np.uint64(k) + _ONE) * _GOLDEN)


@njit(**_JIT)
def worker_key(rkey, i):
    """The key of worker ``i`` in the round whose key is ``rkey``."""
    return _mix(rkey ^ _mix((np.uint64(i) + _ONE) * _ODD))


@njit(**_JIT)
def uniform(key, t):
    """The ``t``-th number of stream ``key``, uniform on ``[0, 1)`` with 53 random bits."""
    z = _mix(key + (np.uint64(t) + _ONE) * _GOLDEN)
    return float(z >> _S11) * _TWO_POW_M53


@njit(**_JIT)
def _normal(key, t):
    """A standard normal from counters ``t`` and ``t + 1`` (Box-Muller, cosine branch)."""
    r = math.sqrt(-2.0 * math.log(1.0 - uniform(key, t)))  # 1 - U lies in (0, 1]
    return r * math.cos(_TWO_PI * uniform(key, t + 1))


@njit(**_JIT)
def _gamma(shape, key, t):
    """Gamma(shape, 1) by Marsaglia and Tsang (2000), using counters from ``t`` on.

    For ``shape < 1``: ``Gamma(shape) = Gamma(shape + 1) * U**(1 / shape)``.
    """
    boost = 1.0
    if shape < 1.0:
        boost = (1.0 - uniform(key, t)) ** (1.0 / shape)
        t += 1
        shape += 1.0
    d = shape - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:  # accepts with probability > 0.95 per try
        z = _normal(key, t)
        v = 1.0 + c * z
        u = 1.0 - uniform(key, t + 2)
        t += 3
        if v <= 0.0:
            continue
        v = v * v * v
        if math.log(u) < 0.5 * z * z + d - d * v + d * math.log(v):
            return boost * d * v


@njit(**_JIT)
def draw(kind, p0, p1, p2, key, u, trace, pos, i):
    """The time of task ``u`` of the worker whose stream is ``key`` (before drift).

    ``pos[i]`` is that worker's next entry in an in-order trace (advanced here).
    """
    t = u * STRIDE
    if kind == EXPONENTIAL:
        return -p0 * math.log(1.0 - uniform(key, t))
    if kind == SHIFTED_EXPONENTIAL:
        return p0 - p1 * math.log(1.0 - uniform(key, t))
    if kind == LOGNORMAL:
        return p0 * math.exp(p1 * _normal(key, t))
    if kind == GAMMA:
        return p1 * _gamma(p0, key, t)
    if kind == UNIFORM:
        return p0 + (p1 - p0) * uniform(key, t)
    if kind == HALF_NORMAL:
        return p0 * abs(_normal(key, t))
    if kind == PARETO:
        return p1 * (1.0 - uniform(key, t)) ** (-1.0 / p0)
    # TRACE: resample a recorded duration, or replay them in order (cycling).
    length = np.int64(p1)
    if p2 != 0.0:
        j = pos[i] % length
        pos[i] = j + 1
    else:
        j = np.int64(uniform(key, t) * length)
        if j >= length:  # only if rounding reached 1.0
            j = length - 1
    return trace[np.int64(p0) + j]


@njit(**_JIT)
def allocation_round(seed_key, k, a, kinds, params, trace, pos, factor, mu, workers_out, durations_out):
    """Run one round of an allocation ``a``: every task's time, the round's time and cost.

    Worker ``i`` runs its ``a[i]`` tasks one after another; the round ends when the
    slowest busy worker is done. Writes the per-task samples (worker ids and times,
    grouped by worker) to ``workers_out`` and ``durations_out``.

    Returns ``(tasks, round_time, worker_time, loss, busy)``: ``loss = max_i a_i mu_i``,
    the proxy loss at the round's true means, and ``busy`` the number of workers with tasks.
    """
    rkey = round_key(seed_key, k)
    m = 0
    round_time = 0.0
    worker_time = 0.0
    loss = 0.0
    busy = 0
    for i in range(a.shape[0]):
        ai = a[i]
        if ai <= 0:
            continue
        busy += 1
        key = worker_key(rkey, i)
        total = 0.0
        for u in range(ai):
            x = factor[i] * draw(kinds[i], params[i, 0], params[i, 1], params[i, 2], key, u, trace, pos, i)
            workers_out[m] = i
            durations_out[m] = x
            m += 1
            total += x
        worker_time += total
        if total > round_time:
            round_time = total
        li = ai * mu[i]
        if li > loss:
            loss = li
    return m, round_time, worker_time, loss, busy


@njit(**_JIT)
def _sift_down(times, ids, size, j):
    """Restore the min-heap below ``j``; keys are ``(time, worker id)``."""
    while True:
        left = 2 * j + 1
        if left >= size:
            return
        best = left
        right = left + 1
        if right < size and (times[right] < times[left] or (times[right] == times[left] and ids[right] < ids[left])):
            best = right
        if times[best] < times[j] or (times[best] == times[j] and ids[best] < ids[j]):
            times[j], times[best] = times[best], times[j]
            ids[j], ids[best] = ids[best], ids[j]
            j = best
        else:
            return


@njit(**_JIT)
def greedy_round(seed_key, k, budget, done, steps, available, kinds, params, trace, pos, factor, mu, counts_out, heap_t, heap_i,
                 started):  # fmt: skip
    """Completions ``done .. min(budget, done + steps)`` of a round of GTA: every available
    worker computes from time 0, the round ends at the ``budget``-th completion over all
    workers, the work in progress is cancelled.

    ``done = 0`` starts the round; a caller continues it with the ``done`` returned until
    that is ``budget`` (so that a round of many tasks hands control back to Python, where
    Ctrl-C works, between slices). Task ``u`` of worker ``i`` takes the same time as in
    :func:`allocation_round`. ``counts_out[i]`` receives the completions kept from worker ``i``.

    Returns ``(done, round_time, worker_time, loss, busy)``; the last four are the round's
    once ``done == budget``: ``worker_time = (available workers) * round_time`` and
    ``loss = max_i counts_i mu_i``.
    """
    n = kinds.shape[0]
    rkey = round_key(seed_key, k)
    size = 0  # the heap's size: the available workers
    if done == 0:
        for i in range(n):
            counts_out[i] = 0
            started[i] = 0
            if available[i]:
                key = worker_key(rkey, i)
                heap_t[size] = factor[i] * draw(kinds[i], params[i, 0], params[i, 1], params[i, 2], key, 0, trace, pos, i)
                heap_i[size] = i
                started[i] = 1
                size += 1
        for j in range(size // 2 - 1, -1, -1):
            _sift_down(heap_t, heap_i, size, j)
    else:  # a later slice: the heap as the earlier ones left it
        for i in range(n):
            if available[i]:
                size += 1
    round_time = 0.0
    end = min(budget, done + steps)
    for _ in range(done, end):
        t = heap_t[0]
        i = heap_i[0]
        round_time = t
        counts_out[i] += 1
        key = worker_key(rkey, i)
        u = started[i]
        heap_t[0] = t + factor[i] * draw(kinds[i], params[i, 0], params[i, 1], params[i, 2], key, u, trace, pos, i)
        started[i] = u + 1
        _sift_down(heap_t, heap_i, size, 0)
    loss = 0.0
    busy = 0
    if end == budget:
        for i in range(n):
            if counts_out[i] > 0:
                busy += 1
                li = counts_out[i] * mu[i]
                if li > loss:
                    loss = li
    return end, round_time, size * round_time, loss, busy


@njit(**_JIT)
def sample_block(seed_key, k0, kinds, params, trace, pos, factors, out):
    """``out[r, i, u]``: task ``u`` of worker ``i`` in round ``k0 + r``, drift factor ``factors[r, i]``."""
    rounds, n, tasks = out.shape
    for r in range(rounds):
        rkey = round_key(seed_key, k0 + r)
        for i in range(n):
            key = worker_key(rkey, i)
            for u in range(tasks):
                x = draw(kinds[i], params[i, 0], params[i, 1], params[i, 2], key, u, trace, pos, i)
                out[r, i, u] = factors[r, i] * x

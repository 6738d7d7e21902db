"""Oracles for the tests: the reference backend, a canonicity check for any size, and a run
at every Cython SIMD level."""

import math

import numpy as np
import pytest

import fastata as fa


def reference(lam, budget):
    """The oracle: the reference backend's allocation."""
    return fa.allocate(lam, budget, backend="python")


def is_canonical(lam, budget, a, min_tasks=None, max_tasks=None):
    """True iff ``a`` is the canonical allocation (DESIGN.md section 2), for any size.

    The taken keys are per-worker prefixes of increasing keys, so they are the
    ``budget`` smallest iff the largest taken key is below the smallest untaken one.
    Keys are ``(fl(j * lam_i), j, i)`` compared lexicographically. With bounds, worker i
    owns the keys ``j = min_i + 1 .. max_i`` only.
    """
    lam = np.asarray(lam, dtype=np.float64)
    a = np.asarray(a)
    n = lam.size
    low = np.zeros(n, dtype=np.int64) if min_tasks is None else np.broadcast_to(np.asarray(min_tasks, np.int64), n)
    high = np.full(n, budget, dtype=np.int64) if max_tasks is None else np.minimum(
        np.broadcast_to(np.asarray(max_tasks, np.int64), n), budget)
    if a.dtype != np.int64 or a.sum() != budget or (a < low).any() or (a > np.maximum(high, low)).any():
        return False
    idx = np.arange(n)
    available = lam < np.inf
    if (a[~available] != 0).any():
        return False
    taken = available & (a > low)
    if not taken.any():
        return True  # only the minimums: a sums to the budget
    # A worker at its maximum has no next key to compare (its index could be 2**53 + 1 at
    # the largest budget, which float64 cannot hold).
    open_ = available & (a < high)
    if not open_.any():
        return True
    with np.errstate(over="ignore"):  # an overflowing product is +inf, as in the kernels
        last = np.stack([a[taken] * lam[taken], a[taken], idx[taken]])
        nxt = np.stack([(a[open_] + 1) * lam[open_], a[open_] + 1, idx[open_]])
    largest_taken = last[:, np.lexsort(last[::-1])[-1]]
    smallest_untaken = nxt[:, np.lexsort(nxt[::-1])[0]]
    return tuple(largest_taken) < tuple(smallest_untaken)


def sample_batches(n, m=37, seed=11):
    """Batches of ``m`` samples for ``n`` workers: a good one, then bad ones with a bad id or
    duration of every kind at the vector edges and tails, each followed by a second bad
    element, so that a check which does not stop at the first bad element shows."""
    rng = np.random.default_rng(seed)
    workers, durations = rng.integers(0, n, m), rng.exponential(1.0, m)
    batches = [(workers, durations)]
    for pos in (0, 3, 4, 17, m - 2, m - 1):
        for bad_id, bad_x in [(-1, None), (n, None), (2**63 - 1, None), (None, -0.5), (None, math.nan),
                              (None, math.inf), (None, -math.inf), (n, math.nan)]:
            w, x = workers.copy(), durations.copy()
            if bad_id is not None:
                w[pos] = bad_id
            if bad_x is not None:
                x[pos] = bad_x
            if pos + 1 < m:
                x[pos + 1] = -1.0
            batches.append((w, x))
    return batches


def at_every_level(run):
    """``run(level)`` with each Cython SIMD level set in turn, and the level before restored
    (the test is skipped where Cython is not built)."""
    cython_cpu = pytest.importorskip("fastata.kernels.cython_cpu")
    previous = cython_cpu.simd_level()
    try:
        for level in cython_cpu.simd_levels():
            cython_cpu.set_simd_level(level)
            run(level)
    finally:
        cython_cpu.set_simd_level(previous)

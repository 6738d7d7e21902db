"""Oracles for the tests: the reference backend, and a canonicity check for any size."""

import numpy as np

import fastata as fa


def reference(lam, budget):
    """The oracle: the reference backend's allocation."""
    return fa.allocate(lam, budget, backend="python")


def is_canonical(lam, budget, a):
    """True iff ``a`` is the canonical allocation (DESIGN.md section 2), for any size.

    The taken keys are per-worker prefixes of increasing keys, so they are the
    ``budget`` smallest iff the largest taken key is below the smallest untaken one.
    Keys are ``(fl(j * lam_i), j, i)`` compared lexicographically.
    """
    lam = np.asarray(lam, dtype=np.float64)
    a = np.asarray(a)
    if a.dtype != np.int64 or a.sum() != budget or (a < 0).any():
        return False
    idx = np.arange(lam.size)
    available = lam < np.inf
    if (a[~available] != 0).any():
        return False
    taken = available & (a > 0)
    if not taken.any():
        return budget == 0
    # A worker that took the whole budget has no next key to compare (its index would be
    # 2**53 + 1 at the largest budget, which float64 cannot hold).
    open_ = available & (a < budget)
    if not open_.any():
        return True
    with np.errstate(over="ignore"):  # an overflowing product is +inf, as in the kernels
        last = np.stack([a[taken] * lam[taken], a[taken], idx[taken]])
        nxt = np.stack([(a[open_] + 1) * lam[open_], a[open_] + 1, idx[open_]])
    largest_taken = last[:, np.lexsort(last[::-1])[-1]]
    smallest_untaken = nxt[:, np.lexsort(nxt[::-1])[0]]
    return tuple(largest_taken) < tuple(smallest_untaken)

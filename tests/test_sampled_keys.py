"""The bracket a sample of keys puts t* in (``threshold.sampled_key_bracket``): where the
counting steps would crawl along a band of keys (one machine type with a little noise, the
budget in the band's tail), the listing and the selection finish from two quantiles of the
sampled keys. Every backend against the canonical allocation, with the bracket taken, and
with it made to miss (a margin of 0), which the steps after it must recover from.
"""

import numpy as np
import pytest

import fastata as fa
from fastata import _backends
from fastata.kernels import threshold
from oracle import is_canonical


def band(n, noise, seed):
    """One machine type: times 63 with relative noise ``noise``."""
    rng = np.random.default_rng(seed)
    return 63.0 * (1.0 + noise * rng.standard_normal(n))


def problems(seeds):
    """``(lam, budget, min_tasks, max_tasks)``: budgets in the lower tail of the fifth keys' band,
    the upper tail of the third's and a third of the way into it, with and without bounds (at
    least one task, at most eight)."""
    for seed in seeds:
        n = (4096, 16384)[seed % 2]
        lam = band(n, (1e-12, 1e-9, 1e-6)[seed % 3], seed)
        for bounded in (False, True):
            low = np.ones(n, np.int64) if bounded else None
            high = np.full(n, 8, np.int64) if bounded else None
            for budget in (4 * n + 3 + seed, 4 * n + n // 100, 3 * n - 5 - seed, 2 * n + n // 3):
                yield lam, budget, low, high


def plain_python(lam, budget, low, high):
    """The kernel's algorithm run as plain Python (threshold.py, not compiled)."""
    n = lam.shape[0]
    out, ties, heap = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n + 2)
    threshold.allocate_bounded_warm(lam, budget, low, high, out, ties, heap, np.zeros(3))
    return out


@pytest.fixture
def brackets(monkeypatch):
    """Start recording the brackets ``sampled_key_bracket`` returns in plain-Python runs: returns
    the list they go to. Compiled backends must have compiled first: numba would compile
    the recording wrapper into its kernel, and fail."""
    def record():
        found = []
        original = threshold.sampled_key_bracket

        def recorded(*args):
            bracket = original(*args)
            found.append(bracket)
            return bracket

        monkeypatch.setattr(threshold, "sampled_key_bracket", recorded)
        return found

    return record


def test_band_tails_take_the_sampled_bracket(brackets):
    cases = list(problems(range(3)))
    compiled = [[fa.allocate(lam, budget, min_tasks=low, max_tasks=high, backend=b)
                 for b in _backends.available_backends() if b != "python"] for lam, budget, low, high in cases]
    found = brackets()
    held = 0
    for (lam, budget, low, high), others in zip(cases, compiled):
        out = plain_python(lam, budget, low, high)
        assert is_canonical(lam, budget, out, low, high)
        for other in others:
            np.testing.assert_array_equal(other, out)
        held += sum(1 for a, b in found if b > 0.0)
        found.clear()
    assert held >= 4  # the inputs exercise the bracket, not only the steps around it


def test_nearest_quantile_small(brackets):
    """One type with 1e-12 noise, 4096 workers, 5 keys short of the third band's top: the
    sample's bracket holds t* and the allocation matches the reference."""
    lam = band(4096, 1e-12, 0)
    budget = 3 * 4096 - 5
    found = brackets()
    out = plain_python(lam, budget, None, None)
    np.testing.assert_array_equal(out, fa.allocate(lam, budget, backend="python"))
    assert any(b > 0.0 for _, b in found)


def test_missed_brackets_recover(monkeypatch, brackets):
    """At a margin of 0 the sample's bracket often misses t*, above or below: the steps after it
    still find the canonical allocation, in plain Python and in Cython (numba is not called:
    it would compile the margin of 0 into its kernel, and cache it)."""
    found = brackets()
    monkeypatch.setattr(threshold, "KEY_MARGIN", 0.0)
    cython_cpu = None
    if "cython" in _backends.available_backends():
        from fastata.kernels import cython_cpu
        previous = cython_cpu.set_key_margin(0.0)
    try:
        for lam, budget, low, high in problems(range(6)):
            out = plain_python(lam, budget, low, high)
            assert is_canonical(lam, budget, out, low, high)
            if cython_cpu is not None:
                np.testing.assert_array_equal(
                    fa.allocate(lam, budget, min_tasks=low, max_tasks=high, backend="cython"), out)
    finally:
        if cython_cpu is not None:
            cython_cpu.set_key_margin(previous)
    assert len(found) >= 8


@pytest.mark.parametrize("m", [1, 2, 5, 16, 17, 100, 1000])
def test_nth_sampled_key(m):
    """Hoare's selection over sampled keys, ties included: the k-th smallest product."""
    rng = np.random.default_rng(m)
    lam = rng.choice([1.0, 1.5, 3.0, 0.7], 64)
    pairs = np.empty(2 * m, np.int64)
    pairs[0::2] = rng.integers(0, 64, m)
    pairs[1::2] = rng.integers(1, 6, m)
    products = np.sort(pairs[1::2] * lam[pairs[0::2]])
    for k in {0, m // 2, m - 1}:
        shuffled = pairs.copy()
        assert threshold.nth_sampled_key(lam, shuffled, m, k) == products[k]
        firsts = shuffled[1:2 * k:2] * lam[shuffled[0:2 * k:2]]
        assert (firsts <= products[k]).all()

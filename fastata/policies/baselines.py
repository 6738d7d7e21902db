"""The baselines: FTA (the oracle's fixed allocation) and UTA (tasks spread evenly)."""

import numpy as np

from .. import _validate
from .base import Policy, _raise_for_round
from .registry import register


@register
class FTA(Policy):
    """Fixed Task Allocation, the oracle baseline: ``allocate(means, budget)`` with the true means.

    The best fixed allocation for the proxy loss ``max_i a_i * mu_i``; it learns nothing,
    but records observations like every policy (``counts``, ``means``, ``variances``).

    Parameters
    ----------
    means : array_like of float, shape (n,)
        The true mean task times, finite and ``> 0``.
    budget : int
        Tasks per round.
    backend : {"auto", "python", "numba", "cython", "cuda"}
        Which kernels run.

    Examples
    --------
    >>> import fastata as fa
    >>> policy = fa.FTA([1.0, 2.0, 4.0], 7)
    >>> policy.allocate().tolist()                 # fa.allocate(true_means, 7), every round
    [4, 2, 1]
    >>> policy.set_available([0], False)
    >>> policy.allocate().tolist()
    [0, 5, 2]
    """

    def __init__(self, means, budget, *, backend="auto"):
        means = _validate.true_means(means)
        super().__init__(means.shape[0], budget, backend)
        self._true = means
        self._availability_changed()

    @property
    def true_means(self):
        """The oracle's means (a copy)."""
        return self._true.copy()

    def _availability_changed(self):
        # The allocation input: the true means, +inf where a worker is unavailable.
        self._lam = np.where(self._avail != 0, self._true, np.inf)

    @property
    def lower_bounds(self):
        with self._lock:
            return self._lam.copy()

    def _allocate_into(self, budget, out):
        status = self._scratch.allocate(self._lam, budget, out)
        if status:
            _raise_for_round(status, budget)

    def _allocate_bounded(self, budget, min_tasks, max_tasks, out):
        self._bounded_into(self._lam, budget, min_tasks, max_tasks, out)

    def add_workers(self, k, *, means):
        """Add ``k`` workers whose true mean task times are ``means`` (shape ``(k,)``); returns their ids."""
        k = _validate.count(k, "k", 0, _validate.MAX_WORKERS - self._n)
        means = _validate.true_means(means) if k else np.empty(0)
        if means.shape[0] != k:
            raise ValueError(f"means must have one entry per new worker, {k}; got {means.shape[0]}")
        with self._lock:
            true = np.concatenate([self._true, means])
            self._grow(k)
            self._true = true
            self._availability_changed()
            return np.arange(self._n - k, self._n, dtype=np.int64)

    def _state(self):
        meta, arrays = super()._state()
        arrays["true_means"] = self._true.copy()
        return meta, arrays

    @classmethod
    def _from_meta(cls, meta, backend, arrays):
        policy = cls(arrays["true_means"], meta["budget"], backend=backend)
        if policy.n_workers != meta["n_workers"]:
            raise ValueError(f"true_means must have {meta['n_workers']} entries; got {policy.n_workers}")
        return policy


@register
class UTA(Policy):
    """Uniform Task Allocation, the naive baseline: ``budget`` tasks spread evenly.

    Each available worker gets ``budget // m`` tasks (``m`` available workers); the
    ``budget % m`` extra tasks go round-robin from a random offset drawn each round,
    so no worker is favoured on average. Observations are recorded but not used.

    Parameters
    ----------
    n_workers : int
        Number of workers, ``>= 1``.
    budget : int
        Tasks per round.
    seed : None, int or numpy SeedSequence
        Seeds the offsets (``numpy.random.default_rng(seed)``); saved with the policy.

    Examples
    --------
    >>> import fastata as fa
    >>> policy = fa.UTA(3, 7, seed=0)
    >>> a = policy.allocate()
    >>> sorted(a.tolist())                         # 7 = 2 + 2 + 3: the extra task at an offset drawn each round
    [2, 2, 3]
    """

    def __init__(self, n_workers, budget, seed=None, *, backend="auto"):
        super().__init__(n_workers, budget, backend)
        self._rng = _validate.seeded_rng(seed)
        self._availability_changed()

    def _availability_changed(self):
        self._idx = np.flatnonzero(self._avail)

    @property
    def lower_bounds(self):
        # UTA ranks no worker above another: equal estimates, +inf where unavailable.
        with self._lock:
            return np.where(self._avail != 0, 0.0, np.inf)

    def _allocate_into(self, budget, out):
        m = self._idx.shape[0]
        if m == 0:
            if budget > 0:
                raise _validate.no_available_worker(budget)
            out[:] = 0
            return
        share, extra = divmod(budget, m)
        start = int(self._rng.integers(m))  # drawn every round, so the stream does not depend on budget
        out[:] = 0
        out[self._idx] = share
        if extra:
            out[self._idx[(start + np.arange(extra)) % m]] += 1

    def _allocate_bounded(self, budget, min_tasks, max_tasks, out):
        # Equal estimates: the bounded allocation's ties, broken from this round's random
        # offset instead of index 0 (the workers taken in rotated order).
        # The bounds' types and shapes first: a call they reject draws nothing.
        bounds = _validate.task_bounds(min_tasks, max_tasks, np.where(self._avail != 0, 1.0, np.inf))
        drawn_from = self._rng.bit_generator.state
        start = int(self._rng.integers(max(self._idx.shape[0], 1)))
        order = np.roll(np.arange(self._n), -int(self._idx[start]) if self._idx.shape[0] else 0)
        lam = np.where(self._avail[order] != 0, 1.0, np.inf)
        rotated = np.empty_like(out)
        status = self._kernels.allocate_bounded_into(lam, budget, bounds[0][order], bounds[1][order], rotated,
                                                     self._ties, self._heap)
        if status:
            self._rng.bit_generator.state = drawn_from  # a rejected call changes nothing
            _raise_for_round(status, budget, np.where(self._avail != 0, 1.0, np.inf), bounds)
        out[order] = rotated

    def _state(self):
        meta, arrays = super()._state()
        meta["params"]["rng"] = self._rng.bit_generator.state
        return meta, arrays

    @classmethod
    def _from_meta(cls, meta, backend, arrays):
        return cls(meta["n_workers"], meta["budget"], backend=backend)

    def _restore(self, meta, arrays):
        rng = np.random.default_rng()
        try:
            rng.bit_generator.state = meta["params"]["rng"]
        except (TypeError, ValueError, KeyError) as exc:
            raise ValueError(f"rng must be a PCG64 state; got {meta['params'].get('rng')!r}") from exc
        super()._restore(meta, arrays)
        self._rng = rng


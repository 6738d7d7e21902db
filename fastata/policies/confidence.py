"""The confidence-bound family: policies that allocate on lower confidence bounds of the mean task times.

:class:`ConfidenceBound` holds what the family shares (the constant ``c``, the discount
``gamma``, the discounted round count behind ``L = ln(2 k^2)``, bounded exploration, saving)
and is the base a new bound subclasses, writing only ``bounds``. ATA and ATA-Empirical
(:class:`_Adaptive`) compute their bounds in the kernels, with bounds, allocation and
discount in one kernel call; ATA-Bernstein (:mod:`.bernstein`) has kernel bounds of its own.
"""

import fractions
import math

import numpy as np

from .. import _validate
from ..kernels import status as _status
from .base import Policy, _raise_for_round
from .registry import register

#: The paper's (ICML) constant in front of ``alpha * c_i`` and ``eta * c_i``.
PAPER_C = 2.0


class ConfidenceBound(Policy):
    r"""Base of the policies that allocate on lower confidence bounds: subclass it and write ``bounds``.

    A subclass writes only ``bounds(counts, means, variances, rounds)``; it inherits the
    statistics (``observe``, ``observe_censored``: Welford's ``K_i``, ``muhat_i``,
    ``M2_i``), the discount ``gamma`` (drift), churn (``add_workers``, ``set_available``,
    ``reset``), bounded exploration (``explore_share``), the lock, and ``save`` (and
    ``fastata.load`` once the class is registered with
    :func:`fastata.policies.register`). Each round, :meth:`allocate` asks for the bounds,
    sets them to 0 for unexplored workers (``K_i = 0``) and ``+inf`` for unavailable ones,
    allocates ``fastata.allocate(s, budget)`` and then discounts.

    Parameters
    ----------
    n_workers : int
        Number of workers, ``>= 1``.
    budget : int
        Tasks per round.
    c : float
        ``> 0``, the constant in front of the confidence width; kept, saved and offered to
        ``bounds`` as ``self.c`` (how it enters is the subclass's business).
    gamma : float
        Discount in ``(0, 1]`` (see :class:`fastata.ATA`).
    explore_share : float
        In ``(0, 1]`` (see :class:`fastata.ATA`).
    backend : {"auto", "python", "numba", "cython", "cuda"}
        Which kernels run the statistics and the allocation.

    Examples
    --------
    A UCB-style bound from the sample standard deviation (numpy; an ``@njit`` function
    works the same, called from ``bounds``)::

        class StdBound(fastata.policies.ConfidenceBound):
            def bounds(self, counts, means, variances, rounds):
                width = self.c * np.sqrt(variances * np.log(2 * rounds**2) / counts)
                return np.maximum(means - width, 0.0)
    """

    def __init__(self, n_workers, budget, *, c=1.0, gamma=1.0, explore_share=1.0, backend="auto"):
        self._c = _validate.positive(c, "c")
        self._gamma = _validate.discount(gamma)
        self._share = _validate.explore_share(explore_share)
        super().__init__(n_workers, budget, backend)
        self._kdisc = 0.0  # discounted number of completed rounds, sum_{t<k} gamma**t

    def bounds(self, counts, means, variances, rounds):
        """Lower confidence bounds on the mean task times; what a subclass writes.

        Parameters
        ----------
        counts : ndarray of float64, shape (n_workers,)
            ``K_i``, tasks observed per worker (discounted when ``gamma < 1``).
        means : ndarray of float64, shape (n_workers,)
            ``muhat_i``, the running means.
        variances : ndarray of float64, shape (n_workers,)
            ``M2_i / K_i``, the observed variances (ddof 0).
        rounds : float
            ``k = max(completed rounds, 1)`` (discounted: ``sum_{t<k} gamma**t``), the
            ``k`` of ``L = ln(2 k^2)`` in the built-in bounds.

        Entries of workers with ``K_i = 0`` (where ``variances`` is 0 and the division
        by ``counts`` gives ``inf`` or ``nan``) and of unavailable workers are ignored:
        the base sets them to 0 and ``+inf``. The arrays are the policy's scratch, valid
        during the call only; do not keep or write them.

        Returns
        -------
        ndarray of float64, shape (n_workers,)
            ``s_i >= 0``, not NaN, for every explored, available worker (``+inf`` allowed).
        """
        raise NotImplementedError(f"{type(self).__name__} must define bounds(counts, means, variances, rounds)")

    @property
    def gamma(self):
        """The discount applied to every worker's counts once per round (1 = none, the paper)."""
        return self._gamma

    @property
    def c(self):
        """The constant in front of the confidence width."""
        return self._c

    @property
    def explore_share(self):
        """The most the unexplored workers may take of a round while another is explored (1 = the paper)."""
        return self._share

    def _rounds_k(self):
        """``k = max(discounted completed rounds, 1)``."""
        return self._kdisc if self._kdisc > 1.0 else 1.0

    def _log_term(self):
        """``L = ln(2 k^2)`` with ``k = max(discounted completed rounds, 1)``, once per round in Python."""
        k = self._kdisc if self._kdisc > 1.0 else 1.0  # _rounds_k, inline: once a round, on the hot path
        return math.log(2.0 * k * k)

    def _bounds_into(self, s):
        """The round's bounds into ``s``: the subclass's :meth:`bounds`, checked; 0 unexplored, ``+inf`` unavailable."""
        explored = self._counts > 0
        with np.errstate(divide="ignore", invalid="ignore"):  # K_i = 0: ignored entries, as documented
            variances = np.where(explored, self._m2 / self._counts, 0.0)
            got = self.bounds(self._counts.copy(), self._means.copy(), variances, self._rounds_k())
        got = _validate.policy_bounds(got, self._n, explored & (self._avail != 0), f"{type(self).__name__}.bounds()")
        np.copyto(s, got)
        s[~explored] = 0.0
        s[self._avail == 0] = np.inf

    @property
    def lower_bounds(self):
        s = np.empty(self._n)
        with self._lock:  # counts, means and the round count of one and the same round
            self._bounds_into(s)
        return s

    def allocate(self, budget=None, *, min_tasks=None, max_tasks=None, out=None):
        budget = self._budget if budget is None else _validate.budget(budget)
        with self._lock:
            out = np.empty(self._n, dtype=np.int64) if out is None else _validate.out_array(
                out, (self._n,), min_tasks=min_tasks, max_tasks=max_tasks)
            caps = None if self._share == 1.0 else explore_caps(self._counts, self._avail, self._share, budget)
            if caps is None and min_tasks is None and max_tasks is None:
                self._bounds_into(self._s)
                status = self._scratch.allocate(self._s, budget, out)
                if status:
                    self._refused(status, budget)
                self._discount()
            else:
                self._bounded_round(budget, min_tasks, max_tasks, caps, out)
            self._rounds += 1
            self._kdisc = self._gamma * self._kdisc + 1.0
        return out

    allocate.__doc__ = Policy.allocate.__doc__

    def _refused(self, status, budget, s=None, bounds=None):
        """Raise for a round the kernel refused; no available worker while some are is
        ``bounds()`` giving every available worker ``+inf``."""
        if status == _status.NO_AVAILABLE_WORKER and (self._avail != 0).any():
            raise _validate.no_finite_bound(f"{type(self).__name__}.bounds()", budget)
        _raise_for_round(status, budget, s, bounds)

    def _discount(self):
        if self._gamma != 1.0:
            # What policy_round does after its allocation, in the same float64 products.
            self._counts *= self._gamma
            self._m2 *= self._gamma

    def _bounded_round(self, budget, min_tasks, max_tasks, caps, out):
        """A round with per-worker bounds: the caller's, and the caps of bounded exploration
        (:func:`explore_caps`) as maxima of the unexplored workers (never below their
        ``min_tasks``). The canonical allocation with bounds (DESIGN.md section 2) on the
        lower confidence bounds, then the discount. Where the caller's maxima leave the
        explored workers too little room for the budget beside those caps, the caps yield:
        the round is the caller's bounds alone (the newcomers then take what it gives them)."""
        s = self._s
        self._bounds_into(s)
        bounds = _validate.task_bounds(0 if min_tasks is None else min_tasks, max_tasks, s)
        status = _status.CAPACITY_SHORT
        if caps is not None:
            capped_bounds = (bounds[0], bounds[1].copy())  # never the caller's array
            capped = caps >= 0
            capped_bounds[1][capped] = np.maximum(np.minimum(bounds[1][capped], caps[capped]), bounds[0][capped])
            status = self._scratch.allocate_bounded(s, budget, *capped_bounds, out)
        if status == _status.CAPACITY_SHORT:  # no caps, or caps the caller's bounds cannot hold the budget beside
            status = self._scratch.allocate_bounded(s, budget, *bounds, out)
        if status:
            self._refused(status, budget, s, bounds)
        self._discount()

    def params(self):
        """Constructor keywords of a subclass beyond ``c``, ``gamma``, ``explore_share`` (JSON values), for ``save``."""
        return {}

    def __repr__(self):
        share = "" if self._share == 1.0 else f"explore_share={self._share!r}, "
        extra = "".join(f"{k}={v!r}, " for k, v in self.params().items())
        return (f"{type(self).__name__}(n_workers={self._n}, budget={self._budget}, "
                f"{extra}c={self._c!r}, gamma={self._gamma!r}, {share}rounds={self._rounds})")

    def _params(self):
        return {**self.params(), "c": self._c, "gamma": self._gamma, "kdisc": self._kdisc,
                "explore_share": self._share}  # fmt: skip

    @classmethod
    def _from_meta(cls, meta, backend, arrays):
        params = dict(meta["params"])
        base = {key: params.pop(key) for key in ("c", "gamma")}
        share = params.pop("explore_share", 1.0)
        params.pop("kdisc")
        return cls(meta["n_workers"], meta["budget"], **params, **base, explore_share=share, backend=backend)

    def _restore(self, meta, arrays):
        kdisc = meta["params"]["kdisc"]
        if not (isinstance(kdisc, float) and 0.0 <= kdisc < math.inf):
            raise ValueError(f"kdisc must be a finite float >= 0; got {kdisc!r}")
        super()._restore(meta, arrays)
        self._kdisc = kdisc


class _Adaptive(ConfidenceBound):
    """ATA and ATA-Empirical: the bounds in the kernels, and bounds, allocation and discount in one call."""

    _variant = None
    _param_name = None

    def __init__(self, n_workers, budget, param, c, gamma, backend, explore_share=1.0):
        self._param = _validate.positive(param, self._param_name)
        super().__init__(n_workers, budget, c=c, gamma=gamma, explore_share=explore_share, backend=backend)
        self._weight = self._c * self._param  # the one product of the formula taken outside the kernel

    @property
    def c(self):
        """The constant in front of the confidence width (2 in the paper)."""
        return self._c

    def params(self):
        return {self._param_name: self._param}

    def _bounds_into(self, s):
        self._kernels.bounds_into(self._counts, self._means, self._avail, self._variant, self._weight,
                                  self._log_term(), s)  # fmt: skip

    def allocate(self, budget=None, *, min_tasks=None, max_tasks=None, out=None):
        # The round in one kernel call (bounds, allocation, discount): a scheduler at n = 51
        # runs 100,000 rounds a second through here.
        budget = self._budget if budget is None else _validate.budget(budget)
        self._lock.acquire()  # not ``with``: on the hot path, half the cost (60 ns against 120)
        try:
            out = np.empty(self._n, dtype=np.int64) if out is None else _validate.out_array(
                out, (self._n,), min_tasks=min_tasks, max_tasks=max_tasks)
            caps = None if self._share == 1.0 else explore_caps(self._counts, self._avail, self._share, budget)
            if caps is None and min_tasks is None and max_tasks is None:
                status = self._stats.round(self._variant, self._weight, self._log_term(), self._gamma, budget, out)
                if status:
                    _raise_for_round(status, budget)
            else:
                self._bounded_round(budget, min_tasks, max_tasks, caps, out)
            self._rounds += 1
            self._kdisc = self._gamma * self._kdisc + 1.0
        finally:
            self._lock.release()
        return out

    allocate.__doc__ = Policy.allocate.__doc__


@register
class ATA(_Adaptive):
    r"""Adaptive Task Allocation: allocate on lower confidence bounds of the mean task times.

    After ``k >= 1`` completed rounds, worker ``i`` with ``K_i`` observed tasks and
    mean ``muhat_i`` gets the bound

    .. math::

        L = \ln(2k^2), \qquad c_i = \sqrt{L / K_i} + L / K_i, \qquad
        s_i = \max(\hat\mu_i - c\,\alpha\,c_i,\ 0),

    ``s_i = 0`` while ``K_i = 0`` and ``s_i = +\infty`` while the worker is unavailable;
    the round allocates ``fastata.allocate(s, budget)``. With ``c = 2`` this is ATA of
    Maranjyan et al. (ICML 2025), whose expected total time is within
    ``(1 + 4 eta ln B)`` of the best fixed allocation plus ``O(ln K)``.

    Parameters
    ----------
    n_workers : int
        Number of workers, ``>= 1`` (more can be added with :meth:`add_workers`).
    budget : int
        Tasks per round (``allocate(budget)`` overrides it for one round).
    alpha : float
        ``> 0``: a bound on the Orlicz norm ``||X_i - mu_i||_psi1`` of the task times,
        in the same unit as the durations.
    c : float
        The constant in front of ``alpha * c_i`` (2 in the paper).
    gamma : float
        Discount in ``(0, 1]``: every ``K_i`` and ``M2_i`` is multiplied by ``gamma``
        once per round, and ``k`` becomes ``sum_{t<k} gamma**t``. ``1`` is the paper;
        ``gamma < 1`` follows workers whose speed drifts.
    explore_share : float
        In ``(0, 1]``: while some available worker is explored, the unexplored ones
        (``K_i = 0``: added, reset, or never given a task) take together at most
        ``max(1, floor(explore_share * budget))`` of a round, round-robin from the lowest
        index; the rest goes to the explored workers by their bounds (``explore_caps``).
        ``1`` (the default) is the paper, where an unexplored worker's bound 0 gives it
        the whole round. When every available worker is unexplored there is no cap.
        Worth setting (say ``0.25``) when workers join a running job.
    backend : {"auto", "python", "numba", "cython", "cuda"}
        Which kernels run; the results are the same bits on every backend.

    Examples
    --------
    >>> import fastata as fa
    >>> policy = fa.ATA(3, 6, alpha=1.0)
    >>> policy.allocate().tolist()   # nothing observed yet: round-robin
    [2, 2, 2]
    >>> policy.observe([0, 0, 1, 1, 2, 2], [1.0, 1.5, 2.0, 2.5, 9.0, 9.5])
    >>> policy.means.tolist()
    [1.25, 2.25, 9.25]
    >>> policy.allocate().tolist()   # worker 0's bound is still 0: it takes every task
    [6, 0, 0]
    """

    _variant = _status.VARIANT_ATA
    _param_name = "alpha"

    def __init__(self, n_workers, budget, *, alpha, c=PAPER_C, gamma=1.0, explore_share=1.0, backend="auto"):
        super().__init__(n_workers, budget, alpha, c, gamma, backend, explore_share)

    @property
    def alpha(self):
        """The sub-exponential scale ``alpha`` (a bound on ``||X_i - mu_i||_psi1``)."""
        return self._param


@register
class ATAEmpirical(_Adaptive):
    r"""ATA-Empirical: lower confidence bounds relative to the mean, no time scale needed.

    .. math::

        L = \ln(2k^2), \qquad c_i = \sqrt{L / K_i} + L / K_i, \qquad
        s_i = \hat\mu_i \, \max(1 - c\,\eta\,c_i,\ 0),

    ``s_i = 0`` while ``K_i = 0``, ``+\infty`` while the worker is unavailable.

    Parameters
    ----------
    n_workers : int
        Number of workers, ``>= 1``.
    budget : int
        Tasks per round.
    eta : float
        ``> 0``: a bound on ``alpha_i / mu_i``, the relative spread of the task times
        (for exponential times ``||X - mu||_psi1 = 1.5313 mu``, so ``eta = 1.5313`` is
        the worst-case bound; shifted exponentials ``shift + Exp(scale)`` have less:
        ``1.5313 scale / (shift + scale)``, see ``fastata.sim``).
    c : float
        The constant in front of ``eta * c_i`` (2 in the paper).
    gamma : float
        Discount in ``(0, 1]`` (see :class:`ATA`).
    explore_share : float
        In ``(0, 1]``: the most the unexplored workers take of a round while another
        worker is explored (see :class:`ATA`); ``1``, the default, is the paper.
    backend : {"auto", "python", "numba", "cython", "cuda"}
        Which kernels run.

    Examples
    --------
    >>> import fastata as fa
    >>> policy = fa.ATAEmpirical(3, 6, eta=0.1)
    >>> policy.allocate().tolist()                 # nothing observed yet: round-robin
    [2, 2, 2]
    >>> policy.observe([0, 0, 1, 1, 2, 2], [1.0, 1.2, 2.0, 2.2, 4.0, 4.4])
    >>> policy.lower_bounds.round(3).tolist()
    [0.894, 1.707, 3.414]
    >>> policy.allocate().tolist()
    [3, 2, 1]
    >>> policy.allocate(max_tasks=2).tolist()      # per-worker bounds, as fa.allocate
    [2, 2, 2]
    """

    _variant = _status.VARIANT_EMPIRICAL
    _param_name = "eta"

    def __init__(self, n_workers, budget, *, eta, c=PAPER_C, gamma=1.0, explore_share=1.0, backend="auto"):
        super().__init__(n_workers, budget, eta, c, gamma, backend, explore_share)

    @property
    def eta(self):
        """The relative spread bound ``eta`` (a bound on ``alpha_i / mu_i``)."""
        return self._param



def explore_caps(counts, available, share, budget):
    """Per-worker caps for a round, or ``None`` when nothing is capped.

    The unexplored workers (available, ``K_i = 0``) may take at most
    ``S = max(1, floor(share * budget))`` tasks together (``floor`` of the exact product, so
    ``share = 0.25`` of 10 tasks is 2, not a float's rounding of it), split as round-robin
    would split ``S`` tasks: ``S // m`` each and one more for the ``S % m`` lowest indices.
    At least one, so that a newcomer is always explored. ``-1`` marks a worker without a
    cap. ``None`` (no cap) when ``share = 1``, when no worker is unexplored, or when no
    available worker is explored (the first rounds: the paper's round-robin).
    """
    avail = available != 0
    unexplored = avail & (counts == 0.0)
    if share >= 1.0 or not unexplored.any() or not (avail & ~unexplored).any():
        return None
    total = max(1, math.floor(fractions.Fraction(share) * budget))
    idx = np.flatnonzero(unexplored)
    caps = np.full(counts.shape[0], -1, dtype=np.int64)
    caps[idx] = total // idx.size
    caps[idx[: total % idx.size]] += 1
    return caps

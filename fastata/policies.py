"""Allocation policies: ATA, ATA-Empirical and the baselines FTA and UTA (DESIGN.md section 3).

Every policy speaks one protocol, so a scheduler can swap them::

    a = policy.allocate()              # start a round: a[i] tasks for worker i
    policy.observe(workers, durations) # per-task samples, any order, any time

State per worker ``i``: ``K_i`` (``counts``), the running mean ``muhat_i`` (``means``) and
Welford's ``M2_i`` (``variances = M2 / K``). ATA allocates on lower confidence bounds of
the mean task times (Maranjyan, Saad, Richtarik, Orabona, ICML 2025, arXiv:2502.00775).
After ``k >= 1`` completed rounds, with ``L = ln(2 k^2)`` and
``c_i = sqrt(L / K_i) + L / K_i``:

* ATA:            ``s_i = max(muhat_i - c * alpha * c_i, 0)``
* ATA-Empirical:  ``s_i = muhat_i * max(1 - c * eta * c_i, 0)``

with ``s_i = 0`` while ``K_i = 0`` (so the first rounds explore every worker round-robin)
and ``s_i = +inf`` for an unavailable worker; the round's allocation is
``fastata.allocate(s, budget)``. ``c = 2`` is the paper's constant.

Censored observations (an extension): ``observe_censored(workers, elapsed)`` takes
lower bounds on task times, "this task has run ``elapsed`` seconds and is not done" (a
round that timed out, a worker lost under a task). A censored sample ``t`` of worker ``i``
is added as a sample of value ``t`` (the same Welford update as ``observe``) only when it
raises the estimate: when ``K_i = 0`` or ``t > muhat_i``; otherwise it is dropped. See
:meth:`Policy.observe_censored` for why this keeps the bounds sound.

Bounded exploration (an extension): ``explore_share`` (ATA and ATA-Empirical, default 1,
the paper) caps what the unexplored workers (``K_i = 0``) may take of a round while some
available worker is explored: at most ``max(1, floor(explore_share * budget))`` tasks
together, handed out as the canonical allocation with per-worker caps would (see
:func:`explore_caps`). A worker that joins mid-run then costs a bounded share of one round
instead of the whole round.

Drift (an extension): with ``gamma < 1`` every ``K_i`` and ``M2_i`` is multiplied by
``gamma`` once per round, at the end of ``allocate``, so a sample observed ``t`` rounds ago
weighs ``gamma**t`` (discounted UCB, Garivier & Moulines 2011), and ``k`` becomes the
discounted round count ``sum_{t<k} gamma**t``.

The hot path is thin: ``observe`` is one kernel call (it checks every sample, then adds
them all, so a rejected call changes nothing) and ``allocate`` is one kernel call
(bounds, allocation and discount) on buffers kept between rounds.

Backends: ``python``, ``numba`` and ``cython`` run everything in the chosen backend.
With ``backend="cuda"`` the statistics and bounds run on the host (numba CPU kernels:
O(n) numbers a round are cheaper to update than to copy to the GPU and back) and only
the allocation runs on the GPU. Every backend gives the same bits.

Threads: a policy may be shared between threads. Each one holds a lock around every
change of its state (``observe``, ``allocate``, ``add_workers``, ``set_available``,
``reset``) and around ``save``, ``lower_bounds`` and ``variances``, so concurrent calls
never lose a sample or tear a round; the kernels release the GIL, so threads that each
own a policy run in parallel. The read-only views ``counts``, ``means`` and
``available`` are live: read them from the thread that drives the policy, or copy
them while no other thread calls it.
"""

import contextlib
import fractions
import json
import math
import os
import re
import socket
import tempfile
import threading
import time
import zlib

import numpy as np

from . import _backends, _validate
from .kernels import status as _status

#: The paper's (ICML) constant in front of ``alpha * c_i`` and ``eta * c_i``.
PAPER_C = 2.0
#: What ``save`` writes and ``load`` checks first.
FORMAT = "fastata-policy"
#: Incremented whenever the file layout or its meaning changes; ``load`` refuses newer files.
#: Version 2 added ``explore_share`` (a version 1 file loads with the paper's 1.0).
FORMAT_VERSION = 2


class Policy:
    """What every policy shares: per-worker statistics, availability, rounds and persistence.

    Not used directly: see :class:`ATA`, :class:`ATAEmpirical`, :class:`FTA`, :class:`UTA`.

    Thread-safe: one policy may be shared by many threads (a lock guards its state; see
    the module's "Threads" note for the live views).
    """

    def __init__(self, n_workers, budget, backend):
        n = _validate.count(n_workers, "n_workers", 1)
        self._budget = _validate.budget(budget)
        self._backend = backend
        self._backend_name, self._kernels = _backends.resolve(backend, "single")
        self._rounds = 0
        self._counts = np.zeros(n)
        self._means = np.zeros(n)
        self._m2 = np.zeros(n)
        self._avail = np.ones(n, dtype=np.uint8)  # uint8, not bool: the kernels read bytes
        self._lock = threading.Lock()  # the kernels release the GIL: threads need this
        self._resized()

    def _resized(self):
        """(Re)build the scratch buffers and read-only views after the worker count changed."""
        n = self._counts.shape[0]
        self._n = n
        self._s = np.empty(n)
        self._ties = np.empty(max(n, 1), dtype=np.int64)
        self._heap = np.empty(n + 2)
        # Each round's allocation starts from the previous round's threshold (the result is
        # the same; bounds that moved little cost fewer passes). Not state: never saved.
        self._warm = np.zeros(3)
        self._views = {}
        for name, array in (("counts", self._counts), ("means", self._means), ("available", self._avail)):
            view = array.view(np.bool_) if name == "available" else array.view()
            view.flags.writeable = False
            self._views[name] = view

    # --- read-only views ---------------------------------------------------------------

    @property
    def n_workers(self):
        """Number of workers, available or not."""
        return self._n

    @property
    def budget(self):
        """The default number of tasks a round (``allocate()`` without an argument)."""
        return self._budget

    @property
    def backend(self):
        """The backend that runs this policy's kernels (``"auto"`` resolved)."""
        return self._backend_name

    @property
    def rounds(self):
        """Number of successful ``allocate`` calls so far."""
        return self._rounds

    @property
    def counts(self):
        """``K_i``: tasks observed per worker (discounted by ``gamma`` each round); read-only view."""
        return self._views["counts"]

    @property
    def means(self):
        """``muhat_i``: mean observed task time per worker (0 while ``K_i = 0``); read-only view."""
        return self._views["means"]

    @property
    def variances(self):
        """Observed task-time variance per worker, ``M2_i / K_i`` (ddof 0; NaN while ``K_i = 0``). A copy."""
        with self._lock, np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self._counts > 0, self._m2 / self._counts, np.nan)

    @property
    def available(self):
        """Which workers may get tasks; read-only boolean view (see :meth:`set_available`)."""
        return self._views["available"]

    @property
    def lower_bounds(self):
        """The per-task time estimates the next ``allocate`` will use (a copy; ``+inf`` = unavailable)."""
        raise NotImplementedError

    # --- the protocol ------------------------------------------------------------------

    def observe(self, workers, durations):
        """Record completed tasks: ``durations[u]`` is the time worker ``workers[u]`` took for one task.

        Samples may come in any order, repeat a worker, belong to any round, and arrive
        before or after ``allocate``. Each updates ``K_i``, ``muhat_i`` and ``M2_i`` by
        Welford's rule (weight 1; older samples carry the discount already applied).

        Parameters
        ----------
        workers : array_like of int, shape (m,)
            Worker ids in ``[0, n_workers)``.
        durations : array_like of float, shape (m,)
            Task times, finite and ``>= 0``.

        Raises
        ------
        ValueError
            An id out of range, a negative or non-finite duration, mismatched lengths,
            arrays that are not 1-D. The policy is then exactly as it was.
        TypeError
            Ids that are not integers, durations that are not real numbers.
        """
        workers = _validate.worker_ids(workers)
        durations = _validate.real_array(durations, "durations", 1)
        if workers.shape[0] != durations.shape[0]:
            _validate.same_length(workers, durations)
        with self._lock:
            status = self._kernels.observe_into(workers, durations, self._counts, self._means, self._m2)
        if status:
            _validate.raise_for_observe(status, workers, durations, self._n)

    def observe_censored(self, workers, elapsed):
        """Record lower bounds on task times: worker ``workers[u]`` has spent ``elapsed[u]`` seconds on a task it has not finished.

        A task cut short (its round timed out, its worker was lost) took *at least* that
        long. Such a censored sample ``t`` of worker ``i`` is added exactly as
        ``observe([i], [t])`` would add it, but only where it raises the estimate: when
        ``K_i = 0`` or ``t > muhat_i``. Otherwise it is dropped and changes nothing.
        Samples are taken in the order given (an earlier one can raise ``muhat_i`` above
        a later one).

        Why this rule: the lower confidence bound ``s_i`` decides how many tasks worker
        ``i`` gets, and a bound too low (optimistic) is what keeps handing a slow worker
        too many tasks; the true duration ``X`` is only known to be ``>= t``. Where
        ``t > muhat_i``, counting ``t`` gives the same ``K_i`` and a mean ``(X - t) / K_i``
        below the one the full sample would give, and above the one that ignoring the task
        gives: the bound moves up, on evidence, and never past where complete information
        would put it. Where ``t <= muhat_i``, counting ``t`` would pull ``muhat_i`` *down*
        on the evidence of a task that was still running, the optimistic direction a lower
        bound cannot support: it is dropped. An unexplored worker (``K_i = 0``, bound 0,
        the lowest there is) gets ``t`` as its first estimate, again a lower bound on what
        it was doing. The statistics stay plain ``K``, ``muhat``, ``M2``: saved, loaded
        and discounted like every other sample, under the policy's lock.

        Parameters
        ----------
        workers : array_like of int, shape (m,)
            Worker ids in ``[0, n_workers)``.
        elapsed : array_like of float, shape (m,)
            Seconds each task had run, finite and ``>= 0``.

        Returns
        -------
        int
            How many of the samples were added (the others did not raise the estimate).

        Raises
        ------
        ValueError, TypeError
            As :meth:`observe`: any bad element, and the policy is exactly as it was.
        """
        workers = _validate.worker_ids(workers)
        elapsed = _validate.real_array(elapsed, "elapsed", 1)
        if workers.shape[0] != elapsed.shape[0]:
            _validate.same_length(workers, elapsed, "elapsed")
        _validate.censored_values(elapsed)
        used = 0
        with self._lock:
            _validate.worker_range(workers, self._n)  # inside the lock: add_workers may grow n
            one_w, one_t = np.empty(1, dtype=np.int64), np.empty(1)
            for w, t in zip(workers.tolist(), elapsed.tolist()):
                if self._counts[w] == 0.0 or t > self._means[w]:
                    # The observe kernel itself, one sample at a time: the same bits as observe().
                    one_w[0], one_t[0] = w, t
                    self._kernels.observe_into(one_w, one_t, self._counts, self._means, self._m2)
                    used += 1
        return used

    def allocate(self, budget=None, *, out=None):
        """Start a round: the number of tasks for each worker.

        Parameters
        ----------
        budget : int, optional
            Tasks this round; the policy's default ``budget`` when omitted.
        out : ndarray of int64, shape (n_workers,), optional
            Filled in place and returned (no allocation at all on the hot path).

        Returns
        -------
        ndarray of int64, shape (n_workers,)
            ``a`` with ``a.sum() == budget``; unavailable workers get 0.

        Raises
        ------
        ValueError
            A bad ``budget`` or ``out``, or ``budget > 0`` with no available worker;
            the policy is then unchanged (``rounds`` included).
        """
        budget = self._budget if budget is None else _validate.budget(budget)
        with self._lock:
            out = np.empty(self._n, dtype=np.int64) if out is None else _validate.out_array(out, (self._n,))
            self._allocate_into(budget, out)
            self._rounds += 1
        return out

    def _allocate_into(self, budget, out):
        raise NotImplementedError

    # --- churn -------------------------------------------------------------------------

    def _ids(self, workers):
        workers = _validate.worker_ids(workers)
        _validate.worker_range(workers, self._n)
        return workers

    def add_workers(self, k):
        """Add ``k`` workers with ids ``n_workers .. n_workers + k - 1``; they start unexplored and available.

        Returns
        -------
        ndarray of int64
            The new workers' ids.
        """
        k = _validate.count(k, "k", 0)
        with self._lock:
            self._grow(k)
            self._availability_changed()  # UTA's list of available workers must take the new ones in
            return np.arange(self._n - k, self._n, dtype=np.int64)

    def _grow(self, k):
        self._counts = np.concatenate([self._counts, np.zeros(k)])
        self._means = np.concatenate([self._means, np.zeros(k)])
        self._m2 = np.concatenate([self._m2, np.zeros(k)])
        self._avail = np.concatenate([self._avail, np.ones(k, dtype=np.uint8)])
        self._resized()

    def set_available(self, workers, flag):
        """Mark workers available (``True``) or not (``False``).

        An unavailable worker gets no task (its bound is ``+inf``) but keeps its
        statistics, and its late results may still be observed, until it returns.
        """
        with self._lock:
            workers = self._ids(workers)
            flag = _validate.flag(flag)
            self._avail[workers] = flag
            self._availability_changed()

    def _availability_changed(self):
        pass

    def reset(self, workers):
        """Forget what was observed of these workers (say, their hardware changed): ``K_i = 0`` again."""
        with self._lock:
            workers = self._ids(workers)
            self._counts[workers] = 0.0
            self._means[workers] = 0.0
            self._m2[workers] = 0.0

    # --- persistence -------------------------------------------------------------------

    def _params(self):
        """Constructor arguments beyond ``n_workers`` and ``budget``, as JSON values."""
        return {}

    def _state(self):
        """``(meta, arrays)``: everything needed to continue this policy bit for bit."""
        meta = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "kind": type(self).__name__,
            "budget": self._budget,
            "backend": self._backend,
            "params": self._params(),
            "rounds": self._rounds,
        }
        arrays = {
            "counts": self._counts.copy(),
            "means": self._means.copy(),
            "m2": self._m2.copy(),
            "available": self._avail.astype(bool),
        }
        return meta, arrays

    def _restore(self, meta, arrays):
        """Take over a checked saved state (the inverse of ``_state``)."""
        self._rounds = meta["rounds"]
        self._counts = arrays["counts"].copy()
        self._means = arrays["means"].copy()
        self._m2 = arrays["m2"].copy()
        self._avail = arrays["available"].astype(np.uint8)
        self._resized()
        self._availability_changed()

    def save(self, path):
        """Write the whole state to ``path`` (an ``.npz`` file, no pickle), atomically.

        The file is written to a temporary file in the same folder, flushed to disk
        (``fsync``) and renamed over ``path`` (``os.replace``): a crash at any moment
        leaves either the old file or the new one, never a mix. A save killed midway
        leaves its temporary file (named after its process); the next save of ``path``
        removes the ones whose process is gone. Read it back with :func:`fastata.load`.
        """
        with self._lock:
            meta, arrays = self._state()
        arrays["meta"] = np.array(json.dumps(meta, allow_nan=False))
        _atomic_write(path, arrays)

    def __repr__(self):
        return f"{type(self).__name__}(n_workers={self._n}, budget={self._budget}, rounds={self._rounds})"


class _Adaptive(Policy):
    """ATA and ATA-Empirical: allocate on lower confidence bounds of the mean task times."""

    _variant = None
    _param_name = None

    def __init__(self, n_workers, budget, param, c, gamma, backend, explore_share=1.0):
        self._param = _validate.positive(param, self._param_name)
        self._c = _validate.positive(c, "c")
        self._gamma = _validate.discount(gamma)
        self._share = _validate.explore_share(explore_share)
        super().__init__(n_workers, budget, backend)
        self._weight = self._c * self._param  # the one product of the formula taken outside the kernel
        self._kdisc = 0.0  # discounted number of completed rounds, sum_{t<k} gamma**t

    @property
    def gamma(self):
        """The discount applied to every worker's counts once per round (1 = none, the paper)."""
        return self._gamma

    @property
    def c(self):
        """The constant in front of the confidence width (2 in the paper)."""
        return self._c

    @property
    def explore_share(self):
        """The most the unexplored workers may take of a round while another is explored (1 = the paper)."""
        return self._share

    def _log_term(self):
        """``L = ln(2 k^2)`` with ``k = max(discounted completed rounds, 1)``, once per round in Python."""
        k = self._kdisc if self._kdisc > 1.0 else 1.0
        return math.log(2.0 * k * k)

    @property
    def lower_bounds(self):
        s = np.empty(self._n)
        with self._lock:  # counts, means and the round count of one and the same round
            self._kernels.bounds_into(
                self._counts, self._means, self._avail, self._variant, self._weight, self._log_term(), s
            )
        return s

    def allocate(self, budget=None, *, out=None):
        # Inlined rather than Policy.allocate -> _allocate_into: one method call less on
        # the hot path (a scheduler at n = 51 runs 100,000 rounds a second through here).
        budget = self._budget if budget is None else _validate.budget(budget)
        with self._lock:
            out = np.empty(self._n, dtype=np.int64) if out is None else _validate.out_array(out, (self._n,))
            caps = None if self._share == 1.0 else explore_caps(self._counts, self._avail, self._share, budget)
            if caps is None:
                status = self._kernels.policy_round_warm(
                    self._counts, self._means, self._m2, self._avail, self._variant, self._weight,
                    self._log_term(), self._gamma, budget, self._s, out, self._ties, self._heap, self._warm,
                )  # fmt: skip
                if status:
                    _raise_for_round(status, budget)
            else:
                self._capped_round(budget, caps, out)
            self._rounds += 1
            self._kdisc = self._gamma * self._kdisc + 1.0
        return out

    allocate.__doc__ = Policy.allocate.__doc__

    def _capped_round(self, budget, caps, out):
        """``policy_round`` with the unexplored workers capped: bounds, capped allocation, discount.

        The canonical allocation with per-worker maxima (DESIGN.md section 2): worker ``i``
        owns the keys ``((j + 1) * s_i, j, i)`` for ``j < cap_i``, and the round takes the
        ``budget`` smallest. Every unexplored worker has ``s_i = 0``. If an explored worker
        also has ``s_i = 0`` (its confidence width still covers its mean), every zero key
        comes first: the tasks go round-robin over all zero-bound workers, the unexplored
        ones stopping at their caps, and the explored ones never run out of zero keys.
        Otherwise the unexplored take ``min(budget, sum(caps))`` round-robin and the rest
        goes to the explored workers by ``allocate`` on their (positive) bounds.
        """
        s = self._s
        self._kernels.bounds_into(self._counts, self._means, self._avail, self._variant, self._weight,
                                  self._log_term(), s)  # fmt: skip
        capped = caps >= 0
        zero = np.flatnonzero((s == 0.0) & ~capped)  # explored, available, bound 0: never capped
        out[:] = 0
        if zero.size:
            idx = np.union1d(np.flatnonzero(capped), zero)
            _round_robin(budget, np.where(capped[idx], caps[idx], budget), idx, out)
        else:
            unexplored = np.flatnonzero(capped)
            take = min(budget, int(caps[unexplored].sum()))
            _round_robin(take, caps[unexplored], unexplored, out)
            lam = s.copy()
            lam[unexplored] = np.inf
            rest = np.empty_like(out)
            status = self._kernels.allocate_warm_into(lam, budget - take, rest, self._ties, self._heap, self._warm)
            if status:
                _raise_for_round(status, budget)
            out += rest
        if self._gamma != 1.0:
            # What policy_round does after its allocation, in the same float64 products.
            self._counts *= self._gamma
            self._m2 *= self._gamma

    def __repr__(self):
        share = "" if self._share == 1.0 else f"explore_share={self._share!r}, "
        return (f"{type(self).__name__}(n_workers={self._n}, budget={self._budget}, "
                f"{self._param_name}={self._param!r}, c={self._c!r}, gamma={self._gamma!r}, "
                f"{share}rounds={self._rounds})")

    def _params(self):
        return {self._param_name: self._param, "c": self._c, "gamma": self._gamma, "kdisc": self._kdisc,
                "explore_share": self._share}  # fmt: skip

    @classmethod
    def _from_meta(cls, meta, backend):
        params = meta["params"]
        return cls(meta["n_workers"], meta["budget"], **{cls._param_name: params[cls._param_name]},
                   c=params["c"], gamma=params["gamma"], explore_share=params.get("explore_share", 1.0),
                   backend=backend)  # fmt: skip

    def _restore(self, meta, arrays):
        kdisc = meta["params"]["kdisc"]
        if not (isinstance(kdisc, float) and 0.0 <= kdisc < math.inf):
            raise ValueError(f"kdisc must be a finite float >= 0; got {kdisc!r}")
        super()._restore(meta, arrays)
        self._kdisc = kdisc


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
    """

    _variant = _status.VARIANT_EMPIRICAL
    _param_name = "eta"

    def __init__(self, n_workers, budget, *, eta, c=PAPER_C, gamma=1.0, explore_share=1.0, backend="auto"):
        super().__init__(n_workers, budget, eta, c, gamma, backend, explore_share)

    @property
    def eta(self):
        """The relative spread bound ``eta`` (a bound on ``alpha_i / mu_i``)."""
        return self._param


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
        status = self._kernels.allocate_warm_into(self._lam, budget, out, self._ties, self._heap, self._warm)
        if status:
            _raise_for_round(status, budget)

    def add_workers(self, k, *, means):
        """Add ``k`` workers whose true mean task times are ``means`` (shape ``(k,)``); returns their ids."""
        k = _validate.count(k, "k", 0)
        means = _validate.true_means(means) if k else np.empty(0)
        if means.shape[0] != k:
            raise ValueError(f"means must have one entry per new worker, {k}; got {means.shape[0]}")
        with self._lock:
            self._true = np.concatenate([self._true, means])
            self._grow(k)
            self._availability_changed()
            return np.arange(self._n - k, self._n, dtype=np.int64)

    def _state(self):
        meta, arrays = super()._state()
        arrays["true_means"] = self._true.copy()
        return meta, arrays

    @classmethod
    def _from_meta(cls, meta, backend, arrays):
        return cls(arrays["true_means"], meta["budget"], backend=backend)


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
        self._rng = np.random.default_rng(seed)
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

    def _state(self):
        meta, arrays = super()._state()
        meta["params"]["rng"] = self._rng.bit_generator.state
        return meta, arrays

    @classmethod
    def _from_meta(cls, meta, backend):
        return cls(meta["n_workers"], meta["budget"], backend=backend)

    def _restore(self, meta, arrays):
        rng = np.random.default_rng()
        try:
            rng.bit_generator.state = meta["params"]["rng"]
        except (TypeError, ValueError, KeyError) as exc:
            raise ValueError(f"rng must be a PCG64 state; got {meta['params'].get('rng')!r}") from exc
        super()._restore(meta, arrays)
        self._rng = rng


_KINDS = {cls.__name__: cls for cls in (ATA, ATAEmpirical, FTA, UTA)}


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


def _round_robin(budget, caps, idx, out):
    """Hand ``budget`` tasks round-robin over the workers ``idx`` (sorted), worker ``idx[r]`` stopping at ``caps[r]``.

    The canonical order of equal (zero) keys: ``(j, i)``, level ``j`` by level. With
    ``f(J) = sum(min(caps, J))`` the number of keys below level ``J``, every worker gets
    ``min(cap, J)`` for the largest ``J`` with ``f(J) <= budget``, and the few tasks left
    go to the lowest indices still below their cap. ``sum(caps) >= budget`` is the caller's.
    """
    lo, hi = 0, budget  # f(0) = 0 <= budget; f(hi) may exceed it
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if int(np.minimum(caps, mid).sum()) <= budget:
            lo = mid
        else:
            hi = mid - 1
    got = np.minimum(caps, lo)
    left = budget - int(got.sum())
    if left:
        room = np.flatnonzero(caps > lo)[:left]
        got[room] += 1
    out[idx] += got


def _raise_for_round(status, budget):
    if status == _status.NO_AVAILABLE_WORKER:
        raise _validate.no_available_worker(budget)
    raise RuntimeError(f"kernel returned unknown status {status}")


# --- files ------------------------------------------------------------------------------


#: A host tag in temporary file names: two machines saving into one shared folder never
#: take each other's process ids for their own.
_HOST = f"{zlib.crc32(socket.gethostname().encode()):08x}"
#: Old-style temporary files (no process id in the name) older than this are removed.
STALE_LEGACY_SECONDS = 3600.0


def _temp_prefix(base):
    return f".{base}.fastata-{os.getpid()}-{_HOST}-"


def _remove_stale_temps(folder, base):
    """Remove temporary files that earlier saves of ``base`` left behind when they were killed.

    A save killed between ``mkstemp`` and ``os.replace`` (SIGKILL, power cut) cannot clean
    up after itself. Its file name holds the writer's host tag and process id: a file of
    this host whose process is gone is stale; a live process (another thread or program
    saving the same path right now) keeps its file. Files named before process ids were
    recorded are removed once older than ``STALE_LEGACY_SECONDS``. POSIX only (checking a
    process id on Windows would need a handle to it); errors are ignored: cleaning up must
    never make a save fail.
    """
    if os.name != "posix":
        return
    ours = re.compile(r"\." + re.escape(base) + r"\.fastata-(\d+)-([0-9a-f]{8})-[^/]*\.tmp\Z")
    legacy = re.compile(r"\." + re.escape(base) + r"\.[a-z0-9_]{8}\.tmp\Z")  # mkstemp's 8 random characters
    try:
        names = [name for name in os.listdir(folder) if name.startswith(f".{base}.") and name.endswith(".tmp")]
    except OSError:
        return
    for name in names:
        full = os.path.join(folder, name)
        match = ours.match(name)
        with contextlib.suppress(OSError):
            if match is not None:
                if match.group(2) != _HOST or _process_alive(int(match.group(1))):
                    continue
            elif legacy.match(name) is None or time.time() - os.stat(full).st_mtime < STALE_LEGACY_SECONDS:
                continue
            os.unlink(full)


def _process_alive(pid):
    try:
        os.kill(pid, 0)  # signal 0: no signal sent, only the existence check
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, belongs to another user
    return True


def _atomic_write(path, arrays):
    """Write ``arrays`` as an ``.npz`` to a temporary file, fsync it, then rename it over ``path``.

    Stale temporary files of earlier saves of ``path`` that were killed are removed first.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    _remove_stale_temps(folder, base)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=_temp_prefix(base), suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    # Make the rename itself durable (POSIX; Windows has no directory handles to fsync).
    with contextlib.suppress(OSError, AttributeError):
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


_ARRAYS = {"counts": np.float64, "means": np.float64, "m2": np.float64, "available": np.bool_}


def _read(path):
    """``(meta, arrays)`` of a policy file, every layout check done; ``ValueError`` otherwise."""
    with open(path, "rb") as f:  # a missing file is FileNotFoundError, as everywhere in Python
        try:
            data = np.load(f, allow_pickle=False)
            if isinstance(data, np.lib.npyio.NpzFile):
                with data:
                    arrays = {key: data[key] for key in data.files}
        except Exception as exc:  # numpy and zipfile raise many kinds for a damaged file
            raise _validate.state_file(path, f"unreadable ({type(exc).__name__}: {exc})") from exc
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise _validate.state_file(path, "not an .npz archive")
    meta = arrays.pop("meta", None)
    if meta is None or meta.dtype.kind != "U" or meta.ndim != 0:
        raise _validate.state_file(path, "no fastata metadata (a foreign .npz file?)")
    try:
        meta = json.loads(str(meta))
    except ValueError as exc:
        raise _validate.state_file(path, "its metadata is not valid JSON") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _validate.state_file(path, f"format is not {FORMAT!r}")
    version = meta.get("version")
    if type(version) is not int or version < 1:
        raise _validate.state_file(path, f"bad format version {version!r}")
    if version > FORMAT_VERSION:
        raise _validate.state_file(
            path, f"written by a newer fastata (format version {version}; this one reads up to {FORMAT_VERSION})"
        )
    if meta.get("kind") not in _KINDS:
        raise _validate.state_file(path, f"unknown policy kind {meta.get('kind')!r}")
    if not isinstance(meta.get("params"), dict) or type(meta.get("rounds")) is not int or meta["rounds"] < 0:
        raise _validate.state_file(path, "params or rounds missing or malformed")
    n = None
    for key, dtype in _ARRAYS.items():
        array = arrays.get(key)
        if array is None or array.dtype != dtype or array.ndim != 1 or (n is not None and array.shape[0] != n):
            raise _validate.state_file(path, f"array {key!r} missing or of the wrong dtype or shape")
        n = array.shape[0]
    if n < 1:
        raise _validate.state_file(path, "no workers")
    counts, means, m2 = arrays["counts"], arrays["means"], arrays["m2"]
    if not (np.isfinite(counts).all() and np.isfinite(means).all() and np.isfinite(m2).all()):
        raise _validate.state_file(path, "non-finite statistics")
    if (counts < 0).any() or (m2 < 0).any() or (means < 0).any():
        raise _validate.state_file(path, "negative statistics")
    meta["n_workers"] = n
    return meta, arrays


def load(path, *, backend=None):
    """Load a policy written by ``policy.save(path)``; it continues exactly where the saved one stopped.

    Parameters
    ----------
    path : str or os.PathLike
    backend : str, optional
        Run the loaded policy on this backend instead of the saved choice (the
        results are the same bits on every backend).

    Returns
    -------
    ATA, ATAEmpirical, FTA or UTA

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        A truncated, corrupt or foreign file, or one written by a newer fastata.

    Examples
    --------
    >>> import os, tempfile
    >>> import fastata as fa
    >>> policy = fa.ATAEmpirical(3, 6, eta=0.1)
    >>> policy.observe([0, 1, 2], [1.0, 2.0, 4.0])
    >>> path = os.path.join(tempfile.mkdtemp(), "policy.npz")
    >>> policy.save(path)
    >>> again = fa.load(path)
    >>> type(again).__name__, again.means.tolist()
    ('ATAEmpirical', [1.0, 2.0, 4.0])
    >>> again.allocate().tolist() == policy.allocate().tolist()   # continues bit for bit
    True
    """
    meta, arrays = _read(path)
    cls = _KINDS[meta["kind"]]
    backend = meta.get("backend", "auto") if backend is None else backend
    try:
        if cls is FTA:
            policy = FTA._from_meta(meta, backend, arrays)
            if policy.n_workers != meta["n_workers"]:
                raise ValueError(f"true_means must have {meta['n_workers']} entries; got {policy.n_workers}")
        else:
            policy = cls._from_meta(meta, backend)
        policy._restore(meta, arrays)
    except (TypeError, ValueError, KeyError) as exc:
        if isinstance(exc, ValueError) and str(exc).startswith("backend must"):
            raise
        raise _validate.state_file(path, f"bad saved parameters ({type(exc).__name__}: {exc})") from exc
    return policy

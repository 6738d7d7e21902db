"""What every policy shares: per-worker statistics, availability, rounds, churn and saving.

:class:`Policy` holds the state of DESIGN.md section 3 (``K_i``, ``muhat_i``, ``M2_i``, the
availability flags and the round count), the protocol's ``observe`` and ``allocate`` (a
subclass writes ``_allocate_into``), churn and ``save``; the file format itself lives in
:mod:`.files`. The package docstring (``fastata.policies``) describes the whole family.
"""

import copy
import json
import threading

import numpy as np

from .. import _backends, _validate
from ..kernels import status as _status
from .files import FORMAT, FORMAT_VERSION, _atomic_write


class Policy:
    """What every policy shares: per-worker statistics, availability, rounds and persistence.

    Not used directly: see :class:`ATA`, :class:`ATAEmpirical`, :class:`FTA`, :class:`UTA`.

    Thread-safe: one policy may be shared by many threads (a lock guards its state; see
    the module's "Threads" note for the live views).
    """

    def __init__(self, n_workers, budget, backend):
        n = _validate.count(n_workers, "n_workers", 1, _validate.MAX_WORKERS)
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
        self._bind_kernels()
        self._make_views()

    def _bind_kernels(self):
        """The kernels with the policy's arrays kept (:func:`fastata._backends.statistics`):
        rebuilt whenever one of those arrays is replaced."""
        self._scratch = _backends.scratch(self._kernels, self._ties, self._heap, self._warm)
        self._stats = _backends.statistics(self._kernels, self._counts, self._means, self._m2, self._avail, self._s,
                                           self._ties, self._heap, self._warm)  # fmt: skip

    def _make_views(self):
        self._views = {}
        for name, array in (("counts", self._counts), ("means", self._means), ("available", self._avail)):
            view = array.view(np.bool_) if name == "available" else array.view()
            view.flags.writeable = False
            self._views[name] = view

    # --- copies and pickles: a policy of its own ---------------------------------------

    def __getstate__(self):
        # The kernels (a module, and those bound to the arrays) and the lock do not pickle: the
        # backend's name and a fresh lock stand for them; the views and the bound kernels are
        # rebuilt on the copied arrays.
        with self._lock:
            state = self.__dict__.copy()
        for name in ("_kernels", "_scratch", "_stats", "_lock", "_views"):
            del state[name]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._backend_name, self._kernels = _backends.resolve(self._backend, "single")
        self._lock = threading.Lock()
        self._bind_kernels()
        self._make_views()

    def __copy__(self):
        # A shallow copy would share the statistics: observing into it would change this
        # policy too. A copy is a policy of its own, as pickle.loads(pickle.dumps(p)) is.
        return copy.deepcopy(self)

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
        """``K_i``: tasks observed per worker (discounted by ``gamma`` each round); a read-only
        view, live until ``add_workers`` gives the policy longer arrays (read it again then)."""
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
        workers, durations = _validate.samples(workers, durations, self._n)
        self._lock.acquire()  # not ``with``: on the hot path, half the cost (60 ns against 120)
        try:
            status = self._stats.observe(workers, durations)
        finally:
            self._lock.release()
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
        workers, elapsed = _validate.samples(workers, elapsed, self._n, "elapsed")
        _validate.censored_values(elapsed)
        used = 0
        with self._lock:
            _validate.worker_range(workers, self._n)  # inside the lock: add_workers may grow n
            one_w, one_t = np.empty(1, dtype=np.int64), np.empty(1)
            for w, t in zip(workers.tolist(), elapsed.tolist()):
                if self._counts[w] == 0.0 or t > self._means[w]:
                    # The observe kernel itself, one sample at a time: the same bits as observe().
                    one_w[0], one_t[0] = w, t
                    self._stats.observe(one_w, one_t)
                    used += 1
        return used

    def allocate(self, budget=None, *, min_tasks=None, max_tasks=None, out=None):
        """Start a round: the number of tasks for each worker.

        Parameters
        ----------
        budget : int, optional
            Tasks this round; the policy's default ``budget`` when omitted.
        min_tasks, max_tasks : int or array_like of int, shape (n_workers,), optional
            Per-worker bounds on this round's allocation, as in :func:`fastata.allocate`
            (a single ``min_tasks`` applies to the available workers).
        out : ndarray of int64, shape (n_workers,), optional
            Filled in place and returned (no allocation at all on the hot path).

        Returns
        -------
        ndarray of int64, shape (n_workers,)
            ``a`` with ``a.sum() == budget``; unavailable workers get 0.

        Raises
        ------
        ValueError
            A bad ``budget`` or ``out``, ``budget > 0`` with no available worker, or bounds
            no allocation meets; the policy is then unchanged (``rounds`` included).
        """
        budget = self._budget if budget is None else _validate.budget(budget)
        with self._lock:
            out = np.empty(self._n, dtype=np.int64) if out is None else _validate.out_array(
                out, (self._n,), min_tasks=min_tasks, max_tasks=max_tasks)
            if min_tasks is None and max_tasks is None:
                self._allocate_into(budget, out)
            else:
                self._allocate_bounded(budget, min_tasks, max_tasks, out)
            self._rounds += 1
        return out

    def _allocate_into(self, budget, out):
        raise NotImplementedError

    def _allocate_bounded(self, budget, min_tasks, max_tasks, out):
        """:meth:`_allocate_into` with per-worker bounds."""
        raise NotImplementedError

    def _bounded_into(self, lam, budget, min_tasks, max_tasks, out):
        """The canonical allocation of ``budget`` over ``lam`` with per-worker bounds, into ``out``."""
        status, bounds = _backends.allocate_bounded(self._scratch, lam, budget, min_tasks, max_tasks, out)
        if status:
            _raise_for_round(status, budget, lam, bounds)

    # --- churn -------------------------------------------------------------------------

    def _ids(self, workers):
        workers = _validate.worker_ids(workers, n=self._n)
        _validate.worker_range(workers, self._n)
        return workers

    def add_workers(self, k):
        """Add ``k`` workers with ids ``n_workers .. n_workers + k - 1``; they start unexplored and available.

        Returns
        -------
        ndarray of int64
            The new workers' ids.
        """
        k = _validate.count(k, "k", 0, _validate.MAX_WORKERS - self._n)
        with self._lock:
            self._grow(k)
            self._availability_changed()  # UTA's list of available workers must take the new ones in
            return np.arange(self._n - k, self._n, dtype=np.int64)

    def _grow(self, k):
        # Every new array before any is kept: a MemoryError part-way leaves the policy as it was.
        grown = (np.concatenate([self._counts, np.zeros(k)]), np.concatenate([self._means, np.zeros(k)]),
                 np.concatenate([self._m2, np.zeros(k)]), np.concatenate([self._avail, np.ones(k, dtype=np.uint8)]))
        kept = self._counts, self._means, self._m2, self._avail
        self._counts, self._means, self._m2, self._avail = grown
        try:
            self._resized()
        except MemoryError:
            self._counts, self._means, self._m2, self._avail = kept
            self._resized()
            raise

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



def _raise_for_round(status, budget, lam=None, bounds=None):
    if status == _status.NO_AVAILABLE_WORKER:
        raise _validate.no_available_worker(budget)
    if bounds is not None:
        _validate.raise_for_status(status, lam, budget, bounds=bounds)
    raise RuntimeError(f"kernel returned unknown status {status}")


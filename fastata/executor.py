"""Run ATA rounds on real workers: the engine-neutral core behind :mod:`fastata.dask`.

A round is ``run_round(fn, items)``: ``len(items)`` tasks, one per item, whose results come
back in the order of ``items``. This module holds everything that does not depend on the
compute engine: the address <-> policy-index map, the round's bookkeeping (which item runs
where, which result is in), the re-allocation of a dead worker's unfinished tasks, the
greedy (GTA) loop and the history records. An *engine* does the rest; it is any object with

``addresses() -> list[str]``
    The workers connected now.
``submit(fn, items, address) -> list[handle]``
    Start ``fn(item)`` for each item, in this order, on that worker only (no fallback to
    another worker); one hashable handle per item. The engine measures each call on the
    worker and reports ``(value, seconds)``.
``next_done(timeout) -> (handle, kind, payload) | None``
    Block until a submitted task finishes, at most ``timeout`` seconds (``None`` then;
    ``timeout=0`` only looks). ``kind`` is ``"ok"`` (payload ``(value, seconds)``),
    ``"error"`` (payload: the exception ``fn`` raised) or ``"lost"`` (the worker died
    under the task; payload ``None``).
``cancel(handles)``
    Stop and forget these tasks; their results, if any still come, are never reported.
``close(timeout)``
    Cancel what is left and wait, at most ``timeout`` seconds, until the cancelled tasks
    have stopped running on the workers (so that shutting the cluster down right after is clean).
``nthreads() -> dict[str, int]`` (optional)
    Tasks each worker runs at once (1 when absent): how many of a worker's tasks may be
    running when a round gives up on them (see "Censored samples").

:mod:`fastata.dask` is the Dask engine; ``tests/test_executor.py`` drives this core with a
fake in-process engine.

**Policy indices.** The workers connected when the executor is built get policy indices
``0..n-1`` in sorted address order (the policy may have more: the extra indices are marked
unavailable; fewer: the policy grows with ``add_workers``). A worker that joins later is
appended (``add_workers(1)``: it starts unexplored, so the policy explores it); a worker
that leaves is marked unavailable (``set_available(i, False)``) and gets its index back,
available again, if the same address returns. ``executor.addresses[i]`` is worker ``i``.
An :class:`~fastata.FTA` policy knows the means of its workers only: a worker that joins is
left without tasks.

**Watching the workers.** A task pinned to a worker that dies is not failed by every
engine (Dask keeps it waiting for that worker), so a round re-reads the worker list every
``POLL_INTERVAL`` seconds while it waits, whether or not other results keep coming in, and
at once when a task is reported lost (usually its worker has just died). Every departed
worker's unfinished tasks, queued, running or finished but not yet fetched, go to the
workers still connected, whatever noticed the departure first. An engine must therefore
never block longer than the ``timeout`` it is given (the Dask engine fetches results in
the background for this reason).

**Censored samples.** A task that a round gives up on, because the round timed out or its
worker left, ran for some time that is a lower bound on its duration; the adaptive
executor hands these to ``policy.observe_censored`` (when the policy has it) so that a
slow worker is not given as many tasks again. A worker is taken to run its tasks in the
order they were handed to it, ``nthreads`` at a time; a task's start is read on the
client's clock: its submission for the first ``nthreads`` tasks of a worker in the round,
else the report of the result that freed its thread (reports come after the fact, so
this start is late, and the elapsed time short, as a lower bound should be; only the
first tasks' dispatch, milliseconds, counts in). It runs until the round's deadline
(timeout) or until the worker was last seen connected (a worker that left: the last
poll that listed it, or its last result). Tasks still queued behind it give nothing.
A worker that was still busy with an earlier round's cancelled task when the round
started breaks the first assumption (its first task starts later than the client thinks).
"""

import dataclasses
import heapq
import threading
import time

import numpy as np

from . import _validate
from .policies import FTA, Policy, explore_caps

#: How often (seconds) a round re-reads the worker list to notice a dead or new worker.
POLL_INTERVAL = 0.25


class TaskError(RuntimeError):
    """A task raised: ``index`` is the item's position in ``items``, ``exception`` (and ``__cause__``) the error.

    Examples
    --------
    >>> from fastata.executor import TaskError        # also fastata.dask.TaskError
    >>> error = TaskError(3, ZeroDivisionError("division by zero"))
    >>> error.index, str(error)
    (3, 'the task for item 3 raised ZeroDivisionError: division by zero')
    """

    def __init__(self, index, exception):
        super().__init__(f"the task for item {index} raised {type(exception).__name__}: {exception}")
        self.index = index
        self.exception = exception


class NoWorkersError(RuntimeError):
    """No worker is connected, so the round cannot finish.

    Examples
    --------
    >>> from fastata.executor import NoWorkersError   # also fastata.dask.NoWorkersError
    >>> issubclass(NoWorkersError, RuntimeError)    # a round with no worker left raises it
    True
    """


@dataclasses.dataclass(frozen=True)
class RoundRecord:
    """What one round cost.

    ``wall_time``: seconds from submission to the last result, measured by the client.
    ``worker_time``: billed worker seconds. Adaptive rounds: the sum of the task times
    measured on the workers (idle workers are not billed; a task lost with its worker is
    not billed either, as its time was never measured). Greedy rounds: ``workers *
    wall_time``, every worker being busy the whole round (DESIGN.md section 5).
    ``task_time``: the sum of the measured times of the tasks that reported a result.
    ``workers``: workers connected at the round's end.
    ``allocation``: tasks first handed to each address (greedy: tasks started per address).
    ``resubmitted``: tasks started again after their worker died (greedy: also the copies
    of unfinished items started by idle workers).
    ``censored``: lower bounds on task times handed to ``policy.observe_censored`` (tasks
    running on workers that left; adaptive rounds only).

    Examples
    --------
    >>> from fastata.executor import RoundRecord      # also fastata.dask.RoundRecord
    >>> record = RoundRecord(round=0, budget=8, wall_time=2.0, worker_time=3.5, task_time=3.5, workers=2,
    ...                      allocation={"tcp://a:1": 6, "tcp://b:1": 2}, resubmitted=0)
    >>> record.worker_time / (record.workers * record.wall_time)   # the workers' busy share
    0.875
    """

    round: int
    budget: int
    wall_time: float
    worker_time: float
    task_time: float
    workers: int
    allocation: dict
    resubmitted: int
    censored: int = 0


class WorkerMap:
    """Address <-> policy index, kept in step with the engine's worker list.

    Without a policy (the greedy executor) it only tracks which addresses are connected.
    """

    def __init__(self, addresses, policy=None):
        self.policy = policy
        start = sorted(addresses)
        self.index = {}  # address -> policy index
        self.connected = set(start)
        if policy is not None:
            if policy.n_workers < len(start):
                if not _grows(policy):
                    _validate.fixed_policy_workers(policy.n_workers, len(start))
                policy.add_workers(len(start) - policy.n_workers)
            elif policy.n_workers > len(start):
                policy.set_available(np.arange(len(start), policy.n_workers), False)
            # Placeholders for the policy's extra indices: no address maps to them.
            self.addresses = [None] * policy.n_workers  # index -> address, never shrinks
        else:
            self.addresses = [None] * len(start)
        for i, address in enumerate(start):
            self.addresses[i] = address
            self.index[address] = i

    def sync(self, addresses):
        """Take in the worker list now: returns ``(joined, left)`` address lists."""
        now = set(addresses)
        joined = sorted(now - self.connected)
        left = sorted(self.connected - now)
        if not joined and not left:
            return joined, left
        new = [a for a in joined if a not in self.index]
        if self.policy is not None and not _grows(self.policy):
            new = []  # e.g. the oracle, which has no mean for a newcomer: it stays without tasks
        back = [self.index[a] for a in joined if a in self.index]
        gone = [self.index[a] for a in left if a in self.index]
        if self.policy is not None:
            if new:
                self.policy.add_workers(len(new))
            if back:
                self.policy.set_available(back, True)
            if gone:
                self.policy.set_available(gone, False)
        for address in new:
            self.index[address] = len(self.addresses)
            self.addresses.append(address)
        self.connected = now
        return joined, left


def _grows(policy):
    """Whether a joining worker can be given to ``policy``: it has ``add_workers`` (FTA's needs true means)."""
    return hasattr(policy, "add_workers") and not isinstance(policy, FTA)


def _timed(fn, item):
    """Run ``fn(item)`` and measure it: what the engines execute on the worker."""
    start = time.perf_counter()
    value = fn(item)
    return value, time.perf_counter() - start


def top_up(lam, queued, k, room=None):
    """Hand ``k`` more tasks to workers that already hold ``queued[i]`` tasks, by the canonical rule.

    Each task goes to the worker with the smallest key ``((queued_i + a_i + 1) * lam_i,
    queued_i + a_i, i)`` (DESIGN.md section 2, continued from ``queued`` instead of from
    zero): with ``queued = 0`` this is ``fastata.allocate(lam, k)``. ``lam_i = +inf``
    workers get nothing; with ``room``, worker ``i`` gets at most ``room[i]`` (``-1``:
    no limit), as the per-worker maxima of DESIGN.md section 2. A heap, ``O(n + k log n)``:
    it runs only when tasks were lost.
    """
    lam = lam.tolist()
    room = [-1] * len(lam) if room is None else room.tolist()
    heap = [((q + 1) * x, q, i) for i, (x, q) in enumerate(zip(lam, queued.tolist())) if x != np.inf and room[i] != 0]
    if k and not heap:
        raise _validate.no_available_worker(k)
    heapq.heapify(heap)
    counts = np.zeros(len(lam), dtype=np.int64)
    for _ in range(k):
        if not heap:
            raise _validate.no_available_worker(k)
        _, held, i = heap[0]
        counts[i] += 1
        if counts[i] == room[i]:
            heapq.heappop(heap)
        else:
            heapq.heapreplace(heap, ((held + 2) * lam[i], held + 1, i))
    return counts


class _Round:
    """One round's bookkeeping: which task holds which item, which results are in."""

    def __init__(self, engine, fn, items, timeout):
        self.engine = engine
        self.fn = fn
        self.items = items
        self.t0 = time.perf_counter()
        self.deadline = None if timeout is None else self.t0 + timeout
        self.next_check = self.t0 + POLL_INTERVAL
        self.results = [None] * len(items)
        self.done = np.zeros(len(items), dtype=bool)
        self.remaining = len(items)
        self.running = {}  # handle -> (item index, address)
        self.started = {}  # address -> tasks started there
        self.first = {}  # address -> tasks first handed out (the allocation)
        self.order = {}  # address -> [(handle, submission time)] in the order handed out
        self.reports = {}  # address -> client times of its reports (results, errors, losses)
        self.observed_workers = []
        self.observed_seconds = []
        self.censored_workers = []
        self.censored_seconds = []
        self.task_time = 0.0
        self.resubmitted = 0
        self.bounds = None  # (min_tasks, max_tasks) of the round, or None

    def submit(self, indices, address):
        """Start the items at ``indices`` on ``address``, in this order."""
        handles = self.engine.submit(self.fn, [self.items[i] for i in indices], address)
        now = time.perf_counter()
        queue = self.order.setdefault(address, [])
        for handle, index in zip(handles, indices):
            self.running[handle] = (index, address)
            queue.append((handle, now))
        self.started[address] = self.started.get(address, 0) + len(indices)

    def reported(self, address, now):
        """A task of ``address`` reported: one of its threads took the next task at about this time."""
        self.reports.setdefault(address, []).append(now)

    def elapsed(self, address, end, threads):
        """Lower bounds ``end - start`` on the running (started, unfinished) tasks of ``address``.

        Tasks run in the order handed out, ``threads`` at a time: the ``u``-th starts once
        ``u - threads + 1`` of the worker's tasks have reported (see the module's "Censored
        samples"). Queued tasks give nothing.
        """
        reports = self.reports.get(address, [])
        out = []
        for u, (handle, submitted) in enumerate(self.order.get(address, [])):
            needed = u - threads + 1  # reports before this task can have a thread
            if needed > len(reports):
                break  # still queued, and so is everything after it
            if handle in self.running:
                start = submitted if needed <= 0 else max(submitted, reports[needed - 1])
                if end > start:
                    out.append(end - start)
        return out

    def wait(self, now):
        """The next finished task, or ``None`` once the worker list is due for a check.

        Raises ``_Expired`` at the deadline (the runner censors the running tasks, then
        raises the user's ``TimeoutError``).
        """
        timeout = max(self.next_check - now, 0.0)
        if self.deadline is not None:
            if now >= self.deadline:
                raise _Expired()
            timeout = min(timeout, self.deadline - now)
        return self.engine.next_done(timeout)

    def timeout_error(self):
        return TimeoutError(f"the round did not finish within its timeout; {self.remaining} "
                            f"of {len(self.items)} results missing")  # fmt: skip

    def keep(self, index, value, seconds):
        self.results[index] = value
        self.done[index] = True
        self.remaining -= 1
        self.task_time += seconds

    def cancel_all(self):
        if self.running:
            self.engine.cancel(list(self.running))
            self.running.clear()

    def forget(self, addresses):
        """Drop (and cancel) the tasks running on these addresses; their item indices, sorted."""
        addresses = set(addresses)
        handles = [h for h, (_, address) in self.running.items() if address in addresses]
        if handles:
            self.engine.cancel(handles)
        for address in addresses:  # should the address come back, it starts afresh
            self.order.pop(address, None)
            self.reports.pop(address, None)
        return sorted(self.running.pop(h)[0] for h in handles)


class _Expired(Exception):
    """The round's deadline passed (internal: becomes the user's ``TimeoutError``)."""


class _Runner:
    """What both runners share: the engine, the worker map, the history, the round's frame."""

    #: Seconds a round waits for a worker to (re)join when none is connected, before ``NoWorkersError``.
    no_worker_grace = 5.0

    def __init__(self, engine, policy=None):
        self.engine = engine
        self.policy = policy
        self.workers = WorkerMap(engine.addresses(), policy)
        now = time.perf_counter()
        self._last_seen = dict.fromkeys(self.workers.connected, now)  # address -> last sign of life
        self.history = []
        self._closed = False
        # One round at a time: two rounds sharing the engine would take each other's results.
        self._lock = threading.Lock()

    @property
    def addresses(self):
        """``addresses[i]``: the worker behind policy index ``i`` (``None`` for an index never mapped)."""
        return list(self.workers.addresses)

    def run_round(self, fn, items, *, min_tasks=None, max_tasks=None, timeout=None):
        """Run ``fn(item)`` for every item; the results in the order of ``items``.

        Parameters
        ----------
        fn : callable
            Runs on the workers, one call per item.
        items : sequence
            One task per item; ``len(items)`` is the round's budget.
        min_tasks, max_tasks : int or array_like of int, shape (policy.n_workers,), optional
            Per-worker bounds on the round's allocation, by policy index (``addresses[i]``),
            as in :func:`fastata.allocate` (adaptive executors only). A worker lost
            mid-round takes its capacity with it: its unfinished tasks go to the others
            within their ``max_tasks`` (counting every task they started this round), or
            the round raises ``ValueError`` when they cannot hold them.
        timeout : float, optional
            Seconds after which the round gives up (``TimeoutError``).

        Raises
        ------
        TaskError
            A task raised (``.index`` is the item's position); the round's other tasks are cancelled.
        NoWorkersError
            No worker is connected (after ``no_worker_grace`` seconds for one to join).
        TimeoutError
            The round took longer than ``timeout``.

        The executor stays usable after each of them. Threads that share an executor run
        their rounds one after another.
        """
        items = _validate.round_items(items)
        timeout = _validate.round_timeout(timeout)
        fn = _validate.task_function(fn)
        bounds = self._round_bounds(min_tasks, max_tasks)
        with self._lock:
            return self._run_round(fn, items, timeout, bounds)

    def _round_bounds(self, min_tasks, max_tasks):
        return None if min_tasks is None and max_tasks is None else (min_tasks, max_tasks)

    def _run_round(self, fn, items, timeout, bounds=None):
        if self._closed:
            raise RuntimeError("the executor is closed")
        state = _Round(self.engine, fn, items, timeout)
        state.bounds = bounds
        try:
            self._sync(state.deadline)  # the wait for a worker counts against the round's timeout
        except _Expired:
            raise TimeoutError(f"no worker connected within the round's timeout ({timeout:g} s); none of "
                               f"its {len(items)} tasks ran") from None
        try:
            self._run(state)
            while state.remaining:
                # Re-read the workers on the clock, also while results keep coming.
                now = time.perf_counter()
                if now >= state.next_check:
                    self._check_workers(state)
                    now = time.perf_counter()
                    state.next_check = now + POLL_INTERVAL
                event = state.wait(now)
                if event is None:
                    state.next_check = 0.0  # the wait ran out: check now
                    continue
                where = state.running.get(event[0])
                if where is not None:
                    now = time.perf_counter()
                    state.reported(where[1], now)
                    if event[1] != "lost":
                        self._last_seen[where[1]] = now
                self._handle(state, *event)
        except _Expired:
            self._expired(state)
            raise state.timeout_error() from None
        finally:
            state.cancel_all()
            self._finish(state)
        self._record(state)  # completed rounds only
        return state.results

    def _sync(self, round_deadline=None):
        """Re-read the worker list; ``(joined, left)``. Raises ``NoWorkersError`` when none stays connected.

        The wait for a worker to (re)join stops at ``round_deadline`` too (``_Expired``): a
        round never runs past its timeout waiting.
        """
        joined, left = self._read_workers()
        if not self.workers.connected:
            # A nanny may be restarting the last worker: give it a moment before giving up.
            deadline = time.perf_counter() + self.no_worker_grace
            while not self.workers.connected and time.perf_counter() < deadline:
                pause = POLL_INTERVAL
                if round_deadline is not None:
                    left_s = round_deadline - time.perf_counter()
                    if left_s <= 0.0:
                        raise _Expired()
                    pause = min(pause, left_s)
                time.sleep(pause)
                more_joined, more_left = self._read_workers()
                joined, left = joined + more_joined, left + more_left
            if not self.workers.connected:
                raise NoWorkersError(f"no worker is connected (waited {self.no_worker_grace:g} s for one): "
                                     "the round cannot run")  # fmt: skip
        return joined, left

    def _read_workers(self):
        joined, left = self.workers.sync(self.engine.addresses())
        now = time.perf_counter()
        for address in self.workers.connected:
            self._last_seen[address] = now
        return joined, left

    def _finish(self, state):
        """After every round, completed or not (a policy learns from what was measured)."""

    def _expired(self, state):
        """The round's deadline passed, its tasks are about to be cancelled."""

    def _record(self, state):
        wall = time.perf_counter() - state.t0
        workers = len(self.workers.connected)
        self.history.append(RoundRecord(
            round=len(self.history), budget=len(state.items), wall_time=wall,
            worker_time=self._billed(state, workers, wall), task_time=state.task_time, workers=workers,
            allocation=state.first, resubmitted=state.resubmitted, censored=len(state.censored_seconds),
        ))  # fmt: skip

    def close(self, timeout=30.0):
        """Cancel what is left and wait (at most ``timeout`` s) until no task of this executor still runs.

        Results of a finished round are all in, but a greedy round (or one that raised)
        leaves cancelled tasks running on the workers until ``fn`` returns: closing the
        cluster under them makes the workers log cancellation warnings. The executor
        refuses new rounds afterwards; the client and the cluster stay open (they are yours).
        """
        timeout = _validate.nonnegative(timeout, "timeout")
        with self._lock:
            self._closed = True
            self.engine.close(timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


class AdaptiveRunner(_Runner):
    """Rounds allocated by a policy over the connected workers (the engine-neutral ATA executor)."""

    def __init__(self, engine, policy):
        super().__init__(engine, _validate.executor_policy(policy))
        self._threads = {}  # address -> tasks it runs at once, as last reported (kept after it leaves)

    def _run(self, state):
        if state.items:
            if state.bounds is None:
                counts = self.policy.allocate(len(state.items))
            else:
                counts = self.policy.allocate(len(state.items), min_tasks=state.bounds[0], max_tasks=state.bounds[1])
            if not isinstance(self.policy, Policy):  # an object of the user's: check what it handed out
                counts = _validate.policy_allocation(np.asarray(counts), self.policy.n_workers, len(state.items))
            self._submit(state, np.arange(len(state.items)), counts)
        state.first = dict(state.started)

    def _submit(self, state, indices, counts):
        """Hand ``indices`` out in order: worker ``i`` (policy index) gets the next ``counts[i]``."""
        at = 0
        for i in np.flatnonzero(counts):
            state.submit(indices[at : at + counts[i]].tolist(), self.workers.addresses[i])
            at += counts[i]

    def _reallocate(self, state, lost):
        """Give the lost items to the connected workers: the policy's bounds, and the tasks they still hold.

        The worker list was read just before (``_check_workers``), and its departures handled.
        """
        lam = self._estimates()  # +inf for the workers that left
        queued = np.zeros(lam.shape[0], dtype=np.int64)
        for _, address in state.running.values():
            queued[self.workers.index[address]] += 1
        room = self._explore_room(state, lam.shape[0])
        bound_room = self._bound_room(state, lam.shape[0])
        if bound_room is not None:
            capacity = int(bound_room[lam < np.inf].sum())
            if capacity < len(lost):
                raise ValueError(_validate.lost_over_capacity(len(lost), capacity))
            room = bound_room if room is None else np.where(room < 0, bound_room, np.minimum(room, bound_room))
        state.resubmitted += len(lost)
        self._submit(state, np.asarray(lost), top_up(lam, queued, len(lost), room))

    def _bound_room(self, state, n):
        """How many more tasks each worker may take this round under ``max_tasks``, or None."""
        if state.bounds is None or state.bounds[1] is None:
            return None
        room = _validate.task_bounds(None, state.bounds[1], np.zeros(n))[1].copy()
        for address, started in state.started.items():
            i = self.workers.index.get(address)
            if i is not None:
                room[i] -= started
        return np.clip(room, 0, len(state.items))

    def _estimates(self):
        """The policy's ``lower_bounds``, or, for a policy without them, equal ones over the connected workers."""
        if hasattr(self.policy, "lower_bounds"):
            return np.asarray(self.policy.lower_bounds, dtype=np.float64)
        lam = np.full(self.policy.n_workers, np.inf)
        for address in self.workers.connected:
            i = self.workers.index.get(address)
            if i is not None and i < lam.shape[0]:
                lam[i] = 1.0
        return lam

    def _explore_room(self, state, n):
        """How many more tasks each worker may take this round under the policy's ``explore_share`` (``-1``: any)."""
        share = getattr(self.policy, "explore_share", 1.0)
        if share >= 1.0:
            return None
        caps = explore_caps(np.asarray(self.policy.counts), np.asarray(self.policy.available), share, len(state.items))
        if caps is None:
            return None
        for address, started in state.started.items():
            i = self.workers.index.get(address)
            if i is not None and caps[i] >= 0:
                caps[i] = max(caps[i] - started, 0)
        return caps

    def _handle(self, state, handle, kind, payload):
        if handle not in state.running:
            return  # a task already given up on (its worker left)
        if kind == "lost":
            # Usually the worker died: read the worker list now, so that its other tasks
            # (queued, or finished but not fetched) move with this one instead of waiting.
            self._check_workers(state, [handle])
            return
        index, address = state.running.pop(handle)
        if kind == "error":
            raise TaskError(index, payload) from payload
        else:
            value, seconds = payload
            state.keep(index, value, seconds)
            state.observed_workers.append(self.workers.index[address])
            state.observed_seconds.append(seconds)

    def _check_workers(self, state, lost=()):
        """Read the worker list; the departed workers' unfinished tasks and the ``lost`` tasks (handles) go to the others."""
        _, left = self._sync(state.deadline)
        items = []
        if left:
            self._censor(state, left, self._last_seen)  # before forget: it reads what is running
            items += state.forget(left)
        items += [state.running.pop(h)[0] for h in lost if h in state.running]  # lost, worker still listed
        lost = sorted({i for i in items if not state.done[i]})
        if lost:
            self._reallocate(state, lost)

    def _expired(self, state):
        # Before the running tasks are cancelled: how long they have run is evidence.
        _, left = self._read_workers()
        now = time.perf_counter()
        self._censor(state, left, self._last_seen)
        self._censor(state, [a for a in state.order if a in self.workers.connected], dict.fromkeys(state.order, now))

    def _censor(self, state, addresses, end):
        """Lower bounds on the running tasks of ``addresses``, which ran until ``end[address]``."""
        nthreads = getattr(self.engine, "nthreads", None)
        if nthreads is not None:
            self._threads.update(nthreads())
        threads = self._threads
        for address in addresses:
            i = self.workers.index.get(address)
            if i is None or address not in end:
                continue
            for seconds in state.elapsed(address, end[address], threads.get(address, 1)):
                state.censored_workers.append(i)
                state.censored_seconds.append(seconds)

    def _finish(self, state):
        if state.observed_workers:  # also after an error: what was measured is true
            self.policy.observe(np.asarray(state.observed_workers, dtype=np.int64), np.asarray(state.observed_seconds))
        censored = getattr(self.policy, "observe_censored", None)
        if state.censored_workers and censored is not None:  # after the samples: they set the mean it is compared with
            censored(np.asarray(state.censored_workers, dtype=np.int64), np.asarray(state.censored_seconds))

    def _billed(self, state, workers, wall):
        return state.task_time  # the measured busy time; idle workers are not billed


class GreedyRunner(_Runner):
    """Greedy asynchronous collection (GTA) on the same engine: every worker computes all the time.

    Each worker holds one task at a time and takes the next item as soon as it finishes one.
    When every item has been handed out, an idle worker starts a copy of an unfinished item
    (the one with the fewest copies running, lowest index first), as GTA's workers keep
    computing; the first result of each item is kept and the other copies are cancelled, so
    the round ends with the ``budget``-th distinct result and the work still running is wasted.
    """

    def _round_bounds(self, min_tasks, max_tasks):
        if min_tasks is not None or max_tasks is not None:
            raise TypeError(_validate.greedy_bounds())
        return None

    def _run(self, state):
        self._queue = list(range(len(state.items)))[::-1]  # pop() gives the lowest index first
        self._copies = np.zeros(len(state.items), dtype=np.int64)
        state.first = state.started  # the same dict: every task started, copies included, is in the record
        for address in sorted(self.workers.connected):
            self._feed(state, address)

    def _feed(self, state, address):
        """Give an idle worker its next task: a fresh item, else a copy of an unfinished one."""
        while self._queue and state.done[self._queue[-1]]:
            self._queue.pop()
        if self._queue:
            index = self._queue.pop()
        else:
            pending = np.flatnonzero(~state.done)
            if pending.size == 0:
                return
            index = int(pending[np.argmin(self._copies[pending])])
            state.resubmitted += 1
        self._copies[index] += 1
        state.submit([index], address)

    def _drop(self, state, handles):
        """Forget these running tasks; an item left with no copy goes back to the queue."""
        for h in handles:
            index, _ = state.running.pop(h)
            self._copies[index] -= 1
            if self._copies[index] == 0 and not state.done[index]:
                self._queue.append(index)

    def _check_workers(self, state):
        _, left = self._sync(state.deadline)
        if left:
            handles = [h for h, (_, address) in state.running.items() if address in set(left)]
            self._drop(state, handles)
            state.engine.cancel(handles)
        # Feed every idle worker (those that joined, those whose task was lost).
        busy = {address for _, address in state.running.values()}
        for address in sorted(self.workers.connected - busy):
            if state.remaining:
                self._feed(state, address)

    def _handle(self, state, handle, kind, payload):
        where = state.running.get(handle)
        if where is None:
            return
        index, address = where
        if kind == "error":
            raise TaskError(index, payload) from payload
        self._drop(state, [handle])
        if kind == "lost":
            return  # the worker is gone; the next check feeds the ones still there
        value, seconds = payload
        freed = [address]
        if not state.done[index]:
            state.keep(index, value, seconds)
            # The other copies of this item lost the race: cancel them, feed their workers.
            losers = [h for h, (i, _) in state.running.items() if i == index] if self._copies[index] else []
            freed += [state.running[h][1] for h in losers]
            self._drop(state, losers)
            if losers:
                state.engine.cancel(losers)
        else:
            state.task_time += seconds
        if state.remaining:
            for a in freed:
                self._feed(state, a)

    def _billed(self, state, workers, wall):
        return workers * wall  # every worker busy the whole round (DESIGN.md section 5)

"""Run ATA rounds on real workers: the engine-neutral core behind :mod:`fastata.dask`.

A round is ``run_round(fn, items)``: ``len(items)`` tasks, one per item, whose results come
back in the order of ``items``. This module holds everything that does not depend on the
compute engine: the address <-> policy-index map, the round's bookkeeping (which item runs
where, which result is in), the re-allocation of a dead worker's unfinished tasks, the
greedy (GTA) loop and the history records. An *engine* does the rest; it is any object with

``addresses() -> list[str]``
    The workers connected now.
``submit(fn, item, address) -> handle``
    Start ``fn(item)`` on that worker only (no fallback to another worker). The handle is
    hashable. The engine measures the call on the worker and reports ``(value, seconds)``.
``next_done(timeout) -> (handle, kind, payload) | None``
    Block until a submitted task finishes, at most ``timeout`` seconds (``None`` then).
    ``kind`` is ``"ok"`` (payload ``(value, seconds)``), ``"error"`` (payload: the exception
    ``fn`` raised) or ``"lost"`` (the worker died under the task; payload ``None``).
``cancel(handles)``
    Stop and forget these tasks; their results, if any still come, are never reported.

:mod:`fastata.dask` is the Dask engine; ``tests/test_executor.py`` drives this core with a
fake in-process engine.

**Policy indices.** The workers connected when the executor is built get policy indices
``0..n-1`` in sorted address order (the policy may have more: the extra indices are marked
unavailable; fewer: the policy grows with ``add_workers``). A worker that joins later is
appended (``add_workers(1)``: it starts unexplored, so the policy explores it); a worker
that leaves is marked unavailable (``set_available(i, False)``) and gets its index back,
available again, if the same address returns. ``executor.addresses[i]`` is worker ``i``.
"""

import dataclasses
import time

import numpy as np

from . import _validate
from .allocate import allocate as _allocate

#: How often (seconds) a waiting round re-reads the worker list to notice a dead worker.
POLL_INTERVAL = 0.25


class TaskError(RuntimeError):
    """A task raised: ``index`` is the item's position in ``items``, ``exception`` (and ``__cause__``) what it raised."""

    def __init__(self, index, exception):
        super().__init__(f"the task for item {index} raised {type(exception).__name__}: {exception}")
        self.index = index
        self.exception = exception


class NoWorkersError(RuntimeError):
    """No worker is connected, so the round cannot finish."""


@dataclasses.dataclass(frozen=True)
class RoundRecord:
    """What one round cost.

    ``wall_time``: seconds from submission to the last result, measured by the client.
    ``worker_time``: billed worker seconds. Adaptive rounds: the sum of the task times
    measured on the workers (idle workers are not billed). Greedy rounds: ``workers *
    wall_time``, every worker being busy the whole round (DESIGN.md section 5).
    ``task_time``: the sum of the measured times of the tasks whose results were kept.
    ``allocation``: tasks first handed to each address (greedy: tasks started per address).
    ``resubmitted``: tasks started again after their worker died (greedy: also duplicates).
    """

    round: int
    budget: int
    wall_time: float
    worker_time: float
    task_time: float
    workers: int
    allocation: dict
    resubmitted: int


class WorkerMap:
    """Address <-> policy index, kept in step with the engine's worker list.

    Without a policy (the greedy executor) it only tracks which addresses are connected.
    """

    def __init__(self, addresses, policy=None):
        self.policy = policy
        self.addresses = []  # index -> address, never shrinks
        self.index = {}  # address -> index
        self.connected = set()
        start = sorted(addresses)
        if policy is not None:
            if policy.n_workers < len(start):
                policy.add_workers(len(start) - policy.n_workers)
            elif policy.n_workers > len(start):
                policy.set_available(np.arange(len(start), policy.n_workers), False)
            # Placeholders for the policy's extra indices: no address maps to them.
            self.addresses = [None] * policy.n_workers
        else:
            self.addresses = [None] * len(start)
        for i, address in enumerate(start):
            self.addresses[i] = address
            self.index[address] = i
        self.connected = set(start)

    def sync(self, addresses):
        """Take in the worker list now: returns ``(joined, left)`` address lists."""
        now = set(addresses)
        joined = sorted(now - self.connected)
        left = sorted(self.connected - now)
        if not joined and not left:
            return joined, left
        new = [a for a in joined if a not in self.index]
        back = [self.index[a] for a in joined if a in self.index]
        gone = [self.index[a] for a in left]
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


def _timed(fn, item):
    """Run ``fn(item)`` and measure it: what the engines execute on the worker."""
    start = time.perf_counter()
    value = fn(item)
    return value, time.perf_counter() - start


class _Round:
    """One round's bookkeeping: which task holds which item, which results are in."""

    def __init__(self, engine, fn, items, t0, deadline):
        self.engine = engine
        self.t0 = t0
        self.fn = fn
        self.items = items
        self.deadline = deadline
        self.results = [None] * len(items)
        self.done = np.zeros(len(items), dtype=bool)
        self.remaining = len(items)
        self.running = {}  # handle -> (item index, address)
        self.started = {}  # address -> tasks started there
        self.observed_workers = []
        self.observed_seconds = []
        self.task_time = 0.0
        self.worker_time = 0.0
        self.resubmitted = 0

    def submit(self, index, address):
        handle = self.engine.submit(self.fn, self.items[index], address)
        self.running[handle] = (index, address)
        self.started[address] = self.started.get(address, 0) + 1
        return handle

    def wait(self):
        """The next finished task, or ``None`` after ``POLL_INTERVAL`` (the caller re-checks workers)."""
        timeout = POLL_INTERVAL
        if self.deadline is not None:
            left = self.deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"the round did not finish within its timeout; {self.remaining} "
                                   f"of {len(self.items)} results missing")  # fmt: skip
            timeout = min(timeout, left)
        return self.engine.next_done(timeout)

    def cancel_all(self):
        if self.running:
            self.engine.cancel(list(self.running))
            self.running.clear()


class _Runner:
    """What both runners share: the engine, the worker map, the history, the round's start."""

    #: Seconds a round waits for a worker to (re)join when none is connected, before ``NoWorkersError``.
    no_worker_grace = 5.0

    def __init__(self, engine, policy=None):
        self.engine = engine
        self.policy = policy
        self.workers = WorkerMap(engine.addresses(), policy)
        self.history = []

    @property
    def addresses(self):
        """``addresses[i]``: the worker behind policy index ``i`` (``None`` for an index never mapped)."""
        return list(self.workers.addresses)

    def _sync(self):
        joined, left = self.workers.sync(self.engine.addresses())
        if not self.workers.connected:
            # A nanny may be restarting the last worker: give it a moment before giving up.
            deadline = time.perf_counter() + self.no_worker_grace
            while not self.workers.connected and time.perf_counter() < deadline:
                time.sleep(POLL_INTERVAL)
                more_joined, more_left = self.workers.sync(self.engine.addresses())
                joined, left = joined + more_joined, left + more_left
            if not self.workers.connected:
                raise NoWorkersError(f"no worker is connected (waited {self.no_worker_grace:g} s for one): "
                                     "the round cannot run")  # fmt: skip
        return joined, left

    def _begin(self, fn, items, timeout):
        """Check the arguments, take in the worker list, start the clock: the round's state."""
        items = _validate.round_items(items)
        timeout = _validate.round_timeout(timeout)
        fn = _validate.task_function(fn)
        self._sync()
        t0 = time.perf_counter()
        return _Round(self.engine, fn, items, t0, None if timeout is None else t0 + timeout)

    def _record(self, state, worker_time, allocation):
        wall = time.perf_counter() - state.t0
        self.history.append(RoundRecord(
            round=len(self.history), budget=len(state.items), wall_time=wall,
            worker_time=len(self.workers.connected) * wall if worker_time is None else worker_time,
            task_time=state.task_time, workers=len(self.workers.connected), allocation=allocation,
            resubmitted=state.resubmitted,
        ))  # fmt: skip


class AdaptiveRunner(_Runner):
    """Rounds allocated by a policy over the connected workers (the engine-neutral ATA executor)."""

    def __init__(self, engine, policy):
        super().__init__(engine, policy)

    def run_round(self, fn, items, *, timeout=None):
        """Run ``fn(item)`` for every item, allocated by the policy; the results in item order.

        Raises ``TaskError`` when a task raises (the round's other tasks are cancelled),
        ``NoWorkersError`` when no worker is left and ``TimeoutError`` after ``timeout``
        seconds; the executor stays usable after each of them.
        """
        state = self._begin(fn, items, timeout)
        try:
            if state.items:
                self._submit(state, np.arange(len(state.items)), self.policy.allocate(len(state.items)))
            first = dict(state.started)
            self._collect(state)
        finally:
            state.cancel_all()
            self._observe(state)
        self._record(state, state.worker_time, first)
        return state.results

    def _submit(self, state, indices, counts):
        """Hand ``indices`` out in order: worker ``i`` (policy index) gets the next ``counts[i]``."""
        at = 0
        for i in np.flatnonzero(counts):
            address = self.workers.addresses[i]
            for index in indices[at : at + counts[i]]:
                state.submit(int(index), address)
            at += counts[i]

    def _reallocate(self, state, lost):
        """Give the lost items to the remaining workers, by the policy's current bounds."""
        self._sync()
        lam = self.policy.lower_bounds  # +inf for the workers that left
        counts = _allocate(lam, len(lost))
        state.resubmitted += len(lost)
        self._submit(state, np.asarray(lost), counts)

    def _collect(self, state):
        while state.remaining:
            event = state.wait()
            if event is None:
                _, left = self._sync()
                if left:
                    lost = _forget(state, left)
                    if lost:
                        self._reallocate(state, lost)
                continue
            handle, kind, payload = event
            where = state.running.pop(handle, None)
            if where is None:
                continue  # a task already given up on (its worker left)
            index, address = where
            if kind == "lost":
                self._reallocate(state, [index])
            elif kind == "error":
                raise TaskError(index, payload) from payload
            else:
                value, seconds = payload
                state.results[index] = value
                state.done[index] = True
                state.remaining -= 1
                state.task_time += seconds
                state.worker_time += seconds
                state.observed_workers.append(self.workers.index[address])
                state.observed_seconds.append(seconds)

    def _observe(self, state):
        if state.observed_workers:
            self.policy.observe(np.asarray(state.observed_workers, dtype=np.int64),
                                np.asarray(state.observed_seconds))  # fmt: skip


def _forget(state, left):
    """Drop (and cancel) the round's tasks running on workers that left; their item indices."""
    left = set(left)
    handles = [h for h, (_, address) in state.running.items() if address in left]
    lost = sorted(state.running.pop(h)[0] for h in handles)
    if handles:
        state.engine.cancel(handles)
    return [i for i in lost if not state.done[i]]


class GreedyRunner(_Runner):
    """Greedy asynchronous collection (GTA) on the same engine: every worker computes all the time.

    Each worker holds one task at a time and takes the next item as soon as it finishes one.
    When every item has been handed out, an idle worker starts a copy of an unfinished item
    (the one with the fewest copies running, oldest first), as GTA's workers keep computing;
    the first result of each item is kept and the other copies are cancelled, so the round
    ends with the ``budget``-th distinct result and the work still running is wasted.
    """

    def run_round(self, fn, items, *, timeout=None):
        """Run ``fn(item)`` for every item greedily; the results in item order (errors as in the adaptive runner)."""
        state = self._begin(fn, items, timeout)
        self._queue = list(range(len(state.items)))[::-1]  # pop() gives the lowest index first
        self._copies = np.zeros(len(state.items), dtype=np.int64)
        try:
            if state.items:
                for address in sorted(self.workers.connected):
                    self._feed(state, address)
            self._collect(state)
        finally:
            state.cancel_all()
        self._record(state, None, dict(state.started))  # every worker billed for the whole round
        return state.results

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
        state.submit(index, address)

    def _drop(self, state, handles):
        """Forget these running tasks; an item left with no copy goes back to the queue."""
        for h in handles:
            index, _ = state.running.pop(h)
            self._copies[index] -= 1
            if self._copies[index] == 0 and not state.done[index]:
                self._queue.append(index)

    def _collect(self, state):
        while state.remaining:
            event = state.wait()
            if event is None:
                joined, left = self._sync()
                if left:
                    left = set(left)
                    handles = [h for h, (_, address) in state.running.items() if address in left]
                    self._drop(state, handles)
                    state.engine.cancel(handles)
                busy = {address for _, address in state.running.values()}
                for address in sorted(self.workers.connected - busy):
                    self._feed(state, address)
                continue
            handle, kind, payload = event
            where = state.running.get(handle)
            if where is None:
                continue
            index, address = where
            if kind == "lost":
                self._drop(state, [handle])
                continue  # the worker is gone; the next poll feeds the ones still there
            if kind == "error":
                raise TaskError(index, payload) from payload
            self._drop(state, [handle])
            value, seconds = payload
            state.task_time += seconds
            if not state.done[index]:
                state.results[index] = value
                state.done[index] = True
                state.remaining -= 1
                # The other copies of this item lost the race: cancel them, feed their workers.
                losers = [h for h, (i, _) in state.running.items() if i == index] if self._copies[index] else []
                freed = [address] + [state.running[h][1] for h in losers]
                self._drop(state, losers)
                if losers:
                    state.engine.cancel(losers)
            else:
                freed = [address]
            if state.remaining:
                for a in freed:
                    self._feed(state, a)

"""Run ATA rounds on a Dask cluster (extra ``dask``: ``pip install "fastata[dask]"``).

::

    from distributed import Client
    import fastata as fa
    from fastata.dask import AdaptiveExecutor, GreedyExecutor

    client = Client("tcp://scheduler:8786")                   # or Client(LocalCluster(...))
    with AdaptiveExecutor(client, fa.ATAEmpirical(8, 16, eta=0.2)) as ex:
        grads = ex.run_round(gradient, batches)               # one task per batch, results in order
        ex.history[-1].wall_time, ex.history[-1].worker_time

Each round's ``len(items)`` tasks are allocated by the policy over the workers connected
now and pinned to them (``workers=[address], allow_other_workers=False``); the time of each
task is measured on its worker around ``fn`` and fed to ``policy.observe``. A worker that
dies mid-round loses nothing: its unfinished tasks go to the remaining workers. See
:mod:`fastata.executor` for the round's rules and the address <-> policy-index contract.

:class:`GreedyExecutor` is the greedy baseline (GTA) on the same engine, to compare both on
your own cluster.
"""

import asyncio
import collections
import queue
import time
import uuid

import distributed
from dask.utils import funcname
from distributed.scheduler import KilledWorker

from . import _validate
from .executor import AdaptiveRunner, GreedyRunner, NoWorkersError, RoundRecord, TaskError, _timed
from .policies import ATAEmpirical

#: Seconds to fetch a batch of finished results before counting them as lost (see ``DaskEngine._gather``).
GATHER_TIMEOUT = 60.0

__all__ = ["AdaptiveExecutor", "GreedyExecutor", "DaskEngine", "TaskError", "NoWorkersError", "RoundRecord"]


class DaskEngine:
    """The engine protocol of :mod:`fastata.executor` on a ``distributed.Client``.

    A worker's tasks of a round go in one ``client.map`` (one graph update and one pickled
    ``fn`` per worker, not per task). Their keys are ``<fn's name>-<this engine's token>-...``:
    the dashboard shows the user's function, and :meth:`close` finds this engine's tasks
    on the workers. Completed futures are pushed to a queue by their done callback, so
    waiting for the next one blocks on the queue (no polling of futures); the executor
    re-reads the worker list every ``POLL_INTERVAL`` seconds, which is how a dead worker's
    pinned tasks (which the scheduler would otherwise keep waiting for it) are found.
    """

    def __init__(self, client):
        self.client = _validate.dask_client(client, distributed.Client)
        self.token = uuid.uuid4().hex
        self._done = queue.SimpleQueue()
        self._live = {}  # key -> Future, for the tasks not yet reported or cancelled
        self._ready = collections.deque()  # events gathered, not yet handed to the executor

    def addresses(self):
        return list(self.client.nthreads())

    def submit(self, fn, items, address):
        futures = self.client.map(_timed, [fn] * len(items), items, key=f"{funcname(fn)}-{self.token}",
                                  workers=[address], allow_other_workers=False, pure=False)  # fmt: skip
        for future in futures:
            self._live[future.key] = future
            future.add_done_callback(self._done.put)
        return [future.key for future in futures]

    def next_done(self, timeout):
        if not self._ready:
            self._fill(timeout)
        return self._ready.popleft() if self._ready else None

    def _fill(self, timeout):
        """Wait for one finished future, take every other one already finished, gather them in one call."""
        try:
            batch = [self._done.get(timeout=timeout)]
        except queue.Empty:
            return
        while True:
            try:
                batch.append(self._done.get_nowait())
            except queue.Empty:
                break
        batch = [f for f in batch if self._live.pop(f.key, None) is not None]  # not cancelled meanwhile
        finished = [f for f in batch if f.status == "finished"]
        values = self._gather(finished) if finished else {}
        for future in batch:
            if future.key in values:
                self._ready.append((future.key, "ok", values[future.key]))
            elif future.status == "error":
                exc = future.exception()
                # A KilledWorker is the worker's death, not the task's fault: re-allocate it.
                kind = "lost" if isinstance(exc, KilledWorker) else "error"
                self._ready.append((future.key, kind, None if kind == "lost" else exc))
            else:
                self._ready.append((future.key, "lost", None))  # cancelled or lost by the scheduler

    def _gather(self, finished):
        """``{key: (value, seconds)}`` for finished futures, in one call (a ``result()`` each costs a round trip each).

        Bounded by ``GATHER_TIMEOUT``: if a worker dies holding a result not yet fetched, the
        scheduler would wait forever to recompute it on that (pinned) worker; the batch then
        counts as lost and is re-allocated.
        """
        try:
            values = self.client.sync(self.client._gather, finished, callback_timeout=GATHER_TIMEOUT)
        except (TimeoutError, asyncio.TimeoutError):
            self.client.cancel(finished)
            return {}
        return dict(zip((f.key for f in finished), values))

    def cancel(self, handles):
        handles = set(handles)
        if self._ready:
            self._ready = collections.deque(e for e in self._ready if e[0] not in handles)
        futures = [self._live.pop(h) for h in handles if h in self._live]
        if futures:
            self.client.cancel(futures)

    def close(self, timeout):
        """Cancel the live tasks, then wait until no worker holds a task of this engine (at most ``timeout`` s).

        A cancelled task that is already running keeps its worker busy until ``fn`` returns
        (Python cannot interrupt it); waiting for it lets the cluster shut down without the
        workers' cancellation warnings. Polls the workers every 0.1 s: only at shutdown.
        """
        self.cancel(list(self._live))
        self._ready.clear()
        while not self._done.empty():
            self._done.get_nowait()
        deadline = time.monotonic() + timeout
        while True:
            held = self.client.run(_tasks_held, self.token, on_error="ignore")
            if not any(held.values()) or time.monotonic() >= deadline:
                return
            time.sleep(0.1)


def _tasks_held(token, dask_worker):
    """On a worker: how many of its tasks (running, queued or cancelled-while-running) have ``token`` in their key."""
    return sum(token in str(key) for key in dask_worker.state.tasks)


class AdaptiveExecutor(AdaptiveRunner):
    """ATA rounds on a Dask cluster: ``run_round(fn, items) -> list``.

    Parameters
    ----------
    client : distributed.Client
    policy : fastata policy, optional
        Allocates each round (``ATA``, ``ATAEmpirical``, ``UTA``; ``FTA`` cannot take workers
        that join). Index ``i`` is ``executor.addresses[i]``: the workers connected now, in
        sorted address order, then the ones that join, in order of arrival. Default:
        ``ATAEmpirical(n_workers_now, 1, eta=1.0)``.

    Attributes
    ----------
    history : list of RoundRecord
        Per completed round: wall time, worker time (sum of the measured task times), allocation.

    Use it as a context manager (or call ``close()``) to wait, at shutdown, for tasks that
    a failed round cancelled while they ran; the client stays open.
    """

    def __init__(self, client, policy=None):
        engine = DaskEngine(client)
        if policy is None:
            policy = ATAEmpirical(max(len(engine.addresses()), 1), 1, eta=1.0)
        super().__init__(engine, policy)


class GreedyExecutor(GreedyRunner):
    """The greedy baseline (GTA) on a Dask cluster: every worker computes all the time.

    ``run_round(fn, items)`` keeps the first result of every item and cancels the rest;
    its history bills every worker for the whole round (``worker_time = workers * wall_time``).
    The cancelled copies still run until ``fn`` returns: use the executor as a context
    manager, or call ``close()``, before closing the cluster, to let them finish quietly.
    """

    def __init__(self, client):
        super().__init__(DaskEngine(client))

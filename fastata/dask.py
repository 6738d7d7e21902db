"""Run ATA rounds on a Dask cluster (extra ``dask``: ``pip install "fastata[dask]"``).

>>> from distributed import Client
>>> from fastata.dask import AdaptiveExecutor, GreedyExecutor
>>> client = Client("tcp://scheduler:8786")               # or Client(LocalCluster(...))
>>> ex = AdaptiveExecutor(client)                          # ATA-Empirical, eta = 1
>>> grads = ex.run_round(gradient, batches)                # one task per batch, results in order
>>> ex.history[-1].wall_time, ex.history[-1].worker_time

Each round's ``len(items)`` tasks are allocated by the policy over the workers connected
now and pinned to them (``workers=[address], allow_other_workers=False``); the time of each
task is measured on its worker around ``fn`` and fed to ``policy.observe``. A worker that
dies mid-round loses nothing: its unfinished tasks go to the remaining workers. See
:mod:`fastata.executor` for the round's rules and the address <-> policy-index contract.

:class:`GreedyExecutor` is the greedy baseline (GTA) on the same engine, to compare both on
your own cluster.
"""

import queue
import time

import distributed
from distributed.scheduler import KilledWorker

from .executor import AdaptiveRunner, GreedyRunner, NoWorkersError, RoundRecord, TaskError, _timed
from .policies import ATAEmpirical

__all__ = ["AdaptiveExecutor", "GreedyExecutor", "DaskEngine", "TaskError", "NoWorkersError", "RoundRecord"]


class DaskEngine:
    """The engine protocol of :mod:`fastata.executor` on a ``distributed.Client``.

    Completed futures are pushed to a queue by their done callback, so waiting for the next
    one blocks on the queue (no polling of futures); the executor wakes up every
    ``POLL_INTERVAL`` seconds at most to re-read the worker list, which is how a dead
    worker's pinned tasks (which the scheduler would otherwise keep waiting for it) are found.
    """

    def __init__(self, client):
        if not isinstance(client, distributed.Client):
            raise TypeError(f"client must be a distributed.Client; got {type(client).__name__}")
        self.client = client
        self._done = queue.SimpleQueue()
        self._live = {}  # key -> Future, for the tasks not yet reported or cancelled

    def addresses(self):
        return list(self.client.nthreads())

    def submit(self, fn, item, address):
        future = self.client.submit(_timed, fn, item, workers=[address], allow_other_workers=False, pure=False)
        self._live[future.key] = future
        future.add_done_callback(self._done.put)
        return future.key

    def next_done(self, timeout):
        deadline = time.perf_counter() + timeout
        while True:
            try:
                future = self._done.get(timeout=max(deadline - time.perf_counter(), 0.0))
            except queue.Empty:
                return None
            if self._live.pop(future.key, None) is None:
                continue  # cancelled by the executor: no longer its business
            if future.status == "finished":
                return future.key, "ok", future.result()
            if future.status == "error":
                exc = future.exception()
                if isinstance(exc, KilledWorker):  # the worker died under it: not the task's fault
                    return future.key, "lost", None
                return future.key, "error", exc
            return future.key, "lost", None  # cancelled or lost by the scheduler

    def cancel(self, handles):
        futures = [self._live.pop(h) for h in handles if h in self._live]
        if futures:
            self.client.cancel(futures)


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
        Per round: wall time, worker time (sum of the measured task times), allocation.
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
    """

    def __init__(self, client):
        super().__init__(DaskEngine(client))

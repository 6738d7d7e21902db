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
dies mid-round loses nothing: its unfinished tasks, and its results not yet fetched, go to
the remaining workers as soon as the scheduler drops it (a killed worker process: within
about ``POLL_INTERVAL``, a quarter of a second, of the scheduler noticing). Tasks a round
gives up on (timeout, dead worker) are fed to ``policy.observe_censored`` as lower bounds
on their times. See :mod:`fastata.executor` for the round's rules and the address <->
policy-index contract.

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

#: Seconds a fetch of finished results may take before they count as lost and run again
#: (a worker that is connected but does not answer). A worker that *dies* holding results
#: is not waited for: the round moves them as soon as the worker leaves the list.
GATHER_TIMEOUT = 60.0

#: The default policy's ``explore_share``: a worker that joins a running job takes at most a
#: quarter of a round while it is unexplored (the paper's ATA would give it the whole round).
DEFAULT_EXPLORE_SHARE = 0.25

__all__ = ["AdaptiveExecutor", "GreedyExecutor", "DaskEngine", "TaskError", "NoWorkersError", "RoundRecord"]


class DaskEngine:
    """The engine protocol of :mod:`fastata.executor` on a ``distributed.Client``.

    A worker's tasks of a round go in one ``client.map`` (one graph update and one pickled
    ``fn`` per worker, not per task). Their keys are ``<fn's name>-<this engine's token>-...``:
    the dashboard shows the user's function, and :meth:`close` finds this engine's tasks
    on the workers. Completed futures are pushed to a queue by their done callback, so
    waiting for the next one blocks on the queue (no polling of futures).

    Results are fetched in the background, one fetch per worker's batch of finished
    tasks, from the scheduler (``scheduler.gather``, as ``client.gather`` does for a
    client outside the cluster); a fetch that ends pushes itself to the same queue. So
    :meth:`next_done` never blocks past its ``timeout``, and the executor keeps re-reading
    the worker list while results are on their way: a worker that dies holding finished
    results is noticed like any other departure, and its tasks move. (``client.gather``
    would instead wait for the scheduler to recompute such a result on its pinned, dead
    worker: forever.) A result the scheduler reports it cannot fetch counts as lost.

    Examples
    --------
    >>> from distributed import Client, LocalCluster
    >>> from fastata.dask import DaskEngine
    >>> cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0")
    >>> client = Client(cluster)
    >>> engine = DaskEngine(client)
    >>> address, = engine.addresses()
    >>> handle, = engine.submit(abs, [-3], address)
    >>> event = None
    >>> while event is None:          # None: nothing reported yet (a result may be on its way)
    ...     event = engine.next_done(timeout=10.0)
    ...
    >>> key, kind, (value, seconds) = event
    >>> key == handle, kind, value
    (True, 'ok', 3)
    >>> engine.close(timeout=5.0); client.close(); cluster.close()
    """

    def __init__(self, client):
        self.client = _validate.dask_client(client, distributed.Client)
        self.token = uuid.uuid4().hex
        self._done = queue.SimpleQueue()  # futures done, and fetches ended
        self._live = {}  # key -> Future, for the tasks not yet reported or cancelled
        self._where = {}  # key -> address it is pinned to
        self._fetches = set()  # fetches in flight
        self._ready = collections.deque()  # events gathered, not yet handed to the executor
        self._nthreads = {}  # address -> threads, every worker seen (a departed one's censoring needs it)

    def addresses(self):
        """The addresses of the workers connected now."""
        now = self.client.nthreads()
        self._nthreads.update(now)
        return list(now)

    def nthreads(self):
        """Threads of every worker seen so far (departed ones included), as of the last ``addresses()``."""
        return dict(self._nthreads)

    def submit(self, fn, items, address):
        """Start ``fn(item)`` for each item on ``address`` only, timed there; one handle (key) per item."""
        futures = self.client.map(_timed, [fn] * len(items), items, key=f"{funcname(fn)}-{self.token}",
                                  workers=[address], allow_other_workers=False, pure=False)  # fmt: skip
        for future in futures:
            self._live[future.key] = future
            self._where[future.key] = address
            future.add_done_callback(self._done.put)
        return [future.key for future in futures]

    def next_done(self, timeout):
        """The next ``(key, kind, payload)``, ``kind`` one of ``"ok"``, ``"error"``, ``"lost"``;
        ``None`` after ``timeout`` seconds with nothing ended."""
        if not self._ready:
            self._fill(timeout)
        return self._ready.popleft() if self._ready else None

    def _fill(self, timeout):
        """Wait (at most ``timeout``) for a future or a fetch to end, take every other one that has, act on them."""
        try:
            batch = [self._done.get(timeout=timeout)]
        except queue.Empty:
            batch = []
        while True:
            try:
                batch.append(self._done.get_nowait())
            except queue.Empty:
                break
        finished = {}  # address -> futures to fetch
        for item in batch:
            if isinstance(item, _Fetch):
                self._fetched(item)
            elif self._live.get(item.key) is item:  # not cancelled meanwhile
                if item.status == "finished":
                    finished.setdefault(self._where[item.key], []).append(item)
                elif item.status == "error":
                    exc = item.exception()
                    # A KilledWorker is the worker's death, not the task's fault: re-allocate it.
                    if isinstance(exc, KilledWorker):
                        self._lost([item.key])
                    else:
                        self._drop(item.key)
                        self._ready.append((item.key, "error", exc))
                else:
                    self._lost([item.key])  # cancelled or lost by the scheduler
        for futures in finished.values():
            self._fetch(futures)
        self._expire(time.monotonic())

    def _fetch(self, futures):
        """Start fetching these finished results (one worker's) in the background."""
        fetch = _Fetch([f.key for f in futures], time.monotonic())
        fetch.future = asyncio.run_coroutine_threadsafe(self._gather(fetch.keys), self.client.loop.asyncio_loop)
        self._fetches.add(fetch)
        fetch.future.add_done_callback(lambda _: self._done.put(fetch))

    async def _gather(self, keys):
        return await self.client.scheduler.gather(keys=keys)

    def _fetched(self, fetch):
        """A fetch ended: its results are ready; the ones the scheduler could not fetch are lost."""
        if fetch not in self._fetches:
            return  # given up on (expired)
        self._fetches.discard(fetch)
        try:
            response = fetch.future.result()
        except Exception:  # the scheduler did not answer: as if nothing could be fetched
            response = {"status": "error", "keys": fetch.keys}
        if response.get("status") == "OK":
            data = response["data"]
            for key in fetch.keys:
                if key in self._live:
                    self._drop(key)
                    self._ready.append((key, "ok", data[key]))
            return
        missing = set(response.get("keys", fetch.keys))
        self._lost([k for k in fetch.keys if k in missing])
        rest = [self._live[k] for k in fetch.keys if k not in missing and k in self._live]
        if rest:  # fetched fine, but the scheduler answers all-or-nothing: again
            self._fetch(rest)

    def _expire(self, now):
        for fetch in [f for f in self._fetches if now - f.started > GATHER_TIMEOUT]:
            self._fetches.discard(fetch)
            fetch.future.cancel()
            self._lost(fetch.keys)

    def _lost(self, keys):
        """Report these (still live) tasks lost and release them: pinned to a dead worker, they would wait forever."""
        futures = [self._drop(k) for k in keys if k in self._live]
        for future in futures:
            self._ready.append((future.key, "lost", None))
        if futures:
            self.client.cancel(futures)

    def _drop(self, key):
        self._where.pop(key, None)
        return self._live.pop(key)

    def cancel(self, handles):
        """Cancel these tasks and forget them: their events are never reported."""
        handles = set(handles)
        if self._ready:
            self._ready = collections.deque(e for e in self._ready if e[0] not in handles)
        futures = [self._drop(h) for h in handles if h in self._live]
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
        for fetch in self._fetches:
            fetch.future.cancel()
        self._fetches.clear()
        while not self._done.empty():
            self._done.get_nowait()
        deadline = time.monotonic() + timeout
        while True:
            held = self.client.run(_tasks_held, self.token, on_error="ignore")
            if not any(held.values()) or time.monotonic() >= deadline:
                return
            time.sleep(0.1)


class _Fetch:
    """One background fetch of finished results: its keys, when it started, its ``concurrent.futures.Future``."""

    __slots__ = ("keys", "started", "future")

    def __init__(self, keys, started):
        self.keys = keys
        self.started = started
        self.future = None


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
        ``ATAEmpirical(n_workers_now, 1, eta=1.0, explore_share=0.25)``. With a policy of
        your own, consider ``explore_share`` if workers may join (see :class:`fastata.ATA`).

    Attributes
    ----------
    history : list of RoundRecord
        Per completed round: wall time, worker time (sum of the measured task times), allocation.

    Use it as a context manager (or call ``close()``) to wait, at shutdown, for tasks that
    a failed round cancelled while they ran; the client stays open.

    Examples
    --------
    >>> from distributed import Client, LocalCluster
    >>> import fastata as fa
    >>> from fastata.dask import AdaptiveExecutor
    >>> cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0")
    >>> client = Client(cluster)
    >>> with AdaptiveExecutor(client, fa.ATAEmpirical(2, 8, eta=0.5)) as ex:
    ...     for k in range(3):
    ...         squares = ex.run_round(lambda x: x * x, range(8))
    ...
    >>> squares                                   # results in the order of the items
    [0, 1, 4, 9, 16, 25, 36, 49]
    >>> len(ex.history), ex.history[-1].budget, sum(ex.history[-1].allocation.values())
    (3, 8, 8)
    >>> client.close(); cluster.close()
    """

    def __init__(self, client, policy=None):
        engine = DaskEngine(client)
        if policy is None:
            policy = ATAEmpirical(max(len(engine.addresses()), 1), 1, eta=1.0, explore_share=DEFAULT_EXPLORE_SHARE)
        super().__init__(engine, policy)


class GreedyExecutor(GreedyRunner):
    """The greedy baseline (GTA) on a Dask cluster: every worker computes all the time.

    ``run_round(fn, items)`` keeps the first result of every item and cancels the rest;
    its history bills every worker for the whole round (``worker_time = workers * wall_time``).
    The cancelled copies still run until ``fn`` returns: use the executor as a context
    manager, or call ``close()``, before closing the cluster, to let them finish quietly.

    Examples
    --------
    >>> from distributed import Client, LocalCluster
    >>> from fastata.dask import GreedyExecutor
    >>> cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0")
    >>> client = Client(cluster)
    >>> with GreedyExecutor(client) as ex:
    ...     results = ex.run_round(str, range(4))
    ...
    >>> results
    ['0', '1', '2', '3']
    >>> record = ex.history[-1]
    >>> record.workers, record.worker_time == record.workers * record.wall_time
    (2, True)
    >>> client.close(); cluster.close()
    """

    def __init__(self, client):
        super().__init__(DaskEngine(client))

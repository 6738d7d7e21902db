"""The Dask executor's own overhead per round against Dask's own per-task cost, in the same run.

Run: ``pytest benchmarks/test_bench_dask.py --benchmark-columns=median,iqr,rounds``.

* ``executor-overhead``: one ``AdaptiveRunner`` / ``GreedyRunner`` round (allocation, pinning
  plan, bookkeeping, ``observe``, history) on an engine whose tasks finish instantly, at 8 and
  64 workers with 2 tasks per worker: everything the executor adds, nothing of the tasks.
* ``dask-round``: 16 trivial tasks on a 4-process ``LocalCluster``, submitted and collected
  with plain ``client.submit`` + ``as_completed`` (Dask's own cost), and the same round
  through ``fastata.dask.AdaptiveExecutor``. Divide by 16 for Dask's cost per task.

Target: the executor's overhead is a small fraction of Dask's per-task cost.
"""

import collections
import functools
import itertools
import operator

import numpy as np
import pytest

import fastata as fa
from fastata import executor as ex


class InstantEngine:
    """An engine whose tasks finish the moment they are submitted, in submission order."""

    def __init__(self, n, seed=0):
        self._addresses = [f"tcp://10.0.{i // 256}.{i % 256}:8786" for i in range(n)]
        means = np.random.default_rng(seed).lognormal(0.0, 0.5, n)
        self._seconds = dict(zip(self._addresses, means.tolist()))
        self._finished = collections.deque()
        self._ids = itertools.count()

    def addresses(self):
        return self._addresses

    def submit(self, fn, items, address):
        handles = []
        for item in items:
            handles.append(next(self._ids))
            self._finished.append((handles[-1], "ok", (fn(item), self._seconds[address])))
        return handles

    def next_done(self, timeout):
        return self._finished.popleft() if self._finished else None

    def cancel(self, handles):
        pass

    def close(self, timeout):
        pass


def identity(x):
    return x


@pytest.mark.parametrize("n", [8, 64])
@pytest.mark.parametrize("kind", ["adaptive", "greedy"])
def test_executor_overhead(benchmark, n, kind):
    benchmark.group = "executor-overhead"
    engine = InstantEngine(n)
    if kind == "adaptive":
        runner = ex.AdaptiveRunner(engine, fa.ATAEmpirical(n, 1, eta=0.2))
    else:
        runner = ex.GreedyRunner(engine)
    items = list(range(2 * n))
    for _ in range(20):  # past the first exploration rounds
        runner.run_round(identity, items)
    assert benchmark(runner.run_round, identity, items) == items
    # Greedy rounds also start copies of unfinished items: count every task started.
    benchmark.extra_info["tasks per round"] = sum(runner.history[-1].allocation.values())


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=4, threads_per_worker=1, processes=True, dashboard_address=None,
                                       scheduler_kwargs={"dashboard_address": ":0"})  # no dashboard, a free port
    with cluster, distributed.Client(cluster) as c:
        yield c


def plain_dask_round(client, items):
    """What a Dask user writes without fastata: submit, collect as completed, back in order."""
    from distributed import as_completed

    futures = [client.submit(operator.neg, x, pure=False) for x in items]
    order = {f.key: i for i, f in enumerate(futures)}
    results = [None] * len(items)
    for future, value in as_completed(futures, with_results=True):
        results[order[future.key]] = value
    return results


@pytest.mark.parametrize("how", ["plain-dask", "adaptive-executor"])
def test_dask_round(benchmark, client, how):
    benchmark.group = "dask-round"
    items = list(range(16))
    if how == "plain-dask":
        run = functools.partial(plain_dask_round, client, items)
    else:
        from fastata.dask import AdaptiveExecutor

        executor = AdaptiveExecutor(client, fa.ATAEmpirical(4, 1, eta=0.2))
        run = functools.partial(executor.run_round, operator.neg, items)
    run()  # warm up
    benchmark.extra_info["tasks per round"] = len(items)
    assert benchmark(run) == [-x for x in items]


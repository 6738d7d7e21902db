"""The Ray executor's cost per task against plain Ray actor calls, in the same run.

Run: ``pytest benchmarks/test_bench_ray.py --benchmark-columns=median,iqr,rounds``.

``ray-round``: a round of trivial tasks (``operator.neg``) on 4 actors of a local Ray
(``ray.init(num_cpus=2)``), 16 and 128 tasks:

* ``plain-ray``: what a Ray user writes without fastata: one ``actor.run_task.remote(fn, x)``
  per item, round-robin over the actors, then ``ray.get`` of the list (every call sent at once).
* ``adaptive-executor``: the same round through ``fastata.ray.AdaptiveExecutor.run_round``
  (policy allocation, at most ``CALLS_IN_FLIGHT = 2`` calls sent per actor, the rest sent as
  calls end, per-result bookkeeping, ``observe``, the history).
* ``adaptive-all-sent``: the executor with ``CALLS_IN_FLIGHT`` large enough to send every
  call at once, as plain Ray does: what the two-calls window costs with tasks this short.

Divide by the tasks per round for the cost per task. The executor's own bookkeeping, without
any engine, is ``executor-overhead`` in ``test_bench_dask.py``.
"""

import functools
import operator

import pytest

import fastata as fa


@pytest.fixture(scope="module")
def actors():
    ray = pytest.importorskip("ray")
    from fastata.ray import start_workers

    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=100 * 2**20, log_to_driver=False,
             configure_logging=False)  # fmt: skip
    workers = start_workers(4, num_cpus=0.5)
    yield workers
    ray.shutdown()


def plain_ray_round(actors, items):
    """Round-robin actor calls, every call sent at once, results in order."""
    import ray

    refs = [actors[i % len(actors)].run_task.remote(operator.neg, x) for i, x in enumerate(items)]
    return [value for value, _ in ray.get(refs)]


@pytest.mark.parametrize("tasks", [16, 128])
@pytest.mark.parametrize("how", ["plain-ray", "adaptive-executor", "adaptive-all-sent"])
def test_ray_round(benchmark, actors, monkeypatch, how, tasks):
    import fastata.ray as fr

    benchmark.group = f"ray-round-{tasks}"
    items = list(range(tasks))
    if how == "plain-ray":
        run = functools.partial(plain_ray_round, actors, items)
    else:
        if how == "adaptive-all-sent":
            monkeypatch.setattr(fr, "CALLS_IN_FLIGHT", tasks)
        executor = fr.AdaptiveExecutor(actors, fa.ATAEmpirical(4, 1, eta=0.2))
        run = functools.partial(executor.run_round, operator.neg, items)
        for _ in range(10):  # past the first exploration rounds
            run()
    run()  # warm up
    benchmark.extra_info["tasks per round"] = tasks
    assert benchmark(run) == [-x for x in items]

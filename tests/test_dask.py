"""fastata.dask on a real LocalCluster with worker processes (so a killed worker is really killed).

One shared 4-worker cluster for the rounds that leave it as it was; a fresh small cluster for
each test that kills or adds workers. Task times are sleeps of 10-300 ms, long against
Dask's per-task cost (a few ms) so that the 2-core CI machine's noise does not decide.
The file takes 25-40 s on the 2-core VM (about 40 s with a second copy of it running alongside).
"""

import collections
import functools
import os
import signal
import threading
import time

import pytest

distributed = pytest.importorskip("distributed")

import fastata as fa  # noqa: E402
from fastata.dask import AdaptiveExecutor, GreedyExecutor, NoWorkersError, TaskError  # noqa: E402


def make_cluster(n):
    # No dashboard; the scheduler's other HTTP routes on a free port (the default, 8787, is
    # often taken by another cluster on the machine: a warning each time).
    return distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                                    scheduler_kwargs={"dashboard_address": ":0"})  # fmt: skip


@pytest.fixture(scope="module")
def client():
    with make_cluster(4) as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture
def fresh():
    """A 3-worker cluster of the test's own, for kills and joins."""
    with make_cluster(3) as cluster, distributed.Client(cluster) as c:
        yield cluster, c


def SCHEDULER_SIZES(dask_scheduler):
    """What would grow on the scheduler if rounds leaked: task prefixes and groups, clients, workers' task sets."""
    return (len(dask_scheduler.task_prefixes), len(dask_scheduler.task_groups), len(dask_scheduler.clients),
            sum(len(ws.has_what) + len(ws.processing) for ws in dask_scheduler.workers.values()))


def scheduler_tasks(client):
    return client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))


def wait_no_tasks(client, timeout=10.0):
    """Released futures leave the scheduler shortly after (asynchronously): wait for it."""
    deadline = time.monotonic() + timeout
    while scheduler_tasks(client) and time.monotonic() < deadline:
        time.sleep(0.05)
    return scheduler_tasks(client)


def _task_functions():
    """The functions the workers run, made local on purpose: the workers cannot import this
    test module, and a local function is not picklable by reference, so Dask ships it by
    value (cloudpickle)."""

    def square(x):
        return x * x

    def nap(x, seconds=0.01, slow=None, factor=5.0):
        """Sleep ``seconds`` (``factor`` times longer on the worker ``slow``) and return ``x``."""
        here = distributed.get_worker().address
        time.sleep(seconds * (factor if here == slow else 1.0))
        return x

    def boom(x):
        if x == 3:
            raise ValueError("item three")
        return x

    return square, nap, boom


square, nap, boom = _task_functions()


def wait_gone(client, address, n, timeout=30.0):
    """Wait until the scheduler has dropped ``address`` and ``n`` workers are connected again (nanny restart)."""
    deadline = time.monotonic() + timeout
    while address in client.nthreads() and time.monotonic() < deadline:
        time.sleep(0.1)
    client.wait_for_workers(n, timeout=timeout)


def kill_later(client, address, delay):
    """SIGKILL the worker process at ``address`` after ``delay`` seconds, from a thread."""
    pid = client.run(os.getpid, workers=[address])[address]

    def kill():
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


def _has_what(dask_scheduler, address):
    ws = dask_scheduler.workers.get(address)
    return 0 if ws is None else len(ws.has_what)


def stall_then_kill(client, runner, results, victim=None):
    """The runner's first wait stalls until ``victim`` holds ``results`` finished results that
    nobody has fetched, then SIGKILLs it: the worker dies between finishing tasks and handing
    them over. Without ``victim``, the worker given the most tasks before that wait: how many
    each gets depends on the speeds the policy learnt, which a loaded machine can skew. Returns
    a dict that gets ``victim``, ``held`` (results lost with it), ``killed`` (when) and
    ``moved`` (when the runner next submitted a task: its failure detection)."""
    pids = client.run(os.getpid)
    engine, info, given = runner.engine, {}, collections.Counter()
    real_next, real_submit = engine.next_done, engine.submit

    def next_done(timeout):
        if "killed" not in info:
            target = victim or given.most_common(1)[0][0]
            deadline = time.monotonic() + 30
            while client.run_on_scheduler(_has_what, address=target) < results and time.monotonic() < deadline:
                time.sleep(0.005)
            info["victim"], info["held"] = target, client.run_on_scheduler(_has_what, address=target)
            os.kill(pids[target], signal.SIGKILL)
            info["killed"] = time.perf_counter()
        return real_next(timeout)

    def submit(fn, items, address):
        if "killed" in info and "moved" not in info:
            info["moved"] = time.perf_counter()
        given[address] += len(items)
        return real_submit(fn, items, address)

    engine.next_done, engine.submit = next_done, submit
    return info


def test_results_in_order_complete_and_timed(client):
    ex = AdaptiveExecutor(client)
    assert len(ex.addresses) == 4 and ex.policy.n_workers == 4
    assert ex.run_round(square, range(50)) == [x * x for x in range(50)]
    assert ex.run_round(functools.partial(nap, seconds=0.02), range(8)) == list(range(8))
    rec = ex.history[-1]
    assert rec.budget == 8 and sum(rec.allocation.values()) == 8
    # Measured on the workers around fn: eight sleeps of 20 ms, and no more than the round's wall time allows.
    assert 8 * 0.02 <= rec.worker_time <= 4 * rec.wall_time + 0.1
    assert ex.policy.counts.sum() == 58 and ex.policy.rounds == 2
    assert wait_no_tasks(client) == 0


def test_slow_worker_gets_fewer_tasks(client):
    policy = fa.ATAEmpirical(4, 1, eta=0.2)
    ex = AdaptiveExecutor(client, policy)
    slow = ex.addresses[1]
    fn = functools.partial(nap, seconds=0.01, slow=slow, factor=5.0)
    for _ in range(12):
        assert ex.run_round(fn, range(12)) == list(range(12))
    last = ex.history[-1].allocation
    fast = [last.get(a, 0) for a in ex.addresses if a != slow]
    assert last.get(slow, 0) < min(fast)
    assert policy.means[1] > 3 * max(policy.means[[0, 2, 3]])


def test_raising_task_then_usable(client):
    ex = AdaptiveExecutor(client)
    with pytest.raises(TaskError, match="item 3 raised ValueError: item three") as info:
        ex.run_round(boom, range(8))
    assert info.value.index == 3 and isinstance(info.value.__cause__, ValueError)
    assert ex.run_round(square, range(8)) == [x * x for x in range(8)]
    assert wait_no_tasks(client) == 0


def test_timeout_bounds_a_round(client):
    ex = AdaptiveExecutor(client)
    with pytest.raises(TimeoutError, match="results missing"):
        ex.run_round(functools.partial(nap, seconds=1.0), range(4), timeout=0.2)
    assert ex.run_round(square, range(4)) == [0, 1, 4, 9]  # queued behind the sleeps, then done


def test_greedy_executor(client):
    g = GreedyExecutor(client)
    fn = functools.partial(nap, seconds=0.01, slow=g.workers.addresses[0], factor=10.0)
    for _ in range(3):
        assert g.run_round(fn, range(16)) == list(range(16))
    rec = g.history[-1]
    assert rec.workers == 4 and rec.worker_time == pytest.approx(4 * rec.wall_time)
    assert sum(rec.allocation.values()) >= 16
    assert wait_no_tasks(client) == 0


def test_200_rounds_leak_nothing(client):
    ex = AdaptiveExecutor(client)
    ex.run_round(square, range(8))
    assert wait_no_tasks(client) == 0
    before = client.run_on_scheduler(SCHEDULER_SIZES)
    for _ in range(200):
        assert ex.run_round(square, range(8)) == [x * x for x in range(8)]
    assert wait_no_tasks(client) == 0
    after = client.run_on_scheduler(SCHEDULER_SIZES)
    assert after == before
    assert not ex.engine._live and ex.engine._done.empty()
    assert len(client.futures) == 0


def test_killed_worker_mid_round_loses_nothing(fresh):
    cluster, client = fresh
    ex = AdaptiveExecutor(client, fa.ATAEmpirical(3, 1, eta=1.0))
    victim = ex.addresses[0]
    # The victim's task cut short is a censored sample: counted only if it raises the
    # victim's estimate, which depends on when the loss is seen (a loaded machine: later).
    applied = []
    observe_censored = ex.policy.observe_censored
    ex.policy.observe_censored = lambda workers, elapsed: applied.append(observe_censored(workers, elapsed))
    killer = kill_later(client, victim, 0.5)
    # 12 tasks of 0.3 s, 4 per worker: the round lasts >= 1.2 s, the kill comes at 0.5 s.
    results = ex.run_round(functools.partial(nap, seconds=0.3), range(12))
    killer.join()
    assert results == list(range(12))  # every item once, in order
    rec = ex.history[-1]
    assert 0 < rec.resubmitted <= 4  # at most the victim's share started again
    censored = sum(applied)
    assert censored <= rec.censored
    assert ex.policy.counts.sum() == 12 + censored  # one measured time per item: none lost, none counted twice
    # the victim's results in before it died, the rest re-run
    assert ex.policy.counts[0] - censored + rec.resubmitted == 4
    assert not ex.policy.available[0]
    # The nanny restarts the worker under a new address: it joins as a new policy index.
    wait_gone(client, victim, 3)
    assert ex.run_round(square, range(9)) == [x * x for x in range(9)]
    assert victim not in ex.history[-1].allocation
    assert ex.policy.n_workers >= 4 and ex.addresses[0] == victim
    assert wait_no_tasks(client) == 0


def test_added_worker_gets_tasks_after_exploration(fresh):
    cluster, client = fresh
    ex = AdaptiveExecutor(client, fa.ATAEmpirical(3, 1, eta=0.2))
    fn = functools.partial(nap, seconds=0.01)
    for _ in range(3):
        ex.run_round(fn, range(9))
    cluster.scale(4)
    client.wait_for_workers(4, timeout=30)
    ex.run_round(fn, range(9))
    assert ex.policy.n_workers == 4
    newcomer = ex.addresses[3]
    assert ex.history[-1].allocation.get(newcomer, 0) > 0  # unexplored: it gets tasks first
    for _ in range(5):
        ex.run_round(fn, range(9))
    assert ex.policy.counts[3] > 0 and ex.history[-1].allocation.get(newcomer, 0) > 0


def test_no_worker_left_raises(fresh):
    cluster, client = fresh
    ex = AdaptiveExecutor(client)
    ex.no_worker_grace = 0.5
    threading.Timer(0.5, cluster.scale, args=(0,)).start()
    with pytest.raises(NoWorkersError, match="no worker"):
        ex.run_round(functools.partial(nap, seconds=0.3), range(30), timeout=60)
    with pytest.raises(NoWorkersError):
        ex.run_round(square, range(3))


def test_results_that_cannot_be_fetched_count_as_lost(client, monkeypatch):
    """A fetch of finished results that does not end within GATHER_TIMEOUT (a worker that is
    connected but does not answer) counts its results as lost: they run again."""
    import asyncio

    import fastata.dask as fd

    ex = AdaptiveExecutor(client)
    real = ex.engine._gather
    calls = []

    async def stuck_once(keys):
        calls.append(len(keys))
        if len(calls) == 1:
            await asyncio.sleep(5)
        return await real(keys)

    monkeypatch.setattr(fd, "GATHER_TIMEOUT", 0.2)
    monkeypatch.setattr(ex.engine, "_gather", stuck_once)
    t0 = time.perf_counter()
    assert ex.run_round(square, range(6)) == [x * x for x in range(6)]
    assert time.perf_counter() - t0 < 4  # not held up by the stuck fetch
    assert ex.history[-1].resubmitted == calls[0] >= 1
    monkeypatch.undo()
    assert wait_no_tasks(client) == 0


def test_greedy_worker_killed_mid_round(fresh):
    cluster, client = fresh
    g = GreedyExecutor(client)
    victim = g.workers.addresses[0]
    killer = kill_later(client, victim, 0.4)
    # 15 tasks of 0.2 s on 3 workers: >= 1 s; the kill comes at 0.4 s.
    assert g.run_round(functools.partial(nap, seconds=0.2), range(15)) == list(range(15))
    killer.join()
    # The dead worker's item was copied to the others (greedy), so the round may even end
    # before the executor notices; the next round starts without it.
    wait_gone(client, victim, 3)
    assert g.run_round(square, range(6)) == [x * x for x in range(6)]
    assert victim not in g.workers.connected and victim not in g.history[-1].allocation
    assert wait_no_tasks(client) == 0


def test_close_waits_for_cancelled_copies(client):
    """A greedy round ends while a slow worker still runs a copy it lost; close() waits for it."""
    from fastata.dask import _tasks_held

    g = GreedyExecutor(client)
    slow = g.workers.addresses[0]
    # 8 items of 30 ms, 1.8 s on the slow worker: the fast workers finish the round long before it.
    assert g.run_round(functools.partial(nap, seconds=0.03, slow=slow, factor=60.0), range(8)) == list(range(8))
    token = g.engine.token
    assert client.run(_tasks_held, token)[slow] == 1  # cancelled, still running
    g.close(timeout=20)
    assert not any(client.run(_tasks_held, token).values())
    with pytest.raises(RuntimeError, match="closed"):
        g.run_round(square, range(2))
    with AdaptiveExecutor(client) as ex:  # a clean adaptive executor closes at once
        assert ex.run_round(square, range(4)) == [0, 1, 4, 9]
    assert wait_no_tasks(client) == 0


def test_task_keys_name_the_users_function(client, monkeypatch):
    """The dashboard groups tasks by key prefix: it shows ``square``, not the timing wrapper."""
    ex = AdaptiveExecutor(client)
    real, keys = client.map, []

    def spy(*args, **kwargs):
        futures = real(*args, **kwargs)
        keys.extend(f.key for f in futures)
        return futures

    monkeypatch.setattr(client, "map", spy)
    assert ex.run_round(functools.partial(square), range(4)) == [0, 1, 4, 9]
    assert len(keys) == 4 and all(key.startswith(f"square-{ex.engine.token}-") for key in keys)
    assert {distributed.utils.key_split(key) for key in keys} == {"square"}


def test_import_dask_is_the_real_package():
    """fastata/dask.py is fastata.dask: importing it, then ``dask``, gives the real dask package."""
    import subprocess
    import sys

    code = ("import fastata.dask, dask, dask.utils, distributed, os; "
            "assert os.path.basename(os.path.dirname(dask.__file__)) == 'dask', dask.__file__; "
            "assert fastata.dask.__name__ == 'fastata.dask'; print(dask.__version__)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=os.path.expanduser("~"))
    assert out.returncode == 0, out.stderr
    import dask

    assert dask.__version__ == out.stdout.strip()


def test_readme_example():
    """README.md's "Running on a Dask cluster" example, run as a script."""
    import contextlib
    import io

    from test_readme import example

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(example("dask"), "README.md:dask", "exec"), {"__name__": "__main__"})
    assert printed.getvalue().split() == ["16", "3"]


def test_bad_client():
    with pytest.raises(TypeError, match="client must be a distributed.Client; got 'tcp://x:8786'"):
        AdaptiveExecutor("tcp://x:8786")
    with pytest.raises(TypeError, match="client must be a distributed.Client"):
        GreedyExecutor(None)


# --- workers dying at the worst moment, restarts, timeouts, newcomers --------------------------------


def test_worker_killed_holding_unfetched_results(fresh):
    """The worker dies after some of its results are ready but before they are fetched, with
    more of its tasks queued: the round must move all of them (the results are gone with it)
    within seconds, not wait for the scheduler to recompute them on the dead, pinned worker."""
    cluster, client = fresh
    ex = AdaptiveExecutor(client, fa.ATAEmpirical(3, 1, eta=0.2))
    ex.run_round(square, range(6))
    info = stall_then_kill(client, ex, 3)
    t0 = time.perf_counter()
    # 60 tasks of 20 ms, about 20 a worker: the victim dies with about 3 done and 17 to go.
    assert ex.run_round(functools.partial(nap, seconds=0.02), range(60), timeout=40) == list(range(60))
    wall = time.perf_counter() - t0
    rec = ex.history[-1]
    assert info["held"] >= 3 and rec.resubmitted >= info["held"] + 1  # the unfetched results ran again, and the rest
    # Failure detection: from the SIGKILL to the victim's tasks being handed out again.
    # Measured 0.05-0.3 s on the 2-core VM; the bound leaves room for a loaded machine.
    assert info["moved"] - info["killed"] < 5.0 and wall < 15.0
    assert not ex.policy.available[ex.addresses.index(info["victim"])]
    assert wait_no_tasks(client) == 0


def test_greedy_worker_killed_holding_an_unfetched_result(fresh):
    """Greedy rounds fetch the same way: a worker that dies holding a finished result does not
    hold the round up (it used to wait GATHER_TIMEOUT, a minute, for that result)."""
    cluster, client = fresh
    g = GreedyExecutor(client)
    info = stall_then_kill(client, g, 1, victim=g.workers.addresses[0])
    t0 = time.perf_counter()
    assert g.run_round(functools.partial(nap, seconds=0.05), range(30), timeout=40) == list(range(30))
    assert info["held"] >= 1 and time.perf_counter() - t0 < 10.0
    assert len(g.workers.connected) >= 2
    g.close(timeout=10)


def test_client_restart_mid_round(fresh):
    """client.restart() kills every worker under the round (the nannies start new ones at new
    addresses): every task is lost and must run again on the new workers."""
    cluster, client = fresh
    ex = AdaptiveExecutor(client, fa.ATAEmpirical(3, 1, eta=0.2))
    ex.run_round(square, range(6))
    old = set(ex.addresses)
    restart = threading.Thread(target=client.restart, daemon=True)
    threading.Timer(0.3, restart.start).start()
    assert ex.run_round(functools.partial(nap, seconds=0.05), range(60), timeout=60) == list(range(60))
    restart.join(60)
    rec = ex.history[-1]
    assert rec.resubmitted > 0
    assert set(client.nthreads()).isdisjoint(old) and not ex.policy.available[:3].any()
    assert ex.run_round(square, range(6)) == [x * x for x in range(6)]
    assert wait_no_tasks(client) == 0


def test_timeout_teaches_the_policy_about_a_hung_worker(fresh):
    """A round that times out because one worker hangs: the task it was running counts as a
    censored sample, so the next round gives it fewer tasks instead of as many again."""
    cluster, client = fresh
    with AdaptiveExecutor(client, fa.ATAEmpirical(3, 1, eta=0.2)) as ex:
        fast = functools.partial(nap, seconds=0.01)
        for _ in range(6):
            ex.run_round(fast, range(9))
        hung = ex.addresses[1]
        before = fa.allocate(ex.policy.lower_bounds, 9)[1]
        total, counts = ex.policy.means[1] * ex.policy.counts[1], ex.policy.counts[1]
        t0 = time.perf_counter()
        with pytest.raises(TimeoutError, match="results missing"):
            ex.run_round(functools.partial(nap, seconds=0.01, slow=hung, factor=300.0), range(9), timeout=1.0)
        waited = time.perf_counter() - t0
        assert ex.policy.counts[1] == counts + 1  # the running task: one lower bound, its queue nothing
        censored = ex.policy.means[1] * ex.policy.counts[1] - total
        assert 0.9 <= censored <= waited  # about the round's timeout: a lower bound on a 3 s task
        assert fa.allocate(ex.policy.lower_bounds, 9)[1] < before


def test_newcomer_explores_a_bounded_share(fresh):
    """A worker that joins takes at most explore_share of a round, not the whole round."""
    cluster, client = fresh
    ex = AdaptiveExecutor(client, fa.ATAEmpirical(3, 1, eta=0.2, explore_share=0.25))
    fn = functools.partial(nap, seconds=0.01)
    for _ in range(4):
        ex.run_round(fn, range(12))
    cluster.scale(4)
    client.wait_for_workers(4, timeout=30)
    assert ex.run_round(fn, range(12)) == list(range(12))
    newcomer = ex.addresses[3]
    assert ex.history[-1].allocation.get(newcomer) == 3  # floor(0.25 * 12); the paper would give it all 12
    assert ex.policy.counts[3] == 3


def test_default_policy_bounds_exploration(client):
    ex = AdaptiveExecutor(client)
    assert isinstance(ex.policy, fa.ATAEmpirical) and ex.policy.explore_share == 0.25


@pytest.mark.parametrize(
    "policy, message",
    [
        ("ata", r"policy must be a policy: a fastata policy or an object with .* got 'ata' \(type str\)"),
        (fa.ATAEmpirical, r"policy must be a policy instance, not the class ATAEmpirical"),
    ],
)
def test_bad_policy(client, policy, message):
    with pytest.raises(TypeError, match=message):
        AdaptiveExecutor(client, policy)

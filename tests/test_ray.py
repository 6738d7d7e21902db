"""fastata.ray on a real local Ray (``ray.init(num_cpus=2)``, started and shut down here).

One Ray instance for the module. Actors reserve half a CPU or less, so three or four fit on
the two CPUs; tests that kill actors start their own. Task times are sleeps of 10-300 ms,
long against Ray's per-call cost (well under a millisecond) so that the 2-core machine's
noise does not decide.
"""

import collections
import functools
import os
import signal
import sys
import threading
import time

import pytest

ray = pytest.importorskip("ray")

import ray.cloudpickle  # noqa: E402

import fastata as fa  # noqa: E402
from fastata.ray import AdaptiveExecutor, GreedyExecutor, NoWorkersError, TaskError, Worker, start_workers  # noqa: E402

# The actor classes and task functions here travel by value: Ray's workers do not start in
# the checkout (see local_ray), so they could not import this module by name.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module", autouse=True)
def local_ray(tmp_path_factory):
    # Ray puts the driver's working directory on its workers' sys.path: started from the
    # checkout, they would import its fastata/, which has no kernels. So start it elsewhere.
    here = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("ray"))
    try:
        # No dashboard, a small object store, no worker logs copied here (killed actors are noisy).
        ray.init(num_cpus=2, include_dashboard=False, object_store_memory=100 * 2**20, log_to_driver=False,
                 configure_logging=False)  # fmt: skip
        yield
    finally:
        ray.shutdown()
        os.chdir(here)


class Probe(Worker):
    """An actor class of the user's own: fastata's worker method, the calls it ran, its process id (to SIGKILL it)."""

    def __init__(self):
        self.ran = 0

    def run_task(self, fn, item):
        self.ran += 1
        return super().run_task(fn, item)

    def calls(self):
        return self.ran

    def pid(self):
        return os.getpid()


def pid_workers(n, max_restarts=0):
    cls = ray.remote(Probe).options(num_cpus=0.25, max_restarts=max_restarts)
    actors = [cls.remote() for _ in range(n)]
    ray.get([a.pid.remote() for a in actors])
    return actors


@pytest.fixture(scope="module")
def four():
    """Four actors for the rounds that leave them as they were."""
    actors = start_workers(4, num_cpus=0.25)
    yield actors
    for a in actors:
        ray.kill(a)


def _task_functions():
    """Made local on purpose: the actors cannot import this test module, so cloudpickle ships them by value."""

    def square(x):
        return x * x

    def nap(x, seconds=0.01, slow=None, factor=5.0):
        """Sleep ``seconds`` (``factor`` times longer on the actor whose ID is ``slow``) and return ``x``."""
        here = ray.get_runtime_context().get_actor_id()
        time.sleep(seconds * (factor if here == slow else 1.0))
        return x

    def boom(x):
        if x == 3:
            raise ValueError("item three")
        return x

    def offset(data, x):
        return x + len(data)

    return square, nap, boom, offset


square, nap, boom, offset = _task_functions()


def later(delay, action, *args):
    thread = threading.Timer(delay, action, args=args)
    thread.daemon = True
    thread.start()
    return thread


def sigkill(actor):
    os.kill(ray.get(actor.pid.remote()), signal.SIGKILL)


def test_results_in_order_complete_and_timed(four):
    ex = AdaptiveExecutor(four)
    assert len(ex.addresses) == 4 and ex.policy.n_workers == 4
    assert ex.actors == four  # policy index i is the i-th actor given
    assert ex.run_round(square, range(50)) == [x * x for x in range(50)]
    assert ex.run_round(functools.partial(nap, seconds=0.02), range(8)) == list(range(8))
    rec = ex.history[-1]
    assert rec.budget == 8 and sum(rec.allocation.values()) == 8
    # Measured in the actors around fn: eight sleeps of 20 ms, and no more than the round's wall time allows.
    assert 8 * 0.02 <= rec.worker_time <= 4 * rec.wall_time + 0.1
    assert ex.policy.counts.sum() == 58 and ex.policy.rounds == 2
    assert not ex.engine._live and not ex.engine._ready
    # A large fn (a closure over 80 KB) goes to the object store once, a small one rides in each call.
    assert not isinstance(ex.engine._fn_ref, ray.ObjectRef)
    big = functools.partial(offset, bytes(80_000))
    assert ex.run_round(big, range(8)) == [x + 80_000 for x in range(8)]
    assert isinstance(ex.engine._fn_ref, ray.ObjectRef)


def test_slow_actor_gets_fewer_tasks(four):
    policy = fa.ATAEmpirical(4, 1, eta=0.2)
    ex = AdaptiveExecutor(four, policy)
    slow = four[1]._actor_id.hex()
    fn = functools.partial(nap, seconds=0.01, slow=slow, factor=5.0)
    for _ in range(12):
        assert ex.run_round(fn, range(12)) == list(range(12))
    last = ex.history[-1].allocation
    fast = [last.get(a, 0) for i, a in enumerate(ex.addresses) if i != 1]
    assert last.get(ex.addresses[1], 0) < min(fast)
    assert policy.means[1] > 3 * max(policy.means[[0, 2, 3]])


def test_raising_task_then_usable(four):
    ex = AdaptiveExecutor(four)
    with pytest.raises(TaskError, match="item 3 raised ValueError: item three") as info:
        ex.run_round(boom, range(8))
    assert info.value.index == 3 and isinstance(info.value.__cause__, ValueError)
    assert ex.run_round(square, range(8)) == [x * x for x in range(8)]
    g = GreedyExecutor(four)
    with pytest.raises(TaskError, match="item 3") as info:
        g.run_round(boom, range(8))
    assert info.value.index == 3
    g.close()


def test_timeout_bounds_a_round_and_censors():
    actors = pid_workers(4)
    ex = AdaptiveExecutor(actors, fa.ATAEmpirical(4, 1, eta=0.2))
    ex.run_round(square, range(8))
    handed, real_submit = collections.Counter(), ex.engine.submit

    def submit(fn, items, address):
        handed[address] += len(items)
        return real_submit(fn, items, address)

    ex.engine.submit = submit
    t0 = time.perf_counter()
    with pytest.raises(TimeoutError, match="results missing"):
        ex.run_round(functools.partial(nap, seconds=1.0), range(12), timeout=0.3)
    assert time.perf_counter() - t0 < 1.0
    # The running sleeps (one per actor that got tasks) count as lower bounds; the queued ones give nothing.
    assert ex.policy.counts.sum() == 8 + len(handed)
    sleeps = list(handed.values())
    assert ex.run_round(square, range(4)) == [0, 1, 4, 9]
    ex.close(timeout=10)
    assert not ex.engine._sent  # close waited for the cancelled sleeps to end
    # Of each actor's sleeps, the running one and the one sent behind it ran (a call sent to an
    # actor cannot be taken back), the others, never sent, did not.
    ran = sum(ray.get([a.calls.remote() for a in actors])) - 8 - 4
    assert sum(sleeps) == 12 and max(sleeps) > 2
    assert ran == sum(min(k, 2) for k in sleeps) < 12
    for a in actors:
        ray.kill(a)


def test_per_actor_bounds(four):
    """The core's min_tasks/max_tasks reach Ray actors like any engine's workers (by policy index)."""
    ex = AdaptiveExecutor(four, fa.ATAEmpirical(4, 1, eta=0.2))
    assert ex.run_round(square, range(8), max_tasks=[8, 0, 0, 1]) == [x * x for x in range(8)]
    assert ex.history[-1].allocation == {ex.addresses[0]: 7, ex.addresses[3]: 1}


def test_greedy_executor(four):
    with GreedyExecutor(four) as g:
        fn = functools.partial(nap, seconds=0.01, slow=four[0]._actor_id.hex(), factor=10.0)
        for _ in range(3):
            assert g.run_round(fn, range(16)) == list(range(16))
        rec = g.history[-1]
        assert rec.workers == 4 and rec.worker_time == pytest.approx(4 * rec.wall_time)
        assert sum(rec.allocation.values()) >= 16
    assert not g.engine._sent and not g.engine._live
    with pytest.raises(RuntimeError, match="closed"):
        g.run_round(square, range(2))


def test_100_rounds_leak_nothing(four):
    ex = AdaptiveExecutor(four)
    for _ in range(100):
        assert ex.run_round(square, range(8)) == [x * x for x in range(8)]
    assert not ex.engine._live and not ex.engine._ready and not ex.engine._sent and not ex.engine._ref


def test_ray_kill_mid_round_loses_nothing():
    actors = pid_workers(3)
    ex = AdaptiveExecutor(actors, fa.ATAEmpirical(3, 1, eta=1.0))  # unexplored: the round splits evenly
    killed = {}
    later(0.5, lambda: (ray.kill(actors[0]), killed.setdefault("at", time.perf_counter())))
    # 12 tasks of 0.3 s, 4 per actor: the round lasts >= 1.2 s, the kill comes at 0.5 s.
    results = ex.run_round(functools.partial(nap, seconds=0.3), range(12))
    assert results == list(range(12))  # every item once, in order
    rec = ex.history[-1]
    assert 0 < rec.resubmitted <= 4  # at most the victim's share started again
    # One measured time per item (none lost, none counted twice), and maybe a lower bound for
    # the task the victim was running when it died (the policy counts it if it ran longer
    # than the victim's mean).
    taken = ex.policy.counts.sum() - 12
    assert rec.censored <= 1 and 0 <= taken <= rec.censored
    assert ex.policy.counts[0] - taken + rec.resubmitted == 4  # the victim's results in before it died, the rest re-run
    assert not ex.policy.available[0] and ex.addresses[0] not in ex.engine.addresses()
    # Re-allocated at once: 2 actors left, 8 + 2-3 tasks of 0.3 s in about 1.8 s (a timeout would take long).
    assert rec.wall_time < 3.0
    assert ex.run_round(square, range(6)) == [x * x for x in range(6)]
    assert ex.addresses[0] not in ex.history[-1].allocation
    for a in actors[1:]:
        ray.kill(a)


def test_sigkilled_actor_mid_round_loses_nothing():
    actors = pid_workers(3)
    ex = AdaptiveExecutor(actors, fa.ATAEmpirical(3, 1, eta=0.2))  # unexplored: the round splits evenly
    moved, real_submit = {}, ex.engine.submit

    def submit(fn, items, address):
        if "killed" in moved and "at" not in moved:
            moved["at"] = time.perf_counter()
        return real_submit(fn, items, address)

    ex.engine.submit = submit
    victim = actors[0]
    pid = ray.get(victim.pid.remote())
    later(0.3, lambda: (os.kill(pid, signal.SIGKILL), moved.setdefault("killed", time.perf_counter())))
    # 60 tasks of 20 ms, 20 an actor: the victim dies with about 12 done and 8 to go.
    assert ex.run_round(functools.partial(nap, seconds=0.02), range(60), timeout=30) == list(range(60))
    rec = ex.history[-1]
    assert rec.allocation[ex.addresses[0]] == 20
    assert rec.resubmitted > 0 and 60 <= ex.policy.counts.sum() <= 60 + rec.censored
    # Failure detection: from the SIGKILL to the victim's tasks handed out again. Ray fails the
    # dead actor's calls within milliseconds; the bound leaves room for a loaded machine.
    assert moved["at"] - moved["killed"] < 1.0
    assert not ex.policy.available[0]
    for a in actors[1:]:
        ray.kill(a)


def test_greedy_actor_killed_mid_round():
    actors = pid_workers(3)
    g = GreedyExecutor(actors)
    later(0.4, sigkill, actors[0])
    # 15 tasks of 0.2 s on 3 actors: >= 1 s; the kill comes at 0.4 s.
    assert g.run_round(functools.partial(nap, seconds=0.2), range(15)) == list(range(15))
    assert g.run_round(square, range(6)) == [x * x for x in range(6)]
    assert g.workers.addresses[0] not in g.workers.connected
    assert g.workers.addresses[0] not in g.history[-1].allocation
    g.close(timeout=5)
    for a in actors[1:]:
        ray.kill(a)


def test_restarting_actor_keeps_its_index():
    """max_restarts=1: the actor's calls in flight fail (run elsewhere, not twice), it is left
    out while Ray restarts it, then it gets its policy index back; its second death is final."""
    actors = pid_workers(2, max_restarts=1)
    ex = AdaptiveExecutor(actors, fa.ATAEmpirical(2, 1, eta=1.0))  # unexplored: the round splits evenly
    first = ray.get(actors[0].pid.remote())
    later(0.3, sigkill, actors[0])
    assert ex.run_round(functools.partial(nap, seconds=0.1), range(20), timeout=30) == list(range(20))
    rec = ex.history[-1]
    assert rec.resubmitted > 0 and 20 <= ex.policy.counts.sum() <= 20 + rec.censored
    # Ray restarts it in a new process; it answers again and is used again, under the same index.
    deadline = time.monotonic() + 20
    while ex.addresses[0] not in ex.engine.addresses() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ray.get(actors[0].pid.remote()) != first
    assert ex.run_round(functools.partial(nap, seconds=0.02), range(8)) == list(range(8))
    assert ex.policy.available[0] and ex.policy.n_workers == 2
    assert ex.history[-1].allocation.get(ex.addresses[0], 0) > 0
    # No restart left: the next death is for good.
    sigkill(actors[0])
    assert ex.run_round(functools.partial(nap, seconds=0.02), range(8), timeout=30) == list(range(8))
    time.sleep(0.5)
    assert ex.run_round(square, range(4)) == [0, 1, 4, 9]
    assert not ex.policy.available[0] and ex.addresses[0] not in ex.history[-1].allocation
    ray.kill(actors[1])


def test_engine_sends_the_waiting_tasks_of_a_restarted_actor():
    """The engine alone: an actor dies with two calls sent and two tasks waiting here; once Ray
    has restarted it, the waiting ones are sent to it (the executor may keep them there when
    the actor is back before it looks)."""
    from fastata.ray import RayEngine

    (actor,) = pid_workers(1, max_restarts=1)
    engine = RayEngine([actor])
    (address,) = engine.addresses()
    pid = ray.get(actor.pid.remote())  # asked now: behind the tasks, it would come too late
    handles = engine.submit(functools.partial(nap, seconds=0.5), [0, 1, 2, 3], address)
    time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    events = [engine.next_done(10), engine.next_done(10)]
    assert sorted(e[:2] for e in events) == [(handles[0], "lost"), (handles[1], "lost")]
    assert engine.addresses() == [] or engine._ref  # left out until it answers (or already back)
    deadline = time.monotonic() + 20
    while engine.addresses() != [address] and time.monotonic() < deadline:
        time.sleep(0.05)
    results = [engine.next_done(10) for _ in range(2)]
    assert [(h, kind, payload[0]) for h, kind, payload in results] == [(handles[2], "ok", 2), (handles[3], "ok", 3)]
    engine.close(5)
    ray.kill(actor)


def test_added_actor_explores_a_bounded_share(four):
    ex = AdaptiveExecutor(four[:3], fa.ATAEmpirical(3, 1, eta=0.2, explore_share=0.25))
    fn = functools.partial(nap, seconds=0.01)
    for _ in range(4):
        ex.run_round(fn, range(12))
    ex.add_workers([four[3]])
    assert ex.policy.n_workers == 4 and ex.actors[3] == four[3]
    assert ex.run_round(fn, range(12)) == list(range(12))
    assert ex.history[-1].allocation.get(ex.addresses[3]) == 3  # floor(0.25 * 12); the paper would give it all 12
    assert ex.policy.counts[3] == 3
    # Removed: it gets nothing, its index stays; added again: the same index.
    ex.remove_workers([four[3]])
    assert ex.run_round(fn, range(12)) == list(range(12)) and ex.addresses[3] not in ex.history[-1].allocation
    ex.add_workers([four[3]])
    assert ex.policy.n_workers == 4 and ex.policy.available[3]


def test_actor_added_mid_round_by_another_thread(four):
    g = GreedyExecutor(four[:2])
    later(0.3, g.add_workers, four[2:])
    assert g.run_round(functools.partial(nap, seconds=0.1), range(20)) == list(range(20))
    assert len(g.workers.connected) == 4 and all(g.history[-1].allocation.get(a, 0) > 0 for a in g.addresses)
    g.close()


def test_no_actor_left_raises():
    actors = pid_workers(2)
    ex = AdaptiveExecutor(actors)
    ex.no_worker_grace = 0.5
    later(0.3, lambda: [ray.kill(a) for a in actors])
    with pytest.raises(NoWorkersError, match="no worker"):
        ex.run_round(functools.partial(nap, seconds=0.2), range(20), timeout=30)
    with pytest.raises(NoWorkersError):
        ex.run_round(square, range(3))


def test_default_policy_bounds_exploration(four):
    ex = AdaptiveExecutor(four)
    assert isinstance(ex.policy, fa.ATAEmpirical) and ex.policy.explore_share == 0.25


def test_start_workers_options():
    actors = start_workers(2, num_cpus=0.25, max_restarts=1)
    assert [ray.get(a.run_task.remote(square, 3))[0] for a in actors] == [9, 9]
    for a in actors:
        ray.kill(a)
    with pytest.raises(TimeoutError, match="1 of 1 actors did not start"):
        start_workers(1, resources={"no_such_node": 1}, timeout=0.5)
    with pytest.raises(ValueError, match="n must be >= 0; got -1"):
        start_workers(-1)


def test_bad_workers(four):
    with pytest.raises(TypeError, match="workers must be a list of Ray actor handles; got 'x' .* at position 0"):
        AdaptiveExecutor(["x"])
    with pytest.raises(TypeError, match="workers must be a list of Ray actor handles"):
        GreedyExecutor(four[0])

    @ray.remote(num_cpus=0)
    class Plain:
        def f(self):
            return 1

    plain = Plain.remote()
    with pytest.raises(TypeError, match=r"must be actors with a run_task\(fn, item\) method .* position 1"):
        AdaptiveExecutor([four[0], plain])
    with pytest.raises(ValueError, match="must not list an actor twice"):
        AdaptiveExecutor([four[0], four[0]])
    ex = AdaptiveExecutor(four[:1])
    with pytest.raises(TypeError, match="must be actors with a run_task"):
        ex.add_workers([plain])
    assert ex.policy.n_workers == 1 and len(ex.engine.addresses()) == 1  # rejected: nothing changed
    ray.kill(plain)


def test_readme_example(tmp_path):
    """README.md's "Running on Ray" example, run as a script: it starts (and shuts down) a Ray of its own."""
    import subprocess
    import sys

    from test_readme import example

    script = tmp_path / "readme_ray.py"
    script.write_text(example("ray"))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["16", "3"]


def test_readme_actor_example():
    """README.md's actor class of the user's own (on this module's Ray)."""
    import contextlib
    import io

    from test_readme import example

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(example("ray-actor"), "README.md:ray-actor", "exec"), {"__name__": "__main__"})
    assert printed.getvalue().split("\n")[-2] == "[2.0, 4.0, 6.0]"

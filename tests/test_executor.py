"""The engine-neutral round core (fastata.executor) driven by a fake in-process engine: fast, no Dask."""

import functools
import itertools
import time

import numpy as np
import pytest

import fastata as fa
from fastata import executor as ex


class FakeEngine:
    """Workers with fixed task times on a virtual clock; tasks run when ``next_done`` reaches them.

    ``kill(address)`` makes a worker vanish with its queued tasks (they never report, as a
    pinned Dask task on a dead worker), ``join(address, seconds)`` adds one, and ``hooks``
    maps a number of reported tasks to a function called once that many have been reported.
    """

    def __init__(self, seconds):
        self.seconds = dict(seconds)  # address -> task time
        self.free_at = dict.fromkeys(self.seconds, 0.0)
        self.tasks = {}  # handle -> (finish time, address, fn, item)
        self.ids = itertools.count()
        self.reported = 0
        self.hooks = {}
        self.cancelled = 0
        self.submitted = []  # (address, item)
        self.lose_next = False
        self.took = {}  # handle -> task time
        self.quiet = False

    def addresses(self):
        return list(self.seconds)

    def submit(self, fn, items, address):
        return [self._submit_one(fn, item, address) for item in items]

    def _submit_one(self, fn, item, address):
        # A task pinned to a worker that is gone stays pending forever, as on Dask.
        took = self.seconds.get(address, np.inf)
        finish = self.free_at.get(address, 0.0) + took
        self.free_at[address] = finish
        handle = next(self.ids)
        self.tasks[handle] = (finish, address, fn, item)
        self.took[handle] = took
        self.submitted.append((address, item, self.reported))
        return handle

    def next_done(self, timeout):
        if self.quiet:
            self.quiet = False
            return None
        live = {h: t for h, t in self.tasks.items() if t[1] in self.seconds}
        if not live:
            return None
        handle = min(live, key=lambda h: (live[h][0], h))
        finish, address, fn, item = self.tasks.pop(handle)
        self.reported += 1
        hook = self.hooks.pop(self.reported, None)
        if hook is not None:
            hook()
        if self.lose_next:
            self.lose_next = False
            return handle, "lost", None
        try:
            value, _ = ex._timed(fn, item)
        except Exception as exc:  # what a real engine reports for a raising task
            return handle, "error", exc
        return handle, "ok", (value, self.took[handle])

    def cancel(self, handles):
        for h in handles:
            if self.tasks.pop(h, None) is not None:
                self.cancelled += 1

    def close(self, timeout):
        self.closed = timeout
        self.cancel(list(self.tasks))

    def kill(self, address, quiet=True):
        del self.seconds[address]
        self.quiet = quiet  # the next wait times out, as the executor's poll would

    def join(self, address, seconds):
        self.seconds[address] = seconds
        self.free_at[address] = max([t for a, t in self.free_at.items() if a in self.seconds], default=0.0)


def square(x):
    return x * x


def engine4(slow=1.0):
    return FakeEngine({"w0": 1.0, "w1": 1.0, "w2": 1.0, "w3": slow})


def test_results_in_order_and_policy_allocation():
    engine = engine4()
    policy = fa.ATAEmpirical(4, 1, eta=0.2)
    runner = ex.AdaptiveRunner(engine, policy)
    assert runner.run_round(square, range(10)) == [x * x for x in range(10)]
    rec = runner.history[0]
    assert rec.budget == 10 and rec.resubmitted == 0 and rec.workers == 4
    assert sum(rec.allocation.values()) == 10
    assert rec.worker_time == pytest.approx(10.0) and rec.task_time == pytest.approx(10.0)
    assert policy.counts.sum() == 10 and policy.rounds == 1


def test_slow_worker_gets_fewer_tasks():
    engine = engine4(slow=5.0)
    runner = ex.AdaptiveRunner(engine, fa.ATAEmpirical(4, 1, eta=0.2))
    for _ in range(30):
        runner.run_round(square, range(16))
    last = runner.history[-1].allocation
    assert last.get("w3", 0) < min(last["w0"], last["w1"], last["w2"])
    assert runner.policy.means[3] == pytest.approx(5.0)


def test_allocation_is_the_policys():
    engine = engine4()
    policy = fa.ATAEmpirical(4, 1, eta=0.2)
    twin = fa.ATAEmpirical(4, 1, eta=0.2)
    runner = ex.AdaptiveRunner(engine, policy)
    for _ in range(5):
        expected = twin.allocate(12)
        runner.run_round(square, range(12))
        got = [runner.history[-1].allocation.get(a, 0) for a in runner.addresses]
        assert got == expected.tolist()
        twin.observe(np.repeat(np.arange(4), expected), np.ones(12))


def test_killed_worker_loses_nothing():
    engine = engine4()
    runner = ex.AdaptiveRunner(engine, fa.ATAEmpirical(4, 1, eta=0.2))
    calls = []

    def record(x):
        calls.append(x)
        return -x

    engine.hooks[3] = lambda: engine.kill("w1")
    assert runner.run_round(record, range(20)) == [-x for x in range(20)]
    assert sorted(calls) == list(range(20))  # every item computed exactly once
    assert runner.history[-1].resubmitted > 0
    assert not runner.policy.available[1]
    assert all(a != "w1" for a, _, _ in engine.submitted[-runner.history[-1].resubmitted:])
    # next round: w1 gets nothing
    runner.run_round(square, range(8))
    assert "w1" not in runner.history[-1].allocation


def test_lost_task_is_reallocated():
    engine = engine4()
    runner = ex.AdaptiveRunner(engine, fa.UTA(4, 1, seed=0))
    engine.lose_next = True
    assert runner.run_round(square, range(8)) == [x * x for x in range(8)]
    assert runner.history[-1].resubmitted == 1


def test_joined_worker_explored_and_returning_worker_keeps_index():
    engine = engine4()
    runner = ex.AdaptiveRunner(engine, fa.ATAEmpirical(4, 1, eta=0.2))
    for _ in range(3):
        runner.run_round(square, range(8))
    engine.join("w4", 0.5)
    runner.run_round(square, range(8))
    assert runner.addresses[4] == "w4" and runner.policy.n_workers == 5
    assert runner.history[-1].allocation.get("w4", 0) > 0  # unexplored: explored first
    engine.kill("w2")
    runner.run_round(square, range(8))
    assert not runner.policy.available[2]
    engine.join("w2", 1.0)
    runner.run_round(square, range(8))
    assert runner.policy.available[2] and runner.addresses.index("w2") == 2


def test_policy_sizes_adjusted_at_construction():
    big = fa.ATAEmpirical(6, 1, eta=1.0)
    ex.AdaptiveRunner(engine4(), big)
    assert big.available.tolist() == [True] * 4 + [False] * 2
    small = fa.ATAEmpirical(2, 1, eta=1.0)
    ex.AdaptiveRunner(engine4(), small)
    assert small.n_workers == 4


def test_raising_task_reports_index_and_runner_stays_usable():
    engine = engine4()
    runner = ex.AdaptiveRunner(engine, fa.ATAEmpirical(4, 1, eta=1.0))

    def boom(x):
        if x == 5:
            raise ValueError("bad item")
        return x

    with pytest.raises(ex.TaskError, match="item 5 raised ValueError: bad item") as info:
        runner.run_round(boom, range(10))
    assert info.value.index == 5 and isinstance(info.value.__cause__, ValueError)
    assert not engine.tasks  # the rest were cancelled
    assert runner.run_round(square, range(6)) == [x * x for x in range(6)]


def test_no_worker_left_raises():
    engine = FakeEngine({"w0": 1.0})
    runner = ex.AdaptiveRunner(engine, fa.ATAEmpirical(1, 1, eta=1.0))
    runner.no_worker_grace = 0.01
    engine.hooks[1] = lambda: engine.kill("w0")
    with pytest.raises(ex.NoWorkersError, match="no worker"):
        runner.run_round(square, range(4))
    with pytest.raises(ex.NoWorkersError):
        runner.run_round(square, range(4))


@pytest.mark.parametrize("adaptive", [True, False])
def test_a_round_that_starts_without_workers_stops_at_its_timeout(adaptive):
    # No worker at the round's start (the last left after the round before): the wait for
    # one to join stops at the round's timeout, not at the longer grace for a nanny's restart.
    engine = FakeEngine({"w0": 1.0})
    runner = ex.AdaptiveRunner(engine, fa.ATAEmpirical(1, 1, eta=1.0)) if adaptive else ex.GreedyRunner(engine)
    runner.no_worker_grace = 30.0
    engine.kill("w0")
    t0 = time.perf_counter()
    with pytest.raises(TimeoutError, match=r"no worker connected within the round's timeout \(0.2 s\); none of its "
                                           r"4 tasks ran"):
        runner.run_round(square, range(4), timeout=0.2)
    assert time.perf_counter() - t0 < 10.0 and not engine.tasks
    if adaptive:
        assert runner.policy.rounds == 0 and not runner.history


def test_timeout_bounds_a_round(monkeypatch):
    class Stuck(FakeEngine):
        def next_done(self, timeout):
            return None  # nothing ever finishes

    monkeypatch.setattr(ex, "POLL_INTERVAL", 0.01)
    runner = ex.AdaptiveRunner(Stuck({"w0": 1.0}), fa.ATAEmpirical(1, 1, eta=1.0))
    with pytest.raises(TimeoutError, match="4 of 4 results missing"):
        runner.run_round(square, range(4), timeout=0.05)
    assert not runner.engine.tasks


def test_empty_round_and_bad_input():
    engine = engine4()
    policy = fa.ATAEmpirical(4, 1, eta=1.0)
    runner = ex.AdaptiveRunner(engine, policy)
    assert runner.run_round(square, []) == []
    rounds = policy.rounds
    with pytest.raises(TypeError, match="fn must be callable"):
        runner.run_round(3, [1])
    with pytest.raises(TypeError, match="items must be a sequence"):
        runner.run_round(square, 5)
    with pytest.raises(ValueError, match="timeout must be finite and > 0"):
        runner.run_round(square, [1], timeout=0)
    assert policy.rounds == rounds and not engine.submitted


def test_greedy_keeps_first_result_of_each_item():
    engine = FakeEngine({"w0": 1.0, "w1": 1.0, "w2": 10.0})
    runner = ex.GreedyRunner(engine)
    calls = []

    def record(x):
        calls.append(x)
        return x + 100

    assert runner.run_round(record, range(9)) == [x + 100 for x in range(9)]
    rec = runner.history[0]
    assert rec.worker_time == pytest.approx(3 * rec.wall_time)
    # The slow worker's item was duplicated on a fast worker, which won the race.
    assert rec.resubmitted >= 1 and engine.cancelled >= 1
    assert set(calls) == set(range(9))


def test_greedy_worker_killed():
    engine = FakeEngine({"w0": 1.0, "w1": 1.0, "w2": 1.0})
    runner = ex.GreedyRunner(engine)
    engine.hooks[2] = lambda: engine.kill("w1")
    assert runner.run_round(square, range(12)) == [x * x for x in range(12)]
    assert runner.history[-1].workers == 2


def test_dead_worker_noticed_while_results_keep_coming(monkeypatch):
    """The worker list is re-read on the clock, not only when no result comes: here after every
    result. The dead worker's items start again while the others still have tasks to report."""
    monkeypatch.setattr(ex, "POLL_INTERVAL", 0.0)
    engine = engine4()
    runner = ex.AdaptiveRunner(engine, fa.ATAEmpirical(4, 1, eta=0.2))
    engine.hooks[2] = lambda: engine.kill("w1", quiet=False)  # no lull: the others keep reporting
    assert runner.run_round(square, range(20)) == [x * x for x in range(20)]
    resubmitted = runner.history[-1].resubmitted
    assert resubmitted > 0
    assert all(reported < 10 for _, _, reported in engine.submitted[-resubmitted:])


@pytest.mark.parametrize("seed", range(20))
def test_top_up_from_zero_is_allocate_and_continues_it(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 12))
    lam = rng.choice([0.0, 0.5, 1.0, 1.5, 3.0, np.inf], size=n)
    lam[rng.integers(n)] = rng.uniform(0.1, 2.0)  # at least one available worker
    k = int(rng.integers(0, 30))
    zero = np.zeros(n, dtype=np.int64)
    np.testing.assert_array_equal(ex.top_up(lam, zero, k), fa.allocate(lam, k))
    # Continuing the canonical allocation of q tasks by k more gives the canonical allocation of q + k.
    q = int(rng.integers(0, 30))
    held = fa.allocate(lam, q)
    np.testing.assert_array_equal(held + ex.top_up(lam, held, k), fa.allocate(lam, q + k))


def test_top_up_fills_idle_workers_first():
    lam = np.array([1.0, 1.0, 1.0, np.inf])
    assert ex.top_up(lam, np.array([3, 0, 3, 0]), 2).tolist() == [0, 2, 0, 0]
    assert ex.top_up(lam, np.array([3, 0, 3, 0]), 5).tolist() == [1, 4, 0, 0]  # equal keys: lowest index
    with pytest.raises(ValueError, match="available must hold at least one worker"):
        ex.top_up(np.array([np.inf]), np.zeros(1, dtype=np.int64), 1)


def test_lost_items_go_to_the_idle_workers():
    """w1 dies when w0 has finished its tasks and w2 has not started its own: w1's items go to
    the idle w0, not behind w2's queue (UTA's bounds are all equal: only the load tells them apart)."""
    engine = FakeEngine({"w0": 1.0, "w1": 100.0, "w2": 10.0})
    runner = ex.AdaptiveRunner(engine, fa.UTA(3, 1, seed=0))
    engine.hooks[4] = lambda: engine.kill("w1")  # the 4th result is w0's last, at t = 4
    assert runner.run_round(square, range(12)) == [x * x for x in range(12)]
    assert runner.history[-1].allocation == {"w0": 4, "w1": 4, "w2": 4}
    again = [a for a, _, _ in engine.submitted[12:]]
    assert again == ["w0"] * 4 and runner.history[-1].resubmitted == 4


def test_fta_policy_fixed_workers():
    with pytest.raises(ValueError, match="FTA cannot add workers"):
        ex.AdaptiveRunner(engine4(), fa.FTA([1.0, 1.0], 1))
    engine = engine4()
    runner = ex.AdaptiveRunner(engine, fa.FTA([1.0, 1.0, 1.0, 2.0], 1))
    engine.join("w9", 0.1)
    assert runner.run_round(square, range(8)) == [x * x for x in range(8)]
    assert runner.policy.n_workers == 4 and "w9" not in runner.history[-1].allocation
    engine.kill("w9")
    assert runner.run_round(square, range(8)) == [x * x for x in range(8)]


def test_close_and_context_manager():
    engine = engine4()
    with ex.AdaptiveRunner(engine, fa.ATAEmpirical(4, 1, eta=1.0)) as runner:
        assert runner.run_round(square, range(4)) == [0, 1, 4, 9]
    assert engine.closed == 30.0
    with pytest.raises(RuntimeError, match="the executor is closed"):
        runner.run_round(square, range(4))
    with pytest.raises(ValueError, match="timeout must be finite and >= 0"):
        ex.GreedyRunner(engine4()).close(timeout=-1)


def test_failed_round_not_in_history_but_observed():
    engine = engine4()
    policy = fa.ATAEmpirical(4, 1, eta=1.0)
    runner = ex.AdaptiveRunner(engine, policy)

    def boom(x):
        if x == 7:
            raise ValueError("seven")
        return x

    with pytest.raises(ex.TaskError):
        runner.run_round(boom, range(8))
    assert runner.history == [] and 0 < policy.counts.sum() < 8  # what was measured was observed
    runner.run_round(square, range(8))
    assert [r.round for r in runner.history] == [0]


def test_threads_sharing_a_runner_take_turns():
    """Two threads, one runner: rounds run one after another, each gets its own results."""
    import threading

    runner = ex.AdaptiveRunner(engine4(), fa.ATAEmpirical(4, 1, eta=1.0))
    got = {}

    def task(x, k):
        time.sleep(0.0005)  # lets the other thread run in the middle of a round
        return k, x

    def work(k):
        fn = functools.partial(task, k=k)
        got[k] = [runner.run_round(fn, range(6), timeout=10) for _ in range(50)]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(2):
        assert got[k] == [[(k, x) for x in range(6)]] * 50
    assert len(runner.history) == 100 and runner.policy.counts.sum() == 600


# --- departures noticed by a lost task, censored samples, the policy argument -----------------------


def test_lost_task_of_a_departed_worker_moves_all_its_tasks(monkeypatch):
    """The first event is 'lost' for one of A's tasks while A leaves the worker list, and A's
    other tasks never report (a pinned Dask task on a dead worker): all of them must move,
    not only the one reported lost."""
    monkeypatch.setattr(ex, "POLL_INTERVAL", 0.01)
    engine = FakeEngine({"A": 1.0, "B": 1.0})
    runner = ex.AdaptiveRunner(engine, fa.ATAEmpirical(2, 8, eta=0.2))
    engine.hooks[1] = lambda: engine.kill("A", quiet=False)  # A's first task is the first to report
    engine.lose_next = True
    assert runner.run_round(lambda x: x, range(8), timeout=3) == list(range(8))
    rec = runner.history[-1]
    assert rec.allocation == {"A": 4, "B": 4} and rec.resubmitted == 4
    assert [a for a, _, _ in engine.submitted[8:]] == ["B"] * 4


def test_lost_task_of_a_connected_worker_moves_only_itself():
    engine = engine4()
    runner = ex.AdaptiveRunner(engine, fa.UTA(4, 1, seed=0))
    engine.lose_next = True
    assert runner.run_round(square, range(8)) == [x * x for x in range(8)]
    assert runner.history[-1].resubmitted == 1 and all(runner.policy.available)


class NeverFinishes(FakeEngine):
    """A fake engine whose workers with task time ``inf`` never report (they hang), as a real slow worker."""

    def next_done(self, timeout):
        live = [t for t in self.tasks.values() if t[1] in self.seconds and t[0] < np.inf]
        if not live:
            time.sleep(timeout)
            return None
        return super().next_done(timeout)


#: A censored task's time runs from its submission, a moment after the round's clock starts:
#: at the timeout it can be short of the timeout by that moment.
SUBMISSION_SLACK = 0.01


def test_timeout_feeds_the_running_tasks_as_censored_samples(monkeypatch):
    """A round that times out on a worker that hangs: the task it was running is a lower bound
    on its time, so the next round gives it fewer tasks instead of as many again."""
    monkeypatch.setattr(ex, "POLL_INTERVAL", 0.05)
    engine = NeverFinishes({"w0": 0.01, "w1": 0.01, "w2": 0.01})
    policy = fa.ATAEmpirical(3, 1, eta=0.2)
    runner = ex.AdaptiveRunner(engine, policy)
    for _ in range(3):
        runner.run_round(square, range(9))
    before = policy.allocate(9)
    counts = policy.counts.copy()
    engine.seconds["w1"] = np.inf
    t0 = time.perf_counter()
    with pytest.raises(TimeoutError, match="3 of 9 results missing"):
        runner.run_round(square, range(9), timeout=0.3)
    waited = time.perf_counter() - t0
    # One task of w1 was running (one thread): one censored sample, between the round's
    # timeout and the whole wait; the two queued behind it give nothing.
    assert policy.counts[1] == counts[1] + 1 and policy.counts[[0, 2]].tolist() == (counts[[0, 2]] + 3).tolist()
    run_time = policy.means[1] * policy.counts[1] - 0.01 * counts[1]
    assert 0.3 - SUBMISSION_SLACK <= run_time <= waited
    after = policy.allocate(9)
    assert after[1] < before[1]


def test_censored_samples_use_the_engines_threads(monkeypatch):
    """A worker with two threads runs two tasks at once: both are censored."""
    monkeypatch.setattr(ex, "POLL_INTERVAL", 0.05)
    engine = NeverFinishes({"w0": 0.01, "w1": np.inf})
    engine.nthreads = lambda: {"w0": 1, "w1": 2}
    policy = fa.ATAEmpirical(2, 1, eta=0.2)
    fed = []
    real = policy.observe_censored
    policy.observe_censored = lambda w, t: fed.append((w.tolist(), t.tolist())) or real(w, t)
    runner = ex.AdaptiveRunner(engine, policy)
    with pytest.raises(TimeoutError):
        runner.run_round(square, range(8), timeout=0.2)
    [(workers, elapsed)] = fed
    assert workers == [1, 1] and min(elapsed) >= 0.2 - SUBMISSION_SLACK  # two of w1's four tasks were running
    # Both started at the submission: equal bounds, and the second does not exceed the mean the first set.
    assert policy.counts.tolist() == [4.0, 1.0] and policy.means[1] == elapsed[0]


def test_departed_worker_running_task_is_censored_until_last_seen(monkeypatch):
    """A worker that leaves mid-round: its running task ran at least until the worker was last
    seen connected, a lower bound fed to the policy (the record counts it)."""
    monkeypatch.setattr(ex, "POLL_INTERVAL", 0.0)
    engine = FakeEngine({"w0": 0.001, "w1": 0.001, "w2": 0.001})
    policy = fa.ATAEmpirical(3, 1, eta=0.2)
    runner = ex.AdaptiveRunner(engine, policy)
    runner.run_round(square, range(3))

    def slow(x):
        time.sleep(0.02)  # the fake engine runs fn on the client: real time passes between reports
        return x

    engine.hooks[7] = lambda: engine.kill("w1", quiet=False)
    assert runner.run_round(slow, range(12)) == list(range(12))
    rec = runner.history[-1]
    assert rec.censored == 1 and rec.resubmitted > 0
    # w1's statistics: its round-0 sample, its results in before it left, and the censored sample
    done_on_w1 = rec.allocation["w1"] - rec.resubmitted
    assert policy.counts[1] == 1 + done_on_w1 + 1
    assert policy.means[1] > 0.001  # the censored sample (tens of ms) raised it


def test_censored_samples_reach_only_policies_that_take_them(monkeypatch):
    """A policy without observe_censored (the protocol's core only) still runs rounds that time out."""
    monkeypatch.setattr(ex, "POLL_INTERVAL", 0.05)

    class Plain:
        def __init__(self):
            self.inner = fa.UTA(2, 1, seed=0)
            self.n_workers = 2
            self.lower_bounds = self.inner.lower_bounds
            self.observed = 0

        def allocate(self, budget=None):
            return self.inner.allocate(budget)

        def observe(self, w, d):
            self.observed += len(w)

        def set_available(self, ids, flag):
            self.inner.set_available(ids, flag)

        def add_workers(self, k):
            return self.inner.add_workers(k)

    engine = NeverFinishes({"w0": 0.01, "w1": np.inf})
    runner = ex.AdaptiveRunner(engine, Plain())
    with pytest.raises(TimeoutError):
        runner.run_round(square, range(4), timeout=0.1)
    assert runner.policy.observed == 2


@pytest.mark.parametrize(
    "policy, message",
    [
        ("ata", r"policy must be a policy: a fastata policy or an object with n_workers, allocate, observe, "
                r"set_available \(see fastata.policies.AllocationPolicy\); got 'ata' \(type str\), which lacks n_workers"),
        (fa.ATAEmpirical, r"policy must be a policy instance, not the class ATAEmpirical: create one"),
        (object(), r"policy must be a policy: .*which lacks n_workers, allocate, observe, set_available$"),
        (None, r"policy must be a policy: .*got None"),
    ],
)
def test_policy_argument_is_validated(policy, message):
    engine = engine4()
    with pytest.raises(TypeError, match=message):
        ex.AdaptiveRunner(engine, policy)
    assert not engine.submitted


def test_newcomer_takes_a_bounded_share_and_lost_tasks_respect_it(monkeypatch):
    """A worker that joins is unexplored (bound 0): with explore_share it takes at most its cap
    of the round, also when the tasks of a worker that dies are handed out again."""
    monkeypatch.setattr(ex, "POLL_INTERVAL", 0.0)
    engine = engine4()
    policy = fa.ATAEmpirical(4, 1, eta=0.2, explore_share=0.25)
    runner = ex.AdaptiveRunner(engine, policy)
    for _ in range(5):
        runner.run_round(square, range(16))
    engine.join("w4", 1.0)
    runner.run_round(square, range(16))
    assert runner.history[-1].allocation["w4"] == 4  # floor(0.25 * 16), not the whole round
    engine.join("w5", 1.0)
    engine.hooks[engine.reported + 3] = lambda: engine.kill("w4", quiet=False)
    assert runner.run_round(square, range(16)) == [x * x for x in range(16)]
    rec = runner.history[-1]
    assert rec.allocation["w4"] > 3 and rec.allocation["w5"] == 4 and rec.resubmitted > 0
    assert sum(1 for a, _, _ in engine.submitted if a == "w5") == 4  # none of w4's items on top
    # Without the share the newcomer takes the whole round (the paper: its bound is 0).
    engine = engine4()
    runner = ex.AdaptiveRunner(engine, fa.ATAEmpirical(4, 1, eta=0.2))
    for _ in range(5):
        runner.run_round(square, range(16))
    engine.join("w4", 1.0)
    runner.run_round(square, range(16))
    assert runner.history[-1].allocation == {"w4": 16}


def test_top_up_room_caps_workers():
    lam = np.array([0.0, 1.0, 1.0])
    assert ex.top_up(lam, np.zeros(3, dtype=np.int64), 6).tolist() == [6, 0, 0]
    room = np.array([2, -1, -1])
    assert ex.top_up(lam, np.zeros(3, dtype=np.int64), 6, room).tolist() == [2, 2, 2]
    assert ex.top_up(lam, np.zeros(3, dtype=np.int64), 6, np.array([0, -1, -1])).tolist() == [0, 3, 3]
    with pytest.raises(ValueError, match="available must hold at least one worker"):
        ex.top_up(np.array([0.0, np.inf]), np.zeros(2, dtype=np.int64), 3, np.array([2, -1]))


def test_waiting_for_a_worker_stops_at_the_rounds_timeout(monkeypatch):
    """Every worker gone mid-round: the wait for one to return (no_worker_grace) ends at the
    round's timeout, as a TimeoutError, instead of running past it."""
    monkeypatch.setattr(ex, "POLL_INTERVAL", 0.01)
    engine = FakeEngine({"w0": 1.0})
    runner = ex.AdaptiveRunner(engine, fa.ATAEmpirical(1, 1, eta=1.0))
    runner.no_worker_grace = 30.0
    engine.hooks[1] = lambda: engine.kill("w0")
    t0 = time.perf_counter()
    with pytest.raises(TimeoutError, match="3 of 4 results missing"):
        runner.run_round(square, range(4), timeout=0.3)
    assert time.perf_counter() - t0 < 1.0
    assert not engine.tasks

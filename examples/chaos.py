"""Chaos run: ATA rounds on a Dask cluster while its workers are killed, restarted, added,
removed and slowed down, with rounds that time out.

Each round runs ``--budget`` short tasks (5-20 ms sleeps) with ``fastata.dask.AdaptiveExecutor``
on a ``LocalCluster`` of ``--workers`` worker processes. Before a round, events are drawn at
random (seeded), each fired from a timer thread at a random moment inside the round:

``kill``      SIGKILL a worker process (its nanny starts a new one, at a new address: a join)
``restart``   restart one worker through its nanny (``client.restart_workers``)
``cluster``   restart every worker at once (``client.restart``), rarely
``join``      one more worker (``cluster.scale``), up to ``--workers + 1``
``leave``     one worker fewer (graceful retirement), down to ``--workers - 1`` (never below 2)
``slow``      a few of the round's tasks take 20 times longer
``hang``      one worker's tasks take ``HANG_SECONDS``: the round times out after
              ``HANG_TIMEOUT`` and is run again with the same items (as a user would)

It asserts, for every round: the results are exactly the round's items, once each and in
order, from the attempt that returned them (a cancelled attempt's late results never leak
in); no attempt runs longer than its timeout plus ``GRACE`` seconds; no completed round,
retries included, takes longer than ``ROUND_BOUND`` seconds. It prints the figures: rounds,
attempts, events fired, timeouts, the longest round and attempt, tasks lost with their
workers and run again, censored samples, and the failure detection latency (from a kill to
the executor handing the dead worker's tasks out again).

Run it (a few minutes on 2 cores)::

    python examples/chaos.py                      # 200 rounds, 4 workers
    python examples/chaos.py --rounds 20 --workers 2 --seed 1   # the CI smoke run

Exit status 0 when every check held.
"""

import argparse
import faulthandler
import functools
import logging
import os
import random
import signal
import statistics
import threading
import time

#: A hung task's sleep, and the timeout of a round with one (the retry gets ``ROUND_TIMEOUT``).
HANG_SECONDS = 4.0
HANG_TIMEOUT = 1.5
#: Every other attempt's timeout: far above a normal round (well under a second).
ROUND_TIMEOUT = 20.0
#: Seconds an attempt may run past its timeout (censoring and cancelling after the deadline).
GRACE = 2.0
#: The stated bound on a completed round, retries included: a hung attempt (HANG_TIMEOUT),
#: a retry queued behind the hung tasks still running (HANG_SECONDS), a whole-cluster restart
#: (nannies start new processes: several seconds on 2 cores), with room for a loaded machine.
ROUND_BOUND = 30.0

EVENTS = {"kill": 0.10, "restart": 0.04, "cluster": 0.015, "join": 0.05, "leave": 0.04, "slow": 0.10, "hang": 0.05}


def task(item, round_id, attempt, seconds, slow, hung):
    """One task: sleep, then return who it was. ``slow``: items 20 times longer; ``hung``: an address that hangs."""
    import time

    from distributed import get_worker

    here = get_worker().address
    time.sleep(HANG_SECONDS if here == hung else seconds * (20.0 if item in slow else 1.0))
    return round_id, attempt, item


class Chaos:
    """Fires the drawn events from timer threads and counts them."""

    def __init__(self, cluster, client, workers, rng):
        self.cluster, self.client, self.workers, self.rng = cluster, client, workers, rng
        self.fired = {name: 0 for name in EVENTS}
        self.kills = {}  # address -> SIGKILL time, for the detection latency
        self.round = 0
        self.threads = []
        self.target = workers  # the number of workers the cluster is scaled to
        self.replaced = 0  # workers the cluster failed to bring back, replaced by fresh ones

    def pids(self):
        try:
            return self.client.run(os.getpid, on_error="ignore")
        except Exception:  # a worker dying under the call
            return {}

    def fire(self, name, delay):
        thread = threading.Timer(delay, self._run, args=(name,))
        thread.daemon = True
        thread.start()
        self.threads.append(thread)

    def _run(self, name):
        try:
            if getattr(self, "_" + name)() is not False:  # False: nothing to do (the fleet at its limit)
                self.fired[name] += 1
        except Exception as exc:  # an event that found nothing to act on (say, the worker had just left)
            print(f"  ({name} skipped: {type(exc).__name__}: {exc})")

    def _kill(self):
        pids = self.pids()
        address = self.rng.choice(sorted(pids))
        os.kill(pids[address], signal.SIGKILL)
        self.kills[address] = time.perf_counter()

    def _restart(self):
        address = self.rng.choice(sorted(self.client.nthreads()))
        self.client.restart_workers([address], timeout=60)

    def _cluster(self):
        self.client.restart(timeout=60)

    def _join(self):
        if self.target > self.workers:
            return False
        self.target += 1
        self.cluster.scale(self.target)

    def _leave(self):
        if self.target <= max(self.workers - 1, 2):
            return False
        self.target -= 1
        self.cluster.scale(self.target)

    def settle(self, timeout=15.0):
        """Wait for the round's events to end and the cluster to have ``target`` workers again.

        A nanny whose worker does not come back (a whole-cluster restart racing a SIGKILL can
        leave one so: ``client.restart`` then times out) is Dask's business, not the
        executor's; its slot is replaced by a fresh worker so that the run keeps its size.
        """
        for thread in self.threads:
            thread.join(120)
        self.threads = []
        deadline = time.monotonic() + timeout
        while len(self.client.nthreads()) < self.target and time.monotonic() < deadline:
            time.sleep(0.05)
        missing = self.target - len(self.client.nthreads())
        if missing > 0:
            self.replaced += missing
            # scale() removes the specs whose worker is not connected first, then adds fresh ones.
            self.cluster.scale(len(self.cluster.worker_spec) - missing)
            self.cluster.scale(self.target)
            self.client.wait_for_workers(self.target, timeout=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4, help="worker processes (one thread each)")
    parser.add_argument("--budget", type=int, default=24, help="tasks a round")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    faulthandler.register(signal.SIGUSR1)  # kill -USR1 <pid> prints every thread's stack

    import distributed

    import fastata as fa
    from fastata.dask import AdaptiveExecutor, NoWorkersError

    rng = random.Random(args.seed)
    cluster = distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, scheduler_kwargs={"dashboard_address": ":0"},
                                       silence_logs=logging.CRITICAL)  # fmt: skip
    client = distributed.Client(cluster)
    chaos = Chaos(cluster, client, args.workers, rng)
    policy = fa.ATAEmpirical(args.workers, args.budget, eta=0.5, explore_share=0.25)
    ex = AdaptiveExecutor(client, policy)
    # A whole-cluster restart on a loaded 2-core machine can take longer than the default 5 s.
    ex.no_worker_grace = 30.0
    detections = []  # seconds from a SIGKILL to the executor moving that worker's tasks
    real_check = ex._check_workers

    def check_workers(state, lost=()):
        # Failure detection: a killed worker that held tasks of this round no longer holds any
        # once the executor has noticed it (its tasks were handed to the others).
        holding = {address for _, address in state.running.values()}
        real_check(state, lost)
        still = {address for _, address in state.running.values()}
        for address in [a for a in chaos.kills if a in holding and a not in still]:
            detections.append(time.perf_counter() - chaos.kills.pop(address))

    ex._check_workers = check_workers
    round_times, attempt_times, timeouts, attempts, no_workers = [], [], 0, 0, 0
    overruns = []  # seconds past the timeout, for the attempts that timed out
    failures = []
    t_start = time.perf_counter()
    try:
        for r in range(args.rounds):
            chaos.round = r
            drawn = [name for name, p in EVENTS.items() if rng.random() < p]
            slow = set(rng.sample(range(args.budget), 3)) if "slow" in drawn else set()
            hung = rng.choice(sorted(client.nthreads())) if "hang" in drawn else None
            if hung is not None:
                chaos.fired["hang"] += 1
            for name in drawn:
                if name not in ("slow", "hang"):
                    chaos.fire(name, rng.uniform(0.0, 0.15))
            if slow:
                chaos.fired["slow"] += 1
            items = list(range(args.budget))
            seconds = rng.uniform(0.005, 0.02)
            t_round, attempt = time.perf_counter(), 0
            while True:
                attempts += 1
                fn = functools.partial(task, round_id=r, attempt=attempt, seconds=seconds, slow=slow, hung=hung)
                timeout = HANG_TIMEOUT if hung is not None else ROUND_TIMEOUT
                t0 = time.perf_counter()
                try:
                    results = ex.run_round(fn, items, timeout=timeout)
                except NoWorkersError:
                    # Every worker gone for longer than the grace: as a user would, wait and retry.
                    no_workers += 1
                    attempt_times.append(time.perf_counter() - t0)
                    chaos.settle()
                    attempt += 1
                    continue
                except TimeoutError:
                    timeouts += 1
                    attempt_times.append(time.perf_counter() - t0)
                    overruns.append(attempt_times[-1] - timeout)
                    if attempt_times[-1] > timeout + GRACE:
                        failures.append(f"round {r} attempt {attempt}: {attempt_times[-1]:.2f} s past a {timeout:g} s timeout")
                    attempt, hung = attempt + 1, None  # the same items again, the hang over
                    continue
                attempt_times.append(time.perf_counter() - t0)
                break
            round_times.append(time.perf_counter() - t_round)
            expected = [(r, attempt, i) for i in items]
            if results != expected:
                failures.append(f"round {r}: results are not the items once each, in order: {results!r}")
            if round_times[-1] > ROUND_BOUND:
                failures.append(f"round {r} took {round_times[-1]:.2f} s, above the bound of {ROUND_BOUND:g} s")
            chaos.settle()
        wall = time.perf_counter() - t_start
    finally:
        ex.close(timeout=30)
        client.close()
        cluster.close()

    lost = sum(rec.resubmitted for rec in ex.history)
    censored = sum(rec.censored for rec in ex.history)
    latencies = detections
    print(f"chaos run: {args.rounds} rounds of {args.budget} tasks, {args.workers} worker processes, seed {args.seed}")
    print(f"  wall time               {wall:.1f} s")
    print("  events fired            " + ", ".join(f"{name} {count}" for name, count in chaos.fired.items()))
    print(f"  attempts                {attempts} ({timeouts} timed out, {no_workers} found no worker; "
          "each was run again)")
    print(f"  workers replaced        {chaos.replaced} (the cluster did not bring them back)")
    print(f"  round time              median {statistics.median(round_times):.3f} s, max {max(round_times):.2f} s "
          f"(bound {ROUND_BOUND:g} s)")  # fmt: skip
    print(f"  attempt time            max {max(attempt_times):.2f} s"
          + (f"; timed-out attempts ended at most {max(overruns):.3f} s after their timeout" if overruns else ""))
    print(f"  tasks lost and re-run   {lost} (in completed rounds)")
    print(f"  censored samples        {censored} (departed workers, completed rounds) + those of the {timeouts} timeouts")
    print(f"  policy workers          {policy.n_workers} indices, {int(policy.available.sum())} available at the end")
    if latencies:
        print(f"  failure detection       {len(latencies)} workers killed holding tasks: median "
              f"{statistics.median(latencies):.3f} s, max {max(latencies):.3f} s from SIGKILL to its tasks moved")  # fmt: skip
    if failures:
        print(f"FAILED: {len(failures)} checks")
        for line in failures[:20]:
            print("  " + line)
        raise SystemExit(1)
    print("OK: every result exactly once, in order; no round above the bound")


if __name__ == "__main__":
    main()

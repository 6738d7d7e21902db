"""Run ATA rounds on Ray actors (extra ``ray``: ``pip install "fastata[ray]"``).

::

    import ray
    import fastata as fa
    from fastata.ray import AdaptiveExecutor, start_workers

    ray.init()                                               # or ray.init(address="auto") on a cluster
    workers = start_workers(8)                               # 8 actors, one CPU each
    with AdaptiveExecutor(workers, fa.ATAEmpirical(8, 16, eta=0.2)) as ex:
        grads = ex.run_round(gradient, batches)              # one task per batch, results in order
        ex.history[-1].wall_time, ex.history[-1].worker_time

A worker is an actor. Each round's ``len(items)`` tasks are allocated by the policy over the
actors alive now; worker ``i``'s tasks are calls of its method ``run_task(fn, item)``, which
runs ``fn(item)`` in the actor and returns ``(value, seconds)``, the seconds measured there
around ``fn`` (they are fed to ``policy.observe``). :func:`start_workers` creates actors of
:class:`Worker`, which has that method; actors of your own class work too: subclass
:class:`Worker` (or give the class a ``run_task`` of the same contract) and pass the handles.

Policy index ``i`` is ``executor.actors[i]`` (address ``executor.addresses[i]``): the
actors passed, in their order, then the ones added with ``add_workers``, in order.
An actor that dies fails its pending calls at once (Ray reports them, ``RayActorError``):
its unfinished tasks go to the actors still alive within milliseconds, none lost, none run
twice. An actor that Ray restarts (``max_restarts``) is left out until it answers again,
then gets its policy index back. Tasks a round gives up on (timeout, dead actor) are fed to
``policy.observe_censored`` as lower bounds on their times. See :mod:`fastata.executor` for
the round's rules.

:class:`GreedyExecutor` is the greedy baseline (GTA) on the same actors.
"""

import collections
import itertools
import threading
import time

import ray
from ray import exceptions as _rx
from ray.actor import ActorHandle

from . import _validate
from .executor import AdaptiveRunner, GreedyRunner, NoWorkersError, RoundRecord, TaskError
from .policies import ATAEmpirical

#: The actor method a round calls: ``run_task(fn, item) -> (value, seconds)``.
METHOD = "run_task"

#: Calls sent to one actor at a time: one running, one waiting in the actor (see :class:`RayEngine`).
CALLS_IN_FLIGHT = 2

#: A task function that pickles to more bytes than this is put in the object store once a
#: round instead of riding in every call.
INLINE_FN_BYTES = 16 * 1024

#: The default policy's ``explore_share``: an actor added to a running job takes at most a
#: quarter of a round while it is unexplored (the paper's ATA would give it the whole round).
DEFAULT_EXPLORE_SHARE = 0.25

__all__ = ["AdaptiveExecutor", "GreedyExecutor", "Worker", "start_workers", "RayEngine", "TaskError",
           "NoWorkersError", "RoundRecord"]  # fmt: skip


class Worker:
    """The actor class of :func:`start_workers`; subclass it to run rounds on actors of your own.

    ``run_task(fn, item)`` runs ``fn(item)`` and returns ``(value, seconds)``, the seconds
    measured here, around ``fn`` alone. A class of your own may override it (say, to pass
    the actor's state to ``fn``) as long as it keeps this contract. The executor calls it
    one task at a time per actor (Ray runs an actor's calls in the order they were sent).

    Examples
    --------
    >>> from fastata.ray import Worker
    >>> value, seconds = Worker().run_task(abs, -3)     # what an actor of this class runs, here in-process
    >>> value, seconds >= 0.0
    (3, True)

    An actor class of your own: ``@ray.remote class Trainer(Worker): ...`` (see the README).
    """

    def run_task(self, fn, item):
        start = time.perf_counter()
        value = fn(item)
        return value, time.perf_counter() - start


def start_workers(n, *, resources=None, num_cpus=1, max_restarts=0, timeout=60.0):
    """Create ``n`` :class:`Worker` actors and wait until they are up; their handles, in order.

    Parameters
    ----------
    n : int
        Actors to start (Ray places them on the cluster's nodes by their resources).
    resources : dict, optional
        Custom resources each actor needs, e.g. ``{"big_node": 1}`` to pin it to the nodes
        started with ``ray start --resources='{"big_node": 8}'``.
    num_cpus : float
        CPUs each actor reserves (default 1).
    max_restarts : int
        How often Ray restarts an actor whose process died (default 0: never). A restarted
        actor keeps its policy index; its calls in flight when it died are run elsewhere,
        not retried on it.
    timeout : float or None
        Seconds to wait for all of them to start (``None``: wait forever, e.g. while an
        autoscaler adds nodes); ``TimeoutError`` past it, after killing the ones started.

    Examples
    --------
    >>> import ray
    >>> from fastata.ray import start_workers
    >>> _ = ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True)  # or ray.init(address="auto")
    >>> workers = start_workers(2, num_cpus=0.5)
    >>> [ray.get(w.run_task.remote(abs, -3))[0] for w in workers]
    [3, 3]
    >>> for w in workers:
    ...     ray.kill(w)
    """
    n = _validate.count(n, "n", 0)
    num_cpus = _validate.nonnegative(num_cpus, "num_cpus")
    max_restarts = _validate.count(max_restarts, "max_restarts", 0)
    timeout = None if timeout is None else _validate.nonnegative(timeout, "timeout")
    cls = ray.remote(Worker).options(num_cpus=num_cpus, resources=resources or None, max_restarts=max_restarts)
    actors = [cls.remote() for _ in range(n)]
    ready, waiting = ray.wait([a.__ray_ready__.remote() for a in actors], num_returns=n, timeout=timeout)
    if waiting:
        for actor in actors:
            ray.kill(actor)
        raise TimeoutError(f"{len(waiting)} of {n} actors did not start within timeout={timeout:g} s: does "
                           f"the cluster have num_cpus={num_cpus:g} and resources={resources} free for each?")  # fmt: skip
    ray.get(ready)  # raises if an actor failed to start
    return actors


class RayEngine:
    """The engine protocol of :mod:`fastata.executor` on a list of Ray actors.

    An actor's address is ``"<position, six digits>-<its Ray actor ID>"``: the position
    among the actors given (first to the constructor, then to :meth:`add`) keeps the sorted
    address order, the policy's index order, the order of the list.

    **Calls in flight.** A call sent to an actor cannot be taken back: ``ray.cancel`` leaves
    a plain actor's queued call to run anyway (and has been seen to hang the actor). So an
    actor is sent at most ``CALLS_IN_FLIGHT`` calls at a time (one running, one waiting so
    that the actor never idles for a round trip), the rest of its tasks wait here, in
    order, and are sent as its calls end; a cancelled task that was not sent never runs.

    **Dead actors.** Which actors are alive needs no polling of Ray: a call to an actor that
    dies fails at once (``RayActorError``), and the actor is then left out of
    :meth:`addresses` until a ping (``__ray_ready__``) answers: at once with
    ``ActorDiedError`` for good, after the restart for an actor that Ray restarts.
    A large ``fn`` is put in the object store once per round (not pickled into every call).

    Examples
    --------
    >>> import ray
    >>> from fastata.ray import RayEngine, start_workers
    >>> _ = ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True)  # or ray.init(address="auto")
    >>> workers = start_workers(1, num_cpus=0.5)
    >>> engine = RayEngine(workers)
    >>> address, = engine.addresses()
    >>> handle, = engine.submit(abs, [-3], address)
    >>> event = None
    >>> while event is None:          # None: nothing ended within the timeout
    ...     event = engine.next_done(timeout=10.0)
    ...
    >>> got, kind, (value, seconds) = event
    >>> got == handle, kind, value
    (True, 'ok', 3)
    >>> engine.close(timeout=5.0); ray.kill(workers[0])
    """

    def __init__(self, actors):
        self._lock = threading.Lock()  # add/remove and addresses may come from another thread than the round's
        self._actors = {}  # address -> handle, every actor ever added
        self._address = {}  # Ray actor ID -> address
        self._listed = []  # addresses added and not removed, in order
        self._down = {}  # address -> its ping: a call failed, listed again once the ping answers
        self._dead = set()  # addresses of actors dead for good
        self._handles = itertools.count()
        self._live = {}  # handle -> address, tasks not yet reported or cancelled (sent or not)
        self._waiting = {}  # address -> deque of (handle, fn's ref, item) not sent yet
        self._sent = {}  # ObjectRef -> (handle, address): calls sent, not ended (cancelled ones too)
        self._ref = {}  # handle -> ObjectRef, for the sent tasks still live
        self._in_flight = collections.Counter()  # address -> calls sent, not ended
        self._ready = collections.deque()  # events taken from Ray, not yet handed to the executor
        self._fn = self._fn_ref = None
        self.add(actors)

    def add(self, actors):
        """Use these actors too (one already in use is ignored, one removed or dead comes back)."""
        actors = _validate.ray_actors(actors, ActorHandle, METHOD)
        with self._lock:
            for actor in actors:
                actor_id = actor._actor_id.hex()
                address = self._address.get(actor_id)
                if address is None:
                    address = f"{len(self._actors):06d}-{actor_id}"
                    self._address[actor_id] = address
                    self._actors[address] = actor
                self._dead.discard(address)  # it will show soon enough if it really is dead
                if address not in self._listed:
                    self._listed.append(address)

    def remove(self, actors):
        """Stop using these actors (they stay alive: they are yours)."""
        actors = _validate.ray_actors(actors, ActorHandle, METHOD)
        with self._lock:
            gone = {self._address.get(a._actor_id.hex()) for a in actors}
            self._listed = [a for a in self._listed if a not in gone]

    def actor(self, address):
        """The actor handle behind ``address`` (``None`` if unknown)."""
        return self._actors.get(address)

    def addresses(self):
        """The addresses of the actors in use and alive now (a dead or restarting one is left out)."""
        with self._lock:
            self._check_pings()
            return [a for a in self._listed if a not in self._down and a not in self._dead]

    def _check_pings(self):
        if not self._down:
            return
        pings = {ref: address for address, ref in self._down.items()}
        ready, _ = ray.wait(list(pings), num_returns=len(pings), timeout=0)
        for ref in ready:
            address = pings[ref]
            try:
                ray.get(ref)
            except _rx.ActorDiedError:
                self._dead.add(address)  # for good: no restart left
            except _rx.RayError:
                self._down[address] = self._actors[address].__ray_ready__.remote()  # restarting: ask again
                continue
            del self._down[address]
            self._send(address)  # back (restarted): its tasks still waiting here, if the executor kept them

    def submit(self, fn, items, address):
        """Queue ``fn(item)`` for each item on the actor at ``address``, in order; one handle per item."""
        if fn is not self._fn:
            # Once per round: a large fn (a closure over model weights) goes to the object
            # store once, not into every call; a small one rides in each call (a put costs
            # about a millisecond, more than pickling it a few dozen times).
            large = len(ray.cloudpickle.dumps(fn)) > INLINE_FN_BYTES
            self._fn, self._fn_ref = fn, ray.put(fn) if large else fn
        queue = self._waiting.setdefault(address, collections.deque())
        handles = []
        for item in items:
            handle = next(self._handles)
            handles.append(handle)
            self._live[handle] = address
            queue.append((handle, self._fn_ref, item))
        self._send(address)
        return handles

    def _send(self, address):
        """Send ``address`` its next waiting tasks, up to ``CALLS_IN_FLIGHT`` calls in flight."""
        queue = self._waiting.get(address)
        if not queue or address in self._down or address in self._dead:
            return  # a dead actor's waiting tasks stay until the executor cancels them
        method = getattr(self._actors[address], METHOD)
        while queue and self._in_flight[address] < CALLS_IN_FLIGHT:
            handle, fn_ref, item = queue.popleft()
            ref = method.remote(fn_ref, item)
            self._sent[ref] = (handle, address)
            self._ref[handle] = ref
            self._in_flight[address] += 1

    def next_done(self, timeout):
        """The next ``(handle, kind, payload)``, ``kind`` one of ``"ok"``, ``"error"``, ``"lost"``;
        ``None`` after ``timeout`` seconds with nothing ended."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._ready:
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            if not self._fill(left) or left == 0.0:
                break
        return self._ready.popleft() if self._ready else None

    def _fill(self, timeout):
        """Wait (at most ``timeout``) for a call to end, take every other one that has; ``False`` if none was sent."""
        refs = list(self._sent)
        if not refs:
            if timeout:
                time.sleep(timeout)
            return False
        # fetch_local (the default): a result is in this process's reach before it counts as
        # ready, so the ray.get below never waits for a transfer.
        ready, rest = ray.wait(refs, num_returns=1, timeout=timeout)
        if ready and rest:
            ready += ray.wait(rest, num_returns=len(rest), timeout=0)[0]
        try:
            values = ray.get(ready)  # one call for the batch; on an error, one call each
        except Exception:
            values = [_UNREAD] * len(ready)
        freed = set()
        for ref, value in zip(ready, values):
            handle, address = self._sent.pop(ref)
            self._in_flight[address] -= 1
            freed.add(address)
            # Also for a cancelled call: reading it leaves no unread error for Ray to log.
            event = self._outcome(ref, handle, address) if value is _UNREAD else self._checked(handle, value)
            if self._live.pop(handle, None) is not None:
                del self._ref[handle]
                self._ready.append(event)
        for address in freed:
            self._send(address)
        return True

    def _outcome(self, ref, handle, address):
        try:
            out = ray.get(ref)
        except _rx.RayTaskError as error:  # fn raised (or the actor's method did)
            cause = error.cause if isinstance(error.cause, BaseException) else error
            return handle, "error", cause
        except _rx.RayActorError:  # the actor died (or is restarting) under the call
            with self._lock:
                if address not in self._down and address not in self._dead:
                    self._down[address] = self._actors[address].__ray_ready__.remote()
            return handle, "lost", None
        except _rx.RayError:  # the result is lost (its node died, its owner...): run it again
            return handle, "lost", None
        return self._checked(handle, out)

    @staticmethod
    def _checked(handle, out):
        if not (isinstance(out, tuple) and len(out) == 2):
            return handle, "error", TypeError(f"the actor's {METHOD}(fn, item) must return (value, seconds); "
                                              f"got {type(out).__name__}")  # fmt: skip
        return handle, "ok", out

    def cancel(self, handles):
        """Forget these tasks: their events are never reported, the ones not sent yet never run."""
        handles = set(handles)
        if self._ready:
            self._ready = collections.deque(e for e in self._ready if e[0] not in handles)
        waiting = {}
        for handle in handles:
            address = self._live.pop(handle, None)
            if address is None:
                continue
            # A call sent runs to its end (its outcome is read and dropped); one not sent never runs.
            # No ray.cancel: it does not stop a plain actor's call anyway, and a call cancelled
            # while queued in the actor has been seen to leave the actor hung for good.
            if self._ref.pop(handle, None) is None:
                waiting.setdefault(address, set()).add(handle)
        for address, dropped in waiting.items():
            queue = self._waiting[address]
            self._waiting[address] = collections.deque(t for t in queue if t[0] not in dropped)

    def close(self, timeout):
        """Cancel the live tasks, then wait (at most ``timeout`` s) until every call sent has ended."""
        self.cancel(list(self._live))
        self._ready.clear()
        deadline = time.monotonic() + timeout
        while self._sent and time.monotonic() < deadline:
            self._fill(deadline - time.monotonic())
        self._fn = self._fn_ref = None


_UNREAD = object()  # a result not read yet (the batch read failed)


class _ActorsMixin:
    """What both Ray executors add to the core: the actors behind the addresses, and joining or leaving."""

    @property
    def actors(self):
        """``actors[i]``: the actor behind policy index ``i`` (``None`` for an index never mapped)."""
        return [None if a is None else self.engine.actor(a) for a in self.workers.addresses]

    def add_workers(self, actors):
        """Run tasks on these actors too, from the next round (or the running one's next worker check, 0.25 s).

        A new actor gets the next policy index and starts unexplored (with the default
        policy, at most a quarter of a round until it is explored); an actor removed or
        restarted earlier gets its index back.
        """
        self.engine.add(actors)
        self._refresh()

    def remove_workers(self, actors):
        """Stop running tasks on these actors: their unfinished tasks of a running round go to the others."""
        self.engine.remove(actors)
        self._refresh()

    def _refresh(self):
        # Update addresses/policy now unless a round runs (it re-reads the list itself).
        if self._lock.acquire(blocking=False):
            try:
                self._read_workers()
            finally:
                self._lock.release()


class AdaptiveExecutor(_ActorsMixin, AdaptiveRunner):
    """ATA rounds on Ray actors: ``run_round(fn, items) -> list``.

    Parameters
    ----------
    workers : list of Ray actor handles
        Actors with a ``run_task(fn, item)`` method (:func:`start_workers` creates them;
        see :class:`Worker`). The list may be empty if actors are added before the first round.
    policy : fastata policy, optional
        Allocates each round (``ATA``, ``ATAEmpirical``, ``UTA``; ``FTA`` cannot take actors
        that join). Index ``i`` is ``executor.actors[i]``: the actors given, in order, then
        the ones added. Default: ``ATAEmpirical(len(workers), 1, eta=1.0, explore_share=0.25)``.

    Attributes
    ----------
    history : list of RoundRecord
        Per completed round: wall time, worker time (sum of the measured task times), allocation.

    Use it as a context manager (or call ``close()``) to wait, at shutdown, for calls that a
    failed round cancelled while they ran; the actors and Ray stay up (they are yours).

    Examples
    --------
    >>> import ray
    >>> import fastata as fa
    >>> from fastata.ray import AdaptiveExecutor, start_workers
    >>> _ = ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True)  # or ray.init(address="auto")
    >>> workers = start_workers(2, num_cpus=0.5)
    >>> with AdaptiveExecutor(workers, fa.ATAEmpirical(2, 8, eta=0.5)) as ex:
    ...     for k in range(3):
    ...         squares = ex.run_round(lambda x: x * x, range(8))
    ...
    >>> squares                                   # results in the order of the items
    [0, 1, 4, 9, 16, 25, 36, 49]
    >>> len(ex.history), ex.history[-1].budget, sum(ex.history[-1].allocation.values())
    (3, 8, 8)
    >>> ex.actors == workers                      # policy index i: the i-th actor given
    True
    >>> for w in workers:
    ...     ray.kill(w)
    """

    def __init__(self, workers, policy=None):
        engine = RayEngine(workers)
        if policy is None:
            policy = ATAEmpirical(max(len(engine.addresses()), 1), 1, eta=1.0, explore_share=DEFAULT_EXPLORE_SHARE)
        super().__init__(engine, policy)


class GreedyExecutor(_ActorsMixin, GreedyRunner):
    """The greedy baseline (GTA) on Ray actors: every actor computes all the time.

    ``run_round(fn, items)`` keeps the first result of every item and cancels the rest;
    its history bills every actor for the whole round (``worker_time = workers * wall_time``).
    Cancelled copies already running finish anyway: use the executor as a context manager,
    or call ``close()``, before shutting Ray down, to let them end quietly.

    Examples
    --------
    >>> import ray
    >>> from fastata.ray import GreedyExecutor, start_workers
    >>> _ = ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True)  # or ray.init(address="auto")
    >>> workers = start_workers(2, num_cpus=0.5)
    >>> with GreedyExecutor(workers) as ex:
    ...     results = ex.run_round(str, range(4))
    ...
    >>> results
    ['0', '1', '2', '3']
    >>> record = ex.history[-1]
    >>> record.workers, record.worker_time == record.workers * record.wall_time
    (2, True)
    >>> for w in workers:
    ...     ray.kill(w)
    """

    def __init__(self, workers):
        super().__init__(RayEngine(workers))

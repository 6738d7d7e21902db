"""Simulated rounds: allocation policies (:func:`run`), greedy collection (:func:`run_greedy`), and
all five side by side (:func:`compare`).

A round of an allocation policy (DESIGN.md sections 1 and 5): the policy allocates ``a``;
worker ``i`` computes its ``a_i`` tasks one after another; the round takes
``round_time = max_i sum_u X_{i,u}`` and costs ``worker_time = sum_i sum_u X_{i,u}``; the
policy observes every task's time. GTA instead starts every available worker at the
round's start and stops at the ``budget``-th completion over all of them; the work still
running is cancelled, so ``worker_time = (available workers) * round_time``.

Task times are common random numbers (see :mod:`fastata.sim._kernels`): the ``u``-th task
of worker ``i`` in round ``k`` takes the same time in every run with the same seed,
whatever the policy, so the five runs of :func:`compare` are paired task by task.
Each result also records the *proxy regret* of every round,
``loss(a_k, mu_k) - loss(a*_k, mu_k)`` with ``loss(a, mu) = max_i a_i mu_i``, the round's true
means ``mu_k`` (drift included) and the best allocation ``a*_k`` over the available workers.
"""

import dataclasses

import numpy as np

from .. import _validate
from ..allocate import allocate, proxy_loss
from ..policies import ATA, FTA, PAPER_C, UTA, ATABernstein, ATAEmpirical, Policy
from ..policies.bernstein import THEORY_C as BERNSTEIN_C
from . import _kernels
from .workers import as_fleet

#: The policies :func:`compare` runs by default, in table order.
POLICIES = ("ata", "ata-empirical", "fta", "uta", "gta")
#: Every policy name :func:`compare` and :func:`make_policy` know (GTA is not a policy object).
NAMES = ("ata", "ata-empirical", "ata-bernstein", "fta", "uta", "gta")
#: Above this many ``rounds * n`` cells, per-round allocations are not kept unless asked for.
MAX_RECORDED_CELLS = 10**7
#: How often (in rounds) the ``progress`` callback is called.
PROGRESS_EVERY = 1000
#: Completions a greedy round simulates per compiled call: a round of very many tasks returns to
#: Python between slices (a fraction of a second each), so that Ctrl-C stops it.
GREEDY_SLICE = 1 << 22

_NAMES = {ATA: "ata", ATAEmpirical: "ata-empirical", ATABernstein: "ata-bernstein", FTA: "fta", UTA: "uta"}


@dataclasses.dataclass(eq=False)
class SimResult:
    """What a simulated run measured, round by round.

    Attributes
    ----------
    policy : str
        ``"ata"``, ``"ata-empirical"``, ``"fta"``, ``"uta"`` or ``"gta"``.
    n, budget, rounds : int
    seed : int or None
        The run's seed (``None`` when a ``SeedSequence`` was given).
    round_time, worker_time : ndarray of float64, shape (rounds,)
        Each round's time and its total busy worker time.
    loss, oracle_loss : ndarray of float64, shape (rounds,)
        ``max_i a_i mu_i`` for the round's allocation, and for the best one (within the
        run's ``min_tasks`` and ``max_tasks``, where given).
    busy : ndarray of int64, shape (rounds,)
        Workers that had at least one task (GTA: that completed one).
    tasks : ndarray of int64, shape (n,)
        Tasks each worker completed over the run (GTA: kept completions).
    allocations : ndarray of int, shape (rounds, n), or None
        Tasks per worker per round, when recorded.
    params : dict
        The policy's parameters (``alpha``, ``eta``, ``gamma``, ``c``) where it has them.

    Examples
    --------
    >>> import fastata as fa
    >>> workers = fa.sim.Exponential([1.0, 2.0, 4.0])
    >>> r = fa.sim.run(fa.FTA(workers.means, 7), workers, 100, seed=0)
    >>> r.policy, r.rounds, r.round_time.shape
    ('fta', 100, (100,))
    >>> float(r.regret.max())             # FTA allocates the optimum every round
    0.0
    >>> bool(r.total_time == r.round_time.sum())
    True
    """

    policy: str
    n: int
    budget: int
    rounds: int
    seed: object
    round_time: np.ndarray
    worker_time: np.ndarray
    loss: np.ndarray
    oracle_loss: np.ndarray
    busy: np.ndarray
    tasks: np.ndarray
    allocations: object = None
    params: dict = dataclasses.field(default_factory=dict)

    @property
    def regret(self):
        """Proxy regret per round, ``loss - oracle_loss`` (``>= 0``)."""
        return self.loss - self.oracle_loss

    @property
    def total_time(self):
        return float(self.round_time.sum())

    @property
    def total_worker_time(self):
        return float(self.worker_time.sum())

    @property
    def cumulative_time(self):
        """Wall-clock time at the end of each round."""
        return np.cumsum(self.round_time)

    @property
    def cumulative_worker_time(self):
        """Total worker time paid by the end of each round."""
        return np.cumsum(self.worker_time)

    @property
    def final_regret(self):
        """The last round's proxy regret: how far the final allocation is from the best one."""
        return float(self.regret[-1])

    @property
    def cumulative_regret(self):
        return float(self.regret.sum())

    @property
    def late_regret(self):
        """Mean proxy regret over the last tenth of the rounds (steadier than :attr:`final_regret`)."""
        return float(self.regret[-max(1, self.rounds // 10):].mean())

    def summary(self):
        """The run's totals as a plain dict (JSON-ready)."""
        return {
            "policy": self.policy,
            "n": self.n,
            "budget": self.budget,
            "rounds": self.rounds,
            "total_time": self.total_time,
            "total_worker_time": self.total_worker_time,
            "mean_round_time": self.total_time / self.rounds,
            "final_regret": self.final_regret,
            "late_regret": self.late_regret,
            "cumulative_regret": self.cumulative_regret,
            "mean_busy_workers": float(self.busy.mean()),
            "params": dict(self.params),
        }

    def __repr__(self):
        return (f"SimResult(policy={self.policy!r}, n={self.n}, budget={self.budget}, rounds={self.rounds}, "
                f"total_time={self.total_time:.6g}, total_worker_time={self.total_worker_time:.6g})")  # fmt: skip


class _Schedule:
    """The fleet's state round by round: availability, drift factors, true means, best loss
    (within the run's per-worker ``bounds``, ``{"min_tasks": ..., "max_tasks": ...}`` or empty:
    a regret against an allocation the bounds forbid would charge every policy, the oracle
    too, for the cap)."""

    def __init__(self, fleet, budget, bounds=None):
        self.fleet = fleet
        self.budget = budget
        self.bounds = {} if bounds is None else bounds
        self.avail_changes = set(fleet.availability_changes())
        drift = fleet.drift
        self.every_round = drift is not None and drift.breakpoints() is None
        self.factor_changes = set() if drift is None or self.every_round else set(drift.breakpoints())
        self.changes = self.avail_changes | self.factor_changes
        self.avail = fleet.available(0)
        self.factor = fleet.factors(0)
        self._refresh()

    def _refresh(self):
        self.mu = self.fleet.means * self.factor
        lam = np.where(self.avail, self.mu, np.inf)
        self.oracle = proxy_loss(allocate(lam, self.budget, **self.bounds), lam)

    def update(self, k):
        """Move to round ``k``; returns True when availability changed."""
        if not (self.every_round or k in self.changes):
            return False
        avail_changed = k in self.avail_changes
        if avail_changed:
            self.avail = self.fleet.available(k)
        if self.every_round or k in self.factor_changes:
            self.factor = self.fleet.factors(k)
        self._refresh()
        return avail_changed


class _Recorder:
    """Per-round arrays of one run."""

    def __init__(self, rounds, n, budget, record_allocations):
        if record_allocations is None:
            record_allocations = rounds * n <= MAX_RECORDED_CELLS
        self.round_time = np.empty(rounds)
        self.worker_time = np.empty(rounds)
        self.loss = np.empty(rounds)
        self.oracle_loss = np.empty(rounds)
        self.busy = np.empty(rounds, dtype=np.int64)
        self.tasks = np.zeros(n, dtype=np.int64)
        dtype = np.int32 if budget < 2**31 else np.int64
        self.allocations = np.empty((rounds, n), dtype=dtype) if record_allocations else None

    def add(self, k, counts):
        """Round ``k``'s tasks per worker: kept whole, or only added to the totals."""
        if self.allocations is not None:
            self.allocations[k] = counts
        else:
            self.tasks += counts

    def result(self, policy, fleet, budget, rounds, seed, params):
        if self.allocations is not None:
            self.tasks = self.allocations.sum(axis=0, dtype=np.int64)
        return SimResult(
            policy=policy, n=fleet.n, budget=budget, rounds=rounds,
            seed=seed if isinstance(seed, int) else None,
            round_time=self.round_time, worker_time=self.worker_time, loss=self.loss,
            oracle_loss=self.oracle_loss, busy=self.busy, tasks=self.tasks,
            allocations=self.allocations, params=params,
        )  # fmt: skip


def seed_keys(seed):
    """The run's independent streams from one seed: ``(task times, SGD noise, UTA offsets, worker shuffle)``.

    ``seed`` is an integer ``>= 0`` or a numpy ``SeedSequence``.

    Examples
    --------
    >>> import fastata as fa
    >>> keys = fa.sim.seed_keys(0)
    >>> len(keys), keys == fa.sim.seed_keys(0)
    (4, True)
    """
    return tuple(int(k) for k in _validate.seed(seed).generate_state(4, np.uint64))


def sample(workers, rounds, tasks=1, *, seed, start=0):
    """The task times a run with this seed would use: ``out[r, i, u]`` is the time of task ``u``
    of worker ``i`` in round ``start + r`` (drift included; outages ignored).

    Every run with the same seed gives the ``u``-th task worker ``i`` starts in round ``k``
    exactly this time, whatever the policy (in-order traces aside: their position depends
    on the tasks run before, here on the order round, worker, task).

    Returns
    -------
    ndarray of float64, shape (rounds, n, tasks)

    Examples
    --------
    >>> import fastata as fa
    >>> workers = fa.sim.Exponential([1.0, 2.0])
    >>> times = fa.sim.sample(workers, rounds=3, tasks=2, seed=0)
    >>> times.shape
    (3, 2, 2)
    >>> bool((times == fa.sim.sample(workers, 3, 2, seed=0)).all())   # a function of the seed
    True
    """
    fleet = as_fleet(workers)
    rounds = _validate.count(rounds, "rounds", 0)
    tasks = _validate.count(tasks, "tasks", 0)
    start = _validate.count(start, "start", 0)
    key = np.uint64(seed_keys(seed)[0])
    factors = np.empty((rounds, fleet.n))
    for r in range(rounds):
        factors[r] = fleet.factors(start + r)
    out = np.empty((rounds, fleet.n, tasks))
    pos = np.zeros(fleet.n, dtype=np.int64)
    _kernels.sample_block(key, start, fleet.kinds, fleet.params, fleet.trace, pos, factors, out)
    return out


def _check_run(workers, rounds, record_allocations, progress):
    fleet = as_fleet(workers)
    rounds = _validate.count(rounds, "rounds", 1)
    if record_allocations is not None:
        record_allocations = _validate.flag(record_allocations, "record_allocations")
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable or None; got {type(progress).__name__}")
    return fleet, rounds, record_allocations


def run(policy, workers, rounds, *, seed, min_tasks=None, max_tasks=None, record_allocations=None, progress=None):
    """Simulate ``rounds`` rounds of an allocation policy on simulated workers.

    The policy allocates its ``budget`` tasks each round, every task's time is drawn,
    and the policy observes them all. The policy object is trained in place (it keeps
    what it learned); its availability follows the workers' outages
    (``policy.set_available`` at round 0 and whenever an outage starts or ends).

    Parameters
    ----------
    policy : any policy (fastata.policies.AllocationPolicy)
        A fastata policy (ATA, ATAEmpirical, ATABernstein, FTA, UTA) or any object with
        ``n_workers`` (equal to ``workers.n``), ``budget``, ``allocate``, ``observe`` and
        ``set_available``; its allocations are checked every round. Its results are named
        after it (``policy_name``).
    workers : a fastata.sim distribution or Fleet
    rounds : int
        ``>= 1``.
    seed : int or numpy.random.SeedSequence
        Task times are a function of the seed only: the same seed gives the same
        times for every policy (a UTA policy's own offsets come from its ``seed``).
    min_tasks, max_tasks : int or array_like of int, shape (n,), optional
        Per-worker bounds on every round's allocation (``policy.allocate(min_tasks=...,
        max_tasks=...)``): free slots, a memory limit, at least one task for every live
        worker. A single ``min_tasks`` applies to the workers available that round. The
        regret is then measured against the best allocation within the same bounds.
    record_allocations : bool, optional
        Keep every round's allocation (``result.allocations``); by default only when
        ``rounds * n <= 10**7``.
    progress : callable, optional
        ``progress(rounds_done, rounds)``, called every 1000 rounds and at the end.

    Returns
    -------
    SimResult

    Examples
    --------
    >>> import fastata as fa
    >>> workers = fa.sim.presets.cifar_workers(51)
    >>> policy = fa.ATAEmpirical(51, 23, eta=0.77)
    >>> r = fa.sim.run(policy, workers, 300, seed=0)
    >>> policy.rounds, r.round_time.shape           # the policy keeps what it learned
    (300, (300,))
    >>> r.policy, bool(r.total_worker_time <= r.total_time * 51)
    ('ata-empirical', True)
    """
    fleet, rounds, record_allocations = _check_run(workers, rounds, record_allocations, progress)
    seed_ = _validate.seed(seed)
    _validate.policy_protocol(policy)
    _validate.same_workers(policy.n_workers, fleet.n)
    _validate.task_bounds(min_tasks, max_tasks, np.ones(fleet.n))  # types and shapes, before any round
    bounds = {} if min_tasks is None and max_tasks is None else {"min_tasks": min_tasks, "max_tasks": max_tasks}
    budget = _validate.budget(policy.budget, "policy.budget")
    foreign = not isinstance(policy, Policy)  # an object of the user's: its allocations are checked
    if isinstance(policy, FTA) and not np.array_equal(policy.true_means, fleet.means):
        raise ValueError("policy must be an FTA given the simulated workers' means (workers.means); got other means")
    key = np.uint64(seed_keys(seed_)[0])
    schedule = _Schedule(fleet, budget, bounds)
    rec = _Recorder(rounds, fleet.n, budget, record_allocations)
    everyone = np.arange(fleet.n)
    # Told before the first round, taken back if that round is refused (bounds the outages
    # make infeasible): a run that simulated nothing leaves the policy as it was.
    told = getattr(policy, "available", None)
    told = None if told is None else np.array(told, dtype=bool)
    _tell_availability(policy, schedule.avail, everyone)

    out = np.zeros(fleet.n, dtype=np.int64)
    workers_buf = np.empty(max(budget, 1), dtype=np.int64)
    durations_buf = np.empty(max(budget, 1))
    pos = np.zeros(fleet.n, dtype=np.int64)
    kinds, params, trace = fleet.kinds, fleet.params, fleet.trace
    kernel = _kernels.allocation_round
    for k in range(rounds):
        if schedule.update(k):
            _tell_availability(policy, schedule.avail, everyone)
        try:
            a = policy.allocate(out=out, **bounds)
        except Exception:
            if k == 0 and told is not None and told.shape == (fleet.n,):
                _tell_availability(policy, told, everyone)
            raise
        if foreign:
            a = np.ascontiguousarray(_validate.policy_allocation(np.asarray(a), fleet.n, budget), dtype=np.int64)
            _validate.no_tasks_when_unavailable(a, schedule.avail)
        m, rec.round_time[k], rec.worker_time[k], rec.loss[k], rec.busy[k] = kernel(
            key, k, a, kinds, params, trace, pos, schedule.factor, schedule.mu, workers_buf, durations_buf
        )
        policy.observe(workers_buf[:m], durations_buf[:m])
        rec.oracle_loss[k] = schedule.oracle
        rec.add(k, a)
        if progress is not None and (k + 1) % PROGRESS_EVERY == 0:
            progress(k + 1, rounds)
    _finish(progress, rounds)
    params = _policy_params(policy)
    params.update({k: v for k, v in bounds.items() if v is not None and np.ndim(v) == 0})
    return rec.result(policy_name(policy), fleet, budget, rounds, seed, params)


def policy_name(policy):
    """The name results carry: the simulator's name of a built-in policy, else ``policy.name`` or the class name.

    Examples
    --------
    >>> import fastata as fa
    >>> fa.sim.policy_name(fa.ATABernstein(3, 4, eta=0.5))
    'ata-bernstein'
    >>> class Mine:
    ...     name = "round-robin"
    >>> fa.sim.policy_name(Mine())
    'round-robin'
    """
    name = _NAMES.get(type(policy))
    if name is None:
        name = getattr(policy, "name", None)
        name = name if isinstance(name, str) and name else type(policy).__name__
    return name


def _finish(progress, rounds):
    if progress is not None and rounds % PROGRESS_EVERY:
        progress(rounds, rounds)


def _tell_availability(policy, avail, everyone):
    up, down = everyone[avail], everyone[~avail]
    if up.size:
        policy.set_available(up, True)
    if down.size:
        policy.set_available(down, False)


def _policy_params(policy):
    params = {}
    for name in ("alpha", "eta", "c", "gamma"):
        if hasattr(policy, name):
            params[name] = getattr(policy, name)
    return params


def run_greedy(workers, budget, rounds, *, seed, record_allocations=None, progress=None):
    """Simulate GTA, greedy collection with cancellation, for ``rounds`` rounds.

    Every available worker starts computing at the round's start and keeps going; the
    round ends at the ``budget``-th completion over all workers (ties broken by worker id);
    the work still in progress is cancelled and wasted, so the round costs
    ``worker_time = (available workers) * round_time``. Task ``u`` of worker ``i`` in round
    ``k`` takes the same time as in :func:`run` with the same seed.

    Parameters and result as :func:`run`; ``result.allocations`` (and ``tasks``) count the
    completions kept from each worker.

    Examples
    --------
    >>> import fastata as fa
    >>> workers = fa.sim.Exponential([1.0, 2.0, 4.0])
    >>> r = fa.sim.run_greedy(workers, 7, 100, seed=0)
    >>> r.policy, int(r.tasks.sum())              # 7 results kept per round
    ('gta', 700)
    >>> bool((r.worker_time == 3 * r.round_time).all())   # every worker billed for the whole round
    True
    """
    fleet, rounds, record_allocations = _check_run(workers, rounds, record_allocations, progress)
    budget = _validate.budget(budget)
    key = np.uint64(seed_keys(seed)[0])
    schedule = _Schedule(fleet, budget)
    rec = _Recorder(rounds, fleet.n, budget, record_allocations)
    n = fleet.n
    counts = np.zeros(n, dtype=np.int64)
    heap_t, heap_i, started = np.empty(n), np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    pos = np.zeros(n, dtype=np.int64)
    kinds, params, trace = fleet.kinds, fleet.params, fleet.trace
    kernel = _kernels.greedy_round
    for k in range(rounds):
        schedule.update(k)
        avail = schedule.avail
        done = 0
        while True:
            done, rec.round_time[k], rec.worker_time[k], rec.loss[k], rec.busy[k] = kernel(
                key, k, budget, done, GREEDY_SLICE, avail, kinds, params, trace, pos, schedule.factor, schedule.mu,
                counts, heap_t, heap_i, started,
            )  # fmt: skip
            if done == budget:
                break
        rec.oracle_loss[k] = schedule.oracle
        rec.add(k, counts)
        if progress is not None and (k + 1) % PROGRESS_EVERY == 0:
            progress(k + 1, rounds)
    _finish(progress, rounds)
    return rec.result("gta", fleet, budget, rounds, seed, {})


def make_policy(name, workers, budget, *, alpha=None, eta=None, gamma=1.0, c=None, seed=0, backend="auto"):
    """A fresh policy by name for these workers (not ``"gta"``, which is not a policy object).

    ``alpha`` and ``eta`` default to the workers' bounds (:meth:`Fleet.alpha_bound`,
    :meth:`Fleet.eta_bound`); FTA gets the workers' true means; UTA's offsets are seeded
    from ``seed`` (a stream of its own, see :func:`seed_keys`). ``c=None`` is each policy's
    own theory constant: 2 for ATA and ATA-Empirical (the paper's), 1 for ATA-Bernstein
    (its inequality's).

    Examples
    --------
    >>> import fastata as fa
    >>> workers = fa.sim.presets.cifar_workers(51)
    >>> policy = fa.sim.make_policy("ata-empirical", workers, 23)
    >>> type(policy).__name__, round(policy.eta, 4)     # eta: the workers' own bound
    ('ATAEmpirical', 0.7657)
    """
    fleet = as_fleet(workers)
    name = _validate.choice(name, "policy", NAMES[:-1])
    if name == "ata":
        alpha = fleet.alpha_bound() if alpha is None else alpha
        return ATA(fleet.n, budget, alpha=alpha, c=PAPER_C if c is None else c, gamma=gamma, backend=backend)
    if name == "ata-empirical":
        eta = fleet.eta_bound() if eta is None else eta
        return ATAEmpirical(fleet.n, budget, eta=eta, c=PAPER_C if c is None else c, gamma=gamma, backend=backend)
    if name == "ata-bernstein":
        eta = fleet.eta_bound() if eta is None else eta
        c = BERNSTEIN_C if c is None else c
        return ATABernstein(fleet.n, budget, eta=eta, c=c, gamma=gamma, backend=backend)
    if name == "fta":
        return FTA(fleet.means, budget, backend=backend)
    return UTA(fleet.n, budget, seed=seed_keys(seed)[2], backend=backend)


def compare(workers, budget, rounds, *, seed, policies=POLICIES, alpha=None, eta=None, gamma=1.0, c=None,
            min_tasks=None, max_tasks=None, backend="auto", record_allocations=None, progress=None):  # fmt: skip
    """Run several policies on the same workers, rounds and seed (common random numbers).

    Parameters
    ----------
    policies : sequence of str or policy objects
        Names from ``NAMES`` (built here for these workers), or policy objects of your
        own (anything with the policy protocol, ``fastata.policies.AllocationPolicy``,
        with ``n_workers == workers.n`` and this ``budget``; trained in place, named by
        ``policy_name``), or ``(name, policy)`` pairs. Results come back in this order,
        keyed by name.
    alpha, eta : float, optional
        ATA's and ATA-Empirical's parameters; default to the workers' psi_1 bounds.
    gamma, c, backend
        Passed to the adaptive policies (``c=None``: each one's theory constant, see
        :func:`make_policy`) (``gamma < 1`` forgets old samples).
    min_tasks, max_tasks : int or array_like of int, optional
        Per-worker bounds for every allocation policy (see :func:`run`); GTA, which keeps
        every worker busy, has none.
    progress : callable, optional
        ``progress(policy, rounds_done, rounds)``.

    Returns
    -------
    dict
        Policy name -> :class:`SimResult`.

    Examples
    --------
    >>> import fastata as fa
    >>> workers = fa.sim.presets.cifar_workers(51)
    >>> results = fa.sim.compare(workers, budget=23, rounds=200, seed=0, policies=("ata-empirical", "fta", "gta"))
    >>> list(results)
    ['ata-empirical', 'fta', 'gta']
    >>> bool(results["gta"].total_worker_time > results["fta"].total_worker_time)
    True
    """
    fleet, rounds, _ = _check_run(workers, rounds, record_allocations, None)
    budget = _validate.budget(budget)
    entries = []
    for j, p in enumerate(policies):
        if isinstance(p, str):
            entries.append((_validate.choice(p, "policy", NAMES), p))
            continue
        name = None
        if isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str):
            name, p = p
        label = f"policies[{j}]" if name is None else f"policy {name!r}"  # a named one by its name
        _validate.policy_protocol(p, label)
        _validate.same_workers(p.n_workers, fleet.n)
        _validate.same_budget(p.budget, budget, f"{label}.budget")
        entries.append((policy_name(p) if name is None else name, p))
    names = [name for name, _ in entries]
    if len(set(names)) != len(names):
        raise ValueError(f"policies must not repeat a policy (by name); got {', '.join(names)}")
    made = {  # every policy is built (and checked) before anything runs
        name: make_policy(p, fleet, budget, alpha=alpha, eta=eta, gamma=gamma, c=c, seed=seed, backend=backend)
        if isinstance(p, str) and p != "gta" else p
        for name, p in entries
    }
    results = {}
    for name, p in made.items():
        tick = None if progress is None else (lambda done, total, name=name: progress(name, done, total))
        if p == "gta":
            results[name] = run_greedy(fleet, budget, rounds, seed=seed, record_allocations=record_allocations,
                                       progress=tick)  # fmt: skip
        else:
            results[name] = run(p, fleet, rounds, seed=seed, min_tasks=min_tasks, max_tasks=max_tasks,
                                record_allocations=record_allocations, progress=tick)
            results[name].policy = name
    return results

"""A preset run end to end: every setup, every policy, the SGD coupling; what ``fastata simulate`` runs."""

import dataclasses

import numpy as np

from .. import _validate
from . import presets as _presets
from .run import NAMES, POLICIES, compare, seed_keys
from .sgd import time_to_reach

#: "Time to reach" in the SGD tables: suboptimality below this fraction of the initial one.
TARGET_FRACTION = 1e-3


@dataclasses.dataclass
class SetupResult:
    """The results of one setup: per policy, plus the parameters the adaptive policies used."""

    setup: _presets.Setup
    results: dict
    alpha: float
    eta: float
    suboptimality: object = None  # ndarray (rounds + 1,) when the preset couples training

    def time_to_target(self, policy, worker_time=False):
        """Time (or worker time) until SGD's suboptimality falls below ``TARGET_FRACTION`` of its start."""
        r = self.results[policy]
        times = np.concatenate([[0.0], r.cumulative_worker_time if worker_time else r.cumulative_time])
        return time_to_reach(self.suboptimality, times, TARGET_FRACTION * self.suboptimality[0])


@dataclasses.dataclass
class Experiment:
    """Everything a ``fastata simulate`` run produced.

    Examples
    --------
    >>> from fastata.sim import experiment
    >>> run = experiment.run_preset("cifar", rounds=50, seed=0, policies=("ata", "fta"))
    >>> run.preset, run.rounds, run.policies, len(run.setups)
    ('cifar', 50, ('ata', 'fta'), 1)
    """

    preset: str
    description: str
    rounds: int
    seed: int
    policies: tuple
    gamma: float
    c: float
    shuffle: bool
    setups: list
    quadratic: object = None
    min_tasks: object = None  # per-worker bounds of the allocation policies (ints), or None
    max_tasks: object = None

    def parameters(self):
        """The run's parameters (JSON-ready)."""
        first = self.setups[0]
        return {
            "preset": self.preset,
            "description": self.description,
            "rounds": self.rounds,
            "seed": self.seed,
            "policies": list(self.policies),
            "n": [s.setup.workers.n for s in self.setups] if len(self.setups) > 1 else first.setup.workers.n,
            "budget": first.setup.budget,
            "workers": [s.setup.workers.describe() for s in self.setups],
            "alpha": [s.alpha for s in self.setups] if len(self.setups) > 1 else first.alpha,
            "eta": [s.eta for s in self.setups] if len(self.setups) > 1 else first.eta,
            "gamma": self.gamma,
            "c": self.c,
            "shuffle": self.shuffle,
            "min_tasks": self.min_tasks,
            "max_tasks": self.max_tasks,
            "quadratic": None if self.quadratic is None else repr(self.quadratic),
            "common_random_numbers": True,
        }


def run_preset(name, *, rounds=None, seed=0, n=None, budget=None, distribution=None, policies=POLICIES,
               alpha=None, eta=None, gamma=None, c=None, shuffle=False, min_tasks=None, max_tasks=None,
               backend="auto", progress=None, custom=()):  # fmt: skip
    """Run a preset (see :mod:`fastata.sim.presets`) with optional overrides.

    ``custom``: ``(name, factory)`` pairs, policies of your own run beside ``policies``;
    for each setup, ``factory(n_workers, budget, *, alpha, eta, gamma, c)`` must return a
    fresh policy (the policy protocol, ``fastata.policies.AllocationPolicy``), where
    ``alpha`` and ``eta`` are the workers' bounds (or the overrides), ``gamma`` the preset's
    (or the override) and ``c`` the override or ``None``.

    ``alpha`` and ``eta`` default, per setup, to the workers' psi_1 bounds; ``gamma`` to
    the preset's. ``shuffle=True`` renumbers the workers at random (seeded by ``seed``), so
    that worker ids say nothing about speed. ``min_tasks`` and ``max_tasks`` (ints) bound every
    worker's tasks a round for the allocation policies (:func:`fastata.sim.run`).
    ``progress(done, total)`` counts rounds over every setup and policy.
    Every argument is checked, and every policy built, before the first round runs.

    Examples
    --------
    >>> from fastata.sim import experiment
    >>> run = experiment.run_preset("cifar", rounds=100, seed=0, n=20, budget=10, policies=("ata-empirical", "uta"))
    >>> setup = run.setups[0]
    >>> setup.setup.label, sorted(setup.results)
    ('n=20, budget=10', ['ata-empirical', 'uta'])
    >>> round(setup.eta, 4)                       # the workers' own bound, 29 i + Exp(29 i)
    0.7657
    """
    preset = _presets.get(name)
    rounds = _validate.count(preset.rounds if rounds is None else rounds, "rounds", 1)
    seed = _validate.count(seed, "seed", 0)
    policies = tuple(policies)
    custom = tuple(custom)
    for j, item in enumerate(custom):
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) and callable(item[1])):
            raise TypeError(f"custom[{j}] must be a (name, factory) pair with a callable factory; got {item!r}")
    policies = policies + tuple(name for name, _ in custom)
    if not policies:
        raise ValueError("policies must name at least one policy; got none")
    for p in policies[: len(policies) - len(custom)]:
        _validate.choice(p, "policy", NAMES)
    if len(set(policies)) != len(policies):
        raise ValueError(f"policies must not repeat a policy; got {', '.join(policies)}")
    gamma = preset.gamma if gamma is None else _validate.discount(gamma)
    c = None if c is None else _validate.positive(c, "c")  # None: each policy's theory constant
    alpha = None if alpha is None else _validate.positive(alpha, "alpha")
    eta = None if eta is None else _validate.positive(eta, "eta")
    shuffle = _validate.flag(shuffle, "shuffle")
    min_tasks = None if min_tasks is None else _validate.count(min_tasks, "min_tasks", 0)
    max_tasks = None if max_tasks is None else _validate.count(max_tasks, "max_tasks", 0)
    setups = preset.setups(rounds, n=n, budget=budget, distribution=distribution,
                           shuffle=seed_keys(seed)[3] if shuffle else None)  # fmt: skip
    quadratic = preset.quadratic() if preset.quadratic is not None else None

    total = rounds * len(policies) * len(setups)
    done = [0]

    def tick(policy, k, _total):
        if progress is not None:
            progress(done[0] + k, total)

    out = []
    curves = {}
    for setup in setups:
        fleet = setup.workers
        a = fleet.alpha_bound() if alpha is None else alpha
        e = fleet.eta_bound() if eta is None else eta
        own = tuple((name, _custom_policy(name, make, fleet.n, setup.budget, a, e, gamma, c)) for name, make in custom)
        results = compare(fleet, setup.budget, rounds, seed=seed, policies=policies[: len(policies) - len(custom)] + own,
                          alpha=a, eta=e, gamma=gamma, c=c, min_tasks=min_tasks, max_tasks=max_tasks,
                          backend=backend, progress=tick)  # fmt: skip
        done[0] += rounds * len(policies)
        curve = None
        if quadratic is not None:
            if setup.budget not in curves:
                curves[setup.budget] = quadratic.sgd(rounds, max(setup.budget, 1), seed=seed)
            curve = curves[setup.budget]
        out.append(SetupResult(setup, results, a, e, curve))
    return Experiment(preset.name, preset.description, rounds, seed, policies, gamma, c, shuffle, out, quadratic,
                      min_tasks, max_tasks)


def _custom_policy(name, make, n, budget, alpha, eta, gamma, c):
    """``make(n, budget, alpha=, eta=, gamma=, c=)``, with a factory that does not take those
    arguments named as such (a callable of another kind: ``--policy os:getcwd``)."""
    try:
        return make(n, budget, alpha=alpha, eta=eta, gamma=gamma, c=c)
    except TypeError as exc:
        raise TypeError(f"policy {name!r} must be a factory called as factory(n_workers, budget, *, alpha, eta, "
                        f"gamma, c); calling it raised: {exc}") from exc

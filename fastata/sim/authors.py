"""The authors' simulation code's choices, beside fastata's: what each one does to the CIFAR table.

The paper's authors' simulation code differs from fastata's policies in three places
(``docs/reproduction.md``): the constant in front of the width (``4e`` against the
paper's 2; ATA-Empirical with ``2 muhat_i`` in place of ``alpha``, i.e. ``eta = 2``), how
unexplored workers are sampled (each gets one task, chosen at random, before anything
else; fastata gives them bound 0, which the canonical allocation splits round-robin from
the lowest index) and ties (random there, lowest index here). :class:`AuthorsRules` runs a
fastata policy's statistics and bounds under either set of rules, so each difference can
be switched on alone; ``fastata measure paper`` prints the table.
"""

import math

import numpy as np

from ..allocate import allocate
from .run import policy_name, run, run_greedy

#: The authors' code's constant in front of the width, ``4e``.
CODE_C = 4.0 * math.e


class AuthorsRules:
    """A confidence-bound policy that allocates by the authors' code's rules on the policy's own bounds.

    Each round reads ``policy.lower_bounds`` (the bounds its own ``allocate`` would use),
    advances the policy's round count, and allocates:

    * ``exploration="random"`` (the code): while some available worker has no sample,
      each of up to ``budget`` of them, chosen at random, gets one task; tasks left over go
      to the explored workers by the rules below (to the unexplored ones, split evenly,
      when none is explored). ``"round-robin"`` (fastata): unexplored workers' bound is 0,
      like any other.
    * ``ties="random"`` (the code): the canonical allocation on the bounds with the
      workers in a fresh random order each round, so tied workers (zero bounds among them)
      are favoured at random; ``"lowest"`` (fastata): the lowest index.

    With ``exploration="round-robin", ties="lowest"`` the allocations are exactly the
    policy's own. Per-worker bounds are not supported.

    Parameters
    ----------
    policy : ATA, ATAEmpirical, ATABernstein or a ConfidenceBound subclass
    exploration : {"random", "round-robin"}
    ties : {"random", "lowest"}
    seed : int
        Seeds the random choices (the authors' code leaves them unseeded).

    Examples
    --------
    >>> import fastata as fa
    >>> from fastata.sim.authors import AuthorsRules
    >>> workers = fa.sim.presets.cifar_workers(51)
    >>> policy = AuthorsRules(fa.sim.make_policy("ata-empirical", workers, 23), seed=0)
    >>> a = policy.allocate()
    >>> int(a.sum()), int(a.max())              # 23 unexplored workers, one task each
    (23, 1)
    >>> r = fa.sim.run(policy, workers, 200, seed=0)
    >>> r.policy
    'ata-empirical (random exploration, random ties)'
    """

    def __init__(self, policy, *, exploration="random", ties="random", seed=0):
        if exploration not in ("random", "round-robin"):
            raise ValueError(f"exploration must be 'random' or 'round-robin'; got {exploration!r}")
        if ties not in ("random", "lowest"):
            raise ValueError(f"ties must be 'random' or 'lowest'; got {ties!r}")
        self.policy = policy
        self.exploration = exploration
        self.ties = ties
        self.rng = np.random.default_rng(seed)
        self.name = f"{policy_name(policy)} ({exploration} exploration, {ties} ties)"

    @property
    def n_workers(self):
        return self.policy.n_workers

    @property
    def budget(self):
        return self.policy.budget

    def observe(self, workers, durations):
        self.policy.observe(workers, durations)

    def set_available(self, ids, flag):
        self.policy.set_available(ids, flag)

    def allocate(self, budget=None, *, out=None, min_tasks=None, max_tasks=None):
        if min_tasks is not None or max_tasks is not None:
            raise ValueError("AuthorsRules does not take min_tasks or max_tasks (the authors' code has no bounds)")
        budget = self.policy.budget if budget is None else budget
        s = self.policy.lower_bounds
        own = self.policy.allocate(budget)  # advances the policy's round count (k in L = ln(2 k^2))
        a = np.zeros(s.size, dtype=np.int64) if out is None else out
        a[:] = 0
        if self.exploration == "round-robin" and self.ties == "lowest":
            a[:] = own
            return a
        left = budget
        if self.exploration == "random":
            available = np.isfinite(s)
            unexplored = np.flatnonzero(available & (np.asarray(self.policy.counts) == 0))
            if unexplored.size:
                chosen = self.rng.permutation(unexplored)[:budget]
                a[chosen] = 1
                left -= chosen.size
                if left and (available.sum() == unexplored.size):  # nobody explored: split evenly over them
                    s = np.where(np.isin(np.arange(s.size), unexplored), 0.0, np.inf)
                else:
                    s = s.copy()
                    s[unexplored] = np.inf
        if left:
            if self.ties == "random":
                order = self.rng.permutation(s.size)
                a[order] += allocate(s[order], left)
            else:
                a += allocate(s, left)
        return a


def paper_rows(rounds=10_000, seed=0, n=None, progress=None):
    """The CIFAR preset under fastata's choices, each of the authors' code's choices alone, and all of them.

    Returns a list of ``(variant, policy name, SimResult)`` and the FTA and GTA results as
    ``(rows, fta, gta)``; every run has the same seed (common random numbers).

    Examples
    --------
    >>> from fastata.sim import authors
    >>> rows, fta, gta = authors.paper_rows(rounds=100)
    >>> [variant for variant, name, r in rows if name == "ata"]
    ['fastata (c = 2)', 'c = 4e', 'random exploration', 'random ties', "the authors' code"]
    """
    from . import presets
    from .run import make_policy

    setup = presets.get("cifar").setups(rounds, n=n)[0]
    fleet, budget = setup.workers, setup.budget
    variants = (  # (label, c for ATA / ATA-Empirical, ATA-Empirical's eta (None: the workers' bound), rules)
        ("fastata (c = 2)", 2.0, None, ("round-robin", "lowest")),
        ("c = 4e", CODE_C, None, ("round-robin", "lowest")),
        ("random exploration", 2.0, None, ("random", "lowest")),
        ("random ties", 2.0, None, ("round-robin", "random")),
        ("the authors' code", CODE_C, 2.0, ("random", "random")),
    )
    rows = []
    for label, c, eta, (exploration, ties) in variants:
        for name in ("ata", "ata-empirical"):
            policy = make_policy(name, fleet, budget, c=c, eta=eta if name == "ata-empirical" else None)
            rules = AuthorsRules(policy, exploration=exploration, ties=ties, seed=seed)
            result = run(rules, fleet, rounds, seed=seed, record_allocations=False)
            result.params = {"c": c, **({"eta": policy.eta} if name == "ata-empirical" else {"alpha": policy.alpha})}
            rows.append((label, name, result))
            if progress is not None:
                progress(f"{label}: {name}")
    fta = run(make_policy("fta", fleet, budget), fleet, rounds, seed=seed, record_allocations=False)
    gta = run_greedy(fleet, budget, rounds, seed=seed, record_allocations=False)
    return rows, fta, gta


def _paper_markdown(rows, fta, gta):
    lines = ["| variant | policy | c | total time / FTA | / GTA | worker time / FTA | / GTA | regret, last 10% |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for label, name, r in rows:
        scale = f"eta = {r.params['eta']:.4g}" if "eta" in r.params else f"alpha = {r.params['alpha']:.4g}"
        lines.append(f"| {label} | {name} ({scale}) | {r.params['c']:.4g} | {r.total_time / fta.total_time:.3f} | "
                     f"{r.total_time / gta.total_time:.3f} | {r.total_worker_time / fta.total_worker_time:.3f} | "
                     f"{r.total_worker_time / gta.total_worker_time:.3f} | {r.late_regret:.1f} |")  # fmt: skip
    lines.append(f"| | GTA | | {gta.total_time / fta.total_time:.3f} | 1.000 | "
                 f"{gta.total_worker_time / fta.total_worker_time:.3f} | 1.000 | {gta.late_regret:.1f} |")  # fmt: skip
    return "\n".join(lines)


__all__ = ["CODE_C", "AuthorsRules", "paper_rows"]

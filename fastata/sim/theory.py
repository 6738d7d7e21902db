"""The theory's claims, measured: coverage of the lower confidence bounds, regret against ``ln K``,
recovery after a step change.

* :func:`coverage` runs a confidence-bound policy in the simulator and counts the
  (round, worker) pairs whose lower bound ``s_i`` exceeded the worker's true mean that
  round (drift included), beside the level the inequality promises for the same pairs.
* :func:`cumulative_regret` reads the cumulative proxy regret ``R_K`` of a run at
  horizons ``K``; the theorem says ``R_K = O(ln K)``.
* :func:`recovery_rounds` counts the rounds a policy needs after a change of the workers'
  speeds until its proxy loss is back within 10 % of the new best allocation's.

``fastata measure coverage | regret | recovery`` print the tables of ``docs/theory.md``.

**The promised level.** ATA, ATA-Empirical and ATA-Bernstein set ``L = ln(2 k^2)`` after
``k`` completed rounds. ATA's and ATA-Empirical's width ``c alpha (sqrt(L/K) + L/K)``
(``alpha = eta mu`` for ATA-Empirical) is the paper's two-sided concentration bound for
sub-exponential times at confidence ``delta`` with ``L = ln(2 / delta)``, so
``delta = 1 / k^2``; ATA-Bernstein's two events fail with probability ``2 e^-L = 1 / k^2``
(``docs/bernstein.md``). Either way ``P(s_i > mu_i) <= 1 / k^2`` for each worker and round
(vacuous at ``k = 1``), and the expected number of crossings among a set of pairs is at
most ``sum min(1, 1 / k^2)`` over those pairs. The inequalities hold for a fixed sample
size ``K_i``; a policy chooses ``K_i`` from what it saw, which is why the level is measured
and not assumed.
"""

import dataclasses

import numpy as np

from .. import _validate
from .run import _Schedule, policy_name, run
from .workers import as_fleet

#: Horizons ``K`` of the regret table, from 100 to 100,000 rounds.
HORIZONS = (100, 1_000, 10_000, 100_000)


@dataclasses.dataclass
class Coverage:
    """Crossings of the lower bounds over the true means, and the promised level, of one or more runs.

    Pairs are (round, worker) pairs of *explored* available workers (``K_i > 0``): an
    unexplored worker's bound is 0 and cannot cross. ``tail_*`` count the rounds from
    ``tail_from`` on, where the promise ``1 / k^2`` is small and the count says most.

    Attributes
    ----------
    policy : str
    params : dict
        The policy's ``alpha``/``eta``, ``c`` and ``gamma``.
    runs, rounds : int
        Runs merged, and rounds per run.
    pairs, above : int
        (round, worker) pairs, and how many had ``s_i > mu_i``.
    promised : float
        ``sum min(1, 1 / k^2)`` over the same pairs: the expected crossings the inequality allows.
    tail_from, tail_pairs, tail_above : int
    tail_promised : float
    last_above : int
        The last round (0-based) with a crossing, ``-1`` if none.

    Examples
    --------
    >>> import fastata as fa
    >>> from fastata.sim import theory
    >>> workers = fa.sim.Exponential([1.0, 2.0, 4.0])
    >>> cov = theory.coverage(fa.ATAEmpirical(3, 6, eta=1.6), workers, 200, seed=0)
    >>> cov.above, cov.pairs, round(cov.level, 4)
    (0, 597, 0.0082)
    >>> merged = cov.merge(theory.coverage(fa.ATAEmpirical(3, 6, eta=1.6), workers, 200, seed=1))
    >>> merged.runs, merged.pairs
    (2, 1194)
    """

    policy: str
    params: dict
    runs: int
    rounds: int
    pairs: int
    above: int
    promised: float
    tail_from: int
    tail_pairs: int
    tail_above: int
    tail_promised: float
    last_above: int

    @property
    def fraction(self):
        """Observed fraction of the pairs whose bound exceeded the true mean."""
        return self.above / self.pairs if self.pairs else 0.0

    @property
    def level(self):
        """The promised fraction: ``promised / pairs``."""
        return self.promised / self.pairs if self.pairs else 0.0

    @property
    def tail_fraction(self):
        return self.tail_above / self.tail_pairs if self.tail_pairs else 0.0

    @property
    def tail_level(self):
        return self.tail_promised / self.tail_pairs if self.tail_pairs else 0.0

    def merge(self, other):
        """Both runs' counts together (same policy, rounds and ``tail_from``)."""
        if (other.policy, other.rounds, other.tail_from) != (self.policy, self.rounds, self.tail_from):
            raise ValueError("merge needs coverages of the same policy, rounds and tail_from; got "
                             f"{(self.policy, self.rounds, self.tail_from)} and "
                             f"{(other.policy, other.rounds, other.tail_from)}")  # fmt: skip
        return dataclasses.replace(
            self, runs=self.runs + other.runs, pairs=self.pairs + other.pairs, above=self.above + other.above,
            promised=self.promised + other.promised, tail_pairs=self.tail_pairs + other.tail_pairs,
            tail_above=self.tail_above + other.tail_above, tail_promised=self.tail_promised + other.tail_promised,
            last_above=max(self.last_above, other.last_above),
        )  # fmt: skip


class _Watched:
    """A policy seen through the policy protocol, its bounds checked against the true means before each round."""

    def __init__(self, policy, fleet, tail_from):
        self.inner = policy
        self.name = policy_name(policy)
        self.n_workers = policy.n_workers
        self.budget = policy.budget
        self.schedule = _Schedule(fleet, policy.budget)
        self.tail_from = tail_from
        self.k = 0
        self.counts = np.zeros(4, dtype=np.int64)  # pairs, above, tail pairs, tail above
        self.promised = np.zeros(2)  # all rounds, tail
        self.last_above = -1

    def set_available(self, ids, flag):
        self.inner.set_available(ids, flag)

    def observe(self, workers, durations):
        self.inner.observe(workers, durations)

    def allocate(self, budget=None, *, out=None, **bounds):
        self.schedule.update(self.k)
        s = self.inner.lower_bounds
        live = (np.asarray(self.inner.counts) > 0) & np.isfinite(s)
        pairs = int(live.sum())
        above = int((s[live] > self.schedule.mu[live]).sum())
        level = pairs * min(1.0, 1.0 / max(self.k, 1) ** 2)
        tail = self.k >= self.tail_from
        self.counts += (pairs, above, pairs * tail, above * tail)
        self.promised += (level, level * tail)
        if above:
            self.last_above = self.k
        self.k += 1
        return self.inner.allocate(budget, out=out, **bounds)


def coverage(policy, workers, rounds, *, seed, tail_from=100):
    """Run ``policy`` for ``rounds`` rounds and count the rounds' bounds that exceeded the true means.

    Before every round, the policy's ``lower_bounds`` (what that round allocates on) are
    compared with the workers' true means of the round (:class:`fastata.sim.Fleet`'s
    means times its drift factors). The run itself is :func:`fastata.sim.run`'s with the
    same seed: the same task times, the same allocations.

    Parameters
    ----------
    policy : a confidence-bound policy
        Anything with the policy protocol, ``lower_bounds`` and ``counts`` (ATA,
        ATAEmpirical, ATABernstein, a ``fastata.policies.ConfidenceBound``
        subclass), with ``gamma = 1``: the promised level ``1 / k^2`` is that of the
        undiscounted inequality.
    workers : a fastata.sim distribution or Fleet
    rounds : int
    seed : int or numpy.random.SeedSequence
    tail_from : int
        First round counted in the ``tail_*`` fields.

    Returns
    -------
    fastata.sim.theory.Coverage

    Examples
    --------
    >>> import fastata as fa
    >>> from fastata.sim import theory
    >>> workers = fa.sim.Exponential([1.0, 2.0, 4.0])
    >>> tight = theory.coverage(fa.ATAEmpirical(3, 6, eta=1.6, c=0.05), workers, 200, seed=0)
    >>> tight.fraction > tight.level              # far below the theory's constant, bounds cross
    True
    """
    fleet = as_fleet(workers)
    rounds = _validate.count(rounds, "rounds", 1)
    tail_from = _validate.count(tail_from, "tail_from", 0)
    for attr in ("lower_bounds", "counts"):
        if not hasattr(policy, attr):
            raise TypeError(f"policy must have lower bounds to measure (lower_bounds and counts); "
                            f"got {type(policy).__name__}, which lacks {attr}")  # fmt: skip
    if getattr(policy, "gamma", 1.0) != 1.0:
        raise ValueError(f"policy.gamma must be 1 (the promised level is the undiscounted one); got {policy.gamma!r}")
    watched = _Watched(policy, fleet, tail_from)
    run(watched, fleet, rounds, seed=seed, record_allocations=False)
    pairs, above, tail_pairs, tail_above = (int(x) for x in watched.counts)
    params = {name: getattr(policy, name) for name in ("alpha", "eta", "c", "gamma") if hasattr(policy, name)}
    return Coverage(policy=watched.name, params=params, runs=1, rounds=rounds, pairs=pairs, above=above,
                    promised=float(watched.promised[0]), tail_from=tail_from, tail_pairs=tail_pairs,
                    tail_above=tail_above, tail_promised=float(watched.promised[1]),
                    last_above=watched.last_above)  # fmt: skip


def cumulative_regret(result, horizons=HORIZONS):
    """``R_K``: the proxy regret summed over the first ``K`` rounds of a run, for each ``K`` in ``horizons``.

    ``R_K = sum_{k < K} (max_i a_{k,i} mu_{k,i} - loss of the best allocation)``, from
    :attr:`fastata.sim.SimResult.regret`. Horizons beyond the run are an error.

    Examples
    --------
    >>> import fastata as fa
    >>> from fastata.sim import theory
    >>> workers = fa.sim.presets.cifar_workers(51)
    >>> r = fa.sim.run(fa.sim.make_policy("ata-bernstein", workers, 23), workers, 1000, seed=0)
    >>> R = theory.cumulative_regret(r, (100, 1000))
    >>> bool(R[0] <= R[1]), bool(R[1] == r.regret.cumsum()[-1])
    (True, True)
    """
    horizons = np.asarray(horizons, dtype=np.int64)
    if horizons.ndim != 1 or horizons.size == 0 or (horizons < 1).any() or (horizons > result.rounds).any():
        raise ValueError(f"horizons must be round counts in [1, {result.rounds}] (the run's rounds); "
                         f"got {horizons.tolist()}")  # fmt: skip
    return np.cumsum(result.regret)[horizons - 1]


def recovery_rounds(result, change, *, within=0.1, window=100, share=0.5, until=None):
    """Rounds after ``change`` until the proxy loss is back within ``within`` of the best allocation's.

    A round is *within* when its proxy loss is at most ``(1 + within)`` times the best
    allocation's (``result.oracle_loss``, at the round's true means). The answer is the
    smallest ``d >= 0`` such that at least ``share`` of the ``window`` rounds from
    ``change + d`` are within: a lower-confidence-bound policy keeps exploring in single
    rounds, ever more rarely, so "back" means back in most rounds, not in every one
    (``share=1``) nor in one lucky round (``window=1``). ``None`` when that never happens
    before ``until`` (default: the end of the run; pass the next change of the workers' speeds).

    Examples
    --------
    >>> import numpy as np
    >>> import fastata as fa
    >>> from fastata.sim import theory
    >>> r = fa.sim.run(fa.FTA([1.0, 2.0], 4), fa.sim.Exponential([1.0, 2.0]), 300, seed=0)
    >>> theory.recovery_rounds(r, 100)            # the oracle is at its best already
    0
    >>> r.loss[100:150] *= 2.0                    # pretend it lost its way for 50 rounds
    >>> theory.recovery_rounds(r, 100, window=10)   # most of the 10 rounds from 145 on are within
    45
    """
    until = result.rounds if until is None else min(int(until), result.rounds)
    change = int(change)
    window = _validate.count(window, "window", 1)
    if not 0 <= change < until:
        raise ValueError(f"change must be a round in [0, {until}); got {change}")
    if not 0.0 < share <= 1.0:
        raise ValueError(f"share must be in (0, 1]; got {share!r}")
    if until - change < window:
        return None
    ok = (result.loss[change:until] <= (1.0 + within) * result.oracle_loss[change:until]).astype(np.int64)
    inside = np.convolve(ok, np.ones(window, dtype=np.int64), "valid")  # within-rounds of each window
    hits = np.flatnonzero(inside >= share * window)
    return int(hits[0]) if hits.size else None


# --- the tables of docs/theory.md ---------------------------------------------------------


def theory_c(name):
    """Each adaptive policy's theory constant ``c``: 2 for ATA and ATA-Empirical (the paper's), 1 for ATA-Bernstein.

    Examples
    --------
    >>> from fastata.sim import theory
    >>> theory.theory_c("ata"), theory.theory_c("ata-bernstein")
    (2.0, 1.0)
    """
    from ..policies import PAPER_C
    from ..policies.bernstein import THEORY_C

    return {"ata": PAPER_C, "ata-empirical": PAPER_C, "ata-bernstein": THEORY_C}[name]


def _setup(preset, rounds, n=None):
    from . import presets

    return presets.get(preset).setups(rounds, n=n)[0]


def coverage_rows(presets=(("cifar", None), ("quadratic", 459), ("large", None)),
                  policies=("ata", "ata-empirical", "ata-bernstein"), scales=(1.0, 0.5, 0.25, 0.1),
                  seeds=range(5), rounds=3000, tail_from=100, progress=None):  # fmt: skip
    """Coverage of every policy, constant and preset, merged over seeds: the table of ``fastata measure coverage``.

    ``presets`` are ``(name, n)`` pairs (``n=None``: the preset's own size); ``scales``
    multiply each policy's theory constant (:func:`theory_c`). Returns a list of
    ``(preset label, scale, Coverage)``.

    Examples
    --------
    >>> from fastata.sim import theory
    >>> rows = theory.coverage_rows(presets=(("cifar", None),), policies=("ata-empirical",), scales=(1.0,),
    ...                             seeds=(0,), rounds=100)
    >>> label, scale, cov = rows[0]
    >>> label, scale, cov.policy, cov.above
    ('cifar (n=51, budget=23)', 1.0, 'ata-empirical', 0)
    """
    from .run import make_policy

    rows = []
    for preset, n in presets:
        setup = _setup(preset, rounds, n)
        label = f"{preset} ({setup.label})"
        for name in policies:
            for scale in scales:
                total = None
                for seed in seeds:
                    policy = make_policy(name, setup.workers, setup.budget, c=scale * theory_c(name))
                    cov = coverage(policy, setup.workers, rounds, seed=seed, tail_from=tail_from)
                    total = cov if total is None else total.merge(cov)
                    if progress is not None:
                        progress(f"{label} {name} c={scale:g}x seed {seed}")
                rows.append((label, scale, total))
    return rows


def regret_rows(preset="cifar", policies=("ata", "ata-empirical", "ata-bernstein"), seeds=range(5),
                horizons=HORIZONS, scale=1.0, progress=None):  # fmt: skip
    """``R_K`` per policy, the mean over seeds, at every horizon: the table of ``fastata measure regret``.

    Each policy runs ``max(horizons)`` rounds on the preset's first setup with its theory
    constant times ``scale``, once per seed. Returns ``(table, curves)``: ``table[policy]``,
    the mean over seeds of ``R_K`` at each horizon; ``curves[policy]``, the mean cumulative
    regret after every round (for the plot).

    Examples
    --------
    >>> from fastata.sim import theory
    >>> table, curves = theory.regret_rows(policies=("ata-bernstein",), seeds=(0,), horizons=(10, 100))
    >>> table["ata-bernstein"].shape, curves["ata-bernstein"].shape
    ((2,), (100,))
    """
    from .run import make_policy

    rounds = int(max(horizons))
    setup = _setup(preset, rounds)
    table, curves = {}, {}
    for name in policies:
        curve = np.zeros(rounds)
        for seed in seeds:
            policy = make_policy(name, setup.workers, setup.budget, c=scale * theory_c(name))
            result = run(policy, setup.workers, rounds, seed=seed, record_allocations=False)
            curve += np.cumsum(result.regret)
            if progress is not None:
                progress(f"{preset} {name} seed {seed}")
        curve /= len(seeds)
        curves[name] = curve
        table[name] = curve[np.asarray(horizons) - 1]
    return table, curves


def plot_regret(curves, path, *, title=None):
    """Write ``R_K`` and ``R_K / ln K`` against ``K`` (log axis) for each policy's curve to ``path`` (PNG).

    Examples
    --------
    >>> import os, tempfile
    >>> from fastata.sim import theory
    >>> _, curves = theory.regret_rows(policies=("ata-bernstein",), seeds=(0,), horizons=(10, 100))
    >>> path = os.path.join(tempfile.mkdtemp(), "regret.png")
    >>> theory.plot_regret(curves, path)           # needs matplotlib (extra plot)
    >>> os.path.getsize(path) > 0
    True
    """
    from .report import _matplotlib

    plt = _matplotlib()
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.4))
    for name, curve in curves.items():
        k = np.unique(np.geomspace(2, curve.size, 400).astype(np.int64))
        axes[0].plot(k, curve[k - 1], label=name)
        axes[1].plot(k, curve[k - 1] / np.log(k), label=name)
    for ax, ylabel in zip(axes, ("cumulative proxy regret $R_K$", "$R_K / \\ln K$")):
        ax.set_xscale("log")
        ax.set_xlabel("rounds $K$")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_yscale("log")
    axes[0].legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def recovery_rows(preset="drift", policies=("ata", "ata-empirical", "ata-bernstein"), gammas=(1.0, 0.999, 0.99),
                  seed=0, rounds=None, scale=1.0, within=0.1, window=100, share=0.5, progress=None):  # fmt: skip
    """Rounds to recover after each change of the drift preset, per policy and ``gamma``.

    Returns ``(changes, rows)``: round 0 (learning from scratch, for reference) and the
    rounds where the workers' speeds change, and a list of
    ``(policy, gamma, [(rounds to recover or None, loss ratio) after each])``: the rounds
    counted until the next change (:func:`recovery_rounds`), and the policy's proxy loss
    over that whole phase relative to the best allocation's (1 = the best throughout). ``scale`` multiplies each adaptive policy's
    theory constant (:func:`theory_c`).

    Examples
    --------
    >>> from fastata.sim import theory
    >>> changes, rows = theory.recovery_rows(policies=("fta",), gammas=(1.0,), rounds=600)
    >>> changes
    [0, 200, 400]
    >>> name, gamma, phases = rows[0]   # FTA keeps the old allocation: slow after the first change
    >>> name, [d for d, ratio in phases], [round(ratio, 2) for d, ratio in phases]
    ('fta', [0, None, 0], [1.0, 3.6, 1.0])
    """
    from . import presets as _presets
    from .run import make_policy

    preset_ = _presets.get(preset)
    rounds = preset_.rounds if rounds is None else _validate.count(rounds, "rounds", 1)
    setup = preset_.setups(rounds)[0]
    fleet = setup.workers
    changes = [0] + sorted(int(b) for b in fleet.drift.breakpoints() if 0 < b < rounds)
    ends = changes[1:] + [rounds]
    rows = []
    for name in policies:
        for gamma in gammas if name != "fta" else (1.0,):
            c = None if name == "fta" else scale * theory_c(name)
            policy = make_policy(name, fleet, setup.budget, gamma=gamma, c=c)
            result = run(policy, fleet, rounds, seed=seed, record_allocations=False)
            got = [(recovery_rounds(result, t, within=within, window=window, share=share, until=end),
                    float(result.loss[t:end].sum() / result.oracle_loss[t:end].sum()))
                   for t, end in zip(changes, ends)]  # fmt: skip
            rows.append((name, gamma, got))
            if progress is not None:
                progress(f"{preset} {name} gamma={gamma:g}")
    return changes, rows


def ln_ratio(values, horizons=HORIZONS):
    """``R_K / ln K`` for each horizon.

    Examples
    --------
    >>> from fastata.sim import theory
    >>> theory.ln_ratio([4.605170185988092], (100,)).round(6).tolist()
    [1.0]
    """
    return np.asarray(values, dtype=np.float64) / np.log(np.asarray(horizons, dtype=np.float64))


def level_formula(rounds, tail_from=0):
    """The promised crossing rate when every worker is explored in every round from ``tail_from`` on.

    It is the mean of ``min(1, 1 / max(k, 1)^2)`` over those rounds: a reference, where
    :class:`Coverage` sums the same terms over the pairs actually seen.

    Examples
    --------
    >>> from fastata.sim import theory
    >>> round(theory.level_formula(3000, 100), 8)
    3.35e-06
    """
    k = np.arange(tail_from, rounds, dtype=np.float64)
    return float(np.minimum(1.0, 1.0 / np.maximum(k, 1.0) ** 2).mean())


__all__ = ["HORIZONS", "Coverage", "coverage", "cumulative_regret", "recovery_rounds", "theory_c", "coverage_rows",
           "regret_rows", "plot_regret", "recovery_rows", "ln_ratio", "level_formula"]  # fmt: skip


# --- markdown tables (``fastata measure``) -------------------------------------------------


def _num(x):
    return f"{x:.3g}" if x else "0"


def _coverage_markdown(rows):
    """The coverage rows (:func:`coverage_rows`) as a markdown table."""
    lines = ["| preset | policy | c | pairs | crossings | allowed | fraction | promised | crossings, k >= "
             f"{rows[0][2].tail_from if rows else 100} | allowed | last crossing |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for label, scale, cov in rows:
        c = cov.params.get("c", float("nan"))
        scale_text = "theory" if scale == 1.0 else f"{scale:g} x theory"
        lines.append(
            f"| {label} | {cov.policy} | {c:g} ({scale_text}) | {cov.pairs} | {cov.above} | {cov.promised:.1f} | "
            f"{_num(cov.fraction)} | {_num(cov.level)} | {cov.tail_above} | {cov.tail_promised:.2f} | "
            f"{cov.last_above if cov.last_above >= 0 else '-'} |"
        )
    return "\n".join(lines)


def _regret_markdown(table, horizons=HORIZONS):
    """``R_K`` and ``R_K / ln K`` per policy (:func:`regret_rows`) as a markdown table."""
    head = " | ".join(f"R_K, K = {k:,}" for k in horizons) + " | " + " | ".join(f"/ ln K, K = {k:,}" for k in horizons)
    lines = [f"| policy | {head} |", "|---|" + "---:|" * (2 * len(horizons))]
    for name, values in table.items():
        ratios = ln_ratio(values, horizons)
        lines.append(f"| {name} | " + " | ".join(f"{v:.4g}" for v in values) + " | "
                     + " | ".join(f"{v:.4g}" for v in ratios) + " |")  # fmt: skip
    return "\n".join(lines)


def _recovery_markdown(changes, rows, window=100):
    """Rounds to recover after each change (:func:`recovery_rows`, with this ``window``) as a
    markdown table."""
    head = " | ".join("rounds to learn from round 0" if t == 0 else f"rounds to recover after round {t}"
                      for t in changes)  # fmt: skip
    lines = [f"(rounds until at least half of {window} rounds in a row are within 10 % of the best allocation's "
             "proxy loss, or \"not in the phase\" when that does not happen before the next change; in "
             "parentheses, the phase's proxy loss over the best allocation's)", "",
             f"| policy | gamma | {head} |", "|---|---:|" + "---:|" * len(changes)]
    for name, gamma, got in rows:
        cells = " | ".join(("not in the phase" if d is None else str(d)) + f" ({ratio:.2f}x)" for d, ratio in got)
        lines.append(f"| {name} | {gamma:g} | {cells} |")
    return "\n".join(lines)

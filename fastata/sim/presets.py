"""Named setups: the paper's experiments and a few that stress what the paper does not.

============  =====================================  ========  ==============================================
preset        workers (worker ``i = 1..n``)           budget    what it shows
============  =====================================  ========  ==============================================
cifar         ``29 i + Exp(29 i)``, n = 51            23        the paper's CIFAR-100 timing model
quadratic     ``29 i + Exp(29 i)``, n = 17..459       23        SGD on the quadratic against time, 4 sizes
heavy-tail    Pareto, shape 1.5, mean ``58 i``        23        infinite variance: outside ATA's assumptions
drift         as cifar; the fastest tenth is 8x       23        step drift (try ``--gamma`` below 1)
              slower in the middle third of the run
outage        as cifar; the fastest tenth leaves      23        outages told through ``set_available``
              for the 2nd quarter, the next for 3rd
large         Gamma(2), log-normal means, n = 4096    4096      scale: 4096 workers, 4096 tasks a round
============  =====================================  ========  ==============================================

**Default ``alpha`` and ``eta``** (every preset): ATA's ``alpha`` bounds
``||X_i - mu_i||_psi1`` for every worker, so it defaults to the largest worker's norm
(:meth:`fastata.sim.Fleet.alpha_bound`); ATA-Empirical's ``eta`` bounds the relative
norm ``||X_i - mu_i||_psi1 / mu_i`` (:meth:`fastata.sim.Fleet.eta_bound`). For the paper's
workers ``29 i + Exp(29 i)`` the norm is ``1.5313 * 29 i`` (see ``fastata.sim._psi1``), so

* ``alpha = 1.5313 * 29 * n`` (2265 at n = 51): a bound for the *slowest* worker, loose
  for the fast ones, which ATA therefore explores for a long time;
* ``eta = 1.5313 * 29 i / (58 i) = 0.7657``, the same for every worker.

Heavy-tailed workers have no finite norm; the bound then uses an exponential of the
same standard deviation (or mean, when that is infinite) in its place, and ATA's
guarantee does not apply. The drift preset multiplies ``alpha`` by the largest factor.
"""

import dataclasses

import numpy as np

from .. import _validate
from .sgd import Quadratic
from .workers import Fleet, Gamma, Outage, Pareto, ShiftedExponential, StepDrift, Trace, from_means

#: The paper's per-task time unit for the CIFAR-100 model: worker i takes 29 i + Exp(29 i).
CIFAR_UNIT = 29.0


@dataclasses.dataclass
class Setup:
    """One simulated configuration: workers and a budget.

    Examples
    --------
    >>> import fastata as fa
    >>> setup = fa.sim.presets.get("cifar").setups(rounds=100)[0]
    >>> setup.label, setup.workers.n, setup.budget
    ('n=51, budget=23', 51, 23)
    """

    label: str
    workers: Fleet
    budget: int


@dataclasses.dataclass
class Preset:
    """A named experiment: its setups, default rounds and the adaptive policies' ``gamma``.

    Examples
    --------
    >>> import fastata as fa
    >>> preset = fa.sim.presets.get("quadratic")
    >>> preset.rounds, preset.sizes, preset.budget
    (10000, (17, 51, 153, 459), 23)
    >>> [s.label for s in preset.setups(rounds=100, n=[17, 51])]
    ['n=17, budget=23', 'n=51, budget=23']
    """

    name: str
    description: str
    rounds: int
    sizes: tuple
    budget: int
    gamma: float = 1.0
    quadratic: object = None  # a factory of the Quadratic, when the preset couples training
    _means: object = None  # n -> mean task times (used by --distribution)
    _fleet: object = None  # (n, rounds) -> Fleet

    def setups(self, rounds, *, n=None, budget=None, distribution=None, shuffle=None):
        """The preset's setups, optionally with other sizes, budget or worker family.

        ``n`` is an int or a sequence of ints; ``distribution`` a :data:`fastata.sim.workers.FAMILIES` name with
        optional shape (``("gamma", {"shape": 3})``), or ``("trace", {"path": FILE})``;
        ``shuffle`` a seed: renumber the workers at random (:meth:`fastata.sim.Fleet.shuffled`).
        """
        sizes = self.sizes if n is None else tuple(np.atleast_1d(n).tolist())
        budget = self.budget if budget is None else _validate.count(budget, "budget", 1)
        out = []
        for size in sizes:
            size = _validate.count(size, "n", 1)
            fleet = self._fleet(size, rounds)
            if distribution is not None:
                family, shape = distribution
                if family == "trace":
                    groups = (Trace.load(**shape),)
                    if n is not None and groups[0].n != size:  # a trace's workers are its columns
                        raise ValueError(f"n must be left out with a trace, or be its number of workers "
                                         f"({groups[0].n}); got {size}")
                else:
                    groups = (from_means(family, self._means(size), **shape),)
                fleet = Fleet(*groups, drift=fleet.drift, outages=fleet.outages)
            if shuffle is not None:
                fleet = fleet.shuffled(shuffle)
            label = f"n={fleet.n}, budget={budget}" + (", workers shuffled" if shuffle is not None else "")
            out.append(Setup(label, fleet, budget))
        return out


def worker_index(n):
    """``1, 2, ..., n`` as floats: the paper numbers workers from 1.

    Examples
    --------
    >>> import fastata as fa
    >>> fa.sim.presets.worker_index(3).tolist()
    [1.0, 2.0, 3.0]
    """
    return np.arange(1, n + 1, dtype=np.float64)


def cifar_workers(n=51, unit=CIFAR_UNIT):
    """The paper's CIFAR-100 timing model: worker ``i = 1..n`` takes ``unit i + Exp(unit i)``.

    Examples
    --------
    >>> import fastata as fa
    >>> workers = fa.sim.presets.cifar_workers(3)
    >>> workers.means.tolist()                   # 29 i + 29 i
    [58.0, 116.0, 174.0]
    """
    i = worker_index(n)
    return ShiftedExponential(shift=unit * i, scale=unit * i)


def _cifar_means(n):
    return 2.0 * CIFAR_UNIT * worker_index(n)


def _tenth(n, which=0):
    """The ids of the ``which``-th fastest tenth of ``n`` workers (at least one worker)."""
    size = max(1, n // 10)
    start = min(which * size, n - size)
    return np.arange(start, start + size)


def _plain(workers):
    return lambda n, rounds: Fleet(workers(n))


def _drift_fleet(n, rounds):
    fast = _tenth(n).tolist()
    drift = StepDrift([(rounds // 3, fast, 8.0), (2 * rounds // 3, fast, 1.0)])
    return Fleet(cifar_workers(n), drift=drift)


def _outage_fleet(n, rounds):
    outages = [Outage(_tenth(n, 0), rounds // 4, rounds // 2), Outage(_tenth(n, 1), rounds // 2, 3 * rounds // 4)]
    return Fleet(cifar_workers(n), outages=outages)


def _large_means(n):
    # A heterogeneous cluster: log-normal speeds, fixed (seed 0) so the preset never changes.
    return 10.0 * np.random.default_rng(0).lognormal(0.0, 0.5, n)


#: Every preset by its name (the table above); :func:`get` looks one up.
PRESETS = {
    p.name: p
    for p in (
        Preset("cifar", "the paper's CIFAR-100 timing model: worker i takes 29 i + Exp(29 i)",
               rounds=10_000, sizes=(51,), budget=23, _means=_cifar_means, _fleet=_plain(cifar_workers)),
        Preset("quadratic", "minibatch SGD on the Rennala quadratic (d = 1000), workers 29 i + Exp(29 i)",
               rounds=10_000, sizes=(17, 51, 153, 459), budget=23, quadratic=Quadratic,
               _means=_cifar_means, _fleet=_plain(cifar_workers)),
        Preset("heavy-tail", "Pareto times, shape 1.5 (infinite variance), mean 58 i",
               rounds=10_000, sizes=(51,), budget=23, _means=_cifar_means,
               _fleet=_plain(lambda n: Pareto.from_means(_cifar_means(n), shape=1.5))),
        Preset("drift", "cifar workers; the fastest tenth is 8x slower in the middle third of the run",
               rounds=10_000, sizes=(51,), budget=23, _means=_cifar_means, _fleet=_drift_fleet),
        Preset("outage", "cifar workers; the fastest tenth leaves for the 2nd quarter, the next tenth for the 3rd",
               rounds=10_000, sizes=(51,), budget=23, _means=_cifar_means, _fleet=_outage_fleet),
        Preset("large", "4096 workers, Gamma(2) times, log-normal(0, 0.5) means, 4096 tasks a round",
               rounds=2_000, sizes=(4096,), budget=4096, _means=_large_means,
               _fleet=_plain(lambda n: Gamma.from_means(_large_means(n), shape=2.0))),
    )
}  # fmt: skip


def get(name):
    """The preset called ``name`` (see :data:`fastata.sim.presets.PRESETS`).

    Examples
    --------
    >>> import fastata as fa
    >>> fa.sim.presets.get("cifar").description
    "the paper's CIFAR-100 timing model: worker i takes 29 i + Exp(29 i)"
    >>> sorted(fa.sim.presets.PRESETS)
    ['cifar', 'drift', 'heavy-tail', 'large', 'outage', 'quadratic']
    """
    return PRESETS[_validate.choice(name, "preset", tuple(PRESETS))]

"""The simulator (DESIGN.md section 5): simulated workers, rounds of every policy, SGD coupling.

>>> import fastata as fa
>>> workers = fa.sim.presets.cifar_workers(51)           # 29 i + Exp(29 i), i = 1..51
>>> results = fa.sim.compare(workers, budget=23, rounds=200, seed=0)
>>> sorted(results)
['ata', 'ata-empirical', 'fta', 'gta', 'uta']
>>> results["gta"].total_worker_time > results["fta"].total_worker_time
True

* Worker models (:mod:`fastata.sim.workers`): :class:`Exponential`, :class:`ShiftedExponential`,
  :class:`LogNormal`, :class:`Gamma`, :class:`Uniform`, :class:`HalfNormal`, :class:`Pareto`,
  :class:`Trace`; joined with drift and outages in a :class:`Fleet`.
* Runs (:mod:`fastata.sim.run`): :func:`run` (ATA, ATA-Empirical, FTA, UTA), :func:`run_greedy`
  (GTA), :func:`compare` (all of them, common random numbers) -> :class:`SimResult`.
* Training (:mod:`fastata.sim.sgd`): :class:`Quadratic`, minibatch SGD against time.
* Presets (:mod:`fastata.sim.presets`) and tables, plots, JSON (:mod:`fastata.sim.report`).
* The theory's claims, measured (:mod:`fastata.sim.theory`): coverage of the bounds, regret
  against ``ln K``, recovery after a change of speeds.
"""

from . import presets, report, sgd, theory
from .run import NAMES, POLICIES, SimResult, compare, make_policy, policy_name, run, run_greedy, sample, seed_keys
from .sgd import Quadratic
from .workers import (
    Distribution,
    Exponential,
    Fleet,
    Gamma,
    HalfNormal,
    LogNormal,
    Outage,
    Pareto,
    ShiftedExponential,
    SmoothDrift,
    StepDrift,
    Trace,
    Uniform,
    from_means,
)

__all__ = [
    "POLICIES",
    "NAMES",
    "policy_name",
    "Distribution",
    "Exponential",
    "Fleet",
    "Gamma",
    "HalfNormal",
    "LogNormal",
    "Outage",
    "Pareto",
    "Quadratic",
    "ShiftedExponential",
    "SimResult",
    "SmoothDrift",
    "StepDrift",
    "Trace",
    "Uniform",
    "compare",
    "from_means",
    "make_policy",
    "presets",
    "report",
    "run",
    "run_greedy",
    "sample",
    "seed_keys",
    "sgd",
    "theory",
]

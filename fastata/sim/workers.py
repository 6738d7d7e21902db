"""Worker models: per-task time distributions, drift over rounds, outages, recorded traces.

A *distribution* object describes ``n`` workers of one family, each with its own
parameters (a scalar parameter is shared by every worker). Each knows its workers'
mean task times (``means``: what FTA is given and what the proxy regret uses), their
standard deviations and :math:`\\psi_1` norms (``psi1``: what ATA's ``alpha`` must bound,
see ``fastata.sim._psi1``).

A :class:`Fleet` joins one or more distributions into the workers of a run and adds
time: a :class:`StepDrift` or :class:`SmoothDrift` multiplies worker ``i``'s task times in
round ``k`` by ``factor_i(k)``, and :class:`Outage` takes workers away for a range of
rounds. Every function in :mod:`fastata.sim` that takes workers accepts a distribution
or a fleet.

>>> import numpy as np, fastata as fa
>>> i = np.arange(1, 52)
>>> cifar = fa.sim.ShiftedExponential(shift=29.0 * i, scale=29.0 * i)   # the paper's CIFAR-100 workers
>>> float(cifar.means[0]), cifar.n
(58.0, 51)
"""

import copy
import math
import os
import warnings

import numpy as np

from .. import _validate
from . import _kernels, _psi1


class Distribution:
    """What every family shares; not used directly.

    Examples
    --------
    >>> import fastata as fa
    >>> workers = fa.sim.Exponential(scale=[1.0, 2.0])
    >>> isinstance(workers, fa.sim.Distribution), workers.n
    (True, 2)
    >>> workers.means.tolist(), workers.stds.tolist()
    ([1.0, 2.0], [1.0, 2.0])
    """

    kind = None
    #: Does every worker of this family have a finite psi_1 norm (sub-exponential times)?
    sub_exponential = True

    def __init__(self, n, **params):
        lengths = {np.ndim(v) and np.shape(v)[0] for v in params.values()} - {0}
        if n is None:
            n = max(lengths) if lengths else 1
        self._n = _validate.count(n, "n", 1, _validate.MAX_WORKERS)
        self._p = {name: _validate.parameter_array(value, name, self._n) for name, value in params.items()}

    @property
    def n(self):
        """Number of workers."""
        return self._n

    @property
    def means(self):
        """Mean task time of each worker (a copy)."""
        return self._means().copy()

    @property
    def stds(self):
        """Standard deviation of each worker's task time (``inf`` where it is infinite)."""
        return self._stds()

    @property
    def psi1(self):
        """``||X_i - mu_i||_psi1`` per worker; ``inf`` where the times are not sub-exponential."""
        return self._psi1()

    def _kernel_params(self):
        """``(n, 3)`` float64: the per-worker numbers the sampling kernel reads (see ``_kernels``)."""
        out = np.zeros((self._n, 3))
        for j, name in enumerate(self._kernel_names):
            out[:, j] = self._p[name]
        return out

    def _trace(self):
        return np.empty(0)

    def __repr__(self):
        def show(v):
            return f"{v[0]:g}" if np.all(v == v[0]) else f"[{v[0]:g}, ..., {v[-1]:g}]"

        params = ", ".join(f"{name}={show(v)}" for name, v in self._p.items())
        return f"{type(self).__name__}({params}, n={self._n})"


class Exponential(Distribution):
    """``X_i ~ Exp(scale_i)`` (mean ``scale_i``); ``||X_i - mu_i||_psi1 = 1.5313 scale_i``.

    Examples
    --------
    >>> import fastata as fa
    >>> workers = fa.sim.Exponential(scale=[1.0, 2.0, 4.0])
    >>> workers.means.tolist()
    [1.0, 2.0, 4.0]
    >>> workers.psi1.round(4).tolist()
    [1.5313, 3.0627, 6.1254]
    """

    kind = _kernels.EXPONENTIAL
    _kernel_names = ("scale",)

    def __init__(self, scale, *, n=None):
        super().__init__(n, scale=scale)
        _validate.positive_entries(self._p["scale"], "scale")

    @classmethod
    def from_means(cls, means):
        return cls(scale=means)

    def _means(self):
        return self._p["scale"]

    def _stds(self):
        return self._p["scale"].copy()

    def _psi1(self):
        return _psi1.EXPONENTIAL * self._p["scale"]


class ShiftedExponential(Distribution):
    """``X_i = shift_i + Exp(scale_i)``, the paper's CIFAR-100 model (``29 i + Exp(29 i)``).

    Mean ``shift_i + scale_i``; the shift does not change ``X - mu``, so
    ``||X_i - mu_i||_psi1 = 1.5313 scale_i``. :meth:`from_means` splits a mean half and half.

    Examples
    --------
    >>> import fastata as fa
    >>> workers = fa.sim.ShiftedExponential(shift=[29.0, 58.0], scale=[29.0, 58.0])
    >>> workers.means.tolist()
    [58.0, 116.0]
    """

    kind = _kernels.SHIFTED_EXPONENTIAL
    _kernel_names = ("shift", "scale")

    def __init__(self, shift, scale, *, n=None):
        super().__init__(n, shift=shift, scale=scale)
        _validate.nonnegative_entries(self._p["shift"], "shift")
        _validate.positive_entries(self._p["scale"], "scale")

    @classmethod
    def from_means(cls, means):
        means = np.asarray(means, dtype=np.float64)
        return cls(shift=means / 2.0, scale=means / 2.0)

    def _means(self):
        return self._p["shift"] + self._p["scale"]

    def _stds(self):
        return self._p["scale"].copy()

    def _psi1(self):
        return _psi1.EXPONENTIAL * self._p["scale"]


class LogNormal(Distribution):
    """``X_i = median_i * exp(sigma_i Z)``, ``Z ~ N(0, 1)``: mean ``median_i exp(sigma_i^2 / 2)``.

    Not sub-exponential: no finite psi_1 norm (``fastata.sim._psi1.fallback`` stands in).

    Examples
    --------
    >>> import fastata as fa
    >>> workers = fa.sim.LogNormal(median=[1.0, 2.0], sigma=0.5)
    >>> workers.means.round(4).tolist()
    [1.1331, 2.2663]
    >>> workers.sub_exponential
    False
    """

    kind = _kernels.LOGNORMAL
    sub_exponential = False
    _kernel_names = ("median", "sigma")

    def __init__(self, median, sigma, *, n=None):
        super().__init__(n, median=median, sigma=sigma)
        _validate.positive_entries(self._p["median"], "median")
        _validate.positive_entries(self._p["sigma"], "sigma")

    @classmethod
    def from_means(cls, means, sigma=1.0):
        sigma = _validate.positive(sigma, "sigma")
        means = np.asarray(means, dtype=np.float64)
        return cls(median=means * math.exp(-0.5 * sigma * sigma), sigma=sigma)

    def _means(self):
        return self._p["median"] * np.exp(0.5 * self._p["sigma"] ** 2)

    def _stds(self):
        return self._means() * np.sqrt(np.expm1(self._p["sigma"] ** 2))

    def _psi1(self):
        return np.full(self._n, np.inf)


class Gamma(Distribution):
    """``X_i ~ Gamma(shape_i, scale_i)``: mean ``shape_i scale_i``; ``Gamma(1, s) = Exp(s)``.

    Examples
    --------
    >>> import fastata as fa
    >>> workers = fa.sim.Gamma(shape=2.0, scale=[1.0, 3.0])
    >>> workers.means.tolist()
    [2.0, 6.0]
    """

    kind = _kernels.GAMMA
    _kernel_names = ("shape", "scale")

    def __init__(self, shape, scale, *, n=None):
        super().__init__(n, shape=shape, scale=scale)
        _validate.positive_entries(self._p["shape"], "shape")
        _validate.positive_entries(self._p["scale"], "scale")

    @classmethod
    def from_means(cls, means, shape=2.0):
        shape = _validate.positive(shape, "shape")
        return cls(shape=shape, scale=np.asarray(means, dtype=np.float64) / shape)

    def _means(self):
        return self._p["shape"] * self._p["scale"]

    def _stds(self):
        return np.sqrt(self._p["shape"]) * self._p["scale"]

    def _psi1(self):
        return np.array([_psi1.gamma(float(k)) for k in self._p["shape"]]) * self._p["scale"]


class Uniform(Distribution):
    """``X_i ~ Uniform(low_i, high_i)``, ``0 <= low_i < high_i``; :meth:`from_means` uses ``[0, 2 mu]``.

    Examples
    --------
    >>> import fastata as fa
    >>> workers = fa.sim.Uniform(low=0.0, high=[2.0, 4.0])
    >>> workers.means.tolist()
    [1.0, 2.0]
    >>> fa.sim.Uniform.from_means([1.0, 2.0]).means.tolist()
    [1.0, 2.0]
    """

    kind = _kernels.UNIFORM
    _kernel_names = ("low", "high")

    def __init__(self, low, high, *, n=None):
        super().__init__(n, low=low, high=high)
        _validate.nonnegative_entries(self._p["low"], "low")
        _validate.positive_entries(self._p["high"] - self._p["low"], "high - low")

    @classmethod
    def from_means(cls, means):
        return cls(low=0.0, high=2.0 * np.asarray(means, dtype=np.float64))

    def _means(self):
        return 0.5 * (self._p["low"] + self._p["high"])

    def _stds(self):
        return (self._p["high"] - self._p["low"]) / math.sqrt(12.0)

    def _psi1(self):
        return _psi1.UNIFORM * (self._p["high"] - self._p["low"])


class HalfNormal(Distribution):
    """``X_i = scale_i |Z|``, ``Z ~ N(0, 1)``: mean ``scale_i sqrt(2 / pi)``.

    Examples
    --------
    >>> import fastata as fa
    >>> workers = fa.sim.HalfNormal(scale=[1.0, 2.0])
    >>> workers.means.round(4).tolist()
    [0.7979, 1.5958]
    """

    kind = _kernels.HALF_NORMAL
    _kernel_names = ("scale",)

    def __init__(self, scale, *, n=None):
        super().__init__(n, scale=scale)
        _validate.positive_entries(self._p["scale"], "scale")

    @classmethod
    def from_means(cls, means):
        return cls(scale=np.asarray(means, dtype=np.float64) * math.sqrt(math.pi / 2.0))

    def _means(self):
        return self._p["scale"] * math.sqrt(2.0 / math.pi)

    def _stds(self):
        return self._p["scale"] * math.sqrt(1.0 - 2.0 / math.pi)

    def _psi1(self):
        return _psi1.HALF_NORMAL * self._p["scale"]


class Pareto(Distribution):
    """Classic Pareto: ``X_i = minimum_i * U^(-1 / shape_i)``, ``shape_i > 1`` so that the mean
    ``shape_i minimum_i / (shape_i - 1)`` exists; the variance is infinite for ``shape_i <= 2``.

    Heavy-tailed, not sub-exponential (``fastata.sim._psi1.fallback`` stands in for the norm).

    Examples
    --------
    >>> import fastata as fa
    >>> workers = fa.sim.Pareto(shape=1.5, minimum=[1.0, 2.0])     # infinite variance
    >>> workers.means.tolist(), workers.stds.tolist()
    ([3.0, 6.0], [inf, inf])
    """

    kind = _kernels.PARETO
    sub_exponential = False
    _kernel_names = ("shape", "minimum")

    def __init__(self, shape, minimum, *, n=None):
        super().__init__(n, shape=shape, minimum=minimum)
        _validate.entries_above(self._p["shape"], "shape", 1.0)
        _validate.positive_entries(self._p["minimum"], "minimum")

    @classmethod
    def from_means(cls, means, shape=2.5):
        shape = _validate.above(shape, "shape", 1.0)
        return cls(shape=shape, minimum=np.asarray(means, dtype=np.float64) * (shape - 1.0) / shape)

    def _means(self):
        a = self._p["shape"]
        return a * self._p["minimum"] / (a - 1.0)

    def _stds(self):
        a, m = self._p["shape"], self._p["minimum"]
        with np.errstate(divide="ignore", invalid="ignore"):
            var = np.where(a > 2.0, m * m * a / ((a - 1.0) ** 2 * (a - 2.0)), np.inf)
        return np.sqrt(var)

    def _psi1(self):
        return np.full(self._n, np.inf)


class Trace(Distribution):
    """Recorded task times, replayed: worker ``i`` draws from its own recorded durations.

    Parameters
    ----------
    durations : 2-D ndarray (tasks, n), or a list of ``n`` 1-D array_likes
        A numpy array is a table: column ``i`` holds worker ``i``'s recorded task times,
        NaN cells pad workers with fewer records. A list holds one sequence of records
        per worker. Every worker needs at least one record, all finite
        and ``>= 0``, with a positive mean.
    order : {"random", "sequential"}
        ``"random"`` (default) resamples a recorded time uniformly for every task: i.i.d.
        times as in the model, and common random numbers across policies.
        ``"sequential"`` replays each worker's records in order, cycling, as they happened
        (keeps slow spells together); the replay position then depends on how many tasks
        the policy gave the worker, so policies no longer see the same numbers.

    The mean of a worker is the mean of its records (exact for ``"random"``).

    Examples
    --------
    >>> import fastata as fa
    >>> workers = fa.sim.Trace([[1.0, 1.2, 0.9], [3.0, 2.5]])    # two workers' recorded times
    >>> workers.n, workers.means.round(4).tolist()
    (2, [1.0333, 2.75])
    """

    kind = _kernels.TRACE
    _ORDERS = ("random", "sequential")

    def __init__(self, durations, *, order="random"):
        self._order = _validate.choice(order, "order", self._ORDERS)
        columns = _trace_columns(durations)
        self._n = len(columns)
        self._records = columns
        self._lengths = np.array([c.shape[0] for c in columns], dtype=np.float64)
        self._offsets = np.concatenate([[0.0], np.cumsum(self._lengths)[:-1]])
        self._data = np.concatenate(columns)
        self._p = {}

    @classmethod
    def load(cls, path, *, order="random"):
        """Read recorded times from ``.npy`` (a 2-D array, tasks x workers, NaN padding) or ``.csv``.

        A ``.csv`` is either *long*, with the header ``worker,duration`` and one row per
        task (worker ids ``0..n-1``), or *wide*, a numeric table with one column per worker
        (empty cells or ``nan`` pad the shorter columns; a non-numeric header row is skipped).
        """
        path = os.fspath(path)
        ext = os.path.splitext(path)[1].lower()
        if ext == ".npy":
            data = np.load(path, allow_pickle=False)
            return cls(data, order=order)
        if ext != ".csv":
            raise _validate.trace_file(path, "the name must end in .npy or .csv")
        with open(path, encoding="utf-8") as f:
            header = f.readline().strip().lower().replace(" ", "")
        long = header == "worker,duration"
        try:  # only the reading: what the records break is named by the checks after
            with warnings.catch_warnings():  # numpy's "Empty input file": the checks after say it to the user
                warnings.simplefilter("ignore", UserWarning)
                if long:
                    table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
                else:
                    skip = 0 if _is_numeric_row(header) else 1
                    table = np.genfromtxt(path, delimiter=",", skip_header=skip, dtype=np.float64, ndmin=2)
        except ValueError as exc:
            raise _validate.trace_file(path, f"unreadable ({exc})") from exc
        return cls(_long_to_columns(table, path) if long else table, order=order)

    @property
    def order(self):
        return self._order

    @property
    def records(self):
        """Each worker's recorded times (copies)."""
        return [c.copy() for c in self._records]

    def _means(self):
        return np.array([c.mean() for c in self._records])

    def _stds(self):
        return np.array([c.std() for c in self._records])

    def _psi1(self):
        return np.array([_psi1.empirical(c) for c in self._records])

    def _kernel_params(self):
        return np.column_stack(
            [self._offsets, self._lengths, np.full(self._n, 1.0 if self._order == "sequential" else 0.0)]
        )

    def _trace(self):
        return self._data

    def __repr__(self):
        return f"Trace(n={self._n}, records={int(self._lengths.sum())}, order={self._order!r})"


def _is_numeric_row(line):
    try:
        [float(x) for x in line.split(",") if x != ""]
    except ValueError:
        return False
    return True


def _long_to_columns(table, path):
    if table.shape[0] == 0:
        raise _validate.trace_file(path, "a worker,duration file needs at least one row below its header; got none")
    if table.shape[1] != 2:
        raise _validate.trace_file(path, f"a worker,duration file needs 2 columns; got {table.shape[1]}")
    ids = table[:, 0]
    bad = np.flatnonzero(~((ids == np.round(ids)) & (ids >= 0)))  # NaN fails too
    if bad.size:
        raise _validate.trace_file(path, f"worker ids must be integers >= 0; got {ids[bad[0]]:g} in row {bad[0] + 1}")
    n = int(ids.max()) + 1
    return [table[ids == i, 1] for i in range(n)]


def _trace_columns(durations):
    """Per-worker 1-D float arrays of finite, non-negative records (NaN padding removed)."""
    if isinstance(durations, np.ndarray):
        table = _validate.real_array(durations, "durations", 2)
        # NaN cells pad a table's shorter columns; a list's records have no padding to drop.
        columns = [table[~np.isnan(table[:, i]), i] for i in range(table.shape[1])]
    else:
        columns = [_validate.real_array(c, f"durations[{i}]", 1) for i, c in enumerate(durations)]
    if not columns:
        raise ValueError("durations must hold at least one worker; got none")
    return [_validate.trace_records(column, i) for i, column in enumerate(columns)]


# --- time: drift and outages -------------------------------------------------------------


class StepDrift:
    """Piecewise-constant drift: from round ``r`` on, the listed workers' times are scaled by ``f``.

    Parameters
    ----------
    changes : sequence of ``(round, workers, factor)``
        ``workers`` is an id or a list of ids; ``factor > 0`` is the new time scale
        relative to the distribution (``1`` restores it). Changes apply in round order.

    >>> drift = StepDrift([(3000, [0, 1, 2], 8.0), (6000, [0, 1, 2], 1.0)])  # a slow spell
    """

    def __init__(self, changes):
        parsed = []
        for j, change in enumerate(changes):
            try:
                start, workers, factor = change
            except (TypeError, ValueError) as exc:
                raise ValueError(f"changes[{j}] must be (round, workers, factor); got {change!r}") from exc
            start = _validate.count(start, f"changes[{j}] round", 0)
            workers = _validate.worker_ids(np.atleast_1d(workers), f"changes[{j}] workers")
            factor = _validate.positive(factor, f"changes[{j}] factor")
            parsed.append((start, workers, factor))
        self._changes = sorted(parsed, key=lambda c: c[0])  # stable: same round keeps list order

    def _check(self, n):
        for start, workers, _ in self._changes:
            _validate.worker_range(workers, n, "drift workers")

    def _renumbered(self, new_id):
        """The same drift after worker ``o`` became worker ``new_id[o]``."""
        return StepDrift([(start, new_id[workers], factor) for start, workers, factor in self._changes])

    def breakpoints(self):
        """Rounds at which some factor changes."""
        return sorted({c[0] for c in self._changes})

    def factors(self, k, n):
        """``factor_i(k)`` for every worker (a new array)."""
        f = np.ones(n)
        for start, workers, factor in self._changes:
            if start > k:
                break
            f[workers] = factor
        return f

    def max_factors(self, n):
        """The largest factor each worker ever has."""
        f = np.ones(n)
        for _, workers, factor in self._changes:
            f[workers] = np.maximum(f[workers], factor)
        return f

    def __repr__(self):
        return f"StepDrift({len(self._changes)} changes)"


class SmoothDrift:
    """Periodic drift: ``factor_i(k) = 1 + amplitude_i * sin(2 pi k / period_i + phase_i)``.

    ``amplitude`` in ``[0, 1)`` (so times stay positive) and ``period > 0`` rounds, each a
    scalar or one per worker; ``phase`` in radians (default 0).

    Examples
    --------
    >>> import fastata as fa
    >>> drift = fa.sim.SmoothDrift(amplitude=[0.0, 0.5], period=100)
    >>> fleet = fa.sim.Fleet(fa.sim.Exponential([1.0, 2.0]), drift=drift)
    >>> fleet.factors(25).tolist()        # round 25: worker 1 at its slowest
    [1.0, 1.5]
    """

    def __init__(self, amplitude, period, phase=0.0):
        self._amplitude = amplitude
        self._period = period
        self._phase = phase
        self._arrays = {}

    def _check(self, n):
        amp = _validate.parameter_array(self._amplitude, "amplitude", n)
        bad = np.flatnonzero(~((amp >= 0.0) & (amp < 1.0)))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"amplitude must be in [0, 1); got {float(amp[i])!r} at index {i}")
        period = _validate.parameter_array(self._period, "period", n)
        _validate.positive_entries(period, "period")
        phase = _validate.parameter_array(self._phase, "phase", n)
        self._arrays[n] = (amp, 2.0 * math.pi / period, phase)
        self._per_worker = (amp, period, phase)

    def _renumbered(self, new_id):
        amp, period, phase = self._per_worker
        old = np.argsort(new_id)  # new worker j was worker old[j]
        return SmoothDrift(amp[old], period[old], phase[old])

    def breakpoints(self):
        return None  # changes every round

    def factors(self, k, n):
        amp, omega, phase = self._arrays[n]
        return 1.0 + amp * np.sin(omega * k + phase)

    def max_factors(self, n):
        return 1.0 + self._arrays[n][0]

    def __repr__(self):
        return f"SmoothDrift(amplitude={self._amplitude!r}, period={self._period!r})"


class Outage:
    """Workers ``workers`` are unavailable in rounds ``start <= k < stop``.

    The run tells the policy through ``policy.set_available`` at both ends; an
    unavailable worker gets no task, and GTA does not start it (nor bill it).

    Examples
    --------
    >>> import fastata as fa
    >>> fleet = fa.sim.Fleet(fa.sim.Exponential([1.0, 2.0, 4.0]), outages=[fa.sim.Outage([0], 10, 20)])
    >>> fleet.available(15).tolist(), fleet.available(20).tolist()
    ([False, True, True], [True, True, True])
    """

    def __init__(self, workers, start, stop):
        self.workers = _validate.worker_ids(np.atleast_1d(workers), "outage workers")
        self.start = _validate.count(start, "outage start", 0)
        self.stop = _validate.count(stop, "outage stop", self.start)

    def __repr__(self):
        return f"Outage(workers={self.workers.tolist()}, start={self.start}, stop={self.stop})"


class Fleet:
    """The workers of a run: distributions joined in order, plus drift and outages.

    Parameters
    ----------
    *groups : Distribution
        Worker ids run through the groups in order (group 0's workers first).
    drift : StepDrift or SmoothDrift, optional
    outages : sequence of Outage, optional
        At least one worker must be available in every round.

    Examples
    --------
    >>> import fastata as fa
    >>> fleet = fa.sim.Fleet(fa.sim.Exponential([1.0, 2.0]), fa.sim.Gamma(2.0, [1.0, 1.5]),
    ...                      drift=fa.sim.StepDrift([(100, [0], 4.0)]))
    >>> fleet.n, fleet.means.tolist()
    (4, [1.0, 2.0, 2.0, 3.0])
    >>> fleet.factors(99).tolist(), fleet.factors(100).tolist()
    ([1.0, 1.0, 1.0, 1.0], [4.0, 1.0, 1.0, 1.0])
    """

    def __init__(self, *groups, drift=None, outages=()):
        if not groups:
            raise ValueError("groups must hold at least one distribution; got none")
        for j, g in enumerate(groups):
            if not isinstance(g, Distribution):
                raise TypeError(f"groups[{j}] must be a fastata.sim distribution; got {type(g).__name__}")
        self.groups = tuple(groups)
        self.n = sum(g.n for g in groups)
        self.kinds = np.concatenate([np.full(g.n, g.kind, dtype=np.int64) for g in groups])
        params, traces, offset = [], [], 0
        for g in groups:
            p = g._kernel_params()
            if g.kind == _kernels.TRACE:
                p[:, 0] += offset
            trace = g._trace()
            offset += trace.shape[0]
            params.append(p)
            traces.append(trace)
        self.params = np.ascontiguousarray(np.concatenate(params))
        self.trace = np.ascontiguousarray(np.concatenate(traces)) if offset else np.zeros(1)
        self.means = np.concatenate([g._means() for g in groups])
        self.stds = np.concatenate([g._stds() for g in groups])
        self.psi1 = np.concatenate([g._psi1() for g in groups])
        self.sub_exponential = all(g.sub_exponential for g in groups)
        if drift is not None:
            if not isinstance(drift, (StepDrift, SmoothDrift)):
                raise TypeError(f"drift must be a StepDrift or SmoothDrift; got {type(drift).__name__}")
            drift._check(self.n)
        self.drift = drift
        self.outages = tuple(outages)
        self.permutation = None  # set by shuffled()
        for j, outage in enumerate(self.outages):
            if not isinstance(outage, Outage):
                raise TypeError(f"outages[{j}] must be an Outage; got {type(outage).__name__}")
            _validate.worker_range(outage.workers, self.n, "outage workers")
        self._check_someone_available()

    def _check_someone_available(self):
        for k in sorted({o.start for o in self.outages}):
            if not self.available(k).any():
                raise ValueError(f"outages must leave at least one worker available; got none in round {k}")

    def available(self, k):
        """Which workers can take tasks in round ``k`` (bool array)."""
        avail = np.ones(self.n, dtype=bool)
        for o in self.outages:
            if o.start <= k < o.stop:
                avail[o.workers] = False
        return avail

    def availability_changes(self):
        """Rounds at which some worker leaves or returns."""
        return sorted({o.start for o in self.outages} | {o.stop for o in self.outages})

    def factors(self, k):
        """Drift factors of round ``k`` (ones without drift)."""
        return np.ones(self.n) if self.drift is None else self.drift.factors(k, self.n)

    def alpha_bound(self):
        """A bound on ``||X_i - mu_i||_psi1`` for every worker and round: ATA's default ``alpha``.

        The largest per-worker norm, times the largest drift factor; heavy-tailed workers
        (no finite norm) count with ``fastata.sim._psi1.fallback``.
        """
        alpha = self._norms()
        if self.drift is not None:
            alpha = alpha * self.drift.max_factors(self.n)
        top = float(alpha.max())
        return top if top > 0.0 else 1e-9 * float(self.means.max())  # constant times: any tiny alpha

    def eta_bound(self):
        """A bound on ``||X_i - mu_i||_psi1 / mu_i`` (scale-free, drift does not change it):
        ATA-Empirical's default ``eta``."""
        eta = float(np.max(self._norms() / self.means))
        return eta if eta > 0.0 else 1e-9

    def _norms(self):
        norms = self.psi1.copy()
        heavy = ~np.isfinite(norms)
        for i in np.flatnonzero(heavy):
            norms[i] = _psi1.fallback(self.means[i], self.stds[i])
        return norms

    def shuffled(self, seed):
        """The same workers under new ids: worker ``j`` of the result is worker ``permutation[j]`` here.

        The presets number workers fastest first (the paper's ``29 i``); ids that carry speed
        can flatter a policy whose ties go to the lowest id. Drift and outages follow their
        workers. ``seed`` seeds the permutation (``numpy.random.default_rng(seed)``).
        """
        old = np.random.default_rng(seed).permutation(self.n)  # new worker j was worker old[j]
        new_id = np.argsort(old)
        fleet = copy.copy(self)
        for name in ("kinds", "params", "means", "stds", "psi1"):
            setattr(fleet, name, np.ascontiguousarray(getattr(self, name)[old]))
        fleet.drift = None if self.drift is None else self.drift._renumbered(new_id)
        if fleet.drift is not None:
            fleet.drift._check(self.n)
        fleet.outages = tuple(Outage(new_id[o.workers], o.start, o.stop) for o in self.outages)
        fleet.permutation = old if self.permutation is None else self.permutation[old]
        return fleet

    def describe(self):
        """One line: the groups, drift and outages."""
        parts = [repr(g) for g in self.groups]
        if self.permutation is not None:
            parts.append("workers shuffled")
        if self.drift is not None:
            parts.append(repr(self.drift))
        parts.extend(repr(o) for o in self.outages)
        return "; ".join(parts)

    def __repr__(self):
        return f"Fleet({self.describe()})"


def as_fleet(workers):
    """A :class:`Fleet` from a fleet or a single distribution."""
    if isinstance(workers, Fleet):
        return workers
    if isinstance(workers, Distribution):
        return Fleet(workers)
    raise TypeError(f"workers must be a fastata.sim distribution or Fleet; got {type(workers).__name__}")


#: Families by their command-line name, for :func:`fastata.sim.from_means`.
FAMILIES = {
    "exponential": Exponential,
    "shifted-exponential": ShiftedExponential,
    "lognormal": LogNormal,
    "gamma": Gamma,
    "uniform": Uniform,
    "half-normal": HalfNormal,
    "pareto": Pareto,
}


def from_means(family, means, **shape):
    """Workers of ``family`` (a :data:`fastata.sim.workers.FAMILIES` name) with the given mean task times.

    ``shape`` passes the family's shape parameter: ``sigma`` (log-normal, default 1),
    ``shape`` (gamma, default 2; Pareto, default 2.5).

    Examples
    --------
    >>> import fastata as fa
    >>> workers = fa.sim.from_means("gamma", [1.0, 2.0], shape=3.0)
    >>> type(workers).__name__, workers.means.tolist()
    ('Gamma', [1.0, 2.0])
    """
    family = _validate.choice(family, "distribution", tuple(FAMILIES))
    means = _validate.real_array(means, "means", 1)
    _validate.positive_entries(means, "means")
    return FAMILIES[family].from_means(means, **shape)

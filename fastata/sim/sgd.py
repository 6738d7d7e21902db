r"""Training coupling: minibatch SGD on the quadratic of the Rennala/Ringmaster experiments.

.. math::

    f(x) = \tfrac12 x^\top A x - b^\top x, \qquad
    A = \tfrac{L}{4}\,\mathrm{tridiag}(-1, 2, -1) + s I, \qquad b = (-\tfrac{L}{4}, 0, \dots, 0),

the tridiagonal worst-case function of Nesterov's lower bound, as used by Tyurin and
Richtárik (Rennala SGD, NeurIPS 2023) and Maranjyan et al. (Ringmaster ASGD; ATA, ICML 2025).
The shift ``s > 0`` makes it strongly convex with a unique minimiser (``A``'s spectrum lies
in ``(s, L + s)``). A task is one stochastic gradient ``grad f(x) + xi``,
``xi ~ N(0, sigma^2 I)``; a round averages ``budget`` of them, all computed at the current
point (for GTA: the first ``budget`` to finish, the rest cancelled), and takes one step
``x <- x - stepsize * g``.

**Why one trajectory serves every policy.** In every policy of the paper, ATA, FTA, UTA
and GTA alike, a round averages ``budget`` fresh gradients at the same point, so the
iterates follow the same law whatever the allocation; policies differ only in how long
a round takes and what it costs. With common noise (one seed) the iterates are in fact
identical, and suboptimality against *time* differs only through each policy's
cumulative round time and worker time. (The average of ``budget`` independent
``N(0, sigma^2 I)`` noises is drawn directly as one ``N(0, sigma^2 / budget I)``:
the same law, ``budget`` times fewer draws.)
"""

import numpy as np

from .. import _validate
from .run import seed_keys

#: Rounds of noise drawn at a time (keeps memory at ``BLOCK * dim`` floats).
BLOCK = 1024


class Quadratic:
    """The quadratic above and its minibatch SGD.

    Parameters
    ----------
    dim : int
        Dimension ``d``.
    L : float
        Smoothness scale: ``A = (L/4) tridiag(-1, 2, -1) + shift I``.
    shift : float
        ``> 0``: the strong-convexity shift ``s``.
    noise : float
        ``>= 0``: the standard deviation ``sigma`` of each coordinate of a gradient's noise.

    Examples
    --------
    >>> import fastata as fa
    >>> q = fa.sim.Quadratic(dim=100)
    >>> curve = q.sgd(rounds=50, budget=23, seed=0)     # suboptimality f(x_k) - f*, k = 0..50
    >>> curve.shape, bool(curve[-1] < curve[0])
    ((51,), True)
    """

    def __init__(self, dim=1000, L=1.0, shift=1e-3, noise=1e-3):
        self.dim = _validate.count(dim, "dim", 1)
        self.L = _validate.positive(L, "L")
        self.shift = _validate.positive(shift, "shift")
        self.noise = _validate.nonnegative(noise, "noise")
        self.b = np.zeros(self.dim)
        self.b[0] = -self.L / 4.0
        self.x_star = self._solve(self.b)
        self.f_star = -0.5 * float(self.b @ self.x_star)

    def matvec(self, x):
        """``A x``."""
        q = self.L / 4.0
        y = (2.0 * q + self.shift) * x
        y[1:] -= q * x[:-1]
        y[:-1] -= q * x[1:]
        return y

    def value(self, x):
        """``f(x)``."""
        return 0.5 * float(x @ self.matvec(x)) - float(self.b @ x)

    def suboptimality(self, x):
        """``f(x) - f* = 1/2 (x - x*)^T A (x - x*)`` (computed without cancellation)."""
        e = x - self.x_star
        return 0.5 * float(e @ self.matvec(e))

    def _solve(self, rhs):
        """``A^{-1} rhs`` by the Thomas algorithm (``A`` is tridiagonal, diagonally dominant)."""
        q = self.L / 4.0
        diag = 2.0 * q + self.shift
        d = self.dim
        c = np.empty(d)
        y = np.empty(d)
        c[0] = -q / diag
        y[0] = rhs[0] / diag
        for j in range(1, d):
            m = diag + q * c[j - 1]
            c[j] = -q / m
            y[j] = (rhs[j] + q * y[j - 1]) / m
        for j in range(d - 2, -1, -1):
            y[j] -= c[j] * y[j + 1]
        return y

    @property
    def default_stepsize(self):
        """``1 / (L + shift)``: one over the largest curvature bound."""
        return 1.0 / (self.L + self.shift)

    def sgd(self, rounds, budget, *, seed, stepsize=None):
        """Suboptimality ``f(x_k) - f*`` for ``k = 0..rounds`` of minibatch SGD from ``x_0 = 0``.

        Parameters
        ----------
        rounds : int
        budget : int
            Gradients averaged per round (``>= 1``).
        seed : int or numpy.random.SeedSequence
            The noise uses its own stream of this seed (see :func:`fastata.sim.seed_keys`).
        stepsize : float, optional
            Default :attr:`default_stepsize`.

        Returns
        -------
        ndarray of float64, shape (rounds + 1,)
        """
        rounds = _validate.count(rounds, "rounds", 1)
        budget = _validate.count(budget, "budget", 1)
        stepsize = self.default_stepsize if stepsize is None else _validate.positive(stepsize, "stepsize")
        rng = np.random.default_rng(seed_keys(seed)[1])
        sigma = self.noise / np.sqrt(budget)
        out = np.empty(rounds + 1)
        x = np.zeros(self.dim)
        e = x - self.x_star
        ae = self.matvec(e)
        out[0] = 0.5 * float(e @ ae)
        for start in range(0, rounds, BLOCK):
            count = min(BLOCK, rounds - start)
            noise = rng.standard_normal((count, self.dim))
            noise *= sigma
            for r in range(count):
                # grad f(x) = A x - b = A (x - x*), so iterate on the error e = x - x*.
                e -= stepsize * (ae + noise[r])
                ae = self.matvec(e)
                out[start + r + 1] = 0.5 * float(e @ ae)
        return out

    def __repr__(self):
        return f"Quadratic(dim={self.dim}, L={self.L!r}, shift={self.shift!r}, noise={self.noise!r})"


def against_time(suboptimality, result):
    """Pair an SGD curve with a run: ``(time, worker_time, suboptimality)``, each of length ``rounds + 1``.

    ``time[k]`` and ``worker_time[k]`` are the wall-clock time and total worker time at the
    end of round ``k`` (0 at the start), when the iterate has suboptimality ``suboptimality[k]``.

    Examples
    --------
    >>> import fastata as fa
    >>> workers = fa.sim.presets.cifar_workers(17)
    >>> r = fa.sim.run(fa.FTA(workers.means, 23), workers, 50, seed=0)
    >>> curve = fa.sim.Quadratic(dim=100).sgd(50, 23, seed=0)
    >>> time, worker_time, subopt = fa.sim.sgd.against_time(curve, r)
    >>> len(time), float(time[0]), bool(time[-1] > time[0])
    (51, 0.0, True)
    """
    if suboptimality.shape[0] != result.rounds + 1:
        raise ValueError(
            f"suboptimality must have rounds + 1 = {result.rounds + 1} entries; got {suboptimality.shape[0]}"
        )
    time = np.concatenate([[0.0], result.cumulative_time])
    worker_time = np.concatenate([[0.0], result.cumulative_worker_time])
    return time, worker_time, suboptimality


def time_to_reach(suboptimality, times, target):
    """The first ``times[k]`` with ``suboptimality[k] <= target`` (``inf`` if never).

    Examples
    --------
    >>> import numpy as np
    >>> import fastata as fa
    >>> fa.sim.sgd.time_to_reach(np.array([1.0, 0.5, 0.1]), np.array([0.0, 2.0, 3.0]), 0.5)
    2.0
    >>> fa.sim.sgd.time_to_reach(np.array([1.0, 0.5, 0.1]), np.array([0.0, 2.0, 3.0]), 0.01)
    inf
    """
    hit = np.flatnonzero(suboptimality <= target)
    return float(times[hit[0]]) if hit.size else float("inf")

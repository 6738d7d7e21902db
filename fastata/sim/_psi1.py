r"""Orlicz :math:`\psi_1` norms of centred task times, the scale ATA's ``alpha`` must bound.

For a random time ``X`` with mean ``mu``,

.. math::

    \|X - \mu\|_{\psi_1} = \inf\{t > 0 : \mathbb{E}\, e^{|X - \mu| / t} \le 2\}.

``alpha >= max_i ||X_i - mu_i||_psi1`` is the assumption behind ATA's confidence bounds,
and ``eta >= max_i ||X_i - mu_i||_psi1 / mu_i`` the one behind ATA-Empirical's
(Maranjyan et al., ICML 2025). Every family below is a scale family, so its norm is a
constant times its scale; the constants come from closed forms of
``E exp(c |X - mu|)`` (with ``c = scale / t``) and a bisection for ``E = 2``.

**Exponential** (mean ``s``). With ``E ~ Exp(1)`` and ``0 <= c < 1``,

.. math::

    \mathbb{E}\, e^{c|E - 1|} = \int_0^1 e^{c(1-x)} e^{-x} dx + \int_1^\infty e^{c(x-1)} e^{-x} dx
                              = \frac{e^{c} - e^{-1}}{1 + c} + \frac{e^{-1}}{1 - c},

which equals 2 at ``c* = 0.65302``: ``||X - mu||_psi1 = s / c* = 1.53135 s``. A shift
does not change ``X - mu``, so ``shift + Exp(scale)`` has the same norm, ``1.53135 scale``.

Log-normal and Pareto times have no finite :math:`\psi_1` norm (``E e^{X/t}`` diverges
for every ``t``): ATA's guarantee does not cover them. :func:`fallback` then stands in
with the norm an exponential time of the same standard deviation would have.
"""

import functools
import math

#: Bisection steps: far past float64 resolution on the intervals used here.
_STEPS = 200


def _solve_increasing(f, lo, hi):
    """The root of an increasing ``f`` on ``(lo, hi)`` (``f(lo) < 0 < f(hi)``; ``f`` may be +inf)."""
    for _ in range(_STEPS):
        mid = 0.5 * (lo + hi)
        if f(mid) > 0.0:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def _exp_mgf_abs(c):
    """``E exp(c |E - 1|)`` for ``E ~ Exp(1)``, ``0 <= c < 1``."""
    return (math.exp(c) - math.exp(-1.0)) / (1.0 + c) + math.exp(-1.0) / (1.0 - c)


#: ``||Exp(s) - s||_psi1 / s``.
EXPONENTIAL = 1.0 / _solve_increasing(lambda c: _exp_mgf_abs(c) - 2.0, 0.0, 1.0)

#: ``||U - mean||_psi1 / (high - low)`` for ``U ~ Uniform(low, high)``: ``|U - mean|`` is
#: uniform on ``[0, w/2]``, so ``E = (e^z - 1) / z`` with ``z = w / (2t)``.
UNIFORM = 0.5 / _solve_increasing(lambda z: math.expm1(z) / z - 2.0, 1e-12, 10.0)


def _normal_cdf(x):
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _half_normal_mgf_abs(c):
    """``E exp(c |Z - m|)`` for ``Z = |N(0, 1)|``, ``m = sqrt(2/pi)`` (split at ``m``)."""
    m = math.sqrt(2.0 / math.pi)
    upper = math.exp(-c * m) * (1.0 - _normal_cdf(m - c))  # z > m
    lower = math.exp(c * m) * (_normal_cdf(m + c) - _normal_cdf(c))  # 0 < z < m
    return 2.0 * math.exp(0.5 * c * c) * (upper + lower)


#: ``||X - mean||_psi1 / scale`` for ``X = scale * |N(0, 1)|``.
HALF_NORMAL = 1.0 / _solve_increasing(lambda c: _half_normal_mgf_abs(c) - 2.0, 0.0, 20.0)


def _gamma_p(a, x):
    """The regularised lower incomplete gamma function ``P(a, x)`` (Numerical Recipes 6.2)."""
    if x <= 0.0:
        return 0.0
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1.0:  # series
        term = total = 1.0 / a
        ap = a
        for _ in range(100000):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-17:
                break
        return total * math.exp(log_front)
    # continued fraction for Q (modified Lentz)
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, 100000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return 1.0 - math.exp(log_front) * h


def _gamma_mgf_abs(shape, c):
    """``E exp(c |G - shape|)`` for ``G ~ Gamma(shape, 1)``, ``0 <= c < 1`` (split at the mean)."""
    k = shape
    upper = math.exp(-c * k - k * math.log1p(-c)) * (1.0 - _gamma_p(k, (1.0 - c) * k))
    lower = math.exp(c * k - k * math.log1p(c)) * _gamma_p(k, (1.0 + c) * k)
    return upper + lower


@functools.lru_cache(maxsize=256)
def gamma(shape):
    """``||G - mean||_psi1 / scale`` for ``G ~ Gamma(shape, scale)`` (``gamma(1) == EXPONENTIAL``)."""
    return 1.0 / _solve_increasing(lambda c: _gamma_mgf_abs(shape, c) - 2.0, 0.0, 1.0 - 1e-15)


def empirical(samples):
    """The norm of the empirical distribution of ``samples`` (a 1-D float array) about its mean."""
    import numpy as np

    dev = np.abs(samples - samples.mean())
    top = float(dev.max())
    if top == 0.0:
        return 0.0
    # E exp(dev / t) = 2 at t = top / c; in c = top / t the expectation increases from 1.
    c = _solve_increasing(lambda c: float(np.mean(np.exp(c * (dev / top)))) - 2.0, 0.0, 800.0)
    return top / c


def fallback(mean, std):
    """A stand-in for a time with no finite norm: an exponential's norm at the same spread.

    ``EXPONENTIAL * std`` where the standard deviation is finite, else ``EXPONENTIAL * mean``.
    """
    return EXPONENTIAL * (std if math.isfinite(std) else mean)

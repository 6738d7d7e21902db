r"""ATA-Bernstein: lower confidence bounds from a Bernstein inequality with the variance estimated.

Assumption (Bernstein's moment condition with scale ``b = eta * mu``): a worker's task
times ``X_1, X_2, ...`` are independent, with mean ``mu > 0``, variance ``sigma^2`` and, for
every integer ``q >= 3``, ``E|X - mu|^q <= q! sigma^2 b^(q-2) / 2`` with ``b <= eta mu``.
(Exponential times with mean ``m`` satisfy it with ``b = m``; shifted exponentials
``shift + Exp(m)`` too. ATA-Empirical's default ``eta``, the relative psi_1 norm, gives
``eta mu = 1.5313 m >= m`` for both.)

Step 1, the mean. Bernstein's inequality (Boucheron, Lugosi & Massart, *Concentration
Inequalities*, Oxford University Press 2013, Theorem 2.10), applied to ``Y_j = X_j - mu``
(``v = K sigma^2``, ``c = b``): with probability at least ``1 - e^-t``,
``muhat - mu < sigma sqrt(2 t / K) + b t / K``.

Step 2, the variance. The lower tail of a sum of non-negative variables (Maurer, "A bound
on the deviation probability for sums of non-negative random variables", JIPAM 4(1),
2003, article 15, Theorem 1; BLM 2013, Exercise 2.9): ``Z_j = Y_j^2 >= 0`` has
``E Z = sigma^2`` and ``E Z^2 = E Y^4 <= 12 sigma^2 b^2`` (the condition at ``q = 4``), so with
probability at least ``1 - e^-t``, ``mean(Z) > sigma^2 - sigma b sqrt(24 t / K)``; and
``mean(Z) = V + (muhat - mu)^2`` exactly, ``V = M2 / K`` the sample variance (ddof 0).

Both hold with probability at least ``1 - 2 e^-t``. ``t = L = ln(2 k^2)`` (``k`` completed
rounds) makes the failure probability ``1 / k^2`` per worker and round, ATA's level.

Solving for ``mu``. Write ``r = t / K``, ``rho = muhat / mu``, ``x = rho - 1``,
``sigma' = sigma / mu``, ``v = V / muhat^2`` (observed squared coefficient of variation),
``u = sqrt(2 r)``, ``e = eta r``, ``B = eta sqrt(24 r)``. Dividing by ``mu`` (and ``b <= eta mu``),
step 1 reads ``x - e < u sigma'`` and step 2 ``sigma'^2 - B sigma' - (v rho^2 + x^2) < 0``.
If ``x > e``, step 1 gives ``sigma' > (x - e) / u``; the left side of step 2 grows in
``sigma'`` beyond its positive root, so ``(x - e) / u`` is below that root too:
``Q(x) = (x - e)^2 - B u (x - e) - u^2 (v (1 + x)^2 + x^2) < 0``. ``Q`` is the quadratic
``a2 x^2 - b1 x + a0`` with::

    a2 = 1 - u^2 (1 + v)
    b1 = 2 e + B u + 2 u^2 v            (B u = eta sqrt(48) r)
    a0 = e^2 + B u e - u^2 v

and ``Q(e) <= 0``. If ``a2 > 0``, every ``x`` allowed (``x <= e``, or ``Q(x) < 0``) is at most
the larger root ``x+ = (b1 + sqrt(b1^2 - 4 a2 a0)) / (2 a2) >= e >= 0``.

Without the variance. The condition at ``q = 3`` and Lyapunov's inequality give
``sigma^3 <= E|Y|^3 <= 3 sigma^2 b``, so ``sigma <= 3 b <= 3 eta mu`` always: with step 1
alone, ``x < e + 3 eta u =: xw``. This bound holds on the same event and never vanishes;
it is the tighter one while ``K`` is small (where the sample variance says little, and
where ``a2 <= 0`` leaves ``x`` unbounded by step 2).

So ``mu >= muhat / (1 + min(x+, xw)) = s`` (``xw`` alone when ``a2 <= 0``). Every constant
(``sqrt 2``, ``1``, ``sqrt 24``, ``3``, ``1 / k^2``) comes from the two theorems and the moment
condition; nothing is fitted. ``c`` (1 by default, the inequality itself) multiplies each
deviation term: ``u = c sqrt(2 r)``, ``e = c eta r``, ``B = c eta sqrt(24 r)``
(so ``xw = e + 3 c eta sqrt(2 r)``).
"""

from .. import _validate
from .confidence import ConfidenceBound
from .registry import register

#: The inequality's own constant in front of the width (every constant is inside the formula).
THEORY_C = 1.0


@register
class ATABernstein(ConfidenceBound):
    r"""ATA-Bernstein: lower confidence bounds from an empirical Bernstein inequality.

    After ``k >= 1`` completed rounds (``L = ln(2k^2)``), worker ``i`` with ``K_i`` tasks,
    running mean ``muhat_i`` and observed variance ``V_i = M2_i / K_i`` gets

    .. math::

        r = L/K_i,\quad u = c\sqrt{2r},\quad e = c\,\eta\,r,\quad B u = c^2\eta\sqrt{48}\,r,
        \quad v = V_i/\hat\mu_i^2,

        a_2 = 1 - u^2(1+v),\quad b_1 = 2e + Bu + 2u^2 v,\quad a_0 = e^2 + Bu\,e - u^2 v,

        s_i = \hat\mu_i \Big/ \Big(1 + \frac{b_1 + \sqrt{b_1^2 - 4a_2a_0}}{2a_2}\Big)

    with the root replaced by ``x_w = e + 3 c eta sqrt(2r)`` (the bound from ``sigma <= 3 eta mu``,
    no variance needed) where that is smaller or ``a2 <= 0``; ``s_i = 0`` while ``K_i = 0``,
    ``+inf`` while unavailable.
    With ``c = 1``, ``P(mu_i < s_i) <= 1/k^2`` for each worker and round (ATA's level)
    under Bernstein's moment condition with scale ``eta * mu_i``:
    ``E|X - mu_i|^q <= q! sigma_i^2 (eta mu_i)^(q-2) / 2`` for every integer ``q >= 3``.
    To first order the width is ``sqrt(2 L V_i / K_i)``, the worker's own spread, where
    ATA-Empirical's is ``2 eta mu_i sqrt(L / K_i)``, the worst case; ``eta`` enters at the
    order ``L / K_i``.

    Sources: Bernstein's inequality (Boucheron, Lugosi & Massart, *Concentration
    Inequalities*, 2013, Theorem 2.10) for the mean, and the lower tail of sums of
    non-negative variables (Maurer 2003, Theorem 1) for the variance; the derivation of
    every constant is in ``fastata.policies.bernstein``'s docstring and ``docs/bernstein.md``.

    Parameters
    ----------
    n_workers : int
        Number of workers, ``>= 1``.
    budget : int
        Tasks per round.
    eta : float
        ``> 0``: the moment condition's scale relative to the mean (ATA-Empirical's
        ``eta``, a bound on the relative spread).
    c : float
        ``> 0``, the constant in front of every width term; ``1`` (the default) is the
        inequality as derived.
    gamma : float
        Discount in ``(0, 1]`` (see :class:`ATA`).
    explore_share : float
        In ``(0, 1]`` (see :class:`ATA`).
    backend : {"auto", "python", "numba", "cython", "cuda"}
        Which kernels run; the same bits on every backend.
    """

    def __init__(self, n_workers, budget, *, eta, c=THEORY_C, gamma=1.0, explore_share=1.0, backend="auto"):
        self._eta = _validate.positive(eta, "eta")
        super().__init__(n_workers, budget, c=c, gamma=gamma, explore_share=explore_share, backend=backend)
        self._ce = self._c * self._eta  # the one product taken outside the kernel

    @property
    def eta(self):
        """The moment condition's scale relative to the mean."""
        return self._eta

    def params(self):
        return {"eta": self._eta}

    def _bounds_into(self, s):
        self._kernels.bernstein_bounds_into(self._counts, self._means, self._m2, self._avail, self._c, self._ce,
                                            self._log_term(), s)  # fmt: skip

"""Allocation policies: ATA, ATA-Empirical and the baselines FTA and UTA (DESIGN.md section 3).

Every policy speaks one protocol, so a scheduler can swap them::

    a = policy.allocate()              # start a round: a[i] tasks for worker i
    policy.observe(workers, durations) # per-task samples, any order, any time

State per worker ``i``: ``K_i`` (``counts``), the running mean ``muhat_i`` (``means``) and
Welford's ``M2_i`` (``variances = M2 / K``). ATA allocates on lower confidence bounds of
the mean task times (Maranjyan, Saad, Richtarik, Orabona, ICML 2025, arXiv:2502.00775).
After ``k >= 1`` completed rounds, with ``L = ln(2 k^2)`` and
``c_i = sqrt(L / K_i) + L / K_i``:

* ATA:            ``s_i = max(muhat_i - c * alpha * c_i, 0)``
* ATA-Empirical:  ``s_i = muhat_i * max(1 - c * eta * c_i, 0)``

with ``s_i = 0`` while ``K_i = 0`` (so the first rounds explore every worker round-robin)
and ``s_i = +inf`` for an unavailable worker; the round's allocation is
``fastata.allocate(s, budget)``. ``c = 2`` is the paper's constant.

Censored observations (an extension): ``observe_censored(workers, elapsed)`` takes
lower bounds on task times, "this task has run ``elapsed`` seconds and is not done" (a
round that timed out, a worker lost under a task). A censored sample ``t`` of worker ``i``
is added as a sample of value ``t`` (the same Welford update as ``observe``) only when it
raises the estimate: when ``K_i = 0`` or ``t > muhat_i``; otherwise it is dropped. See
:meth:`Policy.observe_censored` for why this keeps the bounds sound.

Bounded exploration (an extension): ``explore_share`` (ATA and ATA-Empirical, default 1,
the paper) caps what the unexplored workers (``K_i = 0``) may take of a round while some
available worker is explored: at most ``max(1, floor(explore_share * budget))`` tasks
together, handed out as the canonical allocation with per-worker caps would (see
:func:`explore_caps`). A worker that joins mid-run then costs a bounded share of one round
instead of the whole round.

Drift (an extension): with ``gamma < 1`` every ``K_i`` and ``M2_i`` is multiplied by
``gamma`` once per round, at the end of ``allocate``, so a sample observed ``t`` rounds ago
weighs ``gamma**t`` (discounted UCB, Garivier & Moulines 2011), and ``k`` becomes the
discounted round count ``sum_{t<k} gamma**t``.

The hot path is thin: ``observe`` is one kernel call (it checks every sample, then adds
them all, so a rejected call changes nothing) and ``allocate`` is one kernel call
(bounds, allocation and discount) on buffers kept between rounds.

Backends: ``python``, ``numba`` and ``cython`` run everything in the chosen backend.
With ``backend="cuda"`` the statistics and bounds run on the host (numba CPU kernels:
O(n) numbers a round are cheaper to update than to copy to the GPU and back) and only
the allocation runs on the GPU. Every backend gives the same bits.

Threads: a policy may be shared between threads. Each one holds a lock around every
change of its state (``observe``, ``allocate``, ``add_workers``, ``set_available``,
``reset``) and around ``save``, ``lower_bounds`` and ``variances``, so concurrent calls
never lose a sample or tear a round; the kernels release the GIL, so threads that each
own a policy run in parallel. The read-only views ``counts``, ``means`` and
``available`` are live: read them from the thread that drives the policy, or copy
them while no other thread calls it. A view follows the policy until ``add_workers``
(which moves the statistics to longer arrays) or ``fastata.load``: read the property
again after either.

Layout: :mod:`.base` (the shared state, the protocol, churn, ``save``), :mod:`.confidence`
(the confidence-bound family: :class:`ConfidenceBound`, the base a new bound subclasses,
ATA, ATA-Empirical), :mod:`.bernstein` (ATA-Bernstein), :mod:`.baselines` (FTA, UTA), :mod:`.protocol` (:class:`AllocationPolicy`,
what the simulator and the executors call on any policy), :mod:`.files` (the file format,
atomic writes, ``load``) and :mod:`.registry`, the one place a new policy class plugs in
(``@register`` makes it loadable).
"""

# os and numpy are re-exported for tests that patch what a save calls (os.replace, np.savez).
import os  # noqa: F401

import numpy as np  # noqa: F401

from .base import Policy
from .bernstein import ATABernstein
from .baselines import FTA, UTA
from .confidence import ATA, PAPER_C, ATAEmpirical, ConfidenceBound, explore_caps
from .protocol import AllocationPolicy
from .files import FORMAT, FORMAT_VERSION, STALE_LEGACY_SECONDS, load
from .registry import KINDS, register

__all__ = [
    "ATA",
    "ATABernstein",
    "AllocationPolicy",
    "ConfidenceBound",
    "ATAEmpirical",
    "FORMAT",
    "FORMAT_VERSION",
    "FTA",
    "KINDS",
    "PAPER_C",
    "Policy",
    "STALE_LEGACY_SECONDS",
    "UTA",
    "explore_caps",
    "load",
    "register",
]

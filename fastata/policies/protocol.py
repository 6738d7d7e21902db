"""The policy protocol: what the simulator and the executors call on a policy.

Any object with these members can drive ``fastata.sim.run``, ``fastata.sim.compare``,
``fastata.dask.AdaptiveExecutor`` and the engine-neutral executor (``fastata.executor``);
it need not derive from a fastata class. Every built-in policy speaks it.
"""

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class AllocationPolicy(Protocol):
    """An allocation policy: hands out each round's tasks and learns from their times.

    Required
    --------
    ``n_workers`` : int
        Number of workers, ids ``0 .. n_workers - 1``.
    ``budget`` : int
        Tasks per round when ``allocate`` is called without one.
    ``allocate(budget=None, *, out=None) -> ndarray of int64, shape (n_workers,)``
        Start a round: ``a[i]`` tasks for worker ``i``, ``a >= 0``, ``a.sum() == budget``,
        0 for an unavailable worker. When ``out`` is given, fill it and return it.
    ``observe(workers, durations)``
        Per-task times: worker ``workers[u]`` took ``durations[u]`` for one task
        (any order, any round, before or after ``allocate``).
    ``set_available(ids, flag)``
        Mark workers available (``True``) or gone (``False``); a gone worker gets no task.

    Optional (used where present)
    -----------------------------
    ``lower_bounds`` : ndarray of float, shape (n_workers,)
        The per-task time estimates the next round allocates on (``+inf`` = unavailable);
        an executor hands a dead worker's tasks to the others by them (equal shares without).
    ``add_workers(k) -> ids``
        Grow by ``k`` unexplored workers; an executor calls it when a worker joins
        (without it, a joining worker gets no task).
    ``observe_censored(workers, elapsed) -> int``
        Lower bounds on the times of tasks a round gave up on (executors only).
    ``explore_share``, ``counts``, ``available``
        Bounded exploration of newcomers (see :class:`fastata.ATA`).
    ``allocate(budget, *, min_tasks=None, max_tasks=None, out=None)``
        Per-worker bounds on a round (as :func:`fastata.allocate`); asked for only when a
        caller passes bounds (``fa.sim.run(..., max_tasks=4)``, an executor's ``run_round``).

    The simulator checks every allocation of an object that is not a fastata policy
    (shape, integers, ``>= 0``, the round's budget) and raises ``ValueError`` otherwise.
    """

    @property
    def n_workers(self) -> int: ...

    @property
    def budget(self) -> int: ...

    def allocate(self, budget=None, *, out=None) -> np.ndarray: ...

    def observe(self, workers, durations) -> None: ...

    def set_available(self, ids, flag) -> None: ...


#: The members every policy must have, in the order error messages name them.
REQUIRED = ("n_workers", "budget", "allocate", "observe", "set_available")

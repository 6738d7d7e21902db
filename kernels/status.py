"""Status codes a kernel returns instead of raising.

Kernels never word an error: they return one of these codes and
``fastata._validate`` turns it into the message. The Cython backend mirrors
these values in ``cython_cpu.pxd``; a test keeps them equal.
"""

OK = 0
#: ``lam`` holds a NaN.
LAM_NAN = 1
#: ``lam`` holds a negative entry.
LAM_NEGATIVE = 2
#: ``budget > 0`` but every worker is unavailable (``lam = +inf``) or there are none.
NO_AVAILABLE_WORKER = 3
#: ``observe``: a worker id outside ``[0, n)``.
WORKER_OUT_OF_RANGE = 4
#: ``observe``: a duration that is NaN or infinite.
DURATION_NOT_FINITE = 5
#: ``observe``: a negative duration.
DURATION_NEGATIVE = 6
# Preconditions the Python API checks before any kernel runs; the Cython C API (the
# ``.pxd``) checks them itself, in O(1), and answers with these instead of writing out of
# bounds.
#: ``budget`` outside ``[0, 2**53]``.
BUDGET_OUT_OF_RANGE = 7
#: ``out`` shorter than ``lam``.
OUT_TOO_SHORT = 8
#: ``ties`` shorter than ``n``, ``heap`` shorter than ``n + 2`` or ``warm`` shorter than 3.
SCRATCH_TOO_SHORT = 9
#: Per-worker arrays of a policy kernel shorter than ``counts`` (``means``, ``m2``,
#: ``available``, ``s``), or ``durations`` shorter than ``workers``.
LENGTHS_DIFFER = 10
# Per-worker bounds of an allocation (``min_tasks``, ``max_tasks``), checked in this order,
# worker by worker, then the sums.
#: ``min_tasks`` holds a negative entry.
MIN_NEGATIVE = 11
#: ``min_tasks > max_tasks`` for a worker.
BOUNDS_CROSSED = 12
#: ``min_tasks > 0`` for an unavailable worker (``lam = +inf``).
MIN_ON_UNAVAILABLE = 13
#: ``sum(min_tasks) > budget``.
MIN_OVER_BUDGET = 14
#: The available workers' ``max_tasks`` sum to less than ``budget``.
CAPACITY_SHORT = 15

#: Bound variants of the policy kernels (DESIGN.md section 3).
VARIANT_ATA = 0
VARIANT_EMPIRICAL = 1

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

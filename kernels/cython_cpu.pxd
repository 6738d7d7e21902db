# cython: language_level=3
"""C-level interface of the Cython backend, for ``cimport fastata.kernels.cython_cpu``.

Every function here is ``noexcept nogil``: call it without the GIL from your own
Cython code. Inputs must be C-contiguous; ``budget`` must lie in ``[0, 2**53]``.
The return value is a status code (``STATUS_*``; 0 means success).
"""

from libc.stdint cimport int64_t

# Mirrors kernels/status.py (a test keeps the two equal).
cdef enum:
    STATUS_OK = 0
    STATUS_LAM_NAN = 1
    STATUS_LAM_NEGATIVE = 2
    STATUS_NO_AVAILABLE_WORKER = 3

# Canonical allocation of ``budget`` tasks over ``lam`` (length n) into ``out``.
# Scratch: ``ties`` int64 of length >= n, ``heap`` float64 of length >= n + 2.
cdef int allocate_core(const double[::1] lam, int64_t budget, int64_t[::1] out,
                       int64_t[::1] ties, double[::1] heap) noexcept nogil

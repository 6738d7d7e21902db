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
    STATUS_WORKER_OUT_OF_RANGE = 4
    STATUS_DURATION_NOT_FINITE = 5
    STATUS_DURATION_NEGATIVE = 6
    # The C API's preconditions, checked in O(1) before anything is written:
    STATUS_BUDGET_OUT_OF_RANGE = 7  # budget outside [0, 2**53]
    STATUS_OUT_TOO_SHORT = 8        # len(out) < len(lam)
    STATUS_SCRATCH_TOO_SHORT = 9    # len(ties) < n, len(heap) < n + 2, or len(warm) < 3
    STATUS_LENGTHS_DIFFER = 10      # means, m2, available or s shorter than counts;
                                    # durations shorter than workers; min_tasks or
                                    # max_tasks shorter than lam
    # Per-worker bounds that no allocation meets, checked worker by worker, then the sums:
    STATUS_MIN_NEGATIVE = 11        # min_tasks[i] < 0
    STATUS_BOUNDS_CROSSED = 12      # min_tasks[i] > max_tasks[i]
    STATUS_MIN_ON_UNAVAILABLE = 13  # min_tasks[i] > 0 where lam[i] = +inf
    STATUS_MIN_OVER_BUDGET = 14     # sum(min_tasks) > budget
    STATUS_CAPACITY_SHORT = 15      # sum of max_tasks over available workers < budget
    VARIANT_ATA = 0
    VARIANT_EMPIRICAL = 1

# Canonical allocation of ``budget`` tasks over ``lam`` (length n) into ``out``.
# Scratch: ``ties`` int64 of length >= n, ``heap`` float64 of length >= n + 2.
# Every function below checks the lengths and ``budget`` first (the STATUS_* above) and
# then the values; a call that returns a code other than STATUS_OK has written nothing.
# Concurrent calls must not share ``out`` or scratch (each call writes them).
cdef int allocate_core(const double[::1] lam, int64_t budget, int64_t[::1] out,
                       int64_t[::1] ties, double[::1] heap) noexcept nogil

# allocate_core for a sequence of similar problems: ``warm`` (float64, length 3, zeros at
# first) carries a bracket of the previous call's threshold to this one, where the first two
# counts are taken; the result is the same whatever ``warm`` holds. Updated on success.
cdef int allocate_warm_core(const double[::1] lam, int64_t budget, int64_t[::1] out,
                            int64_t[::1] ties, double[::1] heap, double[::1] warm) noexcept nogil

# allocate_core with per-worker bounds ``min_tasks[i] <= out[i] <= max_tasks[i]`` (int64, as
# long as lam): start from min_tasks, then hand the remaining tasks out by the same keys among
# the workers below their maximum (DESIGN.md section 2).
cdef int allocate_bounded_core(const double[::1] lam, int64_t budget,
                               const int64_t[::1] min_tasks, const int64_t[::1] max_tasks,
                               int64_t[::1] out, int64_t[::1] ties, double[::1] heap) noexcept nogil

# allocate_bounded_core warm-started as allocate_warm_core.
cdef int allocate_bounded_warm_core(const double[::1] lam, int64_t budget,
                                    const int64_t[::1] min_tasks, const int64_t[::1] max_tasks,
                                    int64_t[::1] out, int64_t[::1] ties, double[::1] heap,
                                    double[::1] warm) noexcept nogil

# Policy statistics (DESIGN.md section 3): check every sample (ids in [0, n), durations
# finite and >= 0), then add them all with Welford's update; a rejected batch changes nothing.
cdef int observe_core(const int64_t[::1] workers, const double[::1] durations,
                      double[::1] counts, double[::1] means, double[::1] m2) noexcept nogil

# Lower confidence bounds of ATA (variant VARIANT_ATA, weight = c * alpha) or ATA-Empirical
# (VARIANT_EMPIRICAL, weight = c * eta) into ``s``; ``log_term = ln(2 k^2)``;
# ``available[i] == 0`` gives +inf.
cdef int bounds_core(const double[::1] counts, const double[::1] means,
                      const unsigned char[::1] available, int variant, double weight,
                      double log_term, double[::1] s) noexcept nogil

# ATA-Bernstein's lower confidence bounds into ``s`` (fastata/policies/bernstein.py derives them),
# ce = c * eta: r = log_term / K_i, u = c sqrt(2 r), e = ce r, bu = ce sqrt(24 r) u,
# v = (M2_i / K_i) / mean_i^2, a2 = 1 - u^2 (1 + v), b1 = 2 e + bu + 2 u^2 v,
# a0 = e^2 + bu e - u^2 v, xv = (b1 + sqrt(max(b1^2 - 4 a2 a0, 0))) / (2 a2) when a2 > 0,
# x = min(xv, e + 3 ce sqrt(2 r)); s_i = mean_i / (1 + x) when mean_i > 0, else 0;
# 0 while K_i = 0; ``available[i] == 0`` gives +inf.
cdef int bernstein_bounds_core(const double[::1] counts, const double[::1] means,
                               const double[::1] m2, const unsigned char[::1] available,
                               double c, double ce, double log_term, double[::1] s) noexcept nogil

# One policy round: bounds into ``s``, the allocation of ``budget`` into ``out``, then
# ``counts`` and ``m2`` times ``gamma`` (only if the allocation succeeded).
cdef int policy_round_core(double[::1] counts, const double[::1] means, double[::1] m2,
                           const unsigned char[::1] available, int variant, double weight,
                           double log_term, double gamma, int64_t budget, double[::1] s,
                           int64_t[::1] out, int64_t[::1] ties, double[::1] heap) noexcept nogil

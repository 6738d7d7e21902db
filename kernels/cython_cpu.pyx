# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Cython backend: the exact threshold algorithm compiled ahead of time, GIL released.

A line-by-line port of ``threshold.py`` (read that file for the why); the tests
hold it bit-identical to the reference. Typed memoryviews, ``nogil`` throughout,
and no heap allocation: the caller passes ``out`` and the scratch arrays.

Where it departs: the passes over every worker (``1/lam`` and its sum, the counts, the
boundary workers of ``select_between``, the smallest and largest products next to a
threshold, and the split at ``t*``) are C with AVX-512 or AVX2 intrinsics, picked at run
time (``set_simd_level`` forces one, for tests and benchmarks); elsewhere the scalar loops.
"""

from libc.math cimport INFINITY, NAN, ceil, exp, fabs, floor, frexp, log, nextafter, pow, sqrt
from libc.float cimport DBL_MAX, DBL_MIN
from libc.stdint cimport int64_t, uint32_t
from libc.stdlib cimport llabs

import numbers

import numpy as np

# The constants of threshold.py.
cdef int MAX_REFINE = 4096
cdef double GROWTH = 18446744073709551616.0  # 2**64
cdef int MAX_BRACKET_STEPS = 16
cdef double WIDE = 2.0
cdef Py_ssize_t EXTREMES_N = 256
cdef double ESTIMATE_MARGIN = 8.881784197001252e-16  # 2**-50
cdef int MAX_ESTIMATES = 12
cdef int WITHIN_ESTIMATES = 8  # threshold.WITHIN_ESTIMATES
cdef double ESTIMATE_LOW = 9.332636185032189e-302  # 2**-1000
cdef double ESTIMATE_HIGH = 1.0715086071862673e+301  # 2**1000
cdef int64_t ESTIMATE_CAP = 4611686018427387904  # 2**62
cdef int64_t ESTIMATE_TERMS_CAP = 4503599627370495  # 2**52 - 1
cdef double COUNT_MARGIN = 3.552713678800501e-15  # 2**-48
cdef double CAPPED_SHARE = 0.05
cdef double SLOPE_STEP = 1.03
cdef Py_ssize_t BOUNDED_SAMPLE = 1024
cdef double BOUNDED_NOISE = 2.0
cdef double BOUNDED_CLOSE = 0.25
cdef Py_ssize_t BOUNDED_STRIDE = 64
cdef int BOUNDED_STEPS = 8
cdef Py_ssize_t BOUNDED_BRACKET_FROM = 256
cdef double BOUNDED_WIDTH = 1.0625
cdef double SECANT_TRUST = 2.0
cdef double SPARSE_SECANT = 4.0  # threshold.SPARSE_SECANT
cdef double SECANT_KEYS = 32.0  # threshold.SECANT_KEYS
cdef double ROOT_WIDTH = 0.0009765625  # 2**-10
cdef int NARROW = 1
cdef int LANDED = 2
cdef int JUMP = 3
cdef int TIED = 4
cdef int SELECTED = 5
cdef int64_t TAKEN = -1  # take_at's return when it filled out
cdef Py_ssize_t SAMPLED_FROM = 4096
cdef Py_ssize_t RANKED_FROM = 16384  # threshold.RANKED_FROM
cdef double RANKED_SPREAD = 1.5  # threshold.RANKED_SPREAD
cdef double WIDE_SPREAD = 8.452712498170644e+270  # 2**900
cdef double LOG_SPREAD = 1e6
cdef double RECIPROCAL_CAP = 2251799813685248.0  # 2**51
cdef int64_t MAX_BUDGET = 9007199254740992  # 2**53: every task index is exact in float64


cdef inline int64_t saturated(double total, int64_t limit) noexcept nogil:
    # threshold.saturated
    return limit if total >= limit else <int64_t>total


cdef inline int64_t count_le_from(double x, double t, int64_t cap, int64_t c) noexcept nogil:
    while c < cap and <double>(c + 1) * x <= t:
        c += 1
    while <double>c * x > t:  # no c > 0 guard: 0 * x <= t, and the guard mispredicts
        c -= 1
    return c


cdef inline int64_t count_le(double x, double t, int64_t cap) noexcept nogil:
    cdef double q = t / (x + 0.0)  # lam = -0.0 divides as +0 (threshold.count_le)
    return count_le_from(x, t, cap, cap if q >= cap else <int64_t>q)


cdef double relaxation(const double[::1] lam, int64_t budget, int64_t n_avail,
                       double inv_sum, double lam_min) noexcept nogil:
    cdef double target = budget + 0.5 * n_avail, s = 0.0, t, x
    cdef Py_ssize_t i
    if inv_sum < INFINITY:
        t = target / inv_sum
    else:
        for i in range(lam.shape[0]):
            x = lam[i]
            if 0.0 < x < INFINITY:
                s += lam_min / x
        t = lam_min * (target / s)
    return t if t < DBL_MAX else DBL_MAX


cdef extern from *:
    """
    #include <float.h>
    #include <math.h>
    #include <stdint.h>
    #include <stddef.h>
    #include <string.h>
    /* The passes over every worker, in explicit SIMD. A source build targets the baseline
       (SSE2 on x86-64), which has no packed float <-> int64 conversion and makes gcc turn
       the one-step corrections into branches, so the passes are written with AVX-512 and
       AVX2 intrinsics and picked at run time (__builtin_cpu_supports). Every correction is
       a lane mask; the counts are exact as in threshold.count_one (t * (1/lam), one step
       each way, below budget 2**51). Elsewhere (other CPUs, MSVC) the scalar loops run. */

    /* Whether the bounds of the allocation this thread runs hold one minimum and one maximum
       for every worker (bounds given as numbers, which the caller vouches for: the Scratch's
       allocate_bounded with shared=True). The vector passes then take them once, not a
       vector of each a step, which on AVX2 converted each to double on the way (a fifth of
       a count's instructions); the scalar code reads the arrays, the minimum through
       fastata_low1. The validation pass checks lo[0] and hi[0] as it would any worker's
       before a later pass relies on them. On every CPU: the minimum of shared bounds holds
       for the available workers alone. */
    #if defined(_MSC_VER)
    static __declspec(thread) int fastata_shared_bounds = 0;
    #else
    static __thread int fastata_shared_bounds = 0;
    #endif
    #define FASTATA_SET_SHARED_BOUNDS(on) (fastata_shared_bounds = (on))

    /* Worker i's minimum: lo[i], or, with shared bounds, lo[0] for an available worker and 0
       for an unavailable one, as a single min_tasks means (threshold.minimum_of): the caller
       need not look at lam first. available: lam != +inf, or 1/lam != 0 where a pass reads
       only the stored inverse. */
    static inline int64_t fastata_low_at(const int64_t *lo, ptrdiff_t i, int shared, int available) {
        return shared && !available ? 0 : lo[i];
    }

    /* fastata_low_at with this thread's flag (a loop that vectorises reads it once, before it:
       its stores may alias it, for all the compiler knows) */
    static inline int64_t fastata_low1(const int64_t *lo, ptrdiff_t i, int available) {
        return fastata_low_at(lo, i, fastata_shared_bounds, available);
    }

    /* The AVX2 passes read an integer from the bits of 2**52 + c: they need c < 2**52. */
    #define FASTATA_TWO52 4503599627370496.0

    /* threshold.unit_slack_counts and unit_slack_write, a worker at a time (the SIMD passes'
       tails, and the whole pass elsewhere): its flags (a time or bound to reject, more room
       than one task, a minimum past the budget), its minimum, whether it has room for one
       task, and its key, +inf without. */
    static inline int64_t fastata_unit_one(double x, const int64_t *lo, const int64_t *hi, ptrdiff_t i,
                                           int shared, int64_t budget, int64_t *low, int64_t *has,
                                           double *p) {
        const int64_t available = x < HUGE_VAL;
        /* shared: lo[0] and hi[0] alone (the selection without bounds passes one number each) */
        const int64_t l = shared ? (available ? lo[0] : 0) : lo[i];
        const int64_t room = (int64_t)((uint64_t)(shared ? hi[0] : hi[i]) - (uint64_t)l);  /* wraps, as the vector lanes do */
        *has = (room == 1) & available;
        *low = l;
        *p = *has ? (double)((l < budget ? l : budget) + 1) * x : HUGE_VAL;
        return (int64_t)(!(x >= 0.0)) | (l < 0) | (room < 0) | ((room > 1) & available)
               | ((l > 0) & !available) | ((l > budget) & available);
    }

    /* The counts pass from worker start on, added to counts[0..7] and sums (flagged, taken held
       at budget + 1, workers with room), *least the least time seen. */
    static void fastata_unit_counts_from(const double *lam, const int64_t *lo, const int64_t *hi,
                                         ptrdiff_t start, ptrdiff_t n, int64_t budget, const double *cuts,
                                         int64_t *counts, int64_t *sums, double *least) {
        const int shared = fastata_shared_bounds;
        const int64_t limit = budget + 1;
        int64_t low, has;
        double p;
        for (ptrdiff_t i = start; i < n; i++) {
            const double x = lam[i];
            sums[0] |= fastata_unit_one(x, lo, hi, i, shared, budget, &low, &has, &p);
            if (x < HUGE_VAL) {
                const int64_t add = low < limit ? (low > 0 ? low : 0) : limit;
                sums[1] = sums[1] + add < limit ? sums[1] + add : limit;
            }
            sums[2] += has;
            *least = x < *least ? x : *least;
            for (int k = 0; k < 8; k++)
                counts[k] += p < cuts[k];
        }
    }

    /* threshold.few_times_blocks from block start on (a multiple of FASTATA_FEW_BLOCK), the
       counts so far in c[0..7]: returns n, or the start of the first block that holds a time
       outside table[0..7] (distinct times, NaN in the slots not used: a worker matches one at
       most, so one that matches none leaves the counts short of the workers seen). */
    #define FASTATA_FEW_BLOCK 256
    static ptrdiff_t fastata_few_counts_from(const double *lam, ptrdiff_t start, ptrdiff_t n,
                                             const double *table, int64_t *c, int64_t *running) {
        for (; start < n; start += FASTATA_FEW_BLOCK) {
            const ptrdiff_t stop = start + FASTATA_FEW_BLOCK < n ? start + FASTATA_FEW_BLOCK : n;
            int64_t seen = 0;
            for (ptrdiff_t i = start; i < stop; i++) {
                const double x = lam[i];
                for (int j = 0; j < 8; j++)
                    c[j] += x == table[j];
            }
            for (int j = 0; j < 8; j++)
                seen += c[j];
            if (seen < stop)
                return start;
            for (int j = 0; j < 8; j++)
                running[8 * (start / FASTATA_FEW_BLOCK) + j] = c[j];
        }
        return n;
    }

    /* threshold.few_times_blocks_checked from block start on: the counts as above, each
       worker's bounds (lo[i], min(hi[i], budget)) checked against its time's (bounds[j],
       bounds[8 + j]); -1 where a worker's differ */
    static ptrdiff_t fastata_few_counts_checked_from(const double *lam, const int64_t *lo, const int64_t *hi,
                                                     int64_t budget, ptrdiff_t start, ptrdiff_t n,
                                                     const double *table, const int64_t *bounds, int64_t *c,
                                                     int64_t *running) {
        for (; start < n; start += FASTATA_FEW_BLOCK) {
            const ptrdiff_t stop = start + FASTATA_FEW_BLOCK < n ? start + FASTATA_FEW_BLOCK : n;
            int64_t seen = 0, wrong = 0;
            for (ptrdiff_t i = start; i < stop; i++) {
                const double x = lam[i];
                const int64_t high = hi[i] < budget ? hi[i] : budget;
                int64_t want_low = -1, want_high = -1;
                for (int j = 0; j < 8; j++) {
                    const int at = x == table[j];
                    c[j] += at;
                    want_low = at ? bounds[j] : want_low;
                    want_high = at ? bounds[8 + j] : want_high;
                }
                wrong |= (lo[i] != want_low) | (high != want_high);
            }
            for (int j = 0; j < 8; j++)
                seen += c[j];
            if (seen < stop)
                return start;
            if (wrong)
                return -1;
            for (int j = 0; j < 8; j++)
                running[8 * (start / FASTATA_FEW_BLOCK) + j] = c[j];
        }
        return n;
    }

    /* Whether every available time of the table has one pair of bounds (pairs[0..1]); the
       unavailable workers' pair (pairs[2..3]), where the table holds +inf, may be another */
    static int fastata_few_bounds_uniform(const double *table, const int64_t *bounds, int64_t *pairs) {
        int seen = 0;
        pairs[0] = pairs[1] = pairs[2] = pairs[3] = -1;
        for (int j = 0; j < 8; j++) {
            if (table[j] == HUGE_VAL) {
                pairs[2] = bounds[j];
                pairs[3] = bounds[8 + j];
            } else if (table[j] == table[j]) {  /* not an empty (NaN) slot */
                if (seen && (bounds[j] != pairs[0] || bounds[8 + j] != pairs[1]))
                    return 0;
                pairs[0] = bounds[j];
                pairs[1] = bounds[8 + j];
                seen = 1;
            }
        }
        return 1;
    }

    /* threshold.few_times_write over workers start..stop: each one's tasks by its time */
    static void fastata_few_write_from(const double *lam, ptrdiff_t start, ptrdiff_t stop, const double *table,
                                       const int64_t *tasks, int64_t *out) {
        for (ptrdiff_t i = start; i < stop; i++) {
            const double x = lam[i];
            int64_t o = 0;
            for (int j = 7; j >= 0; j--)
                o = x == table[j] ? tasks[j] : o;
            out[i] = o;
        }
    }

    /* threshold.unit_slack_write_tied from worker start on, rank - taken of the workers at cut
       still to take; returns how many it took. */
    static int64_t fastata_unit_tied_from(const double *lam, ptrdiff_t start, ptrdiff_t n, int64_t low,
                                          double level, double cut, int64_t rank, int64_t taken,
                                          int64_t *out) {
        for (ptrdiff_t i = start; i < n; i++) {
            const double x = lam[i], p = level * x;
            const int64_t at = p == cut && taken < rank;
            out[i] = (x < HUGE_VAL ? low : 0) + (p < cut) + at;
            taken += at;
        }
        return taken;
    }

    /* threshold.unit_slack_write_tied_level from worker start on (bounds as arrays), rank - taken
       of the workers at cut still to take, *level the minimum of those seen (-1 before the
       first); returns how many it took, or -1 where a worker at cut has another minimum. */
    static int64_t fastata_unit_tied_level_from(const double *lam, const int64_t *lo, const int64_t *hi,
                                                ptrdiff_t start, ptrdiff_t n, int64_t budget, double cut,
                                                int64_t rank, int64_t taken, int64_t *level, int64_t *out) {
        int64_t low, has;
        double p;
        for (ptrdiff_t i = start; i < n; i++) {
            fastata_unit_one(lam[i], lo, hi, i, 0, budget, &low, &has, &p);
            out[i] = low + (p < cut);
            if (p == cut) {
                if (*level >= 0 && low != *level)
                    return -1;
                *level = low;
                if (taken < rank) {
                    out[i] += 1;
                    taken += 1;
                }
            }
        }
        return taken;
    }

    /* The write pass from worker start on; returns the new length of idx. */
    static ptrdiff_t fastata_unit_write_from(const double *lam, const int64_t *lo, const int64_t *hi,
                                             ptrdiff_t start, ptrdiff_t n, int64_t budget, double cut_lo,
                                             double cut_hi, int64_t *out, int64_t *idx, ptrdiff_t m) {
        const int shared = fastata_shared_bounds;
        int64_t low, has;
        double p;
        for (ptrdiff_t i = start; i < n; i++) {
            fastata_unit_one(lam[i], lo, hi, i, shared, budget, &low, &has, &p);
            out[i] = low + (p < cut_lo);
            if (p >= cut_lo && p < cut_hi)
                idx[m++] = i;
        }
        return m;
    }


    static inline double fastata_count1(double x, double v, double t, double cap) {
        double q = t * v, c;
        c = (double)(int64_t)(q < cap ? q : cap);  /* q >= 0: truncation floors */
        c += (c < cap) & ((c + 1.0) * x <= t);
        c -= c * x > t;
        return c;
    }

    /* Worker i's cap as a double: min(max_tasks_i, budget), budget without bounds (hi NULL). */
    static inline double fastata_cap1(const int64_t *hi, ptrdiff_t i, int64_t budget) {
        return (double)(hi == NULL || hi[i] > budget ? budget : hi[i]);
    }

    static double fastata_count_scalar(const double *lam, const double *inv, int64_t *out,
                                       ptrdiff_t n, double t, double cap) {
        double total = 0.0;
        for (ptrdiff_t i = 0; i < n; i++) {
            double c = fastata_count1(lam[i], inv[i], t, cap);
            out[i] = (int64_t)c;
            total += c;
        }
        return total;
    }

    /* threshold.inverse_pass: inv = 1/lam, or 0 where lam > zero_above; returns sum(1/lam)
       over lam > 0; counts[0..2] += entries not >= 0, zeros, entries < inf; estimate[0] +=
       sum_i trunc(min(s * inv[i], cap)), the estimate pass without bounds at s (cap = budget),
       which the divisions leave time for, estimate[1] the same at s2; *top = the largest
       1/lam, if above it (NaN never). */
    static double fastata_inverse_scalar(const double *lam, double *inv, ptrdiff_t n,
                                         int64_t *counts, double s, double s2, double cap,
                                         double zero_above, double *estimate, double *top) {
        double sum = 0.0, est = 0.0, est2 = 0.0, most = *top;
        for (ptrdiff_t i = 0; i < n; i++) {
            double x = lam[i], v = 1.0 / (x + 0.0), q;  /* lam = -0.0: +inf (threshold.inverse_pass) */
            inv[i] = x > zero_above ? 0.0 : v;
            sum += x > 0.0 ? v : 0.0;  /* lam = 0 left out (threshold.inverse_pass) */
            counts[0] += !(x >= 0.0);
            counts[1] += x == 0.0;
            counts[2] += x < HUGE_VAL;
            q = s * inv[i];
            est += trunc(q < cap ? q : cap);
            q = s2 * inv[i];
            est2 += trunc(q < cap ? q : cap);
            most = v > most ? v : most;
        }
        estimate[0] += est;
        estimate[1] += est2;
        *top = most;
        return sum;
    }

    /* out[i] = lo[i] for every worker, and the index (from base) of each worker with a key
       above lo[i] at or below hi_t, and at most min(maxima[i], budget) (maxima NULL: budget),
       appended to idx; returns how many. idx may be lo itself: an index is written behind
       the entry it came from, never ahead. */
    static ptrdiff_t fastata_boundary_scalar(const double *lam, const int64_t *lo, const int64_t *maxima,
                                             int64_t *out, ptrdiff_t n, double hi_t, int64_t budget,
                                             int64_t *idx, ptrdiff_t base) {
        ptrdiff_t m = 0;
        for (ptrdiff_t i = 0; i < n; i++) {
            double next = (double)(lo[i] + 1);
            double cap = fastata_cap1(maxima, i, budget);
            out[i] = lo[i];
            if (next <= cap && next * lam[i] <= hi_t)
                idx[m++] = base + i;
        }
        return m;
    }

    /* The workers with lam <= cut (threshold.list_candidates): their indices (from base) and
       times appended to idx and times after the m listed before; returns the new count, or
       -1 where a lam is not above 0 (a zero, NaN, a negative time) or more than most are
       listed. */
    static ptrdiff_t fastata_candidates_scalar(const double *lam, ptrdiff_t n, double cut, ptrdiff_t most,
                                               int64_t *idx, double *times, ptrdiff_t base, ptrdiff_t m) {
        for (ptrdiff_t i = 0; i < n; i++) {
            double x = lam[i];
            if (!(x > 0.0))
                return -1;
            if (x <= cut) {
                idx[m] = base + i;
                times[m++] = x;
            }
        }
        return m <= most ? m : -1;
    }

    /* fastata_count_scalar, and ext[0], ext[1]: the smallest product of a key above t
       (HUGE_VAL if none) and the largest at or below t (0 if none), folded in. */
    static double fastata_extremes_scalar(const double *lam, const double *inv, int64_t *out,
                                          ptrdiff_t n, double t, double cap, double *ext) {
        double total = 0.0;
        for (ptrdiff_t i = 0; i < n; i++) {
            double x = lam[i], c = fastata_count1(x, inv[i], t, cap);
            double p = c < cap ? (c + 1.0) * x : HUGE_VAL, q = c > 0.0 ? c * x : 0.0;
            out[i] = (int64_t)c;
            total += c;
            ext[0] = p < ext[0] ? p : ext[0];
            ext[1] = q > ext[1] ? q : ext[1];
        }
        return total;
    }

    /* out[i] = keys below t*, or -j for a worker with a key at t* at level j (threshold.
       split_at_threshold); returns the keys below; sums[0] += keys at t*, sums[1], sums[2]:
       min and max level (as floats), sums[3] += the sum of the levels. */
    static double fastata_split_scalar(const double *lam, const double *inv, const int64_t *lo,
                                       const int64_t *hi, int64_t *out,
                                       ptrdiff_t n, double t, int64_t budget, double *sums) {
        double taken = 0.0;
        for (ptrdiff_t i = 0; i < n; i++) {
            double x = lam[i];
            double low = lo == NULL ? 0.0 : (double)fastata_low1(lo, i, x != HUGE_VAL);
            double cap = fastata_cap1(hi, i, budget);
            double c = fastata_count1(x, inv[i], t, cap);
            c = c > low ? c : low;
            int tied = (c > low) & (c * x == t);
            out[i] = tied ? -(int64_t)c : (int64_t)c;
            taken += c - tied;
            sums[0] += tied;
            sums[3] += tied ? c : 0.0;
            if (tied) {
                sums[1] = c < sums[1] ? c : sums[1];
                sums[2] = c > sums[2] ? c : sums[2];
            }
        }
        return taken;
    }

    #if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    #include <immintrin.h>
    #define FASTATA_X86_SIMD 1
    /* Called by the passes below before their scalar tails (legacy SSE code). GCC owes a
       vzeroupper there but leaves it out when the callee is a static function of this file
       (its interprocedural register allocation sees the callee keep off the upper halves),
       and on Intel CPUs SSE code run with the upper halves dirty waits on them, in the tail
       and in the caller's code after the pass: a call over 51 workers took 1.35 us with
       them dirty, 0.92 us clean. */
    #define FASTATA_CLEAN_UPPER() _mm256_zeroupper()

    /* How a vector pass reads the bounds: none (hi NULL), a vector a step, or once. */
    enum { FASTATA_UNBOUNDED = 0, FASTATA_PER_WORKER = 1, FASTATA_SHARED = 2 };
    static inline int fastata_bounds_kind(const int64_t *hi) {
        return hi == NULL ? FASTATA_UNBOUNDED : fastata_shared_bounds ? FASTATA_SHARED : FASTATA_PER_WORKER;
    }

    /* min(max_tasks, budget) of every worker, for the passes over shared bounds (whose
       min_tasks is lo[0]). */
    static inline double fastata_shared_cap(const int64_t *hi, int64_t budget) {
        return (double)(hi[0] < budget ? hi[0] : budget);
    }

    /* The shared bounds as the vectors a pass clamps its counts with (called where the pass
       has a whole vector of workers: lo[0] and hi[0] exist). */
    __attribute__((target("avx512f,avx512dq")))
    static inline void fastata_shared8(const int64_t *lo, const int64_t *hi, int64_t budget, __m512d *cap,
                                       __m512d *low) {
        *cap = _mm512_set1_pd(fastata_shared_cap(hi, budget));
        *low = _mm512_set1_pd((double)lo[0]);
    }

    __attribute__((target("avx2")))
    static inline void fastata_shared4(const int64_t *lo, const int64_t *hi, int64_t budget, __m256d *cap,
                                       __m256d *low) {
        *cap = _mm256_set1_pd(fastata_shared_cap(hi, budget));
        *low = _mm256_set1_pd((double)lo[0]);
    }

    /* The shared minimum (fastata_shared8) of the available workers among 8, 0 for the others
       (fastata_low1): where x != gone, for their times x (gone = +inf) or their stored
       inverses (gone = 0). */
    __attribute__((target("avx512f,avx512dq")))
    static inline __m512d fastata_low8(__m512d low, __m512d x, double gone) {
        return _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(x, _mm512_set1_pd(gone), _CMP_NEQ_UQ), low);
    }

    __attribute__((target("avx2")))
    static inline __m256d fastata_low4(__m256d low, __m256d x, double gone) {
        return _mm256_and_pd(_mm256_cmp_pd(x, _mm256_set1_pd(gone), _CMP_NEQ_UQ), low);
    }

    /* The exact count of threshold.count_one, 8 lanes, and the product of the count before its
       last step down: that product equals t* exactly where the count has its last key at t*
       (a step down means it is above t*, and then the key below cannot be at t*: the count
       from t * fl(1/x) would be under it, not at it). */
    __attribute__((target("avx512f,avx512dq")))
    static inline __m512d fastata_count_product8(__m512d x, __m512d v, __m512d vt, __m512d vcap,
                                                 __m512d *product) {
        const __m512d one = _mm512_set1_pd(1.0);
        __m512d c = _mm512_roundscale_pd(_mm512_min_pd(_mm512_mul_pd(vt, v), vcap),
                                         _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
        __mmask8 up = _mm512_cmp_pd_mask(c, vcap, _CMP_LT_OQ);
        up = _mm512_mask_cmp_pd_mask(up, _mm512_mul_pd(_mm512_add_pd(c, one), x), vt, _CMP_LE_OQ);
        c = _mm512_mask_add_pd(c, up, c, one);
        *product = _mm512_mul_pd(c, x);
        return _mm512_mask_sub_pd(c, _mm512_cmp_pd_mask(*product, vt, _CMP_GT_OQ), c, one);
    }

    /* threshold.count_one, 8 lanes */
    __attribute__((target("avx512f,avx512dq")))
    static inline __m512d fastata_count8(__m512d x, __m512d v, __m512d vt, __m512d vcap) {
        __m512d product;
        return fastata_count_product8(x, v, vt, vcap, &product);
    }

    __attribute__((target("avx2")))
    static inline __m256d fastata_count_product4(__m256d x, __m256d v, __m256d vt, __m256d vcap,
                                                 __m256d *product) {
        const __m256d one = _mm256_set1_pd(1.0);
        __m256d c = _mm256_round_pd(_mm256_min_pd(_mm256_mul_pd(vt, v), vcap),
                                    _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
        __m256d up = _mm256_and_pd(
            _mm256_cmp_pd(c, vcap, _CMP_LT_OQ),
            _mm256_cmp_pd(_mm256_mul_pd(_mm256_add_pd(c, one), x), vt, _CMP_LE_OQ));
        c = _mm256_add_pd(c, _mm256_and_pd(up, one));
        *product = _mm256_mul_pd(c, x);
        return _mm256_sub_pd(c, _mm256_and_pd(_mm256_cmp_pd(*product, vt, _CMP_GT_OQ), one));
    }

    __attribute__((target("avx2")))
    static inline __m256d fastata_count4(__m256d x, __m256d v, __m256d vt, __m256d vcap) {
        __m256d product;  /* fastata_count8's twin */
        return fastata_count_product4(x, v, vt, vcap, &product);
    }

    /* int64 lanes of a double holding an integer in [0, 2**52): the bits of 2**52 + c. */
    __attribute__((target("avx2")))
    static inline __m256i fastata_to_int4(__m256d c) {
        const __m256d two52 = _mm256_set1_pd(FASTATA_TWO52);
        return _mm256_sub_epi64(_mm256_castpd_si256(_mm256_add_pd(c, two52)),
                                _mm256_castpd_si256(two52));
    }

    /* A double of an int64 in [0, 2**52): the bits of 2**52 + k, minus 2**52. */
    __attribute__((target("avx2")))
    static inline __m256d fastata_to_double4(__m256i k) {
        const __m256d two52 = _mm256_set1_pd(FASTATA_TWO52);
        return _mm256_sub_pd(_mm256_castsi256_pd(_mm256_add_epi64(k, _mm256_castpd_si256(two52))), two52);
    }

    /* Eight, four workers' caps as doubles: min(max_tasks, budget), in every bounded pass. */
    __attribute__((target("avx512f,avx512dq")))
    static inline __m512d fastata_cap8(const int64_t *hi, __m512i vbudget) {
        return _mm512_cvtepi64_pd(_mm512_min_epi64(_mm512_loadu_si512((const void *)hi), vbudget));
    }

    __attribute__((target("avx2")))
    static inline __m256d fastata_cap4(const int64_t *hi, __m256i vbudget) {
        __m256i h = _mm256_loadu_si256((const __m256i *)hi);
        return fastata_to_double4(_mm256_blendv_epi8(h, vbudget, _mm256_cmpgt_epi64(h, vbudget)));
    }

    /* Horizontal reductions of the AVX2 passes' accumulators, in one fixed order. */
    __attribute__((target("avx2")))
    static inline double fastata_sum4(__m256d v) {
        double lanes[4];
        _mm256_storeu_pd(lanes, v);
        return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
    }

    __attribute__((target("avx2")))
    static inline int64_t fastata_isum4(__m256i v) {
        int64_t lanes[4];
        _mm256_storeu_si256((__m256i *)lanes, v);
        return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
    }

    __attribute__((target("avx2")))
    static inline double fastata_min4(__m256d v, double start) {
        double lanes[4];
        _mm256_storeu_pd(lanes, v);
        for (int k = 0; k < 4; k++)
            start = lanes[k] < start ? lanes[k] : start;
        return start;
    }

    __attribute__((target("avx2")))
    static inline double fastata_max4(__m256d v, double start) {
        double lanes[4];
        _mm256_storeu_pd(lanes, v);
        for (int k = 0; k < 4; k++)
            start = lanes[k] > start ? lanes[k] : start;
        return start;
    }

    __attribute__((target("avx512f,avx512dq")))
    static double fastata_count_avx512(const double *lam, const double *inv, int64_t *out,
                                       ptrdiff_t n, double t, double cap) {
        const __m512d vt = _mm512_set1_pd(t), vcap = _mm512_set1_pd(cap);
        __m512d total = _mm512_setzero_pd();
        ptrdiff_t i = 0;
        for (; i + 8 <= n; i += 8) {
            __m512d c = fastata_count8(_mm512_loadu_pd(lam + i), _mm512_loadu_pd(inv + i), vt, vcap);
            _mm512_storeu_si512((void *)(out + i), _mm512_cvttpd_epi64(c));
            total = _mm512_add_pd(total, c);
        }
        double head = _mm512_reduce_add_pd(total);
        FASTATA_CLEAN_UPPER();
        return head + fastata_count_scalar(lam + i, inv + i, out + i, n - i, t, cap);
    }

    __attribute__((target("avx2")))
    static double fastata_count_avx2(const double *lam, const double *inv, int64_t *out,
                                     ptrdiff_t n, double t, double cap) {
        const __m256d vt = _mm256_set1_pd(t), vcap = _mm256_set1_pd(cap);
        __m256d total = _mm256_setzero_pd();
        ptrdiff_t i = 0;
        for (; i + 4 <= n; i += 4) {
            __m256d c = fastata_count4(_mm256_loadu_pd(lam + i), _mm256_loadu_pd(inv + i), vt, vcap);
            _mm256_storeu_si256((__m256i *)(out + i), fastata_to_int4(c));
            total = _mm256_add_pd(total, c);
        }
        double head = fastata_sum4(total);
        FASTATA_CLEAN_UPPER();
        return head + fastata_count_scalar(lam + i, inv + i, out + i, n - i, t, cap);
    }

    /* One vector of the validation pass (threshold.inverse_terms): returns 1/lam (a negative
       zero divides as +0: +inf), and adds to the sum over lam > 0, the counts of entries not
       >= 0 (NaN included), zeros and entries < inf, and the largest 1/lam (a NaN keeps it). */
    __attribute__((target("avx512f,avx512dq")))
    static inline __attribute__((always_inline)) __m512d
    fastata_inverse8(__m512d x, __m512d *sum, __m512i *invalid, __m512i *zeros, __m512i *finite,
                     __m512d *most) {
        const __m512d zero = _mm512_setzero_pd(), inf = _mm512_set1_pd(HUGE_VAL);
        const __m512i unit = _mm512_set1_epi64(1);
        __m512d v = _mm512_div_pd(_mm512_set1_pd(1.0), _mm512_add_pd(x, zero));
        *sum = _mm512_mask_add_pd(*sum, _mm512_cmp_pd_mask(x, zero, _CMP_GT_OQ), *sum, v);
        *invalid = _mm512_mask_add_epi64(*invalid, _mm512_cmp_pd_mask(x, zero, _CMP_NGE_UQ), *invalid, unit);
        *zeros = _mm512_mask_add_epi64(*zeros, _mm512_cmp_pd_mask(x, zero, _CMP_EQ_OQ), *zeros, unit);
        *finite = _mm512_mask_add_epi64(*finite, _mm512_cmp_pd_mask(x, inf, _CMP_LT_OQ), *finite, unit);
        *most = _mm512_max_pd(v, *most);
        return v;
    }

    __attribute__((target("avx2")))
    static inline __attribute__((always_inline)) __m256d
    fastata_inverse4(__m256d x, __m256d *sum, __m256i *invalid, __m256i *zeros, __m256i *finite,
                     __m256d *most) {
        /* A true comparison is all ones, -1 as an integer: subtracting it counts one. */
        const __m256d zero = _mm256_setzero_pd(), inf = _mm256_set1_pd(HUGE_VAL);
        __m256d v = _mm256_div_pd(_mm256_set1_pd(1.0), _mm256_add_pd(x, zero));
        *sum = _mm256_add_pd(*sum, _mm256_and_pd(_mm256_cmp_pd(x, zero, _CMP_GT_OQ), v));
        *invalid = _mm256_sub_epi64(*invalid, _mm256_castpd_si256(_mm256_cmp_pd(x, zero, _CMP_NGE_UQ)));
        *zeros = _mm256_sub_epi64(*zeros, _mm256_castpd_si256(_mm256_cmp_pd(x, zero, _CMP_EQ_OQ)));
        *finite = _mm256_sub_epi64(*finite, _mm256_castpd_si256(_mm256_cmp_pd(x, inf, _CMP_LT_OQ)));
        *most = _mm256_max_pd(v, *most);
        return v;
    }

    /* The SIMD validation passes come in two: with the comparison with zero_above, and
       without it where it is +inf (most calls: it would cost them 2-6 %); and in two again:
       with the estimate at at2 > 0, and without (most calls: 2-5 %). */
    #define FASTATA_INVERSE_SPECIALISED(body)                                                  \
        if (zero_above < HUGE_VAL)                                                            \
            return at2 > 0.0 ? body(lam, inv, n, counts, at, at2, cap, zero_above, estimate, top, 1, 1) \
                             : body(lam, inv, n, counts, at, at2, cap, zero_above, estimate, top, 1, 0); \
        return at2 > 0.0 ? body(lam, inv, n, counts, at, at2, cap, zero_above, estimate, top, 0, 1)     \
                         : body(lam, inv, n, counts, at, at2, cap, zero_above, estimate, top, 0, 0);

    __attribute__((target("avx512f,avx512dq")))
    static inline __attribute__((always_inline)) double
    fastata_inverse_avx512_body(const double *lam, double *inv, ptrdiff_t n, int64_t *counts, double at,
                                double at2, double cap, double zero_above, double *estimate, double *top,
                                const int zeroing, const int paired) {
        const __m512d zero = _mm512_setzero_pd(), vat = _mm512_set1_pd(at), vcap = _mm512_set1_pd(cap);
        const __m512d vabove = _mm512_set1_pd(zero_above), vat2 = _mm512_set1_pd(at2);
        __m512d s = zero, est = zero, est2 = zero, most = _mm512_set1_pd(*top);
        __m512i invalid = _mm512_setzero_si512(), zeros = invalid, finite = invalid;
        ptrdiff_t i = 0;
        for (; i + 8 <= n; i += 8) {
            __m512d x = _mm512_loadu_pd(lam + i);
            __m512d v = fastata_inverse8(x, &s, &invalid, &zeros, &finite, &most);
            if (zeroing)
                v = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(x, vabove, _CMP_GT_OQ), v, zero);
            _mm512_storeu_pd(inv + i, v);
            est = _mm512_add_pd(est, _mm512_roundscale_pd(_mm512_min_pd(_mm512_mul_pd(vat, v), vcap),
                                                          _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC));
            if (paired)
                est2 = _mm512_add_pd(est2, _mm512_roundscale_pd(_mm512_min_pd(_mm512_mul_pd(vat2, v), vcap),
                                                                _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC));
        }
        counts[0] += _mm512_reduce_add_epi64(invalid);
        counts[1] += _mm512_reduce_add_epi64(zeros);
        counts[2] += _mm512_reduce_add_epi64(finite);
        estimate[0] += _mm512_reduce_add_pd(est);
        estimate[1] += _mm512_reduce_add_pd(est2);
        *top = _mm512_reduce_max_pd(most);
        double head = _mm512_reduce_add_pd(s);
        FASTATA_CLEAN_UPPER();
        return head + fastata_inverse_scalar(lam + i, inv + i, n - i, counts, at, at2, cap, zero_above, estimate, top);
    }

    __attribute__((target("avx512f,avx512dq")))
    static double fastata_inverse_avx512(const double *lam, double *inv, ptrdiff_t n,
                                         int64_t *counts, double at, double at2, double cap,
                                         double zero_above, double *estimate, double *top) {
        FASTATA_INVERSE_SPECIALISED(fastata_inverse_avx512_body)
    }

    __attribute__((target("avx2")))
    static inline __attribute__((always_inline)) double
    fastata_inverse_avx2_body(const double *lam, double *inv, ptrdiff_t n, int64_t *counts, double at,
                              double at2, double cap, double zero_above, double *estimate, double *top,
                              const int zeroing, const int paired) {
        const __m256d zero = _mm256_setzero_pd(), vat = _mm256_set1_pd(at), vcap = _mm256_set1_pd(cap);
        const __m256d vabove = _mm256_set1_pd(zero_above), vat2 = _mm256_set1_pd(at2);
        __m256d s = zero, est = zero, est2 = zero, most = _mm256_set1_pd(*top);
        __m256i invalid = _mm256_setzero_si256(), zeros = invalid, finite = invalid;
        ptrdiff_t i = 0;
        for (; i + 4 <= n; i += 4) {
            __m256d x = _mm256_loadu_pd(lam + i);
            __m256d v = fastata_inverse4(x, &s, &invalid, &zeros, &finite, &most);
            if (zeroing)
                v = _mm256_andnot_pd(_mm256_cmp_pd(x, vabove, _CMP_GT_OQ), v);
            _mm256_storeu_pd(inv + i, v);
            est = _mm256_add_pd(est, _mm256_round_pd(_mm256_min_pd(_mm256_mul_pd(vat, v), vcap),
                                                     _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC));
            if (paired)
                est2 = _mm256_add_pd(est2, _mm256_round_pd(_mm256_min_pd(_mm256_mul_pd(vat2, v), vcap),
                                                           _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC));
        }
        counts[0] += fastata_isum4(invalid);
        counts[1] += fastata_isum4(zeros);
        counts[2] += fastata_isum4(finite);
        estimate[0] += fastata_sum4(est);
        estimate[1] += fastata_sum4(est2);
        *top = fastata_max4(most, *top);
        double head = fastata_sum4(s);
        FASTATA_CLEAN_UPPER();
        return head + fastata_inverse_scalar(lam + i, inv + i, n - i, counts, at, at2, cap, zero_above, estimate, top);
    }

    __attribute__((target("avx2")))
    static double fastata_inverse_avx2(const double *lam, double *inv, ptrdiff_t n,
                                       int64_t *counts, double at, double at2, double cap,
                                       double zero_above, double *estimate, double *top) {
        FASTATA_INVERSE_SPECIALISED(fastata_inverse_avx2_body)
    }

    __attribute__((target("avx512f,avx512dq")))
    static ptrdiff_t fastata_boundary_avx512(const double *lam, const int64_t *lo, const int64_t *maxima,
                                             int64_t *out, ptrdiff_t n, double hi_t, int64_t budget,
                                             int64_t *idx) {
        const __m512d vhi = _mm512_set1_pd(hi_t), one = _mm512_set1_pd(1.0);
        const __m512i vbudget = _mm512_set1_epi64(budget);
        __m512d vcap = _mm512_set1_pd((double)budget);
        ptrdiff_t i = 0, m = 0;
        for (; i + 8 <= n; i += 8) {
            if (maxima != NULL)
                vcap = fastata_cap8(maxima + i, vbudget);
            __m512i below = _mm512_loadu_si512((const void *)(lo + i));
            __m512d next = _mm512_add_pd(_mm512_cvtepi64_pd(below), one);
            __mmask8 hit = _mm512_cmp_pd_mask(next, vcap, _CMP_LE_OQ);
            hit = _mm512_mask_cmp_pd_mask(hit, _mm512_mul_pd(next, _mm512_loadu_pd(lam + i)), vhi,
                                          _CMP_LE_OQ);
            _mm512_storeu_si512((void *)(out + i), below);
            for (unsigned bits = hit; bits; bits &= bits - 1)  /* rare: a few workers in all */
                idx[m++] = i + __builtin_ctz(bits);
        }
        FASTATA_CLEAN_UPPER();
        return m + fastata_boundary_scalar(lam + i, lo + i, maxima ? maxima + i : NULL, out + i, n - i,
                                           hi_t, budget, idx + m, i);
    }

    __attribute__((target("avx2")))
    static ptrdiff_t fastata_boundary_avx2(const double *lam, const int64_t *lo, const int64_t *maxima,
                                           int64_t *out, ptrdiff_t n, double hi_t, int64_t budget,
                                           int64_t *idx) {
        /* int64 -> double without AVX-512: fastata_to_double4 (lo < 2**52). */
        const __m256d vhi = _mm256_set1_pd(hi_t), one = _mm256_set1_pd(1.0);
        const __m256i vbudget = _mm256_set1_epi64x(budget);
        __m256d vcap = _mm256_set1_pd((double)budget);
        ptrdiff_t i = 0, m = 0;
        for (; i + 4 <= n; i += 4) {
            if (maxima != NULL)
                vcap = fastata_cap4(maxima + i, vbudget);
            __m256i below = _mm256_loadu_si256((const __m256i *)(lo + i));
            __m256d next = _mm256_add_pd(fastata_to_double4(below), one);
            __m256d hit = _mm256_and_pd(
                _mm256_cmp_pd(next, vcap, _CMP_LE_OQ),
                _mm256_cmp_pd(_mm256_mul_pd(next, _mm256_loadu_pd(lam + i)), vhi, _CMP_LE_OQ));
            _mm256_storeu_si256((__m256i *)(out + i), below);
            for (unsigned bits = _mm256_movemask_pd(hit); bits; bits &= bits - 1)
                idx[m++] = i + __builtin_ctz(bits);
        }
        FASTATA_CLEAN_UPPER();
        return m + fastata_boundary_scalar(lam + i, lo + i, maxima ? maxima + i : NULL, out + i, n - i,
                                           hi_t, budget, idx + m, i);
    }

    /* Blocks of 32 workers, as threshold.list_candidates: the comparisons as bits, and
       only the candidates visited (a few in all). The body of both vector levels: VEC
       WIDTH lanes, SET1 and LOAD its intrinsics, BITS(x, y, predicate) the comparison's
       lanes as bits. */
    #define FASTATA_CANDIDATES_BODY(VEC, WIDTH, SET1, LOAD, BITS)                               \
        const VEC vcut = SET1(cut), zero = SET1(0.0);                                           \
        ptrdiff_t i = 0, m = 0;                                                                 \
        for (; i + 32 <= n; i += 32) {                                                          \
            uint32_t found = 0, flagged = 0;                                                    \
            for (int k = 0; k < 32; k += WIDTH) {                                               \
                VEC x = LOAD(lam + i + k);                                                      \
                found |= (uint32_t)BITS(x, vcut, _CMP_LE_OQ) << k;                              \
                flagged |= (uint32_t)BITS(x, zero, _CMP_NGT_UQ) << k;                           \
            }                                                                                   \
            for (; found; found &= found - 1) {                                                 \
                ptrdiff_t j = i + __builtin_ctz(found);                                         \
                idx[m] = j;                                                                     \
                times[m++] = lam[j];                                                            \
            }                                                                                   \
            if (flagged || m > most) {                                                          \
                FASTATA_CLEAN_UPPER();                                                          \
                return -1;                                                                      \
            }                                                                                   \
        }                                                                                       \
        FASTATA_CLEAN_UPPER();                                                                  \
        return fastata_candidates_scalar(lam + i, n - i, cut, most, idx, times, i, m);

    #define FASTATA_BITS4(x, y, predicate) _mm256_movemask_pd(_mm256_cmp_pd(x, y, predicate))

    __attribute__((target("avx512f,avx512dq")))
    static ptrdiff_t fastata_candidates_avx512(const double *lam, ptrdiff_t n, double cut, ptrdiff_t most,
                                               int64_t *idx, double *times) {
        FASTATA_CANDIDATES_BODY(__m512d, 8, _mm512_set1_pd, _mm512_loadu_pd, _mm512_cmp_pd_mask)
    }

    __attribute__((target("avx2")))
    static ptrdiff_t fastata_candidates_avx2(const double *lam, ptrdiff_t n, double cut, ptrdiff_t most,
                                             int64_t *idx, double *times) {
        FASTATA_CANDIDATES_BODY(__m256d, 4, _mm256_set1_pd, _mm256_loadu_pd, FASTATA_BITS4)
    }

    /* The unit-slack passes in AVX2 (also on AVX-512 CPUs: the passes wait on memory there).
       A worker's level min + 1 (at most budget + 1 < 2**52 where nothing is flagged) is read
       from the bits of 2**52 + level. */
    __attribute__((target("avx2")))
    static inline __m256d fastata_unit_keys4(__m256d x, __m256i l, __m256i has) {
        const __m256d level = _mm256_sub_pd(
            _mm256_castsi256_pd(_mm256_or_si256(_mm256_add_epi64(l, _mm256_set1_epi64x(1)),
                                                _mm256_set1_epi64x(0x4330000000000000LL))),
            _mm256_set1_pd(FASTATA_TWO52));
        return _mm256_blendv_pd(_mm256_set1_pd(HUGE_VAL), _mm256_mul_pd(level, x), _mm256_castsi256_pd(has));
    }

    __attribute__((target("avx2")))
    static inline __m256i fastata_unit_low4(const int64_t *lo, ptrdiff_t i, int shared, __m256i shared_low,
                                            __m256i available) {
        return shared ? _mm256_and_si256(shared_low, available) : _mm256_loadu_si256((const __m256i *)(lo + i));
    }

    /* The counts below the eight cuts, as integer lanes less each comparison's mask (-1). */
    #define FASTATA_UNIT_COUNT8(p)                                                              \
        a0 = _mm256_sub_epi64(a0, _mm256_castpd_si256(_mm256_cmp_pd(p, c0, _CMP_LT_OQ)));       \
        a1 = _mm256_sub_epi64(a1, _mm256_castpd_si256(_mm256_cmp_pd(p, c1, _CMP_LT_OQ)));       \
        a2 = _mm256_sub_epi64(a2, _mm256_castpd_si256(_mm256_cmp_pd(p, c2, _CMP_LT_OQ)));       \
        a3 = _mm256_sub_epi64(a3, _mm256_castpd_si256(_mm256_cmp_pd(p, c3, _CMP_LT_OQ)));       \
        a4 = _mm256_sub_epi64(a4, _mm256_castpd_si256(_mm256_cmp_pd(p, c4, _CMP_LT_OQ)));       \
        a5 = _mm256_sub_epi64(a5, _mm256_castpd_si256(_mm256_cmp_pd(p, c5, _CMP_LT_OQ)));       \
        a6 = _mm256_sub_epi64(a6, _mm256_castpd_si256(_mm256_cmp_pd(p, c6, _CMP_LT_OQ)));       \
        a7 = _mm256_sub_epi64(a7, _mm256_castpd_si256(_mm256_cmp_pd(p, c7, _CMP_LT_OQ)));

    __attribute__((target("avx2")))
    static inline int64_t fastata_lanes_sum(__m256i v) {
        int64_t lanes[4];
        _mm256_storeu_si256((__m256i *)lanes, v);
        return lanes[0] + lanes[1] + lanes[2] + lanes[3];
    }

    __attribute__((target("avx2")))
    static int64_t fastata_unit_counts_avx2(const double *lam, const int64_t *lo, const int64_t *hi,
                                            ptrdiff_t n, int64_t budget, const double *cuts,
                                            int64_t *counts, int64_t *sums, double *least) {
        const __m256d inf = _mm256_set1_pd(HUGE_VAL), zero = _mm256_setzero_pd();
        const __m256d c0 = _mm256_set1_pd(cuts[0]), c1 = _mm256_set1_pd(cuts[1]), c2 = _mm256_set1_pd(cuts[2]);
        const __m256d c3 = _mm256_set1_pd(cuts[3]), c4 = _mm256_set1_pd(cuts[4]), c5 = _mm256_set1_pd(cuts[5]);
        const __m256d c6 = _mm256_set1_pd(cuts[6]), c7 = _mm256_set1_pd(cuts[7]);
        const int64_t limit = budget + 1;
        __m256i a0, a1, a2, a3, a4, a5, a6, a7;
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = _mm256_setzero_si256();
        int64_t flagged, taken = 0, slack;
        ptrdiff_t i = 0;
        if (fastata_shared_bounds) {
            /* One minimum for every available worker, one maximum for every worker: only the
               times can be flagged, and the keys are level * lam (+inf where unavailable, NaN
               where no worker has room). */
            const int64_t low = lo[0], high = hi[0];
            if (low < 0 || high < low || high - low > 1 || low > budget) {
                sums[0] = 1;
                return 1;
            }
            const __m256d level = _mm256_set1_pd(high > low ? (double)(low + 1) : HUGE_VAL);
            __m256d bad = zero, smallest = inf;
            __m256i available = _mm256_setzero_si256();
            for (; i + 4 <= n; i += 4) {
                const __m256d x = _mm256_loadu_pd(lam + i);
                bad = _mm256_or_pd(bad, _mm256_cmp_pd(x, zero, _CMP_NGE_UQ));
                smallest = _mm256_min_pd(smallest, x);
                available = _mm256_sub_epi64(available, _mm256_castpd_si256(_mm256_cmp_pd(x, inf, _CMP_LT_OQ)));
                const __m256d p = _mm256_mul_pd(level, x);
                FASTATA_UNIT_COUNT8(p)
            }
            flagged = _mm256_movemask_pd(bad) != 0;
            double lanes[4];
            _mm256_storeu_pd(lanes, smallest);
            for (int k = 0; k < 4; k++)
                *least = lanes[k] < *least ? lanes[k] : *least;
            const int64_t n_available = fastata_lanes_sum(available);
            taken = n_available > 0 && low > limit / n_available ? limit : low * n_available;
            slack = high > low ? n_available : 0;
        } else {
            const __m256i zero_i = _mm256_setzero_si256(), one_i = _mm256_set1_epi64x(1);
            const __m256i over = _mm256_set1_epi64x(budget);
            __m256i flags = zero_i, room_total = zero_i;
            while (i + 4 <= n) {
                const ptrdiff_t stop = i + 256 <= n ? i + 256 : n - (n - i) % 4;
                __m256i block = zero_i;  /* minimums of at most 64 workers a lane, each at most the budget */
                for (; i < stop; i += 4) {
                    const __m256d x = _mm256_loadu_pd(lam + i);
                    const __m256i available = _mm256_castpd_si256(_mm256_cmp_pd(x, inf, _CMP_LT_OQ));
                    const __m256i l = _mm256_loadu_si256((const __m256i *)(lo + i));
                    const __m256i room = _mm256_sub_epi64(_mm256_loadu_si256((const __m256i *)(hi + i)), l);
                    /* flagged: a time not >= 0, a minimum or room below 0, a minimum on an
                       unavailable worker, more room than a task or a minimum past the budget on
                       an available one */
                    __m256i bad = _mm256_castpd_si256(_mm256_cmp_pd(x, zero, _CMP_NGE_UQ));
                    bad = _mm256_or_si256(bad, _mm256_or_si256(l, room));  /* sign bits */
                    bad = _mm256_or_si256(bad, _mm256_andnot_si256(available, _mm256_cmpgt_epi64(l, zero_i)));
                    bad = _mm256_or_si256(bad, _mm256_and_si256(available, _mm256_or_si256(
                        _mm256_cmpgt_epi64(room, one_i), _mm256_cmpgt_epi64(l, over))));
                    flags = _mm256_or_si256(flags, bad);
                    const __m256i has = _mm256_and_si256(_mm256_cmpeq_epi64(room, one_i), available);
                    block = _mm256_add_epi64(block, _mm256_and_si256(l, available));
                    room_total = _mm256_sub_epi64(room_total, has);
                    const __m256d p = fastata_unit_keys4(x, l, has);
                    FASTATA_UNIT_COUNT8(p)
                }
                /* a flagged minimum may be anything: the sum then means nothing, and is not read */
                const int64_t add = fastata_lanes_sum(block);
                taken = taken + add < limit && add >= 0 ? taken + add : limit;
            }
            flagged = _mm256_movemask_pd(_mm256_castsi256_pd(flags)) != 0;
            slack = fastata_lanes_sum(room_total);
        }
        counts[0] = fastata_lanes_sum(a0); counts[1] = fastata_lanes_sum(a1);
        counts[2] = fastata_lanes_sum(a2); counts[3] = fastata_lanes_sum(a3);
        counts[4] = fastata_lanes_sum(a4); counts[5] = fastata_lanes_sum(a5);
        counts[6] = fastata_lanes_sum(a6); counts[7] = fastata_lanes_sum(a7);
        sums[0] = flagged;
        sums[1] = taken;
        sums[2] = slack;
        FASTATA_CLEAN_UPPER();
        fastata_unit_counts_from(lam, lo, hi, i, n, budget, cuts, counts, sums, least);
        return sums[0];
    }

    /* The AVX2 counts passes' shared steps. fastata_few_count4: four workers' matches with the
       table's eight times (v) counted into a (an equal lane's mask is -1: subtracted, it
       counts one), the masks kept in at for a bounds check. */
    __attribute__((target("avx2")))
    static inline void fastata_few_count4(__m256d x, const __m256d *v, __m256i *a, __m256d *at) {
        for (int j = 0; j < 8; j++) {
            at[j] = _mm256_cmp_pd(x, v[j], _CMP_EQ_OQ);
            a[j] = _mm256_sub_epi64(a[j], _mm256_castpd_si256(at[j]));
        }
    }

    /* Four workers' bounds against the pairs wanted of them (min(hi, budget) for the maximum):
       right keeps -1 in the lanes that match */
    __attribute__((target("avx2")))
    static inline __m256i fastata_few_check4(const int64_t *lo, const int64_t *hi, __m256i cap, __m256i want_low,
                                             __m256i want_high, __m256i right) {
        __m256i h = _mm256_loadu_si256((const __m256i *)hi);
        h = _mm256_blendv_epi8(h, cap, _mm256_cmpgt_epi64(h, cap));
        return _mm256_and_si256(right, _mm256_and_si256(
            _mm256_cmpeq_epi64(_mm256_loadu_si256((const __m256i *)lo), want_low),
            _mm256_cmpeq_epi64(h, want_high)));
    }

    /* The end of the whole block at start: its counts added to c; returns start where a worker
       matched no time, -1 where a bound did not match (right), else FASTATA_FEW_ON with the
       running counts stored */
    #define FASTATA_FEW_ON (-2)
    __attribute__((target("avx2")))
    static inline ptrdiff_t fastata_few_block_end(const __m256i *a, __m256i right, ptrdiff_t start, int64_t *c,
                                                  int64_t *running) {
        for (int j = 0; j < 8; j++)
            c[j] += fastata_lanes_sum(a[j]);
        if (c[0] + c[1] + c[2] + c[3] + c[4] + c[5] + c[6] + c[7] < start + FASTATA_FEW_BLOCK)
            return start;
        if (_mm256_movemask_epi8(right) != -1)
            return -1;
        for (int j = 0; j < 8; j++)
            running[8 * (start / FASTATA_FEW_BLOCK) + j] = c[j];
        return FASTATA_FEW_ON;
    }

    __attribute__((target("avx2")))
    static inline void fastata_few_times(const double *table, __m256d *v) {
        for (int j = 0; j < 8; j++)
            v[j] = _mm256_set1_pd(table[j]);
    }

    /* fastata_few_counts_from, a vector of four workers a step over the whole blocks */
    __attribute__((target("avx2")))
    static ptrdiff_t fastata_few_counts_avx2(const double *lam, ptrdiff_t start, ptrdiff_t n, const double *table,
                                             int64_t *c, int64_t *running) {
        __m256d v[8], at[8];
        const __m256i all = _mm256_set1_epi64x(-1);
        fastata_few_times(table, v);
        for (; start + FASTATA_FEW_BLOCK <= n; start += FASTATA_FEW_BLOCK) {
            __m256i a[8];
            ptrdiff_t stop;
            for (int j = 0; j < 8; j++)
                a[j] = _mm256_setzero_si256();
            for (ptrdiff_t i = start; i < start + FASTATA_FEW_BLOCK; i += 4)
                fastata_few_count4(_mm256_loadu_pd(lam + i), v, a, at);
            if ((stop = fastata_few_block_end(a, all, start, c, running)) != FASTATA_FEW_ON) {
                FASTATA_CLEAN_UPPER();
                return stop;
            }
        }
        FASTATA_CLEAN_UPPER();
        return fastata_few_counts_from(lam, start, n, table, c, running);
    }

    /* fastata_few_counts_checked_avx2 where the bounds go by availability alone (pairs: the
       minimum and maximum of every available time, then of the unavailable workers): a worker's
       pair is picked by whether its time is +inf, not blended time by time */
    __attribute__((target("avx2")))
    static ptrdiff_t fastata_few_counts_uniform_avx2(const double *lam, const int64_t *lo, const int64_t *hi,
                                                     int64_t budget, ptrdiff_t start, ptrdiff_t n,
                                                     const double *table, const int64_t *bounds,
                                                     const int64_t *pairs, int64_t *c, int64_t *running) {
        __m256d v[8], at[8];
        const __m256d inf = _mm256_set1_pd(HUGE_VAL);
        const __m256i cap = _mm256_set1_epi64x(budget);
        const __m256i low = _mm256_set1_epi64x(pairs[0]), high = _mm256_set1_epi64x(pairs[1]);
        const __m256i low_out = _mm256_set1_epi64x(pairs[2]), high_out = _mm256_set1_epi64x(pairs[3]);
        fastata_few_times(table, v);
        for (; start + FASTATA_FEW_BLOCK <= n; start += FASTATA_FEW_BLOCK) {
            __m256i a[8], right = _mm256_set1_epi64x(-1);
            ptrdiff_t stop;
            for (int j = 0; j < 8; j++)
                a[j] = _mm256_setzero_si256();
            for (ptrdiff_t i = start; i < start + FASTATA_FEW_BLOCK; i += 4) {
                const __m256d x = _mm256_loadu_pd(lam + i);
                const __m256i out = _mm256_castpd_si256(_mm256_cmp_pd(x, inf, _CMP_EQ_OQ));
                fastata_few_count4(x, v, a, at);
                right = fastata_few_check4(lo + i, hi + i, cap, _mm256_blendv_epi8(low, low_out, out),
                                           _mm256_blendv_epi8(high, high_out, out), right);
            }
            if ((stop = fastata_few_block_end(a, right, start, c, running)) != FASTATA_FEW_ON) {
                FASTATA_CLEAN_UPPER();
                return stop;
            }
        }
        FASTATA_CLEAN_UPPER();
        return fastata_few_counts_checked_from(lam, lo, hi, budget, start, n, table, bounds, c, running);
    }

    /* fastata_few_counts_checked_from, a vector of four workers a step over the whole blocks:
       each worker's time's bounds blended from the table's as the write blends its tasks */
    __attribute__((target("avx2")))
    static ptrdiff_t fastata_few_counts_checked_avx2(const double *lam, const int64_t *lo, const int64_t *hi,
                                                     int64_t budget, ptrdiff_t start, ptrdiff_t n,
                                                     const double *table, const int64_t *bounds, int64_t *c,
                                                     int64_t *running) {
        __m256d v[8], low[8], high[8];
        const __m256i cap = _mm256_set1_epi64x(budget);
        fastata_few_times(table, v);
        for (int j = 0; j < 8; j++) {
            low[j] = _mm256_castsi256_pd(_mm256_set1_epi64x(bounds[j]));
            high[j] = _mm256_castsi256_pd(_mm256_set1_epi64x(bounds[8 + j]));
        }
        for (; start + FASTATA_FEW_BLOCK <= n; start += FASTATA_FEW_BLOCK) {
            __m256i a[8], right = _mm256_set1_epi64x(-1);
            ptrdiff_t stop;
            for (int j = 0; j < 8; j++)
                a[j] = _mm256_setzero_si256();
            for (ptrdiff_t i = start; i < start + FASTATA_FEW_BLOCK; i += 4) {
                const __m256d x = _mm256_loadu_pd(lam + i);
                __m256d want_low = _mm256_setzero_pd(), want_high = _mm256_setzero_pd();
                for (int j = 7; j >= 0; j--) {  /* fastata_few_count4 with the blends beside it */
                    const __m256d at = _mm256_cmp_pd(x, v[j], _CMP_EQ_OQ);
                    a[j] = _mm256_sub_epi64(a[j], _mm256_castpd_si256(at));
                    want_low = _mm256_blendv_pd(want_low, low[j], at);
                    want_high = _mm256_blendv_pd(want_high, high[j], at);
                }
                right = fastata_few_check4(lo + i, hi + i, cap, _mm256_castpd_si256(want_low),
                                           _mm256_castpd_si256(want_high), right);
            }
            if ((stop = fastata_few_block_end(a, right, start, c, running)) != FASTATA_FEW_ON) {
                FASTATA_CLEAN_UPPER();
                return stop;
            }
        }
        FASTATA_CLEAN_UPPER();
        return fastata_few_counts_checked_from(lam, lo, hi, budget, start, n, table, bounds, c, running);
    }

    /* fastata_few_write_from, a vector of four workers a step: a blend for each time */
    __attribute__((target("avx2")))
    static void fastata_few_write_avx2(const double *lam, ptrdiff_t start, ptrdiff_t stop, const double *table,
                                       const int64_t *tasks, int64_t *out) {
        const __m256d v0 = _mm256_set1_pd(table[0]), v1 = _mm256_set1_pd(table[1]), v2 = _mm256_set1_pd(table[2]);
        const __m256d v3 = _mm256_set1_pd(table[3]), v4 = _mm256_set1_pd(table[4]), v5 = _mm256_set1_pd(table[5]);
        const __m256d v6 = _mm256_set1_pd(table[6]), v7 = _mm256_set1_pd(table[7]);
        const __m256d t0 = _mm256_castsi256_pd(_mm256_set1_epi64x(tasks[0]));
        const __m256d t1 = _mm256_castsi256_pd(_mm256_set1_epi64x(tasks[1]));
        const __m256d t2 = _mm256_castsi256_pd(_mm256_set1_epi64x(tasks[2]));
        const __m256d t3 = _mm256_castsi256_pd(_mm256_set1_epi64x(tasks[3]));
        const __m256d t4 = _mm256_castsi256_pd(_mm256_set1_epi64x(tasks[4]));
        const __m256d t5 = _mm256_castsi256_pd(_mm256_set1_epi64x(tasks[5]));
        const __m256d t6 = _mm256_castsi256_pd(_mm256_set1_epi64x(tasks[6]));
        const __m256d t7 = _mm256_castsi256_pd(_mm256_set1_epi64x(tasks[7]));
        ptrdiff_t i = start;
        for (; i + 4 <= stop; i += 4) {
            const __m256d x = _mm256_loadu_pd(lam + i);
            __m256d o = _mm256_and_pd(t7, _mm256_cmp_pd(x, v7, _CMP_EQ_OQ));
            o = _mm256_blendv_pd(o, t6, _mm256_cmp_pd(x, v6, _CMP_EQ_OQ));
            o = _mm256_blendv_pd(o, t5, _mm256_cmp_pd(x, v5, _CMP_EQ_OQ));
            o = _mm256_blendv_pd(o, t4, _mm256_cmp_pd(x, v4, _CMP_EQ_OQ));
            o = _mm256_blendv_pd(o, t3, _mm256_cmp_pd(x, v3, _CMP_EQ_OQ));
            o = _mm256_blendv_pd(o, t2, _mm256_cmp_pd(x, v2, _CMP_EQ_OQ));
            o = _mm256_blendv_pd(o, t1, _mm256_cmp_pd(x, v1, _CMP_EQ_OQ));
            o = _mm256_blendv_pd(o, t0, _mm256_cmp_pd(x, v0, _CMP_EQ_OQ));
            _mm256_storeu_pd((double *)(out + i), o);
        }
        FASTATA_CLEAN_UPPER();
        fastata_few_write_from(lam, i, stop, table, tasks, out);
    }

    /* Four workers' counts, base, into out, plus a task for those at the tie (at, a mask; bits,
       its bits) while fewer than rank are taken; past rank, *rank = *taken: every later
       worker at the tie takes nothing. */
    __attribute__((target("avx2")))
    static inline void fastata_take_tied4(int64_t *out, __m256i base, __m256d at, int bits, int64_t *taken,
                                          int64_t *rank) {
        const int64_t k = __builtin_popcount((unsigned)bits);
        if (*taken + k <= *rank) {
            _mm256_storeu_si256((__m256i *)out, _mm256_sub_epi64(base, _mm256_castpd_si256(at)));
            *taken += k;
            return;
        }
        _mm256_storeu_si256((__m256i *)out, base);
        for (int b = 0; b < 4 && *taken < *rank; b++)
            if (bits >> b & 1) {
                out[b] += 1;
                *taken += 1;
            }
        *rank = *taken;
    }

    __attribute__((target("avx2")))
    static int64_t fastata_unit_tied_avx2(const double *lam, ptrdiff_t n, int64_t low, double level,
                                          double cut, int64_t rank, int64_t *out) {
        const __m256d inf = _mm256_set1_pd(HUGE_VAL), vcut = _mm256_set1_pd(cut), vlevel = _mm256_set1_pd(level);
        const __m256i vlow = _mm256_set1_epi64x(low);
        int64_t taken = 0;
        ptrdiff_t i = 0;
        for (; i + 4 <= n; i += 4) {
            const __m256d x = _mm256_loadu_pd(lam + i), p = _mm256_mul_pd(vlevel, x);
            const __m256i base = _mm256_sub_epi64(
                _mm256_and_si256(vlow, _mm256_castpd_si256(_mm256_cmp_pd(x, inf, _CMP_LT_OQ))),
                _mm256_castpd_si256(_mm256_cmp_pd(p, vcut, _CMP_LT_OQ)));
            const __m256d at = _mm256_cmp_pd(p, vcut, _CMP_EQ_OQ);
            const int bits = _mm256_movemask_pd(at);
            fastata_take_tied4(out + i, base, at, bits, &taken, &rank);
        }
        FASTATA_CLEAN_UPPER();
        return fastata_unit_tied_from(lam, i, n, low, level, cut, rank, taken, out);
    }

    __attribute__((target("avx2")))
    static int64_t fastata_unit_tied_level_avx2(const double *lam, const int64_t *lo, const int64_t *hi,
                                                ptrdiff_t n, int64_t budget, double cut, int64_t rank,
                                                int64_t *out) {
        const __m256d inf = _mm256_set1_pd(HUGE_VAL), vcut = _mm256_set1_pd(cut);
        __m256i vlevel = _mm256_set1_epi64x(-1);
        int64_t taken = 0, level = -1;
        ptrdiff_t i = 0;
        for (; i + 4 <= n; i += 4) {
            const __m256d x = _mm256_loadu_pd(lam + i);
            const __m256i available = _mm256_castpd_si256(_mm256_cmp_pd(x, inf, _CMP_LT_OQ));
            const __m256i l = _mm256_loadu_si256((const __m256i *)(lo + i));
            const __m256i h = _mm256_loadu_si256((const __m256i *)(hi + i));
            const __m256d p = fastata_unit_keys4(x, l, _mm256_and_si256(_mm256_cmpgt_epi64(h, l), available));
            const __m256i base = _mm256_sub_epi64(l, _mm256_castpd_si256(_mm256_cmp_pd(p, vcut, _CMP_LT_OQ)));
            const __m256d at = _mm256_cmp_pd(p, vcut, _CMP_EQ_OQ);
            const int bits = _mm256_movemask_pd(at);
            if (bits == 0) {
                _mm256_storeu_si256((__m256i *)(out + i), base);
                continue;
            }
            if (level < 0) {
                level = lo[i + __builtin_ctz((unsigned)bits)];
                vlevel = _mm256_set1_epi64x(level);
            }
            if ((_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64(l, vlevel))) & bits) != bits) {
                FASTATA_CLEAN_UPPER();
                return -1;
            }
            fastata_take_tied4(out + i, base, at, bits, &taken, &rank);
        }
        FASTATA_CLEAN_UPPER();
        return fastata_unit_tied_level_from(lam, lo, hi, i, n, budget, cut, rank, taken, &level, out);
    }

    __attribute__((target("avx2")))
    static ptrdiff_t fastata_unit_write_avx2(const double *lam, const int64_t *lo, const int64_t *hi,
                                             ptrdiff_t n, int64_t budget, double cut_lo, double cut_hi,
                                             int64_t *out, int64_t *idx) {
        const __m256d inf = _mm256_set1_pd(HUGE_VAL), low_cut = _mm256_set1_pd(cut_lo);
        const __m256d high_cut = _mm256_set1_pd(cut_hi);
        ptrdiff_t i = 0, m = 0;
        if (fastata_shared_bounds) {
            const __m256i low = _mm256_set1_epi64x(lo[0]);
            const __m256d level = _mm256_set1_pd(hi[0] > lo[0] ? (double)(lo[0] + 1) : HUGE_VAL);
            for (; i + 4 <= n; i += 4) {
                const __m256d x = _mm256_loadu_pd(lam + i);
                const __m256i available = _mm256_castpd_si256(_mm256_cmp_pd(x, inf, _CMP_LT_OQ));
                const __m256d p = _mm256_mul_pd(level, x);
                const __m256d below = _mm256_cmp_pd(p, low_cut, _CMP_LT_OQ);
                _mm256_storeu_si256((__m256i *)(out + i),
                                    _mm256_sub_epi64(_mm256_and_si256(low, available), _mm256_castpd_si256(below)));
                unsigned bits = (unsigned)_mm256_movemask_pd(_mm256_andnot_pd(
                    below, _mm256_cmp_pd(p, high_cut, _CMP_LT_OQ)));
                for (; bits; bits &= bits - 1)
                    idx[m++] = i + __builtin_ctz(bits);
            }
        } else {
            for (; i + 4 <= n; i += 4) {
                const __m256d x = _mm256_loadu_pd(lam + i);
                const __m256i available = _mm256_castpd_si256(_mm256_cmp_pd(x, inf, _CMP_LT_OQ));
                const __m256i l = _mm256_loadu_si256((const __m256i *)(lo + i));
                const __m256i h = _mm256_loadu_si256((const __m256i *)(hi + i));
                const __m256i has = _mm256_and_si256(_mm256_cmpgt_epi64(h, l), available);
                const __m256d p = fastata_unit_keys4(x, l, has);
                const __m256d below = _mm256_cmp_pd(p, low_cut, _CMP_LT_OQ);
                _mm256_storeu_si256((__m256i *)(out + i), _mm256_sub_epi64(l, _mm256_castpd_si256(below)));
                unsigned bits = (unsigned)_mm256_movemask_pd(_mm256_andnot_pd(
                    below, _mm256_cmp_pd(p, high_cut, _CMP_LT_OQ)));
                for (; bits; bits &= bits - 1)
                    idx[m++] = i + __builtin_ctz(bits);
            }
        }
        FASTATA_CLEAN_UPPER();
        return fastata_unit_write_from(lam, lo, hi, i, n, budget, cut_lo, cut_hi, out, idx, m);
    }

    __attribute__((target("avx512f,avx512dq")))
    static double fastata_extremes_avx512(const double *lam, const double *inv, int64_t *out,
                                          ptrdiff_t n, double t, double cap, double *ext) {
        const __m512d vt = _mm512_set1_pd(t), vcap = _mm512_set1_pd(cap);
        const __m512d zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1.0);
        __m512d total = zero, above = _mm512_set1_pd(ext[0]), below = _mm512_set1_pd(ext[1]);
        ptrdiff_t i = 0;
        for (; i + 8 <= n; i += 8) {
            __m512d x = _mm512_loadu_pd(lam + i);
            __m512d c = fastata_count8(x, _mm512_loadu_pd(inv + i), vt, vcap);
            _mm512_storeu_si512((void *)(out + i), _mm512_cvttpd_epi64(c));
            total = _mm512_add_pd(total, c);
            above = _mm512_mask_min_pd(above, _mm512_cmp_pd_mask(c, vcap, _CMP_LT_OQ), above,
                                       _mm512_mul_pd(_mm512_add_pd(c, one), x));
            below = _mm512_mask_max_pd(below, _mm512_cmp_pd_mask(c, zero, _CMP_GT_OQ), below,
                                       _mm512_mul_pd(c, x));
        }
        ext[0] = _mm512_reduce_min_pd(above);
        ext[1] = _mm512_reduce_max_pd(below);
        double head = _mm512_reduce_add_pd(total);
        FASTATA_CLEAN_UPPER();
        return head
               + fastata_extremes_scalar(lam + i, inv + i, out + i, n - i, t, cap, ext);
    }

    __attribute__((target("avx2")))
    static double fastata_extremes_avx2(const double *lam, const double *inv, int64_t *out,
                                        ptrdiff_t n, double t, double cap, double *ext) {
        const __m256d vt = _mm256_set1_pd(t), vcap = _mm256_set1_pd(cap);
        const __m256d zero = _mm256_setzero_pd(), one = _mm256_set1_pd(1.0);
        __m256d total = zero, above = _mm256_set1_pd(ext[0]), below = _mm256_set1_pd(ext[1]);
        ptrdiff_t i = 0;
        for (; i + 4 <= n; i += 4) {
            __m256d x = _mm256_loadu_pd(lam + i);
            __m256d c = fastata_count4(x, _mm256_loadu_pd(inv + i), vt, vcap);
            _mm256_storeu_si256((__m256i *)(out + i), fastata_to_int4(c));
            total = _mm256_add_pd(total, c);
            /* Masked-off lanes give +inf (above) and 0 (below): neither changes the result. */
            above = _mm256_min_pd(above, _mm256_blendv_pd(_mm256_set1_pd(HUGE_VAL),
                                                          _mm256_mul_pd(_mm256_add_pd(c, one), x),
                                                          _mm256_cmp_pd(c, vcap, _CMP_LT_OQ)));
            below = _mm256_max_pd(below, _mm256_and_pd(_mm256_mul_pd(c, x),
                                                       _mm256_cmp_pd(c, zero, _CMP_GT_OQ)));
        }
        ext[0] = fastata_min4(above, ext[0]);
        ext[1] = fastata_max4(below, ext[1]);
        double head = fastata_sum4(total);
        FASTATA_CLEAN_UPPER();
        return head + fastata_extremes_scalar(lam + i, inv + i, out + i, n - i, t, cap, ext);
    }

    __attribute__((target("avx512f,avx512dq")))
    static double fastata_split_avx512(const double *lam, const double *inv, const int64_t *bound_lo,
                                       const int64_t *bound_hi, int64_t *out,
                                       ptrdiff_t n, double t, int64_t budget, double *sums) {
        const __m512d vt = _mm512_set1_pd(t);
        const __m512d zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1.0);
        const __m512i vbudget = _mm512_set1_epi64(budget);
        __m512d vcap = _mm512_set1_pd((double)budget), low = zero;
        __m512d taken = zero, tied_n = zero, level_sum = zero;
        __m512d lo = _mm512_set1_pd(sums[1]), hi = _mm512_set1_pd(sums[2]);
        const int kind = fastata_bounds_kind(bound_hi);
        ptrdiff_t i = 0;
        if (kind == FASTATA_SHARED && n >= 8)
            fastata_shared8(bound_lo, bound_hi, budget, &vcap, &low);
        for (; i + 8 <= n; i += 8) {
            if (kind == FASTATA_PER_WORKER) {
                vcap = fastata_cap8(bound_hi + i, vbudget);
                low = _mm512_cvtepi64_pd(_mm512_loadu_si512((const void *)(bound_lo + i)));
            }
            __m512d x = _mm512_loadu_pd(lam + i), product;
            __m512d floor = kind == FASTATA_SHARED ? fastata_low8(low, x, HUGE_VAL) : low;
            __m512d c = _mm512_max_pd(fastata_count_product8(x, _mm512_loadu_pd(inv + i), vt, vcap, &product),
                                      floor);
            /* c * x == t*, unless a minimum raised the count (fastata_count_product8) */
            __mmask8 tied = _mm512_mask_cmp_pd_mask(_mm512_cmp_pd_mask(c, floor, _CMP_GT_OQ), product, vt,
                                                    _CMP_EQ_OQ);
            __m512d below = _mm512_mask_sub_pd(c, tied, c, one);
            _mm512_storeu_si512((void *)(out + i), _mm512_cvttpd_epi64(_mm512_mask_sub_pd(c, tied, zero, c)));
            taken = _mm512_add_pd(taken, below);
            tied_n = _mm512_mask_add_pd(tied_n, tied, tied_n, one);
            level_sum = _mm512_mask_add_pd(level_sum, tied, level_sum, c);
            lo = _mm512_mask_min_pd(lo, tied, lo, c);
            hi = _mm512_mask_max_pd(hi, tied, hi, c);
        }
        sums[0] += _mm512_reduce_add_pd(tied_n);
        sums[3] += _mm512_reduce_add_pd(level_sum);
        sums[1] = _mm512_reduce_min_pd(lo);
        sums[2] = _mm512_reduce_max_pd(hi);
        double head = _mm512_reduce_add_pd(taken);
        FASTATA_CLEAN_UPPER();
        return head
               + fastata_split_scalar(lam + i, inv + i, bound_lo ? bound_lo + i : NULL,
                                      bound_hi ? bound_hi + i : NULL, out + i, n - i, t,
                                      budget, sums);
    }

    __attribute__((target("avx2")))
    /* Also the AVX2 pass's own: keeping it within the vector ports' throughput (it is
       compute-bound, unlike AVX-512's) is what the choices below are for. The AVX2
       conversion of a double holding an integer in (-2**51, 2**51) to int64: the bits of
       1.5 * 2**52 + c, less those of 1.5 * 2**52. */
    __attribute__((target("avx2")))
    static inline __m256i fastata_signed_to_int4(__m256d c) {
        const __m256d magic = _mm256_set1_pd(6755399441055744.0);
        return _mm256_sub_epi64(_mm256_castpd_si256(_mm256_add_pd(c, magic)), _mm256_castpd_si256(magic));
    }

    __attribute__((target("avx2")))
    static double fastata_split_avx2(const double *lam, const double *inv, const int64_t *bound_lo,
                                     const int64_t *bound_hi, int64_t *out,
                                     ptrdiff_t n, double t, int64_t budget, double *sums) {
        const __m256d vt = _mm256_set1_pd(t);
        const __m256d zero = _mm256_setzero_pd(), sign = _mm256_set1_pd(-0.0);
        const __m256d inf = _mm256_set1_pd(HUGE_VAL);
        const __m256i vbudget = _mm256_set1_epi64x(budget);
        __m256d vcap = _mm256_set1_pd((double)budget), low = zero;
        __m256d counted = zero, level_sum = zero;
        __m256i tied_n = _mm256_setzero_si256();
        __m256d lo = _mm256_set1_pd(sums[1]), hi = _mm256_set1_pd(sums[2]);
        /* A tied count must be above its minimum: a test that only a minimum, or t = 0 (where
           a count of 0 has its product at t), can fail. */
        const int above_low = bound_hi != NULL || !(t > 0.0);
        const int kind = fastata_bounds_kind(bound_hi);
        ptrdiff_t i = 0;
        if (kind == FASTATA_SHARED && n >= 4)
            fastata_shared4(bound_lo, bound_hi, budget, &vcap, &low);
        for (; i + 4 <= n; i += 4) {
            if (kind == FASTATA_PER_WORKER) {
                vcap = fastata_cap4(bound_hi + i, vbudget);
                low = fastata_to_double4(_mm256_loadu_si256((const __m256i *)(bound_lo + i)));
            }
            __m256d x = _mm256_loadu_pd(lam + i), product;
            __m256d floor = kind == FASTATA_SHARED ? fastata_low4(low, x, HUGE_VAL) : low;
            __m256d c = fastata_count_product4(x, _mm256_loadu_pd(inv + i), vt, vcap, &product);
            __m256d tied = _mm256_cmp_pd(product, vt, _CMP_EQ_OQ);  /* c * x == t* (fastata_count_product8) */
            if (bound_hi != NULL)
                c = _mm256_max_pd(c, floor);
            if (above_low)
                tied = _mm256_and_pd(tied, _mm256_cmp_pd(c, floor, _CMP_GT_OQ));
            /* -c where tied (c < 2**51), converted as a signed integer */
            _mm256_storeu_si256((__m256i *)(out + i),
                                fastata_signed_to_int4(_mm256_xor_pd(c, _mm256_and_pd(tied, sign))));
            counted = _mm256_add_pd(counted, c);
            tied_n = _mm256_sub_epi64(tied_n, _mm256_castpd_si256(tied));  /* a true lane is -1 */
            /* untied lanes become NaN or +inf, which minpd passes over for its second operand */
            lo = _mm256_min_pd(_mm256_or_pd(c, _mm256_andnot_pd(tied, inf)), lo);
            hi = _mm256_max_pd(hi, _mm256_and_pd(tied, c));
            level_sum = _mm256_add_pd(level_sum, _mm256_and_pd(tied, c));
        }
        double n_tied = (double)fastata_isum4(tied_n);
        sums[0] += n_tied;
        sums[3] += fastata_sum4(level_sum);
        sums[1] = fastata_min4(lo, sums[1]);
        sums[2] = fastata_max4(hi, sums[2]);
        double head = fastata_sum4(counted) - n_tied;
        FASTATA_CLEAN_UPPER();
        return head
               + fastata_split_scalar(lam + i, inv + i, bound_lo ? bound_lo + i : NULL,
                                      bound_hi ? bound_hi + i : NULL, out + i, n - i, t,
                                      budget, sums);
    }
    #else
    #define FASTATA_X86_SIMD 0
    #endif

    /* threshold.flush_tiny and restore_tiny: an estimate pass flushes products below 2**-1022
       to zero (the MXCSR's flush-to-zero bit), which x86 would compute in microcode; an
       estimate term is 0 for any product below 1 either way. */
    static inline unsigned int fastata_flush_tiny(void) {
    #if FASTATA_X86_SIMD
        unsigned int state = _mm_getcsr();
        _mm_setcsr(state | 0x8000);
        return state;
    #else
        return 0;
    #endif
    }

    static inline void fastata_restore_tiny(unsigned int state) {
    #if FASTATA_X86_SIMD
        _mm_setcsr(state);
    #else
        (void)state;
    #endif
    }

    /* The integer passes over the split's marks (-j for a worker with a key at t* at level j:
       threshold.count_levels, take_levels): plain loops that the compiler vectorises once it
       may use AVX2 (SSE2 has no 64-bit compare); AVX-512 adds the 64-bit minimum and
       maximum that count_levels takes, which AVX2 emulates. */
    #define FASTATA_LEVEL_PASSES(suffix, attribute)                                             \
        attribute static int64_t fastata_count_levels_##suffix(const int64_t *marks,            \
                                                              ptrdiff_t n, int64_t level,       \
                                                              int64_t *next) {                  \
            /* as threshold.count_levels: w = marks[i] + level, unsigned, compared as signed  \
               after flipping the sign bit (which keeps the order): AVX2 has signed 64-bit   \
               comparisons only, and gcc flipped each w once per use */                      \
            int64_t flip = INT64_MIN, bound = level ^ flip, least = INT64_MAX, most = INT64_MIN; \
            int64_t total = 0;                                                                  \
            for (ptrdiff_t i = 0; i < n; i++) {                                                 \
                int64_t w = (int64_t)((uint64_t)marks[i] + (uint64_t)level) ^ flip;            \
                total += w < bound;                                                             \
                least = w < least ? w : least;                                                  \
                most = w > most ? w : most;                                                     \
            }                                                                                   \
            int64_t under = least < bound ? level - (least ^ flip) : 0;                         \
            int64_t over = (most ^ flip) < 0 ? level - (most ^ flip) : (int64_t)1 << 62;        \
            next[0] = under;                                                                    \
            next[1] = over;                                                                     \
            return total;                                                                       \
        }                                                                                       \
        attribute static int64_t fastata_count_up_to_level_##suffix(const int64_t *marks,       \
                                                                   ptrdiff_t n, int64_t level) { \
            int64_t total = 0;                                                                  \
            for (ptrdiff_t i = 0; i < n; i++)                                                   \
                total += (marks[i] < 0) & (marks[i] >= -level);                                 \
            return total;                                                                       \
        }                                                                                       \
        attribute static int64_t fastata_count_equal_##suffix(const int64_t *marks,             \
                                                             ptrdiff_t n, int64_t level) {      \
            int64_t total = 0;                                                                  \
            for (ptrdiff_t i = 0; i < n; i++)                                                   \
                total += marks[i] == -level;                                                    \
            return total;                                                                       \
        }                                                                                       \
        attribute static void fastata_take_levels_##suffix(int64_t *out, ptrdiff_t n,           \
                                                          int64_t level, ptrdiff_t cut) {       \
            for (ptrdiff_t i = 0; i < n; i++) {                                                 \
                int64_t v = out[i], j = -v;                                                     \
                int64_t taken = (j < level) | ((j == level) & (i <= cut));                      \
                out[i] = v < 0 ? j - 1 + taken : v;                                             \
            }                                                                                   \
        }                                                                                       \
        attribute static int64_t fastata_marks_to_counts_##suffix(int64_t *out, ptrdiff_t n) {  \
            int64_t marked = 0;                                                                 \
            for (ptrdiff_t i = 0; i < n; i++) {                                                 \
                int64_t v = out[i];                                                             \
                marked += v < 0;                                                                \
                out[i] = v < 0 ? -v : v;                                                        \
            }                                                                                   \
            return marked;                                                                      \
        }

    /* threshold.count_buckets' first loop: each worker's slot, and the levels' range (less
       base) into range[0], range[1]; masks instead of multiplications and a logical shift
       (d >= 0 where it counts), which AVX2 has for 64 bits; AVX-512 has the minimum and
       maximum of 64-bit integers as well (the AVX2 loop took 20 us at 65,536 workers). */
    #define FASTATA_BUCKET_SLOTS(suffix, attribute)                                             \
        attribute static void fastata_bucket_slots_##suffix(                                  \
                const int64_t *marks, ptrdiff_t n, int64_t base, int64_t span, int shift,     \
                int lane_bits, int64_t dump, int64_t dumps, int64_t *where, int64_t *range) { \
            int64_t least = span, most = 0, lane_mask = ((int64_t)1 << lane_bits) - 1;        \
            for (ptrdiff_t i = 0; i < n; i++) {                                                 \
                int64_t d = -marks[i] - base;                                                   \
                int64_t inside = -(int64_t)((marks[i] < 0) & (d >= 0) & (d <= span));          \
                int64_t away = dump + (i & (dumps - 1));                                        \
                int64_t slot = (int64_t)(((uint64_t)d >> shift) << lane_bits) | (i & lane_mask); \
                int64_t low = span + (inside & (d - span)), high = inside & d;                  \
                where[i] = away + (inside & (slot - away));                                     \
                least = low < least ? low : least;                                              \
                most = high > most ? high : most;                                               \
            }                                                                                   \
            range[0] = least;                                                                   \
            range[1] = most;                                                                    \
        }
    FASTATA_BUCKET_SLOTS(scalar, )
    #if FASTATA_X86_SIMD
    FASTATA_BUCKET_SLOTS(avx2, __attribute__((target("avx2"))))
    FASTATA_BUCKET_SLOTS(avx512, __attribute__((target("avx512f,avx512dq"))))
    #endif

    FASTATA_LEVEL_PASSES(scalar, )
    #if FASTATA_X86_SIMD
    FASTATA_LEVEL_PASSES(avx2, __attribute__((target("avx2"))))
    FASTATA_LEVEL_PASSES(avx512, __attribute__((target("avx512f,avx512dq"))))
    #endif

    /* The passes over tied keys that a worker may own many of (threshold.fill_zeros_bounded's
       loop, tied_level's first pass, take_tied's): worker i's are the levels
       (out[i], out[i] + ties[i]]. Products and masks, not selects, so that they vectorise
       (with AVX2 or AVX-512: SSE2 has no 64-bit compare). */
    #define FASTATA_TIED_PASSES(suffix, attribute)                                              \
        attribute static void fastata_zero_room_##suffix(                                     \
                const double *lam, const int64_t *lo, const int64_t *hi, ptrdiff_t n,         \
                int64_t budget, int64_t *out, int64_t *ties, int64_t *range) {                \
            int64_t j_lo = budget + 1, j_hi = 0;                                                \
            const int shared = fastata_shared_bounds;                                           \
            for (ptrdiff_t i = 0; i < n; i++) {                                                 \
                int64_t low = fastata_low_at(lo, i, shared, lam[i] != HUGE_VAL);                \
                int64_t high = hi == NULL || hi[i] > budget ? budget : hi[i];                   \
                int64_t room = (high - low) & -(int64_t)(lam[i] == 0.0);                       \
                int64_t start = low + 1 + ((budget + 1) & -(int64_t)(room <= 0));              \
                out[i] = low;                                                                   \
                ties[i] = room;                                                                 \
                j_lo = start < j_lo ? start : j_lo;                                             \
                j_hi = low + room > j_hi ? low + room : j_hi;                                   \
            }                                                                                   \
            range[0] = j_lo < budget + 1 ? j_lo : budget + 1;                                   \
            range[1] = j_hi;                                                                    \
        }                                                                                       \
        attribute static void fastata_overflow_room_##suffix(                                 \
                const double *lam, const int64_t *hi, ptrdiff_t n, int64_t budget,            \
                int64_t *out, int64_t *ties, int64_t *sums) {                                 \
            int64_t taken = 0, j_lo = budget + 1, j_hi = 0, n_tied = 0, multi = 0;              \
            for (ptrdiff_t i = 0; i < n; i++) {                                                 \
                double x = lam[i];                                                              \
                int64_t c = out[i], high = hi == NULL || hi[i] > budget ? budget : hi[i];      \
                int64_t room = (high - c) & -(int64_t)((0.0 < x) & (x < HUGE_VAL));            \
                room = room < 0 ? 0 : room;                                                     \
                int64_t tied = room > 0;                                                        \
                int64_t start = c + 1 + ((budget + 1) & (tied - 1)), end = (c + room) & -tied;  \
                ties[i] = room;                                                                 \
                taken += c;                                                                     \
                j_lo = start < j_lo ? start : j_lo;                                             \
                j_hi = end > j_hi ? end : j_hi;                                                 \
                n_tied += tied;                                                                 \
                multi += room > 1;                                                              \
            }                                                                                   \
            sums[0] = taken;                                                                    \
            sums[1] = j_lo < budget + 1 ? j_lo : budget + 1;                                    \
            sums[2] = j_hi;                                                                     \
            sums[3] = n_tied;                                                                   \
            sums[4] = multi;                                                                    \
        }                                                                                       \
        attribute static void fastata_tied_span_##suffix(                                     \
                const int64_t *out, const int64_t *ties, ptrdiff_t n, int64_t lo, int64_t hi, \
                int64_t *sums) {                                                                \
            int64_t m = 0, starts = 0, last_start = lo, first_end = hi;                         \
            for (ptrdiff_t i = 0; i < n; i++) {                                                 \
                int64_t c = ties[i], tied = -(int64_t)(c > 0);                                  \
                int64_t start = lo + ((out[i] + 1 - lo) & tied);                                \
                int64_t end = hi + ((out[i] + c - hi) & tied);                                  \
                m -= tied;                                                                      \
                starts += start - lo;                                                           \
                last_start = start > last_start ? start : last_start;                           \
                first_end = end < first_end ? end : first_end;                                  \
            }                                                                                   \
            sums[0] = m;                                                                        \
            sums[1] = starts;                                                                   \
            sums[2] = last_start;                                                               \
            sums[3] = first_end;                                                                \
        }                                                                                       \
        attribute static int64_t fastata_tied_up_to_##suffix(                                 \
                const int64_t *out, const int64_t *ties, ptrdiff_t n, int64_t lo, int64_t level) { \
            int64_t total = 0;                                                                  \
            for (ptrdiff_t i = 0; i < n; i++) {                                                 \
                int64_t c = ties[i], start = out[i] + 1 > lo ? out[i] + 1 : lo;                 \
                int64_t end = out[i] + c < level ? out[i] + c : level, k = end - start + 1;    \
                total += (k < 0 ? 0 : k) & -(int64_t)(c > 0);                                   \
            }                                                                                   \
            return total;                                                                       \
        }                                                                                       \
        attribute static void fastata_take_below_##suffix(int64_t *out, int64_t *ties,          \
                                                          ptrdiff_t n, int64_t level) {        \
            for (ptrdiff_t i = 0; i < n; i++) {                                                 \
                int64_t below = out[i], c = ties[i], d = level - 1 - below;                     \
                d = d < 0 ? 0 : d;                                                              \
                out[i] = below + (d > c ? c : d);                                               \
                ties[i] = (below < level) & (level <= below + c);                               \
            }                                                                                   \
        }
    FASTATA_TIED_PASSES(scalar, )
    #if FASTATA_X86_SIMD
    FASTATA_TIED_PASSES(avx2, __attribute__((target("avx2"))))
    FASTATA_TIED_PASSES(avx512, __attribute__((target("avx512f,avx512dq"))))
    #endif

    /* The passes by division (threshold.count_into_divided, split_divided): budgets from 2**51,
       or thresholds beyond the stored 1/lam's reach. Counts up to 2**53 in doubles
       (threshold.count_divided) and converted through their bits in two parts
       (threshold.int_of_wide, float_of_wide), the products next to t as the bits of positive
       doubles, which order as the doubles do, and the sums as their bits above and below bit
       32 (threshold.wide_total): plain branch-free loops that the compiler vectorises. */
    static inline int64_t fastata_bits(double x) {
        int64_t k;
        memcpy(&k, &x, sizeof k);
        return k;
    }

    static inline double fastata_from_bits(int64_t k) {
        double x;
        memcpy(&x, &k, sizeof x);
        return x;
    }

    /* threshold.finite_extremes: extremes[0..1] = the least lam > 0 and the largest lam < inf;
       *cap = the largest min(hi[i], budget) over the workers with lam < inf (hi not NULL). On
       the bits (lam is valid: no NaN), which order as the doubles do: integer minima and
       maxima vectorise, and no product of a subnormal time is taken. */
    #define FASTATA_FINITE_EXTREMES(suffix, attribute)                                          \
        attribute static void fastata_finite_extremes_##suffix(                                 \
                const double *lam, const int64_t *hi, ptrdiff_t n, int64_t budget,              \
                double *extremes, int64_t *cap) {                                               \
            const int64_t inf = fastata_bits(HUGE_VAL);                                         \
            int64_t least = inf, most = 0, largest = 0;                                         \
            for (ptrdiff_t i = 0; i < n; i++) {                                                 \
                int64_t b = fastata_bits(lam[i]);  /* -0.0 and below: negative */               \
                int64_t low = b > 0 ? b : inf, high = b < inf ? b : 0;  /* a plain min, max */  \
                least = low < least ? low : least;                                              \
                most = high > most ? high : most;                                               \
            }                                                                                   \
            if (hi != NULL)                                                                     \
                for (ptrdiff_t i = 0; i < n; i++) {                                             \
                    int64_t h = hi[i] < budget ? hi[i] : budget;                                \
                    h = fastata_bits(lam[i]) < inf ? h : 0;                                     \
                    largest = h > largest ? h : largest;                                        \
                }                                                                               \
            extremes[0] = fastata_from_bits(least);                                             \
            extremes[1] = fastata_from_bits(most);                                              \
            *cap = largest;                                                                     \
        }
    /* threshold.finite_extremes, at each level: the baseline build compiles it to a scalar
       loop (no 64-bit compare in SSE2), and a min and max under two conditions each stayed
       scalar at any level; as plain ones they vectorise (times near 1e-305, which the call
       scales, at 100,000 workers: 6.0x -> 2.8x the numpy pass) */
    FASTATA_FINITE_EXTREMES(scalar, )
    #if FASTATA_X86_SIMD
    FASTATA_FINITE_EXTREMES(avx2, __attribute__((target("avx2"))))
    FASTATA_FINITE_EXTREMES(avx512, __attribute__((target("avx512f,avx512dq"))))
    #endif

    static inline double fastata_divided1(double x, double t, double cap) {
        /* never a quotient below 2**-1022, which x86 divides many times slower (threshold.count_divided) */
        double d = t * 0x1p1021, y = x + 0.0;
        d = d > DBL_MIN ? d : DBL_MIN;
        double q = t / (y < d ? y : d);
        double c = q < cap ? trunc(q) : cap;  /* NaN (0/0, inf/inf): cap */
        c += (c < cap) & ((c + 1.0) * x <= t);
        return c - (c * x > t);
    }

    static inline int64_t fastata_int_of_wide(double c) {
        int64_t above = c >= FASTATA_TWO52;
        double part = above ? FASTATA_TWO52 : 0.0;
        return fastata_bits(c - part + FASTATA_TWO52) - fastata_bits(FASTATA_TWO52) + (above << 52);
    }

    static inline double fastata_double_of_wide(int64_t k) {
        int64_t above = k >= ((int64_t)1 << 52);
        return fastata_from_bits(k - (above << 52) + fastata_bits(FASTATA_TWO52)) - FASTATA_TWO52
               + (above ? FASTATA_TWO52 : 0.0);
    }

    static inline int64_t fastata_wide_total(int64_t high, int64_t low, int64_t limit) {
        high += low >> 32;
        if (high > (limit >> 32))
            return limit;
        int64_t total = (high << 32) + (low & 0xFFFFFFFF);
        return total < limit ? total : limit;
    }

    /* The loops take the bounds through a constant flag, so that each call compiles a loop
       without a test of them: lo and hi are both given or both NULL (gcc turned a NULL test
       in the loop into masked loads, which at NULL took microcode assists: 90 numpy passes). */
    #define FASTATA_DIVIDED_PASSES(suffix, attribute)                                           \
        attribute static inline __attribute__((always_inline)) int64_t                         \
        fastata_divided_loop_##suffix(const double *lam, const int64_t *lo, const int64_t *hi,  \
                                      int64_t *out, ptrdiff_t n, double t, int64_t budget,      \
                                      int64_t limit, double *ext, const int bounded) {          \
            const double cap = (double)budget;                                                  \
            const int shared = fastata_shared_bounds;                                           \
            int64_t high = 0, low = 0, above = fastata_bits(HUGE_VAL), below = 0;             \
            for (ptrdiff_t i = 0; i < n; i++) {                                                 \
                double x = lam[i];                                                              \
                double cap_i = bounded ? fastata_double_of_wide(hi[i] < budget ? hi[i] : budget) \
                                       : cap;                                                   \
                double floor_i = bounded                                                        \
                    ? fastata_double_of_wide(fastata_low_at(lo, i, shared, x != HUGE_VAL)) : 0.0; \
                double c = fastata_divided1(x, t, cap_i);                                       \
                if (bounded) /* unbounded, gcc read a clamp at 0 as a test it cannot vectorise */ \
                    c = c > floor_i ? c : floor_i;                                              \
                int64_t k = fastata_int_of_wide(c);                                             \
                out[i] = k;                                                                     \
                high += k >> 32;                                                                \
                low += k & 0xFFFFFFFF;                                                          \
                int64_t p = fastata_bits(c < cap_i ? (c + 1.0) * x : HUGE_VAL);                 \
                int64_t q = fastata_bits(c > floor_i ? c * x : 0.0);                            \
                above = p < above ? p : above;                                                  \
                below = q > below ? q : below;                                                  \
            }                                                                                   \
            ext[0] = fastata_from_bits(above);                                                  \
            ext[1] = fastata_from_bits(below);                                                  \
            return fastata_wide_total(high, low, limit);                                        \
        }                                                                                       \
        attribute static int64_t fastata_divided_##suffix(                                     \
                const double *lam, const int64_t *lo, const int64_t *hi, int64_t *out,          \
                ptrdiff_t n, double t, int64_t budget, int64_t limit, double *ext) {            \
            return lo == NULL                                                                   \
                ? fastata_divided_loop_##suffix(lam, lo, hi, out, n, t, budget, limit, ext, 0)  \
                : fastata_divided_loop_##suffix(lam, lo, hi, out, n, t, budget, limit, ext, 1); \
        }                                                                                       \
        attribute static inline __attribute__((always_inline)) int64_t                         \
        fastata_split_divided_loop_##suffix(const double *lam, const int64_t *lo,               \
                                            const int64_t *hi, int64_t *out, ptrdiff_t n,       \
                                            double t, int64_t budget, int64_t *sums,            \
                                            const int bounded) {                                \
            const double cap = (double)budget;                                                  \
            const int shared = fastata_shared_bounds;                                           \
            int64_t high = 0, low = 0, n_tied = 0, crowded = 0;                                 \
            int64_t least = INT64_MIN, most = 0;  /* over the marks -j of the tied workers */   \
            for (ptrdiff_t i = 0; i < n; i++) {                                                 \
                /* threshold.split_divided, with the minimum applied to the integer count: gcc   \
                   vectorises neither a select between doubles' and integers' masks nor a     \
                   select that feeds a reduction (hence the levels' range as sign masks) */   \
                double x = lam[i];                                                              \
                double cap_i = bounded ? fastata_double_of_wide(hi[i] < budget ? hi[i] : budget) \
                                       : cap;                                                   \
                int64_t floor_k = bounded ? fastata_low_at(lo, i, shared, x != HUGE_VAL) : 0;  \
                double c = fastata_divided1(x, t, cap_i);                                       \
                int64_t k = fastata_int_of_wide(c);                                             \
                int64_t tied = (k > floor_k) & (c * x == t);                                    \
                crowded |= tied & (k - 1 > floor_k) & ((c - 1.0) * x == t);                    \
                if (bounded)                                                                    \
                    k = k > floor_k ? k : floor_k;                                              \
                int64_t o = tied ? -k : k, sign = o >> 63;                                      \
                out[i] = o;                                                                     \
                int64_t lv = (o & sign) | (INT64_MIN & ~sign), mv = o & sign;                   \
                least = lv > least ? lv : least;                                                \
                most = mv < most ? mv : most;                                                   \
                k -= tied;                                                                      \
                high += k >> 32;                                                                \
                low += k & 0xFFFFFFFF;                                                          \
                n_tied += tied;                                                                 \
            }                                                                                   \
            sums[0] = n_tied;                                                                   \
            sums[1] = n_tied ? -least : 0;  /* the least level: the largest negative mark */    \
            sums[2] = -most;                                                                    \
            sums[3] = crowded;                                                                  \
            return fastata_wide_total(high, low, (int64_t)1 << 62);                            \
        }                                                                                       \
        attribute static int64_t fastata_split_divided_##suffix(                               \
                const double *lam, const int64_t *lo, const int64_t *hi, int64_t *out,          \
                ptrdiff_t n, double t, int64_t budget, int64_t *sums) {                         \
            return lo == NULL                                                                   \
                ? fastata_split_divided_loop_##suffix(lam, lo, hi, out, n, t, budget, sums, 0)  \
                : fastata_split_divided_loop_##suffix(lam, lo, hi, out, n, t, budget, sums, 1); \
        }
    FASTATA_DIVIDED_PASSES(scalar, )
    #if FASTATA_X86_SIMD
    FASTATA_DIVIDED_PASSES(avx2, __attribute__((target("avx2"))))
    FASTATA_DIVIDED_PASSES(avx512, __attribute__((target("avx512f,avx512dq"))))
    #endif

    /* The policy passes (stats.check_samples, stats.bounds_into) as plain branch-free loops,
       which the compiler vectorises once it may use AVX2: the bounds are a division and a
       square root per worker, whose packed forms are correctly rounded as the scalar ones
       are, so every level gives the same bits (no contraction: -ffp-contract=off). A lane
       of an unexplored worker computes log_term / 0 and is then discarded. */
    #define FASTATA_SAMPLES_PASS(suffix, attribute)                                             \
        attribute static int fastata_samples_ok_##suffix(const int64_t *workers,                \
                                                        const double *durations,                \
                                                        ptrdiff_t m, int64_t n) {               \
            int ok = 1;                                                                         \
            for (ptrdiff_t u = 0; u < m; u++)                                                   \
                ok &= ((uint64_t)workers[u] < (uint64_t)n)                                      \
                      & (durations[u] >= 0.0) & (durations[u] < HUGE_VAL);                      \
            return ok;                                                                          \
        }
    #define FASTATA_POLICY_PASSES(suffix, attribute)                                            \
        FASTATA_SAMPLES_PASS(suffix, attribute)                                                 \
        attribute static void fastata_bounds_##suffix(const double *counts, const double *means, \
                                                     const unsigned char *available,            \
                                                     ptrdiff_t n, int ata, double weight,        \
                                                     double log_term, double *s) {              \
            if (ata) {                                                                          \
                for (ptrdiff_t i = 0; i < n; i++) {                                             \
                    double k = counts[i], r = log_term / k, ci = sqrt(r) + r;                   \
                    double v = means[i] - weight * ci;                                          \
                    v = (k > 0.0) & (v > 0.0) ? v : 0.0;                                        \
                    s[i] = available[i] ? v : HUGE_VAL;                                         \
                }                                                                               \
            } else {                                                                            \
                for (ptrdiff_t i = 0; i < n; i++) {                                             \
                    double k = counts[i], r = log_term / k, ci = sqrt(r) + r;                   \
                    double f = 1.0 - weight * ci;                                               \
                    double v = (k > 0.0) & (f > 0.0) ? means[i] * f : 0.0;                      \
                    s[i] = available[i] ? v : HUGE_VAL;                                         \
                }                                                                               \
            }                                                                                   \
        }
    FASTATA_POLICY_PASSES(scalar, )
    #if FASTATA_X86_SIMD
    FASTATA_POLICY_PASSES(avx2, __attribute__((target("avx2"))))

    FASTATA_SAMPLES_PASS(avx512, __attribute__((target("avx512f,avx512dq"))))

    /* The bounds at the AVX-512 level, written out: gcc vectorises the loop above in
       256-bit halves there (the byte of `available` tips its cost model), and on a CPU
       that runs 512-bit square roots whole that took 1.7x as long (4096 workers, AMD
       EPYC: 3.6 against 2.1 us). The same operations in the same order as the scalar loop. */
    __attribute__((target("avx512f,avx512dq")))
    static void fastata_bounds_avx512(const double *counts, const double *means,
                                      const unsigned char *available, ptrdiff_t n, int ata,
                                      double weight, double log_term, double *s) {
        const __m512d vlog = _mm512_set1_pd(log_term), vweight = _mm512_set1_pd(weight);
        const __m512d zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1.0);
        const __m512d inf = _mm512_set1_pd(HUGE_VAL);
        ptrdiff_t i = 0;
        for (; i + 8 <= n; i += 8) {
            __m512d k = _mm512_loadu_pd(counts + i), r = _mm512_div_pd(vlog, k);
            __m512d wide = _mm512_mul_pd(vweight, _mm512_add_pd(_mm512_sqrt_pd(r), r));
            __m512d mean = _mm512_loadu_pd(means + i), v;
            __mmask8 keep = _mm512_cmp_pd_mask(k, zero, _CMP_GT_OQ);
            if (ata) {
                v = _mm512_sub_pd(mean, wide);
                keep &= _mm512_cmp_pd_mask(v, zero, _CMP_GT_OQ);
            } else {
                __m512d f = _mm512_sub_pd(one, wide);
                keep &= _mm512_cmp_pd_mask(f, zero, _CMP_GT_OQ);
                v = _mm512_mul_pd(mean, f);
            }
            __m512i flags = _mm512_cvtepu8_epi64(_mm_loadl_epi64((const __m128i *)(available + i)));
            __mmask8 gone = _mm512_cmpeq_epi64_mask(flags, _mm512_setzero_si512());
            _mm512_storeu_pd(s + i, _mm512_mask_mov_pd(_mm512_maskz_mov_pd(keep, v), gone, inf));
        }
        FASTATA_CLEAN_UPPER();
        fastata_bounds_scalar(counts + i, means + i, available + i, n - i, ata, weight, log_term, s + i);
    }
    #endif

    /* Instruction sets, widest last; the tests run each one this CPU has. */
    enum { FASTATA_SCALAR = 0, FASTATA_AVX2 = 1, FASTATA_AVX512 = 2 };

    /* The widest the CPU has; __builtin_cpu_supports also checks that the OS saves the
       registers. Called once, at import. The explicit init: clang's runtime may not have
       run its CPU probe before this module loads. */
    static int fastata_best_level(void) {
    #if FASTATA_X86_SIMD
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq"))
            return FASTATA_AVX512;
        if (__builtin_cpu_supports("avx2"))
            return FASTATA_AVX2;
    #endif
        return FASTATA_SCALAR;
    }

    /* Each pass at the given level. The callers promise cap < 2**51 (the counts from
       1/lam are exact below it, and the AVX2 conversions need < 2**52). */
    static double fastata_count_at(int level, const double *lam, const double *inv, int64_t *out,
                                   ptrdiff_t n, double t, double cap) {
    #if FASTATA_X86_SIMD
        if (level == FASTATA_AVX512)
            return fastata_count_avx512(lam, inv, out, n, t, cap);
        if (level == FASTATA_AVX2)
            return fastata_count_avx2(lam, inv, out, n, t, cap);
    #endif
        return fastata_count_scalar(lam, inv, out, n, t, cap);
    }

    /* threshold.prefix_at_zero with bounds: min(max_i, budget) where lam = 0, min_i elsewhere.
       Written in Cython it was inlined into allocate_positive and stayed a scalar loop with a
       branch (lam = 0 workers scattered among the rest: half of a bounded call's time at
       262,144 workers); over restrict pointers gcc vectorises it. */
    #define FASTATA_PREFIX_AT_ZERO(suffix, attribute)                                              \
        attribute static void fastata_prefix_at_zero_##suffix(                                     \
                const double *restrict lam, const int64_t *restrict lo,                            \
                const int64_t *restrict hi, int64_t *restrict out, ptrdiff_t n, int64_t budget) { \
            const int shared = fastata_shared_bounds;                                              \
            for (ptrdiff_t i = 0; i < n; i++) {                                                    \
                int64_t top = hi[i] < budget ? hi[i] : budget;                                     \
                int64_t low = fastata_low_at(lo, i, shared, lam[i] != HUGE_VAL);                   \
                out[i] = lam[i] == 0.0 ? top : low;                                                \
            }                                                                                      \
        }
    FASTATA_PREFIX_AT_ZERO(scalar, )
    #if FASTATA_X86_SIMD
    FASTATA_PREFIX_AT_ZERO(avx2, __attribute__((target("avx2"))))
    FASTATA_PREFIX_AT_ZERO(avx512, __attribute__((target("avx512f,avx512dq"))))
    #endif

    /* out[i] = worker i's minimum for every worker (threshold.minimums_into): with shared
       bounds lo[0] where lam != +inf (fastata_low1), in a loop compiled for each level, which
       gcc vectorises (a scalar loop through fastata_low1: a call at 4096 workers 2 us
       slower), else, and where their sum taken shows every worker available, a copy. */
    #define FASTATA_MINIMUMS(suffix, attribute)                                                    \
        attribute static void fastata_minimums_##suffix(                                           \
                const double *restrict lam, int64_t low, int64_t *restrict out, ptrdiff_t n) {     \
            for (ptrdiff_t i = 0; i < n; i++)                                                      \
                out[i] = low & -(int64_t)(lam[i] != HUGE_VAL);                                     \
        }
    FASTATA_MINIMUMS(scalar, )
    #if FASTATA_X86_SIMD
    FASTATA_MINIMUMS(avx2, __attribute__((target("avx2"))))
    FASTATA_MINIMUMS(avx512, __attribute__((target("avx512f,avx512dq"))))
    #endif

    static void fastata_minimums_at(int level, const double *lam, const int64_t *lo, int64_t *out,
                                    ptrdiff_t n, int64_t taken) {
        /* taken, the minimums' sum, n shared minimums: no worker unavailable, a copy */
        if (!fastata_shared_bounds || n == 0 || lo[0] == 0 || taken / lo[0] == n) {
            memcpy(out, lo, (size_t)n * sizeof(int64_t));
            return;
        }
    #if FASTATA_X86_SIMD
        if (level == FASTATA_AVX512) {
            fastata_minimums_avx512(lam, lo[0], out, n);
            return;
        }
        if (level == FASTATA_AVX2) {
            fastata_minimums_avx2(lam, lo[0], out, n);
            return;
        }
    #endif
        fastata_minimums_scalar(lam, lo[0], out, n);
    }

    static void fastata_prefix_at_zero_at(int level, const double *lam, const int64_t *lo,
                                          const int64_t *hi, int64_t *out, ptrdiff_t n,
                                          int64_t budget) {
    #if FASTATA_X86_SIMD
        if (level == FASTATA_AVX512) {
            fastata_prefix_at_zero_avx512(lam, lo, hi, out, n, budget);
            return;
        }
        if (level == FASTATA_AVX2) {
            fastata_prefix_at_zero_avx2(lam, lo, hi, out, n, budget);
            return;
        }
    #endif
        fastata_prefix_at_zero_scalar(lam, lo, hi, out, n, budget);
    }

    static ptrdiff_t fastata_boundary_at(int level, const double *lam, const int64_t *lo,
                                         const int64_t *maxima, int64_t *out, ptrdiff_t n,
                                         double hi_t, int64_t budget, int64_t *idx) {
    #if FASTATA_X86_SIMD
        if (level == FASTATA_AVX512)
            return fastata_boundary_avx512(lam, lo, maxima, out, n, hi_t, budget, idx);
        if (level == FASTATA_AVX2 && budget < FASTATA_TWO52)
            return fastata_boundary_avx2(lam, lo, maxima, out, n, hi_t, budget, idx);
    #endif
        return fastata_boundary_scalar(lam, lo, maxima, out, n, hi_t, budget, idx, 0);
    }

    static ptrdiff_t fastata_candidates_at(int level, const double *lam, ptrdiff_t n, double cut,
                                           ptrdiff_t most, int64_t *idx, double *times) {
    #if FASTATA_X86_SIMD
        if (level == FASTATA_AVX512)
            return fastata_candidates_avx512(lam, n, cut, most, idx, times);
        if (level == FASTATA_AVX2)
            return fastata_candidates_avx2(lam, n, cut, most, idx, times);
    #endif
        return fastata_candidates_scalar(lam, n, cut, most, idx, times, 0, 0);
    }

    /* threshold.few_times_blocks: counts[0..7] and running as there, from block start on;
       returns n, or the start of the first block with a time outside the table */
    static ptrdiff_t fastata_few_counts_at(int level, const double *lam, const int64_t *lo, const int64_t *hi,
                                           int64_t budget, ptrdiff_t start, ptrdiff_t n, const double *table,
                                           const int64_t *bounds, int64_t *counts, int64_t *running) {
        /* lo, hi: bounds as arrays to check (threshold.few_times_blocks_checked), or NULL */
        for (int j = 0; j < 8; j++)
            counts[j] = start > 0 ? running[8 * (start / FASTATA_FEW_BLOCK - 1) + j] : 0;
    #if FASTATA_X86_SIMD
        if (level == FASTATA_AVX512 || level == FASTATA_AVX2) {
            int64_t pairs[4];
            if (lo == NULL)
                return fastata_few_counts_avx2(lam, start, n, table, counts, running);
            return fastata_few_bounds_uniform(table, bounds, pairs)
                ? fastata_few_counts_uniform_avx2(lam, lo, hi, budget, start, n, table, bounds, pairs, counts, running)
                : fastata_few_counts_checked_avx2(lam, lo, hi, budget, start, n, table, bounds, counts, running);
        }
    #endif
        return lo != NULL ? fastata_few_counts_checked_from(lam, lo, hi, budget, start, n, table, bounds, counts,
                                                            running)
                          : fastata_few_counts_from(lam, start, n, table, counts, running);
    }

    static void fastata_few_write_at(int level, const double *lam, ptrdiff_t start, ptrdiff_t stop,
                                     const double *table, const int64_t *tasks, int64_t *out) {
    #if FASTATA_X86_SIMD
        if (level == FASTATA_AVX512 || level == FASTATA_AVX2)
            return fastata_few_write_avx2(lam, start, stop, table, tasks, out);
    #endif
        fastata_few_write_from(lam, start, stop, table, tasks, out);
    }

    /* *least: the least time, for bounds as numbers (not read for arrays) */
    static int64_t fastata_unit_counts_at(int level, const double *lam, const int64_t *lo, const int64_t *hi,
                                          ptrdiff_t n, int64_t budget, const double *cuts, int64_t *counts,
                                          int64_t *sums, double *least) {
        *least = HUGE_VAL;
    #if FASTATA_X86_SIMD
        if (level == FASTATA_AVX512 || level == FASTATA_AVX2)
            return fastata_unit_counts_avx2(lam, lo, hi, n, budget, cuts, counts, sums, least);
    #endif
        for (int k = 0; k < 8; k++)
            counts[k] = 0;
        sums[0] = sums[1] = sums[2] = 0;
        fastata_unit_counts_from(lam, lo, hi, 0, n, budget, cuts, counts, sums, least);
        return sums[0];
    }

    static int64_t fastata_unit_tied_at(int simd, const double *lam, ptrdiff_t n, int64_t low, int64_t high,
                                        double cut, int64_t rank, int64_t *out) {
        const double level = high > low ? (double)(low + 1) : HUGE_VAL;
    #if FASTATA_X86_SIMD
        if (simd == FASTATA_AVX512 || simd == FASTATA_AVX2)
            return fastata_unit_tied_avx2(lam, n, low, level, cut, rank, out);
    #endif
        return fastata_unit_tied_from(lam, 0, n, low, level, cut, rank, 0, out);
    }

    static int64_t fastata_unit_tied_level_at(int simd, const double *lam, const int64_t *lo, const int64_t *hi,
                                              ptrdiff_t n, int64_t budget, double cut, int64_t rank, int64_t *out) {
    #if FASTATA_X86_SIMD
        if (simd == FASTATA_AVX512 || simd == FASTATA_AVX2)
            return fastata_unit_tied_level_avx2(lam, lo, hi, n, budget, cut, rank, out);
    #endif
        int64_t level = -1;
        return fastata_unit_tied_level_from(lam, lo, hi, 0, n, budget, cut, rank, 0, &level, out);
    }

    static ptrdiff_t fastata_unit_write_at(int level, const double *lam, const int64_t *lo, const int64_t *hi,
                                           ptrdiff_t n, int64_t budget, double cut_lo, double cut_hi,
                                           int64_t *out, int64_t *idx) {
    #if FASTATA_X86_SIMD
        if (level == FASTATA_AVX512 || level == FASTATA_AVX2)
            return fastata_unit_write_avx2(lam, lo, hi, n, budget, cut_lo, cut_hi, out, idx);
    #endif
        return fastata_unit_write_from(lam, lo, hi, 0, n, budget, cut_lo, cut_hi, out, idx, 0);
    }

    /* inv = 1/lam and its sum; counts[0..2] = entries not >= 0 (NaN included), zeros,
       entries < inf. */
    /* estimate[0..1] (at s and s2) start at 0; s = 1, cap = 0: no estimate wanted (they stay
       0 on valid lam), nor at s2 = 0. *top: the largest 1/lam (0 if none is positive). inv is
       0 where lam > zero_above. */
    static double fastata_inverse_at(int level, const double *lam, double *inv, ptrdiff_t n,
                                     int64_t *counts, double s, double s2, double cap, double zero_above,
                                     double *estimate, double *top) {
        counts[0] = counts[1] = counts[2] = 0;
        estimate[0] = estimate[1] = 0.0;
        *top = 0.0;
    #if FASTATA_X86_SIMD
        if (level == FASTATA_AVX512)
            return fastata_inverse_avx512(lam, inv, n, counts, s, s2, cap, zero_above, estimate, top);
        if (level == FASTATA_AVX2)
            return fastata_inverse_avx2(lam, inv, n, counts, s, s2, cap, zero_above, estimate, top);
    #endif
        return fastata_inverse_scalar(lam, inv, n, counts, s, s2, cap, zero_above, estimate, top);
    }

    static int fastata_samples_ok_at(int level, const int64_t *workers, const double *durations,
                                     ptrdiff_t m, int64_t n) {
    #if FASTATA_X86_SIMD
        if (level == FASTATA_AVX512)
            return fastata_samples_ok_avx512(workers, durations, m, n);
        if (level == FASTATA_AVX2)
            return fastata_samples_ok_avx2(workers, durations, m, n);
    #endif
        return fastata_samples_ok_scalar(workers, durations, m, n);
    }

    /* stats.add_samples from the sample at u: the run of samples of one worker there, its
       statistics in registers (each division waits on the mean the sample before left);
       returns where the run ends. */
    static inline ptrdiff_t fastata_add_run(const int64_t *workers, const double *durations, ptrdiff_t u,
                                            ptrdiff_t m, double *counts, double *means, double *m2) {
        const int64_t i = workers[u];
        double k = counts[i], mean = means[i], spread = m2[i];
        do {
            double x = durations[u], delta;
            k = k + 1.0;
            delta = x - mean;
            mean = mean + delta / k;
            spread = spread + delta * (x - mean);
            u++;
        } while (u < m && workers[u] == i);
        counts[i] = k;
        means[i] = mean;
        m2[i] = spread;
        return u;
    }

    /* stats.add_samples: Welford's update, sample by sample in the order given. Two samples
       in a row of two workers are updated at once, each lane the scalar update's operations
       in its order: their divisions, which set the pace (about 4 cycles a sample at the
       scalar divider's throughput), share one packed division, which takes as long. SSE2:
       every x86-64 CPU has it. */
    static void fastata_add_samples(const int64_t *workers, const double *durations, ptrdiff_t m,
                                    double *counts, double *means, double *m2) {
        ptrdiff_t u = 0;
    #if FASTATA_X86_SIMD
        const __m128d one = _mm_set1_pd(1.0);
        while (u + 1 < m) {
            const int64_t i = workers[u], j = workers[u + 1];
            if (i == j) {
                u = fastata_add_run(workers, durations, u, m, counts, means, m2);
                continue;
            }
            __m128d x = _mm_loadu_pd(durations + u);
            __m128d k = _mm_add_pd(_mm_setr_pd(counts[i], counts[j]), one);
            __m128d mean = _mm_setr_pd(means[i], means[j]);
            __m128d delta = _mm_sub_pd(x, mean);
            mean = _mm_add_pd(mean, _mm_div_pd(delta, k));
            __m128d spread = _mm_add_pd(_mm_setr_pd(m2[i], m2[j]), _mm_mul_pd(delta, _mm_sub_pd(x, mean)));
            _mm_storel_pd(counts + i, k);
            _mm_storeh_pd(counts + j, k);
            _mm_storel_pd(means + i, mean);
            _mm_storeh_pd(means + j, mean);
            _mm_storel_pd(m2 + i, spread);
            _mm_storeh_pd(m2 + j, spread);
            u += 2;
        }
    #endif
        while (u < m)
            u = fastata_add_run(workers, durations, u, m, counts, means, m2);
    }

    static void fastata_bounds_at(int level, const double *counts, const double *means,
                                  const unsigned char *available, ptrdiff_t n, int ata,
                                  double weight, double log_term, double *s) {
    #if FASTATA_X86_SIMD
        if (level == FASTATA_AVX512) {
            fastata_bounds_avx512(counts, means, available, n, ata, weight, log_term, s);
            return;
        }
        if (level == FASTATA_AVX2) {
            fastata_bounds_avx2(counts, means, available, n, ata, weight, log_term, s);
            return;
        }
    #endif
        fastata_bounds_scalar(counts, means, available, n, ata, weight, log_term, s);
    }

    /* A plain-loop pass at the given level: the instantiation of FASTATA_LEVEL_PASSES,
       FASTATA_BUCKET_SLOTS or FASTATA_DIVIDED_PASSES that the level names. */
    #if FASTATA_X86_SIMD
    #define FASTATA_PLAIN_PASS(level, pass, ...)                                               \
        ((level) == FASTATA_AVX512 ? fastata_##pass##_avx512(__VA_ARGS__)                      \
         : (level) == FASTATA_AVX2 ? fastata_##pass##_avx2(__VA_ARGS__)                        \
         : fastata_##pass##_scalar(__VA_ARGS__))
    #else
    #define FASTATA_PLAIN_PASS(level, pass, ...) fastata_##pass##_scalar(__VA_ARGS__)
    #endif

    static void fastata_finite_extremes_at(int level, const double *lam, const int64_t *hi, ptrdiff_t n,
                                           int64_t budget, double *extremes, int64_t *cap) {
        FASTATA_PLAIN_PASS(level, finite_extremes, lam, hi, n, budget, extremes, cap);
    }

    static int64_t fastata_count_levels_at(int level, const int64_t *marks, ptrdiff_t n,
                                           int64_t j, int64_t *next) {
        return FASTATA_PLAIN_PASS(level, count_levels, marks, n, j, next);
    }

    static int64_t fastata_count_up_to_level_at(int level, const int64_t *marks, ptrdiff_t n,
                                                int64_t j) {
        return FASTATA_PLAIN_PASS(level, count_up_to_level, marks, n, j);
    }

    static int64_t fastata_count_equal_at(int level, const int64_t *marks, ptrdiff_t n,
                                          int64_t j) {
        return FASTATA_PLAIN_PASS(level, count_equal, marks, n, j);
    }

    static void fastata_bucket_slots_at(int level, const int64_t *marks, ptrdiff_t n, int64_t base,
                                        int64_t span, int shift, int lane_bits, int64_t dump,
                                        int64_t dumps, int64_t *where, int64_t *range) {
        FASTATA_PLAIN_PASS(level, bucket_slots, marks, n, base, span, shift, lane_bits, dump, dumps, where,
                           range);
    }

    static int64_t fastata_marks_to_counts_at(int level, int64_t *out, ptrdiff_t n) {
        return FASTATA_PLAIN_PASS(level, marks_to_counts, out, n);
    }

    static void fastata_take_levels_at(int level, int64_t *out, ptrdiff_t n, int64_t j,
                                       ptrdiff_t cut) {
        FASTATA_PLAIN_PASS(level, take_levels, out, n, j, cut);
    }

    /* range[0], range[1]: the least and greatest level of the lam = 0 workers' room. */
    static void fastata_zero_room_at(int level, const double *lam, const int64_t *lo, const int64_t *hi,
                                     ptrdiff_t n, int64_t budget, int64_t *out, int64_t *ties,
                                     int64_t *range) {
        FASTATA_PLAIN_PASS(level, zero_room, lam, lo, hi, n, budget, out, ties, range);
    }

    /* threshold.overflow_room: sums[0..4] = keys below t* = inf, the least and greatest level
       at it, the workers with keys there and those with more than one. */
    static void fastata_overflow_room_at(int level, const double *lam, const int64_t *hi, ptrdiff_t n,
                                         int64_t budget, int64_t *out, int64_t *ties, int64_t *sums) {
        FASTATA_PLAIN_PASS(level, overflow_room, lam, hi, n, budget, out, ties, sums);
    }

    /* sums[0..3]: the tied workers, the sum of their first levels less lo, the last first
       level and the first last level (lo and hi where none). */
    static void fastata_tied_span_at(int level, const int64_t *out, const int64_t *ties, ptrdiff_t n,
                                     int64_t lo, int64_t hi, int64_t *sums) {
        FASTATA_PLAIN_PASS(level, tied_span, out, ties, n, lo, hi, sums);
    }

    /* threshold.tied_up_to: the tied keys at levels in [lo, j]. */
    static int64_t fastata_tied_up_to_at(int level, const int64_t *out, const int64_t *ties, ptrdiff_t n,
                                         int64_t lo, int64_t j) {
        return FASTATA_PLAIN_PASS(level, tied_up_to, out, ties, n, lo, j);
    }

    static void fastata_take_below_at(int level, int64_t *out, int64_t *ties, ptrdiff_t n, int64_t j) {
        FASTATA_PLAIN_PASS(level, take_below, out, ties, n, j);
    }

    /* lo and hi may be NULL (no bounds); any budget up to 2**53, limit up to 2**62. */
    static int64_t fastata_divided_at(int level, const double *lam, const int64_t *lo,
                                      const int64_t *hi, int64_t *out, ptrdiff_t n, double t,
                                      int64_t budget, int64_t limit, double *ext) {
        return FASTATA_PLAIN_PASS(level, divided, lam, lo, hi, out, n, t, budget, limit, ext);
    }

    /* Returns the keys below t; sums[0..3]: keys at t, their least and greatest level, and
       whether a worker has more than one (threshold.split_divided's crowded). */
    static int64_t fastata_split_divided_at(int level, const double *lam, const int64_t *lo,
                                            const int64_t *hi, int64_t *out, ptrdiff_t n, double t,
                                            int64_t budget, int64_t *sums) {
        return FASTATA_PLAIN_PASS(level, split_divided, lam, lo, hi, out, n, t, budget, sums);
    }

    /* ext[0], ext[1] start at +inf and 0. */
    static double fastata_extremes_at(int level, const double *lam, const double *inv,
                                      int64_t *out, ptrdiff_t n, double t, double cap,
                                      double *ext) {
        ext[0] = HUGE_VAL;
        ext[1] = 0.0;
    #if FASTATA_X86_SIMD
        if (level == FASTATA_AVX512)
            return fastata_extremes_avx512(lam, inv, out, n, t, cap, ext);
        if (level == FASTATA_AVX2)
            return fastata_extremes_avx2(lam, inv, out, n, t, cap, ext);
    #endif
        return fastata_extremes_scalar(lam, inv, out, n, t, cap, ext);
    }

    /* With per-worker bounds: counts clamped to [lo[i], min(hi[i], budget)], and ext[0],
       ext[1] the products next to t among the keys each worker owns (j = lo + 1 .. hi), as
       threshold.count_extremes_into; the callers drop the extremes of a plain count. */
    static double fastata_bounded_scalar(const double *lam, const double *inv, const int64_t *lo,
                                         const int64_t *hi, int64_t *out, ptrdiff_t n, double t,
                                         int64_t budget, double *ext) {
        double total = 0.0;
        for (ptrdiff_t i = 0; i < n; i++) {
            double x = lam[i], low = (double)fastata_low1(lo, i, x != HUGE_VAL);
            double cap = (double)(hi[i] < budget ? hi[i] : budget);
            double c = fastata_count1(x, inv[i], t, cap);
            c = c > low ? c : low;
            double p = c < cap ? (c + 1.0) * x : HUGE_VAL, q = c > low ? c * x : 0.0;
            out[i] = (int64_t)c;
            total += c;
            ext[0] = p < ext[0] ? p : ext[0];
            ext[1] = q > ext[1] ? q : ext[1];
        }
        return total;
    }

    #if FASTATA_X86_SIMD
    __attribute__((target("avx512f,avx512dq")))
    static double fastata_bounded_avx512(const double *lam, const double *inv, const int64_t *lo,
                                         const int64_t *hi, int64_t *out, ptrdiff_t n, double t,
                                         int64_t budget, double *ext) {
        const __m512d vt = _mm512_set1_pd(t), one = _mm512_set1_pd(1.0);
        const __m512i vbudget = _mm512_set1_epi64(budget);
        __m512d total = _mm512_setzero_pd(), above = _mm512_set1_pd(ext[0]), below = _mm512_set1_pd(ext[1]);
        const int kind = fastata_bounds_kind(hi);  /* never FASTATA_UNBOUNDED here */
        __m512d low = _mm512_setzero_pd(), cap = low;
        ptrdiff_t i = 0;
        if (kind == FASTATA_SHARED && n >= 8)
            fastata_shared8(lo, hi, budget, &cap, &low);
        for (; i + 8 <= n; i += 8) {
            __m512d x = _mm512_loadu_pd(lam + i);
            if (kind == FASTATA_PER_WORKER) {
                low = _mm512_cvtepi64_pd(_mm512_loadu_si512((const void *)(lo + i)));
                cap = fastata_cap8(hi + i, vbudget);
            }
            __m512d floor = kind == FASTATA_SHARED ? fastata_low8(low, x, HUGE_VAL) : low;
            __m512d c = _mm512_max_pd(fastata_count8(x, _mm512_loadu_pd(inv + i), vt, cap), floor);
            _mm512_storeu_si512((void *)(out + i), _mm512_cvttpd_epi64(c));
            total = _mm512_add_pd(total, c);
            above = _mm512_mask_min_pd(above, _mm512_cmp_pd_mask(c, cap, _CMP_LT_OQ), above,
                                       _mm512_mul_pd(_mm512_add_pd(c, one), x));
            below = _mm512_mask_max_pd(below, _mm512_cmp_pd_mask(c, floor, _CMP_GT_OQ), below,
                                       _mm512_mul_pd(c, x));
        }
        ext[0] = _mm512_reduce_min_pd(above);
        ext[1] = _mm512_reduce_max_pd(below);
        double head = _mm512_reduce_add_pd(total);
        FASTATA_CLEAN_UPPER();
        return head
               + fastata_bounded_scalar(lam + i, inv + i, lo + i, hi + i, out + i, n - i, t, budget, ext);
    }

    __attribute__((target("avx2")))
    static double fastata_bounded_avx2(const double *lam, const double *inv, const int64_t *lo,
                                       const int64_t *hi, int64_t *out, ptrdiff_t n, double t,
                                       int64_t budget, double *ext) {
        const __m256d vt = _mm256_set1_pd(t), one = _mm256_set1_pd(1.0);
        const __m256i vbudget = _mm256_set1_epi64x(budget);
        __m256d total = _mm256_setzero_pd(), above = _mm256_set1_pd(ext[0]), below = _mm256_set1_pd(ext[1]);
        const int kind = fastata_bounds_kind(hi);  /* never FASTATA_UNBOUNDED here */
        __m256d low = _mm256_setzero_pd(), cap = low;
        ptrdiff_t i = 0;
        if (kind == FASTATA_SHARED && n >= 4)
            fastata_shared4(lo, hi, budget, &cap, &low);
        for (; i + 4 <= n; i += 4) {
            __m256d x = _mm256_loadu_pd(lam + i);
            if (kind == FASTATA_PER_WORKER) {
                low = fastata_to_double4(_mm256_loadu_si256((const __m256i *)(lo + i)));
                cap = fastata_cap4(hi + i, vbudget);
            }
            __m256d floor = kind == FASTATA_SHARED ? fastata_low4(low, x, HUGE_VAL) : low;
            __m256d c = _mm256_max_pd(fastata_count4(x, _mm256_loadu_pd(inv + i), vt, cap), floor);
            _mm256_storeu_si256((__m256i *)(out + i), fastata_to_int4(c));
            total = _mm256_add_pd(total, c);
            above = _mm256_min_pd(above, _mm256_blendv_pd(_mm256_set1_pd(HUGE_VAL),
                                                          _mm256_mul_pd(_mm256_add_pd(c, one), x),
                                                          _mm256_cmp_pd(c, cap, _CMP_LT_OQ)));
            below = _mm256_max_pd(below, _mm256_and_pd(_mm256_mul_pd(c, x), _mm256_cmp_pd(c, floor, _CMP_GT_OQ)));
        }
        ext[0] = fastata_min4(above, ext[0]);
        ext[1] = fastata_max4(below, ext[1]);
        double head = fastata_sum4(total);
        FASTATA_CLEAN_UPPER();
        return head
               + fastata_bounded_scalar(lam + i, inv + i, lo + i, hi + i, out + i, n - i, t, budget, ext);
    }
    #endif

    /* ext[0], ext[1] start at +inf and 0; budget < 2**51 (the counts from 1/lam). */
    static double fastata_bounded_at(int level, const double *lam, const double *inv,
                                     const int64_t *lo, const int64_t *hi, int64_t *out,
                                     ptrdiff_t n, double t, int64_t budget, double *ext) {
        ext[0] = HUGE_VAL;
        ext[1] = 0.0;
    #if FASTATA_X86_SIMD
        if (level == FASTATA_AVX512)
            return fastata_bounded_avx512(lam, inv, lo, hi, out, n, t, budget, ext);
        if (level == FASTATA_AVX2)
            return fastata_bounded_avx2(lam, inv, lo, hi, out, n, t, budget, ext);
    #endif
        return fastata_bounded_scalar(lam, inv, lo, hi, out, n, t, budget, ext);
    }

    /* threshold.COUNT_MARGIN: q = t * (1/lam_i) farther than q * 2**-48 from every integer
       truncates to the exact count; nearer, lam decides (fastata_count1 and its SIMD forms). */
    #define FASTATA_COUNT_MARGIN 3.552713678800501e-15

    /* The count at t and the listing of the workers with a key above it at or below hi_t, in
       one pass (threshold.count_list_into); with bounds (lo, hi not NULL) worker i owns the
       keys min_i + 1 .. min(max_i, budget), as in fastata_split_*. budget < 2**51. The counts
       come from 1/lam alone but where a product may round across an integer, and lam is read
       there and for the workers 1/lam puts a key at or below hi_t (a little past it: reach),
       which lam then decides; the narrow bracket makes those few. */
    static inline void fastata_list1(const double *x, double c, double reach, double v, double hi_t,
                                     ptrdiff_t index, int64_t *idx, ptrdiff_t *m) {
        if (c + 1.0 <= reach * v && (c + 1.0) * *x <= hi_t)  /* *x: lam, read only then */
            idx[(*m)++] = index;
    }

    static double fastata_count_list_scalar(const double *lam, const double *inv, const int64_t *lo,
                                            const int64_t *hi, int64_t *out, ptrdiff_t n, double t,
                                            int64_t budget, double hi_t, int64_t *idx, ptrdiff_t *m,
                                            ptrdiff_t base) {
        const double reach = hi_t * (1.0 + FASTATA_COUNT_MARGIN);
        double total = 0.0;
        for (ptrdiff_t i = 0; i < n; i++) {
            double v = inv[i], q = t * v, c;
            double low = lo == NULL ? 0.0 : (double)fastata_low1(lo, i, v != 0.0);
            double cap = fastata_cap1(hi, i, budget);
            double near = q < cap + 0.5 ? q : cap + 0.5;  /* past it the count is the cap */
            if (fabs(near - rint(near)) < near * FASTATA_COUNT_MARGIN)  /* never for q = 0 */
                c = fastata_count1(lam[i], v, t, cap);
            else
                c = trunc(q < cap ? q : cap);
            c = c > low ? c : low;
            out[i] = (int64_t)c;
            total += c;
            if (c < cap)
                fastata_list1(lam + i, c, reach, v, hi_t, base + i, idx, m);
        }
        return total;
    }

    #if FASTATA_X86_SIMD
    __attribute__((target("avx512f,avx512dq")))
    static inline __attribute__((always_inline)) double
    fastata_count_list_avx512_body(const double *lam, const double *inv, const int64_t *lo,
                                   const int64_t *hi, int64_t *out, ptrdiff_t n, double t,
                                   int64_t budget, double hi_t, int64_t *idx, ptrdiff_t *m,
                                   const int bounded) {
        const double reach = hi_t * (1.0 + FASTATA_COUNT_MARGIN);
        const __m512d vt = _mm512_set1_pd(t), vreach = _mm512_set1_pd(reach), one = _mm512_set1_pd(1.0);
        const __m512d margin = _mm512_set1_pd(FASTATA_COUNT_MARGIN), half = _mm512_set1_pd(0.5);
        const __m512i vbudget = _mm512_set1_epi64(budget);
        __m512d vcap = _mm512_set1_pd((double)budget), low = _mm512_setzero_pd();
        __m512d total = _mm512_setzero_pd();
        ptrdiff_t i = 0;
        if (bounded == FASTATA_SHARED && n >= 8)
            fastata_shared8(lo, hi, budget, &vcap, &low);
        for (; i + 8 <= n; i += 8) {
            if (bounded == FASTATA_PER_WORKER) {
                vcap = fastata_cap8(hi + i, vbudget);
                low = _mm512_cvtepi64_pd(_mm512_loadu_si512((const void *)(lo + i)));
            }
            __m512d v = _mm512_loadu_pd(inv + i), q = _mm512_mul_pd(vt, v), c;
            __m512d near = _mm512_min_pd(q, _mm512_add_pd(vcap, half));
            __m512d off = _mm512_abs_pd(_mm512_sub_pd(
                near, _mm512_roundscale_pd(near, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
            if (_mm512_cmp_pd_mask(off, _mm512_mul_pd(near, margin), _CMP_LT_OQ))  /* rare away from ties */
                c = fastata_count8(_mm512_loadu_pd(lam + i), v, vt, vcap);
            else
                c = _mm512_roundscale_pd(_mm512_min_pd(q, vcap), _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            c = _mm512_max_pd(c, bounded == FASTATA_SHARED ? fastata_low8(low, v, 0.0) : low);
            _mm512_storeu_si512((void *)(out + i), _mm512_cvttpd_epi64(c));
            total = _mm512_add_pd(total, c);
            __mmask8 hit = _mm512_cmp_pd_mask(c, vcap, _CMP_LT_OQ);
            hit = _mm512_mask_cmp_pd_mask(hit, _mm512_add_pd(c, one), _mm512_mul_pd(vreach, v), _CMP_LE_OQ);
            for (unsigned bits = hit; bits; bits &= bits - 1) {  /* rare: a few workers in all */
                ptrdiff_t j = i + __builtin_ctz(bits);
                fastata_list1(lam + j, (double)out[j], reach, inv[j], hi_t, j, idx, m);
            }
        }
        double head = _mm512_reduce_add_pd(total);
        FASTATA_CLEAN_UPPER();
        return head
               + fastata_count_list_scalar(lam + i, inv + i, lo ? lo + i : NULL, hi ? hi + i : NULL,
                                           out + i, n - i, t, budget, hi_t, idx, m, i);
    }

    /* Each vector pass that counts and lists compiled apart for each fastata_bounds_kind. */
    #define FASTATA_COUNT_LIST_KINDS(body)                                                      \
        switch (fastata_bounds_kind(hi)) {                                                    \
        case FASTATA_UNBOUNDED:                                                               \
            return body(lam, inv, lo, hi, out, n, t, budget, hi_t, idx, m, FASTATA_UNBOUNDED);  \
        case FASTATA_SHARED:                                                                  \
            return body(lam, inv, lo, hi, out, n, t, budget, hi_t, idx, m, FASTATA_SHARED);     \
        }                                                                                     \
        return body(lam, inv, lo, hi, out, n, t, budget, hi_t, idx, m, FASTATA_PER_WORKER);

    __attribute__((target("avx512f,avx512dq")))
    static double fastata_count_list_avx512(const double *lam, const double *inv, const int64_t *lo,
                                            const int64_t *hi, int64_t *out, ptrdiff_t n, double t,
                                            int64_t budget, double hi_t, int64_t *idx, ptrdiff_t *m) {
        FASTATA_COUNT_LIST_KINDS(fastata_count_list_avx512_body)
    }

    /* The AVX2 pass keeps a count c as the double 2**52 + c, whose bits are the int64 2**52 + c:
       the bounds clamp it as they are read (plus 2**52) and the store writes it (less 2**52),
       where converting int64 to double and back, which AVX2 has no instruction for, cost a
       fifth of the pass's instructions. q + (2**52 - 1/2) rounds to 2**52 + floor(q) for every q
       that is no integer; q within the margin of one (an integer included) is counted exactly.
       The rare lanes, in doubt or listed, share one branch. */
    __attribute__((target("avx2")))
    static inline __attribute__((always_inline)) double
    fastata_count_list_avx2_body(const double *lam, const double *inv, const int64_t *lo,
                                 const int64_t *hi, int64_t *out, ptrdiff_t n, double t,
                                 int64_t budget, double hi_t, int64_t *idx, ptrdiff_t *m,
                                 const int bounded) {
        const double reach = hi_t * (1.0 + FASTATA_COUNT_MARGIN);
        const __m256d vt = _mm256_set1_pd(t), vreach = _mm256_set1_pd(reach);
        const __m256d margin = _mm256_set1_pd(FASTATA_COUNT_MARGIN), sign = _mm256_set1_pd(-0.0);
        const __m256d two52 = _mm256_set1_pd(FASTATA_TWO52), floor_from = _mm256_set1_pd(FASTATA_TWO52 - 0.5);
        const __m256d next = _mm256_set1_pd(1.0 - FASTATA_TWO52);
        const __m256i bits52 = _mm256_castpd_si256(two52), vbudget = _mm256_set1_epi64x(budget);
        __m256d cap_m = _mm256_set1_pd(FASTATA_TWO52 + (double)budget), low_m = two52;
        __m256d top = _mm256_set1_pd((double)budget + 0.5);
        __m256d total = _mm256_setzero_pd();
        ptrdiff_t i = 0;
        if (bounded == FASTATA_SHARED && n >= 4) {
            double cap = fastata_shared_cap(hi, budget);
            cap_m = _mm256_set1_pd(FASTATA_TWO52 + cap);
            low_m = _mm256_set1_pd(FASTATA_TWO52 + (double)lo[0]);
            top = _mm256_set1_pd(cap + 0.5);
        }
        for (; i + 4 <= n; i += 4) {
            if (bounded == FASTATA_PER_WORKER) {
                __m256i h = _mm256_loadu_si256((const __m256i *)(hi + i));
                h = _mm256_blendv_epi8(h, vbudget, _mm256_cmpgt_epi64(h, vbudget));
                cap_m = _mm256_castsi256_pd(_mm256_add_epi64(h, bits52));
                low_m = _mm256_castsi256_pd(_mm256_add_epi64(_mm256_loadu_si256((const __m256i *)(lo + i)), bits52));
                top = _mm256_sub_pd(cap_m, floor_from);  /* cap + 1/2: past it the count is the cap */
            }
            __m256d v = _mm256_loadu_pd(inv + i), q = _mm256_mul_pd(vt, v);
            __m256d floor_m = bounded == FASTATA_SHARED  /* 2**52 + 0 for an unavailable worker */
                ? _mm256_blendv_pd(two52, low_m, _mm256_cmp_pd(v, _mm256_setzero_pd(), _CMP_NEQ_UQ)) : low_m;
            __m256d c_m = _mm256_max_pd(_mm256_min_pd(_mm256_add_pd(q, floor_from), cap_m), floor_m);
            __m256d near = _mm256_min_pd(q, top);
            __m256d off = _mm256_andnot_pd(sign, _mm256_sub_pd(
                near, _mm256_round_pd(near, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
            __m256d doubt = _mm256_cmp_pd(off, _mm256_mul_pd(near, margin), _CMP_LT_OQ);
            __m256d hit = _mm256_and_pd(
                _mm256_cmp_pd(c_m, cap_m, _CMP_LT_OQ),
                _mm256_cmp_pd(_mm256_add_pd(c_m, next), _mm256_mul_pd(vreach, v), _CMP_LE_OQ));
            unsigned rare = _mm256_movemask_pd(_mm256_or_pd(doubt, hit));
            if (rare) {  /* a few blocks in all, away from ties */
                if (_mm256_movemask_pd(doubt)) {
                    __m256d c = fastata_count4(_mm256_loadu_pd(lam + i), v, vt, _mm256_sub_pd(cap_m, two52));
                    c_m = _mm256_max_pd(_mm256_add_pd(c, two52), floor_m);
                    hit = _mm256_and_pd(
                        _mm256_cmp_pd(c_m, cap_m, _CMP_LT_OQ),
                        _mm256_cmp_pd(_mm256_add_pd(c_m, next), _mm256_mul_pd(vreach, v), _CMP_LE_OQ));
                }
                rare = _mm256_movemask_pd(hit);
            }
            _mm256_storeu_si256((__m256i *)(out + i), _mm256_sub_epi64(_mm256_castpd_si256(c_m), bits52));
            total = _mm256_add_pd(total, _mm256_sub_pd(c_m, two52));
            for (; rare; rare &= rare - 1) {
                ptrdiff_t j = i + __builtin_ctz(rare);
                fastata_list1(lam + j, (double)out[j], reach, inv[j], hi_t, j, idx, m);
            }
        }
        double head = fastata_sum4(total);
        FASTATA_CLEAN_UPPER();
        return head
               + fastata_count_list_scalar(lam + i, inv + i, lo ? lo + i : NULL, hi ? hi + i : NULL,
                                           out + i, n - i, t, budget, hi_t, idx, m, i);
    }

    __attribute__((target("avx2")))
    static double fastata_count_list_avx2(const double *lam, const double *inv, const int64_t *lo,
                                          const int64_t *hi, int64_t *out, ptrdiff_t n, double t,
                                          int64_t budget, double hi_t, int64_t *idx, ptrdiff_t *m) {
        FASTATA_COUNT_LIST_KINDS(fastata_count_list_avx2_body)
    }
    #endif

    /* *m starts at 0. */
    static double fastata_count_list_at(int level, const double *lam, const double *inv,
                                        const int64_t *lo, const int64_t *hi, int64_t *out,
                                        ptrdiff_t n, double t, int64_t budget, double hi_t,
                                        int64_t *idx, ptrdiff_t *m) {
        /* products below 2**-1022 flushed where t is at least that (threshold.count_list_into) */
        int flush = t >= DBL_MIN;
        unsigned int state = flush ? fastata_flush_tiny() : 0;
        double total;
        *m = 0;
    #if FASTATA_X86_SIMD
        if (level == FASTATA_AVX512)
            total = fastata_count_list_avx512(lam, inv, lo, hi, out, n, t, budget, hi_t, idx, m);
        else if (level == FASTATA_AVX2)
            total = fastata_count_list_avx2(lam, inv, lo, hi, out, n, t, budget, hi_t, idx, m);
        else
    #endif
            total = fastata_count_list_scalar(lam, inv, lo, hi, out, n, t, budget, hi_t, idx, m, 0);
        if (flush)
            fastata_restore_tiny(state);
        return total;
    }

    /* One block of threshold.scan_bounds (at most BOUNDS_BLOCK workers, so that no sum of terms
       up to limit overflows): sums[0..3] += the minimums', the maximums' and the lam = 0
       workers' room's sums (each term clamped to [0, limit]), and the bad bounds' count;
       *least = min(*least, the least lam of a worker whose maximum holds the whole budget,
       limit - 1). */
    static void fastata_bounds_block_scalar(const double *lam, const int64_t *lo, const int64_t *hi,
                                            ptrdiff_t n, int64_t limit, int64_t *sums, double *least) {
        double whole = *least;
        for (ptrdiff_t i = 0; i < n; i++) {
            double x = lam[i];
            int64_t low = fastata_low1(lo, i, x != HUGE_VAL), high = hi[i];
            int available = x < HUGE_VAL;
            sums[3] += (low < 0) | (low > high) | (!available & (low > 0));
            high = available ? (high < 0 ? 0 : high > limit ? limit : high) : 0;
            sums[0] += low < 0 ? 0 : low > limit ? limit : low;
            sums[1] += high;
            sums[2] += x == 0.0 && high > low ? high - low : 0;
            whole = (high >= limit - 1) & (x < whole) ? x : whole;
        }
        *least = whole;
    }

    #if FASTATA_X86_SIMD
    __attribute__((target("avx512f,avx512dq")))
    static void fastata_bounds_block_avx512(const double *lam, const int64_t *lo, const int64_t *hi,
                                            ptrdiff_t n, int64_t limit, int64_t *sums, double *least) {
        const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi64(1);
        const __m512i vlimit = _mm512_set1_epi64(limit), vbudget = _mm512_set1_epi64(limit - 1);
        const __m512d inf = _mm512_set1_pd(HUGE_VAL), dzero = _mm512_setzero_pd();
        __m512i taken = zero, capacity = zero, room = zero, bad = zero;
        __m512d whole = inf;
        const int shared = fastata_shared_bounds;
        ptrdiff_t i = 0;
        for (; i + 8 <= n; i += 8) {
            __m512d x = _mm512_loadu_pd(lam + i);
            __m512i low = _mm512_loadu_si512((const void *)(lo + i));
            if (shared)  /* the minimum of the available workers (fastata_low1) */
                low = _mm512_maskz_mov_epi64(_mm512_cmp_pd_mask(x, inf, _CMP_NEQ_UQ), low);
            __m512i high = _mm512_loadu_si512((const void *)(hi + i));
            __mmask8 available = _mm512_cmp_pd_mask(x, inf, _CMP_LT_OQ);
            __mmask8 wrong = _mm512_cmpgt_epi64_mask(zero, low) | _mm512_cmpgt_epi64_mask(low, high)
                             | (__mmask8)(~available & _mm512_cmpgt_epi64_mask(low, zero));
            bad = _mm512_mask_add_epi64(bad, wrong, bad, one);
            high = _mm512_maskz_mov_epi64(available, _mm512_min_epi64(_mm512_max_epi64(high, zero), vlimit));
            taken = _mm512_add_epi64(taken, _mm512_min_epi64(_mm512_max_epi64(low, zero), vlimit));
            capacity = _mm512_add_epi64(capacity, high);
            room = _mm512_mask_add_epi64(room, _mm512_cmp_pd_mask(x, dzero, _CMP_EQ_OQ), room,
                                         _mm512_max_epi64(_mm512_sub_epi64(high, low), zero));
            whole = _mm512_mask_min_pd(whole, _mm512_cmpge_epi64_mask(high, vbudget), whole, x);
        }
        sums[0] += _mm512_reduce_add_epi64(taken);
        sums[1] += _mm512_reduce_add_epi64(capacity);
        sums[2] += _mm512_reduce_add_epi64(room);
        sums[3] += _mm512_reduce_add_epi64(bad);
        *least = fmin(*least, _mm512_reduce_min_pd(whole));
        FASTATA_CLEAN_UPPER();
        fastata_bounds_block_scalar(lam + i, lo + i, hi + i, n - i, limit, sums, least);
    }

    /* AVX2 has no 64-bit min or max: a compare and a blend. */
    __attribute__((target("avx2")))
    static inline __m256i fastata_clamp4(__m256i v, __m256i low, __m256i high) {
        v = _mm256_blendv_epi8(v, low, _mm256_cmpgt_epi64(low, v));
        return _mm256_blendv_epi8(v, high, _mm256_cmpgt_epi64(v, high));
    }

    __attribute__((target("avx2")))
    static void fastata_bounds_block_avx2(const double *lam, const int64_t *lo, const int64_t *hi,
                                          ptrdiff_t n, int64_t limit, int64_t *sums, double *least) {
        const __m256i zero = _mm256_setzero_si256(), vlimit = _mm256_set1_epi64x(limit);
        const __m256i below = _mm256_set1_epi64x(limit - 2);  /* high > limit - 2: it holds the budget */
        const __m256d inf = _mm256_set1_pd(HUGE_VAL), dzero = _mm256_setzero_pd();
        __m256i taken = zero, capacity = zero, room = zero, bad = zero;
        __m256d whole = inf;
        const int shared = fastata_shared_bounds;
        ptrdiff_t i = 0;
        for (; i + 4 <= n; i += 4) {
            __m256d x = _mm256_loadu_pd(lam + i);
            __m256i low = _mm256_loadu_si256((const __m256i *)(lo + i));
            if (shared)  /* the minimum of the available workers (fastata_low1) */
                low = _mm256_and_si256(low, _mm256_castpd_si256(_mm256_cmp_pd(x, inf, _CMP_NEQ_UQ)));
            __m256i high = _mm256_loadu_si256((const __m256i *)(hi + i));
            __m256i available = _mm256_castpd_si256(_mm256_cmp_pd(x, inf, _CMP_LT_OQ));
            __m256i wrong = _mm256_or_si256(
                _mm256_or_si256(_mm256_cmpgt_epi64(zero, low), _mm256_cmpgt_epi64(low, high)),
                _mm256_andnot_si256(available, _mm256_cmpgt_epi64(low, zero)));
            bad = _mm256_sub_epi64(bad, wrong);  /* a true comparison is -1 */
            high = _mm256_and_si256(available, fastata_clamp4(high, zero, vlimit));
            taken = _mm256_add_epi64(taken, fastata_clamp4(low, zero, vlimit));
            capacity = _mm256_add_epi64(capacity, high);
            __m256i spare = _mm256_sub_epi64(high, low);
            spare = _mm256_andnot_si256(_mm256_cmpgt_epi64(zero, spare), spare);  /* max(spare, 0) */
            room = _mm256_add_epi64(room, _mm256_and_si256(
                _mm256_castpd_si256(_mm256_cmp_pd(x, dzero, _CMP_EQ_OQ)), spare));
            __m256d holds = _mm256_castsi256_pd(_mm256_cmpgt_epi64(high, below));
            whole = _mm256_min_pd(whole, _mm256_blendv_pd(inf, x, holds));
        }
        sums[0] += fastata_isum4(taken);
        sums[1] += fastata_isum4(capacity);
        sums[2] += fastata_isum4(room);
        sums[3] += fastata_isum4(bad);
        *least = fastata_min4(whole, *least);
        FASTATA_CLEAN_UPPER();
        fastata_bounds_block_scalar(lam + i, lo + i, hi + i, n - i, limit, sums, least);
    }
    #endif

    static void fastata_bounds_block_at(int level, const double *lam, const int64_t *lo,
                                        const int64_t *hi, ptrdiff_t n, int64_t limit, int64_t *sums,
                                        double *least) {
        sums[0] = sums[1] = sums[2] = sums[3] = 0;
        *least = HUGE_VAL;
    #if FASTATA_X86_SIMD
        if (level == FASTATA_AVX512) {
            fastata_bounds_block_avx512(lam, lo, hi, n, limit, sums, least);
            return;
        }
        if (level == FASTATA_AVX2) {
            fastata_bounds_block_avx2(lam, lo, hi, n, limit, sums, least);
            return;
        }
    #endif
        fastata_bounds_block_scalar(lam, lo, hi, n, limit, sums, least);
    }

    /* threshold.estimate_into: sum_i trunc(s * inv[i]), clamped to [lo[i], min(hi[i], budget)]
       (lo and hi NULL: to [0, budget]). Reads inv (and the bounds) only. With slope not NULL,
       also adds to *slope the sum of inv[i] over the workers whose count no bound holds
       (threshold.estimate_slope_into). With check not NULL (bounds given), also adds to
       check[0..3] the bad bounds' count, the minimums' sum, the available workers' caps' sum
       and the room above the minimums of the lam = 0 workers (inv = inf), and raises check[4]
       to the largest inv of a worker whose maximum holds the whole budget
       (threshold.estimate_checking_into). */
    /* threshold.checking_terms' bad bound: a minimum below 0, above max_tasks or the budget,
       or above 0 on an unavailable worker (x = 1/lam = 0). */
    static inline int fastata_bad_bound1(int64_t l, int64_t h, int64_t budget, double x) {
        return (l < 0) | (l > h) | (l > budget) | ((x == 0.0) & (l > 0));
    }

    static inline __attribute__((always_inline)) double
    fastata_estimate_scalar_body(const double *inv, const int64_t *lo, const int64_t *hi,
                                 ptrdiff_t n, double s, int64_t budget, double *slope, double *check,
                                 const int with_slope, const int with_check) {
        double total = 0.0, moving = 0.0, bad = 0.0, taken = 0.0, capacity = 0.0, room = 0.0;
        double whole = with_check ? check[4] : 0.0;
        for (ptrdiff_t i = 0; i < n; i++) {
            double q = s * inv[i];
            double cap = fastata_cap1(hi, i, budget);
            double c = trunc(q < cap ? q : cap);
            int64_t low_k = lo != NULL ? fastata_low1(lo, i, inv[i] != 0.0) : 0;
            double low = (double)low_k;
            if (with_slope)  /* a select, not a branch on a random share of workers */
                moving += (c >= low) & (c < cap) ? inv[i] : 0.0;
            if (with_check) {
                bad += fastata_bad_bound1(low_k, hi[i], budget, inv[i]);
                taken += low;
                capacity += inv[i] > 0.0 ? cap : 0.0;
                room += inv[i] == HUGE_VAL ? cap - low : 0.0;
                whole = (cap >= (double)budget) & (inv[i] > whole) ? inv[i] : whole;
            }
            if (c < low)
                c = low;
            total += c;
        }
        if (with_slope)
            *slope += moving;
        if (with_check) {
            check[0] += bad;
            check[1] += taken;
            check[2] += capacity;
            check[3] += room;
            check[4] = whole;
        }
        return total;
    }

    /* Each level's pass specialised on what it also computes: a test of slope or check in the
       loop would cost every estimate (a third of a pass at AVX2). */
    #define FASTATA_ESTIMATE_SPECIALISED(body)                                                  \
        if (check != NULL)                                                                    \
            return body(inv, lo, hi, n, s, budget, slope, check, 1, 1);                       \
        if (slope != NULL)                                                                    \
            return body(inv, lo, hi, n, s, budget, slope, check, 1, 0);                       \
        return body(inv, lo, hi, n, s, budget, slope, check, 0, 0);

    static double fastata_estimate_scalar(const double *inv, const int64_t *lo, const int64_t *hi,
                                          ptrdiff_t n, double s, int64_t budget, double *slope,
                                          double *check) {
        FASTATA_ESTIMATE_SPECIALISED(fastata_estimate_scalar_body)
    }

    #if FASTATA_X86_SIMD
    /* FASTATA_ESTIMATE_SPECIALISED of the vector passes, with shared bounds (no check: the
       check reads every worker's) compiled apart. */
    #define FASTATA_ESTIMATE_KINDS(body)                                                        \
        if (check != NULL)                                                                    \
            return body(inv, lo, hi, n, s, budget, slope, check, 1, 1, 0);                    \
        if (fastata_bounds_kind(hi) == FASTATA_SHARED) {                                      \
            if (slope != NULL)                                                                \
                return body(inv, lo, hi, n, s, budget, slope, check, 1, 0, 1);                \
            return body(inv, lo, hi, n, s, budget, slope, check, 0, 0, 1);                    \
        }                                                                                     \
        if (slope != NULL)                                                                    \
            return body(inv, lo, hi, n, s, budget, slope, check, 1, 0, 0);                    \
        return body(inv, lo, hi, n, s, budget, slope, check, 0, 0, 0);

    /* The bounds' check of one vector (fastata_estimate_*_body with check): x = 1/lam, l and h
       the bounds, low and cap as doubles; adds to the bad bounds' count (with the lanes
       already flagged: the validation pass's invalid lam), the minimums, the available
       workers' caps and the room above the minimums of the lam = 0 workers, and raises
       *whole to x where the worker's maximum holds the whole budget. */
    __attribute__((target("avx512f,avx512dq")))
    static inline __attribute__((always_inline)) void
    fastata_check8(__m512d x, __m512i l, __m512i h, __m512d low, __m512d cap, __m512i vbudget,
                   __mmask8 flagged, __m512d *bad, __m512d *taken, __m512d *capacity, __m512d *room,
                   __m512d *whole) {
        const __m512i izero = _mm512_setzero_si512();
        __mmask8 none = _mm512_cmp_pd_mask(x, _mm512_setzero_pd(), _CMP_EQ_OQ);
        /* above min(max_tasks, budget), which the caller's cap computed too */
        __mmask8 wrong = flagged | _mm512_cmpgt_epi64_mask(izero, l)
                         | _mm512_cmpgt_epi64_mask(l, _mm512_min_epi64(h, vbudget))
                         | (__mmask8)(none & _mm512_cmpgt_epi64_mask(l, izero));
        *bad = _mm512_mask_add_pd(*bad, wrong, *bad, _mm512_set1_pd(1.0));
        *taken = _mm512_add_pd(*taken, low);
        *capacity = _mm512_mask_add_pd(*capacity, (__mmask8)~none, *capacity, cap);
        *room = _mm512_mask_add_pd(*room, _mm512_cmp_pd_mask(x, _mm512_set1_pd(HUGE_VAL), _CMP_EQ_OQ), *room,
                                   _mm512_sub_pd(cap, low));
        *whole = _mm512_mask_max_pd(*whole, _mm512_cmpge_epi64_mask(h, vbudget), *whole, x);
    }

    __attribute__((target("avx2")))
    static inline __attribute__((always_inline)) void
    fastata_check4(__m256d x, __m256i l, __m256i h, __m256d low, __m256d cap, __m256i vbudget,
                   __m256i flagged, __m256d *bad, __m256d *taken, __m256d *capacity, __m256d *room,
                   __m256d *whole, __m256d dbudget) {
        const __m256i izero = _mm256_setzero_si256();
        __m256d none = _mm256_cmp_pd(x, _mm256_setzero_pd(), _CMP_EQ_OQ);
        /* above min(max_tasks, budget), which the caller's cap computed too */
        __m256i high = _mm256_blendv_epi8(h, vbudget, _mm256_cmpgt_epi64(h, vbudget));
        __m256i wrong = _mm256_or_si256(
            _mm256_or_si256(flagged, _mm256_cmpgt_epi64(izero, l)),
            _mm256_or_si256(_mm256_cmpgt_epi64(l, high),
                            _mm256_and_si256(_mm256_castpd_si256(none), _mm256_cmpgt_epi64(l, izero))));
        *bad = _mm256_add_pd(*bad, _mm256_and_pd(_mm256_castsi256_pd(wrong), _mm256_set1_pd(1.0)));
        *taken = _mm256_add_pd(*taken, low);
        *capacity = _mm256_add_pd(*capacity, _mm256_andnot_pd(none, cap));
        *room = _mm256_add_pd(*room, _mm256_and_pd(_mm256_cmp_pd(x, _mm256_set1_pd(HUGE_VAL), _CMP_EQ_OQ),
                                                   _mm256_sub_pd(cap, low)));
        *whole = _mm256_max_pd(*whole, _mm256_and_pd(_mm256_cmp_pd(cap, dbudget, _CMP_GE_OQ), x));
    }

    __attribute__((target("avx512f,avx512dq")))
    static inline __attribute__((always_inline)) double
    fastata_estimate_avx512_body(const double *inv, const int64_t *lo, const int64_t *hi,
                                 ptrdiff_t n, double s, int64_t budget, double *slope, double *check,
                                 const int with_slope, const int with_check, const int shared) {
        const __m512d vs = _mm512_set1_pd(s);
        const __m512i vbudget = _mm512_set1_epi64(budget);
        __m512d cap = _mm512_set1_pd((double)budget), low = _mm512_setzero_pd();
        __m512d t0 = _mm512_setzero_pd(), t1 = t0;  /* two sums: the adds overlap */
        __m512d moving = _mm512_setzero_pd(), bad = moving, taken = moving, capacity = moving, room = moving;
        __m512d whole = moving;
        /* the minimum of the available workers only (fastata_low1), also where the check reads
           shared bounds as arrays */
        const int available_only = shared || (hi != NULL && fastata_shared_bounds);
        ptrdiff_t i = 0;
        if (shared && n >= 8)
            fastata_shared8(lo, hi, budget, &cap, &low);
        for (; i + 8 <= n; i += 8) {
            if (hi != NULL && !shared) {
                cap = fastata_cap8(hi + i, vbudget);
                low = _mm512_cvtepi64_pd(_mm512_loadu_si512((const void *)(lo + i)));
            }
            __m512d x = _mm512_loadu_pd(inv + i);
            __m512d floor = available_only ? fastata_low8(low, x, 0.0) : low;
            __m512d c = _mm512_roundscale_pd(_mm512_min_pd(_mm512_mul_pd(vs, x), cap),
                                             _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            if (with_slope)
                moving = _mm512_mask_add_pd(moving, _mm512_cmp_pd_mask(c, floor, _CMP_GE_OQ)
                                                    & _mm512_cmp_pd_mask(c, cap, _CMP_LT_OQ), moving, x);
            if (with_check) {
                __m512i l = _mm512_loadu_si512((const void *)(lo + i));
                if (available_only)
                    l = _mm512_maskz_mov_epi64(_mm512_cmp_pd_mask(x, _mm512_setzero_pd(), _CMP_NEQ_UQ), l);
                fastata_check8(x, l, _mm512_loadu_si512((const void *)(hi + i)), floor, cap, vbudget, 0, &bad,
                               &taken, &capacity, &room, &whole);
            }
            c = _mm512_max_pd(c, floor);
            if (i & 8)
                t1 = _mm512_add_pd(t1, c);
            else
                t0 = _mm512_add_pd(t0, c);
        }
        if (with_slope)
            *slope += _mm512_reduce_add_pd(moving);
        if (with_check) {
            check[0] += _mm512_reduce_add_pd(bad);
            check[1] += _mm512_reduce_add_pd(taken);
            check[2] += _mm512_reduce_add_pd(capacity);
            check[3] += _mm512_reduce_add_pd(room);
            check[4] = fmax(check[4], _mm512_reduce_max_pd(whole));
        }
        double head = _mm512_reduce_add_pd(_mm512_add_pd(t0, t1));
        FASTATA_CLEAN_UPPER();
        return head
               + fastata_estimate_scalar(inv + i, lo ? lo + i : NULL, hi ? hi + i : NULL, n - i, s, budget, slope,
                                         check);
    }

    __attribute__((target("avx512f,avx512dq")))
    static double fastata_estimate_avx512(const double *inv, const int64_t *lo, const int64_t *hi,
                                          ptrdiff_t n, double s, int64_t budget, double *slope,
                                          double *check) {
        FASTATA_ESTIMATE_KINDS(fastata_estimate_avx512_body)
    }

    __attribute__((target("avx2")))
    static inline __attribute__((always_inline)) double
    fastata_estimate_avx2_body(const double *inv, const int64_t *lo, const int64_t *hi,
                               ptrdiff_t n, double s, int64_t budget, double *slope, double *check,
                               const int with_slope, const int with_check, const int shared) {
        const __m256d vs = _mm256_set1_pd(s);
        const __m256i vbudget = _mm256_set1_epi64x(budget);
        __m256d cap = _mm256_set1_pd((double)budget), low = _mm256_setzero_pd();
        __m256d t0 = _mm256_setzero_pd(), t1 = t0, moving = t0, bad = t0, taken = t0, capacity = t0, room = t0;
        __m256d whole = t0;
        /* the minimum of the available workers only (fastata_low1), also where the check reads
           shared bounds as arrays */
        const int available_only = shared || (hi != NULL && fastata_shared_bounds);
        ptrdiff_t i = 0;
        if (shared && n >= 4)
            fastata_shared4(lo, hi, budget, &cap, &low);
        for (; i + 4 <= n; i += 4) {
            if (hi != NULL && !shared) {
                cap = fastata_cap4(hi + i, vbudget);
                low = fastata_to_double4(_mm256_loadu_si256((const __m256i *)(lo + i)));
            }
            __m256d x = _mm256_loadu_pd(inv + i);
            __m256d floor = available_only ? fastata_low4(low, x, 0.0) : low;
            __m256d c = _mm256_round_pd(_mm256_min_pd(_mm256_mul_pd(vs, x), cap),
                                        _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            if (with_slope)
                moving = _mm256_add_pd(moving, _mm256_and_pd(_mm256_and_pd(_mm256_cmp_pd(c, floor, _CMP_GE_OQ),
                                                                            _mm256_cmp_pd(c, cap, _CMP_LT_OQ)), x));
            if (with_check) {
                __m256i l = _mm256_loadu_si256((const __m256i *)(lo + i));
                if (available_only)
                    l = _mm256_and_si256(l, _mm256_castpd_si256(_mm256_cmp_pd(x, _mm256_setzero_pd(), _CMP_NEQ_UQ)));
                fastata_check4(x, l, _mm256_loadu_si256((const __m256i *)(hi + i)), floor, cap, vbudget,
                               _mm256_setzero_si256(), &bad, &taken, &capacity, &room, &whole,
                               _mm256_set1_pd((double)budget));
            }
            c = _mm256_max_pd(c, floor);
            if (i & 4)
                t1 = _mm256_add_pd(t1, c);
            else
                t0 = _mm256_add_pd(t0, c);
        }
        if (with_slope)
            *slope += fastata_sum4(moving);
        if (with_check) {
            check[0] += fastata_sum4(bad);
            check[1] += fastata_sum4(taken);
            check[2] += fastata_sum4(capacity);
            check[3] += fastata_sum4(room);
            check[4] = fastata_max4(whole, check[4]);
        }
        double head = fastata_sum4(_mm256_add_pd(t0, t1));
        FASTATA_CLEAN_UPPER();
        return head
               + fastata_estimate_scalar(inv + i, lo ? lo + i : NULL, hi ? hi + i : NULL, n - i, s, budget, slope,
                                         check);
    }

    __attribute__((target("avx2")))
    static double fastata_estimate_avx2(const double *inv, const int64_t *lo, const int64_t *hi,
                                        ptrdiff_t n, double s, int64_t budget, double *slope,
                                        double *check) {
        FASTATA_ESTIMATE_KINDS(fastata_estimate_avx2_body)
    }
    #endif

    /* budget < 2**51 (the AVX2 conversions need < 2**52). */
    static double fastata_estimate_at(int level, const double *inv, const int64_t *lo,
                                      const int64_t *hi, ptrdiff_t n, double s, int64_t budget,
                                      double *slope, double *check) {
        unsigned int state = fastata_flush_tiny();
        double total;
    #if FASTATA_X86_SIMD
        if (level == FASTATA_AVX512)
            total = fastata_estimate_avx512(inv, lo, hi, n, s, budget, slope, check);
        else if (level == FASTATA_AVX2)
            total = fastata_estimate_avx2(inv, lo, hi, n, s, budget, slope, check);
        else
    #endif
            total = fastata_estimate_scalar(inv, lo, hi, n, s, budget, slope, check);
        fastata_restore_tiny(state);
        return total;
    }

    /* threshold.inverse_checking_pass: the validation pass (fastata_inverse_at, without its
       own estimate, its counts and its largest 1/lam) and the bounds' check with the estimate
       at s and its slope (fastata_estimate_at with slope and check) in one loop, so that the
       checks run while the divisions do (0.44 numpy passes less than the two passes at 65,536
       workers, AVX-512). Bounds required, budget < 2**51. Returns sum(1/lam) over lam > 0;
       *estimate, *slope and check[0..3] as fastata_estimate_at, check[0] counting the entries
       of lam not >= 0 as well. A pass that divides cannot flush tiny results: with least > 0
       (0.5 / s) the SIMD loops estimate from s * max(1/lam, least), the same term
       (threshold.inverse_checking_pass). */
    static double fastata_inverse_checking_scalar(const double *lam, double *inv, const int64_t *lo,
                                                  const int64_t *hi, ptrdiff_t n, double s, double s2,
                                                  int64_t budget, double *estimate, double *second,
                                                  double *slope, double *check) {
        double none[2] = {0.0, 0.0}, top = 0.0, flagged = check[0];
        int64_t counts[3] = {0, 0, 0};
        double sum = fastata_inverse_scalar(lam, inv, n, counts, 1.0, 0.0, 0.0, HUGE_VAL, none, &top);
        unsigned int state = fastata_flush_tiny();  /* the divisions are done */
        *estimate += fastata_estimate_scalar(inv, lo, hi, n, s, budget, slope, check);  /* + bad bounds */
        if (counts[0] > 0) {  /* an invalid lam: each worker flagged once, for its lam or its bounds */
            for (ptrdiff_t i = 0; i < n; i++)
                flagged += !(lam[i] >= 0.0)
                           || fastata_bad_bound1(fastata_low1(lo, i, inv[i] != 0.0), hi[i], budget, inv[i]);
            check[0] = flagged;
        }
        *second += fastata_estimate_scalar(inv, lo, hi, n, s2, budget, NULL, NULL);
        fastata_restore_tiny(state);
        return sum;
    }

    #if FASTATA_X86_SIMD
    #define FASTATA_CHECKING_SPECIALISED(body)                                                  \
        const int shared = fastata_bounds_kind(hi) == FASTATA_SHARED;                         \
        if (least > 0.0) {                                                                    \
            if (shared)                                                                       \
                return body(lam, inv, lo, hi, n, s, s2, budget, estimate, second, slope, check, \
                            least, 1, 1);                                                     \
            return body(lam, inv, lo, hi, n, s, s2, budget, estimate, second, slope, check,     \
                        least, 1, 0);                                                         \
        }                                                                                     \
        if (shared)                                                                           \
            return body(lam, inv, lo, hi, n, s, s2, budget, estimate, second, slope, check,     \
                        least, 0, 1);                                                         \
        return body(lam, inv, lo, hi, n, s, s2, budget, estimate, second, slope, check, least, 0, 0);

    __attribute__((target("avx512f,avx512dq")))
    static inline __attribute__((always_inline)) double
    fastata_inverse_checking_avx512_body(const double *lam, double *inv, const int64_t *lo,
                                         const int64_t *hi, ptrdiff_t n, double s, double s2,
                                         int64_t budget, double *estimate, double *second,
                                         double *slope, double *check, double least, const int clamping,
                                         const int shared) {
        const __m512d zero = _mm512_setzero_pd(), vs = _mm512_set1_pd(s), vs2 = _mm512_set1_pd(s2);
        const __m512d vleast = _mm512_set1_pd(least), one = _mm512_set1_pd(1.0);
        const __m512i vbudget = _mm512_set1_epi64(budget);
        /* shared bounds: every worker's, checked here as any worker's (the compiler takes
           what depends on them alone out of the loop) */
        const __m512i l0 = _mm512_set1_epi64(shared && n > 0 ? lo[0] : 0);
        const __m512i h0 = _mm512_set1_epi64(shared && n > 0 ? hi[0] : 0);
        const __m512d low0 = _mm512_cvtepi64_pd(l0);
        __m512d sum = zero, t0 = zero, t1 = zero, u = zero;
        __m512d moving = zero, bad = zero, taken = zero, capacity = zero, room = zero, whole = zero;
        ptrdiff_t i = 0;
        for (; i + 8 <= n; i += 8) {
            /* fastata_inverse8 without its counts and maximum; an invalid lam flags its lane */
            __m512d x = _mm512_loadu_pd(lam + i);
            __m512d v = _mm512_div_pd(one, _mm512_add_pd(x, zero));
            sum = _mm512_mask_add_pd(sum, _mm512_cmp_pd_mask(x, zero, _CMP_GT_OQ), sum, v);
            _mm512_storeu_pd(inv + i, v);
            /* fastata_estimate_avx512_body with slope and check, on v */
            const __mmask8 kept = shared ? _mm512_cmp_pd_mask(v, zero, _CMP_NEQ_UQ) : 0xFF;  /* fastata_low1 */
            __m512i l = shared ? _mm512_maskz_mov_epi64(kept, l0) : _mm512_loadu_si512((const void *)(lo + i));
            __m512i h = shared ? h0 : _mm512_loadu_si512((const void *)(hi + i));
            __m512d cap = _mm512_cvtepi64_pd(_mm512_min_epi64(h, vbudget));
            __m512d low = shared ? _mm512_maskz_mov_pd(kept, low0) : _mm512_cvtepi64_pd(l);
            __m512d w = clamping ? _mm512_max_pd(v, vleast) : v;
            __m512d c = _mm512_roundscale_pd(_mm512_min_pd(_mm512_mul_pd(vs, w), cap),
                                             _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            u = _mm512_add_pd(u, _mm512_max_pd(_mm512_roundscale_pd(_mm512_min_pd(_mm512_mul_pd(vs2, w), cap),
                                                                    _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC),
                                               low));
            moving = _mm512_mask_add_pd(moving, _mm512_cmp_pd_mask(c, low, _CMP_GE_OQ)
                                                & _mm512_cmp_pd_mask(c, cap, _CMP_LT_OQ), moving, v);
            fastata_check8(v, l, h, low, cap, vbudget, _mm512_cmp_pd_mask(x, zero, _CMP_NGE_UQ), &bad, &taken,
                           &capacity, &room, &whole);
            c = _mm512_max_pd(c, low);
            if (i & 8)
                t1 = _mm512_add_pd(t1, c);
            else
                t0 = _mm512_add_pd(t0, c);
        }
        *estimate += _mm512_reduce_add_pd(_mm512_add_pd(t0, t1));
        *second += _mm512_reduce_add_pd(u);
        *slope += _mm512_reduce_add_pd(moving);
        check[0] += _mm512_reduce_add_pd(bad);
        check[1] += _mm512_reduce_add_pd(taken);
        check[2] += _mm512_reduce_add_pd(capacity);
        check[3] += _mm512_reduce_add_pd(room);
        check[4] = fmax(check[4], _mm512_reduce_max_pd(whole));
        double head = _mm512_reduce_add_pd(sum);
        FASTATA_CLEAN_UPPER();
        return head + fastata_inverse_checking_scalar(lam + i, inv + i, lo + i, hi + i, n - i, s, s2, budget,
                                                      estimate, second, slope, check);
    }

    __attribute__((target("avx512f,avx512dq")))
    static double fastata_inverse_checking_avx512(const double *lam, double *inv, const int64_t *lo,
                                                  const int64_t *hi, ptrdiff_t n, double s, double s2,
                                                  int64_t budget, double *estimate, double *second, double *slope,
                                                  double *check, double least) {
        FASTATA_CHECKING_SPECIALISED(fastata_inverse_checking_avx512_body)
    }

    /* The AVX2 validation pass's estimates on 4 workers (v = 1/lam; w = v, or max(v, least)):
       adds the estimate at s2 to *u, and v to *moving where no bound holds the count at s;
       returns the count at s, held to [low, cap]. */
    __attribute__((target("avx2")))
    static inline __attribute__((always_inline)) __m256d
    fastata_checking_terms4(__m256d v, __m256d w, __m256d vs, __m256d vs2, __m256d cap, __m256d low,
                            __m256d *u, __m256d *moving) {
        __m256d c = _mm256_round_pd(_mm256_min_pd(_mm256_mul_pd(vs, w), cap), _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
        *u = _mm256_add_pd(*u, _mm256_max_pd(_mm256_round_pd(_mm256_min_pd(_mm256_mul_pd(vs2, w), cap),
                                                             _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC),
                                             low));
        *moving = _mm256_add_pd(*moving, _mm256_and_pd(_mm256_and_pd(_mm256_cmp_pd(c, low, _CMP_GE_OQ),
                                                                     _mm256_cmp_pd(c, cap, _CMP_LT_OQ)), v));
        return _mm256_max_pd(c, low);
    }

    /* Workers a block of the AVX2 validation pass with bounds checks at once. */
    #define FASTATA_CHECK_BLOCK 512

    /* fastata_inverse_checking_avx2_body's loop over the first lanes (a multiple of 4) of
       workers, in blocks of FASTATA_CHECK_BLOCK checked as a whole: AVX2 has no 64-bit
       minimum, and the exact loop's checks per lane cost more than its estimates (65,536
       workers: 2.8 -> 2.4 times a pass of the division alone). A block is valid when no
       sign bit shows in its minimums, its caps, the room between and lam (a negative value,
       or a minimum above its cap or the budget), no unavailable worker has a minimum, and
       the sum of 1/lam stays finite (no NaN or subnormal lam; no lam = 0 either, unless
       zeros, where a lam = 0 worker's 1/lam = inf is left out of the sum and its room above
       its minimum is added up, as the exact loop does). Its terms are the exact loop's on
       such workers, added in the same order (the estimate at s multiplied by max(1/lam,
       least), which is 1/lam for least = 0 on them). state: the accumulators sum, t0, t1, u,
       moving, taken, capacity, whole, room, in and out. Returns where the exact loop goes
       on: lanes, or the first block from start not valid, with state as it was before it.
       In a function of its own:
       inlined, the exact loop's registers spilled its accumulators to memory. */
    __attribute__((target("avx2")))
    static inline __attribute__((always_inline)) ptrdiff_t
    fastata_checked_blocks_avx2_body(const double *lam, double *inv, const int64_t *lo, const int64_t *hi,
                                     ptrdiff_t start, ptrdiff_t lanes, double s, double s2, int64_t budget,
                                     double least, __m256d *state, const int clamping, const int shared,
                                     const int zeros) {
        const __m256d zero = _mm256_setzero_pd(), one = _mm256_set1_pd(1.0);
        const __m256d vs = _mm256_set1_pd(s), vs2 = _mm256_set1_pd(s2), vleast = _mm256_set1_pd(least);
        const __m256i vbudget = _mm256_set1_epi64x(budget), below_budget = _mm256_set1_epi64x(budget - 1);
        /* shared bounds: every worker's, checked with each as any worker's (the compiler
           takes what depends on them alone out of the loop) */
        const __m256i l0 = _mm256_set1_epi64x(shared && lanes > 0 ? lo[0] : 0);
        const __m256i h0 = _mm256_set1_epi64x(shared && lanes > 0 ? hi[0] : 0);
        const __m256d low0 = fastata_to_double4(l0);
        const __m256d cap0 = fastata_to_double4(_mm256_blendv_epi8(h0, vbudget, _mm256_cmpgt_epi64(h0, below_budget)));
        /* one sum of the counts (t0 and t1 of the exact loop: sums of integers, exact in any
           order): a register fewer, of AVX2's sixteen */
        __m256d sum = state[0], t = zero, u = state[3], moving = state[4];
        __m256d taken = state[5], capacity = state[6], whole = state[7], room = state[8];
        ptrdiff_t i = start;
        while (i < lanes) {
            const ptrdiff_t end = i + FASTATA_CHECK_BLOCK < lanes ? i + FASTATA_CHECK_BLOCK : lanes;
            __m256i signs = _mm256_setzero_si256(), gone = signs;
            for (ptrdiff_t j = i; j < end; j += 4) {
                __m256d x = _mm256_loadu_pd(lam + j);
                __m256d v = _mm256_div_pd(one, _mm256_add_pd(x, zero));
                const __m256d free = zeros ? _mm256_cmp_pd(x, zero, _CMP_EQ_OQ) : zero;  /* lam = 0 */
                sum = _mm256_add_pd(sum, zeros ? _mm256_andnot_pd(free, v) : v);
                _mm256_storeu_pd(inv + j, v);
                __m256i l = shared ? l0 : _mm256_loadu_si256((const __m256i *)(lo + j));
                __m256i h = shared ? h0 : _mm256_loadu_si256((const __m256i *)(hi + j));
                __m256i holds = _mm256_cmpgt_epi64(h, below_budget);  /* max_tasks >= budget */
                __m256i high = _mm256_blendv_epi8(h, vbudget, holds);
                __m256d cap = fastata_to_double4(high), low = shared ? low0 : fastata_to_double4(l);
                __m256d none = _mm256_cmp_pd(v, zero, _CMP_EQ_OQ);  /* lam = +inf */
                signs = _mm256_or_si256(signs, _mm256_or_si256(_mm256_or_si256(l, high),
                                        _mm256_or_si256(_mm256_sub_epi64(high, l), _mm256_castpd_si256(x))));
                if (shared)  /* the minimum is the available workers' (fastata_low1): taken off below */
                    gone = _mm256_sub_epi64(gone, _mm256_castpd_si256(none));
                else  /* a minimum on an unavailable worker: its negation's sign */
                    signs = _mm256_or_si256(signs, _mm256_sub_epi64(_mm256_setzero_si256(),
                                                                    _mm256_and_si256(_mm256_castpd_si256(none), l)));
                t = _mm256_add_pd(t, fastata_checking_terms4(v, clamping ? _mm256_max_pd(v, vleast) : v, vs, vs2,
                                                             cap, low, &u, &moving));
                if (!shared) {  /* shared: from the block's count of available workers, below */
                    taken = _mm256_add_pd(taken, low);
                    capacity = _mm256_add_pd(capacity, _mm256_andnot_pd(none, cap));
                }
                whole = _mm256_max_pd(whole, _mm256_and_pd(_mm256_castsi256_pd(holds), v));
                if (zeros)
                    room = _mm256_add_pd(room, _mm256_and_pd(free, _mm256_sub_pd(cap, low)));
            }
            __m256d finite = _mm256_cmp_pd(_mm256_sub_pd(sum, sum), zero, _CMP_EQ_OQ);  /* not inf, not NaN */
            if (_mm256_movemask_pd(_mm256_castsi256_pd(signs)) || _mm256_movemask_pd(finite) != 15)
                return i;
            if (shared) {
                /* each unavailable lane counted the minimum in two sums of integers: exact. The
                   minimums and caps of the block's available workers: a product each (exact as
                   the sums were, and as monotone past 2**53). Summed a lane at a time, those
                   accumulators left AVX2's sixteen registers and each step waited on memory:
                   mended, calls take 0.87-0.96x the time on a Zen 3 from 4096 workers. */
                const __m256d gone_d = fastata_to_double4(gone);
                const __m256d kept = _mm256_sub_pd(_mm256_set1_pd((double)((end - i) / 4)), gone_d);
                __m256d fix = _mm256_mul_pd(gone_d, low0);
                t = _mm256_sub_pd(t, fix);
                u = _mm256_sub_pd(u, fix);
                taken = _mm256_add_pd(taken, _mm256_mul_pd(kept, low0));
                capacity = _mm256_add_pd(capacity, _mm256_mul_pd(kept, cap0));
            }
            state[0] = sum;
            state[1] = _mm256_add_pd(state[1], t);
            t = zero;
            state[3] = u;
            state[4] = moving;
            state[5] = taken;
            state[6] = capacity;
            state[7] = whole;
            state[8] = room;
            i = end;
        }
        return i;
    }

    /* The blocks' loop compiled apart for each kind of call: least > 0 (clamping), bounds
       shared, lam = 0 workers among the workers (zeros: their 1/lam left out of the sum and
       their room added up, two operations a lane that blocks without them do not pay). */
    #define FASTATA_CHECKED_BLOCKS(clamping, shared, zeros)                                      \
        fastata_checked_blocks_avx2_body(lam, inv, lo, hi, start, lanes, s, s2, budget, least, state, \
                                         clamping, shared, zeros)

    __attribute__((target("avx2"), noinline))
    static ptrdiff_t fastata_checked_blocks_avx2(const double *lam, double *inv, const int64_t *lo,
                                                 const int64_t *hi, ptrdiff_t start, ptrdiff_t lanes, double s,
                                                 double s2, int64_t budget, double least, __m256d *state,
                                                 int shared, int zeros) {
        if (zeros) {
            if (least > 0.0)
                return shared ? FASTATA_CHECKED_BLOCKS(1, 1, 1) : FASTATA_CHECKED_BLOCKS(1, 0, 1);
            return shared ? FASTATA_CHECKED_BLOCKS(0, 1, 1) : FASTATA_CHECKED_BLOCKS(0, 0, 1);
        }
        if (least > 0.0)
            return shared ? FASTATA_CHECKED_BLOCKS(1, 1, 0) : FASTATA_CHECKED_BLOCKS(1, 0, 0);
        return shared ? FASTATA_CHECKED_BLOCKS(0, 1, 0) : FASTATA_CHECKED_BLOCKS(0, 0, 0);
    }

    __attribute__((target("avx2")))
    static inline __attribute__((always_inline)) double
    fastata_inverse_checking_avx2_body(const double *lam, double *inv, const int64_t *lo,
                                       const int64_t *hi, ptrdiff_t n, double s, double s2,
                                       int64_t budget, double *estimate, double *second,
                                       double *slope, double *check, double least, const int clamping,
                                       const int shared) {
        const __m256d zero = _mm256_setzero_pd(), vs = _mm256_set1_pd(s), vs2 = _mm256_set1_pd(s2);
        const __m256d vleast = _mm256_set1_pd(least), one = _mm256_set1_pd(1.0);
        const __m256i vbudget = _mm256_set1_epi64x(budget);
        __m256d sum = zero, t0 = zero, t1 = zero, u = zero;
        __m256d moving = zero, bad = zero, taken = zero, capacity = zero, room = zero, whole = zero;
        const __m256d dbudget = _mm256_set1_pd((double)budget);
        /* The blocks of valid workers first (fastata_checked_blocks_avx2), the rest exactly. */
        __m256d state[9] = {sum, t0, t1, u, moving, taken, capacity, whole, room};
        const ptrdiff_t lanes = n & ~(ptrdiff_t)3;
        ptrdiff_t i = fastata_checked_blocks_avx2(lam, inv, lo, hi, 0, lanes, s, s2, budget, clamping ? least : 0.0,
                                                  state, shared, 0);
        if (i < lanes)  /* lam = 0 workers, say: from that block on, the loop that counts them apart */
            i = fastata_checked_blocks_avx2(lam, inv, lo, hi, i, lanes, s, s2, budget, clamping ? least : 0.0,
                                            state, shared, 1);
        sum = state[0];
        t0 = state[1];
        t1 = state[2];
        u = state[3];
        moving = state[4];
        taken = state[5];
        capacity = state[6];
        whole = state[7];
        room = state[8];
        for (; i + 4 <= n; i += 4) {
            /* fastata_inverse4 without its counts and maximum; an invalid lam flags its lane */
            __m256d x = _mm256_loadu_pd(lam + i);
            __m256d v = _mm256_div_pd(one, _mm256_add_pd(x, zero));
            sum = _mm256_add_pd(sum, _mm256_and_pd(_mm256_cmp_pd(x, zero, _CMP_GT_OQ), v));
            _mm256_storeu_pd(inv + i, v);
            /* fastata_estimate_avx2_body with slope and check, on v */
            __m256i l = _mm256_loadu_si256((const __m256i *)(lo + i)), h = _mm256_loadu_si256((const __m256i *)(hi + i));
            if (shared)  /* fastata_low1 */
                l = _mm256_and_si256(l, _mm256_castpd_si256(_mm256_cmp_pd(v, zero, _CMP_NEQ_UQ)));
            __m256d cap = fastata_to_double4(_mm256_blendv_epi8(h, vbudget, _mm256_cmpgt_epi64(h, vbudget)));
            __m256d low = fastata_to_double4(l);
            __m256d c = fastata_checking_terms4(v, clamping ? _mm256_max_pd(v, vleast) : v, vs, vs2, cap, low, &u,
                                                &moving);
            fastata_check4(v, l, h, low, cap, vbudget, _mm256_castpd_si256(_mm256_cmp_pd(x, zero, _CMP_NGE_UQ)),
                           &bad, &taken, &capacity, &room, &whole, dbudget);
            if (i & 4)
                t1 = _mm256_add_pd(t1, c);
            else
                t0 = _mm256_add_pd(t0, c);
        }
        *estimate += fastata_sum4(_mm256_add_pd(t0, t1));
        *second += fastata_sum4(u);
        *slope += fastata_sum4(moving);
        check[0] += fastata_sum4(bad);
        check[1] += fastata_sum4(taken);
        check[2] += fastata_sum4(capacity);
        check[3] += fastata_sum4(room);
        check[4] = fastata_max4(whole, check[4]);
        double head = fastata_sum4(sum);
        FASTATA_CLEAN_UPPER();
        return head + fastata_inverse_checking_scalar(lam + i, inv + i, lo + i, hi + i, n - i, s, s2, budget,
                                                      estimate, second, slope, check);
    }

    __attribute__((target("avx2")))
    static double fastata_inverse_checking_avx2(const double *lam, double *inv, const int64_t *lo,
                                                const int64_t *hi, ptrdiff_t n, double s, double s2,
                                                int64_t budget, double *estimate, double *second, double *slope,
                                                double *check, double least) {
        FASTATA_CHECKING_SPECIALISED(fastata_inverse_checking_avx2_body)
    }
    #endif

    static double fastata_inverse_checking_at(int level, const double *lam, double *inv,
                                              const int64_t *lo, const int64_t *hi, ptrdiff_t n,
                                              double s, double s2, int64_t budget, double *estimate,
                                              double *second, double *slope, double *check, double least) {
        *estimate = *second = *slope = 0.0;
        check[0] = check[1] = check[2] = check[3] = check[4] = 0.0;
    #if FASTATA_X86_SIMD
        if (level == FASTATA_AVX512)
            return fastata_inverse_checking_avx512(lam, inv, lo, hi, n, s, s2, budget, estimate, second, slope,
                                                   check, least);
        if (level == FASTATA_AVX2)
            return fastata_inverse_checking_avx2(lam, inv, lo, hi, n, s, s2, budget, estimate, second, slope,
                                                 check, least);
    #endif
        return fastata_inverse_checking_scalar(lam, inv, lo, hi, n, s, s2, budget, estimate, second, slope, check);
    }

    /* threshold.estimate_pair_into: fastata_estimate_at at s and at s2 in one pass, into
       totals[0] and totals[1] (1/lam and the bounds are read once for both); lo and hi NULL:
       no bounds (each loop compiled for both, so that no test of them sits in the loop). */
    #define FASTATA_PAIR_SPECIALISED(body)                                                      \
        if (lo == NULL)                                                                       \
            body(inv, lo, hi, n, s, s2, budget, totals, 0);                                   \
        else                                                                                  \
            body(inv, lo, hi, n, s, s2, budget, totals, 1);

    /* ... and of the vector passes, with shared bounds apart (fastata_bounds_kind) */
    #define FASTATA_PAIR_KINDS(body)                                                            \
        switch (fastata_bounds_kind(hi)) {                                                    \
        case FASTATA_UNBOUNDED:                                                               \
            body(inv, lo, hi, n, s, s2, budget, totals, FASTATA_UNBOUNDED);                   \
            break;                                                                            \
        case FASTATA_SHARED:                                                                  \
            body(inv, lo, hi, n, s, s2, budget, totals, FASTATA_SHARED);                      \
            break;                                                                            \
        default:                                                                              \
            body(inv, lo, hi, n, s, s2, budget, totals, FASTATA_PER_WORKER);                  \
        }

    static inline __attribute__((always_inline)) void
    fastata_estimate_pair_scalar_body(const double *inv, const int64_t *lo, const int64_t *hi,
                                      ptrdiff_t n, double s, double s2, int64_t budget,
                                      double *totals, const int bounded) {
        double total = 0.0, total2 = 0.0;
        const int shared = fastata_shared_bounds;
        for (ptrdiff_t i = 0; i < n; i++) {
            double cap = bounded ? fastata_cap1(hi, i, budget) : (double)budget;
            double low = bounded ? (double)fastata_low_at(lo, i, shared, inv[i] != 0.0) : 0.0;
            double q = s * inv[i], q2 = s2 * inv[i];
            double c = trunc(q < cap ? q : cap), c2 = trunc(q2 < cap ? q2 : cap);
            total += c < low ? low : c;
            total2 += c2 < low ? low : c2;
        }
        totals[0] += total;
        totals[1] += total2;
    }

    static void fastata_estimate_pair_scalar(const double *inv, const int64_t *lo, const int64_t *hi,
                                             ptrdiff_t n, double s, double s2, int64_t budget,
                                             double *totals) {
        FASTATA_PAIR_SPECIALISED(fastata_estimate_pair_scalar_body)
    }

    #if FASTATA_X86_SIMD
    __attribute__((target("avx512f,avx512dq")))
    static inline __attribute__((always_inline)) void
    fastata_estimate_pair_avx512_body(const double *inv, const int64_t *lo, const int64_t *hi,
                                      ptrdiff_t n, double s, double s2, int64_t budget,
                                      double *totals, const int bounded) {
        const __m512d vs = _mm512_set1_pd(s), vs2 = _mm512_set1_pd(s2);
        const __m512i vbudget = _mm512_set1_epi64(budget);
        __m512d cap = _mm512_set1_pd((double)budget), low = _mm512_setzero_pd();
        __m512d t0 = _mm512_setzero_pd(), t1 = t0;
        ptrdiff_t i = 0;
        if (bounded == FASTATA_SHARED && n >= 8)
            fastata_shared8(lo, hi, budget, &cap, &low);
        for (; i + 8 <= n; i += 8) {
            if (bounded == FASTATA_PER_WORKER) {
                cap = fastata_cap8(hi + i, vbudget);
                low = _mm512_cvtepi64_pd(_mm512_loadu_si512((const void *)(lo + i)));
            }
            __m512d x = _mm512_loadu_pd(inv + i);
            __m512d c = _mm512_roundscale_pd(_mm512_min_pd(_mm512_mul_pd(vs, x), cap),
                                             _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            __m512d c2 = _mm512_roundscale_pd(_mm512_min_pd(_mm512_mul_pd(vs2, x), cap),
                                              _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            __m512d floor = bounded == FASTATA_SHARED ? fastata_low8(low, x, 0.0) : low;
            t0 = _mm512_add_pd(t0, bounded ? _mm512_max_pd(c, floor) : c);
            t1 = _mm512_add_pd(t1, bounded ? _mm512_max_pd(c2, floor) : c2);
        }
        totals[0] += _mm512_reduce_add_pd(t0);
        totals[1] += _mm512_reduce_add_pd(t1);
        FASTATA_CLEAN_UPPER();
        fastata_estimate_pair_scalar(inv + i, lo ? lo + i : NULL, hi ? hi + i : NULL, n - i, s, s2, budget, totals);
    }

    __attribute__((target("avx512f,avx512dq")))
    static void fastata_estimate_pair_avx512(const double *inv, const int64_t *lo, const int64_t *hi,
                                             ptrdiff_t n, double s, double s2, int64_t budget,
                                             double *totals) {
        FASTATA_PAIR_KINDS(fastata_estimate_pair_avx512_body)
    }

    __attribute__((target("avx2")))
    static inline __attribute__((always_inline)) void
    fastata_estimate_pair_avx2_body(const double *inv, const int64_t *lo, const int64_t *hi,
                                    ptrdiff_t n, double s, double s2, int64_t budget,
                                    double *totals, const int bounded) {
        const __m256d vs = _mm256_set1_pd(s), vs2 = _mm256_set1_pd(s2);
        const __m256i vbudget = _mm256_set1_epi64x(budget);
        __m256d cap = _mm256_set1_pd((double)budget), low = _mm256_setzero_pd();
        __m256d t0 = _mm256_setzero_pd(), t1 = t0;
        ptrdiff_t i = 0;
        if (bounded == FASTATA_SHARED && n >= 4)
            fastata_shared4(lo, hi, budget, &cap, &low);
        for (; i + 4 <= n; i += 4) {
            if (bounded == FASTATA_PER_WORKER) {
                cap = fastata_cap4(hi + i, vbudget);
                low = fastata_to_double4(_mm256_loadu_si256((const __m256i *)(lo + i)));
            }
            __m256d x = _mm256_loadu_pd(inv + i);
            __m256d c = _mm256_round_pd(_mm256_min_pd(_mm256_mul_pd(vs, x), cap),
                                        _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            __m256d c2 = _mm256_round_pd(_mm256_min_pd(_mm256_mul_pd(vs2, x), cap),
                                         _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            __m256d floor = bounded == FASTATA_SHARED ? fastata_low4(low, x, 0.0) : low;
            t0 = _mm256_add_pd(t0, bounded ? _mm256_max_pd(c, floor) : c);
            t1 = _mm256_add_pd(t1, bounded ? _mm256_max_pd(c2, floor) : c2);
        }
        totals[0] += fastata_sum4(t0);
        totals[1] += fastata_sum4(t1);
        FASTATA_CLEAN_UPPER();
        fastata_estimate_pair_scalar(inv + i, lo ? lo + i : NULL, hi ? hi + i : NULL, n - i, s, s2, budget, totals);
    }

    __attribute__((target("avx2")))
    static void fastata_estimate_pair_avx2(const double *inv, const int64_t *lo, const int64_t *hi,
                                           ptrdiff_t n, double s, double s2, int64_t budget,
                                           double *totals) {
        FASTATA_PAIR_KINDS(fastata_estimate_pair_avx2_body)
    }
    #endif

    /* totals[0..1] start at 0; lo and hi may be NULL (no bounds); budget < 2**51. */
    static void fastata_estimate_pair_at(int level, const double *inv, const int64_t *lo,
                                         const int64_t *hi, ptrdiff_t n, double s, double s2,
                                         int64_t budget, double *totals) {
        unsigned int state = fastata_flush_tiny();
        totals[0] = totals[1] = 0.0;
    #if FASTATA_X86_SIMD
        if (level == FASTATA_AVX512)
            fastata_estimate_pair_avx512(inv, lo, hi, n, s, s2, budget, totals);
        else if (level == FASTATA_AVX2)
            fastata_estimate_pair_avx2(inv, lo, hi, n, s, s2, budget, totals);
        else
    #endif
            fastata_estimate_pair_scalar(inv, lo, hi, n, s, s2, budget, totals);
        fastata_restore_tiny(state);
    }

    /* sums[0..3] start at 0, +inf, 0 and 0; lo and hi may be NULL (no bounds); budget < 2**51. */
    static double fastata_split_at(int level, const double *lam, const double *inv, const int64_t *lo,
                                   const int64_t *hi, int64_t *out, ptrdiff_t n,
                                   double t, int64_t budget, double *sums) {
        sums[0] = 0.0;
        sums[1] = HUGE_VAL;
        sums[2] = 0.0;
        sums[3] = 0.0;
    #if FASTATA_X86_SIMD
        if (level == FASTATA_AVX512)
            return fastata_split_avx512(lam, inv, lo, hi, out, n, t, budget, sums);
        if (level == FASTATA_AVX2)
            return fastata_split_avx2(lam, inv, lo, hi, out, n, t, budget, sums);
    #endif
        return fastata_split_scalar(lam, inv, lo, hi, out, n, t, budget, sums);
    }

    /* threshold.sampled_relaxation_at: sums[0..2] = the sum, the sum of squares and the slope
       over the m sampled workers in blocks of four (threshold.sample_slot; the last block
       padded with terms of 0), each sum in four lanes added up as (0 + 1) + (2 + 3). */
    static void fastata_relaxation_lanes_scalar(const double *scratch, ptrdiff_t blocks, double t,
                                                double *lanes) {
        const double least = 0.25 / t;
        for (int l = 0; l < 12; l++)
            lanes[l] = 0.0;
        for (ptrdiff_t b = 0; b < blocks; b++) {
            const double *p = scratch + 12 * b;
            for (int l = 0; l < 4; l++) {
                double v = p[l], low = p[4 + l], cap = p[8 + l];
                double q = t * (v > least ? v : least) - 0.5;
                double c = q > low ? q : low;
                c = c < cap ? c : cap;
                lanes[l] += c;
                lanes[4 + l] += c * c;
                lanes[8 + l] += (low < q) & (q < cap) ? v : 0.0;
            }
        }
    }

    #if FASTATA_X86_SIMD
    __attribute__((target("avx2")))
    static void fastata_relaxation_lanes_avx2(const double *scratch, ptrdiff_t blocks, double t, double *lanes) {
        const __m256d vt = _mm256_set1_pd(t), least = _mm256_set1_pd(0.25 / t), half = _mm256_set1_pd(0.5);
        __m256d total = _mm256_setzero_pd(), squares = total, slope = total;
        for (ptrdiff_t b = 0; b < blocks; b++) {
            const double *p = scratch + 12 * b;
            __m256d v = _mm256_loadu_pd(p), low = _mm256_loadu_pd(p + 4), cap = _mm256_loadu_pd(p + 8);
            /* max_pd(a, b), min_pd(a, b): a > b ? a : b and a < b ? a : b, lane by lane */
            __m256d q = _mm256_sub_pd(_mm256_mul_pd(vt, _mm256_max_pd(v, least)), half);
            __m256d c = _mm256_min_pd(_mm256_max_pd(q, low), cap);
            total = _mm256_add_pd(total, c);
            squares = _mm256_add_pd(squares, _mm256_mul_pd(c, c));
            slope = _mm256_add_pd(slope, _mm256_and_pd(_mm256_and_pd(_mm256_cmp_pd(low, q, _CMP_LT_OQ),
                                                                     _mm256_cmp_pd(q, cap, _CMP_LT_OQ)), v));
        }
        _mm256_storeu_pd(lanes, total);
        _mm256_storeu_pd(lanes + 4, squares);
        _mm256_storeu_pd(lanes + 8, slope);
    }
    #endif

    static void fastata_sampled_relaxation(int level, const double *scratch, ptrdiff_t m, double t, double *sums) {
        double lanes[12];
        ptrdiff_t blocks = (m + 3) >> 2;
    #if FASTATA_X86_SIMD
        if (level == FASTATA_AVX512 || level == FASTATA_AVX2)
            fastata_relaxation_lanes_avx2(scratch, blocks, t, lanes);
        else
    #endif
            fastata_relaxation_lanes_scalar(scratch, blocks, t, lanes);
        for (int k = 0; k < 3; k++)
            sums[k] = (lanes[4 * k] + lanes[4 * k + 1]) + (lanes[4 * k + 2] + lanes[4 * k + 3]);
    }

    /* The minimums of one min_tasks for every worker (reference.fit_available_minimum):
       low = value where lam < +inf, 0 where lam = +inf. bits, one a worker, say which workers
       the last call found unavailable; only the words of 32 workers whose bits changed are
       written, so a call whose unavailable workers are the last call's reads lam once and
       writes nothing. Returns how many workers are unavailable. */
    static int64_t fastata_fit_available_minimum_scalar(const double *lam, int64_t value, int64_t *low,
                                                        uint32_t *bits, ptrdiff_t n) {
        int64_t unavailable = 0;
        for (ptrdiff_t start = 0; start < n; start += 32) {
            ptrdiff_t m = n - start < 32 ? n - start : 32;
            uint32_t word = 0;
            for (ptrdiff_t i = 0; i < m; i++)
                word |= (uint32_t)(lam[start + i] == HUGE_VAL) << i;
            unavailable += __builtin_popcount(word);
            if (word != bits[start >> 5]) {
                bits[start >> 5] = word;
                fastata_minimums_scalar(lam + start, value, low + start, m);
            }
        }
        return unavailable;
    }

    #if FASTATA_X86_SIMD
    __attribute__((target("avx2,popcnt")))
    static int64_t fastata_fit_available_minimum_avx2(const double *lam, int64_t value, int64_t *low,
                                                      uint32_t *bits, ptrdiff_t n) {
        const __m256d inf = _mm256_set1_pd(HUGE_VAL);
        int64_t unavailable = 0;
        ptrdiff_t start = 0;
        for (; start + 32 <= n; start += 32) {
            uint32_t word = 0;
            for (int k = 0; k < 8; k++)
                word |= (uint32_t)_mm256_movemask_pd(_mm256_cmp_pd(_mm256_loadu_pd(lam + start + 4 * k), inf,
                                                                   _CMP_EQ_OQ)) << (4 * k);
            unavailable += __builtin_popcount(word);
            if (word != bits[start >> 5]) {
                bits[start >> 5] = word;
                fastata_minimums_scalar(lam + start, value, low + start, 32);
            }
        }
        FASTATA_CLEAN_UPPER();
        return unavailable + fastata_fit_available_minimum_scalar(lam + start, value, low + start,
                                                                  bits + (start >> 5), n - start);
    }
    #endif

    static int64_t fastata_fit_available_minimum(int level, const double *lam, int64_t value, int64_t *low,
                                                 uint32_t *bits, ptrdiff_t n) {
    #if FASTATA_X86_SIMD
        if (level == FASTATA_AVX512 || level == FASTATA_AVX2)
            return fastata_fit_available_minimum_avx2(lam, value, low, bits, n);
    #endif
        return fastata_fit_available_minimum_scalar(lam, value, low, bits, n);
    }
    """
    int best_level "fastata_best_level"() noexcept nogil
    int64_t fit_available_minimum_at "fastata_fit_available_minimum"(int level, const double* lam, int64_t value,
                                                                      int64_t* low, uint32_t* bits,
                                                                      Py_ssize_t n) noexcept nogil
    void sampled_relaxation_sums "fastata_sampled_relaxation"(int level, const double* scratch, Py_ssize_t m,
                                                              double t, double* sums) noexcept nogil
    void add_samples "fastata_add_samples"(const int64_t* workers, const double* durations, Py_ssize_t m,
                                           double* counts, double* means, double* m2) noexcept nogil
    int samples_ok_at "fastata_samples_ok_at"(int level, const int64_t* workers,
                                             const double* durations, Py_ssize_t m,
                                             int64_t n) noexcept nogil
    int64_t minimum_of "fastata_low1"(const int64_t* lo, Py_ssize_t i, int available) noexcept nogil
    void minimums_at "fastata_minimums_at"(int level, const double* lam, const int64_t* lo, int64_t* out,
                                           Py_ssize_t n, int64_t taken) noexcept nogil
    void policy_bounds_at "fastata_bounds_at"(int level, const double* counts, const double* means,
                                              const unsigned char* available, Py_ssize_t n, int ata,
                                              double weight, double log_term, double* s) noexcept nogil
    double inverse_checking_at "fastata_inverse_checking_at"(int level, const double* lam, double* inv,
                                                             const int64_t* lo, const int64_t* hi,
                                                             Py_ssize_t n, double s, double s2, int64_t budget,
                                                             double* estimate, double* second, double* slope,
                                                             double* check, double least) noexcept nogil
    double count_one "fastata_count1"(double x, double inv, double t, double cap) noexcept nogil
    double count_at "fastata_count_at"(int level, const double* lam, const double* inv,
                                       int64_t* out, Py_ssize_t n, double t,
                                       double cap) noexcept nogil
    double inverse_at "fastata_inverse_at"(int level, const double* lam, double* inv, Py_ssize_t n,
                                           int64_t* counts, double s, double s2, double cap,
                                           double zero_above, double* estimate, double* top) noexcept nogil
    void prefix_at_zero_at "fastata_prefix_at_zero_at"(int level, const double* lam, const int64_t* lo,
                                                       const int64_t* hi, int64_t* out, Py_ssize_t n,
                                                       int64_t budget) noexcept nogil
    Py_ssize_t candidates_at "fastata_candidates_at"(int level, const double* lam, Py_ssize_t n, double cut,
                                                     Py_ssize_t most, int64_t* idx, double* times) noexcept nogil
    Py_ssize_t boundary_at "fastata_boundary_at"(int level, const double* lam, const int64_t* lo,
                                                 const int64_t* maxima, int64_t* out, Py_ssize_t n,
                                                 double hi_t, int64_t budget, int64_t* idx) noexcept nogil
    int64_t count_levels_at "fastata_count_levels_at"(int level, const int64_t* marks,
                                                      Py_ssize_t n, int64_t j,
                                                      int64_t* next) noexcept nogil
    int64_t count_up_to_level_at "fastata_count_up_to_level_at"(int level, const int64_t* marks,
                                                                Py_ssize_t n, int64_t j) noexcept nogil
    int64_t count_equal_at "fastata_count_equal_at"(int level, const int64_t* marks,
                                                    Py_ssize_t n, int64_t j) noexcept nogil
    void zero_room_at "fastata_zero_room_at"(int level, const double* lam, const int64_t* lo,
                                             const int64_t* hi, Py_ssize_t n, int64_t budget,
                                             int64_t* out, int64_t* ties, int64_t* range) noexcept nogil
    void overflow_room_at "fastata_overflow_room_at"(int level, const double* lam, const int64_t* hi,
                                                     Py_ssize_t n, int64_t budget, int64_t* out,
                                                     int64_t* ties, int64_t* sums) noexcept nogil
    void tied_span_at "fastata_tied_span_at"(int level, const int64_t* out, const int64_t* ties,
                                             Py_ssize_t n, int64_t lo, int64_t hi,
                                             int64_t* sums) noexcept nogil
    int64_t tied_up_to_at "fastata_tied_up_to_at"(int level, const int64_t* out, const int64_t* ties,
                                                  Py_ssize_t n, int64_t lo, int64_t j) noexcept nogil
    void take_below_at "fastata_take_below_at"(int level, int64_t* out, int64_t* ties, Py_ssize_t n,
                                               int64_t j) noexcept nogil
    int64_t marks_to_counts_at "fastata_marks_to_counts_at"(int level, int64_t* out,
                                                            Py_ssize_t n) noexcept nogil
    void take_levels_at "fastata_take_levels_at"(int level, int64_t* out, Py_ssize_t n, int64_t j,
                                                 Py_ssize_t cut) noexcept nogil
    int64_t divided_at "fastata_divided_at"(int level, const double* lam, const int64_t* lo,
                                            const int64_t* hi, int64_t* out, Py_ssize_t n, double t,
                                            int64_t budget, int64_t limit, double* ext) noexcept nogil
    int64_t split_divided_at "fastata_split_divided_at"(int level, const double* lam, const int64_t* lo,
                                                        const int64_t* hi, int64_t* out, Py_ssize_t n,
                                                        double t, int64_t budget, int64_t* sums) noexcept nogil
    void bucket_slots_at "fastata_bucket_slots_at"(int level, const int64_t* marks, Py_ssize_t n,
                                                   int64_t base, int64_t span, int shift,
                                                   int lane_bits, int64_t dump, int64_t dumps,
                                                   int64_t* where, int64_t* range) noexcept nogil
    double extremes_at "fastata_extremes_at"(int level, const double* lam, const double* inv,
                                             int64_t* out, Py_ssize_t n, double t, double cap,
                                             double* ext) noexcept nogil
    double bounded_at "fastata_bounded_at"(int level, const double* lam, const double* inv,
                                           const int64_t* lo, const int64_t* hi, int64_t* out,
                                           Py_ssize_t n, double t, int64_t budget,
                                           double* ext) noexcept nogil
    double count_list_at "fastata_count_list_at"(int level, const double* lam, const double* inv,
                                                 const int64_t* lo, const int64_t* hi, int64_t* out,
                                                 Py_ssize_t n, double t, int64_t budget, double hi_t,
                                                 int64_t* idx, Py_ssize_t* m) noexcept nogil
    void bounds_block_at "fastata_bounds_block_at"(int level, const double* lam, const int64_t* lo,
                                                   const int64_t* hi, Py_ssize_t n, int64_t limit,
                                                   int64_t* sums, double* least) noexcept nogil
    void finite_extremes_at "fastata_finite_extremes_at"(int level, const double* lam, const int64_t* hi,
                                                         Py_ssize_t n, int64_t budget, double* extremes,
                                                         int64_t* cap) noexcept nogil
    double estimate_at "fastata_estimate_at"(int level, const double* inv, const int64_t* lo,
                                             const int64_t* hi, Py_ssize_t n, double s,
                                             int64_t budget, double* slope, double* check) noexcept nogil
    void estimate_pair_at "fastata_estimate_pair_at"(int level, const double* inv, const int64_t* lo,
                                                     const int64_t* hi, Py_ssize_t n, double s, double s2,
                                                     int64_t budget, double* totals) noexcept nogil
    void set_shared_bounds "FASTATA_SET_SHARED_BOUNDS"(int on) noexcept nogil
    Py_ssize_t few_counts_at "fastata_few_counts_at"(int level, const double* lam, const int64_t* lo,
                                                     const int64_t* hi, int64_t budget, Py_ssize_t start,
                                                     Py_ssize_t n, const double* table, const int64_t* bounds,
                                                     int64_t* counts, int64_t* running) noexcept nogil
    void few_write_at "fastata_few_write_at"(int level, const double* lam, Py_ssize_t start, Py_ssize_t stop,
                                             const double* table, const int64_t* tasks,
                                             int64_t* out) noexcept nogil
    int64_t unit_counts_at "fastata_unit_counts_at"(int level, const double* lam, const int64_t* lo,
                                                    const int64_t* hi, Py_ssize_t n, int64_t budget,
                                                    const double* cuts, int64_t* counts,
                                                    int64_t* sums, double* least) noexcept nogil
    Py_ssize_t unit_write_at "fastata_unit_write_at"(int level, const double* lam, const int64_t* lo,
                                                     const int64_t* hi, Py_ssize_t n, int64_t budget,
                                                     double cut_lo, double cut_hi, int64_t* out,
                                                     int64_t* idx) noexcept nogil
    int shared_bounds "fastata_shared_bounds"
    int64_t unit_write_tied_at "fastata_unit_tied_at"(int level, const double* lam, Py_ssize_t n, int64_t low,
                                                      int64_t high, double cut, int64_t rank,
                                                      int64_t* out) noexcept nogil
    int64_t unit_write_tied_level_at "fastata_unit_tied_level_at"(int level, const double* lam, const int64_t* lo,
                                                                  const int64_t* hi, Py_ssize_t n, int64_t budget,
                                                                  double cut, int64_t rank,
                                                                  int64_t* out) noexcept nogil
    double split_at_level "fastata_split_at"(int level, const double* lam, const double* inv,
                                             const int64_t* lo, const int64_t* hi, int64_t* out,
                                             Py_ssize_t n, double t, int64_t budget,
                                             double* sums) noexcept nogil


SIMD_LEVELS = ("scalar", "avx2", "avx512")  # the C enum's order
cdef int BEST_LEVEL = best_level()
cdef int SIMD_LEVEL = BEST_LEVEL  # the passes' instruction set: the widest, unless a test sets it


# --- Counting passes (threshold.count_at and friends) ------------------------------------


cdef int64_t count_into_divided(const double[::1] lam, double t, int64_t budget, int64_t limit,
                                int64_t[::1] counts, double* ext, const int64_t* lo,
                                const int64_t* hi) noexcept nogil:
    # threshold.count_into_divided; lo and hi may be NULL (no bounds)
    return divided_at(SIMD_LEVEL, &lam[0], lo, hi, &counts[0], lam.shape[0], t, budget, limit, ext)


cdef int64_t count_at_t(const double[::1] lam, const double[::1] inv, double t, int64_t budget,
                        int64_t limit, bint fast, bint extremes, int64_t[::1] counts,
                        double* ext) noexcept nogil:
    # threshold.count_at: the count, and in ext[0], ext[1] the products next to t.
    cdef double total
    if not fast:
        return count_into_divided(lam, t, budget, limit, counts, ext, NULL, NULL)
    if extremes:
        total = extremes_at(SIMD_LEVEL, &lam[0], &inv[0], &counts[0], lam.shape[0], t,
                            <double>budget, ext)
    else:
        total = count_at(SIMD_LEVEL, &lam[0], &inv[0], &counts[0], lam.shape[0], t, <double>budget)
        ext[0] = t
        ext[1] = INFINITY
    return saturated(total, limit)


# Per-worker bounds (threshold.floor_at and friends): ``lo`` and ``hi`` point to min_tasks and
# max_tasks, or are NULL for none. The passes with bounds are plain loops; without, the
# SIMD passes above run, untouched.


cdef inline int64_t low_of(const int64_t* lo, Py_ssize_t i, bint available) noexcept nogil:
    # threshold.low_of: with shared bounds, the minimum of the available workers (fastata_low1)
    return 0 if lo == NULL else minimum_of(lo, i, available)


cdef inline int64_t high_of(const int64_t* hi, Py_ssize_t i, int64_t budget) noexcept nogil:
    return budget if hi == NULL or hi[i] > budget else hi[i]


cdef int64_t count_bounded(const double[::1] lam, const double[::1] inv, double t, int64_t budget,
                           int64_t limit, bint fast, bint extremes, int64_t[::1] counts,
                           double* ext, const int64_t* lo, const int64_t* hi) noexcept nogil:
    # count_at_t with bounds: each count clamped to [min_i, max_i] (threshold.count_at), in
    # one SIMD pass that also finds the products next to t (a plain count drops them).
    cdef double total
    if not fast:  # by division: budgets from 2**51, or 1/lam overflowed
        return count_into_divided(lam, t, budget, limit, counts, ext, lo, hi)
    total = bounded_at(SIMD_LEVEL, &lam[0], &inv[0], lo, hi, &counts[0], lam.shape[0], t, budget, ext)
    if not extremes:  # a plain count, as threshold.count_at: no products looked for
        ext[0] = t
        ext[1] = INFINITY
    return saturated(total, limit)


cdef int64_t count_either(const double[::1] lam, const double[::1] inv, double t, int64_t budget,
                          int64_t limit, double reach, bint extremes, int64_t[::1] counts,
                          double* ext, const int64_t* lo, const int64_t* hi) noexcept nogil:
    # threshold.count_at: from the stored 1/lam where t <= reach, else by division
    if lo == NULL:
        return count_at_t(lam, inv, t, budget, limit, t <= reach, extremes, counts, ext)
    return count_bounded(lam, inv, t, budget, limit, t <= reach, extremes, counts, ext, lo, hi)


# --- Validation, zeros and the first guess -----------------------------------------------


cdef int scan(const double[::1] lam, int64_t budget, double[::1] inv, double s, double s2,
              double zero_above, int64_t* n_zero, int64_t* n_avail, double* inv_sum, double* lam_min,
              double* estimate) noexcept nogil:
    # threshold.scan: one vectorised pass; only a NaN or negative entry, no available worker
    # or an overflowed 1/lam sends us to the exact pass. estimate[0], estimate[1]: the
    # estimates at s > 0 and s2 > 0 taken in the same pass, or -1
    cdef int64_t counts[3]
    cdef double total[2]
    cdef double top = 0.0
    counts[0] = counts[1] = counts[2] = 0
    inv_sum[0] = 0.0
    estimate[0] = estimate[1] = -1.0
    if lam.shape[0] > 0:
        inv_sum[0] = inverse_at(SIMD_LEVEL, &lam[0], &inv[0], lam.shape[0], counts, s if s > 0.0 else 1.0,
                                s2 if s > 0.0 else 0.0, <double>budget if s > 0.0 else 0.0, zero_above, total,
                                &top)
    if counts[0] > 0:
        return scan_exact(lam, budget, n_zero, n_avail, inv_sum, lam_min)
    if counts[1] > 0:
        n_zero[0] = counts[1]
        n_avail[0] = counts[2] - counts[1]
        lam_min[0] = 0.0
        return STATUS_OK
    if counts[2] == 0:
        return scan_exact(lam, budget, n_zero, n_avail, inv_sum, lam_min)
    n_zero[0] = 0
    n_avail[0] = counts[2]
    if not (inv_sum[0] < INFINITY):  # lam_min not known: the caller asks scan_exact (threshold.scan)
        inv_sum[0] = INFINITY
        lam_min[0] = -1.0
        return STATUS_OK
    lam_min[0] = 1.0 / top  # within an ulp (threshold.scan)
    if not lam_min[0] < INFINITY:  # times within a few ulps of the largest double
        lam_min[0] = -1.0
    if s > 0.0:
        estimate[0] = total[0]
        if s2 > 0.0:
            estimate[1] = total[1]
    return STATUS_OK


cdef int scan_exact(const double[::1] lam, int64_t budget, int64_t* n_zero, int64_t* n_avail,
                    double* inv_sum, double* lam_min) noexcept nogil:
    cdef Py_ssize_t i
    cdef double x
    n_zero[0] = 0
    n_avail[0] = 0
    inv_sum[0] = 0.0
    lam_min[0] = INFINITY
    for i in range(lam.shape[0]):
        x = lam[i]
        if not (x >= 0.0):
            return STATUS_LAM_NAN if x != x else STATUS_LAM_NEGATIVE
        if x == 0.0:
            n_zero[0] += 1
        elif x < INFINITY:
            n_avail[0] += 1
            inv_sum[0] += 1.0 / x
            if x < lam_min[0]:
                lam_min[0] = x
    if budget > 0 and n_zero[0] == 0 and n_avail[0] == 0:
        return STATUS_NO_AVAILABLE_WORKER
    return STATUS_OK


cdef void round_robin_zeros(const double[::1] lam, int64_t budget, int64_t n_zero,
                            int64_t[::1] out) noexcept nogil:
    # threshold.round_robin_zeros
    cdef int64_t share = budget // n_zero
    cdef int64_t extra = budget - share * n_zero, seen = 0, z
    cdef Py_ssize_t i
    for i in range(lam.shape[0]):
        z = lam[i] == 0.0
        out[i] = z * (share + (seen < extra))
        seen += z


# --- A narrow bracket: list the few keys between, select in the canonical order ----------


cdef inline bint key_before(double[::1] heap, Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    if heap[3 * a] != heap[3 * b]:
        return heap[3 * a] < heap[3 * b]
    if heap[3 * a + 1] != heap[3 * b + 1]:
        return heap[3 * a + 1] < heap[3 * b + 1]
    return heap[3 * a + 2] < heap[3 * b + 2]


ctypedef fused entries_t:
    double[::1]
    int64_t[::1]


cdef inline void swap_entries(entries_t values, Py_ssize_t a, Py_ssize_t b, Py_ssize_t width) noexcept nogil:
    # threshold.swap_entries
    cdef Py_ssize_t f
    for f in range(width):
        values[width * a + f], values[width * b + f] = values[width * b + f], values[width * a + f]


cdef void select_first(double[::1] heap, Py_ssize_t m, Py_ssize_t k) noexcept nogil:
    # threshold.select_first: quickselect, median of three, insertion sort below 16.
    cdef Py_ssize_t lo = 0, hi = m - 1, target = k - 1, mid, i, j, a, b
    while hi - lo >= 16:
        mid = lo + (hi - lo) // 2
        if key_before(heap, mid, lo):
            swap_entries(heap, mid, lo, 3)
        if key_before(heap, hi, lo):
            swap_entries(heap, hi, lo, 3)
        if key_before(heap, hi, mid):
            swap_entries(heap, hi, mid, 3)
        swap_entries(heap, lo, mid, 3)
        i = lo + 1
        j = hi
        while True:
            while i <= j and key_before(heap, i, lo):
                i += 1
            while i <= j and key_before(heap, lo, j):
                j -= 1
            if i >= j:
                break
            swap_entries(heap, i, j, 3)
            i += 1
            j -= 1
        swap_entries(heap, lo, j, 3)
        if j == target:
            return
        if j < target:
            lo = j + 1
        else:
            hi = j - 1
    for a in range(lo + 1, hi + 1):
        b = a
        while b > lo and key_before(heap, b, b - 1):
            swap_entries(heap, b, b - 1, 3)
            b -= 1


cdef bint select_between(const double[::1] lam, int64_t budget, int64_t lo_c, int64_t[::1] prefix,
                         double hi_t, int64_t[::1] out, int64_t[::1] idx, double[::1] heap,
                         const int64_t* lo, const int64_t* hi) noexcept nogil:
    # threshold.select_between, with the prefix passed in (threshold's callers copy it into
    # out first): the SIMD pass (boundary_at) copies it into out and lists the boundary
    # workers in idx (which may be prefix).
    cdef Py_ssize_t m = boundary_at(SIMD_LEVEL, &lam[0], &prefix[0], hi, &out[0], lam.shape[0], hi_t,
                                    budget, &idx[0])
    return select_listed(lam, budget, lo_c, hi_t, out, idx, m, heap, hi)


cdef bint select_listed(const double[::1] lam, int64_t budget, int64_t lo_c, double hi_t,
                        int64_t[::1] out, int64_t[::1] idx, Py_ssize_t m, double[::1] heap,
                        const int64_t* hi) noexcept nogil:
    # select_between once the prefix is in out and the m boundary workers in idx
    cdef Py_ssize_t i, b, size = 0, k
    cdef Py_ssize_t room = heap.shape[0] // 3
    cdef int64_t j, high
    cdef double x
    for b in range(m):
        i = idx[b]
        x = lam[i]
        j = out[i] + 1
        high = high_of(hi, i, budget)
        while j <= high and <double>j * x <= hi_t:
            if size == room:
                return False
            heap[3 * size] = <double>j * x
            heap[3 * size + 1] = <double>j
            heap[3 * size + 2] = <double>i
            size += 1
            j += 1
    k = min(budget - lo_c, size)
    select_first(heap, size, k)
    for b in range(k):
        out[<Py_ssize_t>heap[3 * b + 2]] += 1
    return True


# --- Ties: the keys at the threshold product t* ------------------------------------------


cdef Py_ssize_t LEVEL_BLOCK = 256
cdef int LANE_BITS = 3  # threshold.LANE_BITS
cdef Py_ssize_t DUMPS = 16  # threshold.DUMPS
cdef Py_ssize_t MAX_BUCKETS = 1024  # threshold.MAX_BUCKETS
cdef int64_t NARROW_LEVELS = 64
cdef int LEVEL_BISECTIONS = 8


cdef inline int64_t count_levels(int64_t[::1] marks, int64_t level, int64_t* next) noexcept nogil:
    # threshold.count_levels: the count, and in next[0], next[1] the levels next to level
    return count_levels_at(SIMD_LEVEL, &marks[0], marks.shape[0], level, next)


cdef inline int64_t bucket_total(double[::1] hist, Py_ssize_t b, int lane_bits) noexcept nogil:
    cdef int64_t total = 0
    cdef Py_ssize_t lane
    for lane in range(b << lane_bits, (b + 1) << lane_bits):
        total += <int64_t>hist[lane]
    return total


cdef inline int64_t adjacent_levels_count(int64_t lo, int64_t hi, int64_t j_min, int64_t j_max,
                                          int64_t total, double level_sum) noexcept nogil:
    # threshold.adjacent_levels_count
    if lo != j_min or hi != j_max or level_sum < 0.0 or <double>total * <double>j_max > 9007199254740992.0:
        return -1
    return total * j_max - <int64_t>level_sum


cdef int64_t select_level(int64_t[::1] marks, int64_t* rank, int64_t j_min, int64_t j_max,
                          int64_t total, double level_sum, double[::1] hist, int64_t[::1] where,
                          int64_t* n_at) noexcept nogil:
    # threshold.select_level; returns J and leaves the rank at J in rank[0], the workers at J
    # in n_at[0].
    cdef int lane_bits = LANE_BITS if hist.shape[0] >= 2 * (1 << LANE_BITS) + DUMPS else 0
    cdef Py_ssize_t dumps = DUMPS if lane_bits > 0 else 1
    cdef Py_ssize_t bins = min((hist.shape[0] - dumps) >> lane_bits, MAX_BUCKETS), n_bins, dump, b, i
    cdef int64_t levels[2]
    cdef int64_t base, span, here, least, most
    cdef int shift = 0, steps = 0
    cdef int64_t lo = j_min, hi = j_max, below = 0, at_hi = total, c
    n_at[0] = 0
    if j_min == j_max:
        n_at[0] = total
        return j_min
    while lo < hi and (hi - lo < NARROW_LEVELS or steps < LEVEL_BISECTIONS):
        # below = count_levels(lo - 1) < rank <= count_levels(hi) = at_hi
        if hi - lo == 1:  # threshold.adjacent_levels_count, or count_up_to_level
            c = adjacent_levels_count(lo, hi, j_min, j_max, total, level_sum)
            if c < 0:
                c = count_up_to_level_at(SIMD_LEVEL, &marks[0], marks.shape[0], lo)
            levels[0] = lo
            levels[1] = hi
        else:
            c = count_levels(marks, lo + (hi - lo) // 2, levels)
        if c >= rank[0]:
            hi = levels[0]
            at_hi = c
        else:
            lo = levels[1]
            below = c
        steps += 1
    if lo == hi:
        if at_hi == rank[0]:
            rank[0] = 0
            return lo + 1
        rank[0] -= below
        n_at[0] = at_hi - below
        return lo
    rank[0] -= below  # the radix select counts the levels in [lo, hi] only
    base = lo
    span = hi - lo
    while (span >> shift) >= bins:
        shift += 1
    while True:
        n_bins = (span >> shift) + 1
        dump = n_bins << lane_bits
        for b in range(dump + dumps):
            hist[b] = 0.0
        # threshold.count_buckets: the slots and the least and largest levels in the range,
        # then the increments
        bucket_slots_at(SIMD_LEVEL, &marks[0], marks.shape[0], base, span, shift, lane_bits, dump,
                        dumps, &where[0], levels)
        for i in range(marks.shape[0]):
            hist[where[i]] += 1.0
        least = base + levels[0]
        most = base + levels[1]
        b = 0
        here = bucket_total(hist, b, lane_bits)
        while here < rank[0] and b < n_bins - 1:
            rank[0] -= here
            b += 1
            here = bucket_total(hist, b, lane_bits)
        base += (<int64_t>b) << shift
        if shift == 0 or least == most:  # one level in the bucket: J
            if shift != 0:
                base = least
            if here == rank[0]:
                rank[0] = 0
                return base + 1
            n_at[0] = here
            return base
        span = min(span - ((<int64_t>b) << shift), ((<int64_t>1) << shift) - 1)
        if most < base + span:  # the bucket shrunk to the levels seen at the range's ends
            span = most - base
        if least > base:
            span -= least - base
            base = least
        while shift > 0 and (span >> (shift - 1)) < bins:
            shift -= 1


cdef void take_levels(int64_t[::1] out, int64_t level, int64_t rank, int64_t n_at) noexcept nogil:
    # threshold.take_levels
    cdef Py_ssize_t cut = -1
    if 0 < rank <= n_at - rank:
        cut = nth_mark(out, level, rank)
    elif rank > 0:
        cut = nth_mark_from_end(out, level, n_at - rank + 1)
    take_levels_at(SIMD_LEVEL, &out[0], out.shape[0], level, cut)


cdef Py_ssize_t nth_mark(int64_t[::1] out, int64_t level, int64_t rank) noexcept nogil:
    # threshold.nth_mark, for the mark -level
    cdef Py_ssize_t n = out.shape[0], start = 0, stop, cut
    cdef int64_t k
    while True:
        stop = min(start + LEVEL_BLOCK, n)
        k = count_equal_at(SIMD_LEVEL, &out[start], stop - start, level)
        if k >= rank or stop == n:
            break
        rank -= k
        start = stop
    cut = start
    while cut < n - 1:
        rank -= out[cut] == -level
        if rank <= 0:
            break
        cut += 1
    return cut


cdef Py_ssize_t nth_mark_from_end(int64_t[::1] out, int64_t level, int64_t rank) noexcept nogil:
    # threshold.nth_mark_from_end, for the mark -level
    cdef Py_ssize_t start, stop = out.shape[0], cut
    cdef int64_t k
    while True:
        start = max(stop - LEVEL_BLOCK, 0)
        k = count_equal_at(SIMD_LEVEL, &out[start], stop - start, level)
        if k >= rank or start == 0:
            break
        rank -= k
        stop = start
    cut = stop - 1
    while cut > 0:
        rank -= out[cut] == -level
        if rank <= 0:
            break
        cut -= 1
    return cut


cdef int64_t take_at(const double[::1] lam, const double[::1] inv, int64_t budget, double reach,
                     double tstar, int64_t[::1] out, double[::1] hist, int64_t[::1] where,
                     const int64_t* lo, const int64_t* hi) noexcept nogil:
    # threshold.take_at: TAKEN when done, else (t* is not the product of the budget-th key)
    # the keys below it. The split finds the levels' range and sum itself (threshold.
    # tied_levels' pass: its C loop takes the reductions at little cost, where numba's
    # AVX2 code does not).
    cdef double sums[4]
    cdef int64_t levels[4]
    cdef int64_t taken, n_tied, rank, level, j_min, j_max, n_at = 0
    cdef double level_sum = -1.0  # unknown
    if tstar <= reach:
        taken = saturated(split_at_level(SIMD_LEVEL, &lam[0], &inv[0], lo, hi, &out[0], lam.shape[0],
                                         tstar, budget, sums), ESTIMATE_CAP)
        n_tied = <int64_t>sums[0]
        j_min = <int64_t>sums[1]
        j_max = <int64_t>sums[2]
        level_sum = sums[3]
    else:
        taken = split_divided_at(SIMD_LEVEL, &lam[0], lo, hi, &out[0], lam.shape[0], tstar, budget, levels)
        if levels[3]:  # crowded: only from 2**52 tasks, where t* is never a guess (finish_at)
            take_many_ties(lam, inv, budget, reach, tstar, out, where, hist, lo, hi)
            return TAKEN
        n_tied = levels[0]
        j_min = levels[1]
        j_max = levels[2]
    rank = budget - taken
    if not (0 < rank <= n_tied):
        return taken
    if rank == n_tied:
        level = budget + 1
        rank = 0
    else:
        level = select_level(out, &rank, j_min, j_max, n_tied, level_sum, hist, where, &n_at)
    take_levels(out, level, rank, n_at)
    return TAKEN


cdef void take_ties(const double[::1] lam, int64_t budget, double tstar, int64_t[::1] out,
                    int64_t[::1] ties, double[::1] hist, const int64_t* lo,
                    const int64_t* hi) noexcept nogil:
    # threshold.take_ties: many keys per worker at t* (t* = inf, or budgets from 2**51).
    cdef int64_t taken, j_lo, j_hi, n_tied
    cdef int64_t sums[5]
    cdef bint single
    if tstar == INFINITY:  # threshold.overflow_room: out holds the count at DBL_MAX
        overflow_room_at(SIMD_LEVEL, &lam[0], hi, lam.shape[0], budget, &out[0], &ties[0], sums)
        taken, j_lo, j_hi, n_tied, single = sums[0], sums[1], sums[2], sums[3], sums[4] == 0
    else:
        taken, j_lo, j_hi, n_tied, single = split_ties(lam, budget, tstar, out, ties, lo, hi)
    if single:
        take_single_ties(out, ties, lam.shape[0], budget - taken, n_tied, j_lo, j_hi, hist)
    else:
        take_tied(out, ties, lam.shape[0], budget - taken, j_lo, j_hi, hist)


cdef (int64_t, int64_t, int64_t, int64_t, bint) split_ties(
        const double[::1] lam, int64_t budget, double tstar, int64_t[::1] out, int64_t[::1] ties,
        const int64_t* lo, const int64_t* hi) noexcept nogil:
    # threshold.split_ties
    cdef int64_t taken = 0, j_lo = budget + 1, j_hi = 0, below, upto, high, low, n_tied = 0
    cdef Py_ssize_t i
    cdef double x
    cdef bint single = True
    for i in range(lam.shape[0]):
        x = lam[i]
        below = out[i]
        ties[i] = 0
        high = high_of(hi, i, budget)
        low = low_of(lo, i, x != INFINITY)
        # below t* with the next key above it, or held at its minimum (threshold.split_ties)
        if (<double>below * x < tstar or below <= low) and (below >= high or <double>(below + 1) * x > tstar):
            taken += below
            continue
        if 0.0 < x < INFINITY:  # t* finite here: take_ties sends t* = inf to overflow_room
            upto = count_le_from(x, tstar, high, out[i] if out[i] < high else high)
            below = upto
            while <double>below * x >= tstar:
                below -= 1
            if below < low:
                below = low
            if upto < low:
                upto = low
            out[i] = below
            ties[i] = upto - below
            taken += below
            if upto > below:
                if below + 1 < j_lo:
                    j_lo = below + 1
                if upto > j_hi:
                    j_hi = upto
                n_tied += 1
                single = single and upto == below + 1
        else:
            taken += below  # lam = 0 under bounds: at its maximum (x = inf: nothing)
    return taken, j_lo, j_hi, n_tied, single


cdef void take_single_ties(int64_t[::1] out, int64_t[::1] ties, Py_ssize_t n, int64_t rank,
                           int64_t n_tied, int64_t j_lo, int64_t j_hi, double[::1] hist) noexcept nogil:
    # threshold.take_single_ties
    cdef Py_ssize_t i
    cdef int64_t level, n_at = 0
    for i in range(n):
        if ties[i] > 0:
            out[i] = -(out[i] + 1)
    if rank <= 0:
        level = 0
        rank = 0
    elif rank >= n_tied:
        level = j_hi + 1
        rank = 0
    else:
        level = select_level(out, &rank, j_lo, j_hi, n_tied, -1.0, hist, ties, &n_at)
    take_levels(out, level, rank, n_at)


cdef void take_tied(int64_t[::1] out, int64_t[::1] ties, Py_ssize_t n, int64_t remaining,
                    int64_t j_lo, int64_t j_hi, double[::1] hist) noexcept nogil:
    # threshold.take_tied
    cdef int64_t level
    cdef Py_ssize_t i, cut
    level = tied_level(out, ties, n, &remaining, j_lo, j_hi, hist)
    if n > 0 and j_lo != j_hi:  # one level: take_below would change nothing
        take_below_at(SIMD_LEVEL, &out[0], &ties[0], n, level)
    if remaining > 0:
        cut = nth_mark(ties[:n], -1, remaining)  # the entries equal to 1
        for i in range(cut + 1):
            out[i] += ties[i]


cdef double TIED_CAP = 9007199254740992.0  # threshold.TIED_CAP: 2**53


cdef int64_t tied_level(int64_t[::1] out, int64_t[::1] ties, Py_ssize_t n, int64_t* remaining,
                        int64_t j_lo, int64_t j_hi, double[::1] hist) noexcept nogil:
    # threshold.tied_level: returns J, and *remaining less the tied keys below J
    cdef int64_t lo = j_lo, hi = j_hi, below = 0, m, starts, last_start, first_end, level, k, levels, up_to
    cdef int64_t sums[4]
    cdef Py_ssize_t bins = min((hist.shape[0] + 1) // 2, max(MAX_BUCKETS, hist.shape[0] // 8)), n_bins, b
    cdef int shift
    cdef double width, run, whole, here
    if lo < hi and hi - lo <= ESTIMATE_CAP // max(n, 1):  # the sum of the starts fits in int64
        tied_span_at(SIMD_LEVEL, &out[0], &ties[0], n, lo, hi, sums)
        m, starts, last_start, first_end = sums[0], sums[1], sums[2], sums[3]
        if last_start <= first_end:
            level = lo - 1 + (remaining[0] + starts + m - 1) // m
            if level < last_start:
                hi = last_start - 1
            elif level > first_end:
                below = m * (first_end - lo + 1) - starts
                lo = first_end + 1
            else:
                remaining[0] = remaining[0] - (m * (level - lo) - starts)
                return level
        elif lo <= last_start - 1 < hi:  # every interval has started there (threshold)
            up_to = tied_up_to_at(SIMD_LEVEL, &out[0], &ties[0], n, lo, last_start - 1)
            if up_to < remaining[0]:
                below = up_to
                lo = last_start
            else:
                hi = last_start - 1
    while lo < hi:
        shift = 0
        while ((hi - lo) >> shift) >= bins:
            shift += 1
        n_bins = <Py_ssize_t>((hi - lo) >> shift) + 1
        whole = <double>tied_buckets(out, ties, n, lo, hi, shift, n_bins, hist)
        width = <double>(<int64_t>1 << shift)
        run = <double>below
        b = 0
        while True:
            here = min(whole * width + hist[b], TIED_CAP)
            if run + here >= remaining[0] or b == n_bins - 1:
                break
            run += here
            b += 1
            whole += hist[n_bins + b - 1]
        below = <int64_t>run
        lo += <int64_t>b << shift
        hi = min(hi, lo + (<int64_t>1 << shift) - 1)
        if hist[b] == 0.0 and whole > 0.0:  # every interval here covers the bucket: linear
            k = <int64_t>whole
            levels = (remaining[0] - below + k - 1) // k
            remaining[0] = remaining[0] - below - k * (levels - 1)
            return lo + levels - 1
    remaining[0] = remaining[0] - below
    return lo


cdef int64_t tied_buckets(int64_t[::1] out, int64_t[::1] ties, Py_ssize_t n, int64_t lo, int64_t hi,
                          int shift, Py_ssize_t n_bins, double[::1] hist) noexcept nogil:
    # threshold.tied_buckets
    cdef int64_t span = hi - lo, mask = (<int64_t>1 << shift) - 1, whole0 = 0
    cdef int64_t first, last, b_first, b_last
    cdef Py_ssize_t b, i
    cdef bint head, tail
    for b in range(2 * n_bins - 1):
        hist[b] = 0.0
    if shift == 0:  # a bucket a level: counted at the intervals' ends alone (threshold)
        for i in range(n):
            first = max(out[i] + 1, lo) - lo
            last = min(out[i] + ties[i], hi) - lo
            if ties[i] > 0 and first <= last:
                whole0 += count_whole(hist, n_bins, first, last)
        return whole0
    for i in range(n):
        if ties[i] > 0:
            first = max(out[i] + 1, lo) - lo
            last = min(out[i] + ties[i], hi) - lo
            if first <= last:
                b_first = first >> shift
                b_last = last >> shift
                head = (first & mask) != 0
                tail = ((last + 1) & mask) != 0 and last < span
                if b_first == b_last and (head or tail):
                    hist[b_first] = min(hist[b_first] + <double>(last - first + 1), TIED_CAP)
                    continue
                if head:
                    hist[b_first] = min(hist[b_first] + <double>(((b_first + 1) << shift) - first), TIED_CAP)
                    b_first += 1
                if tail:
                    hist[b_last] = min(hist[b_last] + <double>(last - (b_last << shift) + 1), TIED_CAP)
                    b_last -= 1
                if b_first <= b_last:
                    whole0 += count_whole(hist, n_bins, b_first, b_last)
    return whole0


cdef inline int64_t count_whole(double[::1] hist, Py_ssize_t n_bins, int64_t b_first,
                                int64_t b_last) noexcept nogil:
    # threshold.count_whole
    if b_last + 1 < n_bins:
        hist[n_bins + b_last] -= 1.0
    if b_first == 0:
        return 1
    hist[n_bins + b_first - 1] += 1.0
    return 0


cdef int64_t try_as_tstar(const double[::1] lam, const double[::1] inv, int64_t budget, double reach,
                          double guess, int64_t[::1] out, double[::1] heap, int64_t[::1] ties,
                          const int64_t* lo, const int64_t* hi, int64_t limit, double* hi_t,
                          int64_t* hi_c) noexcept nogil:
    # threshold.try_as_tstar: take_at's return; the upper end moved below a guess refused high
    cdef int64_t under = take_at(lam, inv, budget, reach, guess, out, heap, ties, lo, hi)
    if under != TAKEN and under >= budget:
        hi_t[0] = nextafter(guess, 0.0)
        hi_c[0] = min(under, limit)
    return under


cdef int64_t marks_to_counts(int64_t[::1] out) noexcept nogil:
    # threshold.marks_to_counts, in C: the loop vectorises there (it did not as Cython's
    # memoryview loop: a fifth of a narrow spread's call at 65,536 workers)
    return marks_to_counts_at(SIMD_LEVEL, &out[0], out.shape[0])


cdef void finish_at(const double[::1] lam, const double[::1] inv, int64_t budget, double reach,
                    double tstar, int64_t[::1] out, int64_t[::1] ties, double[::1] heap,
                    const int64_t* lo, const int64_t* hi) noexcept nogil:
    # threshold.finish_at
    if tstar < INFINITY:
        take_at(lam, inv, budget, reach, tstar, out, heap, ties, lo, hi)
    else:
        take_many_ties(lam, inv, budget, reach, tstar, out, ties, heap, lo, hi)


cdef void take_many_ties(const double[::1] lam, const double[::1] inv, int64_t budget, double reach,
                         double tstar, int64_t[::1] out, int64_t[::1] ties, double[::1] heap,
                         const int64_t* lo, const int64_t* hi) noexcept nogil:
    # threshold.take_many_ties
    cdef double ext[2]
    count_either(lam, inv, min(tstar, DBL_MAX), budget, budget, reach, False, out, ext, lo, hi)
    take_ties(lam, budget, tstar, out, ties, heap, lo, hi)


# --- Bracketing and refinement -------------------------------------------------------------


cdef inline double scatter(int64_t budget, int64_t c) noexcept nogil:
    # threshold.scatter
    return 2.0 * sqrt(<double>(budget - c if budget > c else c - budget)) + 4.0


cdef double aim(int64_t budget, int64_t c, bint have_lo, double lo_c, double hi_t,
                double hi_c, int64_t width) noexcept nogil:
    # threshold.aim
    cdef double margin = scatter(budget, c)
    cdef double room, side
    if hi_t == INFINITY or (have_lo and budget - lo_c <= hi_c - budget):
        side = 1.0
        room = width - (budget - lo_c) if have_lo else 0.0
    else:
        side = -1.0
        room = width - (hi_c - budget)
    if room >= 2.0:
        margin = min(margin, 0.5 * room)
    return budget + side * margin


cdef inline bint log_like(double lo_t, double lo_c, double hi_t, double hi_c) noexcept nogil:
    # threshold.log_like
    return lo_t > 0.0 and hi_t > WIDE * lo_t and lo_c > 0.0 and (hi_c / lo_c) * (hi_c / lo_c) < hi_t / lo_t


cdef inline double log_between(double lo_t, double lo_c, double hi_t, double hi_c, double target) noexcept nogil:
    # threshold.log_between
    cdef double u = log(lo_t)
    return exp(min(u + (target - lo_c) * ((log(hi_t) - u) / (hi_c - lo_c)), 709.0))


cdef double next_guess(int64_t budget, double t, int64_t c, double slope, double prev_t,
                       int64_t prev_c, bint have_lo, double lo_t, double lo_c, double hi_t,
                       double hi_c, int64_t width, bint stalled, int64_t base) noexcept nogil:
    # threshold.next_guess
    cdef double local = slope, target, nxt, down
    if prev_t >= 0.0 and c != prev_c:
        local = (c - prev_c) / (t - prev_t)
    target = aim(budget, c, have_lo, lo_c, hi_t, hi_c, width)
    if have_lo and hi_t < INFINITY:
        if log_like(lo_t, lo_c - base, hi_t, hi_c - base):
            return log_between(lo_t, lo_c, hi_t, hi_c, target)
        return lo_t + (target - lo_c) * ((hi_t - lo_t) / <double>(hi_c - lo_c))
    nxt = t + (target - c) / local if local > 0.0 else -1.0
    if (hi_t == INFINITY and 0.0 < prev_t < t and prev_c < c < budget
            and (stalled or log_like(prev_t, <double>(prev_c - base), t, <double>(c - base)))):
        nxt = max(nxt, log_between(prev_t, <double>prev_c, t, <double>c, target))
    if (not have_lo and 0.0 < t < prev_t and budget < c < prev_c
            and (log_like(t, <double>(c - base), prev_t, <double>(prev_c - base))
                 or not (nxt > 0.0) and (stalled or prev_c - c > scatter(budget, c)))):
        down = log_between(t, <double>c, prev_t, <double>prev_c, target)
        nxt = down if not (nxt > 0.0) else min(nxt, down)
    return nxt


cdef inline double middle(double lo_t, double hi_t) noexcept nogil:
    # threshold.middle
    if hi_t > 4.0 * lo_t:
        return sqrt(lo_t) * sqrt(hi_t)
    return 0.5 * lo_t + 0.5 * hi_t


cdef double shrink_guess(int64_t budget, double lo_t, int64_t lo_c, double hi_t,
                         int64_t hi_c, int64_t base) noexcept nogil:
    # threshold.shrink_guess
    cdef double width, t
    if hi_t == INFINITY:
        return min(lo_t * GROWTH, DBL_MAX)
    if lo_t == 0.0:
        return 0.75 * hi_t * min(budget / <double>hi_c, sqrt((budget - base) / <double>(hi_c - base)))
    if hi_t > 4.0 * lo_t:
        return sqrt(lo_t) * sqrt(hi_t)
    width = hi_t - lo_t
    t = lo_t + (budget - lo_c) * (width / <double>(hi_c - lo_c))
    return min(max(t, lo_t + 0.125 * width), hi_t - 0.125 * width)


cdef double AB_LEAST = 0.125  # threshold.AB_LEAST


cdef double next_threshold(int64_t budget, int step, double t, int64_t c, double t2, double slope,
                           double prev_t, int64_t prev_c, int streak, bint have_lo, double lo_t,
                           int64_t lo_c, double hi_t, int64_t hi_c, int64_t width,
                           int64_t base) noexcept nogil:
    # threshold.next_threshold: -1 when no float is left inside the bracket
    cdef double nxt, lo_w, hi_w, closed
    cdef bint stalled
    if step == 0 and lo_t < t2 < hi_t:
        nxt = t2
    elif step < MAX_BRACKET_STEPS:
        lo_w = <double>lo_c  # Illinois and Anderson-Bjorck, as threshold.next_threshold
        hi_w = <double>hi_c
        if streak >= 2 and hi_t < INFINITY:
            closed = max(<double>(c - prev_c) / <double>(budget - prev_c), AB_LEAST)
            hi_w = budget + (hi_c - budget) * min(0.5 ** (streak - 1), closed)
        elif streak <= -2 and have_lo:
            closed = max(<double>(prev_c - c) / <double>(prev_c - budget), AB_LEAST)
            lo_w = budget - (budget - lo_c) * min(0.5 ** (-streak - 1), closed)
        stalled = (streak >= 3 and 2.0 * (c - prev_c) < budget - prev_c
                   or streak <= -3 and 2.0 * (prev_c - c) < prev_c - budget)
        if (streak >= 3 or streak <= -3) and have_lo and hi_t < INFINITY:
            nxt = middle(lo_t, hi_t)  # the secant crawls toward one end, as threshold.next_threshold
        else:
            nxt = next_guess(budget, t, c, slope, prev_t, prev_c, have_lo, lo_t, lo_w, hi_t, hi_w, width,
                             stalled, base)
    else:
        nxt = shrink_guess(budget, lo_t, lo_c, hi_t, hi_c, base)
    if not (lo_t < nxt < hi_t and nxt < DBL_MAX):
        nxt = shrink_guess(budget, lo_t, lo_c, hi_t, hi_c, base)
        if not (lo_t < nxt < hi_t):
            nxt = 0.5 * lo_t + 0.5 * hi_t
            if not (lo_t < nxt < hi_t):
                return -1.0
    return nxt


cdef Py_ssize_t SAMPLED_WORKERS = 64
cdef Py_ssize_t TIED_HOLDERS = 4
cdef Py_ssize_t SAMPLED_TIES_FROM = 16384


cdef inline double top_key_inside(double x, int64_t low, int64_t cap, double t_lo, double t_hi,
                                  bint* more) noexcept nogil:
    # threshold.top_key_inside: returns p, and more through the pointer
    cdef int64_t c = count_le(x, t_hi, cap)
    if c < low:
        c = low
    more[0] = False
    if c > low and <double>c * x > t_lo:
        more[0] = c - 1 > low and <double>(c - 1) * x > t_lo
        return <double>c * x
    return 0.0


cdef struct FourLargest:
    # threshold.four_largest's slots: products largest first, holders, holders with another key
    double p[4]
    Py_ssize_t h[4]
    Py_ssize_t m[4]


cdef inline void no_slots(FourLargest* s) noexcept nogil:
    cdef int k
    for k in range(4):
        s.p[k] = -INFINITY
        s.h[k] = 0
        s.m[k] = 0


cdef inline void four_largest(FourLargest* s, double p, Py_ssize_t more) noexcept nogil:
    # threshold.four_largest
    cdef int k, j
    for k in range(4):
        if p == s.p[k]:
            s.h[k] += 1
            s.m[k] += more
            return
    for k in range(4):
        if p > s.p[k]:
            j = 3
            while j > k:
                s.p[j] = s.p[j - 1]
                s.h[j] = s.h[j - 1]
                s.m[j] = s.m[j - 1]
                j -= 1
            s.p[k] = p
            s.h[k] = 1
            s.m[k] = more
            return


cdef inline int tied_slot(const FourLargest* s) noexcept nogil:
    # threshold.tied_slot: the slot's index, or -1
    cdef int k
    cdef Py_ssize_t passed = 0
    for k in range(4):
        if s.h[k] >= TIED_HOLDERS and passed < TIED_HOLDERS:
            return k
        passed += s.h[k]
    return -1


cdef inline Py_ssize_t sample_stride(Py_ssize_t n, Py_ssize_t size) noexcept nogil:
    # threshold.sample_stride: the largest step at most n // size with no factor 2, 3, 5 or 7
    # (odd below 11)
    cdef Py_ssize_t step = n // size
    if step <= 10:
        if step < 2:
            step = 2
        return (step - 1) | 1
    while step % 2 == 0 or step % 3 == 0 or step % 5 == 0 or step % 7 == 0:
        step -= 1
    return step


cdef double sampled_top(const double[::1] lam, double t_lo, double t_hi, int64_t budget, const int64_t* lo,
                        const int64_t* hi, double* share, bint* alone) noexcept nogil:
    # threshold.sampled_top: returns p, share and alone through the pointers
    cdef Py_ssize_t n = lam.shape[0], i = 0, inside = 0
    cdef Py_ssize_t stride = sample_stride(n, SAMPLED_WORKERS)
    cdef double x, p
    cdef bint again
    cdef int k
    cdef FourLargest slots
    no_slots(&slots)
    while i < n:
        x = lam[i]
        if 0.0 < x < INFINITY:
            p = top_key_inside(x, low_of(lo, i, True), high_of(hi, i, budget), t_lo, t_hi, &again)
            if p > 0.0:
                inside += 1
                four_largest(&slots, p, again)
        i += stride
    k = tied_slot(&slots)
    if k < 0:
        share[0] = 0.0
        alone[0] = False
        return 0.0
    share[0] = <double>(slots.h[k] * stride)
    alone[0] = inside - slots.h[k] + slots.m[k] < TIED_HOLDERS
    return slots.p[k]


cdef double PAIR_AIM = 0.3
cdef int64_t PAIR_OWN_KEYS = 64
cdef double PAIR_OWN_REACH = 8.0
cdef double PAIR_OWN_BEND = 1.5
cdef double PAIR_OWN_SHARE = 4.0
cdef double SPECULATE_SPAN = 2.0
cdef double SPECULATE_WIDTHS = 12.0
cdef double SPECULATE_AIM = 0.45
cdef Py_ssize_t SPECULATE_PAIRS_FROM = 32768
cdef Py_ssize_t PAIRED_FROM = 262144  # threshold.PAIRED_FROM
cdef double PAIRED_ERROR = 0.125  # threshold.PAIRED_ERROR
cdef Py_ssize_t REPEAT_REACH = 8


cdef bint speculative_bracket(int64_t budget, double t, double first, double second, int64_t width,
                              double* bracket) noexcept nogil:
    # threshold.speculative_bracket: (a, b) into bracket[0:2]; False where the line is not trusted
    cdef double spread, reach, near, k, d
    if not (second > first):
        return False
    spread = second - first
    reach = (budget - first) / spread
    near = min(fabs(budget - first), fabs(budget - second))
    if not (-SPECULATE_SPAN <= reach <= 1.0 + SPECULATE_SPAN and near <= SPECULATE_WIDTHS * width):
        return False
    k = spread / (t * SLOPE_STEP - t)
    d = SPECULATE_AIM * width
    bracket[0] = t + (budget - d - first) / k
    bracket[1] = t + (budget + d - first) / k
    return ESTIMATE_LOW <= bracket[0] < bracket[1] <= ESTIMATE_HIGH


cdef int64_t listed_keys(const double[::1] lam, int64_t budget, double hi_t, const int64_t[::1] out,
                         const int64_t[::1] idx, Py_ssize_t m, const int64_t* hi) noexcept nogil:
    # threshold.listed_keys: the keys in (t, hi_t] of the workers count_list listed
    cdef Py_ssize_t b, i
    cdef int64_t total = 0
    for b in range(m):
        i = idx[b]
        total += max(count_le(lam[i], hi_t, high_of(hi, i, budget)) - out[i], 0)
    return total


cdef bint allocate_aimed(const double[::1] lam, const double[::1] inv, int64_t budget, double t, double first,
                        double second, int64_t width, double reach, int64_t base, int64_t[::1] out,
                        int64_t[::1] ties, double[::1] heap, double* bracket, const int64_t* lo,
                        const int64_t* hi) noexcept nogil:
    # threshold.allocate_aimed: the bracket into bracket[0:2], True where it held the budget
    cdef int64_t counted[2]
    cdef double t_lo, t_hi, t_up, lo_s, hi_s
    cdef int64_t lo_c, hi_c
    cdef bint above
    if not (speculative_bracket(budget, t, first, second, width, bracket) and bracket[1] <= reach) or (
            sampled_repeats(lam)):
        return False
    if select_aimed(lam, inv, budget, out, ties, heap, bracket, lo, hi, counted):
        return True
    if lam.shape[0] < SPECULATE_PAIRS_FROM:
        return False
    t_lo = bracket[0]
    t_hi = bracket[1]
    t_up = t * SLOPE_STEP
    above = counted[0] >= budget
    if above:
        hi_s = t_lo
        hi_c = counted[0]
        if second < budget and t_up < t_lo:
            lo_s = t_up
            lo_c = <int64_t>second
        elif first < budget and t < t_lo:
            lo_s = t
            lo_c = <int64_t>first
        else:
            return False
    elif 0 <= counted[1] < budget:
        lo_s = t_hi
        lo_c = counted[1]
        if first >= budget and t > t_hi:
            hi_s = t
            hi_c = <int64_t>first
        elif second >= budget and t_up > t_hi:
            hi_s = t_up
            hi_c = <int64_t>second
        else:
            return False
    else:
        return False
    reaimed_bracket(budget, lo_s, lo_c, hi_s, hi_c, width, base, not above, above, bracket)
    if not (0.0 < bracket[0] and bracket[1] <= reach):
        return False
    return select_aimed(lam, inv, budget, out, ties, heap, bracket, lo, hi, NULL)


cdef bint select_aimed(const double[::1] lam, const double[::1] inv, int64_t budget, int64_t[::1] out,
                       int64_t[::1] ties, double[::1] heap, double* bracket, const int64_t* lo,
                       const int64_t* hi, int64_t* counted) noexcept nogil:
    # threshold.select_aimed at the bracket in bracket[0:2]: True where it held the budget
    # (bracket[1] = bracket[0] where the count there was the budget); counted (or NULL): the
    # exact counts at bracket[0] and bracket[1] (-1: not known), as select_aimed_counted
    cdef Py_ssize_t listed
    cdef double total
    cdef int64_t lo_c, between
    total = count_list_at(SIMD_LEVEL, &lam[0], &inv[0], lo, hi, &out[0], lam.shape[0], bracket[0], budget,
                          bracket[1], &ties[0], &listed)
    lo_c = saturated(total, ESTIMATE_CAP)
    if counted != NULL:
        counted[0] = lo_c
        counted[1] = -1
    if total == budget:  # the prefix is the allocation
        bracket[1] = bracket[0]
        return True
    if not (total < budget):
        return False
    between = listed_keys(lam, budget, bracket[1], out, ties, listed, hi)
    if counted != NULL:
        counted[1] = lo_c + between
    if not (budget - lo_c <= between <= heap.shape[0] // 3):  # select_listed's room
        return False
    select_listed(lam, budget, lo_c, bracket[1], out, ties, listed, heap, hi)
    return True


cdef double REAIM_WIDTHS = 2.0  # threshold.REAIM_WIDTHS


cdef void reaimed_bracket(int64_t budget, double lo_s, int64_t lo_c, double hi_s, int64_t hi_c, int64_t width,
                          int64_t base, bint lo_exact, bint hi_exact, double* bracket) noexcept nogil:
    # threshold.reaimed_bracket, into bracket[0:2]
    cdef double a, b
    bracket_line(budget, SPECULATE_AIM * width, lo_s, lo_c, hi_s, hi_c, base, bracket)
    a = bracket[0]
    b = bracket[1]
    if not (a > lo_s) or lo_exact and <double>(budget - lo_c) <= REAIM_WIDTHS * width:
        a = lo_s
    if not (b < hi_s) or hi_exact and <double>(hi_c - budget) <= REAIM_WIDTHS * width:
        b = hi_s
    bracket[0] = a
    bracket[1] = b


cdef bint line_extended(int64_t budget, double s, int64_t c, double p_s, int64_t p_c, double q_s, int64_t q_c,
                        int64_t width, double lo_s, double hi_s, int64_t base, double* bracket) noexcept nogil:
    # threshold.line_extended, into bracket[0:2]: False where it gives none
    cdef int64_t keys = llabs(q_c - p_c), gap = llabs(budget - c)
    cdef double target, far, a, b
    cdef bint inside
    if not (c != budget and keys >= PAIR_OWN_KEYS and gap <= keys and <double>gap <= width):
        return False
    if p_s > q_s:
        p_s, p_c, q_s, q_c = q_s, q_c, p_s, p_c
    target = budget + SPECULATE_AIM * width if c < budget else budget - SPECULATE_AIM * width
    if log_like(p_s, <double>(p_c - base), q_s, <double>(q_c - base)):
        far = log_between(p_s, <double>p_c, q_s, <double>q_c, target)
    else:
        far = s + (target - c) * ((q_s - p_s) / <double>(q_c - p_c))
    if c < budget:  # the near end widened as the bracket's ends are: it cannot miss
        a = s * (1.0 - ESTIMATE_MARGIN)
        b = far
        inside = b < hi_s
    else:
        a = far
        b = s * (1.0 + ESTIMATE_MARGIN)
        inside = a > lo_s
    if not (inside and 0.0 < a < b <= DBL_MAX):
        return False
    bracket[0] = a
    bracket[1] = b
    return True


cdef bint pair_line_trusted(int64_t budget, double s, int64_t c, double s2, int64_t c2, double last_s,
                            int64_t last_c, double near_s, int64_t near_c, int64_t width,
                            int64_t base) noexcept nogil:
    # threshold.pair_line_trusted
    cdef int64_t rise = near_c - last_c, p_c, q_c
    cdef double gap = fabs(<double>(budget - near_c)), p_s, q_s, line, own
    if not (last_s >= 0.0 and rise != 0 and c2 > c):
        return False
    if not (gap <= SPECULATE_SPAN * fabs(<double>rise) and gap <= SPECULATE_WIDTHS * width):
        return False
    if not gap <= PAIR_OWN_REACH * <double>(c2 - c):  # the budget many pairs' keys away
        return False
    if last_s < near_s:
        p_s, p_c, q_s, q_c = last_s, last_c, near_s, near_c
    else:
        p_s, p_c, q_s, q_c = near_s, near_c, last_s, last_c
    if log_like(p_s, <double>(p_c - base), q_s, <double>(q_c - base)):
        line = (q_c - p_c) / (log(q_s) - log(p_s))
        own = (c2 - c) / (log(s2) - log(s))
    else:
        line = (q_c - p_c) / (q_s - p_s)
        own = (c2 - c) / (s2 - s)
    return line > 0.0 and own <= SECANT_TRUST * line and line <= SECANT_TRUST * own


cdef bint sampled_repeats(const double[::1] lam) noexcept nogil:
    # threshold.sampled_repeats: a sampled lam repeated among the next REPEAT_REACH sampled ones
    cdef Py_ssize_t n = lam.shape[0], i = 0, d, k
    cdef Py_ssize_t stride = sample_stride(n, SAMPLED_WORKERS)
    cdef double x
    while i < n:
        x = lam[i]
        if 0.0 < x < INFINITY:
            for d in range(1, REPEAT_REACH + 1):
                k = i + d * stride
                if k >= n:
                    break
                if lam[k] == x:
                    return True
        i += stride
    return False


cdef bint sampled_integers(const double[::1] lam) noexcept nogil:
    # threshold.sampled_integers: every sampled 0 < lam < inf a whole number below 2**53
    cdef Py_ssize_t n = lam.shape[0], i = 0
    cdef Py_ssize_t stride = sample_stride(n, SAMPLED_WORKERS)
    cdef double x
    cdef bint found = False
    while i < n:
        x = lam[i]
        if 0.0 < x < INFINITY:
            if not (x < TIED_CAP and x == floor(x)):
                return False
            found = True
        i += stride
    return found


cdef double RISER_KEYS = 8.0
cdef double RISER_NOISE = 2.0
cdef int RISER_STEPS = 64


cdef bint sampled_riser(const double[::1] lam, int64_t budget, double t_lo, double t_hi, int64_t c_lo,
                        int64_t c_hi, const int64_t* lo, const int64_t* hi, double* pair) noexcept nogil:
    # threshold.sampled_riser: (a, b) into pair[0:2]; False where the sample places none
    cdef Py_ssize_t n = lam.shape[0], i = 0
    cdef Py_ssize_t stride = sample_stride(n, SAMPLED_WORKERS)
    cdef double m = <double>((n - 1) // stride + 1)
    cdef double a = t_lo, b = t_hi, top = 0.0, least = INFINITY, x, c_a, c_b, keys, share, rank, d, first, second
    cdef double c_first
    if not (b < INFINITY) or not (a > 0.0):
        while i < n:
            x = lam[i]
            if 0.0 < x < INFINITY and low_of(lo, i, True) < high_of(hi, i, budget):
                top = max(top, high_of(hi, i, budget) * x)
                least = min(least, (low_of(lo, i, True) + 1) * x)
            i += stride
        if not (b < INFINITY):
            b = min(top, DBL_MAX)
        if not (a > 0.0):
            a = 0.5 * least
    if not (0.0 < a < b <= DBL_MAX):
        return False
    c_a = sampled_count(lam, budget, a, lo, hi, stride)
    c_b = sampled_count(lam, budget, b, lo, hi, stride)
    keys = c_b - c_a
    if keys < RISER_KEYS:
        return False
    if t_hi < INFINITY and c_hi < ESTIMATE_CAP:
        share = <double>(budget - c_lo) / <double>(c_hi - c_lo)
    else:
        share = (budget * (m / n) - c_a) / keys
    if not (0.0 < share < 1.0):
        return False
    rank = c_a + share * keys
    d = max(RISER_NOISE * sqrt(keys * share * (1.0 - share)), 1.0)
    first = sampled_rank_threshold(lam, budget, a, b, c_a, c_b, max(rank - d, c_a + 0.5), lo, hi, stride, &c_first)
    second = sampled_rank_threshold(lam, budget, first, b, c_first, c_b, min(rank + d, c_a + keys - 0.5), lo, hi,
                                    stride, &c_first)
    if not (t_lo < first < second < t_hi):
        return False
    pair[0] = first
    pair[1] = second
    return True


cdef double sampled_rank_threshold(const double[::1] lam, int64_t budget, double a, double b, double c_a,
                                   double c_b, double rank, const int64_t* lo, const int64_t* hi, Py_ssize_t stride,
                                   double* count) noexcept nogil:
    # threshold.sampled_rank_threshold: the threshold, its count into *count
    cdef double c, mid
    cdef int k
    for k in range(RISER_STEPS):
        if c_b - c_a <= 1.0:
            break
        mid = sqrt(a) * sqrt(b) if b > 2.0 * a else a + 0.5 * (b - a)
        if not (a < mid < b):
            break
        c = sampled_count(lam, budget, mid, lo, hi, stride)
        if c < rank:
            a = mid
            c_a = c
        else:
            b = mid
            c_b = c
    count[0] = c_b
    return b


cdef inline bint own_slope(const double[::1] lam, int64_t keys, int64_t away, bint have_lo, double lo_s,
                           double hi_s) noexcept nogil:
    # threshold.own_slope
    keys = llabs(keys)
    return (keys >= PAIR_OWN_KEYS and <double>llabs(away) <= PAIR_OWN_REACH * <double>keys and have_lo
            and hi_s <= 2.0 * lo_s and not sampled_repeats(lam))


cdef inline bint steeper_than_secant(const double[::1] lam, int64_t keys, double span, double local,
                                     bint have_lo) noexcept nogil:
    # threshold.steeper_than_secant
    cdef double k = <double>llabs(keys)
    return (k >= PAIR_OWN_KEYS and PAIR_OWN_SHARE * k >= lam.shape[0] and local > 0.0 and have_lo
            and k >= PAIR_OWN_BEND * local * fabs(span) and not sampled_repeats(lam))


cdef bint pair_thresholds(int64_t budget, double s, int64_t c, double slope, double local, int64_t width,
                          bint have_lo, double lo_s, int64_t lo_c, double hi_s, int64_t hi_c,
                          double last_s, int64_t last_c, int64_t base, double share, double* pair) noexcept nogil:
    # threshold.pair_thresholds: False where it returns (-1, -1), else the pair in pair[0:2]
    cdef double k = slope, d = share * width, a, b, p_s, q_s
    cdef double ab[2]
    cdef int64_t p_c, q_c
    if local <= 0.0 and have_lo and hi_s < INFINITY:
        bracket_line(budget, d, lo_s, lo_c, hi_s, hi_c, base, ab)
        if not (lo_s < ab[0] < ab[1] < hi_s):
            return False
        pair[0] = ab[0]
        pair[1] = ab[1]
        return True
    if local > 0.0:
        if last_s < s:
            p_s, p_c, q_s, q_c = last_s, last_c, s, c
        else:
            p_s, p_c, q_s, q_c = s, c, last_s, last_c
        if log_like(p_s, <double>(p_c - base), q_s, <double>(q_c - base)):
            a = log_between(p_s, <double>p_c, q_s, <double>q_c, budget - d)
            b = log_between(p_s, <double>p_c, q_s, <double>q_c, budget + d)
            if not (lo_s < a < b < hi_s):
                return False
            pair[0] = a
            pair[1] = b
            return True
        k = local
    if not (k > 0.0):
        return False
    a = s + (budget - d - c) / k
    b = s + (budget + d - c) / k
    if not (lo_s < a < b < hi_s and b <= DBL_MAX):
        return False
    pair[0] = a
    pair[1] = b
    return True


cdef void bracket_line(int64_t budget, double d, double lo_s, int64_t lo_c, double hi_s, int64_t hi_c,
                       int64_t base, double* ab) noexcept nogil:
    # threshold.bracket_line, into ab[0:2]
    cdef double k
    if log_like(lo_s, <double>(lo_c - base), hi_s, <double>(hi_c - base)):
        ab[0] = log_between(lo_s, <double>lo_c, hi_s, <double>hi_c, budget - d)
        ab[1] = log_between(lo_s, <double>lo_c, hi_s, <double>hi_c, budget + d)
        return
    k = (hi_c - lo_c) / (hi_s - lo_s)
    if not (k > 0.0):
        ab[0] = ab[1] = -1.0
        return
    ab[0] = lo_s + (budget - d - lo_c) / k
    ab[1] = lo_s + (budget + d - lo_c) / k


cdef inline int found_bracket(double* bracket, int64_t* ends, double t_lo, double t_hi, int64_t lo_c,
                              int64_t hi_c, int found) noexcept nogil:
    # estimate_bracket's answer: (t_lo, t_hi) into bracket, the estimates at them into ends
    bracket[0] = t_lo
    bracket[1] = t_hi
    ends[0] = lo_c
    ends[1] = hi_c
    return found


cdef bint estimate_within(const double[::1] inv, int64_t budget, double s, int step, double t2, double slope,
                          double prev_t, int64_t prev_c, int streak, double lo_t, int64_t lo_c, double hi_t,
                          int64_t hi_c, int64_t width, int64_t base, const int64_t* lo, const int64_t* hi,
                          double* narrowed) noexcept nogil:
    # threshold.estimate_within, step for step; its bracket goes to narrowed[0:2], narrow or not
    cdef int64_t terms = min(budget, ESTIMATE_TERMS_CAP)
    cdef Py_ssize_t n = inv.shape[0]
    cdef int64_t c
    cdef double total, nxt
    cdef int k
    for k in range(WITHIN_ESTIMATES):
        if not (ESTIMATE_LOW <= s <= ESTIMATE_HIGH):
            break
        total = estimate_at(SIMD_LEVEL, &inv[0], lo, hi, n, s, terms, NULL, NULL)
        c = saturated(total, ESTIMATE_CAP)
        if c == lo_c or c == hi_c:
            break
        if c < budget:
            lo_t = s
            lo_c = c
            streak = (streak if streak > 0 else 0) + 1
        else:
            hi_t = s
            hi_c = c
            streak = (streak if streak < 0 else 0) - 1
        if hi_c - lo_c <= width:
            narrowed[0] = lo_t * (1.0 - ESTIMATE_MARGIN)
            narrowed[1] = hi_t * (1.0 + ESTIMATE_MARGIN)
            return True
        nxt = next_threshold(budget, step + 1 + k, s, c, t2, slope, prev_t, prev_c, streak, True, lo_t, lo_c, hi_t,
                             hi_c, width, base)
        if nxt < 0.0:
            break
        prev_t = s
        prev_c = c
        s = nxt
    narrowed[0] = lo_t * (1.0 - ESTIMATE_MARGIN)
    narrowed[1] = hi_t * (1.0 + ESTIMATE_MARGIN)
    return False


cdef int estimate_bracket(const double[::1] lam, const double[::1] inv, int64_t budget, double t, double t2,
                          double slope, double first, double t2_estimate, int64_t base, int64_t width,
                          const int64_t* lo, const int64_t* hi, double t_min, double t_max, double reach,
                          int64_t[::1] out, int64_t[::1] ties, double[::1] heap, double* bracket,
                          int64_t* ends) noexcept nogil:
    # threshold.estimate_bracket: returns found, (t_lo, t_hi) in bracket[0:2] and the estimates
    # at them in ends[0:2]; SELECTED: out holds the allocation
    cdef Py_ssize_t n = inv.shape[0]
    cdef int64_t lo_c = base, hi_c = ESTIMATE_CAP, c = 0, prev_c = 0, last_c, near_c, line_c
    cdef double lo_s = 0.0, hi_s = INFINITY, prev_s = -1.0, s = t, s2 = -1.0, total, nxt, moving = 0.0
    cdef double local, aim, last_s, near_s, line_s, a_s, b_s, p, share, known
    cdef double totals[2]
    cdef double pair[2]
    cdef bint have_lo = False, flat = False, paired, alone, consulted = False, empty = False, same_pass, repeats
    cdef bint placed = False, reaimed = False, lo_exact, hi_exact, aimed
    cdef int64_t counted[2]
    cdef int streak = 0, step, k
    cdef int64_t terms = min(budget, ESTIMATE_TERMS_CAP)  # threshold.ESTIMATE_TERMS_CAP
    totals[1] = 0.0
    if t_min > 0.0:  # below every key but the base ones: the lower end from the start
        lo_s = t_min
        have_lo = True
    if first < 0.0 and s > t_max:  # no estimate above t_max
        s = t_max
    known = t2 if t2_estimate >= 0.0 else -1.0  # the threshold t2_estimate is at
    if t2 > t_max:
        t2 = t_max
    for step in range(MAX_ESTIMATES):
        if not (ESTIMATE_LOW <= s <= ESTIMATE_HIGH and s2 <= ESTIMATE_HIGH):
            break
        if step == 0 and first >= 0.0:  # taken by the bounds check
            total = first
        elif s2 > 0.0:  # threshold.estimate_pair_into (without bounds: a pair after a flat)
            estimate_pair_at(SIMD_LEVEL, &inv[0], lo, hi, n, s, s2, terms, totals)
            total = totals[0]
        elif s == known:  # the validation pass's, at the second guess
            total = t2_estimate
        elif step == 0 and lo != NULL:  # threshold.estimate_slope_into
            total = estimate_at(SIMD_LEVEL, &inv[0], lo, hi, n, s, terms, &moving, NULL)
            if moving > 0.0:
                slope = moving
        else:
            total = estimate_at(SIMD_LEVEL, &inv[0], lo, hi, n, s, terms, NULL, NULL)
        paired = s2 > 0.0
        last_s = prev_s  # the previous pass's estimate (its last, if a pair)
        last_c = prev_c
        for k in range(2 if paired else 1):
            if k == 1:
                prev_s = s  # next_threshold's secant, if the next pass is single: through the pair
                prev_c = c
                s = s2
                total = totals[1]
            c = saturated(total, ESTIMATE_CAP)
            if c == budget:
                return found_bracket(bracket, ends, lo_s * (1.0 - ESTIMATE_MARGIN), s, lo_c, hi_c, LANDED)
            flat = (c == lo_c and have_lo) if c < budget else c == hi_c
            if flat and k == 1 and (c < budget) == (prev_c < budget):
                # a pair's second threshold on its first's side: no ties said in a bracket wider
                # than GROWTH, nor below the budget with nothing estimated above over times a
                # sample does not repeat (threshold.estimate_bracket)
                a_s, b_s = (s, hi_s) if c < budget else (lo_s, s)
                if b_s < INFINITY:
                    flat = not (have_lo and GROWTH * a_s < b_s)
                else:
                    flat = sampled_repeats(lam)
            # with bounds, a first estimate with no key above the minimums (threshold)
            empty = step == 0 and lo != NULL and c == base and not have_lo
            same_pass = k == 1 and (c < budget) == (prev_c < budget)  # one step of the streak (threshold)
            if c < budget:
                lo_s = s
                lo_c = c
                have_lo = True
                if not same_pass:
                    streak = (streak if streak > 0 else 0) + 1
            else:
                hi_s = s
                hi_c = c
                if not same_pass:
                    streak = (streak if streak < 0 else 0) - 1
            if hi_c - lo_c <= width:
                return found_bracket(bracket, ends, lo_s * (1.0 - ESTIMATE_MARGIN), hi_s * (1.0 + ESTIMATE_MARGIN),
                                     lo_c, hi_c, NARROW)
            if flat:
                break
        if flat or empty:
            repeats = sampled_repeats(lam)
            # unless the sample places a pair in a band of keys, once (threshold.estimate_bracket)
            if not consulted and not repeats:
                consulted = True
                if sampled_riser(lam, budget, lo_s, min(hi_s, t_max), lo_c, hi_c if hi_s <= t_max else ESTIMATE_CAP,
                                 lo, hi, pair):
                    placed = True
                    prev_s = -1.0  # the next line through the pair alone
                    prev_c = 0
                    s = pair[0]
                    s2 = pair[1]
                    continue
            if flat or repeats:  # empty over a few machine types: a flat too (threshold)
                return found_bracket(bracket, ends, lo_s * (1.0 - ESTIMATE_MARGIN), hi_s * (1.0 + ESTIMATE_MARGIN),
                                     lo_c, hi_c, JUMP)
        if hi_s < INFINITY and n >= SAMPLED_TIES_FROM:
            # ties: a product many sampled workers share (threshold.estimate_bracket)
            p = sampled_top(lam, lo_s * (1.0 - ESTIMATE_MARGIN), hi_s * (1.0 + ESTIMATE_MARGIN), budget, lo, hi,
                            &share, &alone)
            if share >= <double>max(2 * (hi_c - budget), width) or (alone and have_lo and
                                                                      share >= 0.5 * <double>(hi_c - lo_c)):
                return found_bracket(bracket, ends, lo_s * (1.0 - ESTIMATE_MARGIN), p, lo_c, hi_c, TIED)
        s2 = -1.0
        if (lo != NULL or n >= PAIRED_FROM and last_s >= 0.0) and not (step == 0 and lo_s < t2 < hi_s):  # threshold
            near_s = s
            near_c = c
            if paired and llabs(prev_c - budget) < llabs(c - budget):
                near_s = prev_s
                near_c = prev_c
            local = (near_c - last_c) / (near_s - last_s) if last_s >= 0.0 and near_c != last_c else -1.0
            aim = local
            line_s = last_s
            line_c = last_c
            if paired and (own_slope(lam, c - prev_c, near_c - budget, have_lo, lo_s, hi_s)
                           or steeper_than_secant(lam, c - prev_c, s - prev_s, local, have_lo)):  # the pair's own slope
                if near_s == prev_s:
                    line_s = s
                    line_c = c
                else:
                    line_s = prev_s
                    line_c = prev_c
                aim = (near_c - line_c) / (near_s - line_s)
            if pair_thresholds(budget, near_s, near_c, slope, aim, width, have_lo, lo_s, lo_c, hi_s, hi_c, line_s,
                               line_c, base, PAIR_AIM, pair):
                nxt = pair[0]
                s2 = pair[1]
            # the count and listing at the bracket a trusted line aims, or, where no next pair
            # fits, along the pair's own slope or from a single estimate along the line from
            # the pass before; not after the sample's pair (threshold.estimate_bracket)
            aimed = False
            if reach > 0.0 and n >= SPECULATE_PAIRS_FROM and not placed:
                if s2 > 0.0:
                    aimed = (paired
                             and pair_line_trusted(budget, prev_s, prev_c, s, c, last_s, last_c, near_s, near_c,
                                                   width, base)
                             and not sampled_repeats(lam)
                             and pair_thresholds(budget, near_s, near_c, slope, local, width, have_lo, lo_s, lo_c,
                                                 hi_s, hi_c, last_s, last_c, base, SPECULATE_AIM, bracket))
                elif prev_s >= 0.0 and not sampled_repeats(lam):
                    aimed = line_extended(budget, near_s, near_c, prev_s, prev_c, s, c, width, lo_s, hi_s, base, bracket)
            if aimed and 0.0 < bracket[0] and bracket[1] <= reach:
                if select_aimed(lam, heap, budget, out, ties, heap, bracket, lo, hi, counted):
                    ends[0] = lo_c
                    ends[1] = hi_c
                    return SELECTED
                if not reaimed:
                    # the miss's exact counts: the bracket's ends, and a second count and
                    # listing between them (threshold.estimate_bracket)
                    reaimed = True
                    lo_exact = hi_exact = True
                    if counted[0] >= budget:
                        hi_s = bracket[0]
                        hi_c = counted[0]
                        lo_exact = False
                    else:
                        lo_s = bracket[0]
                        lo_c = counted[0]
                        have_lo = True
                        if counted[1] < budget:
                            lo_s = bracket[1]
                            lo_c = counted[1]
                            hi_exact = False
                        else:
                            hi_s = bracket[1]
                            hi_c = counted[1]
                    if have_lo and hi_s < INFINITY:
                        reaimed_bracket(budget, lo_s, lo_c, hi_s, hi_c, width, base, lo_exact, hi_exact, bracket)
                        if (0.0 < bracket[0] and bracket[1] <= reach
                                and select_aimed(lam, heap, budget, out, ties, heap, bracket, lo, hi, NULL)):
                            ends[0] = lo_c
                            ends[1] = hi_c
                            return SELECTED
        if s2 < 0.0:
            nxt = next_threshold(budget, step, s, c, t2, slope, prev_s, prev_c, streak, have_lo, lo_s, lo_c,
                                 hi_s, hi_c, width, base)
            if nxt < 0.0:
                break
        prev_s = s
        prev_c = c
        s = nxt if nxt < t_max else t_max
        if s2 > t_max:  # a pair past t_max: one estimate there (threshold.estimate_bracket)
            s2 = t_max if s < t_max else -1.0
    return found_bracket(bracket, ends, lo_s * (1.0 - ESTIMATE_MARGIN), hi_s * (1.0 + ESTIMATE_MARGIN), lo_c, hi_c, 0)


cdef double line_start(const double[::1] lam, double t_lo, double t_hi, int64_t c_lo, int64_t budget,
                       int64_t base, const int64_t* lo, const int64_t* hi) noexcept nogil:
    # threshold.line_start
    cdef Py_ssize_t n = lam.shape[0], i = 0
    cdef Py_ssize_t stride = sample_stride(n, SAMPLED_WORKERS)
    cdef double x, least = INFINITY, start = t_lo
    if c_lo <= base:
        while i < n:
            x = lam[i]
            if 0.0 < x < INFINITY and low_of(lo, i, True) < high_of(hi, i, budget):
                least = min(least, <double>(low_of(lo, i, True) + 1) * x)
            i += stride
        if least < t_hi:
            start = max(start, least)
    return start


cdef double product_near(const double[::1] lam, double t_lo, double t_hi, double aim, int64_t budget,
                         const int64_t* lo, const int64_t* hi) noexcept nogil:
    # threshold.product_near
    cdef Py_ssize_t n = lam.shape[0], i = 0
    cdef Py_ssize_t stride = sample_stride(n, SAMPLED_WORKERS)
    cdef int64_t c, low, cap
    cdef double x, above = INFINITY, below = 0.0
    while i < n:
        x = lam[i]
        if 0.0 < x < INFINITY:
            low = low_of(lo, i, True)
            cap = high_of(hi, i, budget)
            c = max(count_le(x, aim, cap), low)
            if c < cap and <double>(c + 1) * x <= t_hi:
                above = min(above, <double>(c + 1) * x)
            if c > low and <double>c * x > t_lo:
                below = max(below, <double>c * x)
        i += stride
    return above if above < INFINITY else below


cdef double product_above(const double[::1] lam, double t_lo, double t_hi, double need, int64_t budget,
                          const int64_t* lo, const int64_t* hi, double* tied) noexcept nogil:
    # threshold.product_above: returns reach, and tied through the pointer
    cdef Py_ssize_t n = lam.shape[0], i = 0, inside = 0, held = 0
    cdef Py_ssize_t stride = sample_stride(n, SAMPLED_WORKERS)
    cdef int64_t j, cap
    cdef double x, p, reach
    cdef int k, first
    cdef FourLargest slots  # of -p: the largest of them are the smallest products
    no_slots(&slots)
    tied[0] = 0.0
    while i < n:
        x = lam[i]
        if 0.0 < x < INFINITY:
            cap = high_of(hi, i, budget)
            j = max(count_le(x, t_lo, cap), low_of(lo, i, True)) + 1
            p = <double>j * x
            if j <= cap and p <= t_hi:
                inside += 1
                four_largest(&slots, -p, 0)
        i += stride
    if inside == 0:
        return 0.0
    reach = slots.p[0]
    for k in range(4):
        held += slots.h[k]
        if <double>(2 * held * stride) >= need:
            reach = slots.p[k]
            break
    first = 0  # the first slot held by more than one
    while first < 3 and slots.h[first] == 1:
        first += 1
    held = slots.h[first]
    if held >= TIED_HOLDERS and <double>(2 * held * stride) >= need and (
            2 * held >= inside or (<double>(held * stride) >= 2.0 * need and <double>(2 * first * stride) < need)):
        tied[0] = -slots.p[first]
    return -reach


cdef void prefix_at_zero(const double[::1] lam, int64_t budget, const int64_t* lo,
                         const int64_t* hi, int64_t[::1] out) noexcept nogil:
    # threshold.prefix_at_zero (with bounds, in C: fastata_prefix_at_zero_at)
    cdef Py_ssize_t i
    if lam.shape[0] == 0:
        return
    if lo == NULL:
        for i in range(lam.shape[0]):
            out[i] = budget if lam[i] == 0.0 else 0
        return
    prefix_at_zero_at(SIMD_LEVEL, &lam[0], lo, hi, &out[0], lam.shape[0], budget)


cdef void copy_into(int64_t[::1] src, int64_t[::1] dst) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(min(src.shape[0], dst.shape[0])):  # scratch may be longer than out, either way round
        dst[i] = src[i]


cdef inline void finish_bracketed(const double[::1] lam, const double[::1] inv, int64_t budget,
                                  double reach, double tstar, int64_t[::1] out, int64_t[::1] ties,
                                  double[::1] heap, double lo_t, double* bracket,
                                  const int64_t* lo, const int64_t* hi) noexcept nogil:
    # finish_at, and (lo_t, t*) as the bracket allocate_positive returns
    finish_at(lam, inv, budget, reach, tstar, out, ties, heap, lo, hi)
    bracket[0] = lo_t
    bracket[1] = tstar


cdef int64_t sampled_holders(const double[::1] lam, double p, int64_t budget, const int64_t* lo,
                             const int64_t* hi) noexcept nogil:
    # threshold.sampled_holders
    cdef Py_ssize_t n = lam.shape[0], i = 0
    cdef Py_ssize_t stride = sample_stride(n, SAMPLED_WORKERS)
    cdef int64_t k = 0, c
    cdef double x
    while i < n:
        x = lam[i]
        if 0.0 < x < INFINITY:
            c = max(count_le(x, p, high_of(hi, i, budget)), low_of(lo, i, True))
            if c > low_of(lo, i, True) and <double>c * x == p:
                k += 1
        i += stride
    return k


cdef double sampled_keys_at(const double[::1] lam, double p, int64_t budget, const int64_t* lo,
                            const int64_t* hi, int64_t* holders) noexcept nogil:
    # threshold.sampled_keys_at: the keys, and the holders in *holders
    holders[0] = sampled_holders(lam, p, budget, lo, hi)
    return <double>holders[0] * sample_stride(lam.shape[0], SAMPLED_WORKERS)


cdef int NEXT_TIES = 2


cdef double next_tie_above(const double[::1] lam, double t, double t_hi, int64_t need, int64_t budget,
                           const int64_t* lo, const int64_t* hi) noexcept nogil:
    # threshold.next_tie_above
    cdef double reached, tied = 0.0, p
    cdef int64_t holders
    if not sampled_repeats(lam):
        return 0.0
    reached = product_above(lam, t, t_hi, <double>need, budget, lo, hi, &tied)
    p = tied if tied > 0.0 else reached
    if not (t < p <= t_hi):
        return 0.0
    if sampled_keys_at(lam, p, budget, lo, hi, &holders) >= <double>need:
        return p
    return 0.0


cdef double climb_ties(const double[::1] lam, const double[::1] inv, int64_t budget, double reach, double* guess,
                       int64_t* under, double t_hi, int64_t[::1] out, double[::1] heap, int64_t[::1] ties,
                       const int64_t* lo, const int64_t* hi, int64_t limit, double* hi_t,
                       int64_t* hi_c) noexcept nogil:
    # threshold.climb_ties: returns p (0: none taken); the lower end in *guess and *under
    cdef double p
    cdef int64_t next_under
    cdef int k
    under[0] += marks_to_counts(out)
    for k in range(NEXT_TIES):
        p = next_tie_above(lam, guess[0], t_hi, budget - under[0], budget, lo, hi)
        if p == 0.0:
            break
        copy_into(out, ties)
        next_under = try_as_tstar(lam, inv, budget, reach, p, out, heap, ties, lo, hi, limit, hi_t, hi_c)
        if next_under == TAKEN:
            return p
        if next_under >= budget:
            copy_into(ties, out)
            break
        guess[0] = p
        under[0] = next_under + marks_to_counts(out)
    return 0.0


cdef bint lump_holds_excess(const double[::1] lam, double p, int64_t c, int64_t budget, const int64_t* lo,
                            const int64_t* hi) noexcept nogil:
    # threshold.lump_holds_excess
    cdef int64_t holders
    cdef double keys
    if not sampled_repeats(lam):
        return False
    keys = sampled_keys_at(lam, p, budget, lo, hi, &holders)
    return holders >= 2 and keys >= <double>(c - budget)


cdef double LUMP_SLACK = 1.25  # threshold.LUMP_SLACK


cdef double lump_below(const double[::1] lam, double t_lo, double hi_t, int64_t c, int64_t budget,
                       const int64_t* lo, const int64_t* hi) noexcept nogil:
    # threshold.lump_below
    cdef double share
    cdef bint alone
    if not sampled_repeats(lam):
        return 0.0
    cdef double p = sampled_top(lam, t_lo, hi_t, budget, lo, hi, &share, &alone)
    return p if t_lo < p and LUMP_SLACK * share >= <double>(c - budget) else 0.0


cdef double refused_aim(int64_t budget, double t_lo, double start, int64_t est_lo, double hi_t, int64_t hi_c,
                        double key_min, int64_t base) noexcept nogil:
    # threshold.refused_aim
    cdef double t = t_lo
    if t_lo > 0.0 and est_lo < budget < hi_c and start < hi_t:
        t = start + (hi_t - start) * (max(<double>budget - scatter(budget, est_lo) - <double>est_lo, 0.0)
                                      / <double>(hi_c - est_lo))
    if t_lo == 0.0:
        t = key_min + (hi_t - key_min) * (<double>(budget - base) / <double>(hi_c - base))
    return t


# --- A bracket of many keys: a sample of its keys (threshold.sampled_key_bracket) --------


cdef double KEY_COST = 36.0  # threshold.KEY_COST
cdef Py_ssize_t KEY_SAMPLE_WORKERS = 64
cdef double KEY_MARGIN = 3.0
cdef int KEY_ROUNDS = 2
cdef Py_ssize_t KEY_SELECT_SHARE = 64


cdef inline double sampled_key(const double[::1] lam, const int64_t[::1] pairs, Py_ssize_t e) noexcept nogil:
    return <double>pairs[2 * e + 1] * lam[pairs[2 * e]]


cdef double nth_sampled_key(const double[::1] lam, int64_t[::1] pairs, Py_ssize_t m, Py_ssize_t k) noexcept nogil:
    # threshold.nth_sampled_key: Hoare's selection, the pivot a median of three
    cdef Py_ssize_t lo = 0, hi = m - 1, i, j
    cdef double p_lo, p_mid, p_hi, pivot
    while lo < hi:
        p_lo = sampled_key(lam, pairs, lo)
        p_mid = sampled_key(lam, pairs, lo + (hi - lo) // 2)
        p_hi = sampled_key(lam, pairs, hi)
        pivot = max(min(p_lo, p_mid), min(max(p_lo, p_mid), p_hi))
        i = lo
        j = hi
        while i <= j:
            while sampled_key(lam, pairs, i) < pivot:
                i += 1
            while sampled_key(lam, pairs, j) > pivot:
                j -= 1
            if i <= j:
                swap_entries(pairs, i, j, 2)
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            break
    return sampled_key(lam, pairs, k)


cdef inline double key_margin(double rank, double m) noexcept nogil:
    # threshold.key_margin
    return KEY_MARGIN * sqrt(rank * max(1.0 - rank / m, 0.0) + 1.0) + 1.0


cdef inline double key_bracket_keys(double m, double rank, double stride) noexcept nogil:
    # threshold.key_bracket_keys
    cdef double margin = key_margin(rank, max(m, 1.0))
    return stride * (min(rank, margin) + margin + 1.0)


cdef bint sampled_key_bracket(const double[::1] lam, int64_t budget, double lo_t, int64_t lo_c, double hi_t,
                              int64_t hi_c, const int64_t[::1] counts, int64_t[::1] pairs, const int64_t* hi,
                              int64_t most, double* bracket) noexcept nogil:
    # threshold.sampled_key_bracket: the bracket into bracket[0:2], False for (-1, -1)
    cdef Py_ssize_t n = lam.shape[0], step, stride, i, m = 0, room = pairs.shape[0] // 2
    cdef int64_t keys = hi_c - lo_c, cap, j, r_hi, r_lo
    cdef double r = <double>(budget - lo_c), x, share, rank, margin, a, b
    step = <Py_ssize_t>(pow(<double>n / (KEY_COST * sqrt(r + 1.0)), 2.0 / 3.0))
    step = min(step, n // KEY_SAMPLE_WORKERS)
    if step < 1:
        step = 1
    stride = sample_stride(n, max(n // step, 1))
    if key_bracket_keys(<double>keys / stride, r / stride, <double>stride) > 2.0 * most:
        return False
    i = 0
    while i < n:
        x = lam[i]
        cap = high_of(hi, i, budget)
        j = counts[i] + 1
        while j <= cap and <double>j * x <= hi_t:
            if m == room:
                return False
            pairs[2 * m] = i
            pairs[2 * m + 1] = j
            m += 1
            j += 1
        i += stride
    if m == 0:
        return False
    share = <double>m / <double>keys
    rank = r * share
    margin = key_margin(rank, <double>m)
    r_hi = <int64_t>ceil(rank + margin)
    r_lo = <int64_t>floor(rank - margin)
    if <double>(min(r_hi, <int64_t>m) - max(r_lo, -1)) > most * share:
        return False
    b = hi_t
    if r_hi < m:
        b = nth_sampled_key(lam, pairs, m, r_hi)
        m = r_hi
    a = lo_t
    if r_lo >= 0:
        a = max(nth_sampled_key(lam, pairs, m, r_lo), lo_t)
    if not (a < b):
        return False
    bracket[0] = a
    bracket[1] = b
    return True


cdef void allocate_positive(const double[::1] lam, const double[::1] inv, int64_t budget,
                            double reach, double t, double t2, double slope, double first, double second,
                            double t2_estimate, int64_t base, double t_min, double t_max, double key_min,
                            int64_t[::1] out, int64_t[::1] ties, double[::1] heap, double* bracket,
                            const int64_t* lo, const int64_t* hi) noexcept nogil:
    # threshold.allocate_positive, step for step; the bracket it returns goes to bracket[0:2].
    cdef Py_ssize_t n = lam.shape[0]
    cdef int64_t width_max = <int64_t>(2.0 * sqrt(<double>n)) + 16
    # counts read far past the budget: a step past it still tells by how far (threshold)
    cdef int64_t limit = ESTIMATE_CAP, lo_c = base, hi_c = limit, c = 0, prev_c = 0
    cdef int64_t counted = -1  # an exact count at t_hi that a jump's guesses took, if any
    cdef int64_t under
    cdef bint low, jumped, near
    cdef double p
    cdef int k
    cdef double lo_t = 0.0, lo_next = 0.0, hi_t = INFINITY, hi_last = INFINITY
    cdef double prev_t = -1.0, nxt, tied
    cdef int64_t scratch[3]
    cdef int streak = 0  # counts in a row on one side: > 0 below the budget, < 0 above
    cdef double ext[2]
    cdef int64_t[::1] lo_buf = out
    cdef int64_t[::1] try_buf = ties
    cdef int64_t[::1] swap
    cdef bint try_in_out = False, have_lo = False
    cdef int step
    if width_max > (n + 2) // 3:
        width_max = (n + 2) // 3
    cdef int64_t key_most = max(width_max, <int64_t>(n // KEY_SELECT_SHARE))  # a sampled bracket's keys
    cdef int plain = 1 if n >= EXTREMES_N else 2
    cdef int found
    cdef double est[2]
    cdef int64_t est_c[2]  # the estimates at est[0] and est[1]
    cdef double start, line_t
    cdef double spare[3]  # what that pass also finds, unused here (est holds the bracket)
    cdef double guess, total, whole
    cdef Py_ssize_t listed
    cdef bint selected
    if reach >= 0.0 and n >= EXTREMES_N:  # estimate passes first, as threshold.allocate_positive
        if second >= 0.0 and 0.0 <= first != budget and allocate_aimed(lam, inv, budget, t, first, second,
                                                                       width_max, reach, base, out, ties, heap,
                                                                       est, lo, hi):
            bracket[0] = est[0]
            bracket[1] = est[1]
            return
        found = estimate_bracket(lam, inv[:n], budget, t, t2, slope, first, t2_estimate, base, width_max, lo, hi,
                                 t_min, t_max, reach, out, ties, heap, est, est_c)
        if found == SELECTED:
            bracket[0] = est[0]
            bracket[1] = est[1]
            return
        if found == NARROW:
            if est[0] > reach:  # from 2**51 tasks: the count divides, the listing is its own pass
                lo_c = count_either(lam, inv, est[0], budget, limit, reach, False, out, spare, lo, hi)
                selected = lo_c < budget and select_between(lam, budget, lo_c, out, est[1], out, ties, heap,
                                                            lo, hi)
            elif est[0] > 0.0:
                # The count at the lower end and the listing of the workers with keys between,
                # in one pass (threshold.count_list_into).
                total = count_list_at(SIMD_LEVEL, &lam[0], &inv[0], lo, hi, &out[0], n, est[0], budget,
                                      est[1], &ties[0], &listed)
                lo_c = saturated(total, limit)
                selected = lo_c < budget and select_listed(lam, budget, lo_c, est[1], out, ties, listed,
                                                           heap, hi)
            else:  # at 0, 1/lam = inf times 0: the prefix of the minimums instead
                prefix_at_zero(lam, budget, lo, hi, out)
                selected = lo_c < budget and select_between(lam, budget, lo_c, out, est[1], out, ties, heap,
                                                            lo, hi)
            if selected:
                bracket[0] = est[0]
                bracket[1] = est[1]
                return
            # More keys between than the estimates said: the selection's scratch (heap, which
            # holds 1/lam) is overwritten; 1/lam again, and the exact passes take over.
            inverse_at(SIMD_LEVEL, &lam[0], &heap[0], n, scratch, 1.0, 0.0, 0.0, INFINITY, &spare[0], &spare[2])
            lo_c = base
        elif (found == JUMP or found == TIED) and reach > 0.0:
            plain = 0  # guesses of t*, as threshold.allocate_positive
            guess = 0.0
            start = est[0]
            if found == TIED:  # the product many sampled workers share
                guess = est[1]
            elif est[1] < INFINITY:  # next to where the line through the estimates reaches the budget
                start = line_start(lam, est[0], est[1], est_c[0], budget, base, lo, hi)
                line_t = start
                if est_c[1] > est_c[0]:
                    line_t += (est[1] - start) * (<double>(budget - est_c[0]) / <double>(est_c[1] - est_c[0]))
                product_above(lam, est[0], est[1], <double>(budget - est_c[0]), budget, lo, hi, &tied)
                guess = tied  # the product most sampled workers share next, if any
                if guess == 0.0:
                    guess = product_near(lam, est[0], est[1], line_t, budget, lo, hi)
                whole = floor(est[1])  # the one whole product inside, for times in whole units
                if guess == 0.0 and est[0] < whole and whole - 1.0 <= est[0] and sampled_integers(lam):
                    guess = whole
            else:  # nothing estimated above the flat: the next product above it
                guess = product_above(lam, est[0], INFINITY, <double>(budget - est_c[0]), budget, lo, hi, &tied)
                if tied > 0.0:
                    guess = tied
            if guess == INFINITY:  # overflowing keys: t* = inf, which the exact counts find
                guess = 0.0
            under = 0
            if guess > 0.0:
                under = try_as_tstar(lam, inv, budget, reach, guess, out, heap, ties, lo, hi, limit, &hi_t, &hi_c)
                if under == TAKEN:
                    bracket[0] = est[0]
                    bracket[1] = guess
                    return
            # refused with fewer keys: the lower end, its counts the split's marks, or the ties
            # above it the split takes (threshold.allocate_positive)
            jumped = found == JUMP and est[1] < INFINITY and hi_t == INFINITY
            low = guess > est[0] and under < budget and hi_t == INFINITY
            if low:
                p = climb_ties(lam, inv, budget, reach, &guess, &under, est[1], out, heap, ties, lo, hi, limit,
                               &hi_t, &hi_c)
                if p > 0.0:
                    bracket[0] = est[0]
                    bracket[1] = p
                    return
                lo_t = guess
                lo_c = under
                lo_next = guess  # the product above it is not known
                have_lo = True
                streak = 1
            if jumped:
                c = -1
                if hi_t == INFINITY:  # else a tie refused high: the split's end is the tighter
                    c = count_either(lam, inv, est[1], budget, limit, reach, True, ties, ext, lo, hi)
                    if c == budget:
                        copy_into(ties, out)
                        bracket[0] = est[0]
                        bracket[1] = est[1]
                        return
                counted = c  # the exact passes' first count, at t_hi into ties (ext holds its products)
                if not low and c > budget and est[0] < ext[1] != guess:
                    under = try_as_tstar(lam, inv, budget, reach, ext[1], out, heap, ties, lo, hi, limit, &hi_t, &hi_c)
                    if under == TAKEN:
                        bracket[0] = est[0]
                        bracket[1] = ext[1]
                        return
                    if hi_t < INFINITY:  # the count at t_hi is no longer the upper end
                        counted = -1
        elif found == JUMP or found == TIED:
            plain = 0  # from 2**51 tasks no guess of t* (threshold.allocate_positive)
        if hi_t < INFINITY:  # a refused guess bounded the bracket from above
            t = refused_aim(budget, est[0], start, est_c[0], hi_t, hi_c, key_min, base)
            guess = product_near(lam, est[0], hi_t, t, budget, lo, hi)
            # no sampled product between the aim and the refused guess: the sample's product
            # below goes to the split; else the lumps just below the guess (threshold.allocate_positive)
            near = 0.0 < guess < t and sampled_holders(lam, guess, budget, lo, hi) >= 2
            for k in range(NEXT_TIES):
                if not near:
                    guess = lump_below(lam, est[0], hi_t, hi_c, budget, lo, hi)
                    if guess == 0.0:
                        break
                under = try_as_tstar(lam, inv, budget, reach, guess, out, heap, ties, lo, hi, limit, &hi_t, &hi_c)
                if under == TAKEN:
                    bracket[0] = est[0]
                    bracket[1] = guess
                    return
                if under < budget:  # the lower end, its counts the split's marks
                    lo_t = guess
                    lo_c = under + marks_to_counts(out)
                    lo_next = guess
                    have_lo = True
                    streak = 1
                    t = lo_t + (hi_t - lo_t) * (<double>(budget - lo_c) / <double>(hi_c - lo_c))
                    break
                t = refused_aim(budget, est[0], start, est_c[0], hi_t, hi_c, key_min, base)
                near = False
            if (not have_lo and 0.0 < est[0] and est_c[0] < budget and hi_t <= reach
                    and hi_c - est_c[0] <= key_most):
                # few keys between the estimates' lower end and the refused guess: the count
                # and listing, and the selection there (threshold.allocate_positive)
                bracket[0] = est[0]
                bracket[1] = hi_t
                if select_aimed(lam, inv, budget, out, ties, heap, bracket, lo, hi, NULL):
                    return
        else:
            t = est[1] if est[1] < INFINITY else max(est[0], t)
        t2 = est[0]
        if have_lo and counted < 0 and not (t > lo_t):  # from a refused guess: the step above it
            t = next_threshold(budget, 0, lo_t, lo_c, 0.0, slope, -1.0, 0, 1, True, lo_t, lo_c, INFINITY, limit,
                               width_max, base)
    if counted < 0:
        t = min(t, t_max)  # a guess: at most where the budget's keys are known to lie (threshold)
    # estimate_within may run once on an open bracket and once on a closed one (threshold)
    cdef bint within = reach > 0.0 and n >= EXTREMES_N
    cdef bint within_open = within
    cdef bint narrow
    cdef double narrowed[2]
    cdef int keyed = 0  # sampled brackets tried (threshold.sampled_key_bracket)
    cdef double keyed_at[2]
    cdef int64_t key_counted[2]
    cdef int64_t c_a, between
    for step in range(MAX_REFINE):
        if step == 0 and counted >= 0:  # as threshold.allocate_positive
            c = counted
        else:
            c = count_either(lam, inv, t, budget, limit, reach, step >= plain, try_buf, ext, lo, hi)
        if c == budget:
            if not try_in_out:
                copy_into(try_buf, out)
            bracket[0] = lo_t
            bracket[1] = t
            return
        if c < budget:
            lo_t = t
            lo_c = c
            lo_next = ext[0]
            swap = lo_buf
            lo_buf = try_buf
            try_buf = swap
            try_in_out = not try_in_out
            have_lo = True
            streak = (streak if streak > 0 else 0) + 1
        else:
            hi_t = ext[1] if lo_t < ext[1] < t else t  # as threshold.allocate_positive
            hi_c = c
            hi_last = ext[1]
            streak = (streak if streak < 0 else 0) - 1
            if (not have_lo and lo_t < ext[1] < t and ext[1] <= reach
                    and lump_holds_excess(lam, ext[1], c, budget, lo, hi)):
                # the lump of keys at the largest product below t to the split (threshold)
                under = try_as_tstar(lam, inv, budget, reach, ext[1], out, heap, ties, lo, hi, limit, &hi_t, &hi_c)
                if under == TAKEN:
                    bracket[0] = lo_t
                    bracket[1] = ext[1]
                    return
                hi_last = INFINITY
        # few keys between the exact ends: the listing and the selection finish (threshold)
        if hi_c - lo_c <= key_most:
            if not have_lo:
                prefix_at_zero(lam, budget, lo, hi, out)
            select_between(lam, budget, lo_c, lo_buf, hi_t, out, ties, heap, lo, hi)
            bracket[0] = lo_t
            bracket[1] = hi_t
            return
        if lo_next >= hi_t:
            finish_bracketed(lam, inv, budget, reach, hi_t, out, ties, heap, lo_t, bracket, lo, hi)
            return
        if lo_next == hi_last:
            finish_bracketed(lam, inv, budget, reach, lo_next, out, ties, heap, lo_t, bracket, lo, hi)
            return
        if lo_t >= DBL_MAX:
            finish_bracketed(lam, inv, budget, reach, INFINITY, out, ties, heap, lo_t, bracket, lo, hi)
            return
        if keyed < KEY_ROUNDS and have_lo and hi_t <= reach and hi_t < INFINITY and not sampled_repeats(lam):
            # a sample of the keys between brackets t* by their quantile (threshold.allocate_positive)
            keyed += 1
            if sampled_key_bracket(lam, budget, lo_t, lo_c, hi_t, hi_c, lo_buf, try_buf, hi, key_most, keyed_at):
                if keyed_at[0] == lo_t:  # the counts at lo_t are the prefix: into out, with the listing
                    listed = boundary_at(SIMD_LEVEL, &lam[0], &lo_buf[0], hi, &out[0], n, keyed_at[1], budget,
                                         &ties[0])
                    c_a = lo_c
                    between = listed_keys(lam, budget, keyed_at[1], out, ties, listed, hi)
                    if budget - lo_c <= between <= heap.shape[0] // 3:
                        select_listed(lam, budget, lo_c, keyed_at[1], out, ties, listed, heap, hi)
                        bracket[0] = lo_t
                        bracket[1] = keyed_at[1]
                        return
                else:
                    bracket[0] = keyed_at[0]
                    bracket[1] = keyed_at[1]
                    if select_aimed(lam, inv, budget, out, ties, heap, bracket, lo, hi, key_counted):
                        return
                    c_a = key_counted[0]
                    between = key_counted[1] - c_a if key_counted[1] >= 0 else -1
                    if c_a >= budget:  # the counts at lo_t were written over: again
                        count_either(lam, inv, lo_t, budget, limit, reach, True, out, ext, lo, hi)
                        lo_next = ext[0]
                # missed: out holds the counts at the lower end (threshold.allocate_positive)
                lo_buf = out
                try_buf = ties
                try_in_out = False
                if c_a >= budget:
                    hi_t = keyed_at[0]
                    hi_c = c_a
                    hi_last = keyed_at[0]
                else:
                    if c_a > lo_c:
                        lo_t = keyed_at[0]
                        lo_c = c_a
                        lo_next = keyed_at[0]
                    if between >= 0 and c_a + between >= budget:
                        hi_t = keyed_at[1]
                        hi_c = c_a + between
                        hi_last = keyed_at[1]
                streak = 0
                if hi_c - lo_c <= key_most:
                    select_between(lam, budget, lo_c, out, hi_t, out, ties, heap, lo, hi)
                    bracket[0] = lo_t
                    bracket[1] = hi_t
                    return
                if lo_next >= hi_t or lo_next == hi_last:
                    finish_bracketed(lam, inv, budget, reach, hi_t if lo_next >= hi_t else lo_next, out, ties,
                                     heap, lo_t, bracket, lo, hi)
                    return
        nxt = next_threshold(budget, step, t, c, t2, slope, prev_t, prev_c, streak, have_lo, lo_t, lo_c,
                             hi_t, hi_c, width_max, base)
        if nxt < 0.0:
            finish_bracketed(lam, inv, budget, reach, hi_t, out, ties, heap, lo_t, bracket, lo, hi)
            return
        if nxt > t_max:
            nxt = t_max
        if nxt < lo_next:
            nxt = lo_next
        if nxt >= hi_last:
            nxt = nextafter(hi_last, 0.0)
        if within and have_lo and hi_t <= reach and (hi_t < INFINITY or within_open):
            # estimates narrow the bracket above the lower end; stopped short, the exact steps
            # go on from the end they moved (threshold.allocate_positive)
            narrow = False
            if sampled_repeats(lam):
                within = False
            else:
                narrow = estimate_within(inv[:n], budget, nxt, step, t2, slope, t, c, streak, lo_t, lo_c, hi_t, hi_c,
                                         width_max, base, lo, hi, narrowed)
                within = hi_t == INFINITY
                within_open = False
                if not narrow:
                    if hi_t < INFINITY and lo_t < narrowed[0] and lo_next <= narrowed[0] < hi_last:
                        nxt = narrowed[0]
                    elif hi_t == INFINITY and lo_next <= narrowed[1] < hi_last and narrowed[1] <= t_max:
                        nxt = narrowed[1]
            if narrow:
                total = count_list_at(SIMD_LEVEL, &lam[0], &inv[0], lo, hi, &out[0], n, narrowed[0], budget,
                                      narrowed[1], &ties[0], &listed)
                lo_c = saturated(total, limit)
                if lo_c < budget and select_listed(lam, budget, lo_c, narrowed[1], out, ties, listed, heap, hi):
                    bracket[0] = narrowed[0]
                    bracket[1] = narrowed[1]
                    return
                # more keys between than estimated: 1/lam again, and the exact steps start
                # again from the estimates' lower end (threshold.allocate_positive)
                inverse_at(SIMD_LEVEL, &lam[0], &heap[0], n, scratch, 1.0, 0.0, 0.0, INFINITY, &spare[0], &spare[2])
                lo_t = 0.0
                lo_c = base
                lo_next = 0.0
                have_lo = False
                lo_buf = out
                try_buf = ties
                try_in_out = False
                streak = 0
                nxt = narrowed[0]
        prev_t = t
        prev_c = c
        t = nxt
    finish_bracketed(lam, inv, budget, reach, hi_t, out, ties, heap, lo_t, bracket, lo, hi)


cdef int check_allocation(const double[::1] lam, int64_t budget, int64_t[::1] out,
                          int64_t[::1] ties, double[::1] heap) noexcept nogil:
    # The C API's preconditions (the .pxd): O(1), before anything is read or written.
    cdef Py_ssize_t n = lam.shape[0]
    if not 0 <= budget <= MAX_BUDGET:
        return STATUS_BUDGET_OUT_OF_RANGE
    if out.shape[0] < n:
        return STATUS_OUT_TOO_SHORT
    if ties.shape[0] < n or heap.shape[0] < n + 2:
        return STATUS_SCRATCH_TOO_SHORT
    return STATUS_OK


cdef int allocate_core(const double[::1] lam, int64_t budget, int64_t[::1] out,
                       int64_t[::1] ties, double[::1] heap) noexcept nogil:
    cdef double warm[3]
    cdef int status = check_allocation(lam, budget, out, ties, heap)
    if status != STATUS_OK:
        return status
    warm[0] = warm[1] = warm[2] = 0.0
    return allocate_guided(lam, budget, NULL, NULL, out, ties, heap, warm)


cdef int allocate_warm_core(const double[::1] lam, int64_t budget, int64_t[::1] out,
                            int64_t[::1] ties, double[::1] heap, double[::1] warm) noexcept nogil:
    # threshold.allocate_warm
    return warm_guided(lam, budget, NULL, NULL, out, ties, heap, warm)


cdef int check_bounds(const double[::1] lam, const int64_t[::1] min_tasks,
                      const int64_t[::1] max_tasks) noexcept nogil:
    # The bounded C API's preconditions, in O(1).
    if min_tasks.shape[0] < lam.shape[0] or max_tasks.shape[0] < lam.shape[0]:
        return STATUS_LENGTHS_DIFFER
    return STATUS_OK


cdef int allocate_bounded_core(const double[::1] lam, int64_t budget,
                               const int64_t[::1] min_tasks, const int64_t[::1] max_tasks,
                               int64_t[::1] out, int64_t[::1] ties, double[::1] heap) noexcept nogil:
    # threshold.allocate_bounded_into
    cdef double warm[3]
    cdef int status = check_allocation(lam, budget, out, ties, heap)
    if status == STATUS_OK:
        status = check_bounds(lam, min_tasks, max_tasks)
    if status != STATUS_OK:
        return status
    warm[0] = warm[1] = warm[2] = 0.0
    if lam.shape[0] == 0:
        return allocate_guided(lam, budget, NULL, NULL, out, ties, heap, warm)
    return allocate_guided(lam, budget, &min_tasks[0], &max_tasks[0], out, ties, heap, warm)


cdef int allocate_bounded_warm_core(const double[::1] lam, int64_t budget,
                                    const int64_t[::1] min_tasks, const int64_t[::1] max_tasks,
                                    int64_t[::1] out, int64_t[::1] ties, double[::1] heap,
                                    double[::1] warm) noexcept nogil:
    # threshold.allocate_bounded_warm
    cdef int status = check_bounds(lam, min_tasks, max_tasks)
    if status != STATUS_OK:
        return status
    if lam.shape[0] == 0:
        return warm_guided(lam, budget, NULL, NULL, out, ties, heap, warm)
    return warm_guided(lam, budget, &min_tasks[0], &max_tasks[0], out, ties, heap, warm)


cdef int warm_guided(const double[::1] lam, int64_t budget, const int64_t* lo, const int64_t* hi,
                     int64_t[::1] out, int64_t[::1] ties, double[::1] heap,
                     double[::1] warm) noexcept nogil:
    cdef double guide[3]
    cdef int status = check_allocation(lam, budget, out, ties, heap)
    if status != STATUS_OK:
        return status
    if warm.shape[0] < 3:
        return STATUS_SCRATCH_TOO_SHORT
    guide[0] = warm[0]
    guide[1] = warm[1]
    guide[2] = warm[2]
    status = allocate_guided(lam, budget, lo, hi, out, ties, heap, guide)
    if status == STATUS_OK:
        warm[0] = guide[0]
        warm[1] = guide[1]
        warm[2] = guide[2]
    return status


cdef Py_ssize_t BOUNDS_BLOCK = 256


cdef int scan_bounds(int level, const double[::1] lam, int64_t budget, const int64_t* lo, const int64_t* hi,
                     int64_t* remaining, int64_t* zero_room, double* whole) noexcept nogil:
    # threshold.scan_bounds: SIMD blocks (fastata_bounds_block_at, at ``level``); a bad bound goes to
    # scan_bounds_exact. *whole: the largest 1/lam of a worker whose maximum holds the whole
    # budget, or 0
    cdef int64_t limit = budget + 1, taken = 0, capacity = 0, room = 0, n_bad = 0
    cdef int64_t block[4]
    cdef double least = INFINITY, block_least
    cdef Py_ssize_t start = 0, stop, n = lam.shape[0]
    whole[0] = 0.0
    while start < n:
        stop = min(start + BOUNDS_BLOCK, n)
        bounds_block_at(level, &lam[start], lo + start, hi + start, stop - start, limit, block, &block_least)
        taken = min(taken + block[0], limit)
        capacity = min(capacity + block[1], limit)
        room = min(room + block[2], limit)
        n_bad += block[3]
        least = min(least, block_least)
        start = stop
    if n_bad > 0:
        return scan_bounds_exact(lam, budget, lo, hi, remaining, zero_room)
    whole[0] = 1.0 / least if least > 0.0 else INFINITY
    return sums_status(budget, taken, capacity, room, remaining, zero_room)


cdef int sums_status(int64_t budget, int64_t taken, int64_t capacity, int64_t room,
                     int64_t* remaining, int64_t* zero_room) noexcept nogil:
    # threshold.sums_status
    if taken > budget:
        return STATUS_MIN_OVER_BUDGET
    if capacity < budget:
        return STATUS_CAPACITY_SHORT
    remaining[0] = budget - taken
    zero_room[0] = room
    return STATUS_OK


cdef int scan_bounds_exact(const double[::1] lam, int64_t budget, const int64_t* lo,
                           const int64_t* hi, int64_t* remaining, int64_t* zero_room) noexcept nogil:
    # threshold.scan_bounds_exact
    cdef int64_t limit = budget + 1, taken = 0, capacity = 0, room = 0, low, high
    cdef Py_ssize_t i
    cdef double x
    for i in range(lam.shape[0]):
        x = lam[i]
        low = low_of(lo, i, x != INFINITY)
        if low < 0:
            return STATUS_MIN_NEGATIVE
        if low > hi[i]:
            return STATUS_BOUNDS_CROSSED
        if x == INFINITY:
            if low > 0:
                return STATUS_MIN_ON_UNAVAILABLE
            continue
        high = hi[i] if hi[i] < limit else limit
        taken = min(taken + min(low, limit), limit)
        capacity = min(capacity + high, limit)
        if x == 0.0:
            room = min(room + high - low, limit)
    return sums_status(budget, taken, capacity, room, remaining, zero_room)


cdef void fill_zeros_bounded(const double[::1] lam, int64_t budget, const int64_t* lo,
                             const int64_t* hi, int64_t remaining, int64_t[::1] out,
                             int64_t[::1] ties, double[::1] heap) noexcept nogil:
    # threshold.fill_zeros_bounded
    cdef int64_t span[2]
    cdef Py_ssize_t i
    if remaining == 0:  # the minimums take the whole budget
        minimums_at(SIMD_LEVEL, &lam[0], lo, &out[0], lam.shape[0], budget)
        return
    zero_room_at(SIMD_LEVEL, &lam[0], lo, hi, lam.shape[0], budget, &out[0], &ties[0], span)
    take_tied(out, ties, lam.shape[0], remaining, span[0], span[1], heap)


cdef Py_ssize_t UNIT_SLACK_FROM = 16384  # threshold.UNIT_SLACK_FROM
cdef Py_ssize_t UNIT_LOW_END_BELOW = 262144  # threshold.UNIT_LOW_END_BELOW
cdef Py_ssize_t UNIT_SAMPLE = 256
cdef Py_ssize_t UNIT_CUTS = 8
cdef double[8] UNIT_SPREAD = [-4.0, -2.0, -1.0, -0.34, 0.34, 1.0, 2.0, 4.0]


cdef bint unit_slack_bounds(const int64_t* lo, const int64_t* hi) noexcept nogil:
    # threshold.unit_slack_bounds: with shared bounds lo[0] and hi[0] are every worker's
    return not shared_bounds or hi[0] <= lo[0] or (hi[0] > 0 and hi[0] - 1 <= lo[0])


cdef bint allocate_unit_slack(const double[::1] lam, int64_t budget, const int64_t* lo, const int64_t* hi,
                              int64_t[::1] out, int64_t[::1] ties, double[::1] heap,
                              bint second_keys) noexcept nogil:
    # threshold.allocate_unit_slack
    cdef Py_ssize_t n = lam.shape[0], k, r, listed
    cdef double shares[3]
    cdef double cuts[8]
    cdef int64_t counts[8]
    cdef int64_t sums[3]
    cdef Py_ssize_t m
    shares[0] = shares[1] = shares[2] = 0.0
    m = unit_slack_sample(lam, budget, lo, hi, heap, shares, second_keys)
    cdef double rank, error, at, cut_lo, cut_hi, slack_share, share, share_variance, least
    cdef int64_t taken, slack, remaining, taken_below, between
    cdef int below
    if m < UNIT_CUTS:
        return False
    slack_share = <double>m / shares[2]
    share = (<double>budget / n - shares[0]) / slack_share
    share_variance = ((shares[1] - shares[0] * shares[0]) + share * share * slack_share * (1.0 - slack_share)) / (
        shares[2] * slack_share * slack_share)
    rank = share * m
    error = sqrt(max(rank * (1.0 - rank / m), 1.0) + <double>m * m * share_variance)
    if rank + UNIT_SPREAD[UNIT_CUTS - 1] * error > m - 1.0 or (
            rank + UNIT_SPREAD[0] * error < 0.0 and (rank < 1.0 or n >= UNIT_LOW_END_BELOW or second_keys)):
        return False
    sort_values(heap, m)
    for k in range(UNIT_CUTS):
        at = rank + UNIT_SPREAD[k] * error
        cuts[k] = heap[<Py_ssize_t>min(at, m - 1.0)] if at >= 0.0 else 0.0  # below every key
        if k > 0 and cuts[k] <= cuts[k - 1]:
            cuts[k] = nextafter(cuts[k - 1], INFINITY)
    if unit_counts_at(SIMD_LEVEL, &lam[0], lo, hi, n, budget, cuts, counts, sums, &least) != 0:
        return False
    taken = sums[1]
    slack = sums[2]
    if taken > budget or taken + slack < budget:
        return False
    remaining = budget - taken
    below = -1
    for k in range(UNIT_CUTS):
        if counts[k] <= remaining:
            below = <int>k
    if below < 0 or (counts[below] < remaining and below == UNIT_CUTS - 1):
        return False
    cut_lo = cuts[below]
    taken_below = counts[below]
    cut_hi = cuts[below + 1] if taken_below < remaining else cut_lo
    if second_keys and not (2.0 * least >= cut_hi):
        return False
    if taken_below < remaining:
        if cut_lo < INFINITY and cut_hi == nextafter(cut_lo, INFINITY):
            if shared_bounds:
                unit_write_tied_at(SIMD_LEVEL, &lam[0], n, lo[0], hi[0], cut_lo, remaining - taken_below, &out[0])
                return True
            if unit_write_tied_level_at(SIMD_LEVEL, &lam[0], lo, hi, n, budget, cut_lo, remaining - taken_below,
                                        &out[0]) >= 0:
                return True
        between = counts[below + 1] - taken_below
        if between > (n + 2) // 3:
            return False
    listed = unit_write_at(SIMD_LEVEL, &lam[0], lo, hi, n, budget, cut_lo, cut_hi, &out[0], &ties[0])
    if taken_below < remaining:
        if second_keys:  # one key a worker below cut_hi, and no bounds to read worker by worker
            select_listed(lam, budget, taken + taken_below, nextafter(cut_hi, -INFINITY), out, ties, listed, heap,
                          NULL)
        else:
            select_listed(lam, budget, taken + taken_below, INFINITY, out, ties, listed, heap, hi)
    return True


cdef Py_ssize_t unit_slack_sample(const double[::1] lam, int64_t budget, const int64_t* lo, const int64_t* hi,
                                  double[::1] heap, double* shares, bint second_keys) noexcept nogil:
    # threshold.unit_slack_sample: shares[0], shares[1], shares[2] the mean of the sampled
    # workers' minimums, of its square, and the workers sampled
    cdef Py_ssize_t n = lam.shape[0], stride = sample_stride(n, UNIT_SAMPLE), i = -stride, m = 0, seen = 0
    cdef double x, taken = 0.0, square = 0.0
    cdef bint available
    cdef int64_t low, high
    while i + stride < n:
        i += stride
        seen += 1
        x = lam[i]
        if not (x >= 0.0):
            return -1
        available = x < INFINITY
        if shared_bounds:  # lo[0] and hi[0] alone: the selection without bounds passes one number each
            low = lo[0] if available else 0
            high = hi[0]
        else:
            low = lo[i]
            high = hi[i]
        if low < 0 or high < low:
            return -1
        if available:
            if high - low > 1:
                return -1
            taken += low
            square += <double>low * low
            if high > low:
                heap[m] = <double>(low + 1) * x
                m += 1
    if m == 0 or (second_keys and not sampled_single_keys(heap, m, <double>budget * seen / n)):
        return -1
    shares[0] = taken / seen
    shares[1] = square / seen
    shares[2] = seen
    return m


cdef bint sampled_single_keys(double[::1] keys, Py_ssize_t m, double rank) noexcept nogil:
    # threshold.sampled_single_keys
    cdef double least = INFINITY
    cdef Py_ssize_t k, below = 0
    for k in range(m):
        least = min(least, keys[k])
    for k in range(m):
        below += keys[k] < 2.0 * least
    return rank + UNIT_SPREAD[UNIT_CUTS - 1] * sqrt(max(rank * (1.0 - rank / m), 1.0)) < below


cdef void sort_values(double[::1] v, Py_ssize_t m) noexcept nogil:
    # threshold.sort_values: heapsort
    cdef Py_ssize_t start, end
    cdef double top
    for start in range(m // 2 - 1, -1, -1):
        sift_down(v, start, m)
    for end in range(m - 1, 0, -1):
        top = v[0]
        v[0] = v[end]
        v[end] = top
        sift_down(v, 0, end)


cdef void sift_down(double[::1] v, Py_ssize_t root, Py_ssize_t end) noexcept nogil:
    cdef Py_ssize_t child
    cdef double top
    while True:
        child = 2 * root + 1
        if child >= end:
            return
        if child + 1 < end and v[child] < v[child + 1]:
            child += 1
        if not v[root] < v[child]:
            return
        top = v[root]
        v[root] = v[child]
        v[child] = top
        root = child


cdef Py_ssize_t FEW_TIMES_FROM = 4096  # threshold.FEW_TIMES_FROM
cdef int FEW_TIMES = 8  # threshold.FEW_TIMES
cdef Py_ssize_t FEW_BLOCK = 256  # threshold.FEW_BLOCK (FASTATA_FEW_BLOCK in the passes)
cdef int FEW_STEPS = 64  # threshold.FEW_STEPS


cdef inline void few_times_join(const double[::1] lam, int64_t budget, const int64_t* lo, const int64_t* hi,
                                double* table, int64_t* bounds, int j, Py_ssize_t i) noexcept nogil:
    # threshold.few_times_join
    table[j] = lam[i]
    bounds[j] = low_of(lo, i, lam[i] < INFINITY)
    bounds[FEW_TIMES + j] = high_of(hi, i, budget)


cdef inline bint few_times_takes(double x, const int64_t* lo) noexcept nogil:
    # threshold.few_times_takes
    return x >= DBL_MIN or (x == 0.0 and lo != NULL)


cdef int few_times_sample(const double[::1] lam, int64_t budget, const int64_t* lo, const int64_t* hi,
                          double* table, int64_t* bounds) noexcept nogil:
    # threshold.few_times_sample
    cdef Py_ssize_t n = lam.shape[0], stride = sample_stride(n, SAMPLED_WORKERS), i = -stride, sampled = 0
    cdef int k = 0, j
    cdef double x
    cdef int64_t minimums = 0
    cdef bint new
    while i + stride < n:
        i += stride
        x = lam[i]
        if not few_times_takes(x, lo):
            return -1
        sampled += 1
        minimums += low_of(lo, i, x < INFINITY)
        new = True
        for j in range(k):
            if table[j] == x:
                new = False
                if bounds[j] != low_of(lo, i, x < INFINITY) or bounds[FEW_TIMES + j] != high_of(hi, i, budget):
                    return -1
        if new:
            if k == FEW_TIMES:
                return -1
            few_times_join(lam, budget, lo, hi, table, bounds, k, i)
            k += 1
    if <double>minimums * n >= <double>budget * sampled:  # a fill: the general path's one pass (threshold)
        return -1
    for j in range(k, FEW_TIMES):
        table[j] = NAN
        bounds[j] = bounds[FEW_TIMES + j] = 0
    return k


cdef Py_ssize_t few_times_outside(const double[::1] lam, const double* table, Py_ssize_t start) noexcept nogil:
    # threshold.few_times_outside
    cdef Py_ssize_t i
    cdef int j
    cdef bint held
    for i in range(start, lam.shape[0]):
        held = False
        for j in range(FEW_TIMES):
            held |= lam[i] == table[j]
        if not held:
            return i
    return lam.shape[0] - 1


cdef int few_times_counts(const double[::1] lam, int64_t budget, const int64_t* lo, const int64_t* hi,
                          double* table, int64_t* bounds, int k, int64_t* counts, int64_t* running) noexcept nogil:
    # threshold.few_times_counts (few_times_pass: fastata_few_counts_at, which checks bounds as
    # arrays, not shared ones)
    cdef Py_ssize_t n = lam.shape[0], stop = 0, i
    cdef const int64_t* checked = lo
    if shared_bounds:
        checked = NULL
    while True:
        stop = few_counts_at(SIMD_LEVEL, &lam[0], checked, hi, budget, stop, n, table, bounds, counts, running)
        if stop == n or stop < 0:
            return k if stop == n else -1
        i = few_times_outside(lam, table, stop)
        if k == FEW_TIMES or not few_times_takes(lam[i], lo):
            return -1
        few_times_join(lam, budget, lo, hi, table, bounds, k, i)
        k += 1


cdef inline double few_times_tasks(double x, double t, double low, double high, int64_t budget) noexcept nogil:
    # threshold.few_times_tasks
    if x == 0.0:
        return high
    return min(max(<double>count_le(x, t, budget), low), high)


cdef double few_times_keys(const double* table, const int64_t* counts, const double* low, const double* high,
                           int k, double t, int64_t budget) noexcept nogil:
    # threshold.few_times_keys
    cdef double total = 0.0
    cdef int j
    for j in range(k):
        total += counts[j] * few_times_tasks(table[j], t, low[j], high[j], budget)
    return total


cdef inline double few_times_next(double x, double t, double low, double high, int64_t budget) noexcept nogil:
    # threshold.few_times_next
    cdef double a = few_times_tasks(x, t, low, high, budget)
    return (a + 1.0) * x if a < high else INFINITY


cdef double few_times_threshold(const double* table, const int64_t* counts, const double* low,
                                const double* high, int k, int64_t budget) noexcept nogil:
    # threshold.few_times_threshold
    cdef double inv_sum = 0.0, least = INFINITY, workers = 0.0, first = INFINITY, most = 0.0
    cdef double t, below, p, at, top, mid
    cdef double nxt[8]
    cdef int j, step
    for j in range(k):
        workers += counts[j]
        if counts[j] > 0 and 0.0 < table[j] < INFINITY:
            inv_sum += counts[j] / table[j]
            least = min(least, table[j])
            if low[j] < high[j]:
                first = min(first, (low[j] + 1.0) * table[j])
                most = max(most, high[j] * table[j])
    if not (0.0 < inv_sum < INFINITY) or not first < INFINITY:
        return 0.0
    t = max((budget - 1) / inv_sum * (1.0 - 9.313225746154785e-10), nextafter(least, 0.0))  # 2**-30
    below = few_times_keys(table, counts, low, high, k, t, budget)
    if below >= budget:
        t = nextafter(first, 0.0)
        below = few_times_keys(table, counts, low, high, k, t, budget)
        if below >= budget:
            return 0.0
    for j in range(k):
        nxt[j] = few_times_next(table[j], t, low[j], high[j], budget) if counts[j] > 0 else INFINITY
    for step in range(FEW_STEPS):
        p = INFINITY
        for j in range(k):
            p = min(p, nxt[j])
        if not p < INFINITY:
            return 0.0
        at = 0.0
        for j in range(k):
            if nxt[j] == p:
                at += counts[j]
        if below + at >= budget:
            return p
        below += at
        t = p
        for j in range(k):
            if nxt[j] == p:
                nxt[j] = few_times_next(table[j], p, low[j], high[j], budget)
    top = min((budget + workers) / inv_sum * (1.0 + 9.313225746154785e-10), budget * least)
    if not top < INFINITY or few_times_keys(table, counts, low, high, k, top, budget) < budget:
        top = most
        if not top < INFINITY or few_times_keys(table, counts, low, high, k, top, budget) < budget:
            return 0.0
    while True:
        mid = sqrt(t) * sqrt(top) if top > 4.0 * t else t + (top - t) * 0.5
        if mid <= t or mid >= top:
            return top
        if few_times_keys(table, counts, low, high, k, mid, budget) >= budget:
            top = mid
        else:
            t = mid


cdef double few_times_minimums(const double* table, const int64_t* counts, const int64_t* bounds,
                               double* low, double* high, int k, int64_t budget) noexcept nogil:
    # threshold.few_times_minimums
    cdef double minimums = 0.0, room = 0.0
    cdef int j
    for j in range(FEW_TIMES):
        low[j] = high[j] = 0.0
    for j in range(k):
        if not (0 <= bounds[j] <= bounds[FEW_TIMES + j]) or (table[j] == INFINITY and bounds[j] > 0):
            return -1.0
        low[j] = <double>bounds[j]
        high[j] = <double>bounds[FEW_TIMES + j]
        minimums += counts[j] * low[j]
        if table[j] < INFINITY:
            room += counts[j] * high[j]
    return minimums if minimums <= budget <= room else -1.0


cdef double few_times_zero_room(const double* table, const int64_t* counts, const double* low,
                                const double* high, int k) noexcept nogil:
    # threshold.few_times_zero_room
    cdef double room = 0.0
    cdef int j
    for j in range(k):
        if table[j] == 0.0:
            room += counts[j] * (high[j] - low[j])
    return room


cdef double few_times_at_zero(const double* table, const int64_t* counts, const double* low, double* tasks,
                              double* split, int k, double remaining) noexcept nogil:
    # threshold.few_times_at_zero
    cdef double rank = 0.0
    cdef int64_t share
    cdef int j
    for j in range(FEW_TIMES):
        tasks[j] = 0.0
        split[j] = 0.0
    for j in range(k):
        tasks[j] = low[j]
        if table[j] == 0.0:
            share = <int64_t>remaining // counts[j]
            tasks[j] += <double>share
            rank = remaining - <double>(share * counts[j])
            split[j] = 1.0 if rank > 0.0 else 0.0
    return rank


cdef Py_ssize_t few_times_cut(const double[::1] lam, const double* table, const double* split,
                              const int64_t* running, double rank) noexcept nogil:
    # threshold.few_times_cut
    cdef Py_ssize_t n = lam.shape[0], b, i, start = 0
    cdef double before = 0.0, reached
    cdef int j
    for b in range((n + FEW_BLOCK - 1) // FEW_BLOCK):
        reached = 0.0
        for j in range(FEW_TIMES):
            reached += split[j] * <double>running[FEW_TIMES * b + j]
        if reached >= rank:
            break
        before = reached
        start += FEW_BLOCK
    for i in range(start, n):
        for j in range(FEW_TIMES):
            if lam[i] == table[j] and split[j] > 0.0:
                before += 1.0
        if before >= rank:
            return i + 1
    return n


cdef bint allocate_few_times(const double[::1] lam, int64_t budget, const int64_t* lo, const int64_t* hi,
                             int64_t[::1] out, int64_t[::1] ties) noexcept nogil:
    # threshold.allocate_few_times: the running counts in ties
    cdef Py_ssize_t n = lam.shape[0], cut = 0
    cdef double table[8]
    cdef double split[8]
    cdef double level[8]
    cdef double tasks[8]
    cdef double low[8]
    cdef double high[8]
    cdef int64_t counts[8]
    cdef int64_t bounds[16]
    cdef int64_t whole[8]
    cdef int64_t with_split[8]
    cdef int k = few_times_sample(lam, budget, lo, hi, table, bounds), j
    cdef double tstar, under, remaining, below, rank = 0.0, least, at, minimums, zeros
    cdef bint alone
    if k < 0:
        return False
    k = few_times_counts(lam, budget, lo, hi, table, bounds, k, counts, &ties[0])
    if k < 0:
        return False
    minimums = few_times_minimums(table, counts, bounds, low, high, k, budget)
    if minimums < 0.0:
        return False
    zeros = few_times_zero_room(table, counts, low, high, k)
    if minimums + zeros > budget:
        rank = few_times_at_zero(table, counts, low, tasks, split, k, budget - minimums)
    else:
        alone = minimums + zeros == budget  # t* = 0: the minimums and lam = 0 workers' maximums make it
        tstar = 0.0 if alone else few_times_threshold(table, counts, low, high, k, budget)
        if not (alone or tstar > 0.0):
            return False
        under = nextafter(tstar, 0.0)
        remaining = <double>budget
        for j in range(FEW_TIMES):
            tasks[j] = 0.0
            split[j] = 0.0
            level[j] = -1.0
        for j in range(k):
            below = few_times_tasks(table[j], under, low[j], high[j], budget)
            tasks[j] = below
            remaining -= counts[j] * below
            if counts[j] > 0 and few_times_tasks(table[j], tstar, low[j], high[j], budget) > below:
                level[j] = below
        while remaining > 0.0:
            least = INFINITY
            for j in range(k):
                if level[j] >= 0.0:
                    least = min(least, level[j])
            at = 0.0
            for j in range(k):
                if level[j] == least:
                    at += counts[j]
            for j in range(k):
                if level[j] == least:
                    level[j] = -1.0
                    if at <= remaining:
                        tasks[j] += 1.0
                    else:
                        split[j] = 1.0
            if at > remaining:
                rank = remaining
            remaining -= at
    if rank > 0.0:
        cut = few_times_cut(lam, table, split, &ties[0], rank)
    for j in range(FEW_TIMES):
        whole[j] = <int64_t>tasks[j]
        with_split[j] = <int64_t>(tasks[j] + split[j])
    few_write_at(SIMD_LEVEL, &lam[0], 0, cut, table, with_split, &out[0])
    few_write_at(SIMD_LEVEL, &lam[0], cut, n, table, whole, &out[0])
    return True


cdef bint allocate_single_keys(const double[::1] lam, int64_t budget, int64_t[::1] out, int64_t[::1] ties,
                              double[::1] heap) noexcept nogil:
    # threshold.allocate_guided's selection without bounds: min_tasks=0, max_tasks=1 as numbers
    cdef int64_t no_minimum = 0, one_task = 1
    cdef int shared = shared_bounds
    cdef bint taken
    set_shared_bounds(1)
    taken = allocate_unit_slack(lam, budget, &no_minimum, &one_task, out, ties, heap, True)
    set_shared_bounds(shared)
    return taken


cdef int allocate_guided(const double[::1] lam, int64_t budget, const int64_t* lo,
                         const int64_t* hi, int64_t[::1] out, int64_t[::1] ties,
                         double[::1] heap, double* guide) noexcept nogil:
    # threshold.allocate_guided: guide holds (lo, hi, relaxation) of a previous call, and
    # receives this call's; without bounds, the few workers that can hold a key at t* are
    # listed and solved alone where a sample says they are few
    cdef Py_ssize_t n = lam.shape[0], m, k
    cdef double cut = 0.0, no_cut = 0.0
    cdef double extremes[2]
    cdef int status
    cdef bint sampled = lo == NULL and n >= SAMPLED_FROM and 0 < budget < RECIPROCAL_CAP
    if n >= FEW_TIMES_FROM and 0 < budget < RECIPROCAL_CAP and allocate_few_times(lam, budget, lo, hi, out, ties):
        guide[0] = guide[1] = guide[2] = 0.0
        return STATUS_OK
    if n >= UNIT_SLACK_FROM and 0 < budget < RECIPROCAL_CAP and (
            allocate_unit_slack(lam, budget, lo, hi, out, ties, heap, False) if lo != NULL and unit_slack_bounds(lo, hi)
            else lo == NULL and budget < n and allocate_single_keys(lam, budget, out, ties, heap)):
        guide[0] = guide[1] = guide[2] = 0.0
        return STATUS_OK
    if sampled:
        sampled_extremes(lam, extremes)
        cut = candidates_cut(lam, budget, extremes[0])
    if cut == 0.0:
        # the division pass may find the least time far below the sample's (cut > 0 then)
        status = allocate_scaled(lam, budget, lo, hi, out, ties, heap, guide, sampled, &cut)
        if cut == 0.0:
            return status
    m = candidates_at(SIMD_LEVEL, &lam[0], n, cut, n // 4, &ties[0], &heap[0])
    if m <= 0:  # the sample misled: more than a quarter of the workers are candidates
        return allocate_scaled(lam, budget, lo, hi, out, ties, heap, guide, False, &no_cut)
    # the candidates' times in heap[:m], indices in ties[:m], allocation in ties[m:2m],
    # their scratch after those
    status = allocate_scaled(heap[:m], budget, NULL, NULL, ties[m:2 * m], ties[2 * m:], heap[m:], guide, False,
                             &no_cut)
    if status == STATUS_OK:
        for k in range(n):
            out[k] = 0
        for k in range(m):
            out[ties[k]] = ties[m + k]
    return status


cdef double CANDIDATES_SHARE = 1.0 / 8.0


cdef double candidates_cut(const double[::1] lam, int64_t budget, double least) noexcept nogil:
    # threshold.candidates_cut: 2 budget times the least time, where at most
    # CANDIDATES_SHARE of the sample is at or below it; else 0
    cdef double cut = 2.0 * budget * least
    return cut if cut < INFINITY and sampled_share_within(lam, cut) <= CANDIDATES_SHARE else 0.0


cdef double sampled_share_within(const double[::1] lam, double cut) noexcept nogil:
    # threshold.sampled_share_within: the sample's share not above cut (NaN counted too)
    cdef Py_ssize_t n = lam.shape[0], i = 0, stride = sample_stride(n, SAMPLED_RELAXATION)
    cdef Py_ssize_t within = 0, seen = 0
    while i < n:
        within += not (lam[i] > cut)
        seen += 1
        i += stride
    return <double>within / <double>seen


cdef int allocate_scaled(const double[::1] lam, int64_t budget, const int64_t* lo,
                         const int64_t* hi, int64_t[::1] out, int64_t[::1] ties,
                         double[::1] heap, double* guide, bint candidates, double* cut) noexcept nogil:
    # threshold.allocate_scaled: times far below 1 are scaled by a power of two first;
    # with candidates, *cut > 0 (nothing written) as allocate_unscaled's (*cut starts at 0)
    cdef int64_t shift = 0, unused = 0
    cdef int status, k
    cdef double no_cut = 0.0
    cdef double[::1] scaled
    cdef bint copied = False
    status = allocate_unscaled(lam, budget, lo, hi, out, ties, heap, guide, True, &shift, candidates, cut)
    if shift == 0:
        return status
    with gil:  # the copy: rare, and a numpy array is its simplest owner
        try:
            scaled = rescaled_copy(lam, shift)
            copied = True
        except MemoryError:  # no room for it: the times as they are (exact, slower)
            pass
    if not copied:
        return allocate_unscaled(lam, budget, lo, hi, out, ties, heap, guide, False, &unused, False, &no_cut)
    for k in range(3):
        guide[k] = times_two_to(guide[k], shift)
    status = allocate_unscaled(scaled, budget, lo, hi, out, ties, heap, guide, False, &unused, False, &no_cut)
    for k in range(3):  # the next call's guesses, in this call's units
        guide[k] = times_two_to(guide[k], -shift)
    with gil:
        scaled = None
    return status


cdef double[::1] rescaled_copy(const double[::1] lam, int64_t shift):
    # threshold.rescaled_copy
    cdef double[::1] scaled = np.empty(lam.shape[0])
    cdef Py_ssize_t i
    cdef int64_t half = shift >> 1
    cdef double a = pow(2.0, <double>half), b = pow(2.0, <double>(shift - half))
    with nogil:
        for i in range(lam.shape[0]):
            scaled[i] = lam[i] * a * b
    return scaled


cdef inline double times_two_to(double x, int64_t k) noexcept nogil:
    # threshold.times_two_to
    cdef int64_t half = k >> 1
    return x * pow(2.0, <double>half) * pow(2.0, <double>(k - half))


cdef double RESCALED_TOP = 990


cdef int64_t rescale_shift(const double[::1] lam, int64_t budget, const int64_t* hi) noexcept nogil:
    # threshold.rescale_shift
    cdef double extremes[2]
    cdef double least, most, top
    cdef int e_least, e_most, e_top
    cdef int64_t lower, upper, cap = 0
    if lam.shape[0] == 0:
        return 0
    finite_extremes_at(SIMD_LEVEL, &lam[0], hi, lam.shape[0], budget, extremes, &cap)
    least = extremes[0]
    most = extremes[1]
    top = <double>budget * least if hi == NULL else <double>cap * most
    if not (0.0 < least and 0.0 < top < INFINITY):
        return 0
    frexp(least, &e_least)
    frexp(most, &e_most)
    frexp(top, &e_top)
    lower = 1 - <int64_t>RESCALED_TOP - e_least
    upper = min(<int64_t>RESCALED_TOP - e_top, 1023 - e_most)
    return (lower + upper) >> 1 if lower <= upper else 0


cdef int allocate_unscaled(const double[::1] lam, int64_t budget, const int64_t* lo,
                           const int64_t* hi, int64_t[::1] out, int64_t[::1] ties,
                           double[::1] heap, double* guide, bint rescale, int64_t* shift,
                           bint candidates, double* cut) noexcept nogil:
    # threshold.allocate_unscaled: *shift = k > 0 (nothing written) where the caller should
    # run it again on lam * 2**k; with candidates, *cut > 0 (nothing written) where the
    # caller should list the workers at or below it and solve theirs alone (*cut starts at 0;
    # candidates only where allocate_guided samples)
    cdef Py_ssize_t i
    cdef int64_t n_zero = 0, n_avail = 0, base = 0, remaining = 0, zero_room = 0
    cdef double inv_sum = 0.0, lam_min = 0.0, fastest, r, slope, first = -1.0, moving = 0.0, second = 0.0, secant, guess
    cdef double aim_second = -1.0  # the validation pass's second estimate, where its secant aims
    cdef double down = 0.0  # with bounds, the second guess along the line in log t, where the first is above
    cdef double rate  # with bounds, the count's slope in log t at the first guess
    cdef double t2_estimate = -1.0  # ... where it is at the second guess instead (warm, without bounds)
    cdef double r_sampled = 0.0, t0, t_min, t_max, up, t
    cdef double whole = 0.0  # with bounds, the largest 1/lam of a worker whose maximum holds the whole budget
    cdef double guesses[3]
    cdef double sampled[2]
    cdef double pair[2]
    cdef double check[5]
    cdef double estimates[2]  # scan's, at t0 and t0_up
    cdef double zero_above = INFINITY, reach = INFINITY  # threshold.reach_of_inverse
    cdef double extremes[2]
    cdef double t0_up
    cdef bint checked = False, wide = False, spread = False, paired
    cdef int status
    sampled[0] = sampled[1] = 0.0  # where the validation pass estimates (0: nowhere), the next guess
    extremes[0] = INFINITY  # the sample's least and largest available time, where taken
    extremes[1] = 0.0
    if lam.shape[0] >= SAMPLED_FROM and 0 < budget < RECIPROCAL_CAP:
        # the validation pass takes the first estimate too, and checks the bounds
        # (threshold.allocate_guided)
        r_sampled = sampled_relaxation(lam, budget)
        sampled_guesses(r_sampled, guide, sampled)
        if lo != NULL and sampled[0] > 0.0 and sampled[1] == 0.0:  # cold, with bounds
            guess = sampled_bounded_guess(lam, budget, sampled[0], lo, hi, heap)
            if ESTIMATE_LOW <= guess <= ESTIMATE_HIGH:
                sampled[0] = guess
        elif lo == NULL and sampled[1] == 0.0 and budget < lam.shape[0] and lam.shape[0] >= RANKED_FROM:
            # cold, fewer tasks than workers over times close together, the relaxation below
            # them all: the pair the sample's keys place (threshold)
            sampled_extremes(lam, extremes)
            if (0.0 < sampled[0] < extremes[0] and extremes[1] < RANKED_SPREAD * extremes[0]
                    and not sampled_repeats(lam)
                    and sampled_riser(lam, budget, 0.0, INFINITY, 0, ESTIMATE_CAP, NULL, NULL, pair)):
                if ESTIMATE_LOW <= pair[0] and pair[1] <= ESTIMATE_HIGH:
                    sampled[0] = pair[1]
                    sampled[1] = pair[0]
    elif lam.shape[0] >= SAMPLED_FROM and budget >= RECIPROCAL_CAP and lo != NULL and not guide[1] > 0.0:
        # from 2**51 tasks, cold, with bounds: the sample's root, a first guess (threshold)
        r_sampled = sampled_relaxation(lam, budget)
        if r_sampled > 0.0:
            guess = sampled_bounded_guess(lam, budget, r_sampled, lo, hi, heap)
            if ESTIMATE_LOW <= guess <= ESTIMATE_HIGH:
                sampled[1] = guess
    t0 = sampled[0]
    if lam.shape[0] >= EXTREMES_N and (lo == NULL or t0 > 0.0):  # where a guard can apply (threshold)
        sampled_extremes(lam, extremes)
        wide = extremes[1] > extremes[0] * WIDE_SPREAD
        spread = extremes[1] > extremes[0] * LOG_SPREAD
    if lo != NULL and t0 > 0.0:
        inv_sum = inverse_checking_at(SIMD_LEVEL, &lam[0], &heap[0], lo, hi, lam.shape[0], t0, t0 * SLOPE_STEP,
                                      budget, &first, &second, &moving, check, 0.5 / t0 if wide else 0.0)
        # valid lam and bounds, an available worker, 1/lam summed without overflow; else scan and
        # the bounds' checks decide (threshold.allocate_guided)
        checked = check[0] == 0.0 and 0.0 < inv_sum < INFINITY
    if checked:
        status = STATUS_OK
        lam_min = 0.0  # as threshold.allocate_guided: nothing reads it, nor n_zero and n_avail, here
    else:
        if wide:
            reach_of_inverse(extremes[0], budget, lo, t0, &zero_above, &reach)
        # cold, from PAIRED_FROM workers without bounds, the second estimate a few percent up,
        # as the pass with bounds takes it, where the sample says the first guess is close
        # (threshold.PAIRED_ERROR)
        # warm without bounds, the second estimate at the second guess instead (threshold)
        paired = (lo == NULL and sampled[1] == 0.0 and lam.shape[0] >= PAIRED_FROM and not sampled_repeats(lam)
                  and sampled_inverse_error(lam) <= PAIRED_ERROR)
        t0_up = t0 * SLOPE_STEP if paired else (sampled[1] if lo == NULL else 0.0)
        status = scan(lam, budget, heap, t0 if lo == NULL else 0.0, t0_up, zero_above, &n_zero, &n_avail,
                      &inv_sum, &lam_min, estimates)
        first = estimates[0]
        if paired:
            second = estimates[1]
        else:
            t2_estimate = estimates[1]
    if status != STATUS_OK:
        return status  # out untouched: a rejected call changes nothing
    slope = inv_sum if inv_sum < INFINITY else INFINITY
    if lo != NULL:
        t = t0
        if checked:
            status = checked_status(lam, budget, lo, hi, check, &remaining, &zero_room)
            whole = check[4]
        elif n_avail > 0 and budget < RECIPROCAL_CAP and inv_sum < INFINITY and lam.shape[0] >= EXTREMES_N:
            # The first estimate pass reads the bounds anyway: it checks them in the same pass.
            first_guesses(lam, budget, n_avail, inv_sum, lam_min, guide, guesses)
            t = guesses[1]
            status = scan_bounds_estimating(lam, heap[:lam.shape[0]], t, budget, lo, hi,
                                            &remaining, &zero_room, &first, &moving, &whole)
        else:
            status = scan_bounds(SIMD_LEVEL, lam, budget, lo, hi, &remaining, &zero_room, &whole)
        if status != STATUS_OK:
            return status
        if first >= 0.0:  # the check took the first estimate, at t: its slope aims the next step
            if moving > 0.0:
                slope = moving
                if checked:  # the secant to the second estimate, where it is a slope (threshold)
                    secant = trusted_secant(lam, t, first, second, moving)
                    if secant > 0.0:
                        slope = secant
                        aim_second = second
            if moving < CAPPED_SHARE * inv_sum and first < budget:
                # most of sum(1/lam) at a bound: where a sample holds the budget (threshold)
                up = sampled_root(lam, budget, t, lo, hi)
                if up > t:
                    slope = (budget - first) / (up - t)
            elif (first > budget and second > first and spread and t * slope + (budget - first) <= 0.0
                  and not sampled_repeats(lam)):
                # above the budget over times spread across many orders of magnitude: the
                # line in log t of the count's slope there is the second guess (threshold)
                rate = t * moving
                down = t * exp((budget - first) / rate) if rate > 0.0 else 0.0
                if not (0.0 < down < t):
                    down = 0.0
        if zero_room >= remaining:  # no room without lam = 0 workers: the minimums take every task
            guide[0] = guide[1] = guide[2] = 0.0
            fill_zeros_bounded(lam, budget, lo, hi, remaining, out, ties, heap)
            return STATUS_OK
        base = budget - remaining + zero_room
    elif budget == 0 or n_zero > 0:
        guide[0] = guide[1] = guide[2] = 0.0
        if budget == 0:
            for i in range(lam.shape[0]):
                out[i] = 0
        else:
            round_robin_zeros(lam, budget, n_zero, out)
        return STATUS_OK
    if candidates and 0.0 < lam_min and inv_sum < INFINITY:
        # the least time, known now, may leave far fewer workers within reach of t* than the
        # sample's did (threshold)
        cut[0] = candidates_cut(lam, budget, lam_min)
        if cut[0] > 0.0:
            return STATUS_OK
    if rescale and (not inv_sum < INFINITY or 0.0 < lam_min and (
            lam_min < DBL_MIN or lam.shape[0] >= EXTREMES_N and budget * lam_min < ESTIMATE_LOW)):
        # subnormal times, or every threshold below the estimates' range (threshold)
        shift[0] = rescale_shift(lam, budget, hi)
        if shift[0] != 0:
            return STATUS_OK
    if lam_min < 0.0 or not inv_sum < INFINITY and n_zero > 0:  # the exact lam_min (threshold)
        scan_exact(lam, budget, &n_zero, &n_avail, &inv_sum, &lam_min)
        slope = inv_sum if inv_sum < INFINITY else INFINITY
    if not inv_sum < INFINITY:
        reach = -1.0  # 1/lam overflowed: counted by division, and nothing estimates
    elif not budget < RECIPROCAL_CAP:
        # from 2**51 tasks every count divides; with bounds the estimates still read 1/lam (threshold)
        fastest = budget / (lam_min * inv_sum) if lam_min > 0.0 else 0.0  # 0: with zeros, not known
        reach = 0.0 if (lo != NULL and budget - remaining < RECIPROCAL_CAP and fastest < ESTIMATE_TERMS_CAP
                       and not sampled_repeats(lam)) else -1.0
    first_guesses(lam, budget, n_avail, inv_sum, lam_min, guide, guesses)
    if t0 == 0.0 and sampled[1] > 0.0 and not (0.5 * guesses[0] <= sampled[1] <= 2.0 * guesses[0]):
        guesses[1] = sampled[1]  # the sample's root where the bounds moved it (threshold)
        guesses[2] = 0.0
    if first >= 0.0 and (lo == NULL or checked):  # the sampled guess first; the warm state keeps its relaxation
        guesses[1] = t0
        guesses[2] = sampled[1] if sampled[1] > 0.0 else (guesses[0] if lo == NULL else down)
        guesses[0] = r_sampled
        if lo == NULL and second >= 0.0 and trusted_secant(lam, t0, first, second, slope) > 0.0:
            aim_second = second  # the line through the two estimates aims the first count (threshold)
    # A worker whose maximum holds the whole budget holds it at budget * lam_i: t* lies there at
    # most. Without bounds every worker (threshold.scan); with bounds, those the check found
    # (threshold.allocate_guided).
    if lo == NULL:
        t_max = budget * lam_min * (1.0 + COUNT_MARGIN) if lam_min > 0.0 else INFINITY
    else:
        t_max = whole_budget_threshold(budget, whole)
    # Nor any key below lam_min: a first guess under it starts from that lower end instead,
    # where the estimate passes run (threshold.allocate_guided).
    t_min = 0.0
    if lam_min > 0.0 and guesses[1] < lam_min and lo == NULL and reach > 0.0 and lam.shape[0] >= EXTREMES_N:
        t_min = lam_min * (1.0 - COUNT_MARGIN)
        guesses[1] = min(lam_min * (1.0 + <double>budget / n_avail), DBL_MAX)
        first = -1.0
        if guesses[2] < lam_min:
            guesses[2] = 0.0
    if guesses[2] != sampled[1]:
        t2_estimate = -1.0
    if lo != NULL and checked and aim_second < 0.0 and guesses[2] == 0.0 and 0.0 <= first < budget <= second:
        # the validation pass's estimates hold the budget, its secant refused (ties: a jump):
        # the second is the bracket's known upper end (threshold.allocate_unscaled)
        guesses[2] = guesses[1] * SLOPE_STEP
        t2_estimate = second
    allocate_positive(lam, heap, budget, reach, guesses[1], guesses[2], slope, first, aim_second, t2_estimate, base,
                      t_min, t_max, lam_min if lo == NULL else 0.0, out, ties, heap, guide, lo, hi)
    guide[2] = guesses[0]
    return STATUS_OK


cdef double trusted_secant(const double[::1] lam, double t, double first, double second,
                           double moving) noexcept nogil:
    # threshold.trusted_secant: the slope of the line through the validation pass's two
    # estimates where it is one to aim by, else -1
    cdef double secant = (second - first) / (t * SLOPE_STEP - t)
    cdef bint steeper = moving <= SECANT_TRUST * secant
    if steeper and secant <= SECANT_TRUST * moving:
        return secant
    # steeper without ties, or sparse keys: moving far overstates the count's slope (threshold)
    cdef bint sparse = SPARSE_SECANT * first <= lam.shape[0] and second - first >= SECANT_KEYS
    if (steeper or sparse) and not sampled_repeats(lam):
        return secant
    return -1.0


cdef double whole_budget_threshold(int64_t budget, double whole) noexcept nogil:
    # threshold.whole_budget_threshold
    if DBL_MIN <= whole < INFINITY:
        return budget / whole * (1.0 + COUNT_MARGIN)
    return INFINITY


cdef void reach_of_inverse(double least, int64_t budget, const int64_t* lo, double t0,
                           double* zero_above, double* reach) noexcept nogil:
    # threshold.reach_of_inverse: 1/lam is stored as 0 where lam > zero_above, and read at
    # thresholds up to reach, so that no product of a pass falls below 2**-1022 (x86 computes
    # those many times slower)
    cdef double r
    zero_above[0] = reach[0] = INFINITY
    if lo == NULL and 0 < budget < RECIPROCAL_CAP:
        r = 2.0 * budget * least
        if r < INFINITY and t0 <= r:
            zero_above[0] = 2.0 * r
            reach[0] = r


cdef void sampled_extremes(const double[::1] lam, double* extremes) noexcept nogil:
    # threshold.sampled_extremes: the least and the largest available lam of the sample
    cdef Py_ssize_t n = lam.shape[0], i = 0
    cdef Py_ssize_t stride = sample_stride(n, SAMPLED_RELAXATION)
    cdef double x, least = INFINITY, most = 0.0
    while i < n:  # branch-free: NaN and the unavailable leave both alone
        x = lam[i]
        least = min(least, x if x > 0.0 else INFINITY)
        most = max(most, x if x < INFINITY else 0.0)
        i += stride
    extremes[0] = least
    extremes[1] = most


cdef void first_guesses(const double[::1] lam, int64_t budget, int64_t n_avail, double inv_sum,
                        double lam_min, const double* guide, double* guesses) noexcept nogil:
    # threshold.first_guesses: (r, t, t2) into guesses[0:3], from guide = (lo, hi, relaxation)
    guesses[0] = relaxation(lam, budget, n_avail, inv_sum, lam_min)
    scaled_guesses(guesses[0], guide, guesses + 1)


cdef void scaled_guesses(double r, const double* guide, double* guesses) noexcept nogil:
    # threshold.scaled_guesses: (t, t2) into guesses[0:2], from guide = (lo, hi, relaxation)
    cdef double scale, t
    guesses[0] = r
    guesses[1] = 0.0
    if 0.0 < guide[0] < guide[1] < INFINITY and 0.0 < guide[2] < INFINITY:
        scale = r / guide[2]
        t = min(guide[1] * scale, DBL_MAX)
        if t > 0.0:  # else the scaled bracket underflowed: r itself
            guesses[0] = t
            guesses[1] = guide[0] * scale


cdef Py_ssize_t SAMPLED_RELAXATION = 64


cdef void sampled_guesses(double r_sampled, const double* guide, double* sampled) noexcept nogil:
    # threshold.sampled_guesses: (t0, t2) into sampled[0:2]
    sampled[0] = sampled[1] = 0.0
    if not (r_sampled > 0.0):
        return
    scaled_guesses(r_sampled, guide, sampled)
    if not (ESTIMATE_LOW <= sampled[0] <= ESTIMATE_HIGH):
        sampled[0] = r_sampled
        sampled[1] = 0.0


cdef void sampled_inverses(const double[::1] lam, int64_t* counted, double* sums) noexcept nogil:
    # threshold.sampled_inverses: counted[0:3] = workers sampled, available ones, zeros;
    # sums[0:2] = the sum of the available ones' 1/lam, of its squares
    cdef Py_ssize_t n = lam.shape[0], i = 0
    cdef Py_ssize_t stride = sample_stride(n, SAMPLED_RELAXATION)
    cdef double x, v
    counted[0] = counted[1] = counted[2] = 0
    sums[0] = sums[1] = 0.0
    while i < n:
        x = lam[i]
        counted[0] += 1
        counted[2] += x == 0.0
        if 0.0 < x < INFINITY:
            v = 1.0 / x
            counted[1] += 1
            sums[0] += v
            sums[1] += v * v
        i += stride


cdef double sampled_inverse_error(const double[::1] lam) noexcept nogil:
    # threshold.sampled_inverse_error
    cdef int64_t counted[3]
    cdef double sums[2]
    cdef double mean
    sampled_inverses(lam, counted, sums)
    if counted[1] < 2 or counted[2] > 0 or not (sums[1] < INFINITY):
        return INFINITY
    mean = sums[0] / counted[1]
    return sqrt(max(sums[1] / counted[1] - mean * mean, 0.0) / counted[1]) / mean


cdef double sampled_relaxation(const double[::1] lam, int64_t budget) noexcept nogil:
    # threshold.sampled_relaxation
    cdef Py_ssize_t n = lam.shape[0]
    cdef int64_t counted[3]
    cdef double sums[2]
    cdef double inv_sum, t
    sampled_inverses(lam, counted, sums)
    inv_sum = sums[0]
    if not (0.0 < inv_sum < INFINITY):
        return 0.0
    t = (budget * (<double>counted[0] / n) + 0.5 * counted[1]) / inv_sum
    return t if ESTIMATE_LOW <= t <= ESTIMATE_HIGH else 0.0


cdef double sampled_count(const double[::1] lam, int64_t budget, double t, const int64_t* lo,
                          const int64_t* hi, Py_ssize_t stride) noexcept nogil:
    # threshold.sampled_count
    cdef Py_ssize_t i = 0, n = lam.shape[0]
    cdef double total = 0.0, x, cap, c
    while i < n:
        x = lam[i]
        if x < INFINITY:
            cap = <double>high_of(hi, i, budget)
            if x == 0.0:
                total += cap
            else:
                # above t: no key at or below it, and t / x could only underflow (slow on x86)
                c = 0.0 if x > t else floor(t / x)
                c = max(c, <double>low_of(lo, i, True))
                total += min(c, cap)
        i += stride
    return total


cdef inline Py_ssize_t sample_slot(Py_ssize_t k) noexcept nogil:
    # threshold.sample_slot
    return 12 * (k >> 2) + (k & 3)


cdef void sampled_relaxation_at(const double[::1] scratch, Py_ssize_t m, double t, double* sums) noexcept nogil:
    # threshold.sampled_relaxation_at: (sum, sum of squares, slope) into sums, four lanes as there
    sampled_relaxation_sums(SIMD_LEVEL, &scratch[0], m, t, sums)


cdef double sampled_end(const double[::1] scratch, Py_ssize_t m, int bound) noexcept nogil:
    # threshold.sampled_end
    cdef Py_ssize_t k, j
    cdef double end = 0.0 if bound == 2 else INFINITY, v, p
    for k in range(m):
        j = sample_slot(k)
        v = scratch[j]
        if v > 0.0:
            p = (scratch[j + 4 * bound] + 0.5) / v
            end = max(end, p) if bound == 2 else min(end, p)
    return min(end, DBL_MAX)


cdef Py_ssize_t RANK_KEYS = 2  # threshold.RANK_KEYS
cdef double RANK_WINDOW = 1.004
cdef double RANK_GAP = 0.125


cdef double sampled_rank_guess(const double[::1] lam, int64_t budget, const int64_t* lo, const int64_t* hi,
                               Py_ssize_t stride, double* keys) noexcept nogil:
    # threshold.sampled_rank_guess
    cdef Py_ssize_t n = lam.shape[0], i = 0, m = 0, size = 0, k, d, low_rank, high_rank, gaps
    cdef int64_t low, high, j
    cdef double x, rank, share, t, near_lo, near_hi, below_t, above_t, below = 0.0
    while i < n:
        m += 1
        x = lam[i]
        if x < INFINITY:
            low = low_of(lo, i, True)
            high = high_of(hi, i, budget)
            if x == 0.0:
                below += high
            else:
                below += low
                if low < 0 or high < low or high - low > RANK_KEYS:
                    return -1.0
                j = low + 1
                while j <= high:
                    keys[size] = <double>j * x
                    size += 1
                    j += 1
        i += stride
    rank = ceil(budget * (<double>m / n) - below)
    if not (rank <= size) or size == 0:
        return -1.0
    k = <Py_ssize_t>rank if rank >= 1.0 else 1
    t = select_value(keys, size, k)  # and the keys below it before it, those above after
    share = <double>k / size
    d = <Py_ssize_t>ceil(RISER_NOISE * sqrt(size * share * (1.0 - share)))
    if d < 1:
        d = 1
    low_rank = k - d if k - d > 1 else 1
    high_rank = k + d if k + d < size else size
    near_lo = max_value(keys, k - 1) if k >= 2 else t
    near_hi = min_value(&keys[k], size - k) if k < size else t
    if near_hi == near_lo:
        return -1.0
    below_t = select_value(keys, k - 1, low_rank) if low_rank < k else t
    above_t = select_value(&keys[k], size - k, high_rank - k) if high_rank > k else t
    if not above_t >= below_t * RANK_WINDOW:
        return -1.0
    gaps = (1 if k >= 2 else 0) + (1 if k < size else 0)
    if (near_hi - near_lo) * <double>(high_rank - low_rank) < RANK_GAP * gaps * (above_t - below_t):
        return -1.0
    return t


cdef double max_value(const double* values, Py_ssize_t m) noexcept nogil:
    # threshold.max_value
    cdef double top = values[0]
    cdef Py_ssize_t b
    for b in range(1, m):
        if values[b] > top:
            top = values[b]
    return top


cdef double min_value(const double* values, Py_ssize_t m) noexcept nogil:
    # threshold.min_value
    cdef double least = values[0]
    cdef Py_ssize_t b
    for b in range(1, m):
        if values[b] < least:
            least = values[b]
    return least


cdef double select_value(double* values, Py_ssize_t m, Py_ssize_t k) noexcept nogil:
    # threshold.select_value: the k-th smallest of values[:m], reordering them
    cdef Py_ssize_t lo = 0, hi = m - 1, target = k - 1, mid, i, j, a, b
    cdef double pivot
    while hi - lo >= 16:
        mid = lo + (hi - lo) // 2
        if values[mid] < values[lo]:
            values[mid], values[lo] = values[lo], values[mid]
        if values[hi] < values[lo]:
            values[hi], values[lo] = values[lo], values[hi]
        if values[hi] < values[mid]:
            values[hi], values[mid] = values[mid], values[hi]
        values[lo], values[mid] = values[mid], values[lo]  # pivot (the median) at lo
        pivot = values[lo]
        i = lo + 1
        j = hi
        while True:
            while i <= j and values[i] < pivot:
                i += 1
            while i <= j and pivot < values[j]:
                j -= 1
            if i >= j:
                break
            values[i], values[j] = values[j], values[i]
            i += 1
            j -= 1
        values[lo], values[j] = values[j], values[lo]
        if j == target:
            return values[j]
        if j < target:
            lo = j + 1
        else:
            hi = j - 1
    for a in range(lo + 1, hi + 1):
        b = a
        while b > lo and values[b] < values[b - 1]:
            values[b], values[b - 1] = values[b - 1], values[b]
            b -= 1
    return values[target]


cdef double sampled_bounded_guess(const double[::1] lam, int64_t budget, double t, const int64_t* lo,
                                  const int64_t* hi, double[::1] scratch) noexcept nogil:
    # threshold.sampled_bounded_guess (the same sums in the same order)
    cdef Py_ssize_t n = lam.shape[0], i = 0, m = 0, j, k
    cdef Py_ssize_t most = n // BOUNDED_STRIDE if n // BOUNDED_STRIDE > 1 else 1
    cdef Py_ssize_t stride
    cdef double x, target, nxt, line, u, f, ranked, spread = 0.0
    cdef double a = 0.0, b = INFINITY, total_a = 0.0, total_b = 0.0
    cdef double sums[3]
    cdef int step, moved, side = 0
    cdef bint bracketed
    if most > BOUNDED_SAMPLE:
        most = BOUNDED_SAMPLE
    stride = sample_stride(n, most)
    ranked = sampled_rank_guess(lam, budget, lo, hi, stride, &scratch[0])
    if ESTIMATE_LOW <= ranked <= ESTIMATE_HIGH:
        return ranked
    while i < n:
        x = lam[i]
        j = sample_slot(m)
        scratch[j] = 1.0 / (x + 0.0) if x > 0.0 else INFINITY  # lam = 0: every key; +inf: none
        scratch[j + 4] = <double>low_of(lo, i, x != INFINITY)
        scratch[j + 8] = <double>high_of(hi, i, budget)
        m += 1
        i += stride
    for k in range(m, (m + 3) & ~3):  # the last block's rest: terms of 0
        j = sample_slot(k)
        scratch[j] = 0.0
        scratch[j + 4] = 0.0
        scratch[j + 8] = 0.0
    target = budget * (<double>m / n)
    for step in range(BOUNDED_STEPS):
        sampled_relaxation_at(scratch, m, t, sums)
        if step == 0:
            spread = sqrt(max(sums[1] - sums[0] * sums[0] / m, 0.0))
            if fabs(sums[0] - target) <= BOUNDED_NOISE * spread:
                return t
        if fabs(sums[0] - target) <= BOUNDED_CLOSE * spread:
            return t
        moved = -1 if sums[0] < target else 1
        if moved < 0:
            a = t
            total_a = sums[0]
        else:
            b = t
            total_b = sums[0]
        nxt = t + (target - sums[0]) / sums[2] if sums[2] > 0.0 else -1.0
        bracketed = 0.0 < a and b < INFINITY
        if a < nxt < b and not (bracketed and moved < 0):
            t = nxt
            side = moved
            continue
        if m < BOUNDED_BRACKET_FROM:  # Newton alone (threshold)
            if 0.0 < nxt < INFINITY:
                t = nxt
                continue
            return t
        if b == INFINITY:  # the missing ends, as threshold
            b = sampled_end(scratch, m, 2)
            sampled_relaxation_at(scratch, m, b, sums)
            total_b = sums[0]
            if not (total_b >= target and t < b):
                return t
        if a == 0.0:
            a = sampled_end(scratch, m, 1)
            sampled_relaxation_at(scratch, m, a, sums)
            total_a = sums[0]
            if not (total_a < target and 0.0 < a < t):
                return t
        if b <= a * BOUNDED_WIDTH:
            return t
        if moved == side:  # Illinois, as threshold
            if moved < 0:
                total_b = target + 0.5 * (total_b - target)
            else:
                total_a = target - 0.5 * (target - total_a)
        u = log(a)
        f = (target - total_a) / (total_b - total_a)
        line = min(max(exp(u + (log(b) - u) * min(max(f, 0.01), 0.99)), a), b)
        if a < nxt < b and nxt > line:
            line = nxt
        side = moved
        t = line
    return t


cdef double sampled_root(const double[::1] lam, int64_t budget, double s, const int64_t* lo,
                         const int64_t* hi) noexcept nogil:
    # threshold.sampled_root
    cdef Py_ssize_t n = lam.shape[0], i = 0
    cdef Py_ssize_t stride = sample_stride(n, SAMPLED_RELAXATION)
    cdef double target = budget * (<double>((n - 1) // stride + 1) / n)
    cdef double top = 0.0, x, a, b, m
    cdef int k
    while i < n:
        x = lam[i]
        if 0.0 < x < INFINITY:
            top = max(top, high_of(hi, i, budget) * x)
        i += stride
    if not (s < top <= DBL_MAX) or sampled_count(lam, budget, top, lo, hi, stride) < target or (
            sampled_count(lam, budget, s, lo, hi, stride) >= target):  # already held at s: no step
        return 0.0
    a = s
    b = top
    for k in range(64):
        m = sqrt(a) * sqrt(b)
        if not (a < m < b) or b <= a * (1.0 + ROOT_WIDTH):
            break
        if sampled_count(lam, budget, m, lo, hi, stride) < target:
            a = m
        else:
            b = m
    return b


cdef int scan_bounds_estimating(const double[::1] lam, const double[::1] inv, double s, int64_t budget,
                                const int64_t* lo, const int64_t* hi, int64_t* remaining,
                                int64_t* zero_room, double* first, double* slope, double* whole) noexcept nogil:
    # threshold.scan_bounds_estimating: the status, *remaining and *zero_room, the estimate at s
    # and its slope into *first and *slope, and *whole as scan_bounds
    cdef double check[5]
    check[0] = check[1] = check[2] = check[3] = check[4] = 0.0
    slope[0] = 0.0  # estimate_at adds to it
    first[0] = estimate_at(SIMD_LEVEL, &inv[0], lo, hi, inv.shape[0], s, budget, slope, check)
    whole[0] = check[4]
    return checked_status(lam, budget, lo, hi, check, remaining, zero_room)


cdef int checked_status(const double[::1] lam, int64_t budget, const int64_t* lo, const int64_t* hi,
                        const double* check, int64_t* remaining, int64_t* zero_room) noexcept nogil:
    # threshold.checked_status: check[0..3] = bad bounds, minimums, caps, room on lam = 0 workers
    if check[0] == 0.0 and check[1] <= budget <= check[2]:
        remaining[0] = budget - <int64_t>check[1]
        zero_room[0] = <int64_t>min(check[3], <double>budget + 1.0)  # saturated: it can pass 2**63
        return STATUS_OK
    return scan_bounds_exact(lam, budget, lo, hi, remaining, zero_room)


def status_codes():
    """The status codes this module was compiled with (a test compares them to status.py)."""
    return {"OK": STATUS_OK, "LAM_NAN": STATUS_LAM_NAN, "LAM_NEGATIVE": STATUS_LAM_NEGATIVE,
            "NO_AVAILABLE_WORKER": STATUS_NO_AVAILABLE_WORKER,
            "BUDGET_OUT_OF_RANGE": STATUS_BUDGET_OUT_OF_RANGE, "OUT_TOO_SHORT": STATUS_OUT_TOO_SHORT,
            "SCRATCH_TOO_SHORT": STATUS_SCRATCH_TOO_SHORT, "LENGTHS_DIFFER": STATUS_LENGTHS_DIFFER,
            "MIN_NEGATIVE": STATUS_MIN_NEGATIVE, "BOUNDS_CROSSED": STATUS_BOUNDS_CROSSED,
            "MIN_ON_UNAVAILABLE": STATUS_MIN_ON_UNAVAILABLE, "MIN_OVER_BUDGET": STATUS_MIN_OVER_BUDGET,
            "CAPACITY_SHORT": STATUS_CAPACITY_SHORT}


def simd_levels():
    """The implementations of the SIMD passes this CPU runs, widest last (the tests run each)."""
    return SIMD_LEVELS[:BEST_LEVEL + 1]


def set_simd_level(level):
    """Run every pass as implementation ``level`` from now on (a name from :func:`simd_levels`);
    returns the previous one. For tests and for benchmarking the AVX2 path on an AVX-512 CPU."""
    global SIMD_LEVEL
    cdef int code = _level_code(level)
    previous = SIMD_LEVELS[SIMD_LEVEL]
    SIMD_LEVEL = code
    return previous


def set_key_margin(double margin):
    """The margin of the bracket a sample of keys puts ``t*`` in (threshold.KEY_MARGIN, in standard
    deviations of its rank) from now on; returns the previous one. For tests: at 0 the bracket
    often misses, which the steps after it must take."""
    global KEY_MARGIN
    previous = KEY_MARGIN
    KEY_MARGIN = margin
    return previous


def simd_level():
    """The implementation the passes run now."""
    return SIMD_LEVELS[SIMD_LEVEL]


def _level_from_environment():
    """``FASTATA_SIMD=scalar|avx2|avx512`` runs the passes narrower than the CPU allows: how
    an AVX-512 machine measures what an AVX2-only cloud CPU gets."""
    import os

    wanted = os.environ.get("FASTATA_SIMD", "").strip().lower()
    if wanted:
        if wanted not in SIMD_LEVELS:
            raise ValueError(f"FASTATA_SIMD must be one of {', '.join(SIMD_LEVELS)}; got {wanted!r}")
        if wanted in simd_levels():  # a wider level than the CPU has would crash: keep the widest
            set_simd_level(wanted)


_level_from_environment()


cdef void _check_fast_pass(str name, Py_ssize_t n, Py_ssize_t size, int64_t budget) except *:
    if size < n or not 0 <= budget < RECIPROCAL_CAP:
        raise ValueError(f"{name}: needs 0 <= budget < 2**51 and arrays of len(lam)")


def count_into_with(level, const double[::1] lam, const double[::1] inv, double t,
                    int64_t budget, int64_t[::1] out):
    """The counting pass as implementation ``level`` (a name from :func:`simd_levels`) does it:
    ``out[i]`` = worker i's keys with product ``<= t``, from ``inv = 1/lam``; returns their sum."""
    cdef int code = _level_code(level)
    _check_fast_pass("count_into_with", lam.shape[0], min(out.shape[0], inv.shape[0]), budget)
    if lam.shape[0] == 0:
        return 0.0
    return count_at(code, &lam[0], &inv[0], &out[0], lam.shape[0], t, <double>budget)


def inverse_with(level, const double[::1] lam, double[::1] inv, double s=1.0, int64_t budget=0,
                 double zero_above=INFINITY, double s2=0.0):
    """``(sum(1/lam), entries not >= 0, zeros, entries < inf, estimate at s, estimate at s2,
    largest 1/lam)`` as implementation ``level`` computes them (threshold.inverse_pass), with
    ``1/lam`` written to ``inv`` (0 where ``lam > zero_above``)."""
    cdef int code = _level_code(level)
    cdef int64_t counts[3]
    cdef double estimate[2]
    cdef double total = 0.0, top = 0.0
    estimate[0] = estimate[1] = 0.0
    counts[0] = counts[1] = counts[2] = 0
    if inv.shape[0] < lam.shape[0]:
        raise ValueError("inverse_with: inv needs len(lam) entries")
    if lam.shape[0] > 0:
        total = inverse_at(code, &lam[0], &inv[0], lam.shape[0], counts, s, s2, <double>budget, zero_above,
                           estimate, &top)
    return total, counts[0], counts[1], counts[2], estimate[0], estimate[1], top


def inverse_checking_with(level, const double[::1] lam, double[::1] inv, double s, int64_t budget,
                          min_tasks, max_tasks, double least=0.0):
    """threshold.inverse_checking_pass as implementation ``level`` computes it: ``(sum(1/lam),
    entries flagged (lam not >= 0, or a bad bound), estimate at s, its slope, sum of the
    minimums, sum of the available workers' caps, room above the minimums of the lam = 0
    workers, estimate at s * SLOPE_STEP, largest 1/lam of a worker whose maximum holds the whole
    budget)``, with ``1/lam`` written to ``inv``; ``least > 0``: the estimate multiplies ``s``
    by ``max(1/lam, least)`` (threshold's ``least``; 0 for None)."""
    cdef int code = _level_code(level)
    cdef double check[5]
    cdef double total = 0.0, estimate = 0.0, second = 0.0, slope = 0.0
    cdef const int64_t* lo
    cdef const int64_t* hi
    check[0] = check[1] = check[2] = check[3] = check[4] = 0.0
    _check_fast_pass("inverse_checking_with", lam.shape[0], inv.shape[0], budget)
    _hook_bounds("inverse_checking_with", lam.shape[0], min_tasks, max_tasks, &lo, &hi)
    if lo == NULL:
        raise ValueError("inverse_checking_with: needs min_tasks and max_tasks")
    if lam.shape[0] > 0:
        total = inverse_checking_at(code, &lam[0], &inv[0], lo, hi, lam.shape[0], s, s * SLOPE_STEP, budget,
                                    &estimate, &second, &slope, check, least)
    return total, int(check[0]), estimate, slope, check[1], check[2], check[3], second, check[4]


def boundary_with(level, const double[::1] lam, const int64_t[::1] lo, double hi_t,
                  int64_t budget, int64_t[::1] out, int64_t[::1] idx, max_tasks=None):
    """Implementation ``level`` of select_between's pass: ``out = lo``, and the workers with a
    key above ``lo[i]`` at or below ``hi_t`` (and at most ``max_tasks[i]``, an int64 array, if
    given) listed in ``idx`` (which may be ``lo``); returns how many."""
    cdef int code = _level_code(level)
    cdef Py_ssize_t n = lam.shape[0]
    cdef const int64_t[::1] hi_view
    cdef const int64_t* hi = NULL
    if lo.shape[0] < n or out.shape[0] < n or idx.shape[0] < n:
        raise ValueError("boundary_with: lo, out and idx need len(lam) entries")
    if n == 0:
        return 0
    if max_tasks is not None:
        hi_view = max_tasks
        if hi_view.shape[0] < n:
            raise ValueError("boundary_with: max_tasks needs len(lam) entries")
        hi = &hi_view[0]
    return boundary_at(code, &lam[0], &lo[0], hi, &out[0], n, hi_t, budget, &idx[0])


def finite_extremes_with(level, const double[::1] lam, int64_t budget, max_tasks=None):
    """Implementation ``level`` of threshold.finite_extremes: ``(least lam > 0, largest lam < inf,
    bound on t*)``, the bound from the largest cap of an available worker where ``max_tasks``
    (an int64 array) is given."""
    cdef int code = _level_code(level)
    cdef Py_ssize_t n = lam.shape[0]
    cdef const int64_t[::1] hi_view
    cdef const int64_t* hi = NULL
    cdef double extremes[2]
    cdef int64_t cap = 0
    if n == 0:
        return INFINITY, 0.0, 0.0
    if max_tasks is not None:
        hi_view = max_tasks
        if hi_view.shape[0] < n:
            raise ValueError("finite_extremes_with: max_tasks needs len(lam) entries")
        hi = &hi_view[0]
    finite_extremes_at(code, &lam[0], hi, n, budget, extremes, &cap)
    return extremes[0], extremes[1], (<double>budget * extremes[0] if hi == NULL else <double>cap * extremes[1])


def extremes_with(level, const double[::1] lam, const double[::1] inv, double t,
                  int64_t budget, int64_t[::1] out):
    """The counting pass that also finds the products next to ``t``, as implementation ``level``
    does it: returns ``(sum of the counts, smallest product of a key above t, largest at or
    below t)`` (``+inf`` and ``0`` when there is none)."""
    cdef int code = _level_code(level)
    cdef double ext[2]
    cdef double total = 0.0
    _check_fast_pass("extremes_with", lam.shape[0], min(inv.shape[0], out.shape[0]), budget)
    ext[0] = INFINITY
    ext[1] = 0.0
    if lam.shape[0] > 0:
        total = extremes_at(code, &lam[0], &inv[0], &out[0], lam.shape[0], t, <double>budget, ext)
    return total, ext[0], ext[1]


def count_list_with(level, const double[::1] lam, const double[::1] inv, double t, int64_t budget,
                    double hi_t, int64_t[::1] out, int64_t[::1] idx, min_tasks=None, max_tasks=None):
    """The counting pass fused with select_between's listing, as implementation ``level`` does
    it: ``out`` = the counts at ``t``, the workers with a key above it at or below ``hi_t``
    listed in ``idx``; returns ``(sum of the counts, how many listed)``. With bounds (int64
    arrays, both or neither), worker i owns the keys ``j = min_i + 1 .. max_i`` only."""
    cdef int code = _level_code(level)
    cdef Py_ssize_t m = 0
    cdef double total = 0.0
    cdef const int64_t* lo
    cdef const int64_t* hi
    _check_fast_pass("count_list_with", lam.shape[0], min(inv.shape[0], out.shape[0], idx.shape[0]), budget)
    _hook_bounds("count_list_with", lam.shape[0], min_tasks, max_tasks, &lo, &hi)
    if lam.shape[0] > 0:
        total = count_list_at(code, &lam[0], &inv[0], lo, hi, &out[0], lam.shape[0], t, budget, hi_t,
                              &idx[0], &m)
    return total, m


def candidates_with(level, const double[::1] lam, double cut, int64_t[::1] idx, double[::1] times):
    """The listing of the workers with ``lam <= cut`` as implementation ``level`` does it
    (threshold.list_candidates): indices into ``idx``, times into ``times``; returns how many,
    or -1 where a ``lam`` is not above 0 or more than a quarter of them are listed."""
    cdef int code = _level_code(level)
    if min(idx.shape[0], times.shape[0]) < lam.shape[0]:
        raise ValueError("candidates_with: idx and times need len(lam) entries")
    if lam.shape[0] == 0:
        return 0
    return candidates_at(code, &lam[0], lam.shape[0], cut, lam.shape[0] // 4, &idx[0], &times[0])


def estimate_with(level, const double[::1] inv, double s, int64_t budget, min_tasks=None,
                  max_tasks=None, slope=False, check=False):
    """The estimate pass as implementation ``level`` does it: ``sum_i trunc(s * inv_i)``, each term
    clamped to ``[min_tasks_i, min(max_tasks_i, budget)]`` (int64 arrays, or None for none).
    With ``slope``, returns ``(that sum, the sum of inv_i over the workers whose count no bound
    holds)``; with ``check`` (bounds given), ``(that sum, that slope, bad bounds, sum of the
    minimums, sum of the available workers' caps, room above the minimums of the lam = 0
    workers, largest 1/lam of a worker whose maximum holds the whole budget)``
    (threshold.estimate_checking_into)."""
    cdef int code = _level_code(level)
    cdef const int64_t* lo
    cdef const int64_t* hi
    cdef double moving = 0.0, total = 0.0
    cdef double sums[5]
    sums[0] = sums[1] = sums[2] = sums[3] = sums[4] = 0.0
    _check_fast_pass("estimate_with", inv.shape[0], inv.shape[0], budget)
    _hook_bounds("estimate_with", inv.shape[0], min_tasks, max_tasks, &lo, &hi)
    if check and lo == NULL:
        raise ValueError("estimate_with: check needs min_tasks and max_tasks")
    if inv.shape[0] > 0:
        total = estimate_at(code, &inv[0], lo, hi, inv.shape[0], s, budget,
                            &moving if slope or check else NULL, sums if check else NULL)
    if check:
        return total, moving, sums[0], sums[1], sums[2], sums[3], sums[4]
    if slope:
        return total, moving
    return total


def scan_bounds_with(level, const double[::1] lam, int64_t budget, min_tasks, max_tasks):
    """threshold.scan_bounds as implementation ``level`` computes it: ``(status, tasks left after
    the minimums, room left on lam = 0 workers, largest 1/lam of a worker whose maximum holds
    the whole budget)`` (int64 bounds; 0s where the status is not OK)."""
    cdef int code = _level_code(level)
    cdef const int64_t* lo
    cdef const int64_t* hi
    cdef int64_t remaining = 0, zero_room = 0
    cdef double whole = 0.0
    cdef int status
    _check_fast_pass("scan_bounds_with", lam.shape[0], lam.shape[0], budget)
    _hook_bounds("scan_bounds_with", lam.shape[0], min_tasks, max_tasks, &lo, &hi)
    if lo == NULL:
        raise ValueError("scan_bounds_with: needs min_tasks and max_tasks")
    status = scan_bounds(code, lam, budget, lo, hi, &remaining, &zero_room, &whole)
    return status, remaining, zero_room, whole


def estimate_pair_with(level, const double[::1] inv, double s, double s2, int64_t budget, min_tasks,
                       max_tasks):
    """The estimate pass at two thresholds as implementation ``level`` does it (bounds: int64
    arrays, or None): ``(estimate at s, estimate at s2)`` (threshold.estimate_pair_into)."""
    cdef int code = _level_code(level)
    cdef const int64_t* lo
    cdef const int64_t* hi
    cdef double totals[2]
    totals[0] = totals[1] = 0.0
    _check_fast_pass("estimate_pair_with", inv.shape[0], inv.shape[0], budget)
    _hook_bounds("estimate_pair_with", inv.shape[0], min_tasks, max_tasks, &lo, &hi)
    if inv.shape[0] > 0:
        estimate_pair_at(code, &inv[0], lo, hi, inv.shape[0], s, s2, budget, totals)
    return totals[0], totals[1]


def sampled_root_with(const double[::1] lam, int64_t budget, double s, min_tasks, max_tasks):
    """threshold.sampled_root as Cython computes it (bounds: int64 arrays)."""
    cdef const int64_t* lo
    cdef const int64_t* hi
    if lam.shape[0] == 0:
        raise ValueError("sampled_root_with: needs at least one worker")
    _hook_bounds("sampled_root_with", lam.shape[0], min_tasks, max_tasks, &lo, &hi)
    return sampled_root(lam, budget, s, lo, hi)


def product_above_with(const double[::1] lam, double t_lo, double t_hi, double need, int64_t budget, min_tasks=None,
                       max_tasks=None):
    """threshold.product_above as Cython computes it (bounds: int64 arrays, or None)."""
    cdef const int64_t* lo
    cdef const int64_t* hi
    cdef double tied
    _hook_bounds("product_above_with", lam.shape[0], min_tasks, max_tasks, &lo, &hi)
    reach = product_above(lam, t_lo, t_hi, need, budget, lo, hi, &tied)
    return reach, tied


def estimate_bracket_with(const double[::1] lam, const double[::1] inv, int64_t budget, double t, double t2,
                          double slope, double first, double t2_estimate, int64_t base, int64_t width, min_tasks=None,
                          max_tasks=None, double t_min=0.0, double t_max=INFINITY, double reach=-1.0, out=None,
                          ties=None, heap=None):
    """threshold.estimate_bracket as Cython runs it (at the current SIMD level):
    ``(t_lo, t_hi, found, c_lo, c_hi)``. With ``reach > 0``, ``out`` and ``ties`` (int64, ``n``)
    and ``heap`` (``n + 2``, ``1/lam`` in its first ``n``: ``inv`` may be a view of it) as
    allocate_positive passes them; else the count and listing never run."""
    cdef const int64_t* lo
    cdef const int64_t* hi
    cdef double bracket[2]
    cdef int64_t ends[2]
    cdef int found
    cdef int64_t[::1] out_view = None  # None: never read (reach <= 0)
    cdef int64_t[::1] ties_view = None
    cdef double[::1] heap_view = None
    _check_fast_pass("estimate_bracket_with", inv.shape[0], inv.shape[0], budget)
    if inv.shape[0] == 0:
        raise ValueError("estimate_bracket_with: needs at least one worker")
    _hook_bounds("estimate_bracket_with", inv.shape[0], min_tasks, max_tasks, &lo, &hi)
    if reach > 0.0:
        if out is None or ties is None or heap is None:
            raise ValueError("estimate_bracket_with: reach > 0 needs out, ties and heap")
        out_view, ties_view, heap_view = out, ties, heap
        _check_fast_pass("estimate_bracket_with", lam.shape[0], min(out_view.shape[0], ties_view.shape[0],
                                                                    heap_view.shape[0] - 2), budget)
    found = estimate_bracket(lam, inv, budget, t, t2, slope, first, t2_estimate, base, width, lo, hi, t_min, t_max,
                             reach, out_view, ties_view, heap_view, bracket, ends)
    return bracket[0], bracket[1], found, ends[0], ends[1]


def allocate_positive_with(const double[::1] lam, double[::1] heap, int64_t budget, double t, double slope,
                           double first, double second, int64_t base, int64_t[::1] out, int64_t[::1] ties,
                           min_tasks=None, max_tasks=None):
    """threshold.allocate_positive as Cython runs it (at the current SIMD level), with 1/lam read
    everywhere (reach = +inf) and no second guess, t_min, t_max or key_min: ``heap[:n]`` holds
    ``1/lam`` (scratch of at least ``n + 2`` entries, overwritten); the allocation goes to
    ``out``; returns the bracket."""
    cdef const int64_t* lo
    cdef const int64_t* hi
    cdef double bracket[2]
    _check_fast_pass("allocate_positive_with", lam.shape[0], min(out.shape[0], ties.shape[0], heap.shape[0] - 2),
                     budget)
    if lam.shape[0] == 0:
        raise ValueError("allocate_positive_with: needs at least one worker")
    _hook_bounds("allocate_positive_with", lam.shape[0], min_tasks, max_tasks, &lo, &hi)
    allocate_positive(lam, heap, budget, INFINITY, t, 0.0, slope, first, second, -1.0, base, 0.0, INFINITY, 0.0,
                      out, ties, heap, bracket, lo, hi)
    return bracket[0], bracket[1]


def split_with(level, const double[::1] lam, const double[::1] inv, double tstar, int64_t budget,
               int64_t[::1] out, min_tasks=None, max_tasks=None):
    """The tie pass at ``t*`` as implementation ``level`` does it: ``out[i]`` = keys below
    ``t*``, or ``-j`` for a worker with a key at ``t*`` at level ``j``; returns ``(keys below,
    keys at, min j, max j, sum of the j)`` (``+inf``, 0 and 0 when no key is at ``t*``). With bounds (int64
    arrays, both or neither), worker i owns the keys ``j = min_i + 1 .. max_i`` only."""
    cdef int code = _level_code(level)
    cdef double sums[4]
    cdef double taken = 0.0
    cdef const int64_t* lo
    cdef const int64_t* hi
    _check_fast_pass("split_with", lam.shape[0], min(inv.shape[0], out.shape[0]), budget)
    _hook_bounds("split_with", lam.shape[0], min_tasks, max_tasks, &lo, &hi)
    sums[0] = 0.0
    sums[1] = INFINITY
    sums[2] = 0.0
    sums[3] = 0.0
    if lam.shape[0] > 0:
        taken = split_at_level(code, &lam[0], &inv[0], lo, hi, &out[0], lam.shape[0], tstar, budget, sums)
    return taken, sums[0], sums[1], sums[2], sums[3]


def divided_with(level, const double[::1] lam, double t, int64_t budget, int64_t limit,
                 int64_t[::1] out, min_tasks=None, max_tasks=None):
    """The counting pass by division (budgets from ``2**51``, or ``1/lam`` out of reach) as
    implementation ``level`` does it: ``out[i]`` = worker i's keys with product ``<= t``,
    clamped to its bounds if given; returns ``(their sum saturated at limit, smallest product
    above t, largest at or below t)`` (threshold.count_into_divided)."""
    cdef int code = _level_code(level)
    cdef double ext[2]
    cdef int64_t total = 0
    cdef const int64_t* lo
    cdef const int64_t* hi
    _check_divided_pass("divided_with", lam.shape[0], out.shape[0], budget, limit)
    _hook_bounds("divided_with", lam.shape[0], min_tasks, max_tasks, &lo, &hi)
    ext[0] = INFINITY
    ext[1] = 0.0
    if lam.shape[0] > 0:
        total = divided_at(code, &lam[0], lo, hi, &out[0], lam.shape[0], t, budget, limit, ext)
    return total, ext[0], ext[1]


def split_divided_with(level, const double[::1] lam, double tstar, int64_t budget, int64_t[::1] out,
                       min_tasks=None, max_tasks=None):
    """The tie pass at ``t*`` by division as implementation ``level`` does it (``out`` as
    :func:`split_with`'s); returns ``(keys below, keys at, min j, max j, crowded)``, ``crowded``
    when a worker owns more than one key at ``t*`` (threshold.split_divided)."""
    cdef int code = _level_code(level)
    cdef int64_t sums[4]
    cdef int64_t taken = 0
    cdef const int64_t* lo
    cdef const int64_t* hi
    _check_divided_pass("split_divided_with", lam.shape[0], out.shape[0], budget, 1 << 62)
    _hook_bounds("split_divided_with", lam.shape[0], min_tasks, max_tasks, &lo, &hi)
    sums[0] = sums[1] = sums[2] = sums[3] = 0
    if lam.shape[0] > 0:
        taken = split_divided_at(code, &lam[0], lo, hi, &out[0], lam.shape[0], tstar, budget, sums)
    return taken, sums[0], sums[1], sums[2], bool(sums[3])


cdef void _check_divided_pass(str name, Py_ssize_t n, Py_ssize_t size, int64_t budget,
                              int64_t limit) except *:
    if size < n or not 0 <= budget <= MAX_BUDGET or not 0 <= limit <= ESTIMATE_CAP:
        raise ValueError(f"{name}: needs 0 <= budget <= 2**53, 0 <= limit <= 2**62 and out of len(lam)")


def sampled_bounded_guess_with(const double[::1] lam, int64_t budget, double t, min_tasks, max_tasks,
                               double[::1] scratch):
    """threshold.sampled_bounded_guess as the kernel computes it (bounds required: int64
    arrays; ``scratch``: float64, ``len(lam) + 3`` entries)."""
    cdef const int64_t* lo
    cdef const int64_t* hi
    _hook_bounds("sampled_bounded_guess_with", lam.shape[0], min_tasks, max_tasks, &lo, &hi)
    if lo == NULL or lam.shape[0] == 0 or scratch.shape[0] < max(lam.shape[0] + 3, 12):
        raise ValueError("sampled_bounded_guess_with: needs workers, both bounds and len(lam) + 3 of scratch (12 at least)")
    return sampled_bounded_guess(lam, budget, t, lo, hi, scratch)


def allocate_unit_slack_with(const double[::1] lam, int64_t budget, min_tasks, max_tasks, int64_t[::1] out,
                             bint shared=False):
    """threshold.allocate_unit_slack as the kernel runs it: whether it took the call (then the
    allocation is in ``out``). Bounds: int64 arrays; ``shared`` as for ``Scratch.allocate_bounded``."""
    cdef const int64_t* lo
    cdef const int64_t* hi
    cdef bint taken
    cdef int64_t[::1] ties = np.empty(lam.shape[0], dtype=np.int64)
    cdef double[::1] heap = np.empty(lam.shape[0] + 2)
    _hook_bounds("allocate_unit_slack_with", lam.shape[0], min_tasks, max_tasks, &lo, &hi)
    if lo == NULL or out.shape[0] < lam.shape[0]:
        raise ValueError("allocate_unit_slack_with: needs workers, both bounds and an out as long as lam")
    set_shared_bounds(shared)
    taken = unit_slack_bounds(lo, hi) and allocate_unit_slack(lam, budget, lo, hi, out, ties, heap, False)
    set_shared_bounds(0)
    return taken


def allocate_few_times_with(const double[::1] lam, int64_t budget, int64_t[::1] out, min_tasks=None,
                            max_tasks=None):
    """threshold.allocate_few_times as the kernel runs it: whether it took the call (then the
    allocation is in ``out``). Bounds: both or neither, int64 arrays, or two numbers (run as
    ``Scratch.allocate_bounded`` runs them: arrays of the number with ``shared``)."""
    cdef int64_t[::1] ties = np.empty(lam.shape[0], dtype=np.int64)
    cdef const int64_t* lo
    cdef const int64_t* hi
    cdef bint shared = isinstance(min_tasks, numbers.Integral)
    cdef bint taken
    if lam.shape[0] < FEW_TIMES_FROM or out.shape[0] < lam.shape[0]:
        raise ValueError(f"allocate_few_times_with: needs at least {FEW_TIMES_FROM} workers and an out as long as lam")
    if shared:
        min_tasks = np.full(lam.shape[0], min_tasks, dtype=np.int64)
        max_tasks = np.full(lam.shape[0], max_tasks, dtype=np.int64)
    _hook_bounds("allocate_few_times_with", lam.shape[0], min_tasks, max_tasks, &lo, &hi)
    set_shared_bounds(shared)
    taken = allocate_few_times(lam, budget, lo, hi, out, ties)
    set_shared_bounds(0)
    return taken


def allocate_single_keys_with(const double[::1] lam, int64_t budget, int64_t[::1] out):
    """threshold.allocate_unit_slack without bounds (``second_keys``), as the kernel runs it:
    whether it took the call (then the allocation is in ``out``)."""
    cdef int64_t[::1] ties = np.empty(lam.shape[0], dtype=np.int64)
    cdef double[::1] heap = np.empty(lam.shape[0] + 2)
    if lam.shape[0] == 0 or out.shape[0] < lam.shape[0]:
        raise ValueError("allocate_single_keys_with: needs workers and an out as long as lam")
    return allocate_single_keys(lam, budget, out, ties, heap)


cdef int _hook_bounds(name, Py_ssize_t n, min_tasks, max_tasks, const int64_t** lo,
                      const int64_t** hi) except -1:
    """A test hook's optional bounds (int64 arrays, both or neither, each with at least ``n``
    entries) as pointers into them, NULL for none. The caller's arrays keep them valid: a
    typed memoryview never copies."""
    cdef const int64_t[::1] lo_view
    cdef const int64_t[::1] hi_view
    if (min_tasks is None) != (max_tasks is None):
        raise ValueError(f"{name}: give both min_tasks and max_tasks, or neither")
    lo[0] = hi[0] = NULL
    if min_tasks is None or n == 0:
        return 0
    if min(len(min_tasks), len(max_tasks)) < n:
        raise ValueError(f"{name}: the bounds need {n} entries")
    lo_view = min_tasks
    hi_view = max_tasks
    lo[0] = &lo_view[0]
    hi[0] = &hi_view[0]
    return 0


cdef int _level_code(level) except -1:
    if level not in simd_levels():
        raise ValueError(f"level must be one of {simd_levels()}, got {level!r}")
    return SIMD_LEVELS.index(level)


def allocate_into(const double[::1] lam, int64_t budget, int64_t[::1] out,
                  int64_t[::1] ties, double[::1] heap):
    """Canonical allocation into ``out``, without the GIL; returns a status code."""
    cdef int status
    with nogil:
        status = allocate_core(lam, budget, out, ties, heap)
    return status


def allocate_warm_into(const double[::1] lam, int64_t budget, int64_t[::1] out,
                       int64_t[::1] ties, double[::1] heap, double[::1] warm):
    """:func:`allocate_into` warm-started from ``warm`` (float64, 3; see threshold.allocate_warm)."""
    cdef int status
    with nogil:
        status = allocate_warm_core(lam, budget, out, ties, heap, warm)
    return status


def allocate_bounded_into(const double[::1] lam, int64_t budget, const int64_t[::1] min_tasks,
                          const int64_t[::1] max_tasks, int64_t[::1] out, int64_t[::1] ties,
                          double[::1] heap):
    """:func:`allocate_into` with per-worker bounds ``min_tasks <= out <= max_tasks``."""
    cdef int status
    with nogil:
        status = allocate_bounded_core(lam, budget, min_tasks, max_tasks, out, ties, heap)
    return status


def allocate_bounded_warm_into(const double[::1] lam, int64_t budget,
                               const int64_t[::1] min_tasks, const int64_t[::1] max_tasks,
                               int64_t[::1] out, int64_t[::1] ties, double[::1] heap,
                               double[::1] warm):
    """:func:`allocate_bounded_into` warm-started from ``warm`` (float64, 3)."""
    cdef int status
    with nogil:
        status = allocate_bounded_warm_core(lam, budget, min_tasks, max_tasks, out, ties, heap,
                                            warm)
    return status


def allocate_batch_into(const double[:, ::1] lam2d, const int64_t[::1] budgets,
                        int64_t[:, ::1] out, int64_t[:, ::1] ties, double[:, ::1] heap,
                        int64_t[::1] status):
    """Row by row, without the GIL: ``status[r]`` is row ``r``'s code.

    Every row is checked before any is written, so a rejected batch changes nothing.
    """
    cdef Py_ssize_t r
    cdef int64_t n_zero, n_avail
    cdef double inv_sum, lam_min
    cdef bint ok = True
    with nogil:
        for r in range(lam2d.shape[0]):
            status[r] = scan_exact(lam2d[r], budgets[r], &n_zero, &n_avail, &inv_sum, &lam_min)
            ok = ok and status[r] == STATUS_OK
        if ok:
            for r in range(lam2d.shape[0]):
                status[r] = allocate_core(lam2d[r], budgets[r], out[r], ties[r], heap[r])


def allocate_batch_bounded_into(const double[:, ::1] lam2d, const int64_t[::1] budgets,
                                const int64_t[:, ::1] lo2d, const int64_t[:, ::1] hi2d,
                                int64_t[:, ::1] out, int64_t[:, ::1] ties, double[:, ::1] heap,
                                int64_t[::1] status):
    """:func:`allocate_batch_into` with per-row bounds (a row per problem, or one row for all:
    row ``r % rows``); every row is checked before any is written."""
    cdef Py_ssize_t r, lo_rows = lo2d.shape[0], hi_rows = hi2d.shape[0]
    cdef int64_t n_zero, n_avail, remaining, zero_room
    cdef double inv_sum, lam_min
    cdef bint ok = True
    with nogil:
        for r in range(lam2d.shape[0]):
            status[r] = scan_exact(lam2d[r], budgets[r], &n_zero, &n_avail, &inv_sum, &lam_min)
            if status[r] == STATUS_OK and lam2d.shape[1] > 0:
                status[r] = scan_bounds_exact(lam2d[r], budgets[r], &lo2d[r % lo_rows, 0], &hi2d[r % hi_rows, 0],
                                              &remaining, &zero_room)
            ok = ok and status[r] == STATUS_OK
        if ok:
            for r in range(lam2d.shape[0]):
                status[r] = allocate_bounded_core(lam2d[r], budgets[r], lo2d[r % lo_rows], hi2d[r % hi_rows],
                                                  out[r], ties[r], heap[r])


def empty_allocate_into(const double[::1] lam, int64_t budget, int64_t[::1] out,
                        int64_t[::1] ties, double[::1] heap):
    """Takes what :func:`allocate_into` takes and does nothing: the call-overhead floor."""
    return 0



# --- Policy statistics and bounds: a port of stats.py (read it for the why) -----------


cdef int observe_core(const int64_t[::1] workers, const double[::1] durations,
                      double[::1] counts, double[::1] means, double[::1] m2) noexcept nogil:
    cdef Py_ssize_t u, n = counts.shape[0]
    cdef int64_t i
    cdef double x
    if durations.shape[0] < workers.shape[0] or means.shape[0] < n or m2.shape[0] < n:
        return STATUS_LENGTHS_DIFFER
    if workers.shape[0] == 0:
        return STATUS_OK
    # One branch-free pass says whether every sample is good; only a bad batch is scanned
    # again, for its first bad element (the status stats.check_samples returns).
    if not samples_ok_at(SIMD_LEVEL, &workers[0], &durations[0], workers.shape[0], n):
        for u in range(workers.shape[0]):
            i = workers[u]
            if i < 0 or i >= n:
                return STATUS_WORKER_OUT_OF_RANGE
            x = durations[u]
            if x != x or x == INFINITY or x == -INFINITY:
                return STATUS_DURATION_NOT_FINITE
            if x < 0.0:
                return STATUS_DURATION_NEGATIVE
    add_samples(&workers[0], &durations[0], workers.shape[0], &counts[0], &means[0], &m2[0])
    return STATUS_OK


cdef int bounds_core(const double[::1] counts, const double[::1] means,
                     const unsigned char[::1] available, int variant, double weight,
                     double log_term, double[::1] s) noexcept nogil:
    cdef Py_ssize_t n = counts.shape[0]
    if means.shape[0] < n or available.shape[0] < n or s.shape[0] < n:
        return STATUS_LENGTHS_DIFFER
    if n > 0:
        policy_bounds_at(SIMD_LEVEL, &counts[0], &means[0], &available[0], n, variant == VARIANT_ATA,
                         weight, log_term, &s[0])
    return STATUS_OK


cdef int bernstein_bounds_core(const double[::1] counts, const double[::1] means,
                               const double[::1] m2, const unsigned char[::1] available,
                               double c, double ce, double log_term, double[::1] s) noexcept nogil:
    cdef Py_ssize_t i, n = counts.shape[0]
    cdef double k, r, u, e, bu, v, uu, a2, b1, a0, disc, x, xv
    if means.shape[0] < n or m2.shape[0] < n or available.shape[0] < n or s.shape[0] < n:
        return STATUS_LENGTHS_DIFFER
    for i in range(n):
        k = counts[i]
        if available[i] == 0:
            s[i] = INFINITY
        elif k > 0.0 and means[i] > 0.0:
            r = log_term / k
            u = c * sqrt(2.0 * r)
            e = ce * r
            bu = ce * sqrt(24.0 * r) * u
            v = (m2[i] / k) / (means[i] * means[i])
            uu = u * u
            a2 = 1.0 - uu * (1.0 + v)
            x = e + 3.0 * ce * sqrt(2.0 * r)  # sigma <= 3 eta mu (Lyapunov), without the variance
            if a2 > 0.0:
                b1 = 2.0 * e + bu + 2.0 * uu * v
                a0 = e * e + bu * e - uu * v
                disc = b1 * b1 - 4.0 * a2 * a0
                disc = disc if disc > 0.0 else 0.0
                xv = (b1 + sqrt(disc)) / (2.0 * a2)
                x = xv if xv < x else x
            s[i] = means[i] / (1.0 + x)
        else:
            s[i] = 0.0
    return STATUS_OK


cdef int policy_round_core(double[::1] counts, const double[::1] means, double[::1] m2,
                           const unsigned char[::1] available, int variant, double weight,
                           double log_term, double gamma, int64_t budget, double[::1] s,
                           int64_t[::1] out, int64_t[::1] ties, double[::1] heap) noexcept nogil:
    cdef int status = bounds_core(counts, means, available, variant, weight, log_term, s)
    if status == STATUS_OK and m2.shape[0] < counts.shape[0]:
        status = STATUS_LENGTHS_DIFFER
    if status != STATUS_OK:
        return status
    status = allocate_core(s[:counts.shape[0]], budget, out, ties, heap)
    if status == STATUS_OK and gamma != 1.0:
        discount(counts, m2, gamma)
    return status


cdef int policy_round_warm_core(double[::1] counts, const double[::1] means, double[::1] m2,
                                const unsigned char[::1] available, int variant, double weight,
                                double log_term, double gamma, int64_t budget, double[::1] s,
                                int64_t[::1] out, int64_t[::1] ties, double[::1] heap,
                                double[::1] warm) noexcept nogil:
    # policy_round_core with the allocation warm-started (threshold.allocate_warm)
    cdef int status = bounds_core(counts, means, available, variant, weight, log_term, s)
    if status == STATUS_OK and m2.shape[0] < counts.shape[0]:
        status = STATUS_LENGTHS_DIFFER
    if status != STATUS_OK:
        return status
    status = allocate_warm_core(s[:counts.shape[0]], budget, out, ties, heap, warm)
    if status == STATUS_OK and gamma != 1.0:
        discount(counts, m2, gamma)
    return status


cdef void discount(double[::1] counts, double[::1] m2, double gamma) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(counts.shape[0]):
        counts[i] = counts[i] * gamma
        m2[i] = m2[i] * gamma


def policy_codes():
    """The observe status codes and bound variants compiled in (a test compares them to status.py)."""
    return {"WORKER_OUT_OF_RANGE": STATUS_WORKER_OUT_OF_RANGE,
            "DURATION_NOT_FINITE": STATUS_DURATION_NOT_FINITE,
            "DURATION_NEGATIVE": STATUS_DURATION_NEGATIVE,
            "VARIANT_ATA": VARIANT_ATA, "VARIANT_EMPIRICAL": VARIANT_EMPIRICAL}


def fit_available_minimum(const double[::1] lam, int64_t value, int64_t[::1] low, uint32_t[::1] bits):
    """``low = value`` where ``lam < +inf``, 0 elsewhere, written only where ``bits`` (the
    unavailable workers of the last call, see ``reference.fit_available_minimum``) changed;
    without the GIL. Returns how many workers are unavailable."""
    cdef Py_ssize_t n = lam.shape[0]
    cdef int64_t unavailable = 0
    if low.shape[0] < n or bits.shape[0] < (n + 31) // 32:
        raise ValueError("fit_available_minimum: low needs n entries and bits (n + 31) // 32")
    if n > 0:
        with nogil:
            unavailable = fit_available_minimum_at(SIMD_LEVEL, &lam[0], value, &low[0], &bits[0], n)
    return unavailable


def observe_into(const int64_t[::1] workers, const double[::1] durations,
                 double[::1] counts, double[::1] means, double[::1] m2):
    """Check every sample, then add them all (Welford), without the GIL; returns a status code."""
    cdef int status
    with nogil:
        status = observe_core(workers, durations, counts, means, m2)
    return status


def bounds_into(const double[::1] counts, const double[::1] means,
                const unsigned char[::1] available, int variant, double weight,
                double log_term, double[::1] s):
    """Lower confidence bounds of ATA (``variant`` 0) or ATA-Empirical (1) into ``s``."""
    cdef int status
    with nogil:
        status = bounds_core(counts, means, available, variant, weight, log_term, s)
    return status


def bernstein_bounds_into(const double[::1] counts, const double[::1] means,
                          const double[::1] m2, const unsigned char[::1] available,
                          double c, double ce, double log_term, double[::1] s):
    """ATA-Bernstein's lower confidence bounds into ``s`` (see ``stats.bernstein_bounds_into``)."""
    cdef int status
    with nogil:
        status = bernstein_bounds_core(counts, means, m2, available, c, ce, log_term, s)
    return status


def policy_round(double[::1] counts, const double[::1] means, double[::1] m2,
                 const unsigned char[::1] available, int variant, double weight,
                 double log_term, double gamma, int64_t budget, double[::1] s,
                 int64_t[::1] out, int64_t[::1] ties, double[::1] heap):
    """Bounds, allocation and discount of one round in one call; returns a status code."""
    cdef int status
    with nogil:
        status = policy_round_core(counts, means, m2, available, variant, weight, log_term,
                                   gamma, budget, s, out, ties, heap)
    return status


def policy_round_warm(double[::1] counts, const double[::1] means, double[::1] m2,
                      const unsigned char[::1] available, int variant, double weight,
                      double log_term, double gamma, int64_t budget, double[::1] s,
                      int64_t[::1] out, int64_t[::1] ties, double[::1] heap, double[::1] warm):
    """:func:`policy_round` with the allocation warm-started from ``warm`` (float64, 3)."""
    cdef int status
    with nogil:
        status = policy_round_warm_core(counts, means, m2, available, variant, weight, log_term,
                                        gamma, budget, s, out, ties, heap, warm)
    return status


# --- Arrays kept between calls ---------------------------------------------------------
# A def function acquires a typed view of each array it is given, about 90 ns apiece: at
# 51 workers the four of allocate_into cost a third as much as the allocation itself.
# fa.Allocator and the policies pass the same scratch (and statistics) at every call;
# these objects acquire them once, so that a call acquires only what changes.


cdef class Scratch:
    """:func:`allocate_warm_into` and :func:`allocate_bounded_warm_into` with ``ties``,
    ``heap`` and ``warm`` kept (``warm=None``: cold, as :func:`allocate_into`)."""
    cdef int64_t[::1] ties
    cdef double[::1] heap, warm
    cdef bint is_warm
    #: Bounds declared shared hold their minimum for the available workers only (fastata_low1).
    minimum_of_available = True

    def __init__(self, int64_t[::1] ties, double[::1] heap, double[::1] warm=None):
        self.ties, self.heap, self.warm, self.is_warm = ties, heap, warm, warm is not None

    def allocate(self, const double[::1] lam, int64_t budget, int64_t[::1] out):
        """The allocation into ``out``; returns a status code."""
        cdef int status
        with nogil:
            if self.is_warm:
                status = allocate_warm_core(lam, budget, out, self.ties, self.heap, self.warm)
            else:
                status = allocate_core(lam, budget, out, self.ties, self.heap)
        return status

    def allocate_bounded(self, const double[::1] lam, int64_t budget, const int64_t[::1] min_tasks,
                         const int64_t[::1] max_tasks, int64_t[::1] out, bint shared=False):
        """The allocation with per-worker bounds into ``out``; returns a status code.
        ``shared``: the caller vouches that each bound holds one value for every worker (then
        the vector passes read it once a pass; with bounds that differ the result is wrong),
        the minimum every available worker's (0 on a worker at ``+inf``)."""
        cdef int status
        with nogil:
            set_shared_bounds(shared)
            if self.is_warm:
                status = allocate_bounded_warm_core(lam, budget, min_tasks, max_tasks, out, self.ties,
                                                    self.heap, self.warm)
            else:
                status = allocate_bounded_core(lam, budget, min_tasks, max_tasks, out, self.ties, self.heap)
            set_shared_bounds(0)
        return status


cdef class Statistics:
    """:func:`observe_into` and :func:`policy_round_warm` with a policy's statistics,
    availability, bounds and scratch kept."""
    cdef double[::1] counts, means, m2, s, heap, warm
    cdef const unsigned char[::1] available
    cdef int64_t[::1] ties

    def __init__(self, double[::1] counts, double[::1] means, double[::1] m2,
                 const unsigned char[::1] available, double[::1] s, int64_t[::1] ties,
                 double[::1] heap, double[::1] warm):
        self.counts, self.means, self.m2, self.available = counts, means, m2, available
        self.s, self.ties, self.heap, self.warm = s, ties, heap, warm

    def observe(self, const int64_t[::1] workers, const double[::1] durations):
        """Check every sample, then add them all; returns a status code."""
        cdef int status
        with nogil:
            status = observe_core(workers, durations, self.counts, self.means, self.m2)
        return status

    def round(self, int variant, double weight, double log_term, double gamma, int64_t budget,
              int64_t[::1] out):
        """Bounds, warm-started allocation into ``out`` and discount; returns a status code."""
        cdef int status
        with nogil:
            status = policy_round_warm_core(self.counts, self.means, self.m2, self.available, variant,
                                            weight, log_term, gamma, budget, self.s, out, self.ties,
                                            self.heap, self.warm)
        return status

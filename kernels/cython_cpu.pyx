# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Cython backend: the exact threshold algorithm compiled ahead of time, GIL released.

A line-by-line port of ``threshold.py`` (read that file for the why); the tests
hold it bit-identical to the reference. Typed memoryviews, ``nogil`` throughout,
and no heap allocation: the caller passes ``out`` and the scratch arrays.

Where it departs: the passes over every worker (``sum(1/lam)``, the counts, and
``select_between``'s) are C with AVX-512 or AVX2 intrinsics, picked at run time; and
``select_between`` finds the keys between the two bracketing thresholds by products
(``(lo[i] + 1) * lam[i] <= hi_t``, one vector compare) instead of from a count at
``hi_t``, so bracketing never counts at ``hi_t`` again. (In numba that product test
is slower than the recount: a scalar loop with an int-to-float conversion.)
"""

from libc.math cimport sqrt, INFINITY
from libc.float cimport DBL_MAX
from libc.stdint cimport int64_t

cdef int MAX_REFINE = 4096
cdef double GROWTH = 18446744073709551616.0  # 2**64
cdef int MAX_NEWTON = 2
cdef int MAX_BRACKET_STEPS = 8


cdef inline int64_t count_le_from(double x, double t, int64_t cap, int64_t c) noexcept nogil:
    while c < cap and <double>(c + 1) * x <= t:
        c += 1
    while <double>c * x > t:  # no c > 0 guard: 0 * x <= t, and the guard mispredicts
        c -= 1
    return c


cdef inline int64_t count_le(double x, double t, int64_t cap) noexcept nogil:
    cdef double q = t / x
    return count_le_from(x, t, cap, cap if q >= cap else <int64_t>q)


cdef inline int64_t count_le_fast(double x, double t, double cap) noexcept nogil:
    cdef double q = t / x
    cdef double c = <double><int64_t>(q if q < cap else cap)  # q >= 0: truncation floors
    if c < cap and (c + 1.0) * x <= t:
        c += 1.0
    if c * x > t:
        c -= 1.0
    return <int64_t>c


cdef inline void heap_push(double[::1] heap, Py_ssize_t size, double v) noexcept nogil:
    cdef Py_ssize_t i = size, parent
    while i > 0:
        parent = (i - 1) >> 1
        if heap[parent] >= v:
            break
        heap[i] = heap[parent]
        i = parent
    heap[i] = v


cdef inline void heap_replace_top(double[::1] heap, Py_ssize_t size, double v) noexcept nogil:
    cdef Py_ssize_t i = 0, child
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and heap[child + 1] > heap[child]:
            child += 1
        if heap[child] <= v:
            break
        heap[i] = heap[child]
        i = child
    heap[i] = v


cdef double relaxation(const double[::1] lam, int64_t budget, int64_t n_avail,
                       double inv_sum, double lam_min) noexcept nogil:
    cdef double target = budget + 0.5 * n_avail, s = 0.0, t, x
    cdef Py_ssize_t i
    if inv_sum < INFINITY:
        t = target / inv_sum
    else:
        for i in range(lam.shape[0]):
            x = lam[i]
            if x < INFINITY:
                s += lam_min / x
        t = lam_min * (target / s)
    return t if t < DBL_MAX else DBL_MAX


cdef extern from *:
    """
    #include <math.h>
    #include <stdint.h>
    #include <stddef.h>
    /* The three passes over every worker, in explicit SIMD. A source build targets the
       baseline (SSE2 on x86-64), which has no packed float <-> int64 conversion and
       makes gcc turn the one-step corrections into branches, so the passes are written
       with AVX-512 and AVX2 intrinsics and picked at run time (__builtin_cpu_supports).
       Every correction is a lane mask; the counts are exact as in count_le_fast.
       Elsewhere (other CPUs, MSVC) the scalar loops run. */

    /* The AVX2 passes read an integer from the bits of 2**52 + c: they need c < 2**52. */
    #define FASTATA_TWO52 4503599627370496.0

    static int64_t fastata_count_scalar(const double *lam, int64_t *out, ptrdiff_t n,
                                        double t, double cap) {
        int64_t sum = 0;
        for (ptrdiff_t i = 0; i < n; i++) {
            double x = lam[i], q = t / x, c;
            c = (double)(int64_t)(q < cap ? q : cap);  /* q >= 0: truncation floors */
            c += (c < cap) & ((c + 1.0) * x <= t);
            c -= c * x > t;
            out[i] = (int64_t)c;
            sum += (int64_t)c;
        }
        return sum;
    }

    static double fastata_inverse_sum_scalar(const double *lam, ptrdiff_t n, int64_t *n_bad,
                                             int64_t *n_finite) {
        double sum = 0.0;
        for (ptrdiff_t i = 0; i < n; i++) {
            sum += 1.0 / lam[i];
            *n_bad += !(lam[i] > 0.0);
            *n_finite += lam[i] < HUGE_VAL;
        }
        return sum;
    }

    /* out[i] = lo[i] for every worker, and the index (from base) of each worker with a key
       above lo[i] at or below hi_t appended to idx; returns how many. idx may be lo
       itself: an index is written behind the entry it came from, never ahead. */
    static ptrdiff_t fastata_boundary_scalar(const double *lam, const int64_t *lo, int64_t *out,
                                             ptrdiff_t n, double hi_t, double cap,
                                             int64_t *idx, ptrdiff_t base) {
        ptrdiff_t m = 0;
        for (ptrdiff_t i = 0; i < n; i++) {
            double next = (double)(lo[i] + 1);
            out[i] = lo[i];
            if (next <= cap && next * lam[i] <= hi_t)
                idx[m++] = base + i;
        }
        return m;
    }

    #if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    #include <immintrin.h>
    #define FASTATA_X86_SIMD 1

    __attribute__((target("avx512f,avx512dq")))
    static int64_t fastata_count_avx512(const double *lam, int64_t *out, ptrdiff_t n,
                                        double t, double cap) {
        const __m512d vt = _mm512_set1_pd(t), vcap = _mm512_set1_pd(cap);
        const __m512d one = _mm512_set1_pd(1.0);
        __m512i total = _mm512_setzero_si512();
        ptrdiff_t i = 0;
        for (; i + 8 <= n; i += 8) {
            __m512d x = _mm512_loadu_pd(lam + i);
            __m512d q = _mm512_min_pd(_mm512_div_pd(vt, x), vcap);
            __m512d c = _mm512_cvtepi64_pd(_mm512_cvttpd_epi64(q));
            __mmask8 up = _mm512_cmp_pd_mask(c, vcap, _CMP_LT_OQ);
            up = _mm512_mask_cmp_pd_mask(up, _mm512_mul_pd(_mm512_add_pd(c, one), x), vt,
                                         _CMP_LE_OQ);
            c = _mm512_mask_add_pd(c, up, c, one);
            __mmask8 down = _mm512_cmp_pd_mask(_mm512_mul_pd(c, x), vt, _CMP_GT_OQ);
            c = _mm512_mask_sub_pd(c, down, c, one);
            __m512i ci = _mm512_cvttpd_epi64(c);
            _mm512_storeu_si512((void *)(out + i), ci);
            total = _mm512_add_epi64(total, ci);
        }
        return _mm512_reduce_add_epi64(total) + fastata_count_scalar(lam + i, out + i, n - i, t, cap);
    }

    __attribute__((target("avx2")))
    static int64_t fastata_count_avx2(const double *lam, int64_t *out, ptrdiff_t n,
                                      double t, double cap) {
        /* No packed double -> int64 conversion in AVX2: the integer is read from the
           bits of c + 2**52. */
        const __m256d vt = _mm256_set1_pd(t), vcap = _mm256_set1_pd(cap);
        const __m256d one = _mm256_set1_pd(1.0), two52 = _mm256_set1_pd(FASTATA_TWO52);
        __m256i total = _mm256_setzero_si256();
        int64_t lanes[4];
        ptrdiff_t i = 0;
        for (; i + 4 <= n; i += 4) {
            __m256d x = _mm256_loadu_pd(lam + i);
            __m256d q = _mm256_min_pd(_mm256_div_pd(vt, x), vcap);
            __m256d c = _mm256_round_pd(q, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            __m256d up = _mm256_and_pd(
                _mm256_cmp_pd(c, vcap, _CMP_LT_OQ),
                _mm256_cmp_pd(_mm256_mul_pd(_mm256_add_pd(c, one), x), vt, _CMP_LE_OQ));
            c = _mm256_add_pd(c, _mm256_and_pd(up, one));
            __m256d down = _mm256_cmp_pd(_mm256_mul_pd(c, x), vt, _CMP_GT_OQ);
            c = _mm256_sub_pd(c, _mm256_and_pd(down, one));
            __m256i ci = _mm256_sub_epi64(_mm256_castpd_si256(_mm256_add_pd(c, two52)),
                                          _mm256_castpd_si256(two52));
            _mm256_storeu_si256((__m256i *)(out + i), ci);
            total = _mm256_add_epi64(total, ci);
        }
        _mm256_storeu_si256((__m256i *)lanes, total);
        return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
               + fastata_count_scalar(lam + i, out + i, n - i, t, cap);
    }

    __attribute__((target("avx512f,avx512dq")))
    static double fastata_inverse_sum_avx512(const double *lam, ptrdiff_t n, int64_t *n_bad,
                                             int64_t *n_finite) {
        const __m512d zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1.0);
        const __m512d inf = _mm512_set1_pd(HUGE_VAL);
        const __m512i unit = _mm512_set1_epi64(1);
        __m512d s0 = zero, s1 = zero;
        __m512i bad = _mm512_setzero_si512(), finite = _mm512_setzero_si512();
        ptrdiff_t i = 0;
        for (; i + 16 <= n; i += 16) {
            __m512d x0 = _mm512_loadu_pd(lam + i), x1 = _mm512_loadu_pd(lam + i + 8);
            s0 = _mm512_add_pd(s0, _mm512_div_pd(one, x0));
            s1 = _mm512_add_pd(s1, _mm512_div_pd(one, x1));
            /* NGT: not greater than zero, NaN included */
            bad = _mm512_mask_add_epi64(bad, _mm512_cmp_pd_mask(x0, zero, _CMP_NGT_UQ), bad, unit);
            bad = _mm512_mask_add_epi64(bad, _mm512_cmp_pd_mask(x1, zero, _CMP_NGT_UQ), bad, unit);
            finite = _mm512_mask_add_epi64(finite, _mm512_cmp_pd_mask(x0, inf, _CMP_LT_OQ), finite, unit);
            finite = _mm512_mask_add_epi64(finite, _mm512_cmp_pd_mask(x1, inf, _CMP_LT_OQ), finite, unit);
        }
        *n_bad += _mm512_reduce_add_epi64(bad);
        *n_finite += _mm512_reduce_add_epi64(finite);
        return _mm512_reduce_add_pd(_mm512_add_pd(s0, s1))
               + fastata_inverse_sum_scalar(lam + i, n - i, n_bad, n_finite);
    }

    __attribute__((target("avx2")))
    static double fastata_inverse_sum_avx2(const double *lam, ptrdiff_t n, int64_t *n_bad,
                                           int64_t *n_finite) {
        /* A true comparison is all ones, -1 as an integer: subtracting it counts one. */
        const __m256d zero = _mm256_setzero_pd(), one = _mm256_set1_pd(1.0);
        const __m256d inf = _mm256_set1_pd(HUGE_VAL);
        __m256d s0 = zero, s1 = zero;
        __m256i bad = _mm256_setzero_si256(), finite = _mm256_setzero_si256();
        double sums[4];
        int64_t bads[4], finites[4];
        ptrdiff_t i = 0;
        for (; i + 8 <= n; i += 8) {
            __m256d x0 = _mm256_loadu_pd(lam + i), x1 = _mm256_loadu_pd(lam + i + 4);
            s0 = _mm256_add_pd(s0, _mm256_div_pd(one, x0));
            s1 = _mm256_add_pd(s1, _mm256_div_pd(one, x1));
            bad = _mm256_sub_epi64(bad, _mm256_castpd_si256(_mm256_cmp_pd(x0, zero, _CMP_NGT_UQ)));
            bad = _mm256_sub_epi64(bad, _mm256_castpd_si256(_mm256_cmp_pd(x1, zero, _CMP_NGT_UQ)));
            finite = _mm256_sub_epi64(finite, _mm256_castpd_si256(_mm256_cmp_pd(x0, inf, _CMP_LT_OQ)));
            finite = _mm256_sub_epi64(finite, _mm256_castpd_si256(_mm256_cmp_pd(x1, inf, _CMP_LT_OQ)));
        }
        _mm256_storeu_pd(sums, _mm256_add_pd(s0, s1));
        _mm256_storeu_si256((__m256i *)bads, bad);
        _mm256_storeu_si256((__m256i *)finites, finite);
        *n_bad += (bads[0] + bads[1]) + (bads[2] + bads[3]);
        *n_finite += (finites[0] + finites[1]) + (finites[2] + finites[3]);
        return ((sums[0] + sums[1]) + (sums[2] + sums[3]))
               + fastata_inverse_sum_scalar(lam + i, n - i, n_bad, n_finite);
    }
    __attribute__((target("avx512f,avx512dq")))
    static ptrdiff_t fastata_boundary_avx512(const double *lam, const int64_t *lo, int64_t *out,
                                             ptrdiff_t n, double hi_t, double cap, int64_t *idx) {
        const __m512d vhi = _mm512_set1_pd(hi_t), vcap = _mm512_set1_pd(cap);
        const __m512d one = _mm512_set1_pd(1.0);
        ptrdiff_t i = 0, m = 0;
        for (; i + 8 <= n; i += 8) {
            __m512i below = _mm512_loadu_si512((const void *)(lo + i));
            __m512d next = _mm512_add_pd(_mm512_cvtepi64_pd(below), one);
            __mmask8 hit = _mm512_cmp_pd_mask(next, vcap, _CMP_LE_OQ);
            hit = _mm512_mask_cmp_pd_mask(hit, _mm512_mul_pd(next, _mm512_loadu_pd(lam + i)), vhi,
                                          _CMP_LE_OQ);
            _mm512_storeu_si512((void *)(out + i), below);
            for (unsigned bits = hit; bits; bits &= bits - 1)  /* rare: a few workers in all */
                idx[m++] = i + __builtin_ctz(bits);
        }
        return m + fastata_boundary_scalar(lam + i, lo + i, out + i, n - i, hi_t, cap, idx + m, i);
    }

    __attribute__((target("avx2")))
    static ptrdiff_t fastata_boundary_avx2(const double *lam, const int64_t *lo, int64_t *out,
                                           ptrdiff_t n, double hi_t, double cap, int64_t *idx) {
        /* int64 -> double without AVX-512: the bits of 2**52 + lo, minus 2**52 (lo < 2**52). */
        const __m256d vhi = _mm256_set1_pd(hi_t), vcap = _mm256_set1_pd(cap);
        const __m256d one = _mm256_set1_pd(1.0), two52 = _mm256_set1_pd(FASTATA_TWO52);
        ptrdiff_t i = 0, m = 0;
        for (; i + 4 <= n; i += 4) {
            __m256i below = _mm256_loadu_si256((const __m256i *)(lo + i));
            __m256d next = _mm256_add_pd(
                _mm256_sub_pd(_mm256_castsi256_pd(_mm256_add_epi64(below, _mm256_castpd_si256(two52))),
                              two52),
                one);
            __m256d hit = _mm256_and_pd(
                _mm256_cmp_pd(next, vcap, _CMP_LE_OQ),
                _mm256_cmp_pd(_mm256_mul_pd(next, _mm256_loadu_pd(lam + i)), vhi, _CMP_LE_OQ));
            _mm256_storeu_si256((__m256i *)(out + i), below);
            for (unsigned bits = _mm256_movemask_pd(hit); bits; bits &= bits - 1)
                idx[m++] = i + __builtin_ctz(bits);
        }
        return m + fastata_boundary_scalar(lam + i, lo + i, out + i, n - i, hi_t, cap, idx + m, i);
    }
    #else
    #define FASTATA_X86_SIMD 0
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

    /* The counts with product <= t into out, capped at cap; returns their sum, which
       cannot overflow: cap * n < 4e18 is the caller's promise. */
    static int64_t fastata_count_prefix_at(int level, const double *lam, int64_t *out,
                                           ptrdiff_t n, double t, double cap) {
    #if FASTATA_X86_SIMD
        if (level == FASTATA_AVX512)
            return fastata_count_avx512(lam, out, n, t, cap);
        if (level == FASTATA_AVX2 && cap < FASTATA_TWO52)
            return fastata_count_avx2(lam, out, n, t, cap);
    #endif
        return fastata_count_scalar(lam, out, n, t, cap);
    }

    /* fastata_boundary_scalar at the given level. */
    static ptrdiff_t fastata_boundary_at(int level, const double *lam, const int64_t *lo,
                                         int64_t *out, ptrdiff_t n, double hi_t, double cap,
                                         int64_t *idx) {
    #if FASTATA_X86_SIMD
        if (level == FASTATA_AVX512)
            return fastata_boundary_avx512(lam, lo, out, n, hi_t, cap, idx);
        if (level == FASTATA_AVX2 && cap < FASTATA_TWO52)
            return fastata_boundary_avx2(lam, lo, out, n, hi_t, cap, idx);
    #endif
        return fastata_boundary_scalar(lam, lo, out, n, hi_t, cap, idx, 0);
    }

    /* Validation and sum(1/lam) in one pass, the common case's: counts the entries that
       are not > 0 (NaN, zero, negative) and the finite ones. */
    static double fastata_inverse_sum_at(int level, const double *lam, ptrdiff_t n,
                                         int64_t *n_bad, int64_t *n_finite) {
        *n_bad = *n_finite = 0;
    #if FASTATA_X86_SIMD
        if (level == FASTATA_AVX512)
            return fastata_inverse_sum_avx512(lam, n, n_bad, n_finite);
        if (level == FASTATA_AVX2)
            return fastata_inverse_sum_avx2(lam, n, n_bad, n_finite);
    #endif
        return fastata_inverse_sum_scalar(lam, n, n_bad, n_finite);
    }
    """
    int best_level "fastata_best_level"() noexcept nogil
    int64_t count_prefix_at "fastata_count_prefix_at"(int level, const double* lam, int64_t* out,
                                                       Py_ssize_t n, double t, double cap) noexcept nogil
    double inverse_sum_at "fastata_inverse_sum_at"(int level, const double* lam, Py_ssize_t n,
                                                   int64_t* n_bad, int64_t* n_finite) noexcept nogil
    Py_ssize_t boundary_at "fastata_boundary_at"(int level, const double* lam, const int64_t* lo,
                                                 int64_t* out, Py_ssize_t n, double hi_t, double cap,
                                                 int64_t* idx) noexcept nogil

SIMD_LEVELS = ("scalar", "avx2", "avx512")  # the C enum's order
cdef int SIMD_LEVEL = best_level()  # the passes' instruction set, picked at import


cdef int64_t count_prefix(const double[::1] lam, double t, int64_t budget, int64_t limit,
                          int64_t[::1] out) noexcept nogil:
    cdef double cap = <double>budget
    cdef int64_t total = 0, c
    cdef Py_ssize_t i, n = lam.shape[0]
    if cap * n < 4e18:
        # The sum cannot overflow: no saturation, so the pass is branch-free (SIMD).
        if n > 0:
            total = count_prefix_at(SIMD_LEVEL, &lam[0], &out[0], n, t, cap)
        return total if total < limit else limit
    for i in range(n):
        c = count_le_fast(lam[i], t, cap)
        out[i] = c
        total = total + c if total + c < limit else limit
    return total


cdef double product_of_next(const double[::1] lam, int64_t budget, Py_ssize_t k,
                            int64_t[::1] out, double[::1] heap) noexcept nogil:
    cdef Py_ssize_t i, size = 0
    cdef int64_t j
    cdef double x, p, top = INFINITY
    for i in range(lam.shape[0]):
        x = lam[i]
        j = out[i] + 1
        if <double>j * x < top:
            while j <= budget:
                p = <double>j * x
                if size < k:
                    if p == INFINITY:
                        break
                    heap_push(heap, size, p)
                    size += 1
                elif p < heap[0]:
                    heap_replace_top(heap, size, p)
                else:
                    break
                j += 1
            if size == k:
                top = heap[0]
    return top


cdef double product_of_last(const double[::1] lam, Py_ssize_t k, int64_t[::1] out,
                            double[::1] heap) noexcept nogil:
    cdef Py_ssize_t i, size = 0
    cdef int64_t j
    cdef double x, v, top = INFINITY
    for i in range(lam.shape[0]):
        x = lam[i]
        j = out[i]
        if -(<double>j * x) < top:
            while j >= 1:
                v = -(<double>j * x)
                if size < k:
                    heap_push(heap, size, v)
                    size += 1
                elif v < heap[0]:
                    heap_replace_top(heap, size, v)
                else:
                    break
                j -= 1
            if size == k:
                top = heap[0]
    return -top


cdef double find_threshold(const double[::1] lam, int64_t budget, double t, double slope,
                           int64_t[::1] out, double[::1] heap) noexcept nogil:
    cdef int64_t room = heap.shape[0], limit = budget + room + 1, deficit = 0
    cdef double newton_limit = 4.0 * sqrt(<double>lam.shape[0]) + 32.0
    cdef double lo = 0.0, hi = INFINITY, nxt
    cdef bint fits = False
    cdef int step
    for step in range(MAX_REFINE):
        deficit = budget - count_prefix(lam, t, budget, limit, out)
        if deficit == 0:
            return -1.0
        if deficit > 0 and t >= DBL_MAX:
            return INFINITY
        fits = deficit <= room if deficit > 0 else 1 - deficit <= room
        if fits and (step >= MAX_NEWTON or (deficit if deficit > 0 else -deficit) <= newton_limit):
            break
        if deficit > 0:
            lo = t
        else:
            hi = t
        nxt = t + deficit / slope if step < MAX_NEWTON else -1.0
        if not (lo < nxt < hi):
            if fits:
                break
            if hi == INFINITY:
                nxt = lo * GROWTH if lo * GROWTH < DBL_MAX else DBL_MAX
            elif lo == 0.0:
                nxt = hi / GROWTH
            elif hi > 4.0 * lo:
                nxt = sqrt(lo) * sqrt(hi)
            else:
                nxt = 0.5 * lo + 0.5 * hi
        if not (lo < nxt < hi):
            return hi
        t = nxt
    if not fits:
        return hi
    if deficit > 0:
        return product_of_next(lam, budget, deficit, out, heap)
    return product_of_last(lam, 1 - deficit, out, heap)


cdef int64_t tie_count(int64_t[::1] out, int64_t[::1] ties, int64_t level) noexcept nogil:
    cdef int64_t total = 0, d
    cdef Py_ssize_t i
    for i in range(out.shape[0]):
        if ties[i] > 0:
            d = level - out[i]
            if d > ties[i]:
                d = ties[i]
            if d > 0:
                total += d
    return total


cdef void take_ties(const double[::1] lam, int64_t budget, double tstar, int64_t[::1] out,
                    int64_t[::1] ties) noexcept nogil:
    cdef int64_t taken = 0, j_lo = budget + 1, j_hi = 0, below, upto, remaining
    cdef int64_t level, hi, mid, d
    cdef Py_ssize_t i
    cdef double x
    for i in range(lam.shape[0]):
        x = lam[i]
        below = out[i]
        ties[i] = 0
        if <double>below * x < tstar and (below >= budget or <double>(below + 1) * x > tstar):
            taken += below
            continue
        if 0.0 < x < INFINITY:
            if tstar == INFINITY:
                below = count_le(x, DBL_MAX, budget)
                upto = budget
            else:
                upto = count_le_from(x, tstar, budget, out[i])
                below = upto
                while <double>below * x >= tstar:
                    below -= 1
            out[i] = below
            ties[i] = upto - below
            taken += below
            if upto > below:
                if below + 1 < j_lo:
                    j_lo = below + 1
                if upto > j_hi:
                    j_hi = upto
    remaining = budget - taken
    level = j_lo
    if j_lo < j_hi:
        hi = j_hi
        while level < hi:
            mid = level + (hi - level) // 2
            if tie_count(out, ties, mid) >= remaining:
                hi = mid
            else:
                level = mid + 1
        remaining -= tie_count(out, ties, level - 1)
    for i in range(lam.shape[0]):
        if ties[i] > 0:
            below = out[i]
            d = level - 1 - below
            if d > ties[i]:
                d = ties[i]
            if d > 0:
                out[i] = below + d
            if remaining > 0 and below < level <= below + ties[i]:
                out[i] += 1
                remaining -= 1


cdef int scan(const double[::1] lam, int64_t budget, int64_t* n_zero, int64_t* n_avail,
              double* inv_sum, double* lam_min) noexcept nogil:
    # The common case in one vectorised pass (threshold.scan does it in two: numba cannot
    # vectorise a float sum); any NaN, zero or negative entry sends us to the exact pass.
    cdef int64_t n_bad = 0, n_finite = 0
    if lam.shape[0] > 0:
        inv_sum[0] = inverse_sum_at(SIMD_LEVEL, &lam[0], lam.shape[0], &n_bad, &n_finite)
    if n_bad > 0 or n_finite == 0 or not (inv_sum[0] < INFINITY):
        return scan_exact(lam, budget, n_zero, n_avail, inv_sum, lam_min)
    n_zero[0] = 0
    n_avail[0] = n_finite
    lam_min[0] = 0.0
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
    cdef int64_t share = budget // n_zero
    cdef int64_t extra = budget - share * n_zero
    cdef Py_ssize_t i
    for i in range(lam.shape[0]):
        if lam[i] == 0.0:
            if extra > 0:
                out[i] = share + 1
                extra -= 1
            else:
                out[i] = share


cdef inline bint key_before(double p, double j, double i, double[::1] heap,
                            Py_ssize_t k) noexcept nogil:
    if p != heap[3 * k]:
        return p < heap[3 * k]
    if j != heap[3 * k + 1]:
        return j < heap[3 * k + 1]
    return i < heap[3 * k + 2]


cdef void select_between(const double[::1] lam, int64_t budget, int64_t taken,
                         int64_t[::1] lo, double hi_t, int64_t[::1] out, int64_t[::1] idx,
                         double[::1] heap) noexcept nogil:
    # threshold.select_between, but the keys above lo are found by product, not from a
    # count at hi_t: the SIMD pass (boundary_at) copies lo into out and lists the
    # workers with a key in (lo, hi_t] in idx (which may be lo); only those are visited.
    cdef Py_ssize_t i, k, b, m = 0, n = lam.shape[0]
    cdef Py_ssize_t n_boundary = boundary_at(SIMD_LEVEL, &lam[0], &lo[0], &out[0], n, hi_t,
                                             <double>budget, &idx[0])
    cdef int64_t j
    cdef double x, p, fi, fj
    for b in range(n_boundary):
        i = idx[b]
        x = lam[i]
        fi = <double>i
        j = out[i] + 1
        while j <= budget and <double>j * x <= hi_t:
            p = <double>j * x
            fj = <double>j
            k = m
            while k > 0 and key_before(p, fj, fi, heap, k - 1):
                heap[3 * k] = heap[3 * k - 3]
                heap[3 * k + 1] = heap[3 * k - 2]
                heap[3 * k + 2] = heap[3 * k - 1]
                k -= 1
            heap[3 * k] = p
            heap[3 * k + 1] = fj
            heap[3 * k + 2] = fi
            m += 1
            j += 1
    for k in range(budget - taken):
        out[<Py_ssize_t>heap[3 * k + 2]] += 1


cdef void copy_into(int64_t[::1] src, int64_t[::1] dst) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(dst.shape[0]):  # scratch may be longer than out
        dst[i] = src[i]


cdef bint bracket_and_select(const double[::1] lam, int64_t budget, double t, double slope,
                             int64_t[::1] out, int64_t[::1] ties,
                             double[::1] heap) noexcept nogil:
    cdef Py_ssize_t n = lam.shape[0]
    cdef int64_t width_max = <int64_t>(2.0 * sqrt(<double>n)) + 16
    cdef int64_t limit = budget + n + 1, lo_c = 0, hi_c = limit, c = 0
    cdef int64_t[::1] lo_buf = out
    cdef int64_t[::1] try_buf = ties
    cdef int64_t[::1] swap
    cdef bint try_in_out = False, have_lo = False, bracketed = False
    cdef double lo_t = 0.0, hi_t = INFINITY, margin, target, local, prev_t = -1.0
    cdef int64_t prev_c = 0
    cdef int step
    if width_max > (n + 2) // 3:
        width_max = (n + 2) // 3
    for step in range(MAX_BRACKET_STEPS):
        c = count_prefix(lam, t, budget, limit, try_buf)
        if c == budget:
            if not try_in_out:
                copy_into(try_buf, out)
            return True
        if c < budget:
            lo_t = t
            lo_c = c
            swap = lo_buf
            lo_buf = try_buf
            try_buf = swap
            try_in_out = not try_in_out
            have_lo = True
        else:
            hi_t = t
            hi_c = c
        if have_lo and hi_c - lo_c <= width_max:
            bracketed = True
            break
        local = slope
        if prev_t >= 0.0 and c != prev_c:
            local = (c - prev_c) / (t - prev_t)
        prev_t = t
        prev_c = c
        margin = 2.0 * sqrt(<double>(budget - c if budget > c else c - budget)) + 4.0
        if hi_t == INFINITY or (have_lo and budget - lo_c <= hi_c - budget):
            target = budget + margin
        else:
            target = budget - margin
        if have_lo and hi_t < INFINITY:
            t = lo_t + (target - lo_c) * ((hi_t - lo_t) / <double>(hi_c - lo_c))
        else:
            t = t + (target - c) / local
        if not (lo_t < t < hi_t and t < DBL_MAX):
            return False
    if not bracketed:
        return False
    select_between(lam, budget, lo_c, lo_buf, hi_t, out, ties, heap)
    return True


cdef int allocate_core(const double[::1] lam, int64_t budget, int64_t[::1] out,
                       int64_t[::1] ties, double[::1] heap) noexcept nogil:
    cdef Py_ssize_t i
    cdef int64_t n_zero, n_avail
    cdef double inv_sum, lam_min, t, slope, tstar
    cdef int status = scan(lam, budget, &n_zero, &n_avail, &inv_sum, &lam_min)
    if status != STATUS_OK:
        return status  # out untouched: a rejected call changes nothing
    if budget == 0 or n_zero > 0:
        for i in range(lam.shape[0]):
            out[i] = 0
        if budget > 0:
            round_robin_zeros(lam, budget, n_zero, out)
        return STATUS_OK
    # No zeroing otherwise: the first count writes every out[i].
    t = relaxation(lam, budget, n_avail, inv_sum, lam_min)
    slope = inv_sum if inv_sum < INFINITY else INFINITY
    if bracket_and_select(lam, budget, t, slope, out, ties, heap):
        return STATUS_OK
    tstar = find_threshold(lam, budget, t, slope, out, heap)
    if tstar >= 0.0:
        take_ties(lam, budget, tstar, out, ties)
    return STATUS_OK


def status_codes():
    """The status codes this module was compiled with (a test compares them to status.py)."""
    return {"OK": STATUS_OK, "LAM_NAN": STATUS_LAM_NAN, "LAM_NEGATIVE": STATUS_LAM_NEGATIVE,
            "NO_AVAILABLE_WORKER": STATUS_NO_AVAILABLE_WORKER}


def simd_levels():
    """The implementations of the SIMD passes this CPU runs, widest last (the tests run each)."""
    return SIMD_LEVELS[:SIMD_LEVEL + 1]


def count_prefix_with(level, const double[::1] lam, double t, int64_t budget, int64_t[::1] out):
    """The counting pass as implementation ``level`` (a name from :func:`simd_levels`) does it:
    ``out[i]`` = worker i's keys with product ``<= t``; returns their sum."""
    cdef int code = _level_code(level)
    if not <double>budget * lam.shape[0] < 4e18 or out.shape[0] < lam.shape[0]:
        raise ValueError("count_prefix_with: needs budget * n < 4e18 and len(out) >= len(lam)")
    if lam.shape[0] == 0:
        return 0
    return count_prefix_at(code, &lam[0], &out[0], lam.shape[0], t, <double>budget)


def inverse_sum_with(level, const double[::1] lam):
    """``(sum(1/lam), entries not > 0, finite entries)`` as implementation ``level`` computes them."""
    cdef int code = _level_code(level)
    cdef int64_t n_bad = 0, n_finite = 0
    cdef double total = 0.0
    if lam.shape[0] > 0:
        total = inverse_sum_at(code, &lam[0], lam.shape[0], &n_bad, &n_finite)
    return total, n_bad, n_finite


def boundary_with(level, const double[::1] lam, const int64_t[::1] lo, double hi_t,
                  int64_t budget, int64_t[::1] out, int64_t[::1] idx):
    """Implementation ``level`` of select_between's pass: ``out = lo``, and the workers with a
    key above ``lo[i]`` at or below ``hi_t`` listed in ``idx`` (which may be ``lo``); returns
    how many."""
    cdef int code = _level_code(level)
    cdef Py_ssize_t n = lam.shape[0]
    if lo.shape[0] < n or out.shape[0] < n or idx.shape[0] < n:
        raise ValueError("boundary_with: lo, out and idx need len(lam) entries")
    if n == 0:
        return 0
    return boundary_at(code, &lam[0], &lo[0], &out[0], n, hi_t, <double>budget, &idx[0])


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


def empty_allocate_into(const double[::1] lam, int64_t budget, int64_t[::1] out,
                        int64_t[::1] ties, double[::1] heap):
    """Takes what :func:`allocate_into` takes and does nothing: the call-overhead floor."""
    return 0



# --- Policy statistics and bounds: a port of stats.py (read it for the why) -----------


cdef int observe_core(const int64_t[::1] workers, const double[::1] durations,
                      double[::1] counts, double[::1] means, double[::1] m2) noexcept nogil:
    cdef Py_ssize_t u, n = counts.shape[0]
    cdef int64_t i
    cdef double x, k, delta, mean
    for u in range(workers.shape[0]):
        i = workers[u]
        if i < 0 or i >= n:
            return STATUS_WORKER_OUT_OF_RANGE
        x = durations[u]
        if not (x >= 0.0):
            return STATUS_DURATION_NOT_FINITE if x != x else STATUS_DURATION_NEGATIVE
        if x == INFINITY:
            return STATUS_DURATION_NOT_FINITE
    for u in range(workers.shape[0]):
        i = workers[u]
        x = durations[u]
        k = counts[i] + 1.0
        delta = x - means[i]
        mean = means[i] + delta / k
        counts[i] = k
        means[i] = mean
        m2[i] = m2[i] + delta * (x - mean)
    return STATUS_OK


cdef void bounds_core(const double[::1] counts, const double[::1] means,
                      const unsigned char[::1] available, int variant, double weight,
                      double log_term, double[::1] s) noexcept nogil:
    cdef Py_ssize_t i
    cdef double k, r, ci, v, f
    for i in range(counts.shape[0]):
        k = counts[i]
        if available[i] == 0:
            s[i] = INFINITY
        elif k > 0.0:
            r = log_term / k
            ci = sqrt(r) + r
            if variant == VARIANT_ATA:
                v = means[i] - weight * ci
                s[i] = v if v > 0.0 else 0.0
            else:
                f = 1.0 - weight * ci
                s[i] = means[i] * f if f > 0.0 else 0.0
        else:
            s[i] = 0.0


cdef int policy_round_core(double[::1] counts, const double[::1] means, double[::1] m2,
                           const unsigned char[::1] available, int variant, double weight,
                           double log_term, double gamma, int64_t budget, double[::1] s,
                           int64_t[::1] out, int64_t[::1] ties, double[::1] heap) noexcept nogil:
    cdef Py_ssize_t i
    cdef int status
    bounds_core(counts, means, available, variant, weight, log_term, s)
    status = allocate_core(s, budget, out, ties, heap)
    if status == STATUS_OK and gamma != 1.0:
        for i in range(counts.shape[0]):
            counts[i] = counts[i] * gamma
            m2[i] = m2[i] * gamma
    return status


def policy_codes():
    """The observe status codes and bound variants compiled in (a test compares them to status.py)."""
    return {"WORKER_OUT_OF_RANGE": STATUS_WORKER_OUT_OF_RANGE,
            "DURATION_NOT_FINITE": STATUS_DURATION_NOT_FINITE,
            "DURATION_NEGATIVE": STATUS_DURATION_NEGATIVE,
            "VARIANT_ATA": VARIANT_ATA, "VARIANT_EMPIRICAL": VARIANT_EMPIRICAL}


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
    with nogil:
        bounds_core(counts, means, available, variant, weight, log_term, s)


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

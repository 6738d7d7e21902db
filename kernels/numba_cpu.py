"""Numba CPU backend: ``@njit(cache=True)`` wrappers around the shared exact algorithm.

The algorithm lives in :mod:`threshold` (shared with the cuda backend); this file only
compiles it and adds ``prange`` over batched problems. Nothing is compiled at import
time: each kernel compiles (or loads from numba's on-disk cache) on first call.
"""

import inspect
import platform

from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from . import stats, threshold

# One place for the compile options of every kernel in this file.
_JIT = dict(cache=True, nogil=True, error_model="numpy")


def _compile_on_cpu(fn, fastmath):
    """Compile ``fn``'s own code for the CPU target with these fastmath flags (the cuda
    backend and plain Python keep the strict version)."""

    def typer(*args):
        return fn

    typer.__signature__ = inspect.signature(fn)
    overload(fn, target="cpu", jit_options={"fastmath": fastmath, "error_model": "numpy"})(typer)


# Reductions that LLVM vectorises only when allowed to reorder them, and where the
# order cannot matter (DESIGN.md section 4): sums of integer-valued floats (exact below
# 2**53; above it they only have to exceed the budget), and the sum of 1/lam that feeds
# the first guess only. The cuda backend compiles the strict versions: its fastmath
# switch would also approximate division and flush subnormals.
for _pass in (
    threshold.count_into,
    threshold.count_extremes_into,
    threshold.count_list_into,
    threshold.estimate_into,
    threshold.estimate_pair_into,
    threshold.estimate_slope_into,
    threshold.estimate_checking_into,
    threshold.inverse_pass,
    threshold.inverse_checking_pass,
    threshold.checked_block,
    threshold.inverse_checking_exact,
    threshold.split_at_threshold,
):
    _compile_on_cpu(_pass, {"reassoc"})


# threshold's bit-level helpers as bit reinterpretations: AVX2 has no packed conversion
# between float64 and int64, and a pass that converts each lane stops vectorising.
# 2**52 + k has the bits of 2**52 plus k, for integers 0 <= k < 2**52; positive
# float64s (and +inf) order as their bits do.
_TWO52 = 4503599627370496.0
_TWO52_BITS = 0x4330000000000000


@intrinsic
def _bits(typingctx, x):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _from_bits(typingctx, k):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@overload(threshold.int_of, target="cpu")
def _int_of(c):
    return lambda c: _bits(c + _TWO52) - _TWO52_BITS


@overload(threshold.float_of, target="cpu")
def _float_of(k):
    return lambda k: _from_bits(k + _TWO52_BITS) - _TWO52


@intrinsic
def _trailing_zeros(typingctx, k):
    def codegen(context, builder, signature, args):
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 0))

    return types.int64(types.int64), codegen


@overload(threshold.lowest_bit, target="cpu")
def _lowest_bit(bits):
    return lambda bits: _trailing_zeros(bits)


@overload(threshold.order_key, target="cpu")
def _order_key(p):
    return lambda p: _bits(p)


@overload(threshold.sign_bit, target="cpu")
def _sign_bit(x):
    return lambda x: _bits(x)


@overload(threshold.from_order_key, target="cpu")
def _from_order_key(k):
    return lambda k: _from_bits(k)


# threshold.flush_tiny and restore_tiny as the flush-to-zero bit (15) of the x86 MXCSR
# register, read and written through LLVM's stmxcsr and ldmxcsr intrinsics; elsewhere they
# stay the no-ops they are in plain Python.
_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
_FLUSH_TO_ZERO = 0x8000


def _mxcsr_call(builder, name, slot):
    fnty = ir.FunctionType(ir.VoidType(), [ir.IntType(8).as_pointer()])
    fn = cgutils.get_or_insert_function(builder.module, fnty, name)
    builder.call(fn, [builder.bitcast(slot, ir.IntType(8).as_pointer())])


@intrinsic
def _flush_tiny(typingctx):
    def codegen(context, builder, signature, args):
        slot = cgutils.alloca_once(builder, ir.IntType(32))
        _mxcsr_call(builder, "llvm.x86.sse.stmxcsr", slot)
        state = builder.load(slot)
        builder.store(builder.or_(state, ir.Constant(ir.IntType(32), _FLUSH_TO_ZERO)), slot)
        _mxcsr_call(builder, "llvm.x86.sse.ldmxcsr", slot)
        return builder.zext(state, ir.IntType(64))

    return types.int64(), codegen


@intrinsic
def _restore_tiny(typingctx, state):
    def codegen(context, builder, signature, args):
        slot = cgutils.alloca_once(builder, ir.IntType(32))
        builder.store(builder.trunc(args[0], ir.IntType(32)), slot)
        _mxcsr_call(builder, "llvm.x86.sse.ldmxcsr", slot)
        return args[0]

    return types.int64(types.int64), codegen


if _X86:
    @overload(threshold.flush_tiny, target="cpu")
    def _flush_tiny_on_cpu():
        return lambda: _flush_tiny()

    @overload(threshold.restore_tiny, target="cpu")
    def _restore_tiny_on_cpu(state):
        return lambda state: _restore_tiny(state)


@intrinsic
def _prefer_wide_vectors(typingctx):
    def codegen(context, builder, signature, args):
        attributes = builder.function.attributes
        # A string attribute, which llvmlite's checked set of attribute names does not list.
        set.add(attributes, '"prefer-vector-width"="512"')
        # Inlined into its caller, the pass would be vectorised at the caller's preference
        # (numba 0.59's LLVM inlines the smaller passes).
        if "alwaysinline" not in attributes:
            attributes.add("noinline")
        return context.get_dummy_value()

    return types.none(), codegen


# inline: the attribute has to land on the pass that calls wide_vectors, not on a function of its own.
@overload(threshold.wide_vectors, target="cpu", inline="always")
def _wide_vectors_on_cpu():
    return lambda: _prefer_wide_vectors()


#: The bounded entries take a bound that holds one value for every worker as that int64
#: (``min_tasks=1, max_tasks=4``): a second compiled version of them, whose passes read the
#: bounds once, before their loops (``threshold.bound_of``), instead of loading and converting
#: a vector of each at every step (AVX2 has no packed int64 to float64 conversion). A minimum
#: given so holds for the available workers, as a single ``min_tasks`` means
#: (``threshold.minimum_of``): no pass over ``lam`` looks for the unavailable ones first.
TAKES_BOUNDS_AS_NUMBERS = True


@njit(**_JIT)
def allocate_into(lam, budget, out, ties, heap):
    """Canonical allocation into ``out``; returns a status code (see ``status.py``)."""
    return threshold.allocate_into(lam, budget, out, ties, heap)


@njit(**_JIT)
def allocate_warm_into(lam, budget, out, ties, heap, warm):
    """:func:`allocate_into` warm-started from ``warm`` (float64, 3; see ``threshold.allocate_warm``)."""
    return threshold.allocate_warm(lam, budget, out, ties, heap, warm)


@njit(**_JIT)
def allocate_bounded_into(lam, budget, min_tasks, max_tasks, out, ties, heap):
    """:func:`allocate_into` with per-worker bounds ``min_tasks <= out <= max_tasks``: int64 arrays,
    or int64s that hold for every worker, a minimum for every available one (see
    ``threshold.minimum_of``)."""
    return threshold.allocate_bounded_into(lam, budget, min_tasks, max_tasks, out, ties, heap)


@njit(**_JIT)
def allocate_bounded_warm_into(lam, budget, min_tasks, max_tasks, out, ties, heap, warm):
    """:func:`allocate_bounded_into` warm-started from ``warm`` (see ``threshold.allocate_warm``)."""
    return threshold.allocate_bounded_warm(lam, budget, min_tasks, max_tasks, out, ties, heap, warm)


@njit(parallel=True, **_JIT)
def allocate_batch_into(lam2d, budgets, out, ties, heap, status):
    """Row ``r`` of ``out`` gets the allocation of ``budgets[r]`` over ``lam2d[r]``, in parallel.

    Every row is checked before any is written, so a rejected batch changes nothing.
    """
    if threshold.check_batch(lam2d, budgets, status) >= 0:
        return
    for r in prange(lam2d.shape[0]):
        status[r] = threshold.allocate_into(lam2d[r], budgets[r], out[r], ties[r], heap[r])


@njit(parallel=True, **_JIT)
def allocate_batch_bounded_into(lam2d, budgets, lo2d, hi2d, out, ties, heap, status):
    """:func:`allocate_batch_into` with per-row bounds ``lo2d <= out <= hi2d`` (int64, (m, n), or
    (1, n): one row every problem reads)."""
    if threshold.check_batch_bounded(lam2d, budgets, lo2d, hi2d, status) >= 0:
        return
    for r in prange(lam2d.shape[0]):
        status[r] = threshold.allocate_bounded_into(lam2d[r], budgets[r], lo2d[r % lo2d.shape[0]],
                                                    hi2d[r % hi2d.shape[0]], out[r], ties[r], heap[r])


@njit(**_JIT)
def empty_allocate_into(lam, budget, out, ties, heap):
    """Takes what :func:`allocate_into` takes and does nothing: the call-overhead floor."""
    return 0


# --- Policy statistics and bounds (shared code in stats.py) ---------------------------


@njit(**_JIT)
def observe_into(workers, durations, counts, means, m2):
    """Check every sample, then add them all (Welford); returns a status code."""
    return stats.observe_into(workers, durations, counts, means, m2)


@njit(**_JIT)
def bounds_into(counts, means, available, variant, weight, log_term, s):
    """Lower confidence bounds of ATA (``variant`` 0) or ATA-Empirical (1) into ``s``."""
    stats.bounds_into(counts, means, available, variant, weight, log_term, s)


@njit(**_JIT)
def bernstein_bounds_into(counts, means, m2, available, c, ce, log_term, s):
    """ATA-Bernstein's lower confidence bounds into ``s`` (see ``stats.bernstein_bounds_into``)."""
    stats.bernstein_bounds_into(counts, means, m2, available, c, ce, log_term, s)


@njit(**_JIT)
def policy_round(counts, means, m2, available, variant, weight, log_term, gamma, budget, s, out, ties, heap):
    """Bounds, allocation and discount of one round in one call; returns a status code."""
    return stats.policy_round(
        counts, means, m2, available, variant, weight, log_term, gamma, budget, s, out, ties, heap
    )


@njit(**_JIT)
def policy_round_warm(counts, means, m2, available, variant, weight, log_term, gamma, budget, s, out, ties, heap, warm):
    """:func:`policy_round` with the allocation warm-started from ``warm``."""
    return stats.policy_round_warm(
        counts, means, m2, available, variant, weight, log_term, gamma, budget, s, out, ties, heap, warm
    )

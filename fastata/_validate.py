"""Every check of user input and every error message, in one style.

A message names the parameter, the rule, and the value received:
``"lam must not contain NaN; got nan at index 3"``. Checks that would need a scan of
``lam`` are left to the kernels, which scan it anyway and return a status code;
:func:`raise_for_status` turns that code into the message (only on the error path).
"""

import math
import numbers
import operator
import threading

import numpy as np

from ._constant import constant_array
from .kernels import status as _status

#: Largest budget: every task index must be exact in float64 (DESIGN.md section 2).
MAX_BUDGET = 2**53

_REAL_KINDS = "fiu"
_FLOAT64 = np.dtype(np.float64)
_NDARRAY = np.ndarray  # a module global: one lookup on the hot path


def _describe(value):
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} (type {type(value).__name__})"


def _integer_array(value):
    """``np.asarray(value)``, except that an empty sequence (no numbers to give it a dtype,
    which numpy then makes float64) is an empty int64 array: ``[]`` is as good a list of
    integers as of reals."""
    array = np.asarray(value)
    if array.size == 0 and not isinstance(value, np.ndarray) and array.dtype.kind == "f":
        return array.astype(np.int64)
    return array


def real_array(value, name, ndim):
    """``value`` as a C-contiguous float64 array of ``ndim`` dimensions, copied only if needed.

    Lists, integer and float32 arrays and non-contiguous views are converted once;
    the caller's object is never written to.
    """
    # The common case first, in the cheapest checks numpy offers (this is the hot path).
    if not (type(value) is np.ndarray and value.dtype is _FLOAT64 and value.flags.c_contiguous):
        if is_device_array(value):
            raise TypeError(f"{name} must be a host array here: pass backend='cuda' for GPU arrays; got {_describe(value)}")
        try:
            array = np.asarray(value) if not isinstance(value, np.ndarray) else value
        except ValueError:  # rows of different lengths
            raise ValueError(f"{name} must be a rectangular array of real numbers ({ndim}-D); got rows of different "
                             f"lengths: {_describe(value)}") from None
        if array.dtype.kind not in _REAL_KINDS:
            raise TypeError(f"{name} must be an array of real numbers; got {_describe(value)}")
        if array.ndim != ndim:  # before the conversion, which makes a scalar 1-D
            raise ValueError(f"{name} must be {ndim}-D; got an array of shape {array.shape}")
        value = np.ascontiguousarray(array, dtype=np.float64)
    if value.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D; got an array of shape {value.shape}")
    return value


#: numpy's integer scalar types (every C integer width, signed and unsigned): budgets of
#: these types take the fast path, a conversion to ``int``. Not ``np.integer`` itself:
#: ``np.timedelta64`` subclasses it and is no count of tasks.
NUMPY_INTEGERS = frozenset(np.dtype(code).type for code in "bhilqpBHILQP")


def budget(value, name="budget"):
    """``value`` as a Python int in ``[0, 2**53]``."""
    if type(value) in NUMPY_INTEGERS:
        value = int(value)
    if type(value) is not int:
        if isinstance(value, (bool, np.bool_, np.timedelta64)) or not isinstance(value, (numbers.Number, np.generic)):
            raise TypeError(f"{name} must be an integer; got {_describe(value)}")
        if not isinstance(value, numbers.Integral):
            raise ValueError(f"{name} must be an integer; got {_describe(value)}")
        value = operator.index(value)
    if not 0 <= value <= MAX_BUDGET:
        raise ValueError(f"{name} must be in [0, 2**53]; got {value}")
    return value


def budgets(value, m, name="budgets"):
    """A scalar budget or one per row, as a C-contiguous int64 array of shape ``(m,)``."""
    if np.ndim(value) == 0 and not isinstance(value, (str, bytes)):
        return np.full(m, budget(value, name), dtype=np.int64)
    array = _integer_array(value)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer or an array of integers; got {_describe(value)}")
    if array.shape != (m,):
        raise ValueError(f"{name} must be a scalar or have shape ({m},); got shape {array.shape}")
    if m and (array.min() < 0 or array.max() > MAX_BUDGET):
        bad = int(np.flatnonzero((array < 0) | (array > MAX_BUDGET))[0])
        raise ValueError(f"{name} must be in [0, 2**53]; got {array[bad].item()} at index {bad}")
    return np.ascontiguousarray(array, dtype=np.int64)


#: Where bounds are clipped: any value from here on caps nothing a budget can reach.
_BOUND_CAP = 2**62


def task_bounds(min_tasks, max_tasks, lam):
    """``min_tasks`` and ``max_tasks`` as C-contiguous int64 arrays of ``lam``'s shape (``None``:
    0 and no maximum), or ``(None, None)`` when both are ``None``. For a batch (2-D ``lam``)
    a bound the same for every problem (one number, or one row) comes back as one row,
    shape ``(1, n)``, which the kernels read for every problem: no ``(m, n)`` array is
    built for it. An int64 array of a fitting shape comes back as it is: copy it before
    writing to it. An array made for a bound given as one number is this thread's until its
    next call: use it before then.

    A single ``min_tasks`` is every *available* worker's minimum (0 where ``lam = +inf``):
    "at least one task for every live worker" needs no mask from the caller. Only types
    and shapes are checked here; the kernels check the values against ``lam`` and the
    budget in their first pass (:func:`raise_for_status` words what they find).
    """
    return task_bounds_shared(min_tasks, max_tasks, lam)[:2]


def task_bounds_shared(min_tasks, max_tasks, lam, assume_available=False, of_available=False):
    """:func:`task_bounds` and whether each bound holds one value for every worker (given as
    a number or left out, and a minimum that no unavailable worker leaves out): ``(low,
    high, shared)``. The kernels then read the bounds once a pass, not a vector of each a
    step (``_backends.scratch(...).allocate_bounded(..., shared)``: Cython takes the arrays
    with that hint, numba the two values). The one-problem calls' entry:
    :func:`task_bounds` wraps it.

    ``assume_available``: a single ``min_tasks`` is taken as every worker's, without reading
    ``lam`` for unavailable workers, unless this thread's last look at ``lam`` of this shape
    found some (:func:`minimum_assumed`). The kernels refuse a minimum on an unavailable
    worker before they write anything; the caller then asks again without the assumption
    (``_backends.allocate_bounded``). The look is a pass over ``lam``: 11 us at 65,536
    workers by itself, and 22-30 us less for a bounded call there without it (Intel Xeon),
    half the numpy pass.

    ``of_available``: the kernels read a minimum given as a number as the available
    workers' (``_backends.first_bounds``): a single ``min_tasks`` beside a single (or no)
    ``max_tasks`` is then that number, never a look at ``lam``.
    """
    if min_tasks is None and max_tasks is None:
        return None, None, False
    if _as_kept(min_tasks, lam.shape) and _as_kept(max_tasks, lam.shape):  # a scheduler's arrays, in short
        return min_tasks, max_tasks, False
    if single_minimum(min_tasks, lam):
        if (of_available and (max_tasks is None or _integer(max_tasks))  # read as numbers, for the available workers
                or assume_available and lam.shape not in _unavailable_seen()):  # minimum_assumed
            low, shared = uniform_bound(_row(lam.shape), int(min_tasks)), True
        else:
            low, shared = available_minimum(lam, int(min_tasks))
            _note_unavailable(lam.shape, not shared)
    else:
        low = _bound_array(min_tasks, "min_tasks", lam.shape, 0)
        shared = min_tasks is None or _integer(min_tasks)
    if type(max_tasks) is int and 0 <= max_tasks <= _BOUND_CAP:  # the common call, in short
        return low, uniform_bound(_row(lam.shape), max_tasks), shared
    return (low, _bound_array(max_tasks, "max_tasks", lam.shape, MAX_BUDGET),
            shared and (max_tasks is None or _integer(max_tasks)))


def single_minimum(min_tasks, lam):
    """Whether ``min_tasks`` is one positive minimum over a non-empty ``lam``: the minimum of
    the available workers, which the arrays leave off the unavailable ones."""
    return _integer(min_tasks) and 0 < min_tasks <= MAX_BUDGET and lam.size


def minimum_assumed(min_tasks, lam):
    """Whether :func:`task_bounds_shared` with ``assume_available`` takes this ``min_tasks``
    over ``lam`` as every worker's without looking at ``lam``."""
    return single_minimum(min_tasks, lam) and lam.shape not in _unavailable_seen()


#: Problem shapes a thread remembers as having had unavailable workers at its last look.
_UNAVAILABLE_SHAPES = 64


def _unavailable_seen():
    """The shapes whose last look at ``lam`` in this thread found unavailable workers."""
    seen = getattr(_uniform, "unavailable", None)
    if seen is None:
        seen = _uniform.unavailable = set()
    return seen


def _note_unavailable(shape, found):
    seen = _unavailable_seen()
    if not found:
        seen.discard(shape)
    elif shape not in seen:
        if len(seen) >= _UNAVAILABLE_SHAPES:  # a scheduler whose worker count keeps changing
            seen.clear()
        seen.add(shape)


def _as_kept(value, shape):
    """Whether the bound ``value`` is already what the kernels read, a C-contiguous int64 array
    of ``shape``, which :func:`task_bounds` returns as it is (the common dtype object first:
    this is a scheduler's hot path)."""
    return (type(value) is _NDARRAY and (value.dtype is _INT64 or value.dtype == _INT64) and value.shape == shape
            and value.flags.c_contiguous)


def _row(shape):
    """The shape of a bound the same for every problem: ``shape`` for one problem, one row
    ``(1, n)`` that every problem of a batch reads."""
    return shape if len(shape) == 1 else (1,) + shape[1:]


def _integer(value):
    """Whether ``value`` is one integer of any type, ``bool`` aside (``int`` tested first: the
    common call, and the cheap test)."""
    return type(value) is int or (isinstance(value, numbers.Integral) and not isinstance(value, bool)
                                  and not isinstance(value, np.timedelta64))  # a duration, not a count


#: Bytes of bound arrays each thread keeps for bounds given as one number (:func:`uniform_bound`).
UNIFORM_BYTES = 2**26

_uniform = threading.local()


def _kept(key, make, counted=None):
    """This thread's arrays under ``key``, made by ``make()`` (a tuple of arrays) where missing;
    the first ``counted`` of them (all: None) count towards the thread's bytes.

    Bounds given as one number are the common call (``max_tasks=4``), and fresh arrays for
    them cost more than the allocation itself: blocks that large go back to the system when
    freed, so at 65,536 workers the two new 512 KiB arrays page-faulted 224 times a call,
    which made it 2.4x the call with arrays. The arrays come from a small per-thread cache
    instead, least recently used first out, at most :data:`UNIFORM_BYTES` a thread (larger
    ones are made afresh each time).
    """
    cache = getattr(_uniform, "arrays", None)
    if cache is None:
        cache = _uniform.arrays = {}
    entry = cache.pop(key, None)
    if entry is None:
        arrays = make()
        size = sum(a.nbytes for a in arrays[:counted])
        if size > UNIFORM_BYTES:
            return arrays
        while sum(kept_size for _, kept_size in cache.values()) + size > UNIFORM_BYTES:
            del cache[next(iter(cache))]
        entry = arrays, size
    cache[key] = entry  # last: the most recently used
    return entry[0]


def uniform_bound(shape, value):
    """An int64 array of ``shape`` holding ``value``, from this thread's cache (:func:`_kept`).

    The array repeats one small block of memory (:func:`fastata._constant.constant_array`):
    the kernels' passes then read the bounds from cache, not memory (a bounded call 25-40 %
    faster from 65,536 workers). Never written: every caller of :func:`task_bounds` copies
    before writing. (Not flagged read-only either: numba would compile the kernels anew for
    read-only arrays.)
    """
    return _kept((shape, value), lambda: (constant_array(math.prod(shape), value).reshape(shape),))[0]


_fit_minimum = None  # the compiled fit_available_minimum, or the reference's without Cython


def available_minimum(lam, value):
    """The minimums of one ``min_tasks = value > 0`` over ``lam`` (C-contiguous float64, one
    problem or a batch, as :func:`real_array` gives it): ``value`` for
    every available worker, 0 where ``lam = +inf``; :func:`uniform_bound` where every worker
    is available. Returns ``(minimums, whether they are that uniform array)``.

    The array and the bits of which workers it leaves out stay in this thread's cache from
    call to call, and only the words of 32 workers whose unavailable workers changed are
    rewritten (``kernels.reference.fit_available_minimum``): a call reads ``lam`` once, 0.6 us
    at 4096 workers and 70 us at 10^6 (Cython), where a mask built afresh and a cache keyed
    by it took 2.4 us and 470 us. The array is rewritten in place by this thread's next call
    with other unavailable workers.
    """
    global _fit_minimum
    if _fit_minimum is None:
        try:
            from .kernels.cython_cpu import fit_available_minimum as _fit_minimum
        except ImportError:
            from .kernels.reference import fit_available_minimum as _fit_minimum
    shape = lam.shape
    words = -(-lam.size // 32)
    if 8 * lam.size + 4 * words > UNIFORM_BYTES:  # too large to keep (_kept): made afresh
        unavailable = lam == np.inf
        if unavailable.any():
            return np.where(unavailable, 0, value).astype(np.int64), False
        return uniform_bound(_row(shape), value), True
    low, bits, everyone = _kept((shape, value, "available"), lambda: (
        np.full(shape, value, dtype=np.int64), np.zeros(words, dtype=np.uint32),
        uniform_bound(_row(shape), value)), counted=2)  # (the constant array counts under its own key)
    if lam.ndim == 1:
        some_unavailable = _fit_minimum(lam, value, low, bits)
    else:
        some_unavailable = _fit_minimum(lam.reshape(-1), value, low.reshape(-1), bits)
    return (low, False) if some_unavailable else (everyone, True)


def _bound_array(value, name, shape, default):
    row = _row(shape)
    if _as_kept(value, shape) or (row != shape and _as_kept(value, row)):
        return value  # the kernels only read it: no copy on a scheduler's hot path
    if _integer(value):
        if name == "min_tasks" and value > MAX_BUDGET:  # named before the clip below hides it
            raise ValueError(f"min_tasks must sum to at most budget (and no budget is over 2**53); got {value}")
        if value < -_BOUND_CAP:  # likewise
            raise ValueError(f"{name} must be >= 0; got {value}")
        return uniform_bound(row, max(min(int(value), _BOUND_CAP), -_BOUND_CAP))
    if value is None:
        return uniform_bound(row, default)
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer or an array of integers; got {_describe(value)}")
    array = _integer_array(value)
    if array.dtype.kind not in "iu" and not isinstance(value, np.ndarray):
        # A list holding integers past int64 (2**64), which numpy reads as floats or objects.
        objects = np.array(value, dtype=object)
        if objects.size and all(_integer(v) for v in objects.flat):
            array = _clipped_integers(objects, name)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer or an array of integers; got {_describe(value)}")
    if name == "min_tasks" and array.dtype.kind == "u" and array.size and array.max() > MAX_BUDGET:
        _min_above_budget(array)
    try:
        array = np.broadcast_to(array, row if np.broadcast_shapes(array.shape, row) == row else shape)
    except ValueError:
        wanted = "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"
        raise ValueError(f"{name} must be an integer or have shape {wanted}; got shape {array.shape}") from None
    if array.dtype.itemsize == 8 and array.dtype.kind == "u":  # the one unsigned type past _BOUND_CAP
        array = np.minimum(array, np.uint64(_BOUND_CAP))
    return np.array(array, dtype=np.int64, order="C")


def _clipped_integers(array, name):
    """An object array of Python integers as int64, clipped to ``[-_BOUND_CAP, _BOUND_CAP]``
    (a minimum past ``2**53`` is named first: the clip would hide its value)."""
    if name == "min_tasks":
        _min_above_budget(array)
    flat = [max(min(int(v), _BOUND_CAP), -_BOUND_CAP) for v in array.flat]
    return np.array(flat, dtype=np.int64).reshape(array.shape)


def _min_above_budget(array):
    """Raise for the first minimum above ``2**53``, past every budget, if any."""
    for k, v in enumerate(array.flat):
        if int(v) > MAX_BUDGET:
            where = np.unravel_index(k, array.shape)
            where = f"for worker {where[0]}" if len(where) == 1 else f"for worker {where[1]} of problem {where[0]}"
            raise ValueError(f"min_tasks must sum to at most budget (and no budget is over 2**53); got {int(v)} "
                             f"{where}")


def out_array(value, shape, name="out", lam=None, min_tasks=None, max_tasks=None, lam_name="lam"):
    """Check a caller-provided output: a writeable C-contiguous int64 array of ``shape``, sharing
    no memory with the arrays the call reads (``lam``, the bounds; values that are no array
    pass), which the kernel would overwrite while it still reads them. (On the hot path of
    every call given ``out``: the cheap tests first, and no overlap test between two arrays
    that each own their memory, which cannot overlap.)"""
    if not (type(value) is _NDARRAY or isinstance(value, np.ndarray)):
        raise TypeError(f"{name} must be a numpy array of int64; got {_describe(value)}")
    if value.dtype is not _INT64 and value.dtype != _INT64:
        raise TypeError(f"{name} must have dtype int64; got dtype {value.dtype}")
    if value.shape != shape:
        raise ValueError(f"{name} must have shape {shape}; got shape {value.shape}")
    flags = value.flags
    if not (flags.c_contiguous and flags.writeable):
        if not flags.c_contiguous:
            raise ValueError(f"{name} must be C-contiguous (the result is written in place); got a view with "
                             f"strides {value.strides} (pass np.empty({shape}, dtype=np.int64), or a contiguous "
                             "slice)")
        raise ValueError(f"{name} must be writeable (the result is written in place); got a read-only array")
    if lam is None and min_tasks is None and max_tasks is None:
        return value
    owned = flags.owndata
    # one test per array read, written out: a loop over them cost a scheduler's small call
    # a tenth of its time
    if lam is not None and _overlaps(value, owned, lam):
        _refuse_overlap(name, lam_name)
    if min_tasks is not None and _overlaps(value, owned, min_tasks):
        _refuse_overlap(name, "min_tasks")
    if max_tasks is not None and _overlaps(value, owned, max_tasks):
        _refuse_overlap(name, "max_tasks")
    return value


def _overlaps(value, owned, array):
    """Whether the array ``value`` (``owned``: it owns its memory) shares memory with ``array``
    (anything: only an array can)."""
    if not (type(array) is _NDARRAY or isinstance(array, np.ndarray)):
        return False
    if owned and array is not value and array.flags.owndata:
        return False
    return np.shares_memory(value, array)


def _refuse_overlap(name, read):
    raise ValueError(f"{name} must not share memory with {read}: the allocation is written while {read} is "
                     f"read; got an {name} that overlaps {read} (pass a separate array, or a copy of {read})")


def allocation(value, n, name="a"):
    """An allocation for ``proxy_loss``: 1-D, integer, non-negative, of length ``n``."""
    array = _integer_array(value)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an array of integers; got {_describe(value)}")
    if array.shape != (n,):
        raise ValueError(f"{name} must have the shape of lam, ({n},); got shape {array.shape}")
    if n and array.min() < 0:
        bad = int(np.flatnonzero(array < 0)[0])
        raise ValueError(f"{name} must be non-negative; got {array[bad].item()} at index {bad}")
    return array


def lam_values(lam, name="lam"):
    """Raise for NaN or negative entries: for entries that no kernel scans."""
    status = _status.OK
    if np.isnan(lam).any():
        status = _status.LAM_NAN
    elif (lam < 0).any():
        status = _status.LAM_NEGATIVE
    if status != _status.OK:
        raise_for_status(status, lam, 0, name)


def raise_for_status(status, lam, budget_value, name="lam", row=None, bounds=None):
    """Turn a kernel's status code into the ``ValueError`` a user reads (``bounds``: the
    ``(min_tasks, max_tasks)`` arrays the kernel had, for a bounded allocation)."""
    where = name if row is None else f"{name}[{row}]"
    if status in _BOUND_STATUSES:
        _raise_for_bounds(status, lam, budget_value, *bounds, "" if row is None else f" in row {row}")
    if status == _status.LAM_NAN:
        bad = int(np.flatnonzero(np.isnan(lam))[0])
        raise ValueError(f"{where} must not contain NaN; got nan at index {bad}")
    if status == _status.LAM_NEGATIVE:
        bad = int(np.flatnonzero(lam < 0)[0])
        raise ValueError(f"{where} must be >= 0 (use +inf for an unavailable worker); got {float(lam[bad])!r} at index {bad}")
    if status == _status.NO_AVAILABLE_WORKER:
        if lam.shape[0] == 0:
            raise ValueError(f"{where} must have at least one worker when budget > 0; got an empty array and budget {budget_value}")
        raise ValueError(f"{where} must have an available worker (lam < inf) when budget > 0; got all +inf and budget {budget_value}")
    if status == _status.BUDGET_OUT_OF_RANGE:
        raise ValueError(f"budget must be an integer in [0, 2**53]; got {budget_value!r}")
    if status == _status.OUT_TOO_SHORT:
        raise ValueError(f"out must be at least as long as {where} ({lam.shape[0]} workers)")
    if status == _status.SCRATCH_TOO_SHORT:
        raise ValueError(f"scratch must hold ties >= n and heap >= n + 2 entries for {lam.shape[0]} workers "
                         "(fastata.jit.scratch(n) sizes them), and warm >= 3")
    if status == _status.LENGTHS_DIFFER:
        raise ValueError("means, m2, available and s must be as long as counts, and durations as long as workers")
    raise RuntimeError(f"kernel returned unknown status {status}")


_BOUND_STATUSES = frozenset({_status.MIN_NEGATIVE, _status.BOUNDS_CROSSED, _status.MIN_ON_UNAVAILABLE,
                             _status.MIN_OVER_BUDGET, _status.CAPACITY_SHORT})


def _raise_for_bounds(status, lam, budget_value, low, high, where):
    if status == _status.MIN_NEGATIVE:
        bad = int(np.flatnonzero(low < 0)[0])
        raise ValueError(f"min_tasks must be >= 0; got {int(low[bad])} for worker {bad}{where}")
    if status == _status.BOUNDS_CROSSED:
        bad = int(np.flatnonzero(low > high)[0])
        if high[bad] < 0:  # below every minimum: the maximum's own rule is the one broken
            raise ValueError(f"max_tasks must be >= 0; got {int(high[bad])} for worker {bad}{where}")
        if high[bad] >= MAX_BUDGET:  # no maximum that binds (max_tasks None): the minimums' sum is the rule
            raise ValueError(f"min_tasks must sum to at most budget ({budget_value}); got {int(low[bad])} for "
                             f"worker {bad}{where}")
        raise ValueError(f"min_tasks must be <= max_tasks for every worker; got min_tasks {int(low[bad])} > "
                         f"max_tasks {int(high[bad])} for worker {bad}{where}")
    if status == _status.MIN_ON_UNAVAILABLE:
        bad = int(np.flatnonzero((lam == np.inf) & (low > 0))[0])
        raise ValueError(f"min_tasks must be 0 for an unavailable worker (lam = +inf); got {int(low[bad])} "
                         f"for worker {bad}{where}")
    if status == _status.MIN_OVER_BUDGET:
        total = sum(int(v) for v in low)
        raise ValueError(f"min_tasks must sum to at most budget ({budget_value}); got a sum of {total}{where}")
    capacity = sum(min(int(v), budget_value) for v in high[lam < np.inf])
    raise ValueError(f"max_tasks of the available workers (lam < inf) must sum to at least budget "
                     f"({budget_value}); got a sum of {capacity}{where}")


def is_device_array(value):
    """Whether ``value`` lives on a GPU: numba device arrays (also the simulator's), CuPy, ..."""
    return hasattr(value, "__cuda_array_interface__") or hasattr(value, "__cuda_ndarray__")


def device_array(value, name, dtype, shape, like="lam"):
    """A C-contiguous GPU array of ``dtype`` and ``shape`` (a tuple whose entries are sizes,
    or names such as ``"n"`` for any size), checked from its metadata without copying it
    to the host."""
    if not is_device_array(value):
        raise TypeError(f"{name} must be a device array like {like}; got {_describe(value)}")
    interface = getattr(value, "__cuda_array_interface__", None)
    if interface is not None:
        got_dtype, got, strides = np.dtype(interface["typestr"]), tuple(interface["shape"]), interface.get("strides")
    else:  # the CUDA simulator's arrays carry numpy metadata instead
        got_dtype, got, strides = np.dtype(value.dtype), tuple(value.shape), tuple(value.strides)
    if got_dtype != dtype:
        raise TypeError(f"{name} must be a device array of {np.dtype(dtype)}; got dtype {got_dtype}")
    if len(got) != len(shape) or any(type(want) is int and want != size for want, size in zip(shape, got)):
        wanted = "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"
        raise ValueError(f"{name} must have shape {wanted}; got shape {got}")
    contiguous = tuple(int(np.prod(got[k + 1 :])) * got_dtype.itemsize for k in range(len(got)))
    if strides is not None and 0 not in got and any(size > 1 and s != c for s, c, size in zip(strides, contiguous, got)):
        raise ValueError(f"{name} must be C-contiguous on the device; got strides {tuple(strides)}")
    return value


def device_vector(value, name, dtype, n=None):
    """A contiguous 1-D GPU array of ``dtype`` (and length ``n`` if given)."""
    return device_array(value, name, dtype, ("n" if n is None else n,))


def device_budgets(value, m, name="budgets"):
    """Budgets for a batch on the device: a scalar, a host array, or a device array of int64
    (its ``m`` integers are read back once to check their range: 1/n of ``lam2d``'s size).

    Returns ``(host copy, device array or None)``; None: the caller uploads the host copy.
    """
    if is_device_array(value):
        device_array(value, name, np.int64, (m,), like="lam2d")
        return budgets(value.copy_to_host() if hasattr(value, "copy_to_host") else _to_host(value), m, name), value
    return budgets(value, m, name), None


def _to_host(value):
    from numba import cuda  # only reached with a GPU array in hand

    return cuda.as_cuda_array(value).copy_to_host()


def lost_over_capacity(lost, capacity):
    return (f"max_tasks leaves the workers that remain room for {capacity} more tasks this round; "
            f"{lost} were lost with their workers and cannot be placed")


def greedy_bounds():
    return ("min_tasks and max_tasks bound an adaptive executor's allocation; a greedy executor has none "
            "(every worker takes the next item until the round ends)")


def no_device_bounds(min_tasks, max_tasks):
    """Bounds come with host arrays only."""
    if min_tasks is not None or max_tasks is not None:
        raise TypeError("min_tasks and max_tasks are taken with host arrays only: pass lam as a numpy array "
                        "(the bounded allocation runs on one GPU thread), or allocate without bounds on the device")


def allocator_shape(shape, n):
    """The message for an ``Allocator`` called with the wrong number of workers."""
    return f"lam must have shape ({n},), the allocator's n_workers; got shape {shape}"


def allocator_in_use():
    """The error for an ``Allocator`` called while another thread's call on it is running."""
    return RuntimeError(
        "Allocator must not be called from two threads at once; got a call while another thread's call "
        "is running (the allocator's result array and scratch are shared: give each thread its own "
        "Allocator, or call fastata.allocate, which is thread-safe)"
    )


#: What a known backend that cannot be used here needs.
_BACKEND_NEEDS = {
    "cython": "'cython' is the compiled extension that `pip install` builds; this install has none",
    "numba": "'numba' needs numba to import",
    "cuda": "'cuda' needs numba-cuda (pip install \"fastata[cuda]\") and a CUDA GPU, or "
            "NUMBA_ENABLE_CUDASIM=1 set before numba is first imported (the simulator)",
}


def unknown_backend(name, available):
    """The error for a backend that does not exist or is not installed here."""
    needs = _BACKEND_NEEDS.get(name) if isinstance(name, str) else None
    return ValueError(
        f"backend must be 'auto' or one of the available backends {available}; got {name!r}"
        + (f" ({needs})" if needs else "")
    )


# --- Jitted callers (fastata.jit) -------------------------------------------------------
# Numba raises with constant messages only, so these name the parameter and the rule
# (and say which function) but cannot quote the value received.
JIT_MESSAGES = {
    "lam_nan": "lam must not contain NaN (fastata.jit)",
    "lam_negative": "lam must be >= 0, +inf for an unavailable worker (fastata.jit)",
    "no_available_worker": "lam must have an available worker (lam < inf) when budget > 0 (fastata.jit)",
    "budget_range": "budget must be in [0, 2**53] (fastata.jit)",
    "out_shape": "out must have the shape of lam (fastata.jit)",
    "scratch_size": "ties must have length >= n and heap length >= n + 2; use fastata.jit.scratch(n)",
    "worker_out_of_range": "workers must be in [0, n_workers) (fastata.jit.observe_into)",
    "duration_not_finite": "durations must be finite (fastata.jit.observe_into)",
    "duration_negative": "durations must be >= 0 (fastata.jit.observe_into)",
    "samples_shape": "workers and durations must have the same length (fastata.jit.observe_into)",
    "stats_shape": "counts, means, m2, available and s must all have length n_workers (fastata.jit)",
    "param_positive": "alpha and eta must be > 0 (fastata.jit)",
    "rounds_negative": "rounds must be >= 0 (fastata.jit)",
    "min_negative": "min_tasks must be >= 0 (fastata.jit)",
    "bounds_crossed": "min_tasks must be <= max_tasks for every worker (fastata.jit)",
    "min_on_unavailable": "min_tasks must be 0 for an unavailable worker, lam = +inf (fastata.jit)",
    "min_over_budget": "min_tasks must sum to at most budget (fastata.jit)",
    "capacity_short": "max_tasks of the available workers (lam < inf) must sum to at least budget (fastata.jit)",
    "bounds_shape": "min_tasks and max_tasks must have the shape of lam (fastata.jit)",
    "status_unknown": "status must be a code of fastata.jit (OK, LAM_NAN, ..., SCRATCH_TOO_SMALL) (fastata.jit.check_status)",
}
#: Types are checked when numba compiles the caller, so these can name what was received.
JIT_ARRAY_TYPE = "{name} must be a {writable}1-D {dtype} array (fastata.jit); got {got}"
JIT_INTEGER_TYPE = "{name} must be an integer (fastata.jit); got {got}"
JIT_REAL_TYPE = "{name} must be a real number (fastata.jit); got {got}"


def stale_jit_cache(compiled, installed):
    """The error for a user's jitted code loaded from numba's cache, compiled against another fastata."""
    return RuntimeError(
        f"compiled must be the installed fastata version {installed!r}; got {compiled!r}: your @njit(cache=True) "
        "code was loaded from numba's cache, compiled against another fastata (numba does not track the "
        "fastata code it compiled in). Delete your module's numba cache (the *.nbi and *.nbc files in its "
        "__pycache__ folder, or in NUMBA_CACHE_DIR), or compile with cache=False"
    )


# --- Policies (fastata.policies) -------------------------------------------------------

_INT64 = np.dtype(np.int64)
_INT64_MAX = np.iinfo(np.int64).max


def seeded_rng(seed, name="seed"):
    """``numpy.random.default_rng(seed)``, with numpy's refusal reworded to name ``seed``."""
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{name} must be None, a non-negative integer, a sequence of them or a numpy "
                        f"Generator; got {_describe(seed)}") from None


def _real_scalar(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number; got {_describe(value)}")
    return float(value)


def positive(value, name):
    """A finite real number ``> 0`` as a float (``alpha``, ``eta``, ``c``)."""
    x = _real_scalar(value, name)
    if not (0.0 < x < np.inf):
        raise ValueError(f"{name} must be finite and > 0; got {x!r}")
    return x


def discount(value, name="gamma"):
    """The discount ``gamma`` in ``(0, 1]`` as a float."""
    x = _real_scalar(value, name)
    if not (0.0 < x <= 1.0):
        raise ValueError(f"{name} must be in (0, 1]; got {x!r}")
    return x


#: The most workers a policy or a fleet can have: the most float64 values a numpy array holds.
MAX_WORKERS = np.iinfo(np.intp).max // 8


def count(value, name, minimum, maximum=None):
    """An integer in ``[minimum, maximum]`` as a Python int (``n_workers``, ``k``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer; got {_describe(value)}")
    value = operator.index(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum} (a numpy array holds at most {MAX_WORKERS} workers); got {value}")
    return value


def flag(value, name="flag"):
    """A boolean (``True``/``False`` or a numpy bool)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got {_describe(value)}")
    return bool(value)


def true_means(value, name="means"):
    """FTA's true mean times: 1-D, at least one worker, every entry finite and ``> 0``."""
    means = real_array(value, name, 1)
    if means.shape[0] == 0:
        raise ValueError(f"{name} must have at least one worker; got an empty array")
    bad = np.flatnonzero(~((means > 0) & (means < np.inf)))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name} must be finite and > 0; got {float(means[i])!r} at index {i}")
    return means.copy()  # the policy owns its copy; the caller's array is never kept


def worker_ids(value, name="workers", n=None):
    """Worker ids as a C-contiguous 1-D int64 array (range is checked by the kernels; ``n``,
    the number of workers where known, only words the error for ids past every int64)."""
    # The common case first, in the cheapest checks numpy offers (observe is on the hot path).
    if type(value) is np.ndarray and value.dtype is _INT64 and value.flags.c_contiguous:
        array = value
    else:
        array = _integer_array(value)  # [] is float64 to numpy; no ids is fine
        if array.dtype.kind == "O" and all(_integer(v) for v in array.flat):
            # Python integers past int64, which numpy keeps as objects: ids out of range.
            i = next((k for k, v in enumerate(array.flat) if not -_INT64_MAX - 1 <= v <= _INT64_MAX), -1)
            if i >= 0:
                raise ValueError(f"{name} must be in [0, {'n_workers' if n is None else n}); got {array.flat[i]} at "
                                 f"index {i}")
        if array.dtype.kind not in "iu":
            raise TypeError(f"{name} must be integer worker ids; got {_describe(value)}")
        if array.dtype.kind == "u" and array.size and array.max() > _INT64_MAX:
            i = int(np.argmax(array > _INT64_MAX))
            raise ValueError(f"{name} must be in [0, {'n_workers' if n is None else n}); got {array.flat[i].item()} "
                             f"at index {i}")
        array = np.ascontiguousarray(array, dtype=np.int64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D; got an array of shape {array.shape}")
    return array


def samples(workers, values, n, name="durations"):
    """``observe``'s (``observe_censored``'s: ``name="elapsed"``) two arrays, as
    :func:`worker_ids` and :func:`real_array` take them, paired element by element (the ids'
    range and the values are the kernels' to check). Arrays already in those forms pass in
    one call: observe is on the hot path."""
    if (type(workers) is _NDARRAY and type(values) is _NDARRAY and workers.dtype is _INT64
            and values.dtype is _FLOAT64 and workers.ndim == 1 and values.shape == workers.shape
            and workers.flags.c_contiguous and values.flags.c_contiguous):  # fmt: skip
        return workers, values
    workers = worker_ids(workers, n=n)
    values = real_array(values, name, 1)
    if workers.shape[0] != values.shape[0]:
        raise ValueError(f"workers and {name} must have the same length; got {workers.shape[0]} and {values.shape[0]}")
    return workers, values


def censored_values(elapsed, name="elapsed"):
    """``observe_censored``'s lower bounds: finite and ``>= 0`` (checked before anything changes)."""
    bad = np.flatnonzero(~np.isfinite(elapsed))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name} must be finite; got {float(elapsed[i])!r} at index {i}")
    bad = np.flatnonzero(elapsed < 0)
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name} must be >= 0; got {float(elapsed[i])!r} at index {i}")


def explore_share(value, name="explore_share"):
    """The share of a round the unexplored workers may take, in ``(0, 1]``, as a float."""
    x = _real_scalar(value, name)
    if not (0.0 < x <= 1.0):
        raise ValueError(f"{name} must be in (0, 1]; got {x!r}")
    return x


def worker_range(workers, n, name="workers"):
    """Raise for an id outside ``[0, n)`` (for calls that no kernel scans)."""
    bad = np.flatnonzero((workers < 0) | (workers >= n))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name} must be in [0, {n}); got {workers[i].item()} at index {i}")


def raise_for_observe(status, workers, durations, n):
    """Turn an ``observe`` kernel's status code into the ``ValueError`` a user reads."""
    if status == _status.WORKER_OUT_OF_RANGE:
        worker_range(workers, n)
    if status == _status.DURATION_NOT_FINITE:
        i = int(np.flatnonzero(~np.isfinite(durations))[0])
        raise ValueError(f"durations must be finite; got {float(durations[i])!r} at index {i}")
    if status == _status.DURATION_NEGATIVE:
        i = int(np.flatnonzero(durations < 0)[0])
        raise ValueError(f"durations must be >= 0; got {float(durations[i])!r} at index {i}")
    raise RuntimeError(f"kernel returned unknown status {status}")


def no_available_worker(budget_value):
    """The error for a round with tasks but no available worker."""
    return ValueError(
        f"available must hold at least one worker when budget > 0; got none available and budget {budget_value}"
    )


def state_file(path, problem):
    """The error for a file that ``fastata.load`` cannot read as a policy state."""
    return ValueError(f"path must be a fastata policy file; got {str(path)!r}: {problem}")


# --- Simulator (fastata.sim) -------------------------------------------------------------


def parameter_array(value, name, n):
    """A distribution parameter: a real scalar (shared) or one entry per worker, as float64 ``(n,)``."""
    ndim = np.ndim(value)
    if ndim == 0:
        return np.full(n, _real_scalar(value, name))
    if ndim > 1:
        raise ValueError(f"{name} must be a scalar or 1-D; got an array of shape {np.shape(value)}")
    array = real_array(value, name, 1)
    if array.shape[0] != n:
        raise ValueError(f"{name} must be a scalar or have one entry per worker, {n}; got {array.shape[0]}")
    return array.copy()


def _first_bad(array, good, name, rule):
    bad = np.flatnonzero(~good)
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name} must be {rule}; got {float(array[i])!r} at index {i}")


def positive_entries(array, name):
    """Every entry finite and ``> 0``."""
    _first_bad(array, (array > 0) & (array < np.inf), name, "finite and > 0")


def nonnegative_entries(array, name):
    """Every entry finite and ``>= 0``."""
    _first_bad(array, (array >= 0) & (array < np.inf), name, "finite and >= 0")


def entries_above(array, name, bound):
    """Every entry finite and ``> bound``."""
    _first_bad(array, (array > bound) & (array < np.inf), name, f"finite and > {bound:g}")


def nonnegative(value, name):
    """A finite real number ``>= 0`` as a float."""
    x = _real_scalar(value, name)
    if not (0.0 <= x < np.inf):
        raise ValueError(f"{name} must be finite and >= 0; got {x!r}")
    return x


def above(value, name, bound):
    """A finite real number ``> bound`` as a float."""
    x = _real_scalar(value, name)
    if not (bound < x < np.inf):
        raise ValueError(f"{name} must be finite and > {bound:g}; got {x!r}")
    return x


def choice(value, name, options):
    """One of ``options`` (strings)."""
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}")
    return value


def seed(value, name="seed"):
    """A seed for numpy's ``SeedSequence``: an integer ``>= 0`` or a ``SeedSequence``."""
    if isinstance(value, np.random.SeedSequence):
        return value
    return np.random.SeedSequence(count(value, name, 0))


def trace_records(column, worker):
    """One worker's recorded task times: at least one, finite, ``>= 0``, positive mean."""
    name = f"durations of worker {worker}"
    if column.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one record; got none")
    nonnegative_entries(column, name)
    if not column.mean() > 0:
        raise ValueError(f"{name} must have a positive mean; got all zeros")
    return np.ascontiguousarray(column, dtype=np.float64)


def trace_file(path, problem):
    """The error for a file that ``fastata.sim.Trace.load`` cannot read."""
    return ValueError(f"path must be a trace file (.npy, or .csv as worker,duration rows or one column per worker); got {str(path)!r}: {problem}")


def same_workers(policy_n, fleet_n):
    """A policy and the simulated workers must agree on the number of workers."""
    if policy_n != fleet_n:
        raise ValueError(f"policy must have one worker per simulated worker, {fleet_n}; got n_workers={policy_n}")


def round_items(value, name="items"):
    """A round's items (one task each) as a list: any sized iterable, not a string or mapping."""
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__") or not hasattr(value, "__len__"):
        raise TypeError(f"{name} must be a sequence (one task per item); got {_describe(value)}")
    return list(value)


def round_timeout(value, name="timeout"):
    """A round's time limit: ``None`` (none) or a finite number of seconds ``> 0``."""
    return None if value is None else positive(value, name)


def task_function(value, name="fn"):
    """The function a round runs on every item."""
    if not callable(value):
        raise TypeError(f"{name} must be callable; got {_describe(value)}")
    return value


def policy_bounds(value, n, used, name):
    """What a confidence-bound subclass's ``bounds`` returned: ``n`` reals, ``>= 0`` and not NaN where ``used``."""
    try:
        array = None if value is None else np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        array = None
    if array is None:
        raise TypeError(f"{name} must return an array of {n} real numbers; got {_describe(value)}")
    if array.shape != (n,):
        raise ValueError(f"{name} must return an array of shape ({n},); got shape {array.shape}")
    bad = np.flatnonzero(used & ~(array >= 0.0))  # NaN fails the comparison too
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name} must return bounds >= 0 (not NaN) for every explored, available worker; "
                         f"got {float(array[i])!r} for worker {i}")  # fmt: skip
    return array


def no_finite_bound(name, budget_value):
    """The error for a round whose bounds put every available worker at ``+inf``."""
    return ValueError(f"{name} must leave an available worker a finite bound when budget > 0; got +inf for every "
                      f"available worker and budget {budget_value}")


def no_tasks_when_unavailable(a, available, name="policy.allocate()"):
    """A round's allocation gives nothing to a worker marked unavailable (``set_available(ids, False)``)."""
    bad = np.flatnonzero((a > 0) & ~available)
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name} must give no task to an unavailable worker; got {int(a[i])} for worker {i}")


def same_budget(value, budget_, name="policy.budget"):
    """A policy object run beside others must allocate the same number of tasks a round."""
    if value != budget_:
        raise ValueError(f"{name} must equal the run's budget, {budget_}; got {value!r}")


def fixed_policy_workers(policy_n, connected_n):
    """A policy that cannot grow (FTA, which needs a true mean per worker, or one without ``add_workers``)."""
    if policy_n < connected_n:
        raise ValueError(f"policy must have one worker per connected worker, {connected_n} (FTA cannot add "
                         f"workers: it knows no mean for them; nor can a policy without add_workers); "
                         f"got n_workers={policy_n}")  # fmt: skip


#: What every policy has (fastata.policies.protocol.REQUIRED; repeated here to keep this module light).
POLICY_PROTOCOL = ("n_workers", "budget", "allocate", "observe", "set_available")


def policy_protocol(value, name="policy", members=POLICY_PROTOCOL):
    """A policy instance (not a class, not a name) with every required member of the policy protocol."""
    if isinstance(value, type):
        raise TypeError(f"{name} must be a policy instance, not the class {value.__name__}: create one, "
                        f"e.g. fastata.ATAEmpirical(n_workers, budget, eta=0.2); got {_describe(value)}")  # fmt: skip
    missing = [attr for attr in members if not hasattr(value, attr)]
    if missing:
        raise TypeError(f"{name} must be a policy: a fastata policy or an object with {', '.join(members)} "
                        f"(see fastata.policies.AllocationPolicy); got {_describe(value)}, which lacks "
                        f"{', '.join(missing)}")  # fmt: skip
    for attr in ("allocate", "observe", "set_available"):
        if not callable(getattr(value, attr)):
            raise TypeError(f"{name}.{attr} must be callable (the policy protocol); got {_describe(getattr(value, attr))}")
    count(value.n_workers, f"{name}.n_workers", 1)
    if "budget" in members:
        budget(value.budget, f"{name}.budget")
    return value


def executor_policy(value, name="policy"):
    """An executor's policy: the protocol less ``budget`` (each round's budget is its number of items)."""
    return policy_protocol(value, name, tuple(m for m in POLICY_PROTOCOL if m != "budget"))


def policy_allocation(a, n, budget_, name="policy.allocate()"):
    """What a policy that is not a fastata policy returned for a round: n non-negative integers summing to the budget."""
    if not isinstance(a, np.ndarray) or a.ndim != 1 or a.shape[0] != n or a.dtype.kind not in "iu":
        raise ValueError(f"{name} must return an integer array of shape ({n},); got {_describe(a)}")
    if (a < 0).any():
        i = int(np.flatnonzero(a < 0)[0])
        raise ValueError(f"{name} must return counts >= 0; got {int(a[i])} at index {i}")
    total = int(a.sum())
    if total != budget_:
        raise ValueError(f"{name} must hand out exactly the round's budget, {budget_} tasks; got {total}")
    return a


def dask_client(value, client_type, name="client"):
    """A ``distributed.Client`` (the class is passed in: this module does not import distributed)."""
    if not isinstance(value, client_type):
        raise TypeError(f"{name} must be a distributed.Client; got {_describe(value)}")
    return value


def ray_actors(value, actor_type, method, name="workers"):
    """A list of distinct Ray actor handles that expose ``method`` (the class is passed in: this module does not import ray)."""
    if isinstance(value, actor_type) or isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be a list of Ray actor handles; got {_describe(value)}")
    actors = list(value)
    seen = set()
    for k, actor in enumerate(actors):
        if not isinstance(actor, actor_type):
            raise TypeError(f"{name} must be a list of Ray actor handles; got {_describe(actor)} at position {k}")
        if not hasattr(actor, method):
            raise TypeError(f"{name} must be actors with a {method}(fn, item) method (subclass fastata.ray.Worker, "
                            f"or use fastata.ray.start_workers); the actor at position {k} has none")  # fmt: skip
        actor_id = actor._actor_id.hex()
        if actor_id in seen:
            raise ValueError(f"{name} must not list an actor twice; got actor {actor_id} again at position {k}")
        seen.add(actor_id)
    return actors

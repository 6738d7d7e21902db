"""Which kernels run: the registry, the availability probe and the ``"auto"`` rule.

The auto rule, in one line each:

* a single problem (``allocate``, ``Allocator``) and the policies: ``cython`` (no JIT
  to load, and its passes over the workers are AVX-512 or AVX2 code picked at run time:
  as fast as numba's AVX-512 code at 4096 workers, 1.5x faster at 65536, 3x faster
  where the CPU has only AVX2), else ``numba``, else ``python``;
* a batch (``allocate_batch``): ``numba`` (``prange`` over problems on every core),
  else ``cython``, else ``python``.

``cuda`` is never chosen by ``"auto"``: copying to and from the GPU costs more than
it saves unless the caller asks for it. Backends are imported lazily, so
``import fastata`` compiles and loads nothing.
"""

import importlib

import numpy as np

from . import _validate

NAMES = ("python", "numba", "cython", "cuda")
_MODULES = {
    "python": "fastata.kernels.reference",
    "numba": "fastata.kernels.numba_cpu",
    "cython": "fastata.kernels.cython_cpu",
    "cuda": "fastata.kernels.cuda",
}
_AUTO = {
    "single": ("cython", "numba", "python"),
    "batch": ("numba", "cython", "python"),
}
_loaded = {}  # name -> module, or None where it cannot be used here
_auto = {}  # kind -> (name, module): the auto choice, made once (it sits on the hot path)


def _load(name):
    if name not in _loaded:
        try:
            module = importlib.import_module(_MODULES[name])
        except ImportError:
            module = None
        if module is not None and name == "cuda" and not module.is_available():
            module = None
        _loaded[name] = module
    return _loaded[name]


def get_include():
    """The folder to put on Cython's include path to ``cimport fastata.kernels.cython_cpu``.

    It holds ``fastata/kernels/cython_cpu.pxd``: the installed package's parent folder,
    or, for a checkout installed with ``pip install -e .`` (whose kernels live in
    ``kernels/`` beside ``fastata/``), the ``build/cython-include`` folder its build wrote.

    Examples
    --------
    >>> import fastata as fa
    >>> from pathlib import Path
    >>> (Path(fa.get_include()) / "fastata" / "kernels" / "cython_cpu.pxd").is_file()
    True
    """
    from pathlib import Path

    package = Path(__file__).resolve().parent
    pxd = Path("fastata", "kernels", "cython_cpu.pxd")
    for folder in (package.parent, package.parent / "build" / "cython-include"):
        if (folder / pxd).is_file():
            return str(folder)
    raise FileNotFoundError(
        f"fastata's Cython declarations ({pxd}) are neither beside the package in "
        f"{package.parent} nor in the checkout's build folder: reinstall fastata "
        "('pip install .', or 'pip install -e .' for a checkout)"
    )


def available_backends():
    """Names of the backends usable on this machine, e.g. ``('python', 'numba', 'cython')``.

    ``'cuda'`` is listed only where a CUDA GPU or the CUDA simulator
    (``NUMBA_ENABLE_CUDASIM=1``) is present.

    Examples
    --------
    >>> import fastata as fa
    >>> fa.available_backends()[0]        # the reference implementation is always there
    'python'
    >>> "numba" in fa.available_backends()  # numba is a dependency of fastata
    True
    """
    return tuple(name for name in NAMES if _load(name) is not None)


def resolve(backend, kind="single"):
    """``(name, kernel module)`` for a backend name or ``"auto"``; ``kind`` is ``"single"``
    or ``"batch"``."""
    if backend == "auto":
        if kind in _auto:
            return _auto[kind]
        for name in _AUTO[kind]:
            module = _load(name)
            if module is not None:
                _auto[kind] = name, module
                return name, module
    elif backend in _MODULES:
        module = _load(backend)
        if module is not None:
            return backend, module
    raise _validate.unknown_backend(backend, available_backends())


def scratch(kernels, ties, heap, warm=None):
    """``kernels``' allocation with its scratch (and warm start) kept between calls: an object
    with ``allocate(lam, budget, out)`` and ``allocate_bounded(lam, budget, min_tasks,
    max_tasks, out, shared=False)``, each returning a status code. ``warm=None``: every call
    starts cold. ``shared``: each bound holds one value for every worker
    (:func:`fastata._validate.task_bounds_shared`): the Cython kernels take it as a hint,
    numba's the two values instead of the arrays (a kernel compiled for them), and both
    read the minimum as the available workers' (``minimum_of_available``); the python and
    cuda backends read the arrays.

    For the calls that pass the same scratch every time (``Allocator``, the policies). The
    Cython backend's acquires the kept arrays once: a ``def`` function acquires every array
    it is given, about 90 ns apiece, a fifth of an allocation at 51 workers."""
    kept = getattr(kernels, "Scratch", None)
    return kept(ties, heap, warm) if kept is not None else _Scratch(kernels, ties, heap, warm)


def first_bounds(scratch, min_tasks, max_tasks, lam):
    """The bounds :func:`allocate_bounded` first gives ``scratch``, validated
    (``_validate.task_bounds_shared``): a single ``min_tasks`` as that number where the
    kernels read a minimum given as a number as the available workers'
    (``scratch.minimum_of_available``), else taken as every worker's."""
    return _validate.task_bounds_shared(min_tasks, max_tasks, lam, assume_available=True,
                                        of_available=scratch.minimum_of_available)


def allocate_bounded(scratch, lam, budget, min_tasks, max_tasks, out, first=None, bound_may_be_out=False):
    """``scratch.allocate_bounded`` (a :func:`scratch`) with the bounds as given, validated:
    ``(status, (low, high))``, the arrays the status is about.

    A single ``min_tasks`` goes to the kernel without a pass over ``lam`` for unavailable
    workers (:func:`first_bounds`). Kernels that read a minimum given as a number as the
    available workers' answer for it as it is; the others take it as every worker's, and
    where the kernel refuses that, which it does before writing anything, the call is made
    again with the minimum left off the unavailable workers, and its status stands. Either
    way a refusal names the minimums left off them.
    ``first``: that first :func:`first_bounds` answer, where the caller has it already.
    ``bound_may_be_out``: a bound array may be ``out`` itself (an Allocator's last result),
    which the kernel overwrites: it is read from a copy.
    """
    reads_out = out if bound_may_be_out else None
    low, high, shared = first or first_bounds(scratch, min_tasks, max_tasks, lam)
    if reads_out is not None:
        low, high = _copied(low, high, min_tasks, max_tasks, reads_out)
    status = scratch.allocate_bounded(lam, budget, low, high, out, shared)
    if not status or not _validate.single_minimum(min_tasks, lam):
        return status, (low, high)
    # A single minimum, which the status and its message are about as the available workers':
    # read so by the kernel (its status stands), or taken as every worker's (asked again, unless
    # a look at lam made it so already).
    again = _validate.minimum_assumed(min_tasks, lam) and not (shared and scratch.minimum_of_available)
    low, high, shared = _validate.task_bounds_shared(min_tasks, max_tasks, lam)
    if reads_out is not None:
        low, high = _copied(low, high, min_tasks, max_tasks, reads_out)
    if again:
        status = scratch.allocate_bounded(lam, budget, low, high, out, shared)
    return status, (low, high)


def _copied(low, high, min_tasks, max_tasks, out):
    """``(low, high)``, a bound array that is ``out`` copied."""
    if (isinstance(min_tasks, np.ndarray) and np.shares_memory(low, out)
            or isinstance(max_tasks, np.ndarray) and np.shares_memory(high, out)):
        return low.copy(), high.copy()
    return low, high


def statistics(kernels, counts, means, m2, available, s, ties, heap, warm):
    """A policy's kernels with its statistics, availability, bounds and scratch kept (as
    :func:`scratch`): ``observe(workers, durations)`` and ``round(variant, weight, log_term,
    gamma, budget, out)`` (bounds, warm-started allocation and discount), each returning a
    status code."""
    kept = getattr(kernels, "Statistics", None)
    arrays = counts, means, m2, available, s, ties, heap, warm
    return kept(*arrays) if kept is not None else _Statistics(kernels, *arrays)


class _Scratch:
    """:func:`scratch` for the backends that take arrays as they are (numba, python, cuda)."""

    def __init__(self, kernels, ties, heap, warm):
        self._kernels, self._ties, self._heap, self._warm = kernels, ties, heap, warm
        self._numbers = getattr(kernels, "TAKES_BOUNDS_AS_NUMBERS", False)
        self.minimum_of_available = self._numbers  # numba's kernel for numbers: threshold.minimum_of

    def allocate(self, lam, budget, out):
        if self._warm is None:
            return self._kernels.allocate_into(lam, budget, out, self._ties, self._heap)
        return self._kernels.allocate_warm_into(lam, budget, out, self._ties, self._heap, self._warm)

    def allocate_bounded(self, lam, budget, min_tasks, max_tasks, out, shared=False):
        if shared and self._numbers and lam.shape[0]:  # numba's kernel for two int64s
            min_tasks, max_tasks = int(min_tasks[0]), int(max_tasks[0])
        if self._warm is None:
            return self._kernels.allocate_bounded_into(lam, budget, min_tasks, max_tasks, out, self._ties, self._heap)
        return self._kernels.allocate_bounded_warm_into(lam, budget, min_tasks, max_tasks, out, self._ties,
                                                        self._heap, self._warm)  # fmt: skip


class _Statistics:
    """:func:`statistics` for the backends that take arrays as they are (numba, python, cuda)."""

    def __init__(self, kernels, counts, means, m2, available, s, ties, heap, warm):
        self._kernels = kernels
        self._arrays = counts, means, m2, available, s, ties, heap, warm

    def observe(self, workers, durations):
        counts, means, m2 = self._arrays[:3]
        return self._kernels.observe_into(workers, durations, counts, means, m2)

    def round(self, variant, weight, log_term, gamma, budget, out):
        counts, means, m2, available, s, ties, heap, warm = self._arrays
        return self._kernels.policy_round_warm(counts, means, m2, available, variant, weight, log_term, gamma,
                                               budget, s, out, ties, heap, warm)  # fmt: skip

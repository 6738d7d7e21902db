"""fastata's compute kernels, one module per backend (installed as ``fastata.kernels``).

``reference`` (plain Python, the oracle), ``numba_cpu`` and ``cuda`` (sharing the exact
algorithm in ``threshold``), ``cython_cpu`` (compiled ahead of time). Kernels take
contiguous inputs of the right dtype, write into caller-provided arrays and return a
status code (``status``); they never allocate their outputs or word an error.
Importing this package imports no backend.
"""

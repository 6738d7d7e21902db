"""The one case table, shared with ``fastata bench`` (it lives in ``fastata._bench``)."""

import os

from fastata import _bench, available_backends
from fastata._bench import BATCH, CASES, baselines, case_bound_numbers, case_bounds, floor_call, make_lam  # noqa: F401

#: Backends timed per case: the compiled CPU ones, plus cuda where a real GPU is present.
BACKENDS = _bench.compiled_backends() + (
    ("cuda",) if "cuda" in available_backends() and os.environ.get("NUMBA_ENABLE_CUDASIM") != "1" else ()
)


def case_id(n, budget, distribution=None):
    return f"n={n}-budget={budget}" + (f"-{distribution}" if distribution else "")

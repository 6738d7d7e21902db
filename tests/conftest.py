"""Shared fixtures: every kernel test runs on every backend available here.

The CUDA backend runs under numba's CUDA simulator unless the caller chose
otherwise (``NUMBA_ENABLE_CUDASIM=0`` on a machine with a GPU); the variable must be
set before numba is first imported, hence here, at the top.
"""

import os

os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
# The checkout is kept off sys.path by ../conftest.py: tests import the installed package.

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

import fastata as fa  # noqa: E402
from fastata import _backends  # noqa: E402

settings.register_profile(
    "fastata", deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
settings.load_profile("fastata")

BACKENDS = fa.available_backends()
#: Backends that solve a problem in O(n + d log n), whatever the budget.
FAST_BACKENDS = tuple(b for b in BACKENDS if b != "python")


def _marks(name):
    return [pytest.mark.cuda] if name == "cuda" else []


@pytest.fixture(params=[pytest.param(b, marks=_marks(b)) for b in BACKENDS])
def backend(request):
    """Every available backend, the reference ``python`` one included."""
    return request.param


@pytest.fixture(params=[pytest.param(b, marks=_marks(b)) for b in FAST_BACKENDS])
def fast_backend(request):
    """Every available backend whose cost does not grow with the budget."""
    return request.param


@pytest.fixture(autouse=True)
def _fresh_backend_registry():
    """Tests that fake a missing backend must not leak into the next test."""
    saved = dict(_backends._loaded)
    _backends._auto.clear()
    yield
    _backends._loaded.clear()
    _backends._loaded.update(saved)
    _backends._auto.clear()


@pytest.fixture
def general_path(monkeypatch):
    """The plain-Python kernel (``_bench.counting_passes``) without the selection of one key a
    worker (bounds of one task of room a worker, or a budget below the workers without
    bounds) and without the table of a few distinct times, for tests of the general path's
    passes over such inputs (the compiled kernels keep both: their constants are fixed when
    they compile). Its value: the workers from which the compiled kernels take that
    selection."""
    from fastata.kernels import threshold

    compiled_from = threshold.UNIT_SLACK_FROM
    monkeypatch.setattr(threshold, "UNIT_SLACK_FROM", 2**62)
    monkeypatch.setattr(threshold, "FEW_TIMES_FROM", 2**62)
    return compiled_from

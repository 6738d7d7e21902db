"""The backend registry: availability, the documented "auto" rule, clear errors."""

import os
import pathlib
import re
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import fastata as fa
from fastata import _backends
from fastata.kernels import status, threshold


def _disable(name):
    """Pretend a backend is not installed (the autouse fixture in conftest restores it)."""
    _backends._loaded[name] = None
    _backends._auto.clear()


def test_every_backend_is_available_in_the_test_environment():
    """CI installs the test and cuda extras and runs the simulator: nothing may be silently skipped."""
    assert fa.available_backends() == ("python", "numba", "cython", "cuda")


def test_auto_rule_single_prefers_cython_then_numba_then_python():
    assert _backends.resolve("auto", "single")[0] == "cython"
    _disable("cython")
    assert _backends.resolve("auto", "single")[0] == "numba"
    _disable("numba")
    assert _backends.resolve("auto", "single")[0] == "python"
    assert fa.allocate([1.0, 2.0], 3).tolist() == [2, 1]


def test_allocate_and_allocator_use_the_single_rule_at_every_size(monkeypatch):
    seen = []
    resolve = _backends.resolve
    monkeypatch.setattr(_backends, "resolve", lambda backend, kind="single": seen.append(kind) or resolve(backend, kind))
    for n in (1, 255, 256, 5000):
        fa.allocate(np.ones(n), 3)
        assert fa.Allocator(n).backend == "cython"
    assert seen == ["single"] * 8


def test_auto_rule_batch_prefers_numba_then_cython_then_python():
    assert _backends.resolve("auto", "batch")[0] == "numba"
    _disable("numba")
    assert _backends.resolve("auto", "batch")[0] == "cython"
    _disable("cython")
    assert _backends.resolve("auto", "batch")[0] == "python"


def test_auto_never_picks_cuda():
    for name in ("cython", "numba"):
        _disable(name)
    assert _backends.resolve("auto", "single")[0] == "python"


@pytest.mark.parametrize("name", ["gpu", "Numba", "", None])
def test_unknown_backend_lists_the_available_ones(name):
    with pytest.raises(ValueError, match=r"backend must be 'auto' or one of the available backends \('python', 'numba'"):
        fa.allocate([1.0], 1, backend=name)


def test_unavailable_backend_named_explicitly():
    _disable("cython")
    with pytest.raises(ValueError, match=r"available backends \('python', 'numba', 'cuda'\); got 'cython' "
                                         r"\('cython' is the compiled extension that `pip install` builds"):
        fa.allocate([1.0], 1, backend="cython")
    assert "cython" not in fa.available_backends()


def test_unavailable_cuda_says_what_it_needs():
    _disable("cuda")
    with pytest.raises(ValueError, match=r"got 'cuda' \('cuda' needs numba-cuda \(pip install \"fastata\[cuda\]\"\) "
                                         r"and a CUDA GPU, or NUMBA_ENABLE_CUDASIM=1"):
        fa.allocate_batch([[1.0]], 1, backend="cuda")


def test_cython_status_codes_mirror_status_py():
    from fastata.kernels import cython_cpu

    assert cython_cpu.status_codes() == {
        "OK": status.OK,
        "LAM_NAN": status.LAM_NAN,
        "LAM_NEGATIVE": status.LAM_NEGATIVE,
        "NO_AVAILABLE_WORKER": status.NO_AVAILABLE_WORKER,
        "BUDGET_OUT_OF_RANGE": status.BUDGET_OUT_OF_RANGE,
        "OUT_TOO_SHORT": status.OUT_TOO_SHORT,
        "SCRATCH_TOO_SHORT": status.SCRATCH_TOO_SHORT,
        "LENGTHS_DIFFER": status.LENGTHS_DIFFER,
        "MIN_NEGATIVE": status.MIN_NEGATIVE,
        "BOUNDS_CROSSED": status.BOUNDS_CROSSED,
        "MIN_ON_UNAVAILABLE": status.MIN_ON_UNAVAILABLE,
        "MIN_OVER_BUDGET": status.MIN_OVER_BUDGET,
        "CAPACITY_SHORT": status.CAPACITY_SHORT,
    }


def _run_python(code, **env):
    environment = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    environment.update(env)
    # From a neutral folder: in the checkout, "import fastata" would find the source tree.
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment,
                          check=True, cwd=tempfile.gettempdir()).stdout


def test_import_compiles_and_loads_no_backend():
    out = _run_python("import sys, fastata; print(sorted(m for m in ('numba', 'fastata.kernels.cython_cpu') if m in sys.modules))")
    assert out.strip() == "[]"


def test_cuda_is_listed_only_with_a_gpu_or_the_simulator():
    code = "import fastata; print(fastata.available_backends())"
    assert "'cuda'" in _run_python(code, NUMBA_ENABLE_CUDASIM="1")
    # This test machine has no GPU; where one is lent, "cuda" appears either way.
    without = _run_python(code, NUMBA_ENABLE_CUDASIM="0")
    assert "'python', 'numba', 'cython'" in without


def test_numba_kernels_are_cached_on_disk():
    from fastata.kernels import numba_cpu

    for kernel in (numba_cpu.allocate_into, numba_cpu.allocate_batch_into):
        assert kernel.targetoptions.get("cache") or kernel._cache.__class__.__name__ != "NullCache"
    numba_cpu.allocate_into(np.ones(2), 1, np.zeros(2, np.int64), np.zeros(2, np.int64), np.zeros(4))
    assert numba_cpu.allocate_into._cache.__class__.__name__ == "FunctionCache"


def _llvm_attributes(dispatcher):
    """``{function name: its attribute group's text}`` of a compiled numba function's LLVM IR."""
    ir = "".join(dispatcher.inspect_llvm().values())
    groups = dict(re.findall(r"^attributes (#\d+) = \{(.*)\}$", ir, re.M))
    return {name: groups.get(group, "") for name, group in re.findall(r"^define .*?@(\S+?)\(.*?\) .*?(#\d+)", ir, re.M)}


def test_numba_passes_ask_for_the_widest_vectors():
    """The counting passes carry LLVM's prefer-vector-width=512 (threshold.wide_vectors: on
    AVX-512 CPUs whose tuning prefers 256 bits), as functions of their own; code that does
    not ask keeps the default."""
    import numba

    from fastata.kernels import numba_cpu  # noqa: F401  (compiles wide_vectors as the attribute)

    @numba.njit(error_model="numpy")
    def count(lam, inv, counts):
        return threshold.count_into(lam, inv, 2.0, 10, counts, None, None)

    @numba.njit(error_model="numpy")
    def plain_sum(lam):
        total = 0.0
        for i in range(lam.shape[0]):
            total += lam[i]
        return total

    count(np.ones(4), np.ones(4), np.empty(4, np.int64))
    plain_sum(np.ones(4))
    passes = {name: attrs for name, attrs in _llvm_attributes(count).items() if "count_into" in name}
    # A function of its own (noinline): inlined, it would take its caller's preference.
    assert passes and all('"prefer-vector-width"="512"' in attrs and "noinline" in attrs for attrs in passes.values())
    assert not any("prefer-vector-width" in attrs for attrs in _llvm_attributes(plain_sum).values())


def test_cython_c_api_refuses_broken_preconditions_and_writes_nothing():
    """The .pxd's kernels check lengths and the budget in O(1) before touching anything."""
    cython_cpu = pytest.importorskip("fastata.kernels.cython_cpu")
    lam = np.array([1.0, 2.0, 4.0])
    ties, heap = np.empty(3, np.int64), np.empty(5)

    def run(budget=7, out_len=3, ties_len=3, heap_len=5, warm_len=None):
        out = np.full(out_len, -9, dtype=np.int64)
        args = (lam, budget, out, np.empty(ties_len, np.int64), np.empty(heap_len))
        if warm_len is None:
            code = cython_cpu.allocate_into(*args)
        else:
            code = cython_cpu.allocate_warm_into(*args, np.zeros(warm_len))
        return code, out

    assert run()[0] == status.OK
    for kwargs, code in [
        (dict(budget=-5), status.BUDGET_OUT_OF_RANGE),
        (dict(budget=2**53 + 1), status.BUDGET_OUT_OF_RANGE),
        (dict(out_len=2), status.OUT_TOO_SHORT),
        (dict(ties_len=2), status.SCRATCH_TOO_SHORT),
        (dict(heap_len=4), status.SCRATCH_TOO_SHORT),
        (dict(warm_len=2), status.SCRATCH_TOO_SHORT),
    ]:
        got, out = run(**kwargs)
        assert got == code, kwargs
        assert (out == -9).all(), kwargs  # nothing written
    n = 4
    counts, means, m2, s = np.ones(n), np.ones(n), np.zeros(n), np.empty(n)
    available = np.ones(n, dtype=np.uint8)
    out, ties, heap = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n + 2)
    assert cython_cpu.policy_round(counts, means[:3], m2, available, 1, 1.0, 1.0, 1.0, 4, s, out, ties, heap) == status.LENGTHS_DIFFER
    assert cython_cpu.policy_round(counts, means, m2[:3], available, 1, 1.0, 1.0, 1.0, 4, s, out, ties, heap) == status.LENGTHS_DIFFER
    assert cython_cpu.observe_into(np.array([0, 1]), np.array([1.0]), counts, means, m2) == status.LENGTHS_DIFFER
    np.testing.assert_array_equal(counts, 1.0)  # nothing observed


@pytest.mark.parametrize("code", [status.BUDGET_OUT_OF_RANGE, status.OUT_TOO_SHORT, status.SCRATCH_TOO_SHORT, status.LENGTHS_DIFFER])
def test_precondition_codes_have_messages(code):
    from fastata import _validate

    with pytest.raises(ValueError, match="must"):
        _validate.raise_for_status(code, np.ones(3), -5)


def test_importing_the_source_tree_without_its_kernels_says_what_to_do(tmp_path):
    # From the root of a checkout, "import fastata" finds the source folder fastata/ before
    # the installed package; that folder has no kernels (the install maps kernels/ to
    # fastata.kernels). The error says so, instead of "No module named 'fastata.kernels'".
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    source = Path(__file__).resolve().parents[1] / "fastata"
    shutil.copytree(source, tmp_path / "fastata", ignore=shutil.ignore_patterns("kernels", "__pycache__"))
    # -S: site-packages only as a plain path (for numpy), so an editable install's finder,
    # which its .pth file would load and which maps fastata.kernels to the checkout's
    # kernels/, is not there; the folder itself comes first on sys.path, as in a checkout.
    import os

    env = dict(os.environ, PYTHONPATH=str(Path(np.__file__).resolve().parents[1]))
    done = subprocess.run([sys.executable, "-S", "-c", "import fastata"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env=env)
    assert done.returncode != 0
    assert "a source checkout without its kernels" in done.stderr and "pip install -e ." in done.stderr


def test_the_cython_kernel_takes_the_shared_algorithm_s_constants():
    # kernels/cython_cpu.pyx mirrors kernels/threshold.py step for step, with its tuning
    # constants copied as C values: each must equal the shared algorithm's, or the Cython
    # backend takes other steps (its allocation stays exact, its passes do not).
    source = (pathlib.Path(__file__).parents[1] / "kernels" / "cython_cpu.pyx").read_text()
    found = re.findall(r"^cdef (?:double|int|int64_t|Py_ssize_t) ([A-Z][A-Z_0-9]*) = ([^#\n]+)", source, re.M)
    shared = [(name, value) for name, value in found if hasattr(threshold, name)]
    assert len(shared) >= 60, found
    for name, value in shared:
        assert eval(value) == getattr(threshold, name), name

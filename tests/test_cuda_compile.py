"""Every CUDA kernel compiles for a real GPU, on a machine without one.

The other CUDA tests run under the simulator (``NUMBA_ENABLE_CUDASIM=1``), which runs
kernels as Python with numpy's functions: it cannot see a function numba-cuda does not
implement (``np.trunc`` has no CUDA version, for one). Here every kernel of
``fastata.kernels.cuda`` is compiled to PTX for sm_90 through NVVM, with the argument types
its host code launches it with, in a fresh interpreter without the simulator. NVVM and
NVRTC come as wheels with the ``test`` extra on Linux; no GPU or driver is needed.
"""

import os
import subprocess
import sys
import textwrap

import pytest

COMPILE_ALL = textwrap.dedent('''
    import inspect, types
    from numba import cuda, types as T
    from numba.cuda import dispatcher
    from fastata.kernels import cuda as kernels

    # Device functions are compiled for the current device's compute capability; there is
    # no device here, so name one (the H100 and H200's).
    dispatcher.get_current_device = lambda: types.SimpleNamespace(compute_capability=(9, 0))

    f1, i1, f2, i2 = T.float64[::1], T.int64[::1], T.float64[:, ::1], T.int64[:, ::1]
    ARGUMENTS = {  # parameter name -> the type the host code passes (device arrays, C order)
        "lam2d": f2, "budgets": i1, "status": i1, "first_bad": i1, "lo2d": i2, "hi2d": i2, "heap": f2,
        "lam": f1, "ints": i2, "floats": f2, "lo": i1, "hi": i1, "budget": T.int64, "t": T.float64,
        "tstar": T.float64, "bounded": T.boolean, "cand_p": f1, "cand_j": i1, "cand_i": i1, "n_cand": i1,
        "workers": i1, "level": T.int64, "j_lo": T.int64, "j_hi": T.int64, "mode": T.int64, "share": T.int64, "offsets": i1, "first": T.int64,
        "out": i1, "ties": i1,
    }
    ROWS = {"out": i2, "ties": i2}  # the batch kernels take one row of these per problem
    for name, kernel in sorted(vars(kernels).items()):
        if type(kernel).__name__ != "CUDADispatcher" or kernel.targetoptions.get("device"):
            continue
        params = inspect.signature(kernel.py_func).parameters
        missing = [p for p in params if p not in ARGUMENTS]
        assert not missing, f"{name}: give the types of {missing} in ARGUMENTS"
        rows = "lam2d" in params
        signature = tuple(ROWS.get(p, ARGUMENTS[p]) if rows else ARGUMENTS[p] for p in params)
        ptx, _ = cuda.compile_ptx(kernel.py_func, signature, cc=(9, 0))
        assert ".entry" in ptx, name
        print(name)
''')


def _compiler_missing():
    """Why PTX cannot be made here, or None."""
    script = ("import numba_cuda\n"
              "from cuda.pathfinder import load_nvidia_dynamic_lib as load\n"
              "load('nvvm'); load('nvrtc')")
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=os.path.dirname(sys.executable))
    if found.returncode:
        return "numba-cuda with NVVM and NVRTC is not installed (the test extra brings them on Linux)"
    return None


@pytest.mark.slow
def test_every_cuda_kernel_compiles_for_a_gpu(tmp_path):
    missing = _compiler_missing()
    if missing:
        pytest.skip(missing)
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="0")
    # Run outside the checkout: its fastata/ would shadow the installed package.
    result = subprocess.run([sys.executable, "-c", COMPILE_ALL], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    compiled = result.stdout.split()
    # The batch kernels (one thread a problem: the whole shared algorithm) and the whole-GPU passes.
    assert {"_allocate_rows", "_allocate_rows_bounded", "_wide_split", "_wide_fill"} <= set(compiled), compiled
    assert len(compiled) >= 13, compiled

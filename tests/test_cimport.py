"""Another Cython module cimports fastata's nogil kernels and calls them without the GIL."""

import importlib
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import numpy as np
import pytest

import fastata as fa
from fastata.kernels import status as codes

USER_MODULE = '''
# cython: language_level=3, boundscheck=False, wraparound=False
from libc.stdint cimport int64_t
from fastata.kernels.cython_cpu cimport (
    allocate_core, observe_core, bounds_core, STATUS_OK, VARIANT_EMPIRICAL,
)

def allocate_many(const double[:, ::1] lam2d, int64_t budget, int64_t[:, ::1] out,
                  int64_t[::1] ties, double[::1] heap):
    """A user's loop: every row, without the GIL; returns the first bad status."""
    cdef Py_ssize_t r
    cdef int status = STATUS_OK
    with nogil:
        for r in range(lam2d.shape[0]):
            status = allocate_core(lam2d[r], budget, out[r], ties, heap)
            if status != STATUS_OK:
                break
    return status

def learn(const int64_t[::1] workers, const double[::1] durations, double[::1] counts,
          double[::1] means, double[::1] m2, const unsigned char[::1] available,
          double weight, double log_term, double[::1] s):
    cdef int status
    with nogil:
        status = observe_core(workers, durations, counts, means, m2)
        if status == STATUS_OK:
            bounds_core(counts, means, available, VARIANT_EMPIRICAL, weight, log_term, s)
    return status
'''

SETUP = """
from setuptools import Extension, setup
from Cython.Build import cythonize
setup(ext_modules=cythonize([Extension({name!r}, [{name!r} + ".pyx"])],
                            include_path={include!r}, quiet=True))
"""


def _compiler_missing():
    cc = sysconfig.get_config_var("CC") or "cc"
    return shutil.which(cc.split()[0]) is None


def build_user_module(folder, source, name):
    """Compile ``source`` (a .pyx that cimports fastata) in ``folder`` and import it as ``name``."""
    import Cython  # noqa: F401  (in the test extra: its absence is a broken install, not a skip)

    if _compiler_missing():
        pytest.skip("no C compiler on this machine: compiling a module that cimports fastata needs one")
    include = [fa.get_include()]
    (folder / f"{name}.pyx").write_text(textwrap.dedent(source))
    (folder / "setup.py").write_text(SETUP.format(name=name, include=include))
    build = subprocess.run(
        [sys.executable, "setup.py", "build_ext", "--inplace"], cwd=folder, capture_output=True, text=True
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(folder))


@pytest.fixture(scope="module")
def user_kernels(tmp_path_factory):
    return build_user_module(tmp_path_factory.mktemp("user_module"), USER_MODULE, "user_kernels")


def test_the_pxd_ships_with_the_package():
    assert (Path(fa.get_include()) / "fastata" / "kernels" / "cython_cpu.pxd").is_file()


def test_cimported_allocation_equals_fa_allocate(user_kernels):
    lam2d = np.random.default_rng(0).lognormal(0.0, 0.7, (50, 459))
    out = np.empty(lam2d.shape, dtype=np.int64)
    ties, heap = np.empty(459, dtype=np.int64), np.empty(461)
    assert user_kernels.allocate_many(lam2d, 300, out, ties, heap) == 0
    np.testing.assert_array_equal(out, fa.allocate_batch(lam2d, 300))


def test_cimported_kernels_report_bad_input(user_kernels):
    lam2d = np.array([[1.0, 2.0], [np.nan, 1.0]])
    out = np.zeros((2, 2), dtype=np.int64)
    status = user_kernels.allocate_many(lam2d, 3, out, np.empty(2, np.int64), np.empty(4))
    assert status == codes.LAM_NAN
    assert (out[1] == 0).all()  # the bad row was not written


def test_cimported_statistics_and_bounds_equal_the_policy(user_kernels):
    workers = np.array([0, 1, 1, 2], dtype=np.int64)
    durations = np.array([1.0, 2.0, 3.0, 0.5])
    counts, means, m2, s = np.zeros(3), np.zeros(3), np.zeros(3), np.empty(3)
    policy = fa.ATAEmpirical(3, 4, eta=0.1)
    policy.observe(workers, durations)
    status = user_kernels.learn(workers, durations, counts, means, m2, np.ones(3, np.uint8), 2.0 * 0.1, np.log(2.0), s)
    assert status == 0
    np.testing.assert_array_equal(counts, policy.counts)
    np.testing.assert_array_equal(s, policy.lower_bounds)

"""Only the Cython extension lives here; everything else is in setup.cfg."""

import shutil
import sys
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

# Cython finds a module's .pxd by its package path (fastata/kernels/cython_cpu.pxd),
# but the sources live in kernels/ (installed as fastata.kernels): show Cython that
# path in a build-time include folder.
include = Path("build", "cython-include")
for package in ("fastata", "fastata/kernels"):
    (include / package).mkdir(parents=True, exist_ok=True)
    (include / package / "__init__.pxd").touch()
shutil.copy("kernels/cython_cpu.pxd", include / "fastata" / "kernels" / "cython_cpu.pxd")

extension = Extension(
    "fastata.kernels.cython_cpu",
    ["kernels/cython_cpu.pyx"],
    include_dirs=[numpy.get_include()],
    # No FMA contraction: every backend must round exactly like the reference.
    # -fno-math-errno lets the bounds' sqrt loop vectorise; sqrt stays correctly rounded.
    # -fno-trapping-math lets branch-free comparisons vectorise; no result changes
    # (it only promises that no floating-point exception is trapped).
    extra_compile_args=[] if sys.platform == "win32" else [
        "-O3", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math"
    ],
)

setup(
    ext_modules=cythonize(
        [extension], include_path=[str(include)], compiler_directives={"language_level": "3"}
    )
)

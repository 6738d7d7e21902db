"""What every pytest run in this checkout shares: the installed package, and doctests.

Tests run against the *installed* fastata (``pip install .`` compiles the Cython
extension; the checkout's ``fastata/`` has neither it nor the ``kernels`` subpackage).

Doctests: ``pytest`` collects ``fastata/`` and ``docs/`` too (``testpaths`` in
pyproject.toml). Every ``>>>`` example in a docstring of ``fastata/**.py`` runs against the
installed module of that name, imported as users import it, and every ``>>>`` example in
``docs/*.md`` runs as a text file; ``doctest_optionflags`` in pyproject.toml sets the
flags. A module whose optional dependency is not installed (``fastata.dask`` needs
``distributed``, extra ``dask``; ``fastata.ray`` needs ``ray``, extra ``ray``) is not collected.
"""

import importlib
import importlib.util
import sys
from pathlib import Path

import pytest
from _pytest.doctest import DoctestItem, DoctestModule, DoctestTextfile

_CHECKOUT = Path(__file__).resolve().parent
_PACKAGE = _CHECKOUT / "fastata"
_DOCS = _CHECKOUT / "docs"



def _strip_checkout():
    """`python -m pytest` puts the checkout on sys.path, and so does pytest when it collects
    fastata/ (a package) for its doctests: there `import fastata` would find the checkout's
    fastata/ instead of the installed package. Dask's and Ray's worker processes start with
    this process's sys.path, so it is cleaned before every test, not only once."""
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _CHECKOUT]


_strip_checkout()


def pytest_runtest_setup(item):
    _strip_checkout()

#: Modules that need an optional dependency: module -> the package it needs.
_OPTIONAL = {"fastata.dask": "distributed", "fastata.ray": "ray"}


def _module_name(path):
    """``fastata/sim/run.py`` -> ``"fastata.sim.run"``; a package's ``__init__.py`` -> the package."""
    parts = path.relative_to(_CHECKOUT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


class InstalledModuleDoctests(DoctestModule):
    """The doctests of the installed module named after a file of the checkout's ``fastata/``."""

    def _getobj(self):
        return importlib.import_module(_module_name(self.path))


def pytest_collect_file(file_path, parent):
    if file_path.suffix == ".py" and _PACKAGE in file_path.parents:
        needs = _OPTIONAL.get(_module_name(file_path))
        if needs is not None and importlib.util.find_spec(needs) is None:
            return None
        return InstalledModuleDoctests.from_parent(parent, path=file_path)
    if file_path.suffix == ".md" and file_path.parent == _DOCS:
        return DoctestTextfile.from_parent(parent, path=file_path)
    return None


@pytest.fixture(autouse=True)
def _ray_outside_the_checkout(request, tmp_path_factory, monkeypatch):
    """fastata.ray's examples start Ray, which puts the working directory on its workers'
    sys.path: from the checkout they would import its fastata/ (no kernels), so they run
    elsewhere."""
    if isinstance(request.node, DoctestItem) and request.node.name.startswith("fastata.ray."):
        monkeypatch.chdir(tmp_path_factory.mktemp("ray-example"))
    yield


@pytest.fixture(autouse=True)
def _numpy_print_options(request):
    """Doctests print arrays with numpy's default options, whatever ran before them."""
    if not isinstance(request.node, DoctestItem):
        yield
        return
    import numpy as np

    with np.printoptions(edgeitems=3, infstr="inf", linewidth=75, nanstr="nan", precision=8,
                         suppress=False, threshold=1000, floatmode="maxprec", sign="-", legacy=False):  # fmt: skip
        yield

"""Every public function and class has a ``>>>`` example in its docstring (pytest runs them all)."""

import importlib
import importlib.util
import inspect

import pytest

# Public modules and their public names; fastata.dask needs the extra dask (in the test extra),
# fastata.ray the extra ray (checked where it is installed: CI's Ray step).
MODULES = ("fastata", "fastata.sim", "fastata.sim.presets", "fastata.sim.report", "fastata.sim.sgd", "fastata.sim.theory",
           "fastata.sim.authors",
           "fastata.dask", "fastata.jit")  # fmt: skip
if importlib.util.find_spec("ray") is not None:
    MODULES += ("fastata.ray",)


def public_names(module):
    names = getattr(module, "__all__", None)
    if names is None:  # no __all__: what the module defines, not what it imports
        names = [n for n, obj in vars(module).items()
                 if not n.startswith("_") and getattr(obj, "__module__", None) == module.__name__]  # fmt: skip
    return sorted(names)


def documented_callables():
    for name in MODULES:
        module = importlib.import_module(name)
        for attr in public_names(module):
            obj = getattr(module, attr)
            if inspect.ismodule(obj) or not callable(obj):
                continue
            yield pytest.param(obj, id=f"{name}.{attr}")


@pytest.mark.parametrize("obj", list(documented_callables()))
def test_public_callable_has_an_example(obj):
    assert ">>>" in (inspect.getdoc(obj) or ""), "its docstring has no >>> example"

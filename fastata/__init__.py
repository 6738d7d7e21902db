"""fastata: exact, fast Adaptive Task Allocation (ATA) for distributed machine learning.

Implements ATA (Maranjyan, Saad, Richtarik, Orabona, ICML 2025, arXiv:2502.00775):
each round, hand ``budget`` tasks to ``n`` workers so as to minimise the proxy round
time ``max_i a_i * lam_i``. See ``allocate`` and the README.
"""

try:
    from ._backends import available_backends, get_include
except ModuleNotFoundError as _missing:
    if _missing.name != __name__ + ".kernels":
        raise
    # The source tree's fastata/ has no kernels (they live in kernels/ beside it, which the
    # install maps to fastata.kernels): Python found it before the installed package.
    raise ImportError(
        f"fastata was imported from the folder {__path__[0]}, a source checkout without its "
        "kernels, which Python found on sys.path before the installed package (the current "
        "directory, run from the root of a checkout): run from another folder, or install the "
        "checkout with 'pip install -e .'"
    ) from None

from .allocate import Allocator, allocate, allocate_batch, proxy_loss
from .policies import ATA, FTA, UTA, ATABernstein, ATAEmpirical, load

__version__ = "0.1.0"


def __getattr__(name):
    # ``fa.sim`` (the simulator) is imported on first use: ``import fastata`` stays light.
    if name == "sim":
        import importlib

        return importlib.import_module(".sim", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ATA",
    "ATABernstein",
    "Allocator",
    "ATAEmpirical",
    "FTA",
    "UTA",
    "allocate",
    "allocate_batch",
    "available_backends",
    "get_include",
    "load",
    "proxy_loss",
    "sim",
    "__version__",
]

"""Sphinx configuration of fastata's documentation.

Build (from the repository root, after ``pip install ".[docs]"``)::

    python -m sphinx -W -n -b html docs docs/_build/html

``-W`` turns every warning into an error and ``-n`` (nitpicky) reports every
cross-reference that does not resolve, so a renamed function breaks the build.
"""

import sys
from pathlib import Path

# Document the installed fastata: `python -m sphinx` from the repository root puts the
# checkout on sys.path, whose fastata/ lacks the compiled kernels of an installed package.
_CHECKOUT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _CHECKOUT]

import fastata  # noqa: E402

project = "fastata"
author = "the fastata developers"
copyright = "the fastata developers"
release = fastata.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
templates_path = ["_templates"]

# --- API reference: autosummary writes one page per public name ----------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"member-order": "bysource"}
# fastata.ray is documented without Ray installed (a large install, not needed to read its API).
autodoc_mock_imports = ["ray"]
# Members are listed by the class templates in _templates/autosummary (documented on
# the class's page); numpydoc's own member tables would link to pages that do not exist.
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
# Docstrings write types in prose ("array_like of float, shape (n,)"); not cross-referenced.
numpydoc_xref_param_type = False

# --- Markdown pages ---------------------------------------------------------------------
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

# Types of other libraries named in fastata's signatures and docstrings: no intersphinx
# (the build must work offline), so these are named, not linked.
nitpick_ignore = [
    ("py:class", "numpy.ndarray"),
]

# --- HTML -----------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"fastata {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_static_path = []

"""The README's examples run as written (marked ``<!-- readme-test: NAME -->`` there)."""

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def example(name):
    """The fenced block that follows the marker ``<!-- readme-test: name -->``."""
    text = README.read_text()
    found = re.search(rf"<!-- readme-test: {name} -->\n```\w+\n(.*?)```", text, re.S)
    assert found, f"README.md has no example marked {name!r}"
    return found.group(1)


def run(name, namespace=None):
    printed = io.StringIO()
    namespace = {} if namespace is None else namespace
    namespace["__name__"] = "readme"
    with contextlib.redirect_stdout(printed):
        exec(compile(example(name), f"README.md:{name}", "exec"), namespace)
    return printed.getvalue()


def test_numba_example():
    import fastata as fa

    namespace = {}
    # The second line is the ValueError of the NaN row, raised after the prange loop.
    assert run("numba", namespace).strip().splitlines() == ["[23 23 23]", "lam must not contain NaN (fastata.jit)"]
    # As the README says: every row but the bad one allocated, and that one left as the
    # first call wrote it; so all of out is the allocation of the rows before the NaN.
    before_nan = np.random.default_rng(0).lognormal(0.0, 0.5, (1000, 51))
    assert np.isnan(namespace["lam2d"][500, 7])
    np.testing.assert_array_equal(namespace["out"], fa.allocate_batch(before_nan, 23))


def test_custom_policy_example():
    namespace = {}
    lines = run("custom-policy", namespace).strip().splitlines()
    assert [line.split()[0] for line in lines] == ["ata-empirical", "stderr", "fta"]
    assert lines[-1].split()[1] == "1.00x"
    results = namespace["results"]
    # The user's bound learned: well below where ATA-Empirical is after as many rounds.
    assert results["stderr"].total_time < results["ata-empirical"].total_time


def test_threaded_scheduler_example():
    assert run("threads").strip() == "800"


def test_cython_example(tmp_path):
    from test_cimport import build_user_module

    module = build_user_module(tmp_path, example("cython"), "readme_rows")
    import fastata as fa

    lam2d = np.random.default_rng(0).lognormal(0.0, 0.5, (20, 51))
    out = np.empty(lam2d.shape, dtype=np.int64)
    assert module.allocate_rows(lam2d, 23, out, np.empty(51, np.int64), np.empty(53)) == 0
    np.testing.assert_array_equal(out, fa.allocate_batch(lam2d, 23))

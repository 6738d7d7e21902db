"""Meta-test: no public function writes to the arrays it is given (only to ``out``)."""

import os
import tempfile

import numpy as np
import pytest

import fastata as fa

LAM = np.array([0.5, 0.0, 2.0, np.inf, 1.0])
LAM2D = np.array([[0.5, 1.0, 2.0], [1.0, 1.0, np.inf]])

CALLS = {
    "allocate": lambda backend, x: fa.allocate(x["lam"], 7, backend=backend),
    "allocate(out=)": lambda backend, x: fa.allocate(x["lam"], 7, backend=backend, out=np.zeros(5, np.int64)),
    "allocate_batch": lambda backend, x: fa.allocate_batch(x["lam2d"], x["budgets"], backend=backend),
    "Allocator": lambda backend, x: fa.Allocator(5, backend=backend)(x["lam"], 7),
    "proxy_loss": lambda backend, x: fa.proxy_loss(x["a"], x["lam"]),
    # Policies: the constructor and observe read the caller's arrays, never write them.
    "ATA": lambda backend, x: fa.ATA(5, 7, alpha=1.0, backend=backend).observe(x["a"][:3], x["lam2d"][0]),
    "ATAEmpirical": lambda backend, x: fa.ATAEmpirical(5, 7, eta=1.0, backend=backend).observe(x["a"][:3], x["lam2d"][0]),
    "ATABernstein": lambda backend, x: fa.ATABernstein(5, 7, eta=1.0, backend=backend).observe(x["a"][:3], x["lam2d"][0]),
    "FTA": lambda backend, x: fa.FTA(x["lam2d"][0], 7, backend=backend).observe(x["a"][:2], x["lam2d"][0][:2]),
    "UTA": lambda backend, x: fa.UTA(5, 7, seed=0, backend=backend).observe(x["a"][:3], x["lam2d"][0]),
    "load": lambda backend, x: _save_and_load(fa.FTA(x["lam2d"][0], 7, backend=backend)),
}


def _save_and_load(policy):
    with tempfile.TemporaryDirectory() as folder:
        policy.save(os.path.join(folder, "policy.npz"))
        return fa.load(os.path.join(folder, "policy.npz"))


@pytest.mark.parametrize("call", sorted(CALLS))
def test_inputs_are_never_mutated(backend, call):
    inputs = {"lam": LAM.copy(), "lam2d": LAM2D.copy(), "budgets": np.array([4, 5]), "a": np.array([1, 2, 0, 0, 3])}
    for x in inputs.values():
        x.flags.writeable = False  # a write would raise, on every backend
    before = {k: v.copy() for k, v in inputs.items()}
    CALLS[call](backend, inputs)
    for k in inputs:
        np.testing.assert_array_equal(inputs[k], before[k])


def test_every_public_function_is_covered():
    public = {name for name in fa.__all__ if callable(getattr(fa, name))} - {"available_backends", "get_include"}
    assert public <= {call.split("(")[0] for call in CALLS}

"""The cuda backend on one large problem (the whole GPU, not one thread) and on arrays that
stay on the device. Under NUMBA_ENABLE_CUDASIM the grid is shrunk so that small problems
take the wide path: the same code as on a GPU, at sizes the simulator runs quickly."""

import numpy as np
import pytest

import fastata as fa
from oracle import reference

pytestmark = pytest.mark.cuda

if "cuda" not in fa.available_backends():  # pragma: no cover - CI always has the simulator
    pytest.fail("the cuda backend must be available (GPU or NUMBA_ENABLE_CUDASIM=1)")

from numba import cuda  # noqa: E402  (after conftest set NUMBA_ENABLE_CUDASIM)

from fastata.kernels import cuda as cuda_kernels  # noqa: E402


@pytest.fixture
def wide(monkeypatch):
    """Every problem of 2 workers or more takes the wide path, on a grid small enough that
    the simulator runs it quickly (and that each thread still strides over many workers)."""
    monkeypatch.setattr(cuda_kernels, "WIDE_N", 2)
    monkeypatch.setattr(cuda_kernels, "WIDE_BLOCKS", 2)
    monkeypatch.setattr(cuda_kernels, "THREADS_PER_BLOCK", 8)


def _lam(kind, n, rng):
    if kind == "lognormal":
        return rng.lognormal(0.0, 0.7, n)
    if kind == "ties":  # counts jump by many keys: the one-thread fallback
        return rng.integers(1, 4, n) * 0.5
    if kind == "unavailable":
        lam = rng.exponential(1.0, n)
        lam[rng.random(n) < 0.3] = np.inf
        lam[0] = 1.0
        return lam
    if kind == "zeros":
        lam = rng.exponential(1.0, n)
        lam[rng.random(n) < 0.1] = 0.0
        return lam
    return 10.0 ** rng.uniform(-100, 100, n)


@pytest.mark.parametrize("kind", ["lognormal", "ties", "unavailable", "zeros", "wide-range"])
@pytest.mark.parametrize("seed", range(4))
def test_wide_path_equals_the_reference(wide, kind, seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 300))
    lam = _lam(kind, n, rng)
    budget = int(rng.choice([0, 1, n // 3, n, 4 * n]))
    np.testing.assert_array_equal(fa.allocate(lam, budget, backend="cuda"), reference(lam, budget))


def test_wide_path_rejects_bad_lam_and_leaves_out_alone(wide):
    out = np.full(4, -7, dtype=np.int64)
    with pytest.raises(ValueError, match="lam must not contain NaN; got nan at index 2"):
        fa.allocate([1.0, 2.0, np.nan, -1.0], 3, backend="cuda", out=out)
    with pytest.raises(ValueError, match=r"lam must be >= 0 \(use \+inf for an unavailable worker\); got -1.0 at index 1"):
        fa.allocate([1.0, -1.0, np.nan, 2.0], 3, backend="cuda", out=out)
    assert (out == -7).all()


def test_device_arrays_stay_on_the_device(wide):
    lam = np.random.default_rng(5).lognormal(0.0, 0.5, 200)
    d_lam = cuda.to_device(lam)
    d_out = fa.allocate(d_lam, 150, backend="cuda")
    assert not isinstance(d_out, np.ndarray) and hasattr(d_out, "copy_to_host")  # still on the device
    np.testing.assert_array_equal(d_out.copy_to_host(), reference(lam, 150))
    d_out2 = cuda.device_array(200, dtype=np.int64)
    assert fa.allocate(d_lam, 10, backend="cuda", out=d_out2) is d_out2
    np.testing.assert_array_equal(d_out2.copy_to_host(), reference(lam, 10))


def test_device_arrays_one_thread_path():
    lam = np.array([1.0, 2.0, 4.0])
    d_out = fa.allocate(cuda.to_device(lam), 7, backend="cuda")
    assert d_out.copy_to_host().tolist() == [4, 2, 1]


def test_bad_device_arrays():
    with pytest.raises(TypeError, match="lam must be a device array of float64; got dtype float32"):
        fa.allocate(cuda.to_device(np.ones(3, np.float32)), 2, backend="cuda")
    with pytest.raises(ValueError, match=r"lam must have shape \(n,\); got shape \(2, 2\)"):
        fa.allocate(cuda.to_device(np.ones((2, 2))), 2, backend="cuda")
    with pytest.raises(ValueError, match=r"out must have shape \(3,\); got shape \(4,\)"):
        fa.allocate(cuda.to_device(np.ones(3)), 2, backend="cuda", out=cuda.device_array(4, np.int64))
    with pytest.raises(TypeError, match="out must be a device array like lam"):
        fa.allocate(cuda.to_device(np.ones(3)), 2, backend="cuda", out=np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="lam must have an available worker"):
        fa.allocate(cuda.to_device(np.full(3, np.inf)), 2, backend="cuda")

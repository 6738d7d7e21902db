"""Bad input: a clear error naming the parameter, the rule and the value, from one module."""

import numpy as np
import pytest

import fastata as fa

NAN_LAM = [1.0, np.nan, 2.0]


@pytest.mark.parametrize(
    "lam, budget, error, message",
    [
        (NAN_LAM, 3, ValueError, r"lam must not contain NaN; got nan at index 1"),
        ([1.0, 2.0, -0.5], 3, ValueError, r"lam must be >= 0 .*; got -0.5 at index 2"),
        ([np.inf, np.inf], 1, ValueError, r"lam must have an available worker .*got all \+inf and budget 1"),
        ([], 2, ValueError, r"lam must have at least one worker when budget > 0; got an empty array and budget 2"),
        ([1.0, 2.0], -1, ValueError, r"budget must be in \[0, 2\*\*53\]; got -1"),
        ([1.0, 2.0], 2**53 + 1, ValueError, r"budget must be in \[0, 2\*\*53\]; got 9007199254740993"),
        ([1.0, 2.0], 2.5, ValueError, r"budget must be an integer; got 2.5 \(type float\)"),
        ([1.0, 2.0], np.float64(3.0), ValueError, r"budget must be an integer; got .*3.0.*float64"),
        ([1.0, 2.0], "3", TypeError, r"budget must be an integer; got '3' \(type str\)"),
        ([1.0, 2.0], None, TypeError, r"budget must be an integer; got None"),
        ([1.0, 2.0], True, TypeError, r"budget must be an integer; got True \(type bool\)"),
        ([[1.0, 2.0], [3.0, 4.0]], 3, ValueError, r"lam must be 1-D; got an array of shape \(2, 2\)"),
        # a scalar is no list of workers, whatever its type
        (3.0, 7, ValueError, r"lam must be 1-D; got an array of shape \(\)"),
        (np.array(3), 7, ValueError, r"lam must be 1-D; got an array of shape \(\)"),
        (np.array(3.0), 7, ValueError, r"lam must be 1-D; got an array of shape \(\)"),
        (np.float32(3.0), 7, ValueError, r"lam must be 1-D; got an array of shape \(\)"),
        (["a", "b"], 3, TypeError, r"lam must be an array of real numbers; got \['a', 'b'\]"),
        (np.array([1 + 1j]), 3, TypeError, r"lam must be an array of real numbers; got an array of shape \(1,\) and dtype complex128"),
        (np.array([True, False]), 1, TypeError, r"lam must be an array of real numbers; got an array .*dtype bool"),
    ],
)
def test_allocate_rejects(backend, lam, budget, error, message):
    with pytest.raises(error, match=message):
        fa.allocate(lam, budget, backend=backend)


@pytest.mark.parametrize(
    "out, error, message",
    [
        (np.zeros(3, dtype=np.int32), TypeError, r"out must have dtype int64; got dtype int32"),
        (np.zeros(3, dtype=np.float64), TypeError, r"out must have dtype int64; got dtype float64"),
        (np.zeros(4, dtype=np.int64), ValueError, r"out must have shape \(3,\); got shape \(4,\)"),
        (np.zeros(6, dtype=np.int64)[::2], ValueError, r"out must be C-contiguous \(the result is written in place\); "
         r"got a view with strides \(16,\)"),
        ([0, 0, 0], TypeError, r"out must be a numpy array of int64; got \[0, 0, 0\]"),
    ],
)
def test_allocate_rejects_bad_out(backend, out, error, message):
    with pytest.raises(error, match=message):
        fa.allocate([1.0, 2.0, 3.0], 4, backend=backend, out=out)


def test_an_out_that_shares_memory_with_an_input_is_refused_and_left_untouched(backend):
    # The kernel writes out while it reads lam and the bounds: an out over their memory
    # would change them under it (a wrong allocation, a sum off the budget).
    lam = np.array([1.0, 2.0, 4.0, 3.0, 0.5])
    cap = np.full(5, 3, np.int64)
    with pytest.raises(ValueError, match=r"out must not share memory with max_tasks: .*got an out that overlaps"):
        fa.allocate(lam, 11, max_tasks=cap, out=cap, backend=backend)
    assert cap.tolist() == [3] * 5
    floor = np.array([0, 1, 0, 0, 0, 9], np.int64)
    with pytest.raises(ValueError, match=r"out must not share memory with min_tasks"):
        fa.allocate(lam, 11, min_tasks=floor[:5], out=floor[1:], backend=backend)
    buf = lam.copy().view(np.int64)
    with pytest.raises(ValueError, match=r"out must not share memory with lam"):
        fa.allocate(buf.view(np.float64), 7, out=buf, backend=backend)
    assert np.array_equal(buf.view(np.float64), lam)
    owner = lam.copy().view(np.int64).copy()  # an out that owns its memory, lam a view of it
    with pytest.raises(ValueError, match=r"out must not share memory with lam"):
        fa.allocate(owner.view(np.float64), 7, out=owner, backend=backend)
    assert np.array_equal(owner.view(np.float64), lam)
    lam2d = np.array([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match=r"out must not share memory with lam2d"):
        fa.allocate_batch(lam2d, 3, out=lam2d.view(np.int64), backend=backend)
    policy = fa.ATAEmpirical(5, 11, eta=0.5)
    with pytest.raises(ValueError, match=r"out must not share memory with max_tasks"):
        policy.allocate(max_tasks=cap, out=cap)
    assert policy.rounds == 0 and cap.tolist() == [3] * 5
    # Separate arrays of the same values are fine.
    assert fa.allocate(lam, 11, max_tasks=cap, out=np.empty(5, np.int64), backend=backend).tolist() == [3, 2, 1, 2, 3]


def test_an_allocator_reads_a_bound_taken_from_its_own_last_result():
    # Its result array is overwritten by the next call: given back as a bound, it is read
    # from a copy, and the answer is the allocation of a separate array.
    lam = np.array([1.0, 2.0, 4.0, 3.0, 0.5])
    allocator = fa.Allocator(5)
    last = allocator(lam, 11, max_tasks=3)
    expected = fa.allocate(lam[::-1].copy(), 9, max_tasks=last.copy())
    assert allocator(lam[::-1].copy(), 9, max_tasks=last).tolist() == expected.tolist()


def test_read_only_out_rejected():
    out = np.zeros(2, dtype=np.int64)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="out must be writeable .*; got a read-only array"):
        fa.allocate([1.0, 2.0], 2, out=out)


@pytest.mark.parametrize(
    "lam2d, budgets, error, message",
    [
        ([1.0, 2.0], 3, ValueError, r"lam2d must be 2-D; got an array of shape \(2,\)"),
        ([[1.0, 2.0]], [3, 4], ValueError, r"budgets must be a scalar or have shape \(1,\); got shape \(2,\)"),
        ([[1.0, 2.0]], [-3], ValueError, r"budgets must be in \[0, 2\*\*53\]; got -3 at index 0"),
        ([[1.0, 2.0]], [2.5], TypeError, r"budgets must be an integer or an array of integers"),
        ([[1.0, 2.0]], -1, ValueError, r"budgets must be in \[0, 2\*\*53\]; got -1"),
        ([[1.0, 2.0], [np.inf, np.inf]], 1, ValueError, r"lam2d\[1\] must have an available worker"),
        ([[1.0, 2.0], [1.0, -2.0]], 1, ValueError, r"lam2d\[1\] must be >= 0 .*got -2.0 at index 1"),
    ],
)
def test_allocate_batch_rejects(backend, lam2d, budgets, error, message):
    with pytest.raises(error, match=message):
        fa.allocate_batch(lam2d, budgets, backend=backend)


@pytest.mark.parametrize(
    "a, lam, error, message",
    [
        ([1, 2], [1.0], ValueError, r"a must have the shape of lam, \(1,\); got shape \(2,\)"),
        ([1.5, 2], [1.0, 1.0], TypeError, r"a must be an array of integers"),
        ([1, -2], [1.0, 1.0], ValueError, r"a must be non-negative; got -2 at index 1"),
        ([1, 2], [1.0, np.nan], ValueError, r"lam must not contain NaN; got nan at index 1"),
        ([1, 2], [1.0, -1.0], ValueError, r"lam must be >= 0"),
    ],
)
def test_proxy_loss_rejects(a, lam, error, message):
    with pytest.raises(error, match=message):
        fa.proxy_loss(a, lam)


def test_every_message_comes_from_the_validation_module():
    """Kernels return codes and the API raises nothing of its own: one room for errors."""
    import inspect

    from fastata import allocate as api
    from fastata.kernels import numba_cpu, reference, threshold

    for module in (api, reference, threshold, numba_cpu):
        source = inspect.getsource(module)
        assert "raise ValueError" not in source and "raise TypeError" not in source, module.__name__


def test_rows_of_different_lengths_are_named_as_such():
    with pytest.raises(ValueError, match=r"lam2d must be a rectangular array of real numbers \(2-D\); got rows of "
                                         r"different lengths: \[\[1.0, 2.0\], \[3.0\]\]"):
        fa.allocate_batch([[1.0, 2.0], [3.0]], 3)


def test_empty_lists_are_lists_of_integers_where_integers_are_asked():
    assert fa.allocate([], 0, min_tasks=[], max_tasks=[]).tolist() == []
    assert fa.allocate_batch(np.zeros((0, 3)), []).shape == (0, 3)
    assert fa.proxy_loss([], []) == 0.0


@pytest.mark.parametrize("seed, error", [(-1, ValueError), ("a", TypeError), (1.5, TypeError)])
def test_a_bad_uniform_seed_is_named(seed, error):
    with pytest.raises(error, match=r"seed must be None, a non-negative integer, .*; got "):
        fa.UTA(3, 5, seed=seed)

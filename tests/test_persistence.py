"""Saving and loading policies: exact round trips, atomic writes, and files that must be refused."""

import json
import os
import zipfile

import numpy as np
import pytest

import fastata as fa
from fastata import policies

MU = np.array([1.0, 2.5, 4.0, 0.7, 9.0, 3.3])


def state(policy):
    meta, arrays = policy._state()
    return meta, {key: array.tobytes() for key, array in arrays.items()}


def run(policy, rounds, rng):
    allocations = []
    for _ in range(rounds):
        a = policy.allocate()
        allocations.append(a.tolist())
        workers = np.repeat(np.arange(policy.n_workers), a)
        mu = np.resize(MU, policy.n_workers)
        policy.observe(workers, rng.exponential(mu[workers]))
    return allocations


MAKERS = [
    lambda b: fa.ATA(6, 11, alpha=0.4, backend=b),
    lambda b: fa.ATA(6, 11, alpha=0.4, c=1.0, gamma=0.93, backend=b),
    lambda b: fa.ATAEmpirical(6, 11, eta=0.3, gamma=0.8, backend=b),
    lambda b: fa.ATAEmpirical(6, 11, eta=0.3, explore_share=0.2, backend=b),
    lambda b: fa.ATABernstein(6, 11, eta=0.3, c=0.7, gamma=0.9, backend=b),
    lambda b: fa.FTA(MU, 11, backend=b),
    lambda b: fa.UTA(6, 11, seed=123, backend=b),
]


@pytest.mark.parametrize("make", MAKERS)
def test_save_load_continues_bit_identically(tmp_path, make, fast_backend):
    path = tmp_path / "policy.npz"
    uninterrupted = make(fast_backend)
    saved = make(fast_backend)
    rng_a, rng_b = np.random.default_rng(9), np.random.default_rng(9)
    rounds = 6 if fast_backend == "cuda" else 20  # the CUDA simulator is slow
    run(uninterrupted, rounds, rng_a)
    run(saved, rounds, rng_b)
    saved.set_available([1], False)
    uninterrupted.set_available([1], False)
    saved.save(path)
    loaded = fa.load(path)
    assert type(loaded) is type(saved) and repr(loaded) == repr(saved)
    assert state(loaded) == state(saved)
    assert loaded.backend == saved.backend
    assert run(loaded, rounds, rng_b) == run(uninterrupted, rounds, rng_a)
    assert state(loaded) == state(uninterrupted)


def test_a_sum_of_squared_deviations_that_overflowed_saves_and_loads(tmp_path, fast_backend):
    # Samples spread past about 1e154, each valid, overflow M2 to +inf; the policy goes on
    # allocating, and its file must load and go on alike.
    policy = fa.ATAEmpirical(2, 4, eta=0.5, backend=fast_backend)
    policy.observe([0, 0], [0.0, 1e300])
    assert policy._state()[1]["m2"][0] == np.inf
    policy.save(tmp_path / "p.npz")
    loaded = fa.load(tmp_path / "p.npz")
    np.testing.assert_array_equal(loaded.allocate(), policy.allocate())


def test_load_on_another_backend(tmp_path):
    policy = fa.ATAEmpirical(6, 11, eta=0.3, gamma=0.9, backend="numba")
    run(policy, 10, np.random.default_rng(1))
    policy.save(tmp_path / "p.npz")
    loaded = fa.load(tmp_path / "p.npz", backend="python")
    assert loaded.backend == "python"
    assert loaded.allocate().tolist() == policy.allocate().tolist()


def test_save_after_add_workers(tmp_path):
    policy = fa.ATA(3, 5, alpha=1.0)
    policy.add_workers(2)
    policy.observe([4], [2.0])
    policy.save(tmp_path / "p.npz")
    loaded = fa.load(tmp_path / "p.npz")
    assert loaded.n_workers == 5 and loaded.counts.tolist() == [0, 0, 0, 0, 1]


def test_file_holds_no_pickle(tmp_path):
    fa.UTA(3, 4, seed=1).save(tmp_path / "p.npz")
    with np.load(tmp_path / "p.npz", allow_pickle=False) as data:
        assert all(data[key].dtype != object for key in data.files)
        meta = json.loads(str(data["meta"]))
    assert meta["format"] == policies.FORMAT and meta["version"] == policies.FORMAT_VERSION


# --- files that must be refused -------------------------------------------------------------


@pytest.fixture
def saved_file(tmp_path):
    policy = fa.ATA(6, 11, alpha=0.4, gamma=0.9)
    run(policy, 5, np.random.default_rng(2))
    path = tmp_path / "policy.npz"
    policy.save(path)
    return path


def _rewrite(path, change):
    """Rewrite a saved file with ``change(meta, arrays)`` applied."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    meta = json.loads(str(arrays.pop("meta")))
    change(meta, arrays)
    np.savez(path, meta=np.array(json.dumps(meta)), **arrays)
    os.replace(str(path) + ".npz", path) if os.path.exists(str(path) + ".npz") else None


def test_truncated_file(saved_file):
    data = saved_file.read_bytes()
    for size in (0, 10, len(data) // 2, len(data) - 5):
        saved_file.write_bytes(data[:size])
        with pytest.raises(ValueError, match=r"path must be a fastata policy file; got .*unreadable"):
            fa.load(saved_file)


def test_corrupt_bytes(saved_file):
    data = bytearray(saved_file.read_bytes())
    # Flip bytes inside the stored arrays: zip's CRC-32 catches it.
    with zipfile.ZipFile(saved_file) as archive:
        info = archive.getinfo("counts.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 140
    data[start : start + 8] = b"\xff" * 8
    saved_file.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"path must be a fastata policy file; got .*unreadable.*CRC"):
        fa.load(saved_file)


def test_foreign_files(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match="unreadable"):
        fa.load(text)
    npy = tmp_path / "array.npy"
    np.save(npy, np.arange(3))
    with pytest.raises(ValueError, match="not an .npz archive"):
        fa.load(npy)
    npz = tmp_path / "other.npz"
    np.savez(npz, weights=np.ones(3))
    with pytest.raises(ValueError, match=r"no fastata metadata \(a foreign .npz file\?\)"):
        fa.load(npz)
    with pytest.raises(FileNotFoundError):
        fa.load(tmp_path / "missing.npz")


def test_a_save_into_a_missing_folder_names_the_path_given(tmp_path):
    # Not the temporary file the save writes first and renames.
    target = tmp_path / "no-such-folder" / "state.npz"
    with pytest.raises(FileNotFoundError, match=r"cannot save to '.*state\.npz' \(No such file or directory\)") as info:
        fa.FTA([1.0, 2.0], 3).save(target)
    assert info.value.filename == str(target) and ".tmp" not in str(info.value)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m, a: m.update(version=3), r"written by a newer fastata \(format version 3; this one reads up to 2\)"),
        (lambda m, a: m.update(version="1"), r"bad format version '1'"),
        (lambda m, a: m.update(format="other"), r"format is not 'fastata-policy'"),
        (lambda m, a: m.update(kind="Exp3"), r"unknown policy kind 'Exp3'"),
        (lambda m, a: m.update(rounds=-1), r"params or rounds missing or malformed"),
        (lambda m, a: a.pop("m2"), r"array 'm2' missing"),
        (lambda m, a: a.update(means=a["means"][:3]), r"array 'means' .* wrong dtype or shape"),
        (lambda m, a: a.update(means=a["means"].astype(np.float32)), r"array 'means' .* wrong dtype"),
        (lambda m, a: a["counts"].__setitem__(0, -1.0), r"negative statistics"),
        (lambda m, a: a["m2"].__setitem__(0, np.nan), r"non-finite statistics"),
        (lambda m, a: m["params"].update(alpha=-1.0), r"bad saved parameters .*alpha must be finite and > 0"),
        (lambda m, a: m["params"].update(gamma=2.0), r"bad saved parameters .*gamma must be in"),
        (lambda m, a: m["params"].pop("kdisc"), r"bad saved parameters .*KeyError"),
        (lambda m, a: m["params"].update(explore_share=0.0), r"bad saved parameters .*explore_share must be in"),
    ],
)
def test_malformed_contents(saved_file, change, message):
    _rewrite(saved_file, change)
    with pytest.raises(ValueError, match=message):
        fa.load(saved_file)


# --- atomic writes -------------------------------------------------------------------------------


def test_crash_between_write_and_rename_keeps_the_old_file(saved_file, monkeypatch):
    old_bytes = saved_file.read_bytes()
    old = fa.load(saved_file)
    policy = fa.load(saved_file)
    run(policy, 5, np.random.default_rng(3))

    def crash(src, dst):
        # The temporary file is complete and on disk at this point.
        assert fa.load(src).rounds == policy.rounds
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(policies.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        policy.save(saved_file)
    assert saved_file.read_bytes() == old_bytes
    assert state(fa.load(saved_file)) == state(old)
    assert os.listdir(saved_file.parent) == [saved_file.name]  # no temporary file left behind
    monkeypatch.undo()
    policy.save(saved_file)
    assert fa.load(saved_file).rounds == old.rounds + 5


def test_crash_while_writing_keeps_the_old_file(saved_file, monkeypatch):
    old_bytes = saved_file.read_bytes()

    def crash(file, **arrays):
        file.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(policies.np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        fa.ATA(2, 2, alpha=1.0).save(saved_file)
    assert saved_file.read_bytes() == old_bytes
    assert os.listdir(saved_file.parent) == [saved_file.name]


# --- censored samples and explore_share are state too ----------------------------------------------


def test_censored_samples_and_explore_share_survive_a_restart(tmp_path):
    path = tmp_path / "p.npz"
    policy = fa.ATA(4, 12, alpha=0.4, explore_share=0.25)
    twin = fa.ATA(4, 12, alpha=0.4, explore_share=0.25)
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    run(policy, 5, rng_a)
    run(twin, 5, rng_b)
    for p in (policy, twin):
        p.observe_censored([1, 2], [40.0, 0.0])
        p.add_workers(1)
    policy.save(path)
    loaded = fa.load(path)
    assert loaded.explore_share == 0.25 and state(loaded) == state(twin)
    assert run(loaded, 5, rng_a) == run(twin, 5, rng_b)


def test_version_1_file_loads_with_the_papers_explore_share(saved_file):
    _rewrite(saved_file, lambda m, a: (m.update(version=1), m["params"].pop("explore_share")))
    loaded = fa.load(saved_file)
    assert loaded.explore_share == 1.0 and loaded.rounds == 5


# --- temporary files of saves that were killed ------------------------------------------------------

_SAVE_FOREVER = """
import sys, time
import numpy as np
import fastata as fa
from fastata import policies

def hang(file, **arrays):
    file.write(b"PK half a zip")
    file.flush()
    print("writing", flush=True)
    time.sleep(600)

policies.np.savez = hang
fa.UTA(3, 4, seed=1).save(sys.argv[1])
"""


def _saver(path):
    """A process that starts saving ``path`` and hangs with its temporary file half written."""
    import subprocess
    import sys

    # cwd away from the checkout: "-c" puts it on sys.path, and its fastata/ has no compiled kernels.
    proc = subprocess.Popen([sys.executable, "-c", _SAVE_FOREVER, str(path)], stdout=subprocess.PIPE, text=True,
                            cwd=path.parent)  # fmt: skip
    assert proc.stdout.readline().strip() == "writing"
    return proc


def _temps(folder):
    return sorted(name for name in os.listdir(folder) if name.endswith(".tmp"))


def test_save_removes_temporary_files_of_killed_saves(tmp_path):
    import signal

    path = tmp_path / "policy.npz"
    fa.UTA(3, 4, seed=0).save(path)
    killed = [_saver(path) for _ in range(3)]
    live = _saver(path)  # a save in progress in another process: its file must stay
    try:
        for proc in killed:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        assert len(_temps(tmp_path)) == 4  # SIGKILL leaves the temporary files behind
        fa.ATA(2, 2, alpha=1.0).save(path)
        left = _temps(tmp_path)
        assert len(left) == 1 and f"fastata-{live.pid}-" in left[0]
        assert fa.load(path).n_workers == 2
    finally:
        live.kill()
        live.wait()
    fa.ATA(2, 3, alpha=1.0).save(path)
    assert sorted(os.listdir(tmp_path)) == ["policy.npz"]


def test_old_style_temporary_files_removed_once_old(tmp_path):
    path = tmp_path / "policy.npz"
    old, recent, other = tmp_path / ".policy.npz.a1b2c3d4.tmp", tmp_path / ".policy.npz.zz99yy88.tmp", tmp_path / ".other.npz.a1b2c3d4.tmp"
    for f in (old, recent, other):
        f.write_bytes(b"PK half")
    hours_ago = os.stat(old).st_mtime - 2 * policies.STALE_LEGACY_SECONDS
    os.utime(old, (hours_ago, hours_ago))
    os.utime(other, (hours_ago, hours_ago))
    fa.UTA(3, 4, seed=0).save(path)
    assert _temps(tmp_path) == sorted([recent.name, other.name])  # another file's temporaries are not ours


def test_a_saved_policy_gets_the_mode_any_new_file_gets(tmp_path):
    # The temporary file it is written to is created as every new file is (0666 less the
    # umask), not 0600: a saved policy reads like the folder's other files.
    umask = os.umask(0o022)
    try:
        fa.ATA(3, 5, alpha=1.0).save(tmp_path / "p.npz")
        np.save(tmp_path / "q.npy", np.zeros(2))
        os.umask(0o077)
        fa.ATA(3, 5, alpha=1.0).save(tmp_path / "private.npz")
    finally:
        os.umask(umask)
    mode = lambda name: (tmp_path / name).stat().st_mode & 0o777
    assert mode("p.npz") == mode("q.npy") == 0o644 and mode("private.npz") == 0o600

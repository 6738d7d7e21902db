"""Policy files: the format, atomic writes, and the checks ``load`` makes before trusting a file."""

import contextlib
import json
import os
import re
import secrets
import socket
import time
import zlib

import numpy as np

from .. import _validate
from .registry import KINDS as _KINDS

#: What ``save`` writes and ``load`` checks first.
FORMAT = "fastata-policy"
#: Incremented whenever the file layout or its meaning changes; ``load`` refuses newer files.
#: Version 2 added ``explore_share`` (a version 1 file loads with the paper's 1.0).
FORMAT_VERSION = 2

#: A host tag in temporary file names: two machines saving into one shared folder never
#: take each other's process ids for their own.
_HOST = f"{zlib.crc32(socket.gethostname().encode()):08x}"
#: Old-style temporary files (no process id in the name) older than this are removed.
STALE_LEGACY_SECONDS = 3600.0


def _temp_prefix(base):
    return f".{base}.fastata-{os.getpid()}-{_HOST}-"


def _new_temp(folder, prefix):
    """``(fd, path)`` of a new file ``prefix + 8 random characters + ".tmp"`` in ``folder``, as
    ``tempfile.mkstemp`` makes it, but with the mode any new file gets (0666 less the umask,
    as ``np.save``'s file has), not mkstemp's 0600."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(100):
        path = os.path.join(folder, prefix + secrets.token_hex(4) + ".tmp")
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {folder!r} for {prefix!r}")


def _remove_stale_temps(folder, base):
    """Remove temporary files that earlier saves of ``base`` left behind when they were killed.

    A save killed between ``mkstemp`` and ``os.replace`` (SIGKILL, power cut) cannot clean
    up after itself. Its file name holds the writer's host tag and process id: a file of
    this host whose process is gone is stale; a live process (another thread or program
    saving the same path right now) keeps its file. Files named before process ids were
    recorded are removed once older than ``STALE_LEGACY_SECONDS``. POSIX only (checking a
    process id on Windows would need a handle to it); errors are ignored: cleaning up must
    never make a save fail.
    """
    if os.name != "posix":
        return
    ours = re.compile(r"\." + re.escape(base) + r"\.fastata-(\d+)-([0-9a-f]{8})-[^/]*\.tmp\Z")
    legacy = re.compile(r"\." + re.escape(base) + r"\.[a-z0-9_]{8}\.tmp\Z")  # mkstemp's 8 random characters
    try:
        names = [name for name in os.listdir(folder) if name.startswith(f".{base}.") and name.endswith(".tmp")]
    except OSError:
        return
    for name in names:
        full = os.path.join(folder, name)
        match = ours.match(name)
        with contextlib.suppress(OSError):
            if match is not None:
                if match.group(2) != _HOST or _process_alive(int(match.group(1))):
                    continue
            elif legacy.match(name) is None or time.time() - os.stat(full).st_mtime < STALE_LEGACY_SECONDS:
                continue
            os.unlink(full)


def _process_alive(pid):
    try:
        os.kill(pid, 0)  # signal 0: no signal sent, only the existence check
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, belongs to another user
    return True


def _atomic_write(path, arrays):
    """Write ``arrays`` as an ``.npz`` to a temporary file, fsync it, then rename it over ``path``.

    Stale temporary files of earlier saves of ``path`` that were killed are removed first.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    _remove_stale_temps(folder, base)
    try:
        fd, tmp = _new_temp(folder, _temp_prefix(base))
    except OSError as exc:  # a missing folder, no permission: named by the caller's path
        raise type(exc)(exc.errno, f"cannot save to {path!r} ({exc.strerror})", path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    # Make the rename itself durable (POSIX; Windows has no directory handles to fsync).
    with contextlib.suppress(OSError, AttributeError):
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


_ARRAYS = {"counts": np.float64, "means": np.float64, "m2": np.float64, "available": np.bool_}


def _read(path):
    """``(meta, arrays)`` of a policy file, every layout check done; ``ValueError`` otherwise."""
    with open(path, "rb") as f:  # a missing file is FileNotFoundError, as everywhere in Python
        try:
            data = np.load(f, allow_pickle=False)
            if isinstance(data, np.lib.npyio.NpzFile):
                with data:
                    arrays = {key: data[key] for key in data.files}
        except Exception as exc:  # numpy and zipfile raise many kinds for a damaged file
            raise _validate.state_file(path, f"unreadable ({type(exc).__name__}: {exc})") from exc
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise _validate.state_file(path, "not an .npz archive")
    meta = arrays.pop("meta", None)
    if meta is None or meta.dtype.kind != "U" or meta.ndim != 0:
        raise _validate.state_file(path, "no fastata metadata (a foreign .npz file?)")
    try:
        meta = json.loads(str(meta))
    except ValueError as exc:
        raise _validate.state_file(path, "its metadata is not valid JSON") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _validate.state_file(path, f"format is not {FORMAT!r}")
    version = meta.get("version")
    if type(version) is not int or version < 1:
        raise _validate.state_file(path, f"bad format version {version!r}")
    if version > FORMAT_VERSION:
        raise _validate.state_file(
            path, f"written by a newer fastata (format version {version}; this one reads up to {FORMAT_VERSION})"
        )
    if meta.get("kind") not in _KINDS:
        raise _validate.state_file(path, f"unknown policy kind {meta.get('kind')!r}")
    if not isinstance(meta.get("params"), dict) or type(meta.get("rounds")) is not int or meta["rounds"] < 0:
        raise _validate.state_file(path, "params or rounds missing or malformed")
    n = None
    for key, dtype in _ARRAYS.items():
        array = arrays.get(key)
        if array is None or array.dtype != dtype or array.ndim != 1 or (n is not None and array.shape[0] != n):
            raise _validate.state_file(path, f"array {key!r} missing or of the wrong dtype or shape")
        n = array.shape[0]
    if n < 1:
        raise _validate.state_file(path, "no workers")
    counts, means, m2 = arrays["counts"], arrays["means"], arrays["m2"]
    # M2 may be +inf: samples spread past about 1e154 overflow the sum of squared deviations,
    # which a policy keeps (and saves) as it is; NaN and -inf come from no sample.
    if not (np.isfinite(counts).all() and np.isfinite(means).all() and not np.isnan(m2).any()):
        raise _validate.state_file(path, "non-finite statistics")
    if (counts < 0).any() or (m2 < 0).any() or (means < 0).any():
        raise _validate.state_file(path, "negative statistics")
    meta["n_workers"] = n
    return meta, arrays


def load(path, *, backend=None):
    """Load a policy written by ``policy.save(path)``; it continues exactly where the saved one stopped.

    Parameters
    ----------
    path : str or os.PathLike
    backend : str, optional
        Run the loaded policy on this backend instead of the saved choice (the
        results are the same bits on every backend).

    Returns
    -------
    ATA, ATAEmpirical, FTA or UTA

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        A truncated, corrupt or foreign file, or one written by a newer fastata.

    Examples
    --------
    >>> import os, tempfile
    >>> import fastata as fa
    >>> policy = fa.ATAEmpirical(3, 6, eta=0.1)
    >>> policy.observe([0, 1, 2], [1.0, 2.0, 4.0])
    >>> path = os.path.join(tempfile.mkdtemp(), "policy.npz")
    >>> policy.save(path)
    >>> again = fa.load(path)
    >>> type(again).__name__, again.means.tolist()
    ('ATAEmpirical', [1.0, 2.0, 4.0])
    >>> again.allocate().tolist() == policy.allocate().tolist()   # continues bit for bit
    True
    """
    meta, arrays = _read(path)
    cls = _KINDS[meta["kind"]]
    backend = meta.get("backend", "auto") if backend is None else backend
    try:
        policy = cls._from_meta(meta, backend, arrays)
        policy._restore(meta, arrays)
    except (TypeError, ValueError, KeyError) as exc:
        if isinstance(exc, ValueError) and str(exc).startswith("backend must"):
            raise
        raise _validate.state_file(path, f"bad saved parameters ({type(exc).__name__}: {exc})") from exc
    return policy

"""Arrays of one repeated int64 value that take one 64 KiB block of memory, however long.

Bounds given as one number (``max_tasks=8``) reach the kernels as arrays of ``n`` equal
values, and the kernels read them in every pass over the workers, next to ``lam`` and their
own scratch. From some 65,536 workers up that is more than a core's cache holds, and the
passes wait on memory: a bounded call (Cython) took 25-40 % longer reading its bounds from
two such arrays than from a block that stays in cache at 65,536 workers, 70 % longer at
10^6. So on Linux the array's address range maps one block of :data:`BLOCK` bytes
over and over (a memory file mapped at every block of a reserved range): every pass reads
the same 64 KiB, and making the array costs a few system calls instead of writing
``8 n`` bytes. Elsewhere, and if any step fails, the array is an ordinary ``np.full``.

The blocks are mapped read-only: these arrays are never written (a write would stop the
process at once rather than change every worker's bound).
"""

import ctypes
import mmap
import os
import platform
import threading
import weakref

import numpy as np

#: Bytes of the block that a constant array repeats (a whole number of pages).
BLOCK = max(65536, mmap.PAGESIZE)
#: Most blocks in one array (64 MiB of 64 KiB blocks), and in all the arrays alive at once:
#: each block is a mapping of its own, and a process may hold some 65,000 mappings in all
#: (``vm.max_map_count``), its own allocator's included. Past either, ``np.full``.
MAX_BLOCKS = 1024
MAX_MAPPED_BLOCKS = 4096

_MAP_FIXED = 0x10  # linux/mman.h on x86-64 and arm64, the only machines mapped here
_MAPPED_ON = {"x86_64", "amd64", "aarch64", "arm64"}
_libc_mmap = None  # bound on first use
_lock = threading.RLock()  # re-entrant: a finalizer may run wherever a collection starts
_mapped_blocks = 0  # blocks of the constant arrays alive now


def constant_array(n, value):
    """An int64 array of ``n`` entries equal to ``value``, C-contiguous and flagged
    writeable (numba compiles one kernel for it and for the caller's arrays), which no
    one may write to."""
    blocks = -(-n * 8 // BLOCK)
    if 1 < blocks <= MAX_BLOCKS and _can_map() and _reserve(blocks):
        try:
            return _mapped(n, value, blocks)
        except OSError:
            _release(blocks)
    return np.full(n, value, dtype=np.int64)


def _reserve(blocks):
    global _mapped_blocks
    with _lock:
        if _mapped_blocks + blocks > MAX_MAPPED_BLOCKS:
            return False
        _mapped_blocks += blocks
        return True


def _release(blocks):
    global _mapped_blocks
    with _lock:
        _mapped_blocks -= blocks


def _can_map():
    global _libc_mmap
    if _libc_mmap is None:
        _libc_mmap = False
        if hasattr(os, "memfd_create") and platform.machine().lower() in _MAPPED_ON:
            try:
                libc_mmap = ctypes.CDLL(None, use_errno=True).mmap
            except (OSError, AttributeError):
                return False
            libc_mmap.restype = ctypes.c_void_p
            libc_mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                  ctypes.c_long]
            _libc_mmap = libc_mmap
    return _libc_mmap is not False


def _mapped(n, value, blocks):
    # The reserved range: an anonymous mapping that Python unmaps, blocks and all, when the
    # last array on it goes. Nothing of it is ever touched before the blocks cover it.
    region = mmap.mmap(-1, blocks * BLOCK)
    start = np.frombuffer(region, dtype=np.uint8).ctypes.data
    fd = os.memfd_create("fastata-constant", os.MFD_CLOEXEC)
    try:
        os.ftruncate(fd, BLOCK)
        os.pwrite(fd, np.full(BLOCK // 8, value, dtype=np.int64).tobytes(), 0)
        for k in range(blocks):
            where = start + k * BLOCK
            if _libc_mmap(where, BLOCK, mmap.PROT_READ, mmap.MAP_SHARED | _MAP_FIXED, fd, 0) != where:
                raise OSError(ctypes.get_errno(), "mmap of a constant block failed")
    finally:
        os.close(fd)
    weakref.finalize(region, _release, blocks)
    return np.frombuffer(region, dtype=np.int64, count=n)

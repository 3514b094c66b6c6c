"""Resident memory of CPU training: let freed tensor buffers go back to the operating system.

PyTorch's CPU tensors come from ``malloc``. glibc serves a request above its *mmap threshold* with a fresh mapping,
returned to the system on ``free``, and smaller ones from its heap, whose freed holes between live blocks stay
resident. The threshold starts at 128 KiB but is dynamic: the first free of a mapped block raises it to that block's
size (up to 32 MiB), so after the first step of training the activations (1–32 MiB each) come from the heap and every
hole between the saved activations of a forward stays resident. On Gemma 3 270M (8 questions, lettered options) that
is about 1.3 GB of a 4.9 GB peak; with the threshold fixed at 1 MiB the peak is 3.6–3.7 GB. It costs step time:
every buffer above the threshold is a fresh mapping, page-faulted in and unmapped again. ``bench_gradient_ascent.py``
on the idle 2-core machine (a gradient-ascent LoRA step, eager; bench/RESULTS.md): 11.2 s and a 3,682 MiB peak at
1 MiB, 7.5 s and 4,555 MiB with glibc's dynamic threshold (``--default_malloc``). The trainers take the threshold from
their ``cpu_malloc_threshold_mib`` (default 1: the memory target; 0 leaves glibc's).

:func:`return_large_frees_to_os` fixes the threshold (``mallopt(M_MMAP_THRESHOLD)``, which also turns the dynamic
adjustment off). It is process-wide (once fixed, it stays fixed for the process), so the trainers call it only when
they train on CPU; it does nothing where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

logger = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
DEFAULT_THRESHOLD_BYTES = 1 << 20

_applied: int | None = None


def return_large_frees_to_os(threshold_bytes: int = DEFAULT_THRESHOLD_BYTES) -> bool:
    """Fix glibc's mmap threshold at ``threshold_bytes``: buffers above it go back to the OS when freed.

    Returns whether the setting is in effect (False off Linux/glibc). Idempotent.
    """
    global _applied
    if _applied == threshold_bytes:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        gnu_get_libc_version = libc.gnu_get_libc_version  # present only in glibc
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    del gnu_get_libc_version
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    if mallopt(M_MMAP_THRESHOLD, int(threshold_bytes)) != 1:
        logger.debug("mallopt(M_MMAP_THRESHOLD, %d) failed", threshold_bytes)
        return False
    _applied = threshold_bytes
    return True

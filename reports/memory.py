"""Giving freed memory back to the system after a report.

CPython frees a report's objects when it is done with them, but glibc's allocator keeps the freed
pages for later, in one arena per thread that allocated them: a web process whose report threads
merged a 140-page PDF keeps about 100 MB it no longer uses, and a rendering worker keeps the
high-water mark of its largest document. Both count against the memory the machine has for the
next report. `give_back()` collects the garbage and asks glibc to return the free pages
(malloc_trim); elsewhere (another C library) it only collects.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys
from functools import cache


@cache
def _trim():
    """glibc's malloc_trim, or None where the C library has none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return None
    trim = getattr(libc, "malloc_trim", None)
    if trim is not None:
        trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def give_back() -> bool:
    """Collect garbage and return free heap pages to the system; True when pages could be returned."""
    gc.collect()
    trim = _trim()
    return bool(trim is not None and trim(0))

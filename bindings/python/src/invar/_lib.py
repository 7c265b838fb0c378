"""Loads libinvar.so and declares the C ABI's prototypes (include/invar/invar.h).

Every function that returns a ``char*`` the caller frees is declared with
``c_void_p``: ctypes' ``c_char_p`` would copy the string and lose the pointer
that invar_string_free needs.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from ctypes import POINTER, c_char_p, c_int, c_int64, c_size_t, c_uint64, c_void_p

ENV_VAR = "INVAR_LIBRARY"


class Violation_C(ctypes.Structure):
    """invar_violation: borrowed strings that live as long as their report."""

    _fields_ = [
        ("invariant", c_char_p),
        ("kind", c_char_p),
        ("family", c_char_p),
        ("severity", c_char_p),
        ("message", c_char_p),
        ("pointer", c_char_p),
        ("expected", c_char_p),
        ("actual", c_char_p),
        ("baseline", c_char_p),
        ("why", c_char_p),
    ]


_status = c_int
_handle = c_void_p
_out = POINTER(c_void_p)

# name: (restype, argtypes)
_PROTOTYPES: dict[str, tuple[object, list[object]]] = {
    "invar_last_error": (c_char_p, []),
    "invar_version": (c_char_p, []),
    "invar_string_free": (None, [c_void_p]),
    "invar_contract_load": (_status, [c_char_p, _out]),
    "invar_contract_load_string": (_status, [c_char_p, c_size_t, c_char_p, _out]),
    "invar_contract_free": (None, [_handle]),
    "invar_check": (_status, [_handle, c_char_p, c_size_t, c_char_p, c_size_t, c_int64, _out]),
    "invar_check_trials": (_status, [_handle, c_char_p, c_size_t, c_char_p, c_size_t, c_int64, _out]),
    "invar_gate_open": (_status, [_handle, c_char_p, _out]),
    "invar_gate_submit": (_status, [_handle, c_char_p, c_char_p, c_size_t, c_int64, _out]),
    "invar_gate_init": (_status, [_handle, c_char_p, c_char_p, c_size_t, c_char_p, c_char_p, _out]),
    "invar_gate_init_staged": (_status, [_handle, c_char_p, c_char_p, c_size_t, c_char_p, c_char_p, c_char_p, _out]),
    "invar_gate_free": (None, [_handle]),
    "invar_rollout_step": (_status, [c_char_p, c_char_p, c_int64, _out]),
    "invar_rollout_veto": (_status, [c_char_p, c_char_p, c_char_p, c_char_p, c_char_p, c_int64, _out]),
    "invar_guard_new": (_status, [_handle, c_char_p, c_char_p, _out]),
    "invar_guard_new_staged": (_status, [_handle, c_char_p, c_char_p, c_char_p, _out]),
    "invar_guard_new_verified": (_status, [_handle, c_char_p, c_char_p, c_char_p, _handle, _out]),
    "invar_trusted_keys_load": (_status, [c_char_p, _out]),
    "invar_trusted_keys_load_string": (_status, [c_char_p, c_size_t, _out]),
    "invar_trusted_keys_free": (None, [_handle]),
    "invar_verify_attestation": (
        _status,
        [_handle, c_char_p, c_size_t, c_char_p, c_size_t, c_char_p, c_char_p, c_uint64, c_int64, _out],
    ),
    "invar_guard_update": (_status, [_handle, c_char_p, c_size_t, c_int64, _out]),
    "invar_guard_seed": (_status, [_handle, c_char_p, c_size_t, c_int64, _out]),
    "invar_guard_current": (_status, [_handle, POINTER(c_void_p), POINTER(c_size_t)]),
    "invar_guard_refresh": (_status, [_handle, POINTER(c_int)]),
    "invar_guard_release_replaced": (_status, [_handle]),
    "invar_guard_free": (None, [_handle]),
    "invar_report_verdict": (c_int, [_handle]),
    "invar_report_violation_count": (c_size_t, [_handle]),
    "invar_report_violation": (_status, [_handle, c_size_t, POINTER(Violation_C)]),
    "invar_report_artifact": (_status, [_handle, POINTER(c_void_p), POINTER(c_size_t)]),
    "invar_report_json": (c_void_p, [_handle]),
    "invar_report_text": (c_void_p, [_handle]),
    "invar_report_render": (c_void_p, [_handle, c_char_p]),
    "invar_report_violation_location": (_status, [_handle, c_size_t, POINTER(c_uint64), POINTER(c_uint64)]),
    "invar_report_free": (None, [_handle]),
}

_lock = threading.Lock()
_lib: ctypes.CDLL | None = None


def library_path() -> str:
    """Where libinvar is looked for: $INVAR_LIBRARY, else the linker's search."""
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        return explicit
    found = ctypes.util.find_library("invar")
    if found is None:
        raise OSError(f"libinvar not found: set {ENV_VAR} to the path of libinvar.so, or install it where the linker finds it")
    return found


def lib() -> ctypes.CDLL:
    """The loaded library (loaded on first use, once). Raises OSError when absent."""
    global _lib
    with _lock:
        if _lib is None:
            loaded = ctypes.CDLL(library_path())
            for name, (restype, argtypes) in _PROTOTYPES.items():
                fn = getattr(loaded, name)
                fn.restype = restype
                fn.argtypes = argtypes
            _lib = loaded
        return _lib


def take_string(ptr: int | None) -> str | None:
    """Copies a char* the library allocated, then frees it with invar_string_free."""
    if not ptr:
        return None
    try:
        return ctypes.string_at(ptr).decode("utf-8", errors="replace")
    finally:
        lib().invar_string_free(ptr)

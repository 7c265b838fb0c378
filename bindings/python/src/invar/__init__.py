"""invar: a gate for generated configuration artifacts, from Python.

A typed ctypes binding of invar's C ABI (include/invar/invar.h). libinvar.so is
found through $INVAR_LIBRARY (a path), else ctypes.util.find_library("invar").
"""

from ._core import (
    Bytes,
    Contract,
    Gate,
    Guard,
    InvarError,
    Now,
    RefusedError,
    Report,
    Status,
    TrustedKeys,
    Verdict,
    Violation,
    rollout_step,
    rollout_veto,
    verify_attestation,
    version,
)

__all__ = [
    "Bytes",
    "Contract",
    "Gate",
    "Guard",
    "InvarError",
    "Now",
    "RefusedError",
    "Report",
    "Status",
    "TrustedKeys",
    "Verdict",
    "Violation",
    "rollout_step",
    "rollout_veto",
    "verify_attestation",
    "version",
]
__version__ = "0.1.0"

"""The Python API over invar's C ABI. See README.md for the thread-safety contract."""

from __future__ import annotations

import ctypes
import datetime as _dt
import enum
import json
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass
from typing import Any, Callable, Self, Union

from . import _lib

Bytes = Union[bytes, bytearray, memoryview, str]
"""An artifact: bytes, or a str (encoded as UTF-8)."""
Now = Union[_dt.datetime, int, None]
"""A clock: None for the system clock, an aware datetime, or Unix epoch milliseconds (not 0)."""
StrPath = Union[str, "os.PathLike[str]"]


class Status(enum.IntEnum):
    """invar_status."""

    OK = 0
    ARGUMENT = 1
    IO = 2
    CONTRACT = 3
    LIMIT = 4
    STATE = 5
    USAGE = 6
    INTERNAL = 7
    REFUSED = 8


class Verdict(enum.IntEnum):
    """A report's verdict or a gate's / guard's decision (invar_verdict)."""

    ACCEPT = 0
    REJECT = 1
    PIN = 2
    UNCHANGED = 3


class InvarError(Exception):
    """A call of the C ABI failed: `status` is its invar_status, `message` invar_last_error()."""

    def __init__(self, status: Status | int, message: str) -> None:
        try:
            status = Status(status)
        except ValueError:
            pass
        self.status = status
        self.message = message
        name = status.name if isinstance(status, Status) else str(status)
        super().__init__(f"{message} (INVAR_E_{name})")


class RefusedError(InvarError):
    """An attestation does not verify (INVAR_E_REFUSED): `message` names the check that failed."""


def _last_error() -> str:
    # Per thread in the library; read on the thread that made the failed call.
    raw = _lib.lib().invar_last_error()
    return raw.decode("utf-8", errors="replace") if raw else ""


def _call(status: int) -> None:
    if status == Status.REFUSED:
        raise RefusedError(status, _last_error())
    if status != Status.OK:
        raise InvarError(status, _last_error())


def _bytes(data: Bytes) -> bytes:
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, bytes):
        return data
    raise TypeError(f"expected bytes or str, not {type(data).__name__}")


def _text(value: StrPath | None) -> bytes | None:
    return None if value is None else os.fsencode(value)


def _now_ms(now: Now) -> int:
    """0 asks the library for the system clock."""
    if now is None:
        return 0
    if isinstance(now, _dt.datetime):
        if now.tzinfo is None:
            raise ValueError("now: a naive datetime is ambiguous; give one with a tzinfo (e.g. UTC)")
        epoch = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
        return (now - epoch) // _dt.timedelta(milliseconds=1)
    if isinstance(now, bool) or not isinstance(now, int):
        raise TypeError("now: a datetime, Unix epoch milliseconds or None")
    if now == 0:
        raise ValueError("now: 0 means the system clock in the C ABI; pass None for it")
    return now


class _Handle:
    """An owned C handle, freed exactly once: by close() or when garbage.

    Calls in flight hold it through use(); close() while one runs (on
    another thread) defers the free to the end of the last one, so a handle
    is never freed under a running call.
    """

    def __init__(self, ptr: int, free: Callable[[int], None]) -> None:
        self._ptr: int | None = ptr
        self._free = free
        self._lock = threading.Lock()
        self._users = 0
        self._closing = False

    @contextmanager
    def use(self, what: str) -> Iterator[int]:
        with self._lock:
            if self._ptr is None or self._closing:
                raise InvarError(Status.ARGUMENT, f"{what} is closed")
            self._users += 1
            ptr = self._ptr
        try:
            yield ptr
        finally:
            with self._lock:
                self._users -= 1
                release = self._closing and self._users == 0
            if release:
                self._release()

    def close(self) -> None:
        with self._lock:
            if self._ptr is None or self._closing:
                return
            self._closing = True
            release = self._users == 0
        if release:
            self._release()

    @property
    def closed(self) -> bool:
        return self._ptr is None or self._closing

    def _release(self) -> None:
        ptr, self._ptr = self._ptr, None
        if ptr:
            self._free(ptr)


class _Owner:
    """Context manager and __del__ for the classes owning a _Handle."""

    _handle: _Handle | None = None
    _what = "object"

    def close(self) -> None:
        """Frees the C object now (idempotent). Later calls raise InvarError."""
        if self._handle is not None:
            self._handle.close()

    @property
    def closed(self) -> bool:
        return self._handle is None or self._handle.closed

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone
            pass

    def _use(self) -> AbstractContextManager[int]:
        if self._handle is None:
            raise InvarError(Status.ARGUMENT, f"{self._what} is closed")
        return self._handle.use(self._what)


def _new_handle(ptr: ctypes.c_void_p, free: str) -> _Handle:
    lib = _lib.lib()
    return _Handle(ptr.value or 0, getattr(lib, free))


@dataclass(frozen=True)
class Violation:
    """One violation of a report (invar_violation), with its location in the artifact."""

    invariant: str
    kind: str
    family: str
    severity: str
    message: str
    pointer: str
    expected: str
    actual: str
    baseline: str
    why: str
    line: int | None
    """1-based line in the artifact's text; None when unknown."""
    column: int | None
    """1-based column, in characters; None when unknown."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _decode(raw: bytes | None) -> str:
    return raw.decode("utf-8", errors="replace") if raw else ""


class Report(_Owner):
    """A check's report, or a gate's / guard's decision. Immutable.

    The verdict, violations and artifact are copied out when the report is
    made; to_dict(), to_json(), text() and render() need the C report: they
    raise InvarError after close().
    """

    _what = "report"

    def __init__(self, ptr: ctypes.c_void_p) -> None:
        self._handle = _new_handle(ptr, "invar_report_free")
        lib = _lib.lib()
        with self._use() as h:
            self.verdict = Verdict(lib.invar_report_verdict(h))
            self.violations: list[Violation] = [self._violation(lib, h, i) for i in range(lib.invar_report_violation_count(h))]
            data = ctypes.c_void_p()
            size = ctypes.c_size_t()
            # A check's report has no artifact: the call fails, and that is "none".
            if lib.invar_report_artifact(h, ctypes.byref(data), ctypes.byref(size)) == Status.OK and data.value:
                self.artifact: bytes | None = ctypes.string_at(data.value, size.value)
            else:
                self.artifact = None

    @staticmethod
    def _violation(lib: ctypes.CDLL, h: int, index: int) -> Violation:
        v = _lib.Violation_C()
        _call(lib.invar_report_violation(h, index, ctypes.byref(v)))
        line = ctypes.c_uint64()
        column = ctypes.c_uint64()
        _call(lib.invar_report_violation_location(h, index, ctypes.byref(line), ctypes.byref(column)))
        fields = {name: _decode(getattr(v, name)) for name, _ in _lib.Violation_C._fields_}
        return Violation(**fields, line=line.value or None, column=column.value or None)

    @property
    def accepted(self) -> bool:
        """True for ACCEPT (and UNCHANGED: the candidate is what is in service)."""
        return self.verdict in (Verdict.ACCEPT, Verdict.UNCHANGED)

    def to_json(self) -> str:
        """The report as JSON (schemas/report.schema.json; decision.schema.json for decisions)."""
        with self._use() as h:
            text = _lib.take_string(_lib.lib().invar_report_json(h))
        if text is None:
            raise InvarError(Status.INTERNAL, _last_error())
        return text

    def to_dict(self) -> dict[str, Any]:
        """to_json(), parsed."""
        return json.loads(self.to_json())

    def render(self, format: str = "human") -> str:
        """The report as `invar check --format` prints it: human, json, sarif, junit, github or tap."""
        with self._use() as h:
            text = _lib.take_string(_lib.lib().invar_report_render(h, format.encode("utf-8")))
        if text is None:
            raise InvarError(Status.ARGUMENT, _last_error())
        return text

    def text(self) -> str:
        """The report as human text (invar_report_text)."""
        with self._use() as h:
            text = _lib.take_string(_lib.lib().invar_report_text(h))
        if text is None:
            raise InvarError(Status.INTERNAL, _last_error())
        return text

    def __repr__(self) -> str:
        return f"<invar.Report {self.verdict.name} violations={len(self.violations)}>"


def _report(call: Callable[[Any], int]) -> Report:
    out = ctypes.c_void_p()
    _call(call(ctypes.byref(out)))
    return Report(out)


def _optional_report(call: Callable[[Any], int]) -> Report | None:
    out = ctypes.c_void_p()
    _call(call(ctypes.byref(out)))
    return Report(out) if out.value else None


class Contract(_Owner):
    """A compiled contract: immutable, and usable from any number of threads at once."""

    _what = "contract"

    def __init__(self, ptr: ctypes.c_void_p) -> None:
        """Use Contract.load or Contract.from_string."""
        self._handle = _new_handle(ptr, "invar_contract_free")

    @classmethod
    def load(cls, path: StrPath) -> Contract:
        """Loads and compiles a contract file. InvarError (IO, CONTRACT...) when it cannot."""
        out = ctypes.c_void_p()
        _call(_lib.lib().invar_contract_load(os.fsencode(path), ctypes.byref(out)))
        return cls(out)

    @classmethod
    def from_string(cls, text: Bytes, base_dir: StrPath | None = None) -> Contract:
        """Compiles a contract's text; `base_dir` resolves relative schema paths (None: ".")."""
        data = _bytes(text)
        out = ctypes.c_void_p()
        _call(_lib.lib().invar_contract_load_string(data, len(data), _text(base_dir), ctypes.byref(out)))
        return cls(out)

    def check(self, data: Bytes, now: Now = None, baseline: Bytes | None = None) -> Report:
        """Checks an artifact statelessly. Unreadable bytes are a REJECT report, not an error.

        `baseline` (the artifact in service) is what the delta family compares with."""
        return self._check("invar_check", data, now, baseline)

    def check_trials(self, data: Bytes, now: Now = None, baseline: Bytes | None = None) -> Report:
        """check(), also running the contract's `trial` invariants (commands: trusted contracts only)."""
        return self._check("invar_check_trials", data, now, baseline)

    def _check(self, fn: str, data: Bytes, now: Now, baseline: Bytes | None) -> Report:
        raw = _bytes(data)
        base = None if baseline is None else _bytes(baseline)
        ms = _now_ms(now)
        call = getattr(_lib.lib(), fn)
        with self._use() as h:
            return _report(lambda out: call(h, raw, len(raw), base, 0 if base is None else len(base), ms, out))


class Gate(_Owner):
    """A gate over a state location (a directory, or "etcd://HOST:PORT[,...][/PREFIX]").

    Thread-safe: calls on one stream are serialised by the library, across processes too.
    """

    _what = "gate"

    def __init__(self, contract: Contract, state_dir: StrPath) -> None:
        self.contract = contract  # kept alive as long as the gate
        out = ctypes.c_void_p()
        with contract._use() as c:
            _call(_lib.lib().invar_gate_open(c, os.fsencode(state_dir), ctypes.byref(out)))
        self._handle = _new_handle(out, "invar_gate_free")

    def init(
        self,
        stream: str,
        *,
        by: str,
        seed: Bytes | None = None,
        reason: str | None = None,
        rollout_file: StrPath | None = None,
    ) -> Report | None:
        """Creates `stream` (gates refuse streams not created). A `seed` is a first LKG and needs a `reason`.

        Returns the seed's decision (ACCEPT, or REJECT: nothing was created), or None without one."""
        raw = None if seed is None else _bytes(seed)
        size = 0 if raw is None else len(raw)
        lib = _lib.lib()
        args = (stream.encode("utf-8"), raw, size, _text(reason), by.encode("utf-8"))
        with self._use() as h:
            if rollout_file is None:
                return _optional_report(lambda out: lib.invar_gate_init(h, *args, out))
            return _optional_report(lambda out: lib.invar_gate_init_staged(h, *args, os.fsencode(rollout_file), out))

    def submit(self, stream: str, data: Bytes, now: Now = None) -> Report:
        """Judges a candidate for `stream`: ACCEPT, REJECT or PIN; `.artifact` is what to publish.

        InvarError only when it cannot judge, and then nothing changed."""
        raw = _bytes(data)
        ms = _now_ms(now)
        lib = _lib.lib()
        with self._use() as h:
            return _report(lambda out: lib.invar_gate_submit(h, stream.encode("utf-8"), raw, len(raw), ms, out))


class Guard(_Owner):
    """Guarded loading for a consumer: the artifact in service changes only on an accept.

    In memory with `state_dir` and `stream` None; else persistent in that stream (a
    restarted consumer starts with its stored last-known-good), serving `stage` (None:
    the last stage). With `trusted_keys` (persistent only) it serves only a stored LKG
    whose attestation verifies: RefusedError otherwise, here and from refresh() (the
    artifact in service is kept). Thread-safe; see README.md.
    """

    _what = "guard"

    def __init__(
        self,
        contract: Contract,
        state_dir: StrPath | None = None,
        stream: str | None = None,
        stage: str | None = None,
        trusted_keys: TrustedKeys | None = None,
    ) -> None:
        self.contract = contract
        # invar_guard_current's pointer dies at the next update: current() copies
        # under this lock, and every call that may replace it takes it too.
        self._serve = threading.Lock()
        out = ctypes.c_void_p()
        lib = _lib.lib()
        stream_b = None if stream is None else stream.encode("utf-8")
        with contract._use() as c:
            if trusted_keys is not None:
                # The library copies the keys: they may be closed afterwards.
                with trusted_keys._use() as k:
                    stage_b = None if stage is None else stage.encode("utf-8")
                    _call(lib.invar_guard_new_verified(c, _text(state_dir), stream_b, stage_b, k, ctypes.byref(out)))
            elif stage is None:
                _call(lib.invar_guard_new(c, _text(state_dir), stream_b, ctypes.byref(out)))
            else:
                _call(lib.invar_guard_new_staged(c, _text(state_dir), stream_b, stage.encode("utf-8"), ctypes.byref(out)))
        self._handle = _new_handle(out, "invar_guard_free")

    def update(self, data: Bytes, now: Now = None) -> Report:
        """Judges a candidate; the decision's `.artifact` is what is in service after it."""
        return self._judge("invar_guard_update", data, now)

    def seed(self, data: Bytes, now: Now = None) -> Report:
        """An in-memory guard's first artifact, judged by the stateless invariants only."""
        return self._judge("invar_guard_seed", data, now)

    def _judge(self, fn: str, data: Bytes, now: Now) -> Report:
        raw = _bytes(data)
        ms = _now_ms(now)
        call = getattr(_lib.lib(), fn)
        with self._serve, self._use() as h:
            return _report(lambda out: call(h, raw, len(raw), ms, out))

    def current(self) -> bytes | None:
        """A copy of the artifact in service; None before any was accepted."""
        data = ctypes.c_void_p()
        size = ctypes.c_size_t()
        with self._serve, self._use() as h:
            _call(_lib.lib().invar_guard_current(h, ctypes.byref(data), ctypes.byref(size)))
            return ctypes.string_at(data.value, size.value) if data.value else None

    def refresh(self) -> bool:
        """One look at the stream's stored LKG: True when a newer one is now served.

        InvarError when the state cannot be read, RefusedError when a guard with trusted
        keys refuses the new LKG's attestation; the artifact in service is unchanged."""
        changed = ctypes.c_int(0)
        lib = _lib.lib()
        with self._serve, self._use() as h:
            _call(lib.invar_guard_refresh(h, ctypes.byref(changed)))
            # current() hands out copies, never the library's pointers: nothing
            # needs what the refresh replaced.
            if changed.value:
                _call(lib.invar_guard_release_replaced(h))
        return bool(changed.value)


class TrustedKeys(_Owner):
    """The public keys trusted to sign decisions (a trusted-keys file, docs/signing.md).

    Immutable; usable from any number of threads. Free it with close() or `with`."""

    _what = "trusted keys"

    def __init__(self, ptr: ctypes.c_void_p) -> None:
        """Use TrustedKeys.load or TrustedKeys.from_string."""
        self._handle = _new_handle(ptr, "invar_trusted_keys_free")

    @classmethod
    def load(cls, path: StrPath) -> TrustedKeys:
        """Reads a trusted-keys file. InvarError (IO, USAGE: located messages) when it cannot."""
        out = ctypes.c_void_p()
        _call(_lib.lib().invar_trusted_keys_load(os.fsencode(path), ctypes.byref(out)))
        return cls(out)

    @classmethod
    def from_string(cls, text: Bytes) -> TrustedKeys:
        """The same for the file's text."""
        data = _bytes(text)
        out = ctypes.c_void_p()
        _call(_lib.lib().invar_trusted_keys_load_string(data, len(data), ctypes.byref(out)))
        return cls(out)


def verify_attestation(
    keys: TrustedKeys,
    envelopes: Bytes,
    data: Bytes,
    stream: str | None = None,
    stage: str | None = None,
    min_sequence: int = 0,
    now: Now = None,
) -> dict[str, Any]:
    """Verifies a decision's attestation (FILE.intoto.jsonl: any one envelope suffices) for `data`.

    Returns the verified statement ({"name", "sha256", "stream", "stage", "sequence",
    "contract", "contract_digest", "verdict", "decided_at", "expires", "keyid"});
    RefusedError naming the check that failed otherwise. `stream`/`stage` None: any;
    `min_sequence` the highest served (lower is a rollback); `now` the clock for expiry."""
    env = _bytes(envelopes)
    raw = _bytes(data)
    ms = _now_ms(now)
    out = ctypes.c_void_p()
    with keys._use() as k:
        _call(
            _lib.lib().invar_verify_attestation(
                k,
                env,
                len(env),
                raw,
                len(raw),
                None if stream is None else stream.encode("utf-8"),
                None if stage is None else stage.encode("utf-8"),
                min_sequence,
                ms,
                ctypes.byref(out),
            )
        )
    text = _lib.take_string(out.value)
    return {} if text is None else json.loads(text)


def version() -> str:
    """The library's version (invar_version)."""
    return _decode(_lib.lib().invar_version())


def _rollout(call: Callable[[Any], int]) -> dict[str, Any]:
    out = ctypes.c_void_p()
    _call(call(ctypes.byref(out)))
    text = _lib.take_string(out.value)
    return {} if text is None else json.loads(text)


def rollout_step(location: StrPath, stream: str, now: Now = None) -> dict[str, Any]:
    """One step of a staged rollout (docs/rollout.md); the report (rollout-report.schema.json)."""
    ms = _now_ms(now)
    return _rollout(lambda out: _lib.lib().invar_rollout_step(os.fsencode(location), stream.encode("utf-8"), ms, out))


def rollout_veto(location: StrPath, stream: str, digest: str, *, reason: str, by: str, now: Now = None) -> dict[str, Any]:
    """Takes an artifact back from every stage and halts the stream; the report."""
    ms = _now_ms(now)
    args = (os.fsencode(location), stream.encode("utf-8"), digest.encode("utf-8"), reason.encode("utf-8"), by.encode("utf-8"))
    return _rollout(lambda out: _lib.lib().invar_rollout_veto(*args, ms, out))

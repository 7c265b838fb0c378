#![doc = include_str!("../../README.md")]
//!
//! Every type owns its C handle and frees it on drop. Which types are `Send`
//! and `Sync` follows the thread-safety of the C ABI (include/invar/invar.h,
//! docs/embedding.md); each impl says why it is sound.

use std::ffi::{CStr, CString};
use std::fmt;
use std::os::raw::{c_char, c_int};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;
use std::sync::Arc;

use invar_sys as sys;

/// Why a call failed: the C status and `invar_last_error()`'s message.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Copy)]
pub enum Status {
    /// A NULL handle or pointer, a meaningless value, or (raised by this
    /// crate) a string holding a NUL byte.
    Argument,
    /// A file could not be read or written.
    Io,
    /// The contract (or a schema, selector, regex in it) does not load.
    Contract,
    /// A named resource limit was exceeded.
    Limit,
    /// The state directory is corrupted or of another version.
    State,
    /// A bad stream name, a waiver without a reason...
    Usage,
    /// A bug or out of memory: nothing was changed.
    Internal,
    /// An attestation does not verify (a signed decision refused): the
    /// message names the check that failed.
    Refused,
    /// A status this crate does not know (a newer library).
    Other(i32),
}

impl Status {
    fn from_raw(status: sys::invar_status) -> Status {
        match status {
            sys::INVAR_E_ARGUMENT => Status::Argument,
            sys::INVAR_E_IO => Status::Io,
            sys::INVAR_E_CONTRACT => Status::Contract,
            sys::INVAR_E_LIMIT => Status::Limit,
            sys::INVAR_E_STATE => Status::State,
            sys::INVAR_E_USAGE => Status::Usage,
            sys::INVAR_E_INTERNAL => Status::Internal,
            sys::INVAR_E_REFUSED => Status::Refused,
            other => Status::Other(other),
        }
    }

    /// The C value (`INVAR_E_*`).
    pub fn code(self) -> i32 {
        match self {
            Status::Argument => sys::INVAR_E_ARGUMENT,
            Status::Io => sys::INVAR_E_IO,
            Status::Contract => sys::INVAR_E_CONTRACT,
            Status::Limit => sys::INVAR_E_LIMIT,
            Status::State => sys::INVAR_E_STATE,
            Status::Usage => sys::INVAR_E_USAGE,
            Status::Internal => sys::INVAR_E_INTERNAL,
            Status::Refused => sys::INVAR_E_REFUSED,
            Status::Other(code) => code,
        }
    }
}

/// A failed call: its [`Status`] and the library's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    status: Status,
    message: String,
}

impl Error {
    /// The C status of the failed call.
    pub fn status(&self) -> Status {
        self.status
    }

    /// `invar_last_error()` right after the failed call.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether an attestation was refused ([`Status::Refused`]).
    pub fn is_refused(&self) -> bool {
        self.status == Status::Refused
    }

    /// Reads the calling thread's last error: call it right after the failed
    /// call, on the same thread (the message is per thread).
    fn last(status: sys::invar_status) -> Error {
        // SAFETY: invar_last_error returns a NUL-terminated string owned by the
        // library, valid until this thread's next call; it is copied at once.
        let message = unsafe { lossy(sys::invar_last_error()) };
        Error { status: Status::from_raw(status), message }
    }

    fn argument(message: String) -> Error {
        Error { status: Status::Argument, message }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invar: {:?} (status {}): {}", self.status, self.status.code(), self.message)
    }
}

impl std::error::Error for Error {}

fn check(status: sys::invar_status) -> Result<(), Error> {
    if status == sys::INVAR_OK {
        Ok(())
    } else {
        Err(Error::last(status))
    }
}

/// Copies a C string; NULL is "". Bytes that are not UTF-8 are replaced.
///
/// # Safety
/// `s` is NULL or a NUL-terminated string valid for the call.
unsafe fn lossy(s: *const c_char) -> String {
    if s.is_null() {
        return String::new();
    }
    CStr::from_ptr(s).to_string_lossy().into_owned()
}

/// Takes a `char*` the library allocated (None for NULL).
///
/// # Safety
/// `s` is NULL or a string from the library, released here with invar_string_free.
unsafe fn take_string(s: *mut c_char) -> Option<String> {
    if s.is_null() {
        return None;
    }
    let out = lossy(s);
    sys::invar_string_free(s);
    Some(out)
}

/// The error of a call that returned no string though it should have.
fn out_of_memory(what: &str) -> Error {
    Error { status: Status::Internal, message: format!("{}: no result (out of memory)", what) }
}

fn c_string(s: &str, what: &str) -> Result<CString, Error> {
    CString::new(s).map_err(|_| Error::argument(format!("{} holds a NUL byte", what)))
}

fn c_path(p: &Path, what: &str) -> Result<CString, Error> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| Error::argument(format!("{} holds a NUL byte", what)))
}

fn opt_ptr(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(ptr::null(), |s| s.as_ptr())
}

/// A byte slice as the C ABI's (pointer, length) pair.
fn raw(bytes: &[u8]) -> (*const c_char, usize) {
    (bytes.as_ptr() as *const c_char, bytes.len())
}

/// The clock of a call: `None` is the system clock (C: 0), else Unix epoch
/// milliseconds (outside the years 0001-9999: [`Status::Argument`]).
fn clock(now_ms: Option<i64>) -> Result<i64, Error> {
    match now_ms {
        None => Ok(0),
        // 0 would silently mean "the system clock" in C: refuse it here.
        Some(0) => Err(Error::argument("now_ms 0 is ambiguous: give None for the system clock".into())),
        Some(ms) => Ok(ms),
    }
}

/// The owned C contract; shared by [`Contract`] clones, gates and guards.
struct ContractHandle(*mut sys::invar_contract);

impl Drop for ContractHandle {
    fn drop(&mut self) {
        // SAFETY: the handle came from invar_contract_load*, and this is its
        // only owner (every user holds the Arc around it).
        unsafe { sys::invar_contract_free(self.0) }
    }
}

// SAFETY: a C contract is immutable once loaded and "may be used from any
// number of threads at once" (invar.h, docs/embedding.md), and freeing it from
// another thread than the one that loaded it is allowed (no thread affinity).
unsafe impl Send for ContractHandle {}
// SAFETY: as above; every call taking a `const invar_contract*` is thread-safe.
unsafe impl Sync for ContractHandle {}

/// A compiled contract: immutable, cheap to clone (the clones share it), and
/// usable from any number of threads at once.
#[derive(Clone)]
pub struct Contract {
    handle: Arc<ContractHandle>,
}

impl fmt::Debug for Contract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Contract").finish_non_exhaustive()
    }
}

impl Contract {
    /// Loads and compiles a contract file.
    pub fn load(path: impl AsRef<Path>) -> Result<Contract, Error> {
        let path = c_path(path.as_ref(), "the contract path")?;
        let mut out = ptr::null_mut();
        // SAFETY: `path` is NUL-terminated and `out` a valid out pointer.
        check(unsafe { sys::invar_contract_load(path.as_ptr(), &mut out) })?;
        Ok(Contract::own(out))
    }

    /// Compiles a contract from its text; `base_dir` resolves relative schema
    /// paths (None: ".").
    pub fn from_text(text: &str, base_dir: Option<&Path>) -> Result<Contract, Error> {
        let base = base_dir.map(|d| c_path(d, "base_dir")).transpose()?;
        let (p, n) = raw(text.as_bytes());
        let mut out = ptr::null_mut();
        // SAFETY: (p, n) is a valid buffer; `base` is NULL or NUL-terminated.
        check(unsafe { sys::invar_contract_load_string(p, n, opt_ptr(&base), &mut out) })?;
        Ok(Contract::own(out))
    }

    fn own(handle: *mut sys::invar_contract) -> Contract {
        Contract { handle: Arc::new(ContractHandle(handle)) }
    }

    fn ptr(&self) -> *const sys::invar_contract {
        self.handle.0
    }

    /// Checks `bytes` statelessly, with the system clock and no baseline.
    /// Unreadable bytes are a reject, not an error.
    pub fn check(&self, bytes: &[u8]) -> Result<Report, Error> {
        self.check_with(bytes, None, None)
    }

    /// Checks `bytes` against `baseline` (the artifact the delta family
    /// compares with), at `now_ms` (Unix epoch milliseconds; None: the
    /// system clock; `Some(0)` is refused, since 0 means the system clock in C).
    pub fn check_with(&self, bytes: &[u8], baseline: Option<&[u8]>, now_ms: Option<i64>) -> Result<Report, Error> {
        self.check_impl(false, bytes, baseline, now_ms)
    }

    /// As [`Contract::check_with`], also running the contract's `trial`
    /// invariants (the consumer's own commands, in a sandbox: docs/trial.md)
    /// when the others accept. A contract that runs commands is code: call
    /// this only for trusted ones.
    pub fn check_trials(&self, bytes: &[u8], baseline: Option<&[u8]>, now_ms: Option<i64>) -> Result<Report, Error> {
        self.check_impl(true, bytes, baseline, now_ms)
    }

    fn check_impl(
        &self,
        trials: bool,
        bytes: &[u8],
        baseline: Option<&[u8]>,
        now_ms: Option<i64>,
    ) -> Result<Report, Error> {
        let now = clock(now_ms)?;
        let (p, n) = raw(bytes);
        let (bp, bn) = baseline.map_or((ptr::null(), 0), raw);
        let mut out = ptr::null_mut();
        let f = if trials { sys::invar_check_trials } else { sys::invar_check };
        // SAFETY: the contract is alive (self), the buffers are valid for the
        // call, and `out` is a valid out pointer.
        check(unsafe { f(self.ptr(), p, n, bp, bn, now, &mut out) })?;
        Report::own(out)
    }
}

/// A report's verdict, or a gate's or guard's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    Accept,
    Reject,
    /// A gate or guard kept (and serves) its last-known-good.
    Pin,
    /// The candidate was the last-known-good's bytes: nothing changed.
    Unchanged,
}

/// One violation, copied out of its report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The invariant's id, or "artifact.syntax" etc.
    pub invariant: String,
    pub kind: String,
    pub family: String,
    /// "error" or "warn".
    pub severity: String,
    pub message: String,
    /// JSON Pointer into the artifact.
    pub pointer: String,
    pub expected: String,
    pub actual: String,
    /// Delta family: the last-known-good's value, else "".
    pub baseline: String,
    pub why: String,
    /// 1-based line in the artifact's text; 0 when unknown.
    pub line: u64,
    /// 1-based column (in characters); 0 when unknown.
    pub column: u64,
}

/// A check's report, or a gate's or guard's decision. Immutable.
pub struct Report {
    ptr: *mut sys::invar_report,
}

// SAFETY: "A report is immutable" (invar.h): every call on it reads only and
// it has no thread affinity, so it may move to and be read from any thread.
unsafe impl Send for Report {}
// SAFETY: as above; all methods take &self and only read.
unsafe impl Sync for Report {}

impl Drop for Report {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from the library and is freed once, here.
        unsafe { sys::invar_report_free(self.ptr) }
    }
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Report").field("verdict", &self.verdict()).finish_non_exhaustive()
    }
}

impl Report {
    fn own(ptr: *mut sys::invar_report) -> Result<Report, Error> {
        if ptr.is_null() {
            return Err(Error { status: Status::Internal, message: "the library returned no report".into() });
        }
        Ok(Report { ptr })
    }

    /// The verdict (for a decision: accept, reject, pin or unchanged).
    pub fn verdict(&self) -> Verdict {
        // SAFETY: `ptr` is a live report.
        match unsafe { sys::invar_report_verdict(self.ptr) } {
            sys::INVAR_ACCEPT => Verdict::Accept,
            sys::INVAR_PIN => Verdict::Pin,
            sys::INVAR_UNCHANGED => Verdict::Unchanged,
            // Fail closed: anything unknown is a reject.
            _ => Verdict::Reject,
        }
    }

    /// The violations, copied into owned structs.
    pub fn violations(&self) -> Result<Vec<Violation>, Error> {
        // SAFETY: `ptr` is a live report.
        let count = unsafe { sys::invar_report_violation_count(self.ptr) };
        let mut out = Vec::with_capacity(count);
        for i in 0..count {
            let mut v = std::mem::MaybeUninit::<sys::invar_violation>::uninit();
            // SAFETY: i < count; `v` is written on success.
            check(unsafe { sys::invar_report_violation(self.ptr, i, v.as_mut_ptr()) })?;
            // SAFETY: invar_report_violation returned INVAR_OK, so it wrote `v`.
            let v = unsafe { v.assume_init() };
            let (mut line, mut column) = (0u64, 0u64);
            // SAFETY: as above; line and column are valid out pointers.
            check(unsafe { sys::invar_report_violation_location(self.ptr, i, &mut line, &mut column) })?;
            // SAFETY: the strings belong to the report, alive for this borrow.
            out.push(unsafe {
                Violation {
                    invariant: lossy(v.invariant),
                    kind: lossy(v.kind),
                    family: lossy(v.family),
                    severity: lossy(v.severity),
                    message: lossy(v.message),
                    pointer: lossy(v.pointer),
                    expected: lossy(v.expected),
                    actual: lossy(v.actual),
                    baseline: lossy(v.baseline),
                    why: lossy(v.why),
                    line,
                    column,
                }
            });
        }
        Ok(out)
    }

    /// For a decision: the artifact in service after it (None on reject and
    /// for a check's report). Borrowed from the report.
    pub fn artifact(&self) -> Option<&[u8]> {
        let mut p: *const c_char = ptr::null();
        let mut n = 0usize;
        // SAFETY: `ptr` is a live report; the out pointers are valid.
        if unsafe { sys::invar_report_artifact(self.ptr, &mut p, &mut n) } != sys::INVAR_OK || p.is_null() {
            return None;
        }
        // SAFETY: the bytes belong to the report, which outlives the borrow.
        Some(unsafe { std::slice::from_raw_parts(p as *const u8, n) })
    }

    /// The report as JSON (schemas/report.schema.json, or
    /// decision.schema.json for a decision).
    pub fn json(&self) -> Result<String, Error> {
        // SAFETY: `ptr` is a live report; the result is taken and freed.
        unsafe { take_string(sys::invar_report_json(self.ptr)) }.ok_or_else(|| out_of_memory("invar_report_json"))
    }

    /// The report as human text.
    pub fn text(&self) -> Result<String, Error> {
        // SAFETY: as json().
        unsafe { take_string(sys::invar_report_text(self.ptr)) }.ok_or_else(|| out_of_memory("invar_report_text"))
    }

    /// The report in a format of `invar check --format` ("human", "json",
    /// "sarif", "junit", "github", "tap"); an unknown name is an error
    /// listing the valid ones.
    pub fn render(&self, format: &str) -> Result<String, Error> {
        let format = c_string(format, "the format")?;
        // SAFETY: `ptr` is a live report, `format` NUL-terminated. NULL sets
        // invar_last_error (an unknown format lists the valid ones), read at once.
        unsafe { take_string(sys::invar_report_render(self.ptr, format.as_ptr())) }
            .ok_or_else(|| Error::last(sys::INVAR_E_ARGUMENT))
    }
}

/// A gate over a state location (a directory or "etcd://..."): decides and
/// records what a distributor may publish (docs/gate.md).
pub struct Gate {
    ptr: *mut sys::invar_gate,
    // The contract the gate was opened with stays alive as long as it.
    _contract: Arc<ContractHandle>,
}

// SAFETY: C gates are thread-safe ("gates and guards too (calls on one stream
// are serialised)", invar.h) and have no thread affinity.
unsafe impl Send for Gate {}
// SAFETY: as above: submit and init may run from several threads at once.
unsafe impl Sync for Gate {}

impl Drop for Gate {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from invar_gate_open and is freed once, here.
        unsafe { sys::invar_gate_free(self.ptr) }
    }
}

impl fmt::Debug for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gate").finish_non_exhaustive()
    }
}

impl Gate {
    /// Opens the gate of `contract` over `state_dir` (a directory, or
    /// "etcd://HOST:PORT[,...][/PREFIX]").
    pub fn open(contract: &Contract, state_dir: impl AsRef<Path>) -> Result<Gate, Error> {
        let dir = c_path(state_dir.as_ref(), "state_dir")?;
        let mut out = ptr::null_mut();
        // SAFETY: the contract is alive, `dir` NUL-terminated, `out` valid.
        check(unsafe { sys::invar_gate_open(contract.ptr(), dir.as_ptr(), &mut out) })?;
        Ok(Gate { ptr: out, _contract: Arc::clone(&contract.handle) })
    }

    /// Creates `stream` (gates refuse streams that were not created).
    /// `seed` is a first last-known-good, judged by the stateless invariants,
    /// and needs a `reason`; `by` names who. Returns the seed's decision
    /// (accept: it is the LKG; reject: nothing was created), None without a
    /// seed. A stream that exists is [`Status::Usage`].
    pub fn init(
        &self,
        stream: &str,
        seed: Option<&[u8]>,
        reason: Option<&str>,
        by: &str,
    ) -> Result<Option<Report>, Error> {
        self.init_impl(stream, seed, reason, by, None)
    }

    /// As [`Gate::init`], giving the stream the stages of `rollout_file`
    /// (docs/rollout.md); every stage holds the seed, if any.
    pub fn init_staged(
        &self,
        stream: &str,
        seed: Option<&[u8]>,
        reason: Option<&str>,
        by: &str,
        rollout_file: impl AsRef<Path>,
    ) -> Result<Option<Report>, Error> {
        self.init_impl(stream, seed, reason, by, Some(rollout_file.as_ref()))
    }

    fn init_impl(
        &self,
        stream: &str,
        seed: Option<&[u8]>,
        reason: Option<&str>,
        by: &str,
        rollout_file: Option<&Path>,
    ) -> Result<Option<Report>, Error> {
        let stream = c_string(stream, "the stream")?;
        let reason = reason.map(|r| c_string(r, "the reason")).transpose()?;
        let by = c_string(by, "by")?;
        let (sp, sn) = seed.map_or((ptr::null(), 0), raw);
        let mut out = ptr::null_mut();
        // SAFETY: the gate is alive, strings NUL-terminated or NULL, buffers
        // valid for the call, `out` a valid out pointer.
        let status = match rollout_file {
            None => unsafe {
                sys::invar_gate_init(self.ptr, stream.as_ptr(), sp, sn, opt_ptr(&reason), by.as_ptr(), &mut out)
            },
            Some(file) => {
                let file = c_path(file, "rollout_file")?;
                unsafe {
                    sys::invar_gate_init_staged(
                        self.ptr,
                        stream.as_ptr(),
                        sp,
                        sn,
                        opt_ptr(&reason),
                        by.as_ptr(),
                        file.as_ptr(),
                        &mut out,
                    )
                }
            }
        };
        check(status)?;
        if out.is_null() {
            Ok(None)
        } else {
            Report::own(out).map(Some)
        }
    }

    /// Judges `bytes` for `stream`, with the system clock. The decision's
    /// verdict is accept, reject or pin; on accept and pin,
    /// [`Report::artifact`] gives the bytes to publish. An error means it
    /// could not judge, and nothing was changed.
    pub fn submit(&self, stream: &str, bytes: &[u8]) -> Result<Report, Error> {
        self.submit_at(stream, bytes, None)
    }

    /// As [`Gate::submit`] at `now_ms` (Unix epoch milliseconds; None: the
    /// system clock).
    pub fn submit_at(&self, stream: &str, bytes: &[u8], now_ms: Option<i64>) -> Result<Report, Error> {
        let now = clock(now_ms)?;
        let stream = c_string(stream, "the stream")?;
        let (p, n) = raw(bytes);
        let mut out = ptr::null_mut();
        // SAFETY: the gate is alive, `stream` NUL-terminated, buffer valid.
        check(unsafe { sys::invar_gate_submit(self.ptr, stream.as_ptr(), p, n, now, &mut out) })?;
        Report::own(out)
    }
}

/// A consumer's guarded loader: holds the artifact in service and never
/// leaves the consumer without one once it had one. A rejected, oversized or
/// unreadable update is a pin: the guard keeps serving its last-known-good.
///
/// [`Guard::current`] borrows the artifact from the guard: the borrow ends
/// before the next [`Guard::update`], [`Guard::seed`] or
/// [`Guard::release_replaced`] (they take `&mut self`), which is exactly how
/// long the C ABI keeps that pointer valid. [`Guard::refresh`] takes `&self`:
/// the C guard keeps the artifacts a refresh replaces alive until then.
pub struct Guard {
    ptr: *mut sys::invar_guard,
    _contract: Arc<ContractHandle>,
}

// SAFETY: C guards are thread-safe (invar.h: "gates and guards too") and have
// no thread affinity: a guard may be used and freed on another thread.
unsafe impl Send for Guard {}
// SAFETY: only current() and refresh() take &self. In C both lock the guard's
// mutex, and a refresh keeps every pointer current() gave out alive until the
// next update or release_replaced, which need &mut self here: no borrow from
// current() can outlive its bytes, whichever thread refreshes.
unsafe impl Sync for Guard {}

impl Drop for Guard {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from invar_guard_new* and is freed once, here;
        // no borrow from current() is alive (we own the guard).
        unsafe { sys::invar_guard_free(self.ptr) }
    }
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard").field("serving_bytes", &self.current().map(<[u8]>::len)).finish_non_exhaustive()
    }
}

impl Guard {
    /// A guard whose last-known-good lives in memory.
    pub fn in_memory(contract: &Contract) -> Result<Guard, Error> {
        Guard::make(contract, None, None, None)
    }

    /// With `state_dir` and `stream` (both or neither): a persistent guard of
    /// that stream of the state location (a directory or "etcd://..."); a
    /// restarted consumer starts with its stored last-known-good. Neither: in
    /// memory. One without the other is [`Status::Argument`].
    pub fn new(contract: &Contract, state_dir: Option<&Path>, stream: Option<&str>) -> Result<Guard, Error> {
        Guard::make(contract, state_dir, stream, None)
    }

    /// A persistent guard of a stream with stages, serving `stage` (None: the
    /// last stage, what everyone gets).
    pub fn new_staged(
        contract: &Contract,
        state_dir: &Path,
        stream: &str,
        stage: Option<&str>,
    ) -> Result<Guard, Error> {
        Guard::make(contract, Some(state_dir), Some(stream), Some(stage))
    }

    /// A persistent guard (stage as for [`Guard::new_staged`]) that serves
    /// only a stored last-known-good whose attestation `keys` verify
    /// (docs/signing.md): [`Status::Refused`] otherwise, here (no guard) and
    /// from [`Guard::refresh`] (the artifact in service is kept). The guard
    /// copies the keys.
    pub fn new_verified(
        contract: &Contract,
        state_dir: &Path,
        stream: &str,
        stage: Option<&str>,
        keys: &TrustedKeys,
    ) -> Result<Guard, Error> {
        let dir = c_path(state_dir, "state_dir")?;
        let stream = c_string(stream, "the stream")?;
        let stage = stage.map(|s| c_string(s, "the stage")).transpose()?;
        let mut out = ptr::null_mut();
        // SAFETY: contract and keys alive, strings NULL or NUL-terminated, `out` valid.
        check(unsafe {
            sys::invar_guard_new_verified(contract.ptr(), dir.as_ptr(), stream.as_ptr(), opt_ptr(&stage), keys.ptr, &mut out)
        })?;
        Ok(Guard { ptr: out, _contract: Arc::clone(&contract.handle) })
    }

    fn make(
        contract: &Contract,
        state_dir: Option<&Path>,
        stream: Option<&str>,
        stage: Option<Option<&str>>,
    ) -> Result<Guard, Error> {
        let dir = state_dir.map(|d| c_path(d, "state_dir")).transpose()?;
        let stream = stream.map(|s| c_string(s, "the stream")).transpose()?;
        let mut out = ptr::null_mut();
        let status = match stage {
            None => {
                // SAFETY: contract alive, strings NULL or NUL-terminated, `out` valid.
                unsafe { sys::invar_guard_new(contract.ptr(), opt_ptr(&dir), opt_ptr(&stream), &mut out) }
            }
            Some(stage) => {
                let stage = stage.map(|s| c_string(s, "the stage")).transpose()?;
                // SAFETY: as above.
                unsafe {
                    let (d, st, sg) = (opt_ptr(&dir), opt_ptr(&stream), opt_ptr(&stage));
                    sys::invar_guard_new_staged(contract.ptr(), d, st, sg, &mut out)
                }
            }
        };
        check(status)?;
        Ok(Guard { ptr: out, _contract: Arc::clone(&contract.handle) })
    }

    /// Judges `bytes` (system clock) and returns the decision; the guard keeps
    /// serving its current artifact unless the candidate is accepted.
    pub fn update(&mut self, bytes: &[u8]) -> Result<Report, Error> {
        self.update_at(bytes, None)
    }

    /// As [`Guard::update`] at `now_ms` (Unix epoch milliseconds; None: the
    /// system clock).
    pub fn update_at(&mut self, bytes: &[u8], now_ms: Option<i64>) -> Result<Report, Error> {
        let now = clock(now_ms)?;
        let (p, n) = raw(bytes);
        let mut out = ptr::null_mut();
        // SAFETY: guard alive and not borrowed (&mut self), buffer valid.
        check(unsafe { sys::invar_guard_update(self.ptr, p, n, now, &mut out) })?;
        Report::own(out)
    }

    /// An in-memory guard's first artifact, judged by the stateless
    /// invariants only (what a contract whose delta invariants say
    /// require_baseline needs). Accept: now in service; reject: nothing
    /// changed. [`Status::Usage`] when the guard serves an artifact already
    /// or is persistent.
    pub fn seed(&mut self, bytes: &[u8]) -> Result<Report, Error> {
        let (p, n) = raw(bytes);
        let mut out = ptr::null_mut();
        // SAFETY: as update().
        check(unsafe { sys::invar_guard_seed(self.ptr, p, n, 0, &mut out) })?;
        Report::own(out)
    }

    /// The artifact in service, None before any was accepted. Borrowed from
    /// the guard (see the type's documentation for how long it lives).
    pub fn current(&self) -> Option<&[u8]> {
        let mut p: *const c_char = ptr::null();
        let mut n = 0usize;
        // SAFETY: guard alive; out pointers valid.
        if unsafe { sys::invar_guard_current(self.ptr, &mut p, &mut n) } != sys::INVAR_OK || p.is_null() {
            return None;
        }
        // SAFETY: the C guard keeps these bytes until the next update,
        // release_replaced or free, each of which needs this borrow to end.
        Some(unsafe { std::slice::from_raw_parts(p as *const u8, n) })
    }

    /// A persistent guard fed by its stream: one look at the stored
    /// last-known-good. Ok(true) when a newer one was read, verified and is
    /// now served; Ok(false) when there is none (always, in memory). An error
    /// leaves the artifact in service as it was: call it again later.
    pub fn refresh(&self) -> Result<bool, Error> {
        let mut changed: c_int = 0;
        // SAFETY: guard alive; invar_guard_refresh is thread-safe and keeps the
        // artifacts it replaces (borrows from current() stay valid).
        check(unsafe { sys::invar_guard_refresh(self.ptr, &mut changed) })?;
        Ok(changed != 0)
    }

    /// Frees the artifacts refreshes replaced (kept for borrows from
    /// [`Guard::current`]; `&mut self` proves none is alive). A follower that
    /// never updates calls this now and then, or keeps every artifact it served.
    pub fn release_replaced(&mut self) -> Result<(), Error> {
        // SAFETY: guard alive and not borrowed.
        check(unsafe { sys::invar_guard_release_replaced(self.ptr) })
    }
}

/// The public keys trusted to sign decisions (a trusted-keys file,
/// docs/signing.md). Immutable; freed on drop.
pub struct TrustedKeys {
    ptr: *mut sys::invar_trusted_keys,
}

// SAFETY: trusted keys are immutable once loaded and may be used from any
// number of threads at once (include/invar/sign.hpp); no thread affinity.
unsafe impl Send for TrustedKeys {}
// SAFETY: as above; every call takes them as `const invar_trusted_keys*`.
unsafe impl Sync for TrustedKeys {}

impl Drop for TrustedKeys {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from invar_trusted_keys_load* and is freed once, here.
        unsafe { sys::invar_trusted_keys_free(self.ptr) }
    }
}

impl fmt::Debug for TrustedKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedKeys").finish_non_exhaustive()
    }
}

impl TrustedKeys {
    /// Reads a trusted-keys file ([`Status::Usage`] with located messages when malformed).
    pub fn load(path: impl AsRef<Path>) -> Result<TrustedKeys, Error> {
        let path = c_path(path.as_ref(), "the trusted-keys path")?;
        let mut out = ptr::null_mut();
        // SAFETY: `path` is NUL-terminated and `out` a valid out pointer.
        check(unsafe { sys::invar_trusted_keys_load(path.as_ptr(), &mut out) })?;
        Ok(TrustedKeys { ptr: out })
    }

    /// The same for the file's text.
    pub fn from_text(text: &str) -> Result<TrustedKeys, Error> {
        let (p, n) = raw(text.as_bytes());
        let mut out = ptr::null_mut();
        // SAFETY: (p, n) is a valid buffer, `out` a valid out pointer.
        check(unsafe { sys::invar_trusted_keys_load_string(p, n, &mut out) })?;
        Ok(TrustedKeys { ptr: out })
    }
}

/// What a distributor expects of the artifact it is about to serve.
#[derive(Debug, Clone, Default)]
pub struct Expect<'a> {
    /// None: any stream.
    pub stream: Option<&'a str>,
    /// None: any stage; Some(""): a stream without stages.
    pub stage: Option<&'a str>,
    /// The highest sequence served: a lower one is a rollback.
    pub min_sequence: u64,
    /// The clock for expiry (Unix epoch milliseconds); None: the system clock.
    pub now_ms: Option<i64>,
}

/// What a verified attestation says (docs/signing.md); times are RFC 3339.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifiedStatement {
    pub name: String,
    pub sha256: String,
    pub stream: String,
    pub stage: String,
    pub sequence: u64,
    pub contract: String,
    pub contract_digest: String,
    pub verdict: String,
    pub decided_at: String,
    pub expires: String,
    pub keyid: String,
}

/// Verifies a decision's attestation (a FILE.intoto.jsonl: any one envelope
/// suffices) for `bytes`. A refusal is [`Status::Refused`], its message
/// naming the check that failed.
pub fn verify_attestation(
    keys: &TrustedKeys,
    envelopes: &[u8],
    bytes: &[u8],
    expect: &Expect<'_>,
) -> Result<VerifiedStatement, Error> {
    let now = clock(expect.now_ms)?;
    let stream = expect.stream.map(|s| c_string(s, "the stream")).transpose()?;
    let stage = expect.stage.map(|s| c_string(s, "the stage")).transpose()?;
    let (e, en) = raw(envelopes);
    let (b, bn) = raw(bytes);
    let mut out: *mut c_char = ptr::null_mut();
    // SAFETY: keys alive, buffers valid, strings NULL or NUL-terminated, `out` valid.
    check(unsafe {
        sys::invar_verify_attestation(keys.ptr, e, en, b, bn, opt_ptr(&stream), opt_ptr(&stage), expect.min_sequence, now, &mut out)
    })?;
    // SAFETY: a string from the library, freed by take_string.
    let json = unsafe { take_string(out) }.ok_or_else(|| out_of_memory("invar_verify_attestation"))?;
    parse_verified(&json).ok_or_else(|| Error {
        status: Status::Internal,
        message: format!("the verified statement does not parse: {}", json),
    })
}

/// Reads the library's verified statement: one flat JSON object of strings
/// and the unsigned `sequence` (no dependency on a JSON crate).
fn parse_verified(json: &str) -> Option<VerifiedStatement> {
    let mut v = VerifiedStatement::default();
    let mut rest = json.trim().strip_prefix('{')?.trim_start();
    while !rest.starts_with('}') {
        let (key, after) = json_string(rest)?;
        rest = after.trim_start().strip_prefix(':')?.trim_start();
        if key == "sequence" {
            let end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
            v.sequence = rest[..end].parse().ok()?;
            rest = &rest[end..];
        } else {
            let (value, after) = json_string(rest)?;
            rest = after;
            match key.as_str() {
                "name" => v.name = value,
                "sha256" => v.sha256 = value,
                "stream" => v.stream = value,
                "stage" => v.stage = value,
                "contract" => v.contract = value,
                "contract_digest" => v.contract_digest = value,
                "verdict" => v.verdict = value,
                "decided_at" => v.decided_at = value,
                "expires" => v.expires = value,
                "keyid" => v.keyid = value,
                _ => {}
            }
        }
        rest = rest.trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    Some(v)
}

/// One JSON string at the start of `s`: its value and what follows it.
fn json_string(s: &str) -> Option<(String, &str)> {
    let mut chars = s.strip_prefix('"')?.char_indices();
    let body = &s[1..];
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &body[i + 1..])),
            '\\' => {
                let (_, e) = chars.next()?;
                match e {
                    '"' | '\\' | '/' => out.push(e),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'u' => {
                        let unit = |chars: &mut std::str::CharIndices<'_>| -> Option<u32> {
                            let hex: String = (0..4).map(|_| chars.next().map(|(_, h)| h)).collect::<Option<_>>()?;
                            u32::from_str_radix(&hex, 16).ok()
                        };
                        let hi = unit(&mut chars)?;
                        let code = if (0xD800..0xDC00).contains(&hi) {
                            let (_, b) = chars.next()?;
                            let (_, u) = chars.next()?;
                            if b != '\\' || u != 'u' {
                                return None;
                            }
                            let lo = unit(&mut chars)?;
                            0x10000 + ((hi - 0xD800) << 10) + (lo.checked_sub(0xDC00)?)
                        } else {
                            hi
                        };
                        out.push(char::from_u32(code)?);
                    }
                    _ => return None,
                }
            }
            c => out.push(c),
        }
    }
    None
}

/// One step of the staged rollout of `stream` at `location` (promote what
/// baked and is healthy, revert what is not); the report as JSON
/// (schemas/rollout-report.schema.json).
pub fn rollout_step(location: impl AsRef<Path>, stream: &str, now_ms: Option<i64>) -> Result<String, Error> {
    let now = clock(now_ms)?;
    let location = c_path(location.as_ref(), "the location")?;
    let stream = c_string(stream, "the stream")?;
    let mut json = ptr::null_mut();
    // SAFETY: strings NUL-terminated, `json` a valid out pointer.
    check(unsafe { sys::invar_rollout_step(location.as_ptr(), stream.as_ptr(), now, &mut json) })?;
    // SAFETY: a string from the library, freed by take_string.
    unsafe { take_string(json) }.ok_or_else(|| out_of_memory("invar_rollout_step"))
}

/// Takes the artifact `digest` (sha256:HEX or 8+ of its hex digits) back from
/// every stage of `stream` and halts it; the report as JSON.
pub fn rollout_veto(
    location: impl AsRef<Path>,
    stream: &str,
    digest: &str,
    reason: &str,
    by: &str,
    now_ms: Option<i64>,
) -> Result<String, Error> {
    let now = clock(now_ms)?;
    let location = c_path(location.as_ref(), "the location")?;
    let stream = c_string(stream, "the stream")?;
    let digest = c_string(digest, "the digest")?;
    let reason = c_string(reason, "the reason")?;
    let by = c_string(by, "by")?;
    let mut json = ptr::null_mut();
    // SAFETY: strings NUL-terminated, `json` a valid out pointer.
    check(unsafe {
        sys::invar_rollout_veto(
            location.as_ptr(),
            stream.as_ptr(),
            digest.as_ptr(),
            reason.as_ptr(),
            by.as_ptr(),
            now,
            &mut json,
        )
    })?;
    // SAFETY: as rollout_step.
    unsafe { take_string(json) }.ok_or_else(|| out_of_memory("invar_rollout_veto"))
}

/// The library's version ("0.1.0").
pub fn version() -> String {
    // SAFETY: a static NUL-terminated string of the library.
    unsafe { lossy(sys::invar_version()) }
}

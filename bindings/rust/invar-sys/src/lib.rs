//! Raw declarations of invar's C ABI, written by hand from
//! `include/invar/invar.h` (no bindgen). Every rule of that header applies:
//! handles returned through out parameters are freed with their
//! `invar_*_free`, `char*` results with [`invar_string_free`], and the
//! message of a failed call is [`invar_last_error`] on the same thread.
//! Use the `invar` crate for a safe API.
#![allow(non_camel_case_types)]

use std::os::raw::{c_char, c_int};

/// `invar_status`, kept as an integer: a value this crate does not know
/// must not be undefined behaviour.
pub type invar_status = c_int;
pub const INVAR_OK: invar_status = 0;
pub const INVAR_E_ARGUMENT: invar_status = 1;
pub const INVAR_E_IO: invar_status = 2;
pub const INVAR_E_CONTRACT: invar_status = 3;
pub const INVAR_E_LIMIT: invar_status = 4;
pub const INVAR_E_STATE: invar_status = 5;
pub const INVAR_E_USAGE: invar_status = 6;
pub const INVAR_E_INTERNAL: invar_status = 7;
pub const INVAR_E_REFUSED: invar_status = 8;

/// `invar_verdict`, kept as an integer for the same reason.
pub type invar_verdict = c_int;
pub const INVAR_ACCEPT: invar_verdict = 0;
pub const INVAR_REJECT: invar_verdict = 1;
pub const INVAR_PIN: invar_verdict = 2;
pub const INVAR_UNCHANGED: invar_verdict = 3;

/// Opaque handles.
#[repr(C)]
pub struct invar_contract {
    _private: [u8; 0],
}
#[repr(C)]
pub struct invar_report {
    _private: [u8; 0],
}
#[repr(C)]
pub struct invar_gate {
    _private: [u8; 0],
}
#[repr(C)]
pub struct invar_guard {
    _private: [u8; 0],
}
#[repr(C)]
pub struct invar_trusted_keys {
    _private: [u8; 0],
}

/// One violation; the strings belong to the report and live as long as it.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct invar_violation {
    pub invariant: *const c_char,
    pub kind: *const c_char,
    pub family: *const c_char,
    pub severity: *const c_char,
    pub message: *const c_char,
    pub pointer: *const c_char,
    pub expected: *const c_char,
    pub actual: *const c_char,
    pub baseline: *const c_char,
    pub why: *const c_char,
}

extern "C" {
    pub fn invar_last_error() -> *const c_char;
    pub fn invar_version() -> *const c_char;
    pub fn invar_string_free(s: *mut c_char);

    pub fn invar_contract_load(path: *const c_char, out: *mut *mut invar_contract) -> invar_status;
    pub fn invar_contract_load_string(
        text: *const c_char,
        len: usize,
        base_dir: *const c_char,
        out: *mut *mut invar_contract,
    ) -> invar_status;
    pub fn invar_contract_free(contract: *mut invar_contract);

    pub fn invar_check_trials(
        contract: *const invar_contract,
        bytes: *const c_char,
        len: usize,
        baseline: *const c_char,
        baseline_len: usize,
        now_ms: i64,
        out: *mut *mut invar_report,
    ) -> invar_status;
    pub fn invar_check(
        contract: *const invar_contract,
        bytes: *const c_char,
        len: usize,
        baseline: *const c_char,
        baseline_len: usize,
        now_ms: i64,
        out: *mut *mut invar_report,
    ) -> invar_status;

    pub fn invar_gate_open(
        contract: *const invar_contract,
        state_dir: *const c_char,
        out: *mut *mut invar_gate,
    ) -> invar_status;
    pub fn invar_gate_submit(
        gate: *mut invar_gate,
        stream: *const c_char,
        bytes: *const c_char,
        len: usize,
        now_ms: i64,
        out: *mut *mut invar_report,
    ) -> invar_status;
    pub fn invar_gate_init(
        gate: *mut invar_gate,
        stream: *const c_char,
        seed: *const c_char,
        seed_len: usize,
        reason: *const c_char,
        by: *const c_char,
        out: *mut *mut invar_report,
    ) -> invar_status;
    pub fn invar_gate_init_staged(
        gate: *mut invar_gate,
        stream: *const c_char,
        seed: *const c_char,
        seed_len: usize,
        reason: *const c_char,
        by: *const c_char,
        rollout_file: *const c_char,
        out: *mut *mut invar_report,
    ) -> invar_status;
    pub fn invar_gate_free(gate: *mut invar_gate);

    pub fn invar_rollout_step(
        location: *const c_char,
        stream: *const c_char,
        now_ms: i64,
        json_out: *mut *mut c_char,
    ) -> invar_status;
    pub fn invar_rollout_veto(
        location: *const c_char,
        stream: *const c_char,
        digest: *const c_char,
        reason: *const c_char,
        by: *const c_char,
        now_ms: i64,
        json_out: *mut *mut c_char,
    ) -> invar_status;

    pub fn invar_guard_new(
        contract: *const invar_contract,
        state_dir: *const c_char,
        stream: *const c_char,
        out: *mut *mut invar_guard,
    ) -> invar_status;
    pub fn invar_guard_new_staged(
        contract: *const invar_contract,
        state_dir: *const c_char,
        stream: *const c_char,
        stage: *const c_char,
        out: *mut *mut invar_guard,
    ) -> invar_status;
    pub fn invar_guard_update(
        guard: *mut invar_guard,
        bytes: *const c_char,
        len: usize,
        now_ms: i64,
        decision: *mut *mut invar_report,
    ) -> invar_status;
    pub fn invar_guard_seed(
        guard: *mut invar_guard,
        bytes: *const c_char,
        len: usize,
        now_ms: i64,
        decision: *mut *mut invar_report,
    ) -> invar_status;
    pub fn invar_guard_current(guard: *const invar_guard, bytes: *mut *const c_char, len: *mut usize) -> invar_status;
    pub fn invar_guard_refresh(guard: *mut invar_guard, changed: *mut c_int) -> invar_status;
    pub fn invar_guard_release_replaced(guard: *mut invar_guard) -> invar_status;
    pub fn invar_guard_free(guard: *mut invar_guard);
    pub fn invar_guard_new_verified(
        contract: *const invar_contract,
        state_dir: *const c_char,
        stream: *const c_char,
        stage: *const c_char,
        keys: *const invar_trusted_keys,
        out: *mut *mut invar_guard,
    ) -> invar_status;

    pub fn invar_trusted_keys_load(path: *const c_char, out: *mut *mut invar_trusted_keys) -> invar_status;
    pub fn invar_trusted_keys_load_string(
        text: *const c_char,
        len: usize,
        out: *mut *mut invar_trusted_keys,
    ) -> invar_status;
    pub fn invar_trusted_keys_free(keys: *mut invar_trusted_keys);
    pub fn invar_verify_attestation(
        keys: *const invar_trusted_keys,
        envelopes: *const c_char,
        envelopes_len: usize,
        bytes: *const c_char,
        len: usize,
        stream: *const c_char,
        stage: *const c_char,
        min_sequence: u64,
        now_ms: i64,
        verified_json: *mut *mut c_char,
    ) -> invar_status;

    pub fn invar_report_verdict(report: *const invar_report) -> invar_verdict;
    pub fn invar_report_violation_count(report: *const invar_report) -> usize;
    pub fn invar_report_violation(report: *const invar_report, index: usize, out: *mut invar_violation)
        -> invar_status;
    pub fn invar_report_artifact(report: *const invar_report, bytes: *mut *const c_char, len: *mut usize)
        -> invar_status;
    pub fn invar_report_json(report: *const invar_report) -> *mut c_char;
    pub fn invar_report_text(report: *const invar_report) -> *mut c_char;
    pub fn invar_report_render(report: *const invar_report, format: *const c_char) -> *mut c_char;
    pub fn invar_report_violation_location(
        report: *const invar_report,
        index: usize,
        line: *mut u64,
        column: *mut u64,
    ) -> invar_status;
    pub fn invar_report_free(report: *mut invar_report);
}

package invar

/*
#include <stdlib.h>
#include <invar/invar.h>
*/
import "C"

import (
	"runtime"
	"sync"
	"unsafe"
)

// Verdict is a report's verdict, or a gate's or guard's decision.
type Verdict int

const (
	Accept    Verdict = C.INVAR_ACCEPT
	Reject    Verdict = C.INVAR_REJECT
	Pin       Verdict = C.INVAR_PIN       // rejected; the last-known-good stays in service
	Unchanged Verdict = C.INVAR_UNCHANGED // the candidate was the LKG's bytes: nothing changed
)

func (v Verdict) String() string {
	switch v {
	case Accept:
		return "accept"
	case Reject:
		return "reject"
	case Pin:
		return "pin"
	case Unchanged:
		return "unchanged"
	}
	return "unknown"
}

// Violation is one violated invariant, copied out of the report.
type Violation struct {
	Invariant string // invariant id, or "artifact.syntax" etc.
	Kind      string
	Family    string
	Severity  string // "error" or "warn"
	Message   string
	Pointer   string // JSON Pointer into the artifact
	Expected  string
	Actual    string
	Baseline  string // delta family: the LKG's value, else ""
	Why       string
	Line      uint64 // 1-based; 0 when unknown
	Column    uint64 // 1-based, in characters; 0 when unknown
}

// Report is a check's report or a decision. Verdict, Violations and Artifact
// are Go copies; JSON and Render read the C report, freed by Close.
type Report struct {
	Verdict    Verdict
	Violations []Violation

	artifact []byte
	mu       sync.RWMutex // held for reading by JSON and Render, for writing by Close
	p        *C.invar_report
}

func newReport(p *C.invar_report) *Report {
	r := &Report{Verdict: Verdict(C.invar_report_verdict(p)), p: p}
	n := int(C.invar_report_violation_count(p))
	r.Violations = make([]Violation, 0, n)
	for i := 0; i < n; i++ {
		var v C.invar_violation
		if C.invar_report_violation(p, C.size_t(i), &v) != C.INVAR_OK {
			continue
		}
		var line, column C.uint64_t
		C.invar_report_violation_location(p, C.size_t(i), &line, &column)
		r.Violations = append(r.Violations, Violation{
			Invariant: C.GoString(v.invariant), Kind: C.GoString(v.kind), Family: C.GoString(v.family),
			Severity: C.GoString(v.severity), Message: C.GoString(v.message), Pointer: C.GoString(v.pointer),
			Expected: C.GoString(v.expected), Actual: C.GoString(v.actual), Baseline: C.GoString(v.baseline),
			Why: C.GoString(v.why), Line: uint64(line), Column: uint64(column),
		})
	}
	var bytes *C.char
	var n2 C.size_t
	if C.invar_report_artifact(p, &bytes, &n2) == C.INVAR_OK && bytes != nil {
		r.artifact = C.GoBytes(unsafe.Pointer(bytes), C.int(n2))
	}
	runtime.SetFinalizer(r, (*Report).Close)
	return r
}

// Accepted says whether the verdict is Accept.
func (r *Report) Accepted() bool { return r.Verdict == Accept }

// Artifact is, for a decision, the artifact in service after it (nil on a
// reject before any was served, and for a check's report). Do not modify it.
func (r *Report) Artifact() []byte { return r.artifact }

// JSON is the report as JSON (schemas/report.schema.json, or
// decision.schema.json for a decision).
func (r *Report) JSON() (string, error) {
	return r.text(func() *C.char { return C.invar_report_json(r.p) })
}

// Render is the report in a format of `invar check --format`: "human",
// "json", "sarif", "junit", "github" or "tap".
func (r *Report) Render(format string) (string, error) {
	cformat := C.CString(format)
	defer C.free(unsafe.Pointer(cformat))
	return r.text(func() *C.char { return C.invar_report_render(r.p, cformat) })
}

func (r *Report) text(f func() *C.char) (string, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.p == nil {
		return "", closedError("report")
	}
	var s *C.char
	err := call(func() C.invar_status {
		if s = f(); s == nil {
			return C.INVAR_E_ARGUMENT // the message is invar_last_error's
		}
		return C.INVAR_OK
	})
	if err != nil {
		return "", err
	}
	defer C.invar_string_free(s)
	return C.GoString(s), nil
}

// Close frees the C report; Verdict, Violations and Artifact stay. Closing
// twice is a no-op.
func (r *Report) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.p != nil {
		C.invar_report_free(r.p)
		r.p = nil
	}
	runtime.SetFinalizer(r, nil)
	return nil
}

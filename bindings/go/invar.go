// Package invar is the Go binding of invar's C ABI (include/invar/invar.h):
// check configuration artifacts against a contract, gate them in a
// distributor, guard them in a consumer.
//
// Build with CGO_CFLAGS=-I<invar>/include and CGO_LDFLAGS=-L<dir of libinvar.so>
// (the package links -linvar itself).
//
// Thread-safety: a Contract, a Gate and a Report may be used from any number
// of goroutines (the C ABI guarantees it; the Go side only keeps Close from
// freeing a handle under a running call). A Guard too: the C ABI serialises
// its updates, but invar_guard_current's pointer dies at the next update, so
// the Guard copies the artifact in service into Go memory under its own
// sync.RWMutex and Current never waits for a check in progress.
//
// Every handle has a Close method; a finalizer frees what was not closed.
package invar

/*
#cgo LDFLAGS: -linvar
#include <stdlib.h>
#include <invar/invar.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// Status is an invar_status error code.
type Status int

const (
	StatusOK       Status = C.INVAR_OK
	StatusArgument Status = C.INVAR_E_ARGUMENT // a nil handle (a closed one) or a meaningless value
	StatusIO       Status = C.INVAR_E_IO       // a file could not be read or written
	StatusContract Status = C.INVAR_E_CONTRACT // the contract (or a schema, selector, regex in it) does not load
	StatusLimit    Status = C.INVAR_E_LIMIT    // a named resource limit was exceeded
	StatusState    Status = C.INVAR_E_STATE    // the state directory is corrupted or of another version
	StatusUsage    Status = C.INVAR_E_USAGE    // e.g. a bad stream name, a waiver without a reason
	StatusInternal Status = C.INVAR_E_INTERNAL // a bug or out of memory: nothing was changed
	StatusRefused  Status = C.INVAR_E_REFUSED  // an attestation does not verify: the message names the check
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusArgument:
		return "argument"
	case StatusIO:
		return "io"
	case StatusContract:
		return "contract"
	case StatusLimit:
		return "limit"
	case StatusState:
		return "state"
	case StatusUsage:
		return "usage"
	case StatusInternal:
		return "internal"
	case StatusRefused:
		return "refused"
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// Error is a failed call: its status and invar_last_error's message. Use
// errors.As(err, &e) with e of type *invar.Error.
type Error struct {
	Status  Status
	Message string
}

func (e *Error) Error() string { return "invar: " + e.Status.String() + ": " + e.Message }

// ErrRefused matches (errors.Is) an Error whose attestation did not verify
// (StatusRefused): a signed decision refused, its Message naming the check.
var ErrRefused = errors.New("invar: attestation refused")

// Is makes errors.Is(err, ErrRefused) true for a refusal.
func (e *Error) Is(target error) bool { return target == ErrRefused && e.Status == StatusRefused }

// call runs f and reads invar_last_error on the same OS thread: the message
// is per thread, and a goroutine may otherwise move between the two calls.
func call(f func() C.invar_status) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if st := f(); st != C.INVAR_OK {
		return &Error{Status: Status(st), Message: C.GoString(C.invar_last_error())}
	}
	return nil
}

func closedError(what string) error {
	return &Error{Status: StatusArgument, Message: what + " is closed"}
}

// cbytes gives C a view of b for the duration of one call (C copies what it keeps).
func cbytes(b []byte) (*C.char, C.size_t) {
	if len(b) == 0 {
		return nil, 0
	}
	return (*C.char)(unsafe.Pointer(&b[0])), C.size_t(len(b))
}

// cstring is a C copy of s, or NULL for "" when empty means none; free with C.free.
func cstring(s string, emptyIsNull bool) *C.char {
	if s == "" && emptyIsNull {
		return nil
	}
	return C.CString(s)
}

func cfree(p *C.char) {
	if p != nil {
		C.free(unsafe.Pointer(p))
	}
}

// ms is `now` for the C ABI: the zero Time is 0, the system clock.
func ms(now time.Time) C.int64_t {
	if now.IsZero() {
		return 0
	}
	return C.int64_t(now.UnixMilli())
}

// Version is the library's version.
func Version() string { return C.GoString(C.invar_version()) }

// Contract is a compiled contract: immutable, shareable between goroutines.
type Contract struct {
	mu sync.RWMutex // held for reading by calls, for writing by Close
	p  *C.invar_contract
}

// LoadContract loads and compiles the contract at path (JSON or YAML).
func LoadContract(path string) (*Contract, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var p *C.invar_contract
	if err := call(func() C.invar_status { return C.invar_contract_load(cpath, &p) }); err != nil {
		return nil, err
	}
	return newContract(p), nil
}

// LoadContractString compiles a contract from text; baseDir resolves relative
// schema paths ("" is ".").
func LoadContractString(text string, baseDir string) (*Contract, error) {
	ctext, clen := cbytes([]byte(text))
	cdir := cstring(baseDir, true)
	defer cfree(cdir)
	var p *C.invar_contract
	if err := call(func() C.invar_status { return C.invar_contract_load_string(ctext, clen, cdir, &p) }); err != nil {
		return nil, err
	}
	return newContract(p), nil
}

func newContract(p *C.invar_contract) *Contract {
	c := &Contract{p: p}
	runtime.SetFinalizer(c, (*Contract).Close)
	return c
}

// Close frees the contract. Gates and guards opened on it keep working (they
// hold their own reference). Closing twice is a no-op.
func (c *Contract) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.p != nil {
		C.invar_contract_free(c.p)
		c.p = nil
	}
	runtime.SetFinalizer(c, nil)
	return nil
}

// CheckOption tunes Check.
type CheckOption func(*checkOptions)

type checkOptions struct {
	baseline []byte
	hasBase  bool
	now      time.Time
	trials   bool
}

// WithBaseline gives the artifact the delta family compares with.
func WithBaseline(baseline []byte) CheckOption {
	return func(o *checkOptions) { o.baseline, o.hasBase = baseline, true }
}

// At sets the clock for freshness (default: the system clock).
func At(now time.Time) CheckOption { return func(o *checkOptions) { o.now = now } }

// WithTrials also runs the contract's `trial` invariants (commands, in a
// sandbox: docs/trial.md) when the others accept. Only for trusted contracts.
func WithTrials() CheckOption { return func(o *checkOptions) { o.trials = true } }

var emptyBaseline = [1]byte{}

// Check judges data statelessly. Unreadable bytes are a reject, not an error.
func (c *Contract) Check(data []byte, opts ...CheckOption) (*Report, error) {
	var o checkOptions
	for _, opt := range opts {
		opt(&o)
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.p == nil {
		return nil, closedError("contract")
	}
	bytes, n := cbytes(data)
	base, bn := cbytes(o.baseline)
	if o.hasBase && base == nil {
		base = (*C.char)(unsafe.Pointer(&emptyBaseline[0])) // an empty baseline, not none
	}
	var out *C.invar_report
	err := call(func() C.invar_status {
		if o.trials {
			return C.invar_check_trials(c.p, bytes, n, base, bn, ms(o.now), &out)
		}
		return C.invar_check(c.p, bytes, n, base, bn, ms(o.now), &out)
	})
	runtime.KeepAlive(data)
	runtime.KeepAlive(o.baseline)
	if err != nil {
		return nil, err
	}
	return newReport(out), nil
}

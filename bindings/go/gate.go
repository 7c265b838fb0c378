package invar

/*
#include <stdlib.h>
#include <invar/invar.h>
*/
import "C"

import (
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// Gate judges submissions to the streams of a state location (a directory,
// or "etcd://HOST:PORT[,...][/PREFIX]"), as `invar gate` does (docs/gate.md).
// Safe for concurrent use: the C ABI serialises calls on one stream.
type Gate struct {
	mu sync.RWMutex // held for reading by calls, for writing by Close
	p  *C.invar_gate
}

// OpenGate opens a gate of contract c over stateDir.
func OpenGate(c *Contract, stateDir string) (*Gate, error) {
	cdir := C.CString(stateDir)
	defer C.free(unsafe.Pointer(cdir))
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.p == nil {
		return nil, closedError("contract")
	}
	var p *C.invar_gate
	if err := call(func() C.invar_status { return C.invar_gate_open(c.p, cdir, &p) }); err != nil {
		return nil, err
	}
	g := &Gate{p: p}
	runtime.SetFinalizer(g, (*Gate).Close)
	return g, nil
}

// Init creates stream (gates refuse streams that were not created). seed (nil:
// none) is a first LKG judged by the stateless invariants and needs a reason;
// by names who. The report is the seed's decision: Accept, or Reject (nothing
// was created).
func (g *Gate) Init(stream string, seed []byte, reason, by string) (*Report, error) {
	return g.init(stream, seed, reason, by, "")
}

// InitStaged is Init for a stream with stages (docs/rollout.md): rolloutFile
// is a rollout file (JSON or YAML).
func (g *Gate) InitStaged(stream string, seed []byte, reason, by, rolloutFile string) (*Report, error) {
	if rolloutFile == "" {
		return nil, &Error{Status: StatusArgument, Message: "InitStaged: rolloutFile is empty"}
	}
	return g.init(stream, seed, reason, by, rolloutFile)
}

func (g *Gate) init(stream string, seed []byte, reason, by, rolloutFile string) (*Report, error) {
	cstream, creason, cby, crollout := C.CString(stream), cstring(reason, true), C.CString(by), cstring(rolloutFile, true)
	defer cfree(cstream)
	defer cfree(creason)
	defer cfree(cby)
	defer cfree(crollout)
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.p == nil {
		return nil, closedError("gate")
	}
	bytes, n := cbytes(seed)
	var out *C.invar_report
	err := call(func() C.invar_status {
		if crollout != nil {
			return C.invar_gate_init_staged(g.p, cstream, bytes, n, creason, cby, crollout, &out)
		}
		return C.invar_gate_init(g.p, cstream, bytes, n, creason, cby, &out)
	})
	runtime.KeepAlive(seed)
	if err != nil {
		return nil, err
	}
	return newReport(out), nil
}

// Submit judges data as the next artifact of stream. The decision is Accept,
// Reject or Pin; on Accept and Pin, its Artifact is what to publish. now is
// the clock (the zero Time: the system clock). An error means it could not
// judge, and nothing was changed.
func (g *Gate) Submit(stream string, data []byte, now time.Time) (*Report, error) {
	cstream := C.CString(stream)
	defer C.free(unsafe.Pointer(cstream))
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.p == nil {
		return nil, closedError("gate")
	}
	bytes, n := cbytes(data)
	var out *C.invar_report
	err := call(func() C.invar_status { return C.invar_gate_submit(g.p, cstream, bytes, n, ms(now), &out) })
	runtime.KeepAlive(data)
	if err != nil {
		return nil, err
	}
	return newReport(out), nil
}

// Close frees the gate. Closing twice is a no-op.
func (g *Gate) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.p != nil {
		C.invar_gate_free(g.p)
		g.p = nil
	}
	runtime.SetFinalizer(g, nil)
	return nil
}

// Guard holds a consumer's artifact in service and never drops it for a bad
// update. Safe for concurrent use: Update, Seed and Refresh are serialised by
// the Guard (invar_guard_current's pointer dies at the next C update, so the
// artifact is copied into Go memory before another starts); Current only
// takes a read lock on that copy and never waits for a check in progress.
type Guard struct {
	update sync.Mutex   // serialises the C calls that change the artifact in service, and Close
	mu     sync.RWMutex // guards cur, the Go copy Current returns
	p      *C.invar_guard
	cur    []byte
}

// NewGuard creates a guard of contract c. With stateDir and stream empty the
// last-known-good lives in memory; with both, in that stream of the state
// location, and a restarted consumer starts with it.
func NewGuard(c *Contract, stateDir, stream string) (*Guard, error) {
	return NewStagedGuard(c, stateDir, stream, "")
}

// NewStagedGuard is a persistent guard of a stream with stages serving stage
// ("": the last stage, what everyone gets).
func NewStagedGuard(c *Contract, stateDir, stream, stage string) (*Guard, error) {
	cdir, cstream, cstage := cstring(stateDir, true), cstring(stream, true), cstring(stage, true)
	defer cfree(cdir)
	defer cfree(cstream)
	defer cfree(cstage)
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.p == nil {
		return nil, closedError("contract")
	}
	var p *C.invar_guard
	if err := call(func() C.invar_status { return C.invar_guard_new_staged(c.p, cdir, cstream, cstage, &p) }); err != nil {
		return nil, err
	}
	g := &Guard{p: p}
	g.cur = g.copyCurrent()
	runtime.SetFinalizer(g, (*Guard).Close)
	return g, nil
}

// copyCurrent copies the C artifact in service; callers hold g.update (or own g).
func (g *Guard) copyCurrent() []byte {
	var bytes *C.char
	var n C.size_t
	if C.invar_guard_current(g.p, &bytes, &n) != C.INVAR_OK || bytes == nil {
		return nil
	}
	return C.GoBytes(unsafe.Pointer(bytes), C.int(n))
}

// Update judges data. The guard keeps serving its artifact unless data is
// accepted; the decision says which (Accept, Pin, Reject before any artifact
// was served, Unchanged). now is the clock (the zero Time: the system clock).
func (g *Guard) Update(data []byte, now time.Time) (*Report, error) {
	return g.change(data, now, false)
}

// Seed gives an in-memory guard its first artifact, judged by the stateless
// invariants only (as `invar init --seed`); StatusUsage when it serves one
// already or is persistent.
func (g *Guard) Seed(data []byte, now time.Time) (*Report, error) {
	return g.change(data, now, true)
}

func (g *Guard) change(data []byte, now time.Time, seed bool) (*Report, error) {
	g.update.Lock()
	defer g.update.Unlock()
	if g.p == nil {
		return nil, closedError("guard")
	}
	bytes, n := cbytes(data)
	var out *C.invar_report
	err := call(func() C.invar_status {
		if seed {
			return C.invar_guard_seed(g.p, bytes, n, ms(now), &out)
		}
		return C.invar_guard_update(g.p, bytes, n, ms(now), &out)
	})
	runtime.KeepAlive(data)
	if err != nil {
		return nil, err
	}
	g.publish(g.copyCurrent())
	return newReport(out), nil
}

func (g *Guard) publish(cur []byte) {
	g.mu.Lock()
	g.cur = cur
	g.mu.Unlock()
}

// Current is the artifact in service (nil before any was accepted). The
// slice is shared with other callers: do not modify it.
func (g *Guard) Current() []byte {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.cur
}

// Refresh takes one look at a persistent guard's stream: true when a newer
// LKG (promoted by gates elsewhere) was read, verified, and is now served;
// always false for an in-memory guard. An error leaves the artifact in
// service as it was: call it again later.
func (g *Guard) Refresh() (bool, error) {
	g.update.Lock()
	defer g.update.Unlock()
	if g.p == nil {
		return false, closedError("guard")
	}
	var changed C.int
	if err := call(func() C.invar_status { return C.invar_guard_refresh(g.p, &changed) }); err != nil {
		return false, err
	}
	if changed != 0 {
		g.publish(g.copyCurrent())
		// Current hands out Go copies, so no caller holds the replaced C bytes.
		C.invar_guard_release_replaced(g.p)
	}
	return changed != 0, nil
}

// Close frees the guard; Current keeps returning the last artifact. Closing
// twice is a no-op.
func (g *Guard) Close() error {
	g.update.Lock()
	defer g.update.Unlock()
	if g.p != nil {
		C.invar_guard_free(g.p)
		g.p = nil
	}
	runtime.SetFinalizer(g, nil)
	return nil
}

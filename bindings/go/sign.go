package invar

/*
#include <stdlib.h>
#include <invar/invar.h>
*/
import "C"

import (
	"encoding/json"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// TrustedKeys are the public keys trusted to sign decisions (a trusted-keys
// file, docs/signing.md): immutable, shareable between goroutines. Close
// frees them (a finalizer frees what was not closed).
type TrustedKeys struct {
	mu sync.RWMutex // held for reading by calls, for writing by Close
	p  *C.invar_trusted_keys
}

// LoadTrustedKeys reads a trusted-keys file; its errors are located (StatusUsage).
func LoadTrustedKeys(path string) (*TrustedKeys, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var p *C.invar_trusted_keys
	if err := call(func() C.invar_status { return C.invar_trusted_keys_load(cpath, &p) }); err != nil {
		return nil, err
	}
	return newTrustedKeys(p), nil
}

// LoadTrustedKeysString is LoadTrustedKeys of the file's text.
func LoadTrustedKeysString(text string) (*TrustedKeys, error) {
	ctext, clen := cbytes([]byte(text))
	var p *C.invar_trusted_keys
	if err := call(func() C.invar_status { return C.invar_trusted_keys_load_string(ctext, clen, &p) }); err != nil {
		return nil, err
	}
	return newTrustedKeys(p), nil
}

func newTrustedKeys(p *C.invar_trusted_keys) *TrustedKeys {
	k := &TrustedKeys{p: p}
	runtime.SetFinalizer(k, (*TrustedKeys).Close)
	return k
}

// Close frees the keys; a guard given them keeps its own copy. Closing twice is a no-op.
func (k *TrustedKeys) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.p != nil {
		C.invar_trusted_keys_free(k.p)
		k.p = nil
	}
	runtime.SetFinalizer(k, nil)
	return nil
}

// Expect is what a distributor expects of the artifact it is about to serve.
type Expect struct {
	Stream      *string   // nil: any stream
	Stage       *string   // nil: any stage; "": a stream without stages
	MinSequence uint64    // the highest sequence served: lower is a rollback
	Now         time.Time // the clock for expiry and keys' not_after; zero: the system clock
}

// VerifiedStatement is what a verified attestation says (docs/signing.md).
type VerifiedStatement struct {
	Name           string    `json:"name"`
	SHA256         string    `json:"sha256"`
	Stream         string    `json:"stream"`
	Stage          string    `json:"stage"`
	Sequence       uint64    `json:"sequence"`
	Contract       string    `json:"contract"`
	ContractDigest string    `json:"contract_digest"`
	Verdict        string    `json:"verdict"`
	DecidedAt      time.Time `json:"decided_at"`
	Expires        time.Time `json:"expires"`
	KeyID          string    `json:"keyid"`
}

// VerifyAttestation verifies a decision's attestation (a FILE.intoto.jsonl:
// any one envelope suffices) for data. A refusal is an *Error matching
// ErrRefused, its Message naming the check that failed.
func VerifyAttestation(keys *TrustedKeys, envelopes, data []byte, expect Expect) (*VerifiedStatement, error) {
	var cstream, cstage *C.char
	if expect.Stream != nil {
		cstream = C.CString(*expect.Stream)
		defer cfree(cstream)
	}
	if expect.Stage != nil {
		cstage = C.CString(*expect.Stage)
		defer cfree(cstage)
	}
	keys.mu.RLock()
	defer keys.mu.RUnlock()
	if keys.p == nil {
		return nil, closedError("trusted keys")
	}
	env, en := cbytes(envelopes)
	bytes, n := cbytes(data)
	var out *C.char
	err := call(func() C.invar_status {
		return C.invar_verify_attestation(keys.p, env, en, bytes, n, cstream, cstage, C.uint64_t(expect.MinSequence),
			ms(expect.Now), &out)
	})
	runtime.KeepAlive(envelopes)
	runtime.KeepAlive(data)
	if err != nil {
		return nil, err
	}
	defer C.invar_string_free(out)
	var v VerifiedStatement
	if err := json.Unmarshal([]byte(C.GoString(out)), &v); err != nil {
		return nil, &Error{Status: StatusInternal, Message: "the verified statement does not parse: " + err.Error()}
	}
	return &v, nil
}

// NewVerifiedGuard is a persistent guard (stage as for NewStagedGuard) that
// serves only a stored LKG whose attestation keys verify: a refusal is an
// error matching ErrRefused, here (no guard) and from Refresh (the artifact
// in service is kept). The guard copies keys: close them when you like.
func NewVerifiedGuard(c *Contract, stateDir, stream, stage string, keys *TrustedKeys) (*Guard, error) {
	cdir, cstream, cstage := cstring(stateDir, true), cstring(stream, true), cstring(stage, true)
	defer cfree(cdir)
	defer cfree(cstream)
	defer cfree(cstage)
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.p == nil {
		return nil, closedError("contract")
	}
	keys.mu.RLock()
	defer keys.mu.RUnlock()
	if keys.p == nil {
		return nil, closedError("trusted keys")
	}
	var p *C.invar_guard
	if err := call(func() C.invar_status {
		return C.invar_guard_new_verified(c.p, cdir, cstream, cstage, keys.p, &p)
	}); err != nil {
		return nil, err
	}
	g := &Guard{p: p}
	g.cur = g.copyCurrent()
	runtime.SetFinalizer(g, (*Guard).Close)
	return g, nil
}

package invar_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"invar.dev/invar"
)

// tests/data/signing: an artifact, its attestation (stream "s", no stage,
// sequence 1, valid 2026-12-01T10:00Z to 2026-12-02T10:00Z) and the
// trusted-keys file of the key that signed it.
func signing(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "tests/data/signing", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	fresh = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	late  = time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
)

func trustedKeys(t *testing.T) *invar.TrustedKeys {
	t.Helper()
	keys, err := invar.LoadTrustedKeys(filepath.Join(root, "tests/data/signing/trusted-keys.json"))
	if err != nil {
		t.Fatalf("LoadTrustedKeys: %v", err)
	}
	t.Cleanup(func() { keys.Close() })
	return keys
}

func TestVerifyAttestation(t *testing.T) {
	keys := trustedKeys(t)
	envelopes, artifact := signing(t, "artifact.json.intoto.jsonl"), signing(t, "artifact.json")
	stream, stage := "s", ""
	v, err := invar.VerifyAttestation(keys, envelopes, artifact, invar.Expect{Stream: &stream, Stage: &stage, Now: fresh})
	if err != nil {
		t.Fatalf("VerifyAttestation: %v", err)
	}
	if v.Sequence != 1 || v.Stream != "s" || v.Verdict != "accept" || v.KeyID != "binding-test" ||
		!v.Expires.Equal(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("verified: %+v", v)
	}
	refusals := map[string]invar.Expect{"(freeze)": {Now: late}, "(rollback)": {Now: fresh, MinSequence: 2}}
	for check, expect := range refusals {
		_, err := invar.VerifyAttestation(keys, envelopes, artifact, expect)
		var e *invar.Error
		if !errors.Is(err, invar.ErrRefused) || !errors.As(err, &e) || !strings.Contains(e.Message, check) {
			t.Errorf("%s: %v", check, err)
		}
	}
	changed := append(append([]byte{}, artifact...), ' ')
	_, err = invar.VerifyAttestation(keys, envelopes, changed, invar.Expect{Now: fresh})
	if !errors.Is(err, invar.ErrRefused) || !strings.Contains(err.Error(), "subject digest differs") {
		t.Errorf("bytes changed: %v", err)
	}
	if _, err := invar.LoadTrustedKeysString(`{"keys": []}`); err == nil || errors.Is(err, invar.ErrRefused) {
		t.Errorf("an empty key list: %v", err)
	}
}

func TestVerifiedGuardRefusesAnUnsignedLKG(t *testing.T) {
	c, err := invar.LoadContractString(`{"contract": "race", "invariants": [{"id": "items", "count": "$.items[*]", "min": 1}]}`, "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dir := t.TempDir()
	gate, err := invar.OpenGate(c, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer gate.Close()
	if _, err := gate.Init("s", signing(t, "artifact.json"), "unsigned", "go-test"); err != nil {
		t.Fatal(err)
	}
	_, err = invar.NewVerifiedGuard(c, dir, "s", "", trustedKeys(t))
	if !errors.Is(err, invar.ErrRefused) || !strings.Contains(err.Error(), "carries no attestation") {
		t.Fatalf("NewVerifiedGuard: %v", err)
	}
	g, err := invar.NewGuard(c, dir, "s") // without keys nothing changes
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if string(g.Current()) != string(signing(t, "artifact.json")) {
		t.Fatalf("current: %q", g.Current())
	}
}

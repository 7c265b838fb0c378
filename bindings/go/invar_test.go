package invar_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"invar.dev/invar"
)

// The repository's root, from this package's directory (go test runs there).
const root = "../.."

func load(t *testing.T) *invar.Contract {
	t.Helper()
	c, err := invar.LoadContract(filepath.Join(root, "rules/feature-file.contract.json"))
	if err != nil {
		t.Fatalf("LoadContract: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "examples/cloudflare-2025-features", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCheckAcceptsAndRejects(t *testing.T) {
	c := load(t)
	good, err := c.Check(read(t, "good.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	if good.Verdict != invar.Accept || len(good.Violations) != 0 {
		t.Fatalf("good.json: %v %v", good.Verdict, good.Violations)
	}
	bad, err := c.Check(read(t, "bad.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if bad.Verdict != invar.Reject || len(bad.Violations) == 0 {
		t.Fatalf("bad.json: %v %v", bad.Verdict, bad.Violations)
	}
	found := false
	for _, v := range bad.Violations {
		if v.Invariant == "features.unique" && v.Severity == "error" && v.Why != "" && v.Line > 0 {
			found = true
		}
	}
	if !found {
		t.Errorf("no located features.unique violation: %+v", bad.Violations)
	}
	js, err := bad.JSON()
	if err != nil || !strings.Contains(js, `"features.unique"`) {
		t.Errorf("JSON: %v %q", err, js)
	}
	sarif, err := bad.Render("sarif")
	if err != nil || !strings.Contains(sarif, `"version"`) {
		t.Errorf("Render(sarif): %v", err)
	}
	// A syntax error is a reject, not an error.
	junk, err := c.Check([]byte("{not json"))
	if err != nil || junk.Verdict != invar.Reject {
		t.Errorf("junk: %v %v", junk, err)
	}
	// The delta family against a baseline: good then bad doubles the count.
	delta, err := c.Check(read(t, "bad.json"), invar.WithBaseline(read(t, "good.json")), invar.At(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	growth := false
	for _, v := range delta.Violations {
		growth = growth || v.Invariant == "features.growth"
	}
	if !growth {
		t.Errorf("no features.growth violation against the baseline: %+v", delta.Violations)
	}
}

func TestErrorsAs(t *testing.T) {
	_, err := invar.LoadContract(filepath.Join(root, "rules/no-such.contract.json"))
	var e *invar.Error
	if !errors.As(err, &e) {
		t.Fatalf("errors.As(%v) is false", err)
	}
	if e.Status != invar.StatusIO || e.Message == "" {
		t.Errorf("status %v message %q", e.Status, e.Message)
	}
	_, err = invar.LoadContractString(`{"contract": 12}`, "")
	if !errors.As(err, &e) || e.Status != invar.StatusContract {
		t.Errorf("a bad contract: %v", err)
	}
	c := load(t)
	r, _ := c.Check([]byte("{}"))
	if _, err := r.Render("no-such-format"); !errors.As(err, &e) || !strings.Contains(e.Message, "sarif") {
		t.Errorf("an unknown format: %v", err)
	}
	// A closed handle is an error, never a crash.
	c.Close()
	if _, err := c.Check([]byte("{}")); !errors.As(err, &e) || e.Status != invar.StatusArgument {
		t.Errorf("a closed contract: %v", err)
	}
}

func TestGateAcceptsThenPins(t *testing.T) {
	c := load(t)
	g, err := invar.OpenGate(c, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if _, err := g.Submit("bot-features", read(t, "good.json"), time.Time{}); err == nil {
		t.Error("a stream that was not created was accepted")
	}
	if _, err := g.Init("bot-features", nil, "", "go-test"); err != nil {
		t.Fatal(err)
	}
	good := read(t, "good.json")
	d, err := g.Submit("bot-features", good, time.Time{})
	if err != nil || d.Verdict != invar.Accept || string(d.Artifact()) != string(good) {
		t.Fatalf("good: %v %v", d, err)
	}
	d, err = g.Submit("bot-features", read(t, "bad.json"), time.Time{})
	if err != nil || d.Verdict != invar.Pin || string(d.Artifact()) != string(good) {
		t.Fatalf("bad: %v %v", d, err)
	}
	js, err := d.JSON()
	if err != nil || !strings.Contains(js, "pin") {
		t.Errorf("decision JSON: %v %s", err, js)
	}
}

// The 18 Nov 2025 Cloudflare outage: a doubled feature file reached every
// proxy. A consumer behind a Guard keeps serving the good one and says why.
func TestCloudflare2025Replay(t *testing.T) {
	c := load(t)
	g, err := invar.NewGuard(c, "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	c.Close() // the guard holds its own reference to the compiled contract
	if g.Current() != nil {
		t.Fatal("a new guard serves something")
	}
	good := read(t, "good.json")
	d, err := g.Update(good, time.Time{})
	if err != nil || d.Verdict != invar.Accept {
		t.Fatalf("good: %v %v", d, err)
	}
	d, err = g.Update(read(t, "bad.json"), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Verdict != invar.Pin || len(d.Violations) == 0 {
		t.Fatalf("bad: %v %+v", d.Verdict, d.Violations)
	}
	if string(g.Current()) != string(good) {
		t.Fatal("the guard does not serve good.json after bad.json")
	}
	d, err = g.Update(good, time.Time{})
	if err != nil || d.Verdict != invar.Unchanged {
		t.Fatalf("good again: %v %v", d, err)
	}
}

func TestPersistentGuardFollowsTheGate(t *testing.T) {
	c := load(t)
	dir := t.TempDir()
	gate, err := invar.OpenGate(c, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer gate.Close()
	good := read(t, "good.json")
	if d, err := gate.Init("bot-features", good, "first file", "go-test"); err != nil || d.Verdict != invar.Accept {
		t.Fatalf("init: %v %v", d, err)
	}
	g, err := invar.NewGuard(c, dir, "bot-features")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if string(g.Current()) != string(good) {
		t.Fatal("a persistent guard does not start with the stream's LKG")
	}
	changed, err := g.Refresh()
	if err != nil || changed {
		t.Errorf("refresh with nothing new: %v %v", changed, err)
	}
	// A gate promotes a smaller feature file; the guard follows at its next look.
	var file map[string]any
	if err := json.Unmarshal(good, &file); err != nil {
		t.Fatal(err)
	}
	features := file["features"].([]any)
	file["features"] = features[:len(features)-1]
	next, _ := json.Marshal(file)
	if d, err := gate.Submit("bot-features", next, time.Time{}); err != nil || d.Verdict != invar.Accept {
		t.Fatalf("submit: %v %v", d, err)
	}
	held := g.Current()
	changed, err = g.Refresh()
	if err != nil || !changed || string(g.Current()) != string(next) {
		t.Errorf("refresh after a promotion: %v %v", changed, err)
	}
	if string(held) != string(good) {
		t.Error("a slice Current gave out changed under a refresh")
	}
}

// Many goroutines share one Guard: readers never see anything but good.json
// or a whole accepted candidate, and no update is lost (run with -race).
func TestGuardConcurrent(t *testing.T) {
	c := load(t)
	g, err := invar.NewGuard(c, "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	good, bad := read(t, "good.json"), read(t, "bad.json")
	if _, err := g.Update(good, time.Time{}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				d, err := g.Update(bad, time.Time{})
				if err != nil || d.Verdict != invar.Pin {
					errs <- "an update of bad.json was not pinned"
					return
				}
				d.Close()
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				if string(g.Current()) != string(good) {
					errs <- "Current is not good.json"
					return
				}
				if r, err := c.Check(good); err != nil || r.Verdict != invar.Accept {
					errs <- "a concurrent check of good.json did not accept"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

package invar_test

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"invar.dev/invar"
)

// The README's example, verbatim (TestReadmeExample checks it).
func Example() {
	contract, _ := invar.LoadContract("../../rules/feature-file.contract.json")
	guard, _ := invar.NewGuard(contract, "", "") // in memory; or (contract, "/var/lib/invar", "bot-features")
	good, _ := os.ReadFile("../../examples/cloudflare-2025-features/good.json")
	bad, _ := os.ReadFile("../../examples/cloudflare-2025-features/bad.json") // the doubled file
	guard.Update(good, time.Time{})
	decision, _ := guard.Update(bad, time.Time{})
	fmt.Println(decision.Verdict, bytes.Equal(guard.Current(), good)) // pin true: still serving good.json
	// Output: pin true
}

// The README's ```go block is Example's body.
func TestReadmeExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	block := strings.SplitN(strings.SplitN(string(readme), "```go\n", 2)[1], "```", 2)[0]
	source, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	body := strings.SplitN(strings.SplitN(string(source), "func Example() {\n", 2)[1], "\t// Output:", 2)[0]
	if strings.ReplaceAll(body, "\t", "") != block {
		t.Errorf("README.md's example is not Example's body:\n%s\nvs\n%s", block, body)
	}
}

package circuits

import (
	"os"
	"testing"
)

// Every claim package under this directory is registered (a package that is
// not imported by registry.go would compile but never be served), and the
// registry holds nothing else.
func TestEveryClaimPackageRegistered(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	registered := map[string]bool{}
	for _, d := range All() {
		registered[d.Name] = true
	}
	dirs := 0
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "claim" || e.Name() == "common" || e.Name() == "testdata" {
			continue
		}
		if _, err := os.Stat(e.Name() + "/claim.go"); err != nil {
			t.Errorf("%s/ has no claim.go (its JSON types and registration)", e.Name())
			continue
		}
		dirs++
		if !registered[e.Name()] {
			t.Errorf("claim package %s/ is not registered: add its blank import to registry.go", e.Name())
		}
	}
	if dirs != len(registered) {
		t.Errorf("%d claim packages, %d registered circuits", dirs, len(registered))
	}
	if LookupOp("merkle") == nil {
		t.Error("inclusion's merkle op is not registered")
	}
}

package inclusion

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
)

// A real Groth16 round trip at depth 10: the proof verifies for the true public
// inputs and not for another root, digest or name.
func TestGroth16RoundTrip(t *testing.T) {
	tr := sampleTree(t, 300)
	w := mustAssign(t, tr, tr.Components[123])
	circuittest.Groth16RoundTrip(t, New(testCap), w, map[string]func(*Circuit){
		"other root":   func(w *Circuit) { w.Root = sampleTree(t, 301).Root() },
		"other digest": func(w *Circuit) { w.DigestHi = add(w.DigestHi, 1) },
		"other name":   func(w *Circuit) { w.Name[0] = add(w.Name[0], 1) },
	})
}

// Constraint counts per depth (VERITEE_COUNT_CAP=1048576 for depth 20).
func TestConstraintCount(t *testing.T) {
	caps := []int{1024, 1 << 20}
	if v := os.Getenv("VERITEE_COUNT_CAP"); v != "" {
		c, _ := strconv.Atoi(v)
		caps = []int{c}
	}
	for _, c := range caps {
		t0 := time.Now()
		ccs, err := circuittest.Compile(New(c))
		if err != nil {
			t.Fatal(err)
		}
		d := DepthOf(c)
		t.Logf("depth %d (%d leaves): %d constraints, %d public inputs, compile %v", d, c, ccs.GetNbConstraints(), ccs.GetNbPublicVariables()-1, time.Since(t0))
	}
}

package memory

import (
	"testing"

	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
)

// A real Groth16 round trip at a tiny shape: the proof verifies for the true
// outputs and not for a flipped decision or a changed threshold.
func TestGroth16RoundTrip(t *testing.T) {
	sh := Shape{Samples: 4, Processes: 8}
	w, _, err := Assign(sh, sampleInput(3, 5, 9000, 77))
	if err != nil {
		t.Fatal(err)
	}
	circuittest.Groth16RoundTrip(t, New(sh), w, map[string]func(*Circuit){
		"a changed flipped decision": func(c *Circuit) { c.ScaleOut = 1 - toU(c.ScaleOut) },
		"a changed threshold":        func(c *Circuit) { c.ThresholdBp = toU(c.ThresholdBp) + 1 },
		"a changed usage":            func(c *Circuit) { c.UsageBp = toU(c.UsageBp) - 1 },
	})
}

// Constraint count of a size class: VERITEE_COUNT_CAP=16384 go test -run Count -v
func TestConstraintCount(t *testing.T) {
	c := circuittest.CountCap(512)
	if _, ok := Classes[c]; !ok {
		c = 512
	}
	circuittest.CountClass(t, c, Classes, NewClass, 1, "cell")
}

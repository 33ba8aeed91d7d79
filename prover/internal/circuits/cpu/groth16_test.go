package cpu

import (
	"testing"

	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
)

func TestGroth16RoundTrip(t *testing.T) {
	sh := Shape{Samples: 4, Processes: 8}
	w, _, err := Assign(sh, sampleInput(3, 6, 2, 9000, 300, 77))
	if err != nil {
		t.Fatal(err)
	}
	circuittest.Groth16RoundTrip(t, New(sh), w, map[string]func(*Circuit){
		"a changed decision":       func(c *Circuit) { c.ScaleOut = 1 - toU(c.ScaleOut) },
		"a changed platform flag":  func(c *Circuit) { c.PlatformBelowLimit = 1 - toU(c.PlatformBelowLimit) },
		"a changed threshold":      func(c *Circuit) { c.ThresholdBp = toU(c.ThresholdBp) + 1 },
		"a changed band":           func(c *Circuit) { c.Band = toU(c.Band) + 1 },
		"a changed platform limit": func(c *Circuit) { c.PlatformLimitBp = toU(c.PlatformLimitBp) + 1 },
	})
}

func TestConstraintCount(t *testing.T) {
	circuittest.CountClass(t, circuittest.CountCap(512), Classes, NewClass, 1, "cell")
}

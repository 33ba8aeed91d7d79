package disk

import (
	"testing"

	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
)

func TestGroth16RoundTrip(t *testing.T) {
	sh := Shape{Mounts: 3, Samples: 4}
	w, _, err := Assign(sh, sampleInput(2, 3, 9000, 50, 77))
	if err != nil {
		t.Fatal(err)
	}
	circuittest.Groth16RoundTrip(t, New(sh), w, map[string]func(*Circuit){
		"a changed decision":        func(c *Circuit) { c.ScaleOut = 1 - toU(c.ScaleOut) },
		"a changed performance":     func(c *Circuit) { c.PerformanceIssue = 1 - toU(c.PerformanceIssue) },
		"a changed usage threshold": func(c *Circuit) { c.UsageThresholdBp = toU(c.UsageThresholdBp) + 1 },
		"a changed max usage":       func(c *Circuit) { c.MaxUsageBp = toU(c.MaxUsageBp) - 1 },
	})
}

func TestConstraintCount(t *testing.T) {
	circuittest.CountClass(t, circuittest.CountCap(128), Classes, NewClass, 1, "cell")
}

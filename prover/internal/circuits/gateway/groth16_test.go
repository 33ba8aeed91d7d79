package gateway

import (
	"testing"

	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
)

func TestGroth16RoundTrip(t *testing.T) {
	sh := Shape{Requests: 64, Checks: 8}
	w, _, err := Assign(sh, sampleInput(50, mix{fourXX: 3}, 6, 0, 77))
	if err != nil {
		t.Fatal(err)
	}
	circuittest.Groth16RoundTrip(t, New(sh), w, map[string]func(*Circuit){
		"a changed verdict":   func(c *Circuit) { c.Compliant = 1 - toU(c.Compliant) },
		"a changed health":    func(c *Circuit) { c.HealthBp = toU(c.HealthBp) - 1 },
		"a changed threshold": func(c *Circuit) { c.MinConnectionBp = toU(c.MinConnectionBp) + 1 },
		"a changed period":    func(c *Circuit) { c.PeriodStart = toU(c.PeriodStart) + 1 },
	})
}

func TestConstraintCount(t *testing.T) {
	circuittest.CountClass(t, circuittest.CountCap(1024), Classes, NewClass, 2, "request")
}

package compare

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/rangecheck"
	"github.com/consensys/gnark/test"
)

type lessCircuit struct {
	A, B, Bit frontend.Variable
}

func (c *lessCircuit) Define(api frontend.API) error {
	AssertLess(api, rangecheck.New(api), c.Bit, c.A, c.B, 10)
	return nil
}

// At the edge: 10 < 11 is 1, 11 < 11 is 0, and the wrong bit fails either way.
func TestAssertLess(t *testing.T) {
	a := test.NewAssert(t)
	for _, c := range []struct{ a, b, bit int }{{10, 11, 1}, {11, 11, 0}, {12, 11, 0}, {0, 1023, 1}, {1023, 0, 0}} {
		a.CheckCircuit(&lessCircuit{}, test.WithValidAssignment(&lessCircuit{A: c.a, B: c.b, Bit: c.bit}),
			test.WithInvalidAssignment(&lessCircuit{A: c.a, B: c.b, Bit: 1 - c.bit}),
			test.WithCurves(ecc.BN254), test.NoFuzzing(), test.NoSerializationChecks())
	}
	// operands past the bound are refused
	a.CheckCircuit(&lessCircuit{}, test.WithInvalidAssignment(&lessCircuit{A: 0, B: 2048, Bit: 1}),
		test.WithCurves(ecc.BN254), test.NoFuzzing(), test.NoSerializationChecks())
}

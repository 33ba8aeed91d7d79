package div

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/rangecheck"
	"github.com/consensys/gnark/test"
)

type divCircuit struct{ Num, Den, Q frontend.Variable }

func (c *divCircuit) Define(api frontend.API) error {
	api.AssertIsEqual(Div(api, rangecheck.New(api), c.Num, c.Den, 14, 20), c.Q)
	return nil
}

func TestDiv(t *testing.T) {
	a := test.NewAssert(t)
	a.CheckCircuit(&divCircuit{},
		test.WithValidAssignment(&divCircuit{Num: 87120000, Den: 10000, Q: 8712}),
		test.WithValidAssignment(&divCircuit{Num: 7, Den: 3, Q: 2}),
		test.WithInvalidAssignment(&divCircuit{Num: 7, Den: 3, Q: 3}),
		test.WithInvalidAssignment(&divCircuit{Num: 7, Den: 3, Q: 1}),
		test.WithCurves(ecc.BN254), test.NoFuzzing(), test.NoSerializationChecks())
}

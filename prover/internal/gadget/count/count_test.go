package count

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/rangecheck"
	"github.com/consensys/gnark/test"
)

type countCircuit struct {
	Values [5]frontend.Variable
	Active [5]frontend.Variable
	Bound  frontend.Variable
	Count  frontend.Variable
	Any    frontend.Variable
}

func (c *countCircuit) Define(api frontend.API) error {
	n := CountAbove(api, rangecheck.New(api), c.Values[:], c.Active[:], c.Bound, 16)
	api.AssertIsEqual(n, c.Count)
	api.AssertIsEqual(Any(api, []frontend.Variable{api.Sub(1, api.IsZero(n))}), c.Any)
	return nil
}

// Values 5 9 10 11 (and a padding 99): above 9 are 10 and 11; a count off by
// one either way, an "any" flipped, or the padding counted are refused.
func TestCountAbove(t *testing.T) {
	a := test.NewAssert(t)
	vals := [5]frontend.Variable{5, 9, 10, 11, 99}
	act := [5]frontend.Variable{1, 1, 1, 1, 0}
	w := func(bound, count, any int) *countCircuit {
		return &countCircuit{Values: vals, Active: act, Bound: bound, Count: count, Any: any}
	}
	a.CheckCircuit(&countCircuit{},
		test.WithValidAssignment(w(9, 2, 1)),
		test.WithValidAssignment(w(11, 0, 0)),
		test.WithValidAssignment(w(0, 4, 1)),
		test.WithInvalidAssignment(w(9, 1, 1)),
		test.WithInvalidAssignment(w(9, 3, 1)),
		test.WithInvalidAssignment(w(11, 0, 1)),
		test.WithInvalidAssignment(w(11, 1, 1)),
		test.WithCurves(ecc.BN254), test.NoFuzzing(), test.NoSerializationChecks())
}

package prefix

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/test"
)

type prefixCircuit struct {
	Flags  [4]frontend.Variable
	Values [4]frontend.Variable
	N      frontend.Variable
}

func (c *prefixCircuit) Define(api frontend.API) error {
	PrefixFlags(api, c.Flags[:], c.N)
	for i := range c.Values {
		AssertZeroUnlessActive(api, c.Flags[i], c.Values[i])
	}
	return nil
}

type fv = [4]frontend.Variable

// n ones then zeros, padding zero; forgeries: a gap in the flags, a flag of 2,
// no active slot, a count that is not the number of ones, data in padding.
func TestPrefixFlags(t *testing.T) {
	a := test.NewAssert(t)
	vals := fv{7, 8, 0, 0}
	a.CheckCircuit(&prefixCircuit{},
		test.WithValidAssignment(&prefixCircuit{Flags: fv{1, 1, 0, 0}, Values: vals, N: 2}),
		test.WithValidAssignment(&prefixCircuit{Flags: fv{1, 1, 1, 1}, Values: fv{1, 2, 3, 4}, N: 4}),
		test.WithInvalidAssignment(&prefixCircuit{Flags: fv{1, 0, 1, 0}, Values: fv{7, 0, 8, 0}, N: 2}),
		test.WithInvalidAssignment(&prefixCircuit{Flags: fv{1, 2, 0, 0}, Values: vals, N: 3}),
		test.WithInvalidAssignment(&prefixCircuit{Flags: fv{0, 0, 0, 0}, Values: fv{0, 0, 0, 0}, N: 0}),
		test.WithInvalidAssignment(&prefixCircuit{Flags: fv{1, 1, 0, 0}, Values: vals, N: 3}),
		test.WithInvalidAssignment(&prefixCircuit{Flags: fv{1, 1, 0, 0}, Values: fv{7, 8, 9, 0}, N: 2}),
		test.WithCurves(ecc.BN254), test.NoFuzzing(), test.NoSerializationChecks())
}

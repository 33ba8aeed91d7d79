package logderiv

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/multicommit"
	"github.com/consensys/gnark/test"
)

var keys = []uint64{0, 3, 7}

type histCircuit struct {
	Values [6]frontend.Variable
	Counts [3]frontend.Variable
}

func (c *histCircuit) Define(api frontend.API) error {
	multicommit.WithCommitment(api, func(api frontend.API, r frontend.Variable) error {
		AssertHistogram(api, r, c.Values[:], keys, c.Counts[:])
		return nil
	}, append(c.Values[:], c.Counts[:]...)...)
	return nil
}

// 3 3 7 0 7 7 has the histogram (1, 2, 3) over keys 0, 3, 7; forgeries: a count
// moved to another key, a count short, a value that is no key (counts
// adjusted so that they still sum to the number of values).
func TestAssertHistogram(t *testing.T) {
	a := test.NewAssert(t)
	vals := [6]frontend.Variable{3, 3, 7, 0, 7, 7}
	a.CheckCircuit(&histCircuit{},
		test.WithValidAssignment(&histCircuit{Values: vals, Counts: [3]frontend.Variable{1, 2, 3}}),
		test.WithValidAssignment(&histCircuit{Values: [6]frontend.Variable{0, 0, 0, 0, 0, 0}, Counts: [3]frontend.Variable{6, 0, 0}}),
		test.WithInvalidAssignment(&histCircuit{Values: vals, Counts: [3]frontend.Variable{1, 3, 2}}),
		test.WithInvalidAssignment(&histCircuit{Values: vals, Counts: [3]frontend.Variable{1, 2, 2}}),
		test.WithInvalidAssignment(&histCircuit{Values: [6]frontend.Variable{3, 3, 7, 5, 7, 7}, Counts: [3]frontend.Variable{1, 2, 3}}),
		test.WithCurves(ecc.BN254), test.NoFuzzing(), test.NoSerializationChecks())
}

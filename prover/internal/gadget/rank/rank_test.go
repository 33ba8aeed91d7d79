package rank

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/rangecheck"
	"github.com/consensys/gnark/test"

	"github.com/veritee/veritee/prover/internal/gadget/prefix"
)

type kthCircuit struct {
	Values [6]frontend.Variable
	Active [6]frontend.Variable
	N, P   frontend.Variable
	Value  frontend.Variable
}

func (c *kthCircuit) Define(api frontend.API) error {
	rc := rangecheck.New(api)
	prefix.PrefixFlags(api, c.Active[:], c.N)
	k := NearestRank(api, rc, c.P, c.N, 3)
	AssertKthSmallest(api, rc, c.Values[:], c.Active[:], k, c.Value, 16)
	return nil
}

func TestKthSmallest(t *testing.T) {
	a := test.NewAssert(t)
	vals := [6]frontend.Variable{50, 10, 40, 10, 30, 0}
	act := [6]frontend.Variable{1, 1, 1, 1, 1, 0}
	// n = 5: sorted 10 10 30 40 50; p90 -> rank 5 = 50; p50 -> rank 3 = 30; p40 -> rank 2 = 10
	for _, c := range []struct{ p, want, wrong int }{{9000, 50, 40}, {5000, 30, 40}, {4000, 10, 30}, {1, 10, 0}} {
		a.CheckCircuit(&kthCircuit{},
			test.WithValidAssignment(&kthCircuit{Values: vals, Active: act, N: 5, P: c.p, Value: c.want}),
			test.WithInvalidAssignment(&kthCircuit{Values: vals, Active: act, N: 5, P: c.p, Value: c.wrong}),
			test.WithCurves(ecc.BN254), test.NoFuzzing(), test.NoSerializationChecks())
	}
	// a value between two data points (35) is never an order statistic
	a.CheckCircuit(&kthCircuit{}, test.WithInvalidAssignment(&kthCircuit{Values: vals, Active: act, N: 5, P: 6000, Value: 35}),
		test.WithCurves(ecc.BN254), test.NoFuzzing(), test.NoSerializationChecks())
}

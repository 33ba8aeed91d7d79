package gadget

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

type kthCircuit struct {
	Values [6]frontend.Variable
	Active [6]frontend.Variable
	N, P   frontend.Variable
	Value  frontend.Variable
}

func (c *kthCircuit) Define(api frontend.API) error {
	rc := rangecheck.New(api)
	PrefixFlags(api, c.Active[:], c.N)
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

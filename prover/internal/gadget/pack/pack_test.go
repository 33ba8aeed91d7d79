package pack

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/rangecheck"
	"github.com/consensys/gnark/test"
)

// packCircuit packs three 8-bit items into one element and compares it with
// the public Packed; RangeCheck says whether the items are range-checked.
type packCircuit struct {
	Items      [3]frontend.Variable
	Packed     frontend.Variable `gnark:",public"`
	rangeCheck bool
}

func (c *packCircuit) Define(api frontend.API) error {
	if c.rangeCheck {
		rc := rangecheck.New(api)
		for _, v := range c.Items {
			rc.Check(v, 8)
		}
	}
	p := Pack(api, c.Items[:], 8, 3)
	if len(p) != 1 {
		panic("three 8-bit items fill one element")
	}
	api.AssertIsEqual(p[0], c.Packed)
	return nil
}

// 1 + 2*2^8 + 3*2^16 packs (1, 2, 3); the carry forgery (1 + 2^8, 1, 3) packs
// to the same element, so it passes unless the items are range-checked:
// the soundness condition of the package.
func TestPackNeedsRangeChecks(t *testing.T) {
	a := test.NewAssert(t)
	packed := 1 + 2<<8 + 3<<16
	honest := [3]frontend.Variable{1, 2, 3}
	carried := [3]frontend.Variable{1 + 1<<8, 1, 3}
	opts := []test.TestingOption{test.WithCurves(ecc.BN254), test.NoFuzzing(), test.NoSerializationChecks()}
	a.CheckCircuit(&packCircuit{rangeCheck: true}, append(opts,
		test.WithValidAssignment(&packCircuit{Items: honest, Packed: packed}),
		test.WithInvalidAssignment(&packCircuit{Items: carried, Packed: packed}),
		test.WithInvalidAssignment(&packCircuit{Items: honest, Packed: packed + 1}))...)
	if err := test.IsSolved(&packCircuit{}, &packCircuit{Items: carried, Packed: packed}, ecc.BN254.ScalarField()); err != nil {
		t.Fatalf("without range checks the carried items should pack the same: %v", err)
	}
}

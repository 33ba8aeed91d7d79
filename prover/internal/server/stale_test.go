package server

import (
	"errors"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/veritee/veritee/prover/internal/circuits"
)

type oneSecret struct {
	X frontend.Variable `gnark:",public"`
	A frontend.Variable
}

func (c *oneSecret) Define(api frontend.API) error {
	api.AssertIsEqual(c.X, api.Mul(c.A, c.A))
	return nil
}

type twoSecrets struct {
	X    frontend.Variable `gnark:",public"`
	A, B frontend.Variable
}

func (c *twoSecrets) Define(api frontend.API) error {
	api.AssertIsEqual(c.X, api.Mul(c.A, c.B))
	return nil
}

// Keys left in a home by an older build of a circuit (another wire count) are
// refused with ZK_KEYS_STALE, not gnark's bare "invalid witness size".
func TestKeysFitWitness(t *testing.T) {
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, &oneSecret{})
	if err != nil {
		t.Fatal(err)
	}
	fits, err := frontend.NewWitness(&oneSecret{X: 9, A: 3}, ecc.BN254.ScalarField())
	if err != nil {
		t.Fatal(err)
	}
	if err := keysFitWitness(ccs, fits, "demo", 1, 8); err != nil {
		t.Fatalf("a witness of the keys' own circuit: %v", err)
	}
	other, err := frontend.NewWitness(&twoSecrets{X: 6, A: 2, B: 3}, ecc.BN254.ScalarField())
	if err != nil {
		t.Fatal(err)
	}
	err = keysFitWitness(ccs, other, "demo", 1, 8)
	var ce *circuits.Error
	if !errors.As(err, &ce) || ce.Code != "ZK_KEYS_STALE" {
		t.Fatalf("a witness of another build: got %v, want ZK_KEYS_STALE", err)
	}
}

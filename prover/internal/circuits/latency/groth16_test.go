package latency

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
)

// A real Groth16 round trip at a tiny capacity: the proof verifies for the true
// outputs and not for a changed one (the same public-input layout as production).
func TestGroth16RoundTrip(t *testing.T) {
	const capacity = 16
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, New(capacity))
	if err != nil {
		t.Fatal(err)
	}
	pk, vk, err := groth16.Setup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	in := sampleInput(11, 77)
	w, _, err := Assign(capacity, in)
	if err != nil {
		t.Fatal(err)
	}
	full, err := frontend.NewWitness(w, ecc.BN254.ScalarField())
	if err != nil {
		t.Fatal(err)
	}
	proof, err := groth16.Prove(ccs, pk, full)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := full.Public()
	if err := groth16.Verify(proof, vk, pub); err != nil {
		t.Fatalf("valid proof rejected: %v", err)
	}
	w.Value[1] = toU(w.Value[1]) + 1
	forged, _ := frontend.NewWitness(w, ecc.BN254.ScalarField(), frontend.PublicOnly())
	if err := groth16.Verify(proof, vk, forged); err == nil {
		t.Fatal("proof verified for a changed p95")
	}
}

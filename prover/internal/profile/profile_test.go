package profile

import (
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/std/rangecheck"
)

// withCommit range-checks its inputs through std/rangecheck, whose LogUp argument
// commits (BSB22) to them, and proves a product relation with a public output.
type withCommit struct {
	X   [64]frontend.Variable
	Out frontend.Variable `gnark:",public"`
}

func (c *withCommit) Define(api frontend.API) error {
	rc := rangecheck.New(api)
	acc := frontend.Variable(1)
	for i := range c.X {
		rc.Check(c.X[i], 16)
		acc = api.Mul(acc, api.Add(c.X[i], 1))
	}
	api.AssertIsEqual(acc, c.Out)
	return nil
}

type plain struct {
	X, Y frontend.Variable
	Out  frontend.Variable `gnark:",public"`
}

func (c *plain) Define(api frontend.API) error {
	api.AssertIsEqual(api.Mul(c.X, c.Y, c.X), c.Out)
	return nil
}

func TestProveStepsMakesAProofGnarkAccepts(t *testing.T) {
	var wc withCommit
	var good withCommit
	out := big.NewInt(1) // Π (x+1) mod r
	for i := range good.X {
		good.X[i] = i * 997
		out.Mul(out, big.NewInt(int64(i*997+1)))
		out.Mod(out, ecc.BN254.ScalarField())
	}
	good.Out = out
	for _, tc := range []struct {
		name    string
		circuit frontend.Circuit
		assign  frontend.Circuit
		commits int
	}{
		{"bsb22 commitment", &wc, &good, 1},
		{"no commitment", &plain{}, &plain{X: 3, Y: 5, Out: 45}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, tc.circuit)
			if err != nil {
				t.Fatal(err)
			}
			pk, vk, err := groth16.Setup(ccs)
			if err != nil {
				t.Fatal(err)
			}
			w, err := frontend.NewWitness(tc.assign, ecc.BN254.ScalarField())
			if err != nil {
				t.Fatal(err)
			}
			pub, _ := w.Public()
			proof, steps, err := Prove(ccs, pk, w)
			if err != nil {
				t.Fatal(err)
			}
			if len(proof.Commitments) != tc.commits {
				t.Fatalf("%d commitments, want %d", len(proof.Commitments), tc.commits)
			}
			if err := groth16.Verify(proof, vk, pub); err != nil {
				t.Fatalf("gnark rejects the step-by-step proof: %v", err)
			}
			want := []string{"solve", "commitment pok", "fft: 3 inverse", "fft: 3 on coset", "fft: quotient + inverse on coset", "msm: A (G1)", "msm: B (G1)", "msm: B (G2)", "msm: K (G1)", "msm: H (G1)"}
			if len(steps) != len(want) {
				t.Fatalf("steps %v", steps)
			}
			for i, s := range steps {
				if s.Name != want[i] || s.WallMs < 0 || s.CPUMs < 0 || s.Size <= 0 && s.Name != "commitment pok" {
					t.Fatalf("step %d: %+v", i, s)
				}
			}
			// the proof is not a constant: a tampered one fails
			proof.Ar.Add(&proof.Ar, &proof.Ar)
			if err := groth16.Verify(proof, vk, pub); err == nil {
				t.Fatal("a tampered proof verifies")
			}
		})
	}
}

func TestProveStepsRefusesABadWitness(t *testing.T) {
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, &plain{})
	if err != nil {
		t.Fatal(err)
	}
	pk, _, err := groth16.Setup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := frontend.NewWitness(&plain{X: 3, Y: 5, Out: 46}, ecc.BN254.ScalarField())
	if _, _, err := Prove(ccs, pk, w); err == nil {
		t.Fatal("a witness that does not satisfy the circuit was proven")
	}
}

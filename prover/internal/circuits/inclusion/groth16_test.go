package inclusion

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
)

// A real Groth16 round trip at depth 10: the proof verifies for the true public
// inputs and not for another root, digest or name.
func TestGroth16RoundTrip(t *testing.T) {
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, New(testCap))
	if err != nil {
		t.Fatal(err)
	}
	pk, vk, err := groth16.Setup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	tr := sampleTree(t, 300)
	w := mustAssign(t, tr, tr.Components[123])
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
	for name, mutate := range map[string]func(*Circuit){
		"other root":   func(w *Circuit) { w.Root = sampleTree(t, 301).Root() },
		"other digest": func(w *Circuit) { w.DigestHi = add(w.DigestHi, 1) },
		"other name":   func(w *Circuit) { w.Name[0] = add(w.Name[0], 1) },
	} {
		f := *w
		mutate(&f)
		forged, _ := frontend.NewWitness(&f, ecc.BN254.ScalarField(), frontend.PublicOnly())
		if err := groth16.Verify(proof, vk, forged); err == nil {
			t.Fatalf("proof verified for %s", name)
		}
	}
}

// Constraint counts per depth (VERITEE_COUNT_CAP=1048576 for depth 20).
func TestConstraintCount(t *testing.T) {
	caps := []int{1024, 1 << 20}
	if v := os.Getenv("VERITEE_COUNT_CAP"); v != "" {
		c, _ := strconv.Atoi(v)
		caps = []int{c}
	}
	for _, c := range caps {
		t0 := time.Now()
		ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, New(c))
		if err != nil {
			t.Fatal(err)
		}
		d := DepthOf(c)
		t.Logf("depth %d (%d leaves): %d constraints, %d public inputs, compile %v", d, c, ccs.GetNbConstraints(), ccs.GetNbPublicVariables()-1, time.Since(t0))
	}
}

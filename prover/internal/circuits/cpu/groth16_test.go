package cpu

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

func TestGroth16RoundTrip(t *testing.T) {
	sh := Shape{Samples: 4, Processes: 8}
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, New(sh))
	if err != nil {
		t.Fatal(err)
	}
	pk, vk, err := groth16.Setup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	w, _, err := Assign(sh, sampleInput(3, 6, 2, 9000, 300, 77))
	if err != nil {
		t.Fatal(err)
	}
	full, _ := frontend.NewWitness(w, ecc.BN254.ScalarField())
	proof, err := groth16.Prove(ccs, pk, full)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := full.Public()
	if err := groth16.Verify(proof, vk, pub); err != nil {
		t.Fatalf("valid proof rejected: %v", err)
	}
	for name, mutate := range map[string]func(*Circuit){
		"decision":       func(c *Circuit) { c.ScaleOut = 1 - toU(c.ScaleOut) },
		"platform flag":  func(c *Circuit) { c.PlatformBelowLimit = 1 - toU(c.PlatformBelowLimit) },
		"threshold":      func(c *Circuit) { c.ThresholdBp = toU(c.ThresholdBp) + 1 },
		"band":           func(c *Circuit) { c.Band = toU(c.Band) + 1 },
		"platform limit": func(c *Circuit) { c.PlatformLimitBp = toU(c.PlatformLimitBp) + 1 },
	} {
		f := *w
		mutate(&f)
		forged, _ := frontend.NewWitness(&f, ecc.BN254.ScalarField(), frontend.PublicOnly())
		if err := groth16.Verify(proof, vk, forged); err == nil {
			t.Fatalf("proof verified for a changed %s", name)
		}
	}
}

func TestConstraintCount(t *testing.T) {
	c := 512
	if v, err := strconv.Atoi(os.Getenv("VERITEE_COUNT_CAP")); err == nil {
		c = v
	}
	circ, err := NewClass(c)
	if err != nil {
		t.Skip(err)
	}
	t0 := time.Now()
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, circ)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("class %d %v: %d constraints (%.1f per cell), %d wires, compile %v", c, Classes[c], ccs.GetNbConstraints(), float64(ccs.GetNbConstraints())/float64(c), ccs.GetNbInternalVariables()+ccs.GetNbSecretVariables()+ccs.GetNbPublicVariables(), time.Since(t0))
}

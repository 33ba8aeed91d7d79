package gateway

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
	sh := Shape{Requests: 64, Checks: 8}
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, New(sh))
	if err != nil {
		t.Fatal(err)
	}
	pk, vk, err := groth16.Setup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	w, _, err := Assign(sh, sampleInput(50, mix{fourXX: 3}, 6, 0, 77))
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
		"verdict":   func(c *Circuit) { c.Compliant = 1 - toU(c.Compliant) },
		"health":    func(c *Circuit) { c.HealthBp = toU(c.HealthBp) - 1 },
		"threshold": func(c *Circuit) { c.MinConnectionBp = toU(c.MinConnectionBp) + 1 },
		"period":    func(c *Circuit) { c.PeriodStart = toU(c.PeriodStart) + 1 },
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
	c := 1024
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
	t.Logf("class %d %v: %d constraints (%.2f per request), %d wires, compile %v", c, Classes[c], ccs.GetNbConstraints(), float64(ccs.GetNbConstraints())/float64(c), ccs.GetNbInternalVariables()+ccs.GetNbSecretVariables()+ccs.GetNbPublicVariables(), time.Since(t0))
}

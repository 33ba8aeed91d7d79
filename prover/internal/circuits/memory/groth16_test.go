package memory

import (
	"os"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
)

// A real Groth16 round trip at a tiny shape: the proof verifies for the true
// outputs and not for a flipped decision or a changed threshold.
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
	w, _, err := Assign(sh, sampleInput(3, 5, 9000, 77))
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
	for name, mutate := range map[string]func(*Circuit){
		"flipped decision": func(c *Circuit) { c.ScaleOut = 1 - toU(c.ScaleOut) },
		"threshold":        func(c *Circuit) { c.ThresholdBp = toU(c.ThresholdBp) + 1 },
		"usage":            func(c *Circuit) { c.UsageBp = toU(c.UsageBp) - 1 },
	} {
		f := *w
		mutate(&f)
		forged, _ := frontend.NewWitness(&f, ecc.BN254.ScalarField(), frontend.PublicOnly())
		if err := groth16.Verify(proof, vk, forged); err == nil {
			t.Fatalf("proof verified for a changed %s", name)
		}
	}
}

// Constraint count of a size class: VERITEE_COUNT_CAP=16384 go test -run Count -v
func TestConstraintCount(t *testing.T) {
	c := 512
	if v := os.Getenv("VERITEE_COUNT_CAP"); v != "" {
		for _, k := range Capacities {
			if v == itoa(k) {
				c = k
			}
		}
	}
	t0 := time.Now()
	circ, _ := NewClass(c)
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, circ)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("class %d %v: %d constraints (%.1f per cell), %d wires, compile %v", c, Classes[c], ccs.GetNbConstraints(), float64(ccs.GetNbConstraints())/float64(c), ccs.GetNbInternalVariables()+ccs.GetNbSecretVariables()+ccs.GetNbPublicVariables(), time.Since(t0))
}

func itoa(v int) string {
	b := []byte{}
	for v > 0 {
		b = append([]byte{byte('0' + v%10)}, b...)
		v /= 10
	}
	return string(b)
}

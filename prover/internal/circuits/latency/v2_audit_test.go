package latency

import (
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
	"github.com/veritee/veritee/prover/internal/export"
)

// The BSB22 commitment a proof carries is recomputed from the records and the
// salt alone (export.Commitments, the audit), whatever order the records come
// in; one changed or dropped record, or another salt, gives another point.
func TestV2CommitmentRecomputedFromRecords(t *testing.T) {
	const capacity = 16
	mask := big.NewInt(987654321)
	ccs, err := circuittest.Compile(NewV2(capacity))
	if err != nil {
		t.Fatal(err)
	}
	pk, vk, err := groth16.Setup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	commit := func(in *Input) export.G1 {
		t.Helper()
		a, _, err := AssignV2(capacity, in)
		if err != nil {
			t.Fatal(err)
		}
		w, err := frontend.NewWitness(a, ecc.BN254.ScalarField())
		if err != nil {
			t.Fatal(err)
		}
		cms, err := export.Commitments(ccs, pk, w, mask)
		if err != nil {
			t.Fatal(err)
		}
		if len(cms) != 1 {
			t.Fatalf("%d commitments, want 1", len(cms))
		}
		return cms[0]
	}
	in := sampleInput(11, 77)
	a, _, err := AssignV2(capacity, in)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := frontend.NewWitness(a, ecc.BN254.ScalarField())
	proof, err := groth16.Prove(ccs, pk, w, backend.WithSolverOptions(export.MaskOption(mask)))
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := w.Public()
	if err := groth16.Verify(proof, vk, pub); err != nil {
		t.Fatal(err)
	}
	pj, err := export.ProofJSON(proof)
	if err != nil {
		t.Fatal(err)
	}
	got := commit(in)
	if got != pj.Commitments[0] {
		t.Fatalf("recomputed commitment %v differs from the proof's %v", got, pj.Commitments[0])
	}
	shuffled := *in
	shuffled.Records = append(shuffled.Records[5:len(shuffled.Records):len(shuffled.Records)], in.Records[:5]...)
	if commit(&shuffled) != got {
		t.Fatal("the commitment depends on the order the records come in")
	}
	changed := *in
	changed.Records = append(changed.Records[:0:0], in.Records...)
	changed.Records[4].End++
	if commit(&changed) == got {
		t.Fatal("one changed record gives the same commitment")
	}
	dropped := *in
	dropped.Records = in.Records[1:]
	if commit(&dropped) == got {
		t.Fatal("one dropped record gives the same commitment")
	}
	salted := *in
	salted.Salt.SetUint64(12345)
	if commit(&salted) == got {
		t.Fatal("another salt gives the same commitment")
	}
	mask = big.NewInt(987654322)
	if commit(in) == got {
		t.Fatal("another mask gives the same commitment")
	}
}

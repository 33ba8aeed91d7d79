package memory

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

var solvedV2, rejectedV2 = circuittest.Checks(NewV2, testShape)

func mustAssignV2(t *testing.T, in *Input) *CircuitV2 {
	t.Helper()
	w, _, err := AssignV2(testShape, in)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestV2ValidAndForged(t *testing.T) {
	in := sampleInput(10, 4, 9000, 3)
	w := mustAssignV2(t, in)
	solvedV2(t, "honest", w)
	_, o1, _ := Assign(testShape, in)
	_, o2, _ := AssignV2(testShape, in)
	if *o1 != *o2 {
		t.Fatalf("v1 and v2 outputs differ: %+v vs %+v", o1, o2)
	}

	w = mustAssignV2(t, in)
	w.Value = circuittest.ToU(w.Value) + 1
	rejectedV2(t, "wrong percentile", w)

	w = mustAssignV2(t, in)
	w.ScaleOut = 1 - circuittest.ToU(w.ScaleOut)
	rejectedV2(t, "flipped decision", w)

	w = mustAssignV2(t, in)
	w.UsageBp = circuittest.ToU(w.UsageBp) + 1
	rejectedV2(t, "usage + 1 bp", w)

	// padding that would move the percentile: a huge usage in a padding sample
	w = mustAssignV2(t, in)
	w.UsageKiB[12][0] = uint64(1)<<ItemBits - 1
	rejectedV2(t, "non-zero padding sample", w)

	w = mustAssignV2(t, in)
	w.UsageKiB[0][6] = 1
	rejectedV2(t, "non-zero padding process", w)

	// a slot past its bound: an item of 2^32, its neighbour one less (the total is unchanged)
	w = mustAssignV2(t, in)
	circuittest.CarryPastBound(t, &w.UsageKiB[2][1], &w.UsageKiB[2][0], ItemBits)
	rejectedV2(t, "usage item 2^32", w)

	w = mustAssignV2(t, in)
	w.Salt = new(big.Int).Lsh(big.NewInt(1), SaltBitsV2)
	rejectedV2(t, "salt 2^248", w)
}

// A Groth16 round trip, and the commitment in the proof recomputed from the
// samples and the salt (the audit); one changed item gives another commitment.
func TestV2Groth16AndCommitment(t *testing.T) {
	ccs, err := circuittest.Compile(NewV2(testShape))
	if err != nil {
		t.Fatal(err)
	}
	pk, vk, err := groth16.Setup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	mask := big.NewInt(4242)
	in := sampleInput(10, 4, 9000, 5)
	a := mustAssignV2(t, in)
	w, _ := frontend.NewWitness(a, ecc.BN254.ScalarField())
	proof, err := groth16.Prove(ccs, pk, w, backend.WithSolverOptions(export.MaskOption(mask)))
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := w.Public()
	if err := groth16.Verify(proof, vk, pub); err != nil {
		t.Fatal(err)
	}
	forged := *a
	forged.ScaleOut = 1 - circuittest.ToU(a.ScaleOut)
	fw, _ := frontend.NewWitness(&forged, ecc.BN254.ScalarField(), frontend.PublicOnly())
	if groth16.Verify(proof, vk, fw) == nil {
		t.Fatal("the proof verified for a flipped decision")
	}
	pj, _ := export.ProofJSON(proof)
	cms, err := export.Commitments(ccs, pk, w, mask)
	if err != nil || len(cms) != 1 || cms[0] != pj.Commitments[0] {
		t.Fatalf("recomputed commitment %v (%v) differs from the proof's %v", cms, err, pj.Commitments)
	}
	in.Samples[3].UsageKiB[1]++
	w2, _ := frontend.NewWitness(mustAssignV2(t, in), ecc.BN254.ScalarField())
	cms2, err := export.Commitments(ccs, pk, w2, mask)
	if err != nil || cms2[0] == cms[0] {
		t.Fatalf("one changed item gives the same commitment (%v)", err)
	}
}

func TestV2ConstraintCount(t *testing.T) {
	c := circuittest.CountCap(16384)
	ccs, err := circuittest.Compile(NewV2(Classes[c]))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("memory v2 class %d: %d constraints", c, ccs.GetNbConstraints())
}

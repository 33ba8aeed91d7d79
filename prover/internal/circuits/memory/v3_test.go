package memory

import (
	"math/big"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/test"
	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
	"github.com/veritee/veritee/prover/internal/export"
	"github.com/veritee/veritee/prover/internal/gadget/limbs"
)

var solvedV3, rejectedV3 = circuittest.Checks(NewV3, testShape)

func mustAssignV3(t *testing.T, in *Input) *CircuitV3 {
	t.Helper()
	w, _, err := AssignV3(testShape, in)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestV3ValidWitnessesAgreeWithV2(t *testing.T) {
	for _, c := range []struct {
		nS, nP int
		load   uint64
	}{{1, 1, 5000}, {10, 4, 9000}, {16, 32, 8000}, {7, 31, 9900}} {
		in := sampleInput(c.nS, c.nP, c.load, int64(c.nS*100+c.nP))
		solvedV3(t, "honest", mustAssignV3(t, in))
		_, o2, _ := AssignV2(testShape, in)
		_, o3, _ := AssignV3(testShape, in)
		if *o2 != *o3 {
			t.Fatalf("v2 and v3 outputs differ: %+v vs %+v", o2, o3)
		}
	}
	// the largest items
	in := sampleInput(4, 4, 5000, 9)
	in.AllocatedKiB = 1 << 39
	for s := range in.Samples {
		in.Samples[s].SwapPages, in.Samples[s].PageFaults = 1<<32-1, 1<<32-1
		for p := range in.Samples[s].UsageKiB {
			in.Samples[s].UsageKiB[p] = 1<<32 - 1
		}
	}
	solvedV3(t, "every item 2^32 - 1", mustAssignV3(t, in))
}

func TestV3Forgeries(t *testing.T) {
	in := sampleInput(10, 4, 9000, 3)

	w := mustAssignV3(t, in)
	w.Value = circuittest.ToU(w.Value) + 1
	rejectedV3(t, "wrong percentile", w)

	w = mustAssignV3(t, in)
	w.ScaleOut = 1 - circuittest.ToU(w.ScaleOut)
	rejectedV3(t, "flipped decision", w)

	w = mustAssignV3(t, in)
	w.UsageBp = circuittest.ToU(w.UsageBp) + 1
	rejectedV3(t, "usage + 1 bp", w)

	// padding that would move the percentile: a huge usage in a padding sample
	w = mustAssignV3(t, in)
	w.UsageKiB[12][0] = uint64(1)<<ItemBits - 1
	rejectedV3(t, "non-zero padding sample", w)

	w = mustAssignV3(t, in)
	w.UsageKiB[0][6] = 1
	rejectedV3(t, "non-zero padding process", w)

	// padding items +1/-1 that cancel in every row and column sum
	w = mustAssignV3(t, in)
	w.UsageKiB[12][0], w.UsageKiB[12][1] = 1, minusOne()
	w.UsageKiB[13][0], w.UsageKiB[13][1] = minusOne(), 1
	rejectedV3(t, "padding items +1/-1", w)

	// slots past their bound: an item of 2^32 and up, its neighbour one less
	// (the total is unchanged); swap pages past 2^32 against the page faults
	w = mustAssignV3(t, in)
	circuittest.CarryPastBound(t, &w.UsageKiB[2][1], &w.UsageKiB[2][0], ItemBits)
	rejectedV3(t, "usage item 2^32 + x", w)
	w = mustAssignV3(t, in)
	circuittest.CarryPastBound(t, &w.SwapPages[4], &w.PageFaults[4], ItemBits)
	rejectedV3(t, "swap pages 2^32 + x", w)

	w = mustAssignV3(t, in)
	w.Salt = new(big.Int).Lsh(big.NewInt(1), SaltBitsV2)
	rejectedV3(t, "salt 2^248", w)
}

// TestV3TopLimbCannotPassAsLowerLimb is the mixed-multiset forgery against
// version 3: the lower limbs (11 bits) and the top limbs (10 bits) of the
// items are two multisets sharing one challenge. An item of the sample with
// the largest total (not the median, so no output moves) gets 2^32 more; its
// top limb is then in [1024, 2048), inside the LOWER table. The forged
// multiplicities count it there (and the other limbs honestly); only the
// separation of the two identities refuses the witness.
func TestV3TopLimbCannotPassAsLowerLimb(t *testing.T) {
	sh := Shape{Samples: 16, Processes: 256} // 4,096 cells: 11-bit lower limbs, 10-bit top limbs
	if ItemLimbBits(sh) != 11 {
		t.Fatal("setup: the shape does not use 11-bit limbs")
	}
	in := sampleInput(10, 20, 8000, 31)
	in.PercentileBp = 5000
	_, out, err := AssignV3(sh, in)
	if err != nil {
		t.Fatal(err)
	}
	totals := Totals(in.Samples)
	top := 0
	for s, v := range totals {
		if v > totals[top] {
			top = s
		}
	}
	if totals[top] == out.ValueKiB {
		t.Fatal("setup: the largest total is the percentile")
	}
	forgedItem := in.Samples[top].UsageKiB[0] + 1<<ItemBits
	topLimb := int(forgedItem >> (2 * 11))
	if topLimb < 1<<(ItemBits-2*11) || topLimb >= 1<<11 {
		t.Fatalf("setup: top limb %d not in the lower table only", topLimb)
	}
	w, _, err := AssignV3(sh, in)
	if err != nil {
		t.Fatal(err)
	}
	w.UsageKiB[top][0] = forgedItem

	var id solver.HintID = solver.GetHintID(limbs.CountHint)
	forged := func(m *big.Int, ins, outs []*big.Int) error {
		if err := limbs.CountHint(m, ins, outs); err != nil {
			return err
		}
		outs[topLimb].Add(outs[topLimb], big.NewInt(1)) // counted as a lower limb
		return nil
	}
	field := ecc.BN254.ScalarField()
	err = test.IsSolved(NewV3(sh), w, field, test.WithReplacementHint(id, forged))
	if err == nil {
		t.Fatal("top limb counted as a lower limb: forged witness accepted")
	}
	if !strings.Contains(err.Error(), "assert") {
		t.Fatalf("refused for another reason than a failed assertion: %v", err)
	}
	// control: the honest witness through the same hook
	honest, _, _ := AssignV3(sh, in)
	if err := test.IsSolved(NewV3(sh), honest, field, test.WithReplacementHint(id, limbs.CountHint)); err != nil {
		t.Fatalf("control: %v", err)
	}
}

// A Groth16 round trip, and the commitment in the proof recomputed from the
// samples and the salt (the audit); one changed item gives another commitment.
func TestV3Groth16AndCommitment(t *testing.T) {
	ccs, err := circuittest.Compile(NewV3(testShape))
	if err != nil {
		t.Fatal(err)
	}
	pk, vk, err := groth16.Setup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	mask := big.NewInt(4243)
	in := sampleInput(10, 4, 9000, 5)
	a := mustAssignV3(t, in)
	w, _ := frontend.NewWitness(a, ecc.BN254.ScalarField())
	proof, err := groth16.Prove(ccs, pk, w, backend.WithSolverOptions(export.MaskOption(mask)))
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := w.Public()
	if err := groth16.Verify(proof, vk, pub); err != nil {
		t.Fatal(err)
	}
	for name, forge := range map[string]func(*CircuitV3){
		"a flipped decision": func(c *CircuitV3) { c.ScaleOut = 1 - circuittest.ToU(c.ScaleOut) },
		"a changed usage":    func(c *CircuitV3) { c.UsageBp = circuittest.ToU(c.UsageBp) + 1 },
		"a changed n":        func(c *CircuitV3) { c.NSamples = circuittest.ToU(c.NSamples) - 1 },
	} {
		f := *a
		forge(&f)
		fw, _ := frontend.NewWitness(&f, ecc.BN254.ScalarField(), frontend.PublicOnly())
		if groth16.Verify(proof, vk, fw) == nil {
			t.Fatalf("the proof verified for %s", name)
		}
	}
	pj, _ := export.ProofJSON(proof)
	cms, err := export.Commitments(ccs, pk, w, mask)
	if err != nil || len(cms) != 1 || cms[0] != pj.Commitments[0] {
		t.Fatalf("recomputed commitment %v (%v) differs from the proof's %v", cms, err, pj.Commitments)
	}
	in.Samples[3].UsageKiB[1]++
	w2, _ := frontend.NewWitness(mustAssignV3(t, in), ecc.BN254.ScalarField())
	cms2, err := export.Commitments(ccs, pk, w2, mask)
	if err != nil || cms2[0] == cms[0] {
		t.Fatalf("one changed item gives the same commitment (%v)", err)
	}
}

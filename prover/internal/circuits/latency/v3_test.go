package latency

import (
	"fmt"
	"math/big"
	"sync"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/test"
	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
	"github.com/veritee/veritee/prover/internal/export"
	"github.com/veritee/veritee/prover/internal/gadget/limbs"
)

// Every version-3 witness is checked twice: by gnark's test engine (where
// gadget/limbs asserts its relations with the ordinary API) and by the
// compiled R1CS (where they are the custom A-side R1Cs the prover proves).

var (
	v3Once sync.Once
	v3CCS  constraint.ConstraintSystem
	v3Err  error
)

func v3R1CS(t testing.TB) constraint.ConstraintSystem {
	t.Helper()
	v3Once.Do(func() { v3CCS, v3Err = circuittest.Compile(NewV3(testCap)) })
	if v3Err != nil {
		t.Fatal(v3Err)
	}
	return v3CCS
}

// solveV3 returns the test engine's and the R1CS solver's verdicts on w.
func solveV3(t testing.TB, w *CircuitV3, opts ...solver.Option) (engine, r1cs error) {
	t.Helper()
	field := ecc.BN254.ScalarField()
	engine = test.IsSolved(NewV3(testCap), w, field)
	full, err := frontend.NewWitness(w, field)
	if err != nil {
		t.Fatal(err)
	}
	return engine, v3R1CS(t).IsSolved(full, opts...)
}

func solvedV3(t testing.TB, name string, w *CircuitV3) {
	t.Helper()
	e, r := solveV3(t, w)
	if e != nil {
		t.Fatalf("%s: test engine: valid witness rejected: %v", name, e)
	}
	if r != nil {
		t.Fatalf("%s: R1CS: valid witness rejected: %v", name, r)
	}
}

func rejectedV3(t testing.TB, name string, w *CircuitV3) {
	t.Helper()
	e, r := solveV3(t, w)
	if e == nil {
		t.Fatalf("%s: test engine: forged witness accepted", name)
	}
	if r == nil {
		t.Fatalf("%s: R1CS: forged witness accepted", name)
	}
}

func mustAssignV3(t *testing.T, in *Input) *CircuitV3 {
	t.Helper()
	w, _, err := AssignV3(testCap, in)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// resortV3 rebuilds what a witness derives from its latencies (see resortV2).
func resortV3(w *CircuitV3, in *Input) { resortV2(&w.CircuitV2, in) }

func TestV3LimbWidths(t *testing.T) {
	for c, want := range map[int]int{testCap: 8, 1024: 11, 16384: 14, 50000: 14, 65536: 14} {
		if got := OffsetLimbBits(c); got != want {
			t.Errorf("capacity %d: %d-bit limbs, want %d", c, got, want)
		}
	}
}

func TestV3ValidWitnessesAgreeWithV2(t *testing.T) {
	for _, n := range []int{1, 2, 3, 31, 45, 63, testCap} {
		in := sampleInput(n, int64(n))
		solvedV3(t, fmt.Sprintf("%d records", n), mustAssignV3(t, in))
		_, o2, err := AssignV2(testCap, in)
		if err != nil {
			t.Fatal(err)
		}
		_, o3, _ := AssignV3(testCap, in)
		if *o2 != *o3 {
			t.Fatalf("%d records: v2 and v3 outputs differ: %+v vs %+v", n, o2, o3)
		}
	}
	in := sampleInput(40, 1)
	for i := range in.Records {
		in.Records[i].End = in.Records[i].Start + 7777
	}
	solvedV3(t, "all equal latencies", mustAssignV3(t, in))
	in = sampleInput(5, 2)
	in.PeriodEndUs = in.PeriodStartUs + (1 << 42)
	in.Records[0].Start, in.Records[0].End = (1<<42)-1, (1<<42)-1
	in.Records[1].Start, in.Records[1].End = 0, (1<<42)-1
	in.Threshold = [NbSlots]uint64{1 << 42, 1 << 42, 1}
	solvedV3(t, "maximum values", mustAssignV3(t, in))
	w := mustAssignV3(t, sampleInput(20, 3))
	resortV3(w, sampleInput(20, 3))
	solvedV3(t, "control (resorted honest witness)", w)
}

func TestV3WrongPercentile(t *testing.T) {
	in := sampleInput(50, 3)
	for name, forge := range map[string]func(w *CircuitV3){
		"p95+1":                                func(w *CircuitV3) { w.Value[1] = toU(w.Value[1]) + 1 },
		"rank+1":                               func(w *CircuitV3) { w.Rank[1] = toU(w.Rank[1]) + 1 },
		"exceeding+1":                          func(w *CircuitV3) { w.Exceeding[2] = toU(w.Exceeding[2]) + 1 },
		"below-1 with a consistent exceeding":  func(w *CircuitV3) { w.Below[2], w.Exceeding[2] = toU(w.Below[2])-1, toU(w.Exceeding[2])+1 },
		"flipped verdict":                      func(w *CircuitV3) { w.Compliant = 1 - toU(w.Compliant) },
		"value below the threshold, flag kept": func(w *CircuitV3) { w.ValueBelow[0] = 1 - toU(w.ValueBelow[0]) },
	} {
		w := mustAssignV3(t, in)
		forge(w)
		rejectedV3(t, name, w)
	}
}

func TestV3NotAPermutation(t *testing.T) {
	in := sampleInput(50, 4)
	w := mustAssignV3(t, in)
	w.Sorted[testCap-1] = w.Sorted[testCap-2]
	rejectedV3(t, "duplicated value in the sorted copy", w)

	w = mustAssignV3(t, in)
	w.Lat[5] = toU(w.Lat[5]) - 1
	rejectedV3(t, "latency changed under the sorted copy", w)

	w = mustAssignV3(t, in)
	if toU(w.Sorted[testCap-1]) == toU(w.Sorted[testCap-2]) {
		t.Fatal("setup: the two largest latencies are equal")
	}
	w.Sorted[testCap-1], w.Sorted[testCap-2] = w.Sorted[testCap-2], w.Sorted[testCap-1]
	rejectedV3(t, "unsorted copy", w)
}

func TestV3RecordOutsidePeriod(t *testing.T) {
	in := sampleInput(10, 5)
	period := in.PeriodEndUs - in.PeriodStartUs
	w := mustAssignV3(t, in)
	for i := 9; i < testCap; i++ {
		w.Start[i] = period
	}
	rejectedV3(t, "start == period end", w)

	w = mustAssignV3(t, in)
	w.Start[0] = minusOne()
	rejectedV3(t, "start -1", w)

	w = mustAssignV3(t, in)
	if toU(w.Start[3]) == toU(w.Start[4]) {
		t.Fatal("setup: equal starts")
	}
	w.Start[3], w.Start[4] = w.Start[4], w.Start[3]
	rejectedV3(t, "starts out of order", w)
}

func TestV3PaddingCannotMoveOutputs(t *testing.T) {
	in := sampleInput(20, 8)
	w := mustAssignV3(t, in)
	w.Lat[40] = 1 << 41
	resortV3(w, in)
	rejectedV3(t, "non-zero padding latency", w)

	w = mustAssignV3(t, in)
	w.Active[25] = 1
	rejectedV3(t, "gap in the active flags", w)

	w = mustAssignV3(t, in)
	w.N = 19
	w.Active[19] = 0
	resortV3(w, &Input{Params: in.Params, Records: in.Records[:19]})
	rejectedV3(t, "a real record turned into padding", w)
}

// Every bounded slot one past its bound is refused, the sorted copy and every
// output rebuilt from the tampered values.
func TestV3SlotPastBoundRefused(t *testing.T) {
	in := sampleInput(20, 61)
	w := mustAssignV3(t, in)
	w.Lat[3] = uint64(1) << offsetBits
	resortV3(w, in)
	rejectedV3(t, "latency 2^42", w)

	w = mustAssignV3(t, in)
	w.Lat[7] = minusOne()
	resortV3(w, in)
	rejectedV3(t, "latency -1", w)

	w = mustAssignV3(t, in)
	for i := 10; i < testCap; i++ {
		var e fr.Element
		e.SetUint64(toU(w.Start[i]))
		e.Add(&e, new(fr.Element).SetUint64(uint64(1)<<offsetBits))
		w.Start[i] = e
	}
	rejectedV3(t, "start 2^42 later", w)

	w = mustAssignV3(t, in)
	w.Lat[50] = minusOne()
	resortV3(w, in)
	rejectedV3(t, "padding latency -1", w)

	w = mustAssignV3(t, in)
	w.Salt = new(big.Int).Lsh(big.NewInt(1), SaltBitsV2)
	rejectedV3(t, "salt 2^248", w)
	if _, _, err := AssignV3(testCap, func() *Input { c := *in; c.Salt.SetBigInt(new(big.Int).Lsh(big.NewInt(1), SaltBitsV2)); return &c }()); err == nil {
		t.Fatal("AssignV3 accepted a salt of 2^248")
	}
}

// Malicious limb hints against the compiled R1CS (the custom A-side R1Cs; the
// prover controls every hint): a lower limb carried past its table, a
// multiplicity moved between table entries, one wrong inverse. A control
// runs the same hooks with the honest hints.
func TestV3MaliciousLimbHints(t *testing.T) {
	w := mustAssignV3(t, sampleInput(30, 17))
	field := ecc.BN254.ScalarField()
	full, err := frontend.NewWitness(w, field)
	if err != nil {
		t.Fatal(err)
	}
	ccs := v3R1CS(t)
	base := OffsetLimbBits(testCap)
	if err := ccs.IsSolved(full, solver.OverrideHint(solver.GetHintID(limbs.LimbsHint), limbs.LimbsHint),
		solver.OverrideHint(solver.GetHintID(limbs.CountHint), limbs.CountHint),
		solver.OverrideHint(solver.GetHintID(limbs.InverseHint), limbs.InverseHint)); err != nil {
		t.Fatalf("control: %v", err)
	}
	carried := false
	carry := func(m *big.Int, in, out []*big.Int) error {
		if err := limbs.LimbsHint(m, in, out); err != nil {
			return err
		}
		// the first value with a non-zero second limb: l0 + 2^base, l1 - 1
		if !carried && out[1].Sign() > 0 {
			out[0].Add(out[0], big.NewInt(1<<base))
			out[1].Sub(out[1], big.NewInt(1))
			carried = true
		}
		return nil
	}
	if err := ccs.IsSolved(full, solver.OverrideHint(solver.GetHintID(limbs.LimbsHint), carry)); err == nil || !carried {
		t.Fatalf("a lower limb carried past 2^%d accepted (carried: %v)", base, carried)
	}
	moved := func(m *big.Int, in, out []*big.Int) error {
		if err := limbs.CountHint(m, in, out); err != nil {
			return err
		}
		for i := range out {
			if out[i].Sign() > 0 && i+1 < len(out) {
				out[i].Sub(out[i], big.NewInt(1))
				out[i+1].Add(out[i+1], big.NewInt(1))
				return nil
			}
		}
		return fmt.Errorf("no count to move")
	}
	if err := ccs.IsSolved(full, solver.OverrideHint(solver.GetHintID(limbs.CountHint), moved)); err == nil {
		t.Fatal("a multiplicity moved between table entries accepted")
	}
	wrongInv := func(m *big.Int, in, out []*big.Int) error {
		if err := limbs.InverseHint(m, in, out); err != nil {
			return err
		}
		out[0].Add(out[0], big.NewInt(1))
		return nil
	}
	if err := ccs.IsSolved(full, solver.OverrideHint(solver.GetHintID(limbs.InverseHint), wrongInv)); err == nil {
		t.Fatal("a wrong inverse accepted")
	}
}

// The mixed-multiset forgery of gadget/limbs at the circuit: one latency 2^42
// higher (the largest, so its sorted difference carries top limb 4, inside the
// 8-bit lower table at this capacity), the forged multiplicities counting that
// top limb as a lower limb. Refused: the two identities are kept apart (and
// here the sorted chain's end slack 2^42 - 1 - Sorted[last] wraps as well).
func TestV3TopLimbCannotPassAsLowerLimb(t *testing.T) {
	in := sampleInput(30, 23)
	w := mustAssignV3(t, in)
	last := 0
	for i := 0; i < 30; i++ {
		if toU(w.Lat[i]) > toU(w.Lat[last]) {
			last = i
		}
	}
	w.Lat[last] = toU(w.Lat[last]) + 1<<offsetBits
	resortV3(w, in)
	id := solver.GetHintID(limbs.CountHint)
	forged := func(m *big.Int, ins, outs []*big.Int) error {
		if err := limbs.CountHint(m, ins, outs); err != nil {
			return err
		}
		outs[4].Add(outs[4], big.NewInt(1))
		return nil
	}
	full, _ := frontend.NewWitness(w, ecc.BN254.ScalarField())
	if err := v3R1CS(t).IsSolved(full, solver.OverrideHint(id, forged)); err == nil {
		t.Fatal("R1CS: top limb counted as a lower limb accepted")
	}
	if err := test.IsSolved(NewV3(testCap), w, ecc.BN254.ScalarField(), test.WithReplacementHint(id, forged)); err == nil {
		t.Fatal("test engine: top limb counted as a lower limb accepted")
	}
	// control: the honest witness through the same hooks
	honest := mustAssignV3(t, in)
	hf, _ := frontend.NewWitness(honest, ecc.BN254.ScalarField())
	if err := v3R1CS(t).IsSolved(hf, solver.OverrideHint(id, limbs.CountHint)); err != nil {
		t.Fatalf("control (R1CS): %v", err)
	}
	if err := test.IsSolved(NewV3(testCap), honest, ecc.BN254.ScalarField(), test.WithReplacementHint(id, limbs.CountHint)); err != nil {
		t.Fatalf("control (test engine): %v", err)
	}
}

// A Groth16 round trip, and the BSB22 commitment in the proof recomputed from
// the records and the salt alone (export.Commitments, what `veritee audit`
// does), in any record order; one changed record gives another commitment.
func TestV3Groth16AndCommitment(t *testing.T) {
	const capacity = 16
	ccs, err := circuittest.Compile(NewV3(capacity))
	if err != nil {
		t.Fatal(err)
	}
	pk, vk, err := groth16.Setup(ccs)
	if err != nil {
		t.Fatal(err)
	}
	mask := big.NewInt(4243)
	in := sampleInput(11, 77)
	a, _, err := AssignV3(capacity, in)
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
	for name, forge := range map[string]func(*CircuitV3){
		"a changed p95":     func(c *CircuitV3) { c.Value[1] = toU(c.Value[1]) + 1 },
		"a changed count":   func(c *CircuitV3) { c.N = 10 },
		"a flipped verdict": func(c *CircuitV3) { c.Compliant = 1 - toU(c.Compliant) },
	} {
		f := *a
		forge(&f)
		fw, _ := frontend.NewWitness(&f, ecc.BN254.ScalarField(), frontend.PublicOnly())
		if groth16.Verify(proof, vk, fw) == nil {
			t.Fatalf("the proof verified for %s", name)
		}
	}
	commit := func(in *Input) export.G1 {
		t.Helper()
		a, _, err := AssignV3(capacity, in)
		if err != nil {
			t.Fatal(err)
		}
		w, _ := frontend.NewWitness(a, ecc.BN254.ScalarField())
		cms, err := export.Commitments(ccs, pk, w, mask)
		if err != nil || len(cms) != 1 {
			t.Fatalf("commitments %v: %v", cms, err)
		}
		return cms[0]
	}
	pj, _ := export.ProofJSON(proof)
	got := commit(in)
	if got != pj.Commitments[0] {
		t.Fatalf("recomputed commitment %v differs from the proof's %v", got, pj.Commitments[0])
	}
	shuffled := *in
	shuffled.Records = append(append(shuffled.Records[:0:0], in.Records[5:]...), in.Records[:5]...)
	if commit(&shuffled) != got {
		t.Fatal("the commitment depends on the order the records come in")
	}
	changed := *in
	changed.Records = append(changed.Records[:0:0], in.Records...)
	changed.Records[4].End++
	if commit(&changed) == got {
		t.Fatal("one changed record gives the same commitment")
	}
}

func TestV3ConstraintCount(t *testing.T) {
	c := circuittest.CountCap(1024)
	ccs, err := circuittest.Compile(NewV3(c))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("v3 capacity %d: %d constraints (%.2f per record)", c, ccs.GetNbConstraints(), float64(ccs.GetNbConstraints())/float64(c))
}

package limbs

import (
	"math/big"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/std/multicommit"
	"github.com/consensys/gnark/test"
	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
)

const width, base = 32, 11

// checked range-checks every value to 32 bits (lower limbs of 11 bits, a
// 10-bit top limb) and commits the values, as a circuit using the gadget must.
type checked struct{ V []frontend.Variable }

func (c *checked) Define(api frontend.API) error {
	ch := New(api, width, base)
	for _, v := range c.V {
		ch.Check(v)
	}
	multicommit.WithCommitment(api, func(frontend.API, frontend.Variable) error { return nil }, c.V...)
	ch.Commit()
	return nil
}

const n = 6

func values(vs ...any) *checked {
	w := &checked{V: make([]frontend.Variable, n)}
	for i := range w.V {
		w.V[i] = uint64(1000 * i)
	}
	for i, v := range vs {
		w.V[i] = v
	}
	return w
}

func compile(t *testing.T) constraint.ConstraintSystem {
	t.Helper()
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, &checked{V: make([]frontend.Variable, n)})
	if err != nil {
		t.Fatal(err)
	}
	return ccs
}

// solveR1CS solves w against the compiled R1CS (the custom R1Cs), with hint overrides.
func solveR1CS(t *testing.T, ccs constraint.ConstraintSystem, w *checked, opts ...solver.Option) error {
	t.Helper()
	full, err := frontend.NewWitness(w, ecc.BN254.ScalarField())
	if err != nil {
		t.Fatal(err)
	}
	return ccs.IsSolved(full, opts...)
}

func TestConstraintsPerValue(t *testing.T) {
	ccs := compile(t)
	// 3 per value, one per table entry (2^11 + 2^10), two sums, and what the
	// commitment adds (its hash-to-field output and the binding constraint)
	want := 3*n + (1 << base) + (1 << (width - 2*base)) + 2
	if got := ccs.GetNbConstraints(); got < want || got > want+4 {
		t.Fatalf("%d constraints, want %d (+ at most 4 for the commitment)", got, want)
	}
}

func TestBounds(t *testing.T) {
	ccs := compile(t)
	field := ecc.BN254.ScalarField()
	for name, w := range map[string]*checked{"zeros": values(0, 0, 0), "2^32-1": values(uint64(1<<32-1), uint64(1<<22-1), uint64(1<<11)), "2^22 and 2^11": values(uint64(1<<22), uint64(1<<11), uint64(1<<11-1))} {
		if err := test.IsSolved(&checked{V: make([]frontend.Variable, n)}, w, field); err != nil {
			t.Fatalf("%s: test engine: valid values rejected: %v", name, err)
		}
		if err := solveR1CS(t, ccs, w); err != nil {
			t.Fatalf("%s: R1CS: valid values rejected: %v", name, err)
		}
	}
	minusOne := new(big.Int).Sub(field, big.NewInt(1))
	for name, w := range map[string]*checked{"2^32": values(uint64(1 << 32)), "2^33": values(0, uint64(1<<33)), "-1": values(0, 0, minusOne), "2^40": values(uint64(1 << 40))} {
		if err := test.IsSolved(&checked{V: make([]frontend.Variable, n)}, w, field); err == nil {
			t.Fatalf("%s: test engine: value past 2^32 accepted", name)
		}
		if err := solveR1CS(t, ccs, w); err == nil {
			t.Fatalf("%s: R1CS: value past 2^32 accepted", name)
		}
	}
}

// Malicious hints against the custom R1Cs (the prover controls every hint).
func TestMaliciousHints(t *testing.T) {
	ccs := compile(t)
	w := values(uint64(5_000_000), uint64(1<<32-1))
	if err := solveR1CS(t, ccs, w); err != nil {
		t.Fatal(err)
	}
	// a lower limb one carry past its bound: l0 + 2^11, l1 - 1 (the value and
	// so the top limb unchanged)
	carry := func(_ *big.Int, in, out []*big.Int) error {
		if err := LimbsHint(nil, in, out); err != nil {
			return err
		}
		if in[1].Uint64() == 5_000_000 {
			out[0].Add(out[0], big.NewInt(1<<base))
			out[1].Sub(out[1], big.NewInt(1))
		}
		return nil
	}
	// the counts follow the forged limb (as a cheating prover would make them)
	expectRejected(t, "lower limb past 2^11", solveR1CS(t, ccs, w, solver.OverrideHint(solver.GetHintID(LimbsHint), carry)))

	// one wrong inverse (the sum then differs unless the custom R1C is missing)
	wrongInv := func(m *big.Int, in, out []*big.Int) error {
		if err := InverseHint(m, in, out); err != nil {
			return err
		}
		out[0].Add(out[0], big.NewInt(1))
		return nil
	}
	expectRejected(t, "wrong inverse", solveR1CS(t, ccs, w, solver.OverrideHint(solver.GetHintID(InverseHint), wrongInv)))

	// an inverse and a table quotient moved together: the sums agree, only
	// the per-term R1Cs can refuse it
	shifted := func(m *big.Int, in, out []*big.Int) error {
		if err := InverseHint(m, in, out); err != nil {
			return err
		}
		if len(in) == len(out)+2 { // table side: add 1 to entry 0
			out[0].Add(out[0], big.NewInt(1))
		} else { // query side: add 1 to query 0
			out[0].Add(out[0], big.NewInt(1))
		}
		return nil
	}
	expectRejected(t, "inverse and quotient shifted together", solveR1CS(t, ccs, w, solver.OverrideHint(solver.GetHintID(InverseHint), shifted)))

	// a multiplicity moved between entries
	moved := func(m *big.Int, in, out []*big.Int) error {
		if err := CountHint(m, in, out); err != nil {
			return err
		}
		out[0].Sub(out[0], big.NewInt(1))
		out[1].Add(out[1], big.NewInt(1))
		return nil
	}
	expectRejected(t, "multiplicity moved", solveR1CS(t, ccs, w, solver.OverrideHint(solver.GetHintID(CountHint), moved)))
}

// TestTopLimbCountedAsLowerLimb is the mixed-multiset forgery: the value
// 2^32 + 2^22 - 1 has lower limbs 2047, 2047 and top limb 1024 (one past its
// 10-bit bound, but inside the 11-bit table of the lower limbs). The forged
// multiplicities count that top limb in the LOWER table (entry 1024) and take
// nothing from the top table: one shared identity would balance, the two
// separate identities must not.
func TestTopLimbCountedAsLowerLimb(t *testing.T) {
	ccs := compile(t)
	const big1 = 1<<32 + 1<<22 - 1
	w := values(uint64(big1))
	forged := func(m *big.Int, in, out []*big.Int) error {
		if err := CountHint(m, in, out); err != nil {
			return err
		}
		out[1024].Add(out[1024], big.NewInt(1))
		return nil
	}
	id := solver.GetHintID(CountHint)
	expectRejected(t, "top limb 1024 counted as a lower limb", solveR1CS(t, ccs, w, solver.OverrideHint(id, forged)))
	err := test.IsSolved(&checked{V: make([]frontend.Variable, n)}, w, ecc.BN254.ScalarField(), test.WithReplacementHint(id, forged))
	if err == nil {
		t.Fatal("test engine: top limb 1024 counted as a lower limb accepted")
	}
	// control: the same hook with the honest hint accepts an honest witness
	if err := solveR1CS(t, ccs, values(uint64(1<<32-1)), solver.OverrideHint(id, CountHint)); err != nil {
		t.Fatalf("control: %v", err)
	}
}

func expectRejected(t *testing.T, name string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: forged witness accepted", name)
	}
	if strings.Contains(err.Error(), "hint") && !strings.Contains(err.Error(), "constraint") {
		t.Logf("%s: refused by a hint: %v", name, err)
	}
}

// A Groth16 round trip through the custom R1Cs (dev setup): the proof of
// valid values verifies.
func TestGroth16RoundTrip(t *testing.T) {
	if err := circuittest.ProveAndVerify(&checked{V: make([]frontend.Variable, n)}, values(uint64(1<<32-1), uint64(77))); err != nil {
		t.Fatal(err)
	}
}

// byteLimbs checks 32-bit values with four 8-bit limbs: the top limb has the
// lower limbs' width, so one table and one identity serve all of them.
type byteLimbs struct{ V []frontend.Variable }

func (c *byteLimbs) Define(api frontend.API) error {
	ch := New(api, 32, 8)
	for _, v := range c.V {
		ch.Check(v)
	}
	multicommit.WithCommitment(api, func(frontend.API, frontend.Variable) error { return nil }, c.V...)
	ch.Commit()
	return nil
}

func TestWidthAMultipleOfTheBase(t *testing.T) {
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, &byteLimbs{V: make([]frontend.Variable, 3)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ccs.GetNbConstraints(), 4*3+256+1; got < want || got > want+4 {
		t.Fatalf("%d constraints, want %d (+ at most 4)", got, want)
	}
	field := ecc.BN254.ScalarField()
	for _, v := range []uint64{0, 1<<32 - 1, 1 << 24} {
		w := &byteLimbs{V: []frontend.Variable{v, uint64(5), uint64(1 << 31)}}
		if err := test.IsSolved(&byteLimbs{V: make([]frontend.Variable, 3)}, w, field); err != nil {
			t.Fatalf("%d rejected: %v", v, err)
		}
		full, _ := frontend.NewWitness(w, field)
		if err := ccs.IsSolved(full); err != nil {
			t.Fatalf("R1CS: %d rejected: %v", v, err)
		}
	}
	for _, v := range []uint64{1 << 32, 1<<32 + 255, 1 << 40} {
		w := &byteLimbs{V: []frontend.Variable{v, uint64(5), uint64(1 << 31)}}
		if err := test.IsSolved(&byteLimbs{V: make([]frontend.Variable, 3)}, w, field); err == nil {
			t.Fatalf("%d accepted", v)
		}
		full, _ := frontend.NewWitness(w, field)
		if err := ccs.IsSolved(full); err == nil {
			t.Fatalf("R1CS: %d accepted", v)
		}
	}
}

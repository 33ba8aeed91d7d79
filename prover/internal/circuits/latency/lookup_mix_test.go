package latency

import (
	"math/big"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/test"
)

// The percentile and threshold lookups of both versions go through gnark's
// logderivlookup: ONE log-derivative identity over two-column rows
// (index, value), the columns combined with a coefficient drawn from the BSB22
// commitment,
//
//	sum_i m_i / (r - (i + a*Sorted[i])) = sum_q 1 / (r - (idx_q + a*val_q)).
//
// The multiplicities m_i come from a hint (logderivarg's countHint), so a
// cheating prover chooses them freely. The forgery below keeps every query and
// every value and moves one multiplicity from the row a query reads to
// another row holding the SAME value: seen through the value column alone,
// the two multisets (rows by index, queries by index) are unchanged, so only
// the index column keeps a query from being counted against another row. (With
// the index coefficient set to 0 in a patched gnark, the forged witnesses of
// both versions solve: checked once by hand when this test was written.)

// lookupCountHintID is the ID of gnark's multiplicity hint (logderivarg.countHint),
// found among the registered hints by name (it is not exported).
func lookupCountHintID(t *testing.T) (solver.HintID, solver.Hint) {
	t.Helper()
	for _, h := range solver.GetRegisteredHints() {
		if strings.HasSuffix(solver.GetHintName(h), "logderivarg.countHint") {
			return solver.GetHintID(h), h
		}
	}
	t.Fatal("gnark's logderivarg.countHint is not registered")
	return 0, nil
}

// moveLookupCount returns a replacement for the multiplicity hint that, for
// the two-column lookup table only (the range checker's table has one
// column), computes the honest multiplicities and then moves one count from
// the first queried row to the lowest other row with the same value. *moved
// reports whether it did (the test fails if the witness offered no such pair).
func moveLookupCount(honest solver.Hint, moved *bool) solver.Hint {
	return func(m *big.Int, in, out []*big.Int) error {
		if err := honest(m, in, out); err != nil {
			return err
		}
		nbTable, nbRow := int(in[0].Int64()), int(in[1].Int64())
		if nbRow != 2 {
			return nil
		}
		value := func(i int) *big.Int { return in[2+2*i+1] }
		for j := 0; j < nbTable; j++ {
			if out[j].Sign() == 0 {
				continue
			}
			for k := 0; k < nbTable; k++ {
				if k != j && value(k).Cmp(value(j)) == 0 {
					out[j].Sub(out[j], big.NewInt(1))
					out[k].Add(out[k], big.NewInt(1))
					*moved = true
					return nil
				}
			}
		}
		return nil
	}
}

// checkLookupMix solves w for circuit with the honest multiplicity hint put
// back through the replacement mechanism (control: must solve) and with the
// moved count (must not).
func checkLookupMix(t *testing.T, name string, circuit func() frontend.Circuit, w frontend.Circuit) {
	t.Helper()
	id, honest := lookupCountHintID(t)
	field := ecc.BN254.ScalarField()
	if err := test.IsSolved(circuit(), w, field, test.WithReplacementHint(id, honest)); err != nil {
		t.Fatalf("%s: control (honest multiplicities through the replacement hook) rejected: %v", name, err)
	}
	moved := false
	err := test.IsSolved(circuit(), w, field, test.WithReplacementHint(id, moveLookupCount(honest, &moved)))
	if !moved {
		t.Fatalf("%s: setup: no queried row shares its value with another row", name)
	}
	if err == nil {
		t.Fatalf("%s: forged witness accepted: a query counted against another row of the same value", name)
	}
	// The refusal must come from the identity, not from a hint refusing to run.
	if !strings.Contains(err.Error(), "assert") {
		t.Fatalf("%s: refused for another reason than a failed assertion: %v", name, err)
	}
}

// lookupMixInputs have rows of equal value next to queried rows: padding
// zeros under the lowest threshold (n < capacity), and equal latencies.
func lookupMixInputs() map[string]*Input {
	ties := sampleInput(40, 1)
	for i := range ties.Records {
		ties.Records[i].End = ties.Records[i].Start + 7777
	}
	return map[string]*Input{"padding zeros": sampleInput(50, 3), "all equal latencies": ties}
}

func TestLookupRowsCannotBeMixedV1(t *testing.T) {
	for name, in := range lookupMixInputs() {
		checkLookupMix(t, "v1 "+name, func() frontend.Circuit { return New(testCap) }, mustAssign(t, in))
	}
}

func TestLookupRowsCannotBeMixedV2(t *testing.T) {
	for name, in := range lookupMixInputs() {
		checkLookupMix(t, "v2 "+name, func() frontend.Circuit { return NewV2(testCap) }, mustAssignV2(t, in))
	}
}

func TestLookupRowsCannotBeMixedV3(t *testing.T) {
	for name, in := range lookupMixInputs() {
		checkLookupMix(t, "v3 "+name, func() frontend.Circuit { return NewV3(testCap) }, mustAssignV3(t, in))
	}
}

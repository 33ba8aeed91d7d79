package gateway

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/test"
	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
	"github.com/veritee/veritee/prover/internal/commitment"
)

// The production shape of the smallest size class: 1024 requests, 64 checks
// (one packed element of 63 check pairs holds all of them).
var classShape = Classes[1024]

// v1CheckOffset is the offset version 1 of the circuit gave check pairs in its
// one combined histogram identity.
const v1CheckOffset = 1024

// fe is v reduced into the field (negative values wrap around).
func fe(v int64) fr.Element {
	var e fr.Element
	e.SetInt64(v)
	return e
}

// packedChecks is the field element the commitment absorbs for check pairs
// pairs[0..62]: sum_k pairs[k] * 16^k (mod r), as gadget.Pack builds it.
func packedChecks(pairs []fr.Element) fr.Element {
	var acc, pow, term, sixteen fr.Element
	pow.SetOne()
	sixteen.SetUint64(checkPairBase * checkPairBase)
	for k := range pairs {
		term.Mul(&pairs[k], &pow)
		acc.Add(&acc, &term)
		pow.Mul(&pow, &sixteen)
	}
	return acc
}

func tableIndex(t *testing.T, tab []Pair, key func(Pair) uint64, k uint64) int {
	t.Helper()
	for i, p := range tab {
		if key(p) == k {
			return i
		}
	}
	t.Fatalf("key %d not in table", k)
	return -1
}

// availabilityForgery builds the forgery of the audit (issue 9): 64 health
// checks with 8 failures (87.5 %) under a 90 % minimum, honest commitment, n and
// parameters, claimed AvailabilityOk = 1 and Compliant = 1.
//
// The honest check pairs are (failed, failed) = 5 in slots 0..3 and
// (passed, passed) = 10 in slots 4..31. The forgery sets
//
//	slot 0: 5 -> 133 - 1024  (read by the histogram as request pair (5, 4): 4xx and 3xx without connection)
//	slot 1: 5 ->  45 - 1024  (read as request pair (13, 1): a connected 4xx and a connection failure)
//	slot 2: 5 -> 6           (passed, failed)
//	slot 3: 5 -> 9           (failed, passed)
//
// (133-1029) + 16(45-1029) + 256*1 + 4096*4 = 0, so the packed element, and
// with it the commitment, is unchanged. The check histogram then holds 30
// pairs with 2 failures (58 passed > 0.9 * 64), and the request histogram two
// extra pairs that change no verdict. It returns the forged witness and the
// honest one.
func availabilityForgery(t *testing.T) (forged, honest *Circuit) {
	t.Helper()
	in := sampleInput(1000, mix{fourXX: 10, connFail: 2}, 64, 8, 91)
	in.MinAvailabilityBp = 9000
	honest, out, err := Assign(classShape, in)
	if err != nil {
		t.Fatal(err)
	}
	if out.AvailabilityOk || out.Compliant || out.Passed != 56 || !out.ErrorRateOk || !out.ConnectionOk || !out.RateLimitOk {
		t.Fatalf("honest setup: %+v", out)
	}
	f := New(classShape)
	*f = *honest
	f.Pairs = append([]frontend.Variable(nil), honest.Pairs...)
	f.CheckPairs = append([]frontend.Variable(nil), honest.CheckPairs...)

	const readA, readB = 5 + pairBase*4, 13 + pairBase*1 // request pairs (5,4) and (13,1)
	newSlots := map[int]fr.Element{0: fe(readA - v1CheckOffset), 1: fe(readB - v1CheckOffset), 2: fe(6), 3: fe(9)}
	for k, want := range map[int]uint64{0: 5, 1: 5, 2: 5, 3: 5} {
		if toU(honest.CheckPairs[k]) != want {
			t.Fatalf("honest check pair %d = %v, want %d", k, honest.CheckPairs[k], want)
		}
	}
	honestPairs := make([]fr.Element, len(f.CheckPairs))
	forgedPairs := make([]fr.Element, len(f.CheckPairs))
	for k := range f.CheckPairs {
		honestPairs[k] = fe(int64(toU(honest.CheckPairs[k])))
		forgedPairs[k] = honestPairs[k]
		if v, ok := newSlots[k]; ok {
			forgedPairs[k] = v
			f.CheckPairs[k] = v
		}
	}
	// The committed element is unchanged: the forgery keeps the honest commitment.
	if a, b := packedChecks(honestPairs), packedChecks(forgedPairs); !a.Equal(&b) {
		t.Fatal("forgery changes the packed check element")
	}

	// Histograms as the combined identity reads them.
	for u := range f.CheckCount {
		f.CheckCount[u] = toU(honest.CheckCount[u])
	}
	dec := func(k uint64) {
		u := tableIndex(t, CheckTable, checkKey, k)
		f.CheckCount[u] = toU(f.CheckCount[u]) - 1
	}
	inc := func(k uint64) {
		u := tableIndex(t, CheckTable, checkKey, k)
		f.CheckCount[u] = toU(f.CheckCount[u]) + 1
	}
	for range 4 {
		dec(5)
	}
	inc(6)
	inc(9)
	for i := range f.Count {
		f.Count[i] = toU(honest.Count[i])
	}
	for _, k := range []uint64{readA, readB} {
		i := tableIndex(t, Table, Pair.Key, k)
		f.Count[i] = toU(f.Count[i]) + 1
	}

	// Outputs as the circuit computes them from these histograms: availability
	// 58/64 = 90.6 %; one more success (13), one more connected request (13).
	success, conn := out.Success+1, out.ConnOK+1
	f.HealthBp = success * 10000 / out.N
	f.AvailabilityOk, f.Compliant = 1, 1
	if !(conn*10000 > in.MinConnectionBp*out.N) {
		t.Fatal("forged connection verdict")
	}
	return f, honest
}

// TestCheckPairsCannotBeReadAsRequests is the availability forgery of issue 9:
// check slots holding "negative" values (t - 1024) were read as request pairs
// by the one combined log-derivative identity, and packed to the honest
// commitment. Each multiset now has its own identity, so every check slot must
// be one of the 9 check pairs (< 16) and every request slot one of the 625
// request pairs (< 1024): the witness has no solution.
func TestCheckPairsCannotBeReadAsRequests(t *testing.T) {
	forged, honest := availabilityForgery(t)
	if err := test.IsSolved(New(classShape), honest, ecc.BN254.ScalarField()); err != nil {
		t.Fatalf("honest witness rejected: %v", err)
	}
	if err := test.IsSolved(New(classShape), forged, ecc.BN254.ScalarField()); err == nil {
		t.Fatal("availability forgery (check pairs read as request pairs) accepted")
	}
}

// shiftCount moves one count of a histogram from key from to key to.
func shiftCount(t *testing.T, counts []frontend.Variable, tab []Pair, key func(Pair) uint64, from, to uint64) {
	t.Helper()
	i, j := tableIndex(t, tab, key, from), tableIndex(t, tab, key, to)
	counts[i] = toU(counts[i]) - 1
	counts[j] = toU(counts[j]) + 1
}

// Every kind of bounded gateway slot one past its bound is refused although
// the commitment is kept: circuittest.CarryPastBound adds 2^width to a slot and
// takes one from the next slot of the same packed element, and the histogram
// is kept consistent with every other slot, so only the per-multiset
// log-derivative identity (the range check of the slots) can catch it.
func TestSlotPastBoundRefused(t *testing.T) {
	in := sampleInput(1000, mix{fourXX: 10}, 300, 0, 12)
	perPairs := commitment.PerElement(commitment.CodeBits) / 2
	success := func(c uint64) bool { return c == 12 || c == 13 } // 3xx / 4xx, connected: c - 1 is a success too

	// a request pair (10 bits): pair k gets 2^10 more, pair k+1 (first code a
	// success whose predecessor is one too, so no figure moves) one less
	w, _ := mustAssign(t, in)
	k := -1
	for i := 0; i+1 < 500; i++ {
		if i%perPairs != perPairs-1 && success(toU(w.Pairs[i+1])%pairBase) {
			k = i
			break
		}
	}
	if k < 0 {
		t.Fatal("no suitable request pair")
	}
	next := toU(w.Pairs[k+1])
	circuittest.CarryPastBound(t, &w.Pairs[k], &w.Pairs[k+1], 2*commitment.CodeBits)
	shiftCount(t, w.Count[:], Table, Pair.Key, next, next-1)
	rejected(t, "request pair one past 2^10", w)

	// a check pair (4 bits): pair 5 gets 16 more, pair 6 (passed, passed) becomes
	// (failed, passed); 299 of 300 passed is still above 99 %
	w, _ = mustAssign(t, in)
	if toU(w.CheckPairs[6]) != 10 {
		t.Fatal("setup: check pair 6")
	}
	circuittest.CarryPastBound(t, &w.CheckPairs[5], &w.CheckPairs[6], 2*commitment.CheckBits)
	shiftCount(t, w.CheckCount[:], CheckTable, checkKey, 10, 9)
	rejected(t, "check pair one past 2^4", w)

	// a padding slot after the committed blocks, one past its bound, the
	// histogram left as if it were still padding
	w, _ = mustAssign(t, in)
	w.Pairs[len(w.Pairs)-1] = 1 << (2 * commitment.CodeBits)
	rejected(t, "request padding slot at 2^10", w)
	w, _ = mustAssign(t, in)
	w.CheckPairs[len(w.CheckPairs)-1] = 1 << (2 * commitment.CheckBits)
	rejected(t, "check padding slot at 2^4", w)

	// control: the unedited witness solves
	w, _ = mustAssign(t, in)
	solved(t, "control", w)
}

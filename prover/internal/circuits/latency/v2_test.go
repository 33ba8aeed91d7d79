package latency

import (
	"fmt"
	"math/big"
	"math/rand"
	"sort"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
	"github.com/veritee/veritee/prover/internal/commitment"
)

var solvedV2, rejectedV2 = circuittest.Checks(NewV2, testCap)

func mustAssignV2(t *testing.T, in *Input) *CircuitV2 {
	t.Helper()
	w, _, err := AssignV2(testCap, in)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// resortV2 rebuilds everything a version-2 witness derives from its
// latencies, ignoring every bound (latencies read as integers in [0, r)), so
// that only a range check can refuse the result.
func resortV2(w *CircuitV2, in *Input) {
	capacity, n := len(w.Lat), len(in.Records)
	lat := make([]*big.Int, capacity)
	for i := range lat {
		l := circuittest.Field(w.Lat[i])
		lat[i] = l.BigInt(new(big.Int))
	}
	sort.Slice(lat, func(a, b int) bool { return lat[a].Cmp(lat[b]) < 0 })
	for i := range lat {
		w.Sorted[i] = lat[i]
	}
	compliant := uint64(n) >= in.MinN
	for j := 0; j < NbSlots; j++ {
		v := lat[capacity-n+int(Rank(in.Percentile[j], uint64(n)))-1]
		th := new(big.Int).SetUint64(in.Threshold[j])
		below := sort.Search(capacity, func(i int) bool { return lat[i].Cmp(th) >= 0 })
		w.Value[j] = v
		w.Below[j] = below
		w.Exceeding[j] = capacity - below
		w.ValueBelow[j] = b2i(v.Cmp(th) < 0)
		if in.Enforce[j] && v.Cmp(th) >= 0 {
			compliant = false
		}
	}
	w.Compliant = b2i(compliant)
}

func TestV2ValidWitnesses(t *testing.T) {
	for _, n := range []int{1, 2, 3, 31, 45, 63, testCap} {
		solvedV2(t, fmt.Sprintf("%d records", n), mustAssignV2(t, sampleInput(n, int64(n))))
	}
	in := sampleInput(40, 1)
	for i := range in.Records {
		in.Records[i].End = in.Records[i].Start + 7777
	}
	solvedV2(t, "all equal latencies", mustAssignV2(t, in))
	in = sampleInput(5, 2)
	in.PeriodEndUs = in.PeriodStartUs + (1 << 42)
	in.Records[0] = commitment.Record{Start: (1 << 42) - 1, End: (1 << 42) - 1}
	in.Records[1] = commitment.Record{Start: 0, End: (1 << 42) - 1}
	in.Threshold = [NbSlots]uint64{1 << 42, 1 << 42, 1}
	solvedV2(t, "maximum values", mustAssignV2(t, in))
	w := mustAssignV2(t, sampleInput(20, 3))
	resortV2(w, sampleInput(20, 3))
	solvedV2(t, "control (resorted honest witness)", w)
}

// The outputs agree with version 1 on the same input, and the digest is the
// version-1 commitment of the records in start order.
func TestV2AgreesWithV1(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	for trial := 0; trial < 5; trial++ {
		in := sampleInput(1+rng.Intn(testCap), int64(200+trial))
		_, o1, err := Assign(testCap, in)
		if err != nil {
			t.Fatal(err)
		}
		w, o2, err := AssignV2(testCap, in)
		if err != nil {
			t.Fatal(err)
		}
		solvedV2(t, fmt.Sprintf("trial %d", trial), w)
		if o1.Value != o2.Value || o1.Exceeding != o2.Exceeding || o1.Compliant != o2.Compliant || o1.N != o2.N {
			t.Fatalf("trial %d: outputs differ: %+v vs %+v", trial, o1, o2)
		}
		ordered := *in
		ordered.Records = InStartOrder(in.Records)
		want, err := commitment.Latency(&commitment.LatencyInput{Salt: in.Salt, PeriodStartUs: in.PeriodStartUs, PeriodEndUs: in.PeriodEndUs, Records: ordered.Records})
		if err != nil {
			t.Fatal(err)
		}
		if !want.Equal(&o2.Commitment) {
			t.Fatalf("trial %d: the digest is not the commitment of the records in start order", trial)
		}
	}
}

func TestV2WrongPercentile(t *testing.T) {
	w := mustAssignV2(t, sampleInput(50, 3))
	w.Value[1] = toU(w.Value[1]) + 1
	rejectedV2(t, "p95+1", w)

	w = mustAssignV2(t, sampleInput(50, 3))
	w.Rank[1] = toU(w.Rank[1]) + 1
	rejectedV2(t, "rank+1", w)

	w = mustAssignV2(t, sampleInput(50, 3))
	w.Exceeding[2] = toU(w.Exceeding[2]) + 1
	rejectedV2(t, "exceeding+1", w)

	w = mustAssignV2(t, sampleInput(50, 3))
	w.Below[2] = toU(w.Below[2]) - 1
	w.Exceeding[2] = toU(w.Exceeding[2]) + 1
	rejectedV2(t, "below-1 with a consistent exceeding", w)

	w = mustAssignV2(t, sampleInput(50, 3))
	w.Compliant = 1 - toU(w.Compliant)
	rejectedV2(t, "flipped verdict", w)
}

func TestV2NotAPermutation(t *testing.T) {
	in := sampleInput(50, 4)
	w := mustAssignV2(t, in)
	w.Sorted[testCap-1] = w.Sorted[testCap-2]
	rejectedV2(t, "duplicated value in the sorted copy", w)

	// a record's latency lowered, the sorted copy and outputs left alone
	w = mustAssignV2(t, in)
	w.Lat[5] = toU(w.Lat[5]) - 1
	rejectedV2(t, "latency changed under the sorted copy", w)

	w = mustAssignV2(t, in)
	w.Sorted[testCap-1], w.Sorted[testCap-2] = w.Sorted[testCap-2], w.Sorted[testCap-1]
	if toU(w.Sorted[testCap-1]) != toU(w.Sorted[testCap-2]) {
		rejectedV2(t, "unsorted copy", w)
	}
}

func TestV2RecordOutsidePeriod(t *testing.T) {
	in := sampleInput(10, 5)
	period := in.PeriodEndUs - in.PeriodStartUs
	// the last record (in start order) starts exactly at the period end
	w := mustAssignV2(t, in)
	for i := 9; i < testCap; i++ {
		w.Start[i] = period
	}
	rejectedV2(t, "start == period end", w)

	// a record moved before the period start ("negative" start)
	w = mustAssignV2(t, in)
	w.Start[0] = minusOne()
	rejectedV2(t, "start -1", w)

	// starts out of order
	w = mustAssignV2(t, in)
	w.Start[3], w.Start[4] = w.Start[4], w.Start[3]
	if toU(w.Start[3]) != toU(w.Start[4]) {
		rejectedV2(t, "starts out of order", w)
	}
}

func TestV2PaddingCannotMoveOutputs(t *testing.T) {
	in := sampleInput(20, 8)
	// a huge latency hidden in a padding slot, sorted copy and outputs rebuilt
	w := mustAssignV2(t, in)
	w.Lat[40] = 1 << 41
	resortV2(w, in)
	rejectedV2(t, "non-zero padding latency", w)

	w = mustAssignV2(t, in)
	w.Active[25] = 1
	rejectedV2(t, "gap in the active flags", w)

	w = mustAssignV2(t, in)
	w.N = 19
	w.Active[19] = 0
	resortV2(w, &Input{Params: in.Params, Records: in.Records[:19]})
	rejectedV2(t, "a real record turned into padding", w)
}

// Every bounded slot one past its bound is refused, the sorted copy and every
// output rebuilt from the tampered values.
func TestV2SlotPastBoundRefused(t *testing.T) {
	in := sampleInput(20, 61)

	// a latency of 2^42 (one past the bound)
	w := mustAssignV2(t, in)
	w.Lat[3] = uint64(1) << offsetBits
	resortV2(w, in)
	rejectedV2(t, "latency 2^42", w)

	// a "negative" latency (end before start)
	w = mustAssignV2(t, in)
	w.Lat[7] = minusOne()
	resortV2(w, in)
	rejectedV2(t, "latency -1", w)

	// a start difference of 2^42 carried into the next slot: Start[i] grows by
	// 2^42, beyond every period
	w = mustAssignV2(t, in)
	for i := 10; i < testCap; i++ {
		var e fr.Element
		e.SetUint64(toU(w.Start[i]))
		e.Add(&e, new(fr.Element).SetUint64(uint64(1)<<offsetBits))
		w.Start[i] = e
	}
	rejectedV2(t, "start 2^42 later", w)

	// a padding latency of -1 with the sorted copy rebuilt
	w = mustAssignV2(t, in)
	w.Lat[50] = minusOne()
	resortV2(w, in)
	rejectedV2(t, "padding latency -1", w)

	// the salt past its bound
	w = mustAssignV2(t, in)
	w.Salt = new(big.Int).Lsh(big.NewInt(1), SaltBitsV2)
	rejectedV2(t, "salt 2^248", w)
	if _, _, err := AssignV2(testCap, func() *Input { c := *in; c.Salt.SetBigInt(new(big.Int).Lsh(big.NewInt(1), SaltBitsV2)); return &c }()); err == nil {
		t.Fatal("AssignV2 accepted a salt of 2^248")
	}
}

// A real Groth16 round trip at the smallest capacity.
func TestV2Groth16RoundTrip(t *testing.T) {
	const capacity = 16
	in := sampleInput(11, 77)
	w, _, err := AssignV2(capacity, in)
	if err != nil {
		t.Fatal(err)
	}
	circuittest.Groth16RoundTrip(t, NewV2(capacity), w, map[string]func(*CircuitV2){
		"a changed p95":     func(w *CircuitV2) { w.Value[1] = toU(w.Value[1]) + 1 },
		"a changed count":   func(w *CircuitV2) { w.N = 10 },
		"a flipped verdict": func(w *CircuitV2) { w.Compliant = 1 - toU(w.Compliant) },
	})
}

func TestV2ConstraintCount(t *testing.T) {
	c := circuittest.CountCap(1024)
	ccs, err := circuittest.Compile(NewV2(c))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("v2 capacity %d: %d constraints (%.2f per record)", c, ccs.GetNbConstraints(), float64(ccs.GetNbConstraints())/float64(c))
}

var _ = frontend.Variable(nil)

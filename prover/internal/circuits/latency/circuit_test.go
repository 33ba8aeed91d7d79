package latency

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
	"github.com/veritee/veritee/prover/internal/commitment"
)

const testCap = 64

func sampleInput(n int, seed int64) *Input {
	rng := rand.New(rand.NewSource(seed))
	in := &Input{Params: Params{
		PeriodStartUs: 1_750_000_000_000_000,
		PeriodEndUs:   1_750_000_000_000_000 + 3_600_000_000,
		MinN:          10,
		Percentile:    [NbSlots]uint64{5000, 9500, 9900},
		Threshold:     [NbSlots]uint64{1, 100_000, 500_000},
		Enforce:       [NbSlots]bool{false, true, true},
	}}
	in.Salt.SetUint64(0xC0FFEE)
	for i := 0; i < n; i++ {
		s := uint64(rng.Int63n(3_600_000_000))
		in.Records = append(in.Records, commitment.Record{Start: s, End: s + uint64(1000+rng.Int63n(200_000))})
	}
	return in
}

func mustAssign(t *testing.T, in *Input) *Circuit {
	t.Helper()
	w, _, err := Assign(testCap, in)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

var (
	solved, rejected = circuittest.Checks(New, testCap)
	toU              = circuittest.ToU
)

func TestValidWitnesses(t *testing.T) {
	for _, n := range []int{1, 2, 3, 31, 45, 46, 63, testCap} {
		solved(t, fmt.Sprintf("%d records", n), mustAssign(t, sampleInput(n, int64(n))))
	}
	// all equal latencies, ties everywhere
	in := sampleInput(40, 1)
	for i := range in.Records {
		in.Records[i].End = in.Records[i].Start + 7777
	}
	solved(t, "all equal latencies", mustAssign(t, in))
	// maximum values: latency just under 2^42, start at the very end of the period
	in = sampleInput(5, 2)
	in.PeriodEndUs = in.PeriodStartUs + (1 << 42)
	in.Records[0] = commitment.Record{Start: (1 << 42) - 1, End: (1 << 42) - 1}
	in.Records[1] = commitment.Record{Start: 0, End: (1 << 42) - 1}
	in.Threshold = [NbSlots]uint64{1 << 42, 1 << 42, 1}
	solved(t, "maximum values", mustAssign(t, in))
}

func TestWrongOrderStatistic(t *testing.T) {
	w := mustAssign(t, sampleInput(50, 3))
	w.Value[1] = toU(w.Value[1]) + 1
	rejected(t, "p95+1", w)

	w = mustAssign(t, sampleInput(50, 3))
	w.Rank[1] = toU(w.Rank[1]) + 1
	w.Value[1] = 0 // whatever the neighbour is, rank is pinned
	rejected(t, "rank+1", w)
}

func TestSortedCopyNotAPermutation(t *testing.T) {
	in := sampleInput(50, 4)
	w := mustAssign(t, in)
	// replace the largest latency with a copy of the smallest real one: still sorted
	// after re-sorting, but not the committed multiset
	w.Sorted[testCap-1] = w.Sorted[testCap-2]
	rejected(t, "duplicated value", w)

	w = mustAssign(t, in)
	w.Sorted[testCap-1], w.Sorted[testCap-2] = w.Sorted[testCap-2], w.Sorted[testCap-1]
	if w.Sorted[testCap-1] != w.Sorted[testCap-2] {
		rejected(t, "unsorted", w)
	}
}

func TestRecordOutsidePeriod(t *testing.T) {
	in := sampleInput(10, 5)
	w := mustAssign(t, in)
	period := in.PeriodEndUs - in.PeriodStartUs
	// move one record to start exactly at the period end (exclusive bound)
	w.Start[0] = period
	w.End[0] = period + 10
	rejected(t, "start == period end", w)
	if err := in.Validate(testCap); err != nil {
		t.Fatal(err)
	}
	in.Records[0].Start = period
	if err := in.Validate(testCap); err == nil {
		t.Fatal("native validation accepted a record outside the period")
	}
}

func TestNegativeLatency(t *testing.T) {
	w := mustAssign(t, sampleInput(10, 6))
	s, e := toU(w.Start[2]), toU(w.End[2])
	w.Start[2], w.End[2] = e, s
	rejected(t, "end before start", w)
}

func TestCountDisagreesWithCommitment(t *testing.T) {
	in := sampleInput(20, 7)
	w := mustAssign(t, in)
	// claim one record fewer: drop the last active flag
	w.N = 19
	w.Active[19] = 0
	rejected(t, "n-1 with the same commitment", w)

	w = mustAssign(t, in)
	w.Exceeding[1] = toU(w.Exceeding[1]) + 1
	rejected(t, "exceeding+1", w)

	w = mustAssign(t, in)
	w.Compliant = 1 - toU(w.Compliant)
	rejected(t, "flipped verdict", w)
}

func TestPaddingCannotChangeOutputs(t *testing.T) {
	in := sampleInput(20, 8)
	w := mustAssign(t, in)
	// a huge latency hidden in a padding slot, sorted copy adjusted to contain it
	w.Start[40] = 0
	w.End[40] = 1 << 41
	w.Sorted[0] = 1 << 41
	rejected(t, "non-zero padding", w)

	w = mustAssign(t, in)
	// re-activating a padding slot without changing n
	w.Active[25] = 1
	rejected(t, "gap in active flags", w)
}

func TestThresholdCountPinned(t *testing.T) {
	w := mustAssign(t, sampleInput(50, 9))
	w.Below[2] = toU(w.Below[2]) - 1
	w.Exceeding[2] = toU(w.Exceeding[2]) + 1
	rejected(t, "below-1 consistent exceeding", w)
}

func TestCircuitMatchesReferenceOnRandomData(t *testing.T) {
	rng := rand.New(rand.NewSource(42))
	for trial := 0; trial < 6; trial++ {
		n := 1 + rng.Intn(testCap)
		in := sampleInput(n, int64(100+trial))
		for i := range in.Records {
			if rng.Intn(3) == 0 { // many ties
				in.Records[i].End = in.Records[i].Start + 1000
			}
		}
		w, out, err := Assign(testCap, in)
		if err != nil {
			t.Fatal(err)
		}
		solved(t, fmt.Sprintf("trial %d", trial), w)
		// the plain reference: nearest rank
		lat := make([]uint64, n)
		for i, r := range in.Records {
			lat[i] = r.End - r.Start
		}
		for j := 0; j < NbSlots; j++ {
			k := Rank(in.Percentile[j], uint64(n))
			cnt := uint64(0)
			for _, l := range lat {
				if l < out.Value[j] {
					cnt++
				}
			}
			if cnt >= k {
				t.Fatalf("slot %d: %d values below the claimed percentile but rank %d", j, cnt, k)
			}
		}
	}
}

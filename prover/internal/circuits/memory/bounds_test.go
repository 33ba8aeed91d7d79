package memory

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
	"github.com/veritee/veritee/prover/internal/commitment"
)

func minusOne() fr.Element {
	var e fr.Element
	e.SetInt64(-1)
	return e
}

// Every kind of bounded memory slot one past its bound is refused although the
// commitment and every output are kept, so that only the slot's range check
// can catch it.
func TestSlotPastBoundRefused(t *testing.T) {
	in := sampleInput(10, 20, 8000, 31)
	in.PercentileBp = 5000 // the median: the largest total is not the percentile
	per := commitment.PerElement(ItemBits)

	// swap pages one past 2^32, a page fault less (same packed element; neither
	// feeds an output)
	w, _ := mustAssign(t, in)
	circuittest.CarryPastBound(t, &w.SwapPages[4], &w.PageFaults[4], ItemBits)
	rejected(t, "swap pages one past 2^32", w)

	// a usage item one past 2^32 in the sample with the largest total: the
	// total grows by 2^32 - 1, the median stays
	w, out := mustAssign(t, in)
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
	p := 0
	for (p+2)%per == per-1 || toU(w.UsageKiB[top][p+1]) == 0 {
		p++
	}
	circuittest.CarryPastBound(t, &w.UsageKiB[top][p], &w.UsageKiB[top][p+1], ItemBits)
	rejected(t, "usage one past 2^32", w)

	// padding: two padding samples hold +1/-1 items that cancel in every row
	// and column sum; their row digests are masked out of the commitment
	w, _ = mustAssign(t, in)
	w.UsageKiB[12][0], w.UsageKiB[12][1] = 1, minusOne()
	w.UsageKiB[13][0], w.UsageKiB[13][1] = minusOne(), 1
	rejected(t, "padding items +1/-1", w)
	w, _ = mustAssign(t, in)
	w.SwapPages[15], w.PageFaults[15] = 1, minusOne()
	rejected(t, "padding swap/faults +1/-1", w)

	// the percentile (a secret output) one past its bound cannot stand in for a total
	w, _ = mustAssign(t, in)
	w.Value = frontend.Variable(uint64(1) << TotalBits(testShape.Processes))
	rejected(t, "percentile past its bound", w)

	w, _ = mustAssign(t, in)
	solved(t, "control", w)
}

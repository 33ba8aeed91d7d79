package disk

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
)

func minusOne() fr.Element {
	var e fr.Element
	e.SetInt64(-1)
	return e
}

// Every kind of bounded disk slot one past its bound is refused although the
// commitment is kept (and, where the tampered slot feeds one, the output is
// set to what the tampered data would give).
func TestSlotPastBoundRefused(t *testing.T) {
	in := sampleInput(5, 12, 6000, 8, 51)

	// a block total one past 2^48 (packed with the inode count after it): the
	// mount's usage drops to 0 % and its inode usage a hair; the maxima are
	// taken over the other mounts, which stay below the thresholds. (Refused
	// twice over: by the stat's range check and by the divisor bound of the
	// usage ratio.)
	w, out := mustAssign(t, in)
	circuittest.CarryPastBound(t, &w.TotalKiB[2], &w.InodesUsed[2], StatBits)
	if out.ScaleOut {
		t.Fatal("setup: scale-out")
	}
	var maxU, maxI uint64
	for m, mt := range in.Mounts {
		if m == 2 {
			maxI = max(maxI, bp(mt.InodesUsed-1, mt.InodesTotal))
			continue
		}
		maxU, maxI = max(maxU, bp(mt.UsedKiB, mt.TotalKiB)), max(maxI, bp(mt.InodesUsed, mt.InodesTotal))
	}
	w.MaxUsageBp, w.MaxInodeUsageBp = maxU, maxI
	rejected(t, "block total one past 2^48", w)

	// a queue sample one past 2^16 (the next sample one less): the device now
	// has more than the threshold in flight
	w, out = mustAssign(t, in)
	s := 0
	for toU(w.Queue[1][s+1]) == 0 {
		s++
	}
	if out.PerformanceIssue || s+1 >= 12 {
		t.Fatal("setup: queue")
	}
	circuittest.CarryPastBound(t, &w.Queue[1][s], &w.Queue[1][s+1], QueueBits)
	w.PerformanceIssue = 1
	rejected(t, "queue sample one past 2^16", w)

	// padding: a padding mount holds +1/-1 queue samples (its row sums to 0 and
	// its digest is masked out of the commitment). Refused by the sample range
	// check and by the bounded comparison with the queue threshold.
	w, _ = mustAssign(t, in)
	w.Queue[6][0], w.Queue[6][1] = 1, minusOne()
	w.Queue[7][0], w.Queue[7][1] = minusOne(), 1
	rejected(t, "padding queue samples +1/-1", w)

	w, _ = mustAssign(t, in)
	solved(t, "control", w)
}

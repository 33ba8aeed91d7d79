package cpu

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/veritee/veritee/prover/internal/circuits/common"
	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
)

func minusOne() fr.Element {
	var e fr.Element
	e.SetInt64(-1)
	return e
}

// Every kind of bounded CPU slot one past its bound is refused although the
// commitment is kept and every output is recomputed from the tampered data,
// so that only the slot's own check can catch it.
func TestSlotPastBoundRefused(t *testing.T) {
	const nS, nP, platform = 10, 20, 4
	in := sampleInput(nS, nP, platform, 6000, 400, 41)

	// a usage item one past 2^20: platform processes 0 and 1 of sample 3 (same
	// packed element); the customer load is unchanged, U and the platform load
	// grow by 2^20 - 1, band and platform verdict are recomputed
	w, out := mustAssign(t, in)
	circuittest.CarryPastBound(t, &w.Usage[3][0], &w.Usage[3][1], ItemBits)
	u := out.TotalMilli + 1<<ItemBits - 1
	plat := out.PlatformMilli + 1<<ItemBits - 1
	w.Band = u * 10 / (nS * in.CapacityMilli)
	w.PlatformBelowLimit = common.B2i(plat*common.BpScale < in.PlatformLimitBp*u)
	rejected(t, "usage one past 2^20", w)

	// an ownership flag one past 1 (packed one bit each): the last platform
	// process gets flag 2, the first customer process flag 0, so the owner
	// digest is unchanged; customer loads, percentile and verdicts recomputed
	w, _ = mustAssign(t, in)
	circuittest.CarryPastBound(t, &w.Customer[platform-1], &w.Customer[platform], 1)
	cust := make([]uint64, nS)
	var custTotal uint64
	for s, row := range in.Samples {
		for p, v := range row {
			switch {
			case p == platform-1:
				cust[s] += 2 * v
			case p > platform:
				cust[s] += v
			}
		}
		custTotal += cust[s]
	}
	if custTotal > out.TotalMilli {
		t.Fatal("setup: platform load would be negative")
	}
	v := common.KthSmallest(cust, common.Rank(in.PercentileBp, nS))
	w.Value = v
	w.ScaleOut = common.B2i(v*common.BpScale > in.ThresholdBp*in.CapacityMilli)
	w.PlatformBelowLimit = common.B2i((out.TotalMilli-custTotal)*common.BpScale < in.PlatformLimitBp*out.TotalMilli)
	rejected(t, "ownership flag 2", w)

	// padding: two padding samples hold +1/-1 for two platform processes, which
	// cancel in every row, column and customer sum; their digests are masked
	w, _ = mustAssign(t, in)
	w.Usage[12][0], w.Usage[12][1] = 1, minusOne()
	w.Usage[13][0], w.Usage[13][1] = minusOne(), 1
	rejected(t, "padding usage +1/-1", w)

	w, _ = mustAssign(t, in)
	solved(t, "control", w)
}

package rank

import (
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/gadget"
	"github.com/veritee/veritee/prover/internal/gadget/compare"
)

// NearestRank returns k = ceil(p * n / 10000) for p in [1, 10000] (basis points)
// and n in [1, 2^nBits), constraining 0 <= 10000k - p*n < 10000 and k >= 1.
// The caller range-checks p and n.
func NearestRank(api frontend.API, rc frontend.Rangechecker, p, n frontend.Variable, nBits int) frontend.Variable {
	out, err := api.Compiler().NewHint(gadget.RankHint, 1, p, n)
	if err != nil {
		panic(err)
	}
	k := out[0]
	rc.Check(api.Sub(k, 1), nBits)
	d := api.Sub(api.Mul(k, gadget.BpScale), api.Mul(p, n))
	rc.Check(d, gadget.BpBits)
	rc.Check(api.Sub(gadget.BpScale-1, d), gadget.BpBits)
	return k
}

// AssertKthSmallest constrains value to be the k-th smallest of the values whose
// active flag is 1 (see the package doc). Values and value must be < 2^bits;
// active flags must be boolean; k in [1, count of active values] is implied.
func AssertKthSmallest(api frontend.API, rc frontend.Rangechecker, values, active []frontend.Variable, k, value frontend.Variable, bits int) {
	var below, atMost []frontend.Variable
	for i, v := range values {
		lt := compare.Less(api, rc, v, value, bits)
		gt := compare.Less(api, rc, value, v, bits)
		below = append(below, api.Mul(active[i], lt))
		atMost = append(atMost, api.Sub(active[i], api.Mul(active[i], gt)))
	}
	cntBits := gadget.BitLen(len(values)) + 1
	rc.Check(api.Sub(k, 1, gadget.Sum(api, below)), cntBits) // #{< V} <= k-1
	rc.Check(api.Sub(gadget.Sum(api, atMost), k), cntBits)   // #{<= V} >= k
}

// AssertPercentile constrains value to be the nearest-rank percentile
// (percentileBp, basis points) of the values whose active flag is 1: the k-th
// smallest, k = ceil(percentileBp * n / 10000). The caller range-checks
// percentileBp to [1, 10000] and constrains the active flags to a prefix of n
// ones (PrefixFlags); values must be < 2^bits, and value is range-checked here.
func AssertPercentile(api frontend.API, rc frontend.Rangechecker, values, active []frontend.Variable, n, percentileBp, value frontend.Variable, bits int) {
	k := NearestRank(api, rc, percentileBp, n, gadget.BitLen(len(values)))
	rc.Check(value, bits)
	AssertKthSmallest(api, rc, values, active, k, value, bits)
}

// Gadget: order statistics by counting (NearestRank, AssertKthSmallest,
// AssertPercentile), no sorting.
//
// Argument: V is the k-th smallest of the values v_1..v_n iff
//
//	#{v_i < V} < k <= #{v_i <= V}.
//
// Let w_1 <= ... <= w_n be the sorted values. If w_k < V then at least k values
// are < V; if w_k > V then at most k-1 values are <= V. Both are excluded, so
// w_k = V (and V is one of the values, without a separate membership argument).
// Each count costs two bounded comparisons per value, which beats a sorted copy
// plus a permutation argument for the short series (samples) these circuits
// rank. The nearest rank k = ceil(p*n/10000) is a hint checked by
// 0 <= 10000k - p*n < 10000 and k >= 1.
//
// Soundness: values and V below 2^bits; active flags boolean and (for
// percentiles) a prefix of n ones (PrefixFlags); p range-checked to
// [1, 10000] (CheckBp) and n < 2^nBits.

package gadget

import (
	"github.com/consensys/gnark/frontend"
	"math/big"
)

// rankHint: ceil(p * n / 10000).
func rankHint(_ *big.Int, in, out []*big.Int) error {
	v := new(big.Int).Mul(in[0], in[1])
	v.Add(v, big.NewInt(BpScale-1))
	out[0].Quo(v, big.NewInt(BpScale))
	return nil
}

// NearestRank returns k = ceil(p * n / 10000) for p in [1, 10000] (basis points)
// and n in [1, 2^nBits), constraining 0 <= 10000k - p*n < 10000 and k >= 1.
// The caller range-checks p and n.
func NearestRank(api frontend.API, rc frontend.Rangechecker, p, n frontend.Variable, nBits int) frontend.Variable {
	out, err := api.Compiler().NewHint(rankHint, 1, p, n)
	if err != nil {
		panic(err)
	}
	k := out[0]
	rc.Check(api.Sub(k, 1), nBits)
	d := api.Sub(api.Mul(k, BpScale), api.Mul(p, n))
	rc.Check(d, BpBits)
	rc.Check(api.Sub(BpScale-1, d), BpBits)
	return k
}

// AssertKthSmallest constrains value to be the k-th smallest of the values whose
// active flag is 1 (see the package doc). Values and value must be < 2^bits;
// active flags must be boolean; k in [1, count of active values] is implied.
func AssertKthSmallest(api frontend.API, rc frontend.Rangechecker, values, active []frontend.Variable, k, value frontend.Variable, bits int) {
	var below, atMost []frontend.Variable
	for i, v := range values {
		lt := Less(api, rc, v, value, bits)
		gt := Less(api, rc, value, v, bits)
		below = append(below, api.Mul(active[i], lt))
		atMost = append(atMost, api.Sub(active[i], api.Mul(active[i], gt)))
	}
	cntBits := BitLen(len(values)) + 1
	rc.Check(api.Sub(k, 1, Sum(api, below)), cntBits) // #{< V} <= k-1
	rc.Check(api.Sub(Sum(api, atMost), k), cntBits)   // #{<= V} >= k
}

// AssertPercentile constrains value to be the nearest-rank percentile
// (percentileBp, basis points) of the values whose active flag is 1: the k-th
// smallest, k = ceil(percentileBp * n / 10000). The caller range-checks
// percentileBp to [1, 10000] and constrains the active flags to a prefix of n
// ones (PrefixFlags); values must be < 2^bits, and value is range-checked here.
func AssertPercentile(api frontend.API, rc frontend.Rangechecker, values, active []frontend.Variable, n, percentileBp, value frontend.Variable, bits int) {
	k := NearestRank(api, rc, percentileBp, n, BitLen(len(values)))
	rc.Check(value, bits)
	AssertKthSmallest(api, rc, values, active, k, value, bits)
}

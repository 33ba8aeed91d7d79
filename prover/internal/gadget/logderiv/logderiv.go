package logderiv

import (
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/gadget"
)

// AssertHistogram constrains sum_i 1/(r - values[i]) = sum_t counts[t]/(r - keys[t]):
// counts is the histogram of values over keys. r must be a challenge derived
// from a commitment to values and counts (see the package doc).
func AssertHistogram(api frontend.API, r frontend.Variable, values []frontend.Variable, keys []uint64, counts []frontend.Variable) {
	var left, right []frontend.Variable
	for _, v := range values {
		left = append(left, api.Inverse(api.Sub(r, v)))
	}
	for t, k := range keys {
		right = append(right, api.Mul(counts[t], api.Inverse(api.Sub(r, k))))
	}
	api.AssertIsEqual(gadget.Sum(api, left), gadget.Sum(api, right))
}

package count

import (
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/gadget"
	"github.com/veritee/veritee/prover/internal/gadget/compare"
)

// CountAbove returns #{i : active[i] = 1 and values[i] > bound} (active nil:
// every value). Values and bound must be below 2^bits.
func CountAbove(api frontend.API, rc frontend.Rangechecker, values, active []frontend.Variable, bound frontend.Variable, bits int) frontend.Variable {
	var over []frontend.Variable
	for i, v := range values {
		b := compare.Less(api, rc, bound, v, bits)
		if active != nil {
			b = api.Mul(active[i], b)
		}
		over = append(over, b)
	}
	return gadget.Sum(api, over)
}

// Any returns 1 if any of the bits is 1, else 0 (bits boolean).
func Any(api frontend.API, bits []frontend.Variable) frontend.Variable {
	return api.Sub(1, api.IsZero(gadget.Sum(api, bits)))
}

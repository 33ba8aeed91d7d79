package pack

import (
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/gadget"
)

// Pack packs items of the given width, per items per element, least significant
// first; missing items of the last element are zero. Sound (injective) only if
// every item is < 2^bits and per*bits <= 253.
func Pack(api frontend.API, items []frontend.Variable, bits, per int) []frontend.Variable {
	var out []frontend.Variable
	for j := 0; j*per < len(items); j++ {
		var terms []frontend.Variable
		for k := 0; k < per && j*per+k < len(items); k++ {
			if k == 0 {
				terms = append(terms, items[j*per])
			} else {
				terms = append(terms, api.Mul(items[j*per+k], gadget.Pow2(bits*k)))
			}
		}
		out = append(out, gadget.Sum(api, terms))
	}
	return out
}

// Gadget: packing (Pack).
//
// Argument: items are packed per items per field element, least significant
// first: e = sum_k item_k * 2^(bits*k). Packing is injective only when every
// item is below 2^bits and per*bits <= 253; commitment.PerElement(bits) =
// floor(253/bits) is the packing the native commitments use.
//
// Soundness: the caller range-checks every item to bits; otherwise a unit can
// be carried from one slot into the slot below it without changing the element
// (circuittest.CarryPastBound builds exactly that forgery).

package gadget

import (
	"github.com/consensys/gnark/frontend"
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
				terms = append(terms, api.Mul(items[j*per+k], Pow2(bits*k)))
			}
		}
		out = append(out, Sum(api, terms))
	}
	return out
}

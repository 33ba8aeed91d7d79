// Gadget: bounded comparison (Less, AssertLess) and basis-point parameters (CheckBp).
//
// Argument: for a boolean bit, the value
//
//	d = bit * (2(b - a) - 1) + (a - b)
//
// is b - a - 1 when bit = 1 and a - b when bit = 0; range-checking d to
// [0, 2^bits) therefore proves a < b when bit = 1 and a >= b when bit = 0. A
// claimed decision is thus proven right both ways: the wrong bit makes d
// negative, i.e. a field element near p, which fails the range check.
//
// Soundness: a and b must lie in [0, 2^bits) (callers range-check them, or
// they are sums of range-checked terms) and bits <= 250, so d cannot wrap around
// the field from the other side.

package gadget

import (
	"github.com/consensys/gnark/frontend"
	"math/big"
)

func lessHint(_ *big.Int, in, out []*big.Int) error {
	if in[0].Cmp(in[1]) < 0 {
		out[0].SetUint64(1)
	} else {
		out[0].SetUint64(0)
	}
	return nil
}

// AssertLess constrains bit = (a < b). Sound for a, b in [0, 2^bits), bits <= 250.
func AssertLess(api frontend.API, rc frontend.Rangechecker, bit, a, b frontend.Variable, bits int) {
	api.AssertIsBoolean(bit)
	// bit = 1: b - a - 1 >= 0;  bit = 0: a - b >= 0.
	diff := api.Add(api.Mul(bit, api.Sub(api.Mul(2, api.Sub(b, a)), 1)), api.Sub(a, b))
	rc.Check(diff, bits)
}

// Less returns the bit (a < b), computed by a hint and constrained by AssertLess.
func Less(api frontend.API, rc frontend.Rangechecker, a, b frontend.Variable, bits int) frontend.Variable {
	out, err := api.Compiler().NewHint(lessHint, 1, a, b)
	if err != nil {
		panic(err)
	}
	AssertLess(api, rc, out[0], a, b, bits)
	return out[0]
}

// CheckBp constrains p to [lo, 10000].
func CheckBp(api frontend.API, rc frontend.Rangechecker, p frontend.Variable, lo int) {
	rc.Check(api.Sub(p, lo), BpBits)
	rc.Check(api.Sub(BpScale, p), BpBits)
}

package compare

import (
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/gadget"
)

// AssertLess constrains bit = (a < b). Sound for a, b in [0, 2^bits), bits <= 250.
func AssertLess(api frontend.API, rc frontend.Rangechecker, bit, a, b frontend.Variable, bits int) {
	api.AssertIsBoolean(bit)
	// bit = 1: b - a - 1 >= 0;  bit = 0: a - b >= 0.
	diff := api.Add(api.Mul(bit, api.Sub(api.Mul(2, api.Sub(b, a)), 1)), api.Sub(a, b))
	rc.Check(diff, bits)
}

// Less returns the bit (a < b), computed by a hint and constrained by AssertLess.
func Less(api frontend.API, rc frontend.Rangechecker, a, b frontend.Variable, bits int) frontend.Variable {
	out, err := api.Compiler().NewHint(gadget.LessHint, 1, a, b)
	if err != nil {
		panic(err)
	}
	AssertLess(api, rc, out[0], a, b, bits)
	return out[0]
}

// CheckBp constrains p to [lo, 10000].
func CheckBp(api frontend.API, rc frontend.Rangechecker, p frontend.Variable, lo int) {
	rc.Check(api.Sub(p, lo), gadget.BpBits)
	rc.Check(api.Sub(gadget.BpScale, p), gadget.BpBits)
}

package div

import (
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/gadget"
)

// Div returns q = floor(num / den) and constrains 0 <= num - q*den < den.
// Sound when den is in [1, 2^denBits), num < 2^(253-1) and qBits + denBits <= 250
// (q is range-checked to qBits, so q*den cannot wrap around the field).
func Div(api frontend.API, rc frontend.Rangechecker, num, den frontend.Variable, qBits, denBits int) frontend.Variable {
	out, err := api.Compiler().NewHint(gadget.DivHint, 1, num, den)
	if err != nil {
		panic(err)
	}
	q := out[0]
	rc.Check(q, qBits)
	r := api.Sub(num, api.Mul(q, den))
	rc.Check(r, denBits)
	rc.Check(api.Sub(den, 1, r), denBits)
	return q
}

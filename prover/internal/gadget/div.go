// Gadget: bounded floor division (Div).
//
// Argument: the prover supplies q (a hint); the circuit range-checks q to qBits,
// r = num - q*den to denBits and den - 1 - r to denBits, i.e. 0 <= r < den. Then
// num = q*den + r over the integers, which fixes q = floor(num / den).
//
// Soundness: den in [1, 2^denBits), num < 2^252 and qBits + denBits <= 250, so
// q*den cannot wrap around the field (two quotients cannot both fit).

package gadget

import (
	"github.com/consensys/gnark/frontend"
	"math/big"
)

func divHint(_ *big.Int, in, out []*big.Int) error {
	if in[1].Sign() == 0 {
		out[0].SetUint64(0)
		return nil
	}
	out[0].Quo(in[0], in[1])
	return nil
}

// Div returns q = floor(num / den) and constrains 0 <= num - q*den < den.
// Sound when den is in [1, 2^denBits), num < 2^(253-1) and qBits + denBits <= 250
// (q is range-checked to qBits, so q*den cannot wrap around the field).
func Div(api frontend.API, rc frontend.Rangechecker, num, den frontend.Variable, qBits, denBits int) frontend.Variable {
	out, err := api.Compiler().NewHint(divHint, 1, num, den)
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

package gadget

import (
	"math/big"

	"github.com/consensys/gnark/constraint/solver"
)

// The gadgets' hints, exported by value: the function keeps its name
// (gadget.lessHint, ...), which is what gnark derives the hint id from.
var (
	LessHint solver.Hint = lessHint // a < b (package compare)
	DivHint  solver.Hint = divHint  // floor(num / den) (package div)
	RankHint solver.Hint = rankHint // ceil(p * n / 10000) (package rank)
)

func init() { solver.RegisterHint(GetHints()...) }

// GetHints lists the hints of the gadget library (registered in init).
func GetHints() []solver.Hint { return []solver.Hint{lessHint, divHint, rankHint} }

func lessHint(_ *big.Int, in, out []*big.Int) error {
	if in[0].Cmp(in[1]) < 0 {
		out[0].SetUint64(1)
	} else {
		out[0].SetUint64(0)
	}
	return nil
}

func divHint(_ *big.Int, in, out []*big.Int) error {
	if in[1].Sign() == 0 {
		out[0].SetUint64(0)
		return nil
	}
	out[0].Quo(in[0], in[1])
	return nil
}

// rankHint: ceil(p * n / 10000).
func rankHint(_ *big.Int, in, out []*big.Int) error {
	v := new(big.Int).Mul(in[0], in[1])
	v.Add(v, big.NewInt(BpScale-1))
	out[0].Quo(v, big.NewInt(BpScale))
	return nil
}

package prefix

import (
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/gadget"
)

// AssertZeroUnlessActive constrains v to 0 where the (boolean) flag active is
// 0: (1 - active) * v = 0.
func AssertZeroUnlessActive(api frontend.API, active, v frontend.Variable) {
	api.AssertIsEqual(api.Mul(api.Sub(1, active), v), 0)
}

// PrefixFlags constrains flags to 1 (n times) then 0: flags[0] = 1,
// flags[i](flags[i] - flags[i-1]) = 0 (boolean and non-increasing) and
// sum(flags) = n. So n is in [1, len(flags)].
func PrefixFlags(api frontend.API, flags []frontend.Variable, n frontend.Variable) {
	api.AssertIsEqual(flags[0], 1)
	for i := 1; i < len(flags); i++ {
		api.AssertIsEqual(api.Mul(flags[i], api.Sub(flags[i], flags[i-1])), 0)
	}
	api.AssertIsEqual(gadget.Sum(api, flags), n)
}

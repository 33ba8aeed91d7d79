// Gadget: active prefixes and zero padding (PrefixFlags, AssertZeroUnlessActive, Sum).
//
// Argument: flags[0] = 1 and flags[i] * (flags[i] - flags[i-1]) = 0 make every
// flag 0 or equal to its predecessor, so the flags are boolean and
// non-increasing: n ones then zeros, with n = sum(flags) in [1, len(flags)].
// (1 - active) * v = 0 forces a padding slot to zero, so padding can neither
// hold data nor move an output, and the zero padding after the data is what the
// native sponge absorbs (see digest.go).
//
// Soundness: unconditional (no range checks involved); Sum adds no constraint.

package gadget

import (
	"github.com/consensys/gnark/frontend"
)

// AssertZeroUnlessActive constrains v to 0 where the (boolean) flag active is
// 0: (1 - active) * v = 0.
func AssertZeroUnlessActive(api frontend.API, active, v frontend.Variable) {
	api.AssertIsEqual(api.Mul(api.Sub(1, active), v), 0)
}

// Sum adds any number of terms (0 for none).
func Sum(api frontend.API, terms []frontend.Variable) frontend.Variable {
	switch len(terms) {
	case 0:
		return 0
	case 1:
		return terms[0]
	case 2:
		return api.Add(terms[0], terms[1])
	default:
		return api.Add(terms[0], terms[1], terms[2:]...)
	}
}

// PrefixFlags constrains flags to 1 (n times) then 0: flags[0] = 1,
// flags[i](flags[i] - flags[i-1]) = 0 (boolean and non-increasing) and
// sum(flags) = n. So n is in [1, len(flags)].
func PrefixFlags(api frontend.API, flags []frontend.Variable, n frontend.Variable) {
	api.AssertIsEqual(flags[0], 1)
	for i := 1; i < len(flags); i++ {
		api.AssertIsEqual(api.Mul(flags[i], api.Sub(flags[i], flags[i-1])), 0)
	}
	api.AssertIsEqual(Sum(api, flags), n)
}

// Package gadget is veritee's library of in-circuit building blocks, shared by
// the claim circuits under prover/internal/circuits, in the style of gnark's
// std/: one package per gadget, each with a package doc giving the argument
// and the condition under which it is sound (the bounds callers must
// range-check), and tests that include a forgery the gadget must refuse.
// Comparisons, divisions and ranks draw their range checks from gnark's LogUp
// range checker (std/rangecheck), so one Groth16 commitment (BSB22) serves all
// of them.
//
//	package  gadget                          what it proves
//	compare  Less / AssertLess               bit = (a < b): decisions proven both ways
//	compare  CheckBp                         a basis-point parameter in [lo, 10000]
//	count    CountAbove / Any                threshold counting over the active values, "at least one"
//	div      Div                             q = floor(num / den): rates and ratios, rounded down
//	rank     NearestRank                     k = ceil(p * n / 10000)
//	rank     AssertKthSmallest               V is the k-th smallest of the active values (by counting)
//	rank     AssertPercentile                V is the nearest-rank percentile of the active values
//	prefix   PrefixFlags                     flags are n ones then zeros (1 <= n <= len)
//	prefix   AssertZeroUnlessActive          padding slots hold zero
//	pack     Pack                            items of a width packed per field element
//	digest   VarDigest                       the sponge digest of a prefix of unknown length
//	digest   ItemsDigest / AssertRowsDigest  packed commitments over items and over tables of rows
//	logderiv AssertHistogram                 a histogram by a log-derivative (LogUp) multiset identity
//	limbs    Checker                         many values of one width in [0, 2^W), k constraints for k limbs
//
// Range checks are gnark's std/rangecheck (LogUp), used directly. The sorted
// permutation (a sorted copy and a grand product under a commitment-derived
// challenge) still lives in the latency circuit, which issue "Proofs four
// times faster" rewrites; it belongs here (next to logderiv) after that.
//
// This package itself holds what every gadget shares: basis points, Sum, and
// the hint functions. The hints stay here on purpose: gnark identifies a hint
// by its function's full name (package path included), and that identifier is
// part of every compiled constraint system and so of every key made from it.
// A hint moved to another package would change the R1CS bytes of every
// circuit that uses it; prover/internal/circuits/pin_test.go pins them.
package gadget

import (
	"math/big"

	"github.com/consensys/gnark/frontend"
)

// BpScale: percentages are carried in basis points (10000 = 100 %).
const BpScale = 10000

// BpBits is enough bits for any value in [0, 10000].
const BpBits = 14

// BitLen is the number of bits of x (0 for 0).
func BitLen(x int) int { return new(big.Int).SetInt64(int64(x)).BitLen() }

// Pow2 returns 2^n.
func Pow2(n int) *big.Int { return new(big.Int).Lsh(big.NewInt(1), uint(n)) }

// Sum adds any number of terms (0 for none); it adds no constraint of its own.
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

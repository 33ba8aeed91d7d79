// Package gadget is veritee's library of in-circuit building blocks, shared by
// the claim circuits under prover/internal/circuits. Each gadget lives in its
// own file whose header gives the argument and the condition under which it is
// sound (the bounds callers must range-check); comparisons, divisions and ranks
// draw their range checks from gnark's LogUp range checker (std/rangecheck), so
// one Groth16 commitment (BSB22) serves all of them.
//
//	gadget                         file        what it proves
//	Less / AssertLess              compare.go  bit = (a < b): decisions proven both ways
//	CheckBp                        compare.go  a basis-point parameter in [lo, 10000]
//	Div                            div.go      q = floor(num / den): rates and ratios, rounded down
//	NearestRank                    rank.go     k = ceil(p * n / 10000)
//	AssertKthSmallest              rank.go     V is the k-th smallest of the active values (by counting)
//	AssertPercentile               rank.go     V is the nearest-rank percentile of the active values
//	PrefixFlags                    prefix.go   flags are n ones then zeros (1 <= n <= len)
//	AssertZeroUnlessActive         prefix.go   padding slots hold zero
//	Sum                            prefix.go   a linear sum (no constraint of its own)
//	Pack                           pack.go     items of a width packed per field element
//	VarDigest                      digest.go   the sponge digest of a prefix of unknown length
//	ItemsDigest / AssertRowsDigest digest.go   packed commitments over items and over tables of rows
//
// The sorted-permutation argument (a sorted copy and a grand product under a
// commitment-derived challenge) lives in the latency circuit, which issue
// "Proofs four times faster" rewrites; it moves here with that rewrite.
//
// The gadgets stay in one Go package on purpose: gnark identifies a hint by its
// function's full name, and that identifier is part of every compiled
// constraint system (and so of every key made from it). Moving a hint to
// another package would change the R1CS bytes of every circuit that uses it;
// prover/internal/circuits/pin_test.go pins them.
package gadget

import (
	"github.com/consensys/gnark/constraint/solver"
	"math/big"
)

// BpScale: percentages are carried in basis points (10000 = 100 %).
const BpScale = 10000

// BpBits is enough bits for any value in [0, 10000].
const BpBits = 14

func init() { solver.RegisterHint(GetHints()...) }

// GetHints lists the hints of this package (registered in init).
func GetHints() []solver.Hint { return []solver.Hint{lessHint, divHint, rankHint} }

// BitLen is the number of bits of x (0 for 0).
func BitLen(x int) int { return new(big.Int).SetInt64(int64(x)).BitLen() }

// Pow2 returns 2^n.
func Pow2(n int) *big.Int { return new(big.Int).Lsh(big.NewInt(1), uint(n)) }

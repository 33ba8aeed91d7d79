// Package streamorder is the circuit behind veritee's order-statistics claim
// over one tumbling window of signed sensor readings: minimum, maximum, lower
// median, a nearest-rank percentile, the sums of the TopN largest and the TopN
// smallest values and the number of distinct values, without revealing any
// reading.
//
// Readings, reading digests and the window commitment are exactly those of
// package streamagg (the sensor signs d = C(K·2^96 + ts·2^32 + value, salt),
// the commitment is Poseidon2Sponge(tag("veritee.streamagg.v1"), n, start,
// end, d_1 .. d_n)), so the consumer recomputes the commitment from the same
// signed digests and one window can carry both claims.
//
// Semantics (w_1 <= ... <= w_n the window's values sorted, n >= 1; an empty
// window has no claim and is refused with INPUT_FILE_EMPTY):
//
//	min        = w_1
//	max        = w_n
//	median     = w_ceil(n/2)                 (the lower median: n = 4 gives w_2)
//	percentile = w_k, k = ceil(p·n / 10000)  (nearest rank, p in [1, 10000] basis points, public)
//	topSum     = w_(n-m+1) + ... + w_n       (m = min(TopN, n): the TopN largest, ties counted as often as they occur)
//	bottomSum  = w_1 + ... + w_m             (the TopN smallest)
//	distinct   = #{w_i}                      (the number of different values)
//
// Argument (the prover supplies the sorted sequence S; no output is taken on
// trust). M = 2^32 - 1 (PadValue) fills the slots past n.
//
//  1. Active slots form a prefix of n ones (prefix.PrefixFlags), so
//     1 <= n <= capacity; in padding slots value = M (constrained), ts = start
//     (the honest choice; padding timestamps reach nothing else).
//  2. Readings inside the window and the window commitment as in streamagg:
//     ts - start and end - 1 - ts are range-checked in every slot (offsetBits
//     >= 42 wide, checkWidths: both non-negative and summing to end - start - 1
//     without wrapping the field, so start <= ts < end); each active slot's
//     digest is recomputed and the window commitment from the digests
//     (digest.AssertRowsDigest). With start < 2^64 and end - start <= 2^42 a
//     timestamp is below 2^64 + 2^42 < 2^65, so ts·2^32 + value < 2^97 and the
//     packing of the digest stays injective without a 64-bit check of ts.
//  3. Sorted over all slots: S_1 and S_capacity below 2^32 and every increment
//     S_i - S_(i-1) range-checked (incrementBits >= 32 wide, far below the
//     field), so as integers 0 <= S_1 <= ... <= S_capacity < 2^32.
//  4. Permutation: with r drawn from a commitment (BSB22, gnark's
//     std/multicommit) to every slot of value and S,
//     prod_i (r - value_i) = prod_i (r - S_i)
//     over all capacity slots (Schwartz–Zippel: a different multiset passes with
//     probability at most capacity/|F| < 2^-243). So S is the sorted multiset
//     of the n readings and capacity - n copies of M; M being the largest value
//     below 2^32, S_1..S_n are exactly the readings sorted, whatever the
//     padding. This also bounds every reading below 2^32 (each equals some S_j),
//     which the digest packing needs. zkStream's published gadgets check
//     sortedness only; a sorted array that is not a permutation of the committed
//     readings (a value replaced, duplicated or dropped) fails here. One
//     identity, one pair of multisets: the padding is pinned on the value side
//     and sorted into place on the other, so no slot of one can stand for
//     another.
//  5. Outputs: min = S_1; max and topSum are read together at index n-1 by one
//     multiplexer (std/selector.Mux) over topSum-window + 2^35·S_i (both
//     range-checked, so the packing is unique); the median at kMed - 1 over the
//     first capacity/2 slots, kMed a witness fixed by 2kMed - n in {0, 1}; the
//     percentile at kP - 1, kP = rank.NearestRank (0 <= 10000kP - p·n < 10000,
//     kP >= 1, so kP <= n); bottomSum = sum_(i<TopN) active_i·S_i; distinct =
//     1 + #{i : S_i != S_(i-1)} over all slots, less 1 when there is padding
//     and no reading equals M (the step from the maximum to the padding).
package streamorder

import (
	"math/big"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/multicommit"
	"github.com/consensys/gnark/std/rangecheck"
	"github.com/consensys/gnark/std/selector"
	"github.com/veritee/veritee/prover/internal/circuits/common"
	"github.com/veritee/veritee/prover/internal/circuits/streamagg"
	"github.com/veritee/veritee/prover/internal/commitment"
	"github.com/veritee/veritee/prover/internal/gadget"
	"github.com/veritee/veritee/prover/internal/gadget/compare"
	"github.com/veritee/veritee/prover/internal/gadget/digest"
	"github.com/veritee/veritee/prover/internal/gadget/prefix"
	"github.com/veritee/veritee/prover/internal/gadget/rank"
	"github.com/veritee/veritee/prover/internal/merkle"
)

const (
	// Name of the circuit in the prover protocol and key store.
	Name = "streamorder"
	// Version changes whenever the constraint system changes.
	Version = 1
	// ValueBits bounds every reading value (as in streamagg).
	ValueBits = streamagg.ValueBits
	// TopN is how many of the largest (smallest) values topSum (bottomSum) adds.
	TopN = 5
	// PadValue fills the value and sorted slots past n: the largest value, so
	// the sorted active values come first.
	PadValue = 1<<ValueBits - 1
	// topSumBits bounds topSum (TopN values below 2^32).
	topSumBits = ValueBits + 3
)

// checkWidths returns the widths of the per-slot range checks (window offsets,
// sorted increments) of a size class. Any width at least the bound (42 bits for
// an offset in a window of at most 2^42 us, 32 for an increment between values
// below 2^32) and far below the field is sound (package doc, points 2 and 3);
// these are multiples of the limb gnark's range checker then picks for the
// class (9 bits; 11 at 1024), so no check needs an extra shifted limb: about
// 640 constraints fewer at class 256 than 42/32, 3070 at 1024.
func checkWidths(capacity int) (offsetBits, incrementBits int) {
	if capacity >= 1024 {
		return 44, 33
	}
	return 45, 36
}

// topShift is 2^topSumBits: max and topSum are selected packed as one value.
var topShift = new(big.Int).Lsh(big.NewInt(1), topSumBits)

// Capacities lists the size classes (readings per window) in increasing order.
var Capacities = []int{192, 256, 1024}

// Circuit is the order-statistics circuit for one capacity.
type Circuit struct {
	// ---- PUBLIC INPUTS ----
	Commitment   frontend.Variable `gnark:",public"`
	WindowStart  frontend.Variable `gnark:",public"`
	WindowEnd    frontend.Variable `gnark:",public"`
	PercentileBp frontend.Variable `gnark:",public"`
	N            frontend.Variable `gnark:",public"` // output
	Min          frontend.Variable `gnark:",public"` // output
	Max          frontend.Variable `gnark:",public"` // output
	Median       frontend.Variable `gnark:",public"` // output
	Percentile   frontend.Variable `gnark:",public"` // output
	TopSum       frontend.Variable `gnark:",public"` // output
	BottomSum    frontend.Variable `gnark:",public"` // output
	Distinct     frontend.Variable `gnark:",public"` // output

	// ---- SECRET INPUTS ----
	Ts     []frontend.Variable
	Value  []frontend.Variable
	Salt   []frontend.Variable
	Active []frontend.Variable
	// Sorted holds the active values in non-decreasing order, then PadValue.
	Sorted []frontend.Variable
	// MedianRank is ceil(n/2) (a witness, so that tests can forge it).
	MedianRank frontend.Variable
}

// New allocates the circuit of a capacity.
func New(capacity int) *Circuit {
	return &Circuit{
		Ts: make([]frontend.Variable, capacity), Value: make([]frontend.Variable, capacity),
		Salt: make([]frontend.Variable, capacity), Active: make([]frontend.Variable, capacity),
		Sorted: make([]frontend.Variable, capacity),
	}
}

// Define implements frontend.Circuit.
func (c *Circuit) Define(api frontend.API) error {
	C := len(c.Value)
	if C < TopN || C%2 != 0 {
		panic("streamorder: capacity below TopN or odd")
	}
	rc := rangecheck.New(api)
	nBits := gadget.BitLen(C)
	S := c.Sorted
	offsetBits, incrementBits := checkWidths(C)

	common.AssertPeriod(api, rc, c.WindowStart, c.WindowEnd)
	compare.CheckBp(api, rc, c.PercentileBp, 1)
	length := api.Sub(c.WindowEnd, c.WindowStart)

	// 1, 2: the active prefix, padding values at the top, timestamps inside the window.
	prefix.PrefixFlags(api, c.Active, c.N)
	for i := range c.Value {
		api.AssertIsEqual(api.Mul(api.Sub(1, c.Active[i]), api.Sub(c.Value[i], PadValue)), 0)
		offset := api.Sub(c.Ts[i], c.WindowStart)
		rc.Check(offset, offsetBits)
		rc.Check(api.Sub(length, 1, offset), offsetBits)
	}
	h, err := merkle.NewHasher(api)
	if err != nil {
		return err
	}
	header := []frontend.Variable{commitment.Tag(streamagg.Domain), c.N, c.WindowStart, c.WindowEnd}
	if err := digest.AssertRowsDigest(api, c.Commitment, header, c.Active, func(i int) (frontend.Variable, error) {
		packed := api.Add(readingPrefix, api.Mul(c.Ts[i], tsShift), c.Value[i])
		return h.Compress(packed, c.Salt[i]), nil
	}); err != nil {
		return err
	}

	// 3. Sorted over every slot, bounded, and the changes between neighbours.
	rc.Check(S[0], ValueBits)
	rc.Check(S[C-1], ValueBits)
	changes := []frontend.Variable{1}
	for i := 1; i < C; i++ {
		d := api.Sub(S[i], S[i-1])
		rc.Check(d, incrementBits)
		changes = append(changes, api.Sub(1, api.IsZero(d)))
	}
	// distinct values of S, less the padding value when padding holds it and no reading does
	padOnly := api.Mul(api.Sub(1, c.Active[C-1]), api.Sub(1, api.IsZero(api.Sub(c.Max, PadValue))))
	api.AssertIsEqual(api.Sub(gadget.Sum(api, changes), padOnly), c.Distinct)

	// 5. Outputs.
	api.AssertIsEqual(S[0], c.Min)
	rc.Check(c.Max, ValueBits)
	rc.Check(c.TopSum, topSumBits)
	// max and topSum at index n-1, one multiplexer over (TopN-window sum) + 2^topSumBits·S_i
	packedTop := make([]frontend.Variable, C)
	for i := range S {
		packedTop[i] = api.Add(gadget.Sum(api, S[max(0, i-TopN+1):i+1]), api.Mul(S[i], topShift))
	}
	api.AssertIsEqual(selector.Mux(api, api.Sub(c.N, 1), packedTop...), api.Add(c.TopSum, api.Mul(c.Max, topShift)))
	api.AssertIsBoolean(api.Sub(api.Mul(c.MedianRank, 2), c.N)) // 2kMed - n in {0, 1}: kMed = ceil(n/2)
	api.AssertIsEqual(selector.Mux(api, api.Sub(c.MedianRank, 1), S[:C/2]...), c.Median)
	kP := rank.NearestRank(api, rc, c.PercentileBp, c.N, nBits)
	api.AssertIsEqual(selector.Mux(api, api.Sub(kP, 1), S...), c.Percentile)
	bottom := make([]frontend.Variable, TopN)
	for i := range bottom {
		bottom[i] = api.Mul(c.Active[i], S[i])
	}
	api.AssertIsEqual(gadget.Sum(api, bottom), c.BottomSum)

	// 4. Permutation (registered last, after the range checker joined the commitment).
	committed := make([]frontend.Variable, 0, 2*C)
	committed = append(committed, c.Value...)
	committed = append(committed, S...)
	multicommit.WithCommitment(api, func(api frontend.API, r frontend.Variable) error {
		left, right := frontend.Variable(1), frontend.Variable(1)
		for i := range S {
			left = api.Mul(left, api.Sub(r, c.Value[i]))
			right = api.Mul(right, api.Sub(r, S[i]))
		}
		api.AssertIsEqual(left, right)
		return nil
	}, committed...)
	return nil
}

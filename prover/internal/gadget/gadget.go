// Package gadget holds the small in-circuit building blocks shared by veritee's
// telemetry circuits (memory, cpu, disk, gateway; latency uses a few):
// bounded comparisons, floor division, nearest-rank order statistics by
// counting, prefix (active) flags and zero padding, packing and the
// variable-length Poseidon2 sponge digest, alone or over a table of rows.
//
// Every gadget states the bounds under which it is sound; callers range-check
// their operands to those bounds. Comparisons and divisions draw their range
// checks from gnark's LogUp range checker (std/rangecheck), so one Groth16
// commitment (BSB22) serves all of them.
//
// Order statistic by counting (no sorting): V is the k-th smallest of the values
// v_1..v_n iff  #{v_i < V} < k <= #{v_i <= V}.  Proof: let w_1 <= ... <= w_n be
// the sorted values. If w_k < V then at least k values are < V; if w_k > V then
// at most k-1 values are <= V. Both are excluded, so w_k = V (and V is one of
// the values, without a separate membership argument). Each count costs two
// bounded comparisons per value, which beats a sorted copy plus a permutation
// argument for the short series (samples) these circuits rank.
package gadget

import (
	"math/big"

	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/commitment"
	"github.com/veritee/veritee/prover/internal/sponge"
)

// BpScale: percentages are carried in basis points (10000 = 100 %).
const BpScale = 10000

// BpBits is enough bits for any value in [0, 10000].
const BpBits = 14

func init() { solver.RegisterHint(GetHints()...) }

// GetHints lists the hints of this package (registered in init).
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

// BitLen is the number of bits of x (0 for 0).
func BitLen(x int) int { return new(big.Int).SetInt64(int64(x)).BitLen() }

// Pow2 returns 2^n.
func Pow2(n int) *big.Int { return new(big.Int).Lsh(big.NewInt(1), uint(n)) }

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

// NearestRank returns k = ceil(p * n / 10000) for p in [1, 10000] (basis points)
// and n in [1, 2^nBits), constraining 0 <= 10000k - p*n < 10000 and k >= 1.
// The caller range-checks p and n.
func NearestRank(api frontend.API, rc frontend.Rangechecker, p, n frontend.Variable, nBits int) frontend.Variable {
	out, err := api.Compiler().NewHint(rankHint, 1, p, n)
	if err != nil {
		panic(err)
	}
	k := out[0]
	rc.Check(api.Sub(k, 1), nBits)
	d := api.Sub(api.Mul(k, BpScale), api.Mul(p, n))
	rc.Check(d, BpBits)
	rc.Check(api.Sub(BpScale-1, d), BpBits)
	return k
}

// CheckBp constrains p to [lo, 10000].
func CheckBp(api frontend.API, rc frontend.Rangechecker, p frontend.Variable, lo int) {
	rc.Check(api.Sub(p, lo), BpBits)
	rc.Check(api.Sub(BpScale, p), BpBits)
}

// AssertKthSmallest constrains value to be the k-th smallest of the values whose
// active flag is 1 (see the package doc). Values and value must be < 2^bits;
// active flags must be boolean; k in [1, count of active values] is implied.
func AssertKthSmallest(api frontend.API, rc frontend.Rangechecker, values, active []frontend.Variable, k, value frontend.Variable, bits int) {
	var below, atMost []frontend.Variable
	for i, v := range values {
		lt := Less(api, rc, v, value, bits)
		gt := Less(api, rc, value, v, bits)
		below = append(below, api.Mul(active[i], lt))
		atMost = append(atMost, api.Sub(active[i], api.Mul(active[i], gt)))
	}
	cntBits := BitLen(len(values)) + 1
	rc.Check(api.Sub(k, 1, Sum(api, below)), cntBits) // #{< V} <= k-1
	rc.Check(api.Sub(Sum(api, atMost), k), cntBits)   // #{<= V} >= k
}

// AssertPercentile constrains value to be the nearest-rank percentile
// (percentileBp, basis points) of the values whose active flag is 1: the k-th
// smallest, k = ceil(percentileBp * n / 10000). The caller range-checks
// percentileBp to [1, 10000] and constrains the active flags to a prefix of n
// ones (PrefixFlags); values must be < 2^bits, and value is range-checked here.
func AssertPercentile(api frontend.API, rc frontend.Rangechecker, values, active []frontend.Variable, n, percentileBp, value frontend.Variable, bits int) {
	k := NearestRank(api, rc, percentileBp, n, BitLen(len(values)))
	rc.Check(value, bits)
	AssertKthSmallest(api, rc, values, active, k, value, bits)
}

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

// Pack packs items of the given width, per items per element, least significant
// first; missing items of the last element are zero. Sound (injective) only if
// every item is < 2^bits and per*bits <= 253.
func Pack(api frontend.API, items []frontend.Variable, bits, per int) []frontend.Variable {
	var out []frontend.Variable
	for j := 0; j*per < len(items); j++ {
		var terms []frontend.Variable
		for k := 0; k < per && j*per+k < len(items); k++ {
			if k == 0 {
				terms = append(terms, items[j*per])
			} else {
				terms = append(terms, api.Mul(items[j*per+k], Pow2(bits*k)))
			}
		}
		out = append(out, Sum(api, terms))
	}
	return out
}

// VarDigest is the in-circuit twin of sponge.Hash over a prefix of elems whose
// length is not known at compile time. blockHasData[b] (b >= 1) must be 1 iff
// element b*Rate belongs to the message, and be non-increasing; block 0 always
// does. The digest is state[0] after the last block holding message elements;
// every element after the message must be zero up to the end of that block
// (which the caller ensures, or which the digest then binds).
func VarDigest(api frontend.API, elems []frontend.Variable, blockHasData func(b int) frontend.Variable) (frontend.Variable, error) {
	s, err := sponge.NewCircuit(api)
	if err != nil {
		return nil, err
	}
	nbBlocks := (len(elems) + sponge.Rate - 1) / sponge.Rate
	if nbBlocks == 0 {
		nbBlocks = 1
	}
	has := func(b int) frontend.Variable {
		if b == 0 {
			return 1
		}
		if b >= nbBlocks {
			return 0
		}
		return blockHasData(b)
	}
	var terms []frontend.Variable
	for b := 0; b < nbBlocks; b++ {
		end := min((b+1)*sponge.Rate, len(elems))
		st, err := s.AbsorbBlock(elems[min(b*sponge.Rate, end):end])
		if err != nil {
			return nil, err
		}
		terms = append(terms, api.Mul(api.Sub(has(b), has(b+1)), st))
	}
	return Sum(api, terms), nil
}

// ItemsDigest packs items (each < 2^bits, which the caller range-checks) the way
// commitment.PackItems does and returns the digest of the prefix of items whose
// flag itemActive(i) is 1 (flags non-increasing, item 0 always in the message).
func ItemsDigest(api frontend.API, items []frontend.Variable, bits int, itemActive func(i int) frontend.Variable) (frontend.Variable, error) {
	per := commitment.PerElement(bits)
	elems := Pack(api, items, bits, per)
	return VarDigest(api, elems, func(b int) frontend.Variable {
		i := b * sponge.Rate * per
		if i >= len(items) {
			return 0
		}
		return itemActive(i)
	})
}

// AssertRowsDigest constrains want to the digest of a table committed row by
// row: header, then rowDigest(r) for each row r, masked to zero for inactive
// rows (a padding row's digest is not zero, and the native sponge zero-fills
// the message). active are the row flags (non-increasing, row 0 active); the
// header must fit the first block, so block b >= 1 holds message elements iff
// row b*Rate - len(header) is active.
func AssertRowsDigest(api frontend.API, want frontend.Variable, header, active []frontend.Variable, rowDigest func(r int) (frontend.Variable, error)) error {
	stream := append([]frontend.Variable(nil), header...)
	for r := range active {
		d, err := rowDigest(r)
		if err != nil {
			return err
		}
		stream = append(stream, api.Mul(d, active[r]))
	}
	digest, err := VarDigest(api, stream, func(b int) frontend.Variable {
		return active[b*sponge.Rate-len(header)]
	})
	if err != nil {
		return err
	}
	api.AssertIsEqual(digest, want)
	return nil
}

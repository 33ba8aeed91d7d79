// Package streamagg is the circuit behind veritee's stream-window claim: the
// aggregate of one tumbling window of signed sensor readings — how many
// readings, their sum, their mean and how many lie above a threshold — without
// revealing any reading.
//
// Each reading is (ts, value, salt): a timestamp in µs since the epoch (below
// 2^64), an unsigned integer value below 2^32 (scale it: milliwatts, not watts)
// and a per-reading salt (a field element). The sensor signs (Ed25519, outside
// the circuit) its sensor id, its sequence number and the reading's digest
//
//	d = C(K·2^96 + ts·2^32 + value, salt)
//
// where C is the Poseidon2 2-to-1 compression of package merkle (186
// constraints, against 555 for a width-16 sponge block) and K the first 15
// bytes of SHA-256("veritee.streams.reading.v1") as an integer, a domain
// prefix; the packing is injective for ts < 2^64 and value < 2^32.
//
// so the digests, the signatures and the sequence numbers are public and the
// readings are not. The window commitment is
//
//	C = Poseidon2Sponge(tag("veritee.streamagg.v1"), n, windowStart, windowEnd, d_1, ..., d_n)
//
// which anyone holding the signed digests recomputes; it is the claim's
// commitment (a public input), so a proof speaks about exactly the signed
// readings. The bundle salt is not used: every reading carries its own.
//
// Semantics (n >= 1; an empty window has no claim):
//
//	sum   = value_1 + ... + value_n
//	mean  = floor(sum / n)
//	above = #{i : value_i > threshold}     (strict)
//
// Argument (gadgets of package gadget):
//
//  1. Active slots form a prefix of n ones (prefix.PrefixFlags), so
//     1 <= n <= capacity; padding slots hold ts = value = 0
//     (prefix.AssertZeroUnlessActive), so no padding slot adds to the sum or the count.
//  2. Every value is range-checked below 2^32, so the sum (< 2^(32+log C)) cannot
//     wrap around the field, and every timestamp below 2^64, so the packing of
//     the digest is injective; an active reading lies inside the window:
//     active*(ts - start) and active*(end - 1 - ts) are both below 2^42, which
//     with end - start <= 2^42 (common.AssertPeriod) holds only for start <= ts < end.
//  3. Each active slot's digest is recomputed in circuit from (ts, value, salt)
//     and the window commitment from the digests (digest.AssertRowsDigest, the
//     digest of an inactive slot masked to zero as the native sponge's zero
//     fill), so a reading changed after signing, a dropped reading or an added
//     one changes C.
//  4. The mean is a bounded floor division (div.Div) and the count a bounded
//     comparison per slot (count.CountAbove), both right both ways.
package streamagg

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/rangecheck"
	"github.com/veritee/veritee/prover/internal/circuits/common"
	"github.com/veritee/veritee/prover/internal/commitment"
	"github.com/veritee/veritee/prover/internal/gadget"
	"github.com/veritee/veritee/prover/internal/gadget/count"
	"github.com/veritee/veritee/prover/internal/gadget/digest"
	"github.com/veritee/veritee/prover/internal/gadget/div"
	"github.com/veritee/veritee/prover/internal/gadget/prefix"
	"github.com/veritee/veritee/prover/internal/merkle"
)

const (
	// Name of the circuit in the prover protocol and key store.
	Name = "streamagg"
	// Version changes whenever the constraint system changes.
	Version = 1
	// Domain is the window commitment's domain tag.
	Domain = "veritee.streamagg.v1"
	// ReadingDomain names the domain prefix of one reading's digest (what a sensor signs).
	ReadingDomain = "veritee.streams.reading.v1"
	// ValueBits bounds every reading value and the threshold.
	ValueBits = 32
	// TsBits bounds a timestamp (µs since the epoch).
	TsBits = 64
)

// Capacities lists the size classes (readings per window) in increasing order.
var Capacities = []int{256, 1024}

// Circuit is the stream-window circuit for one capacity.
type Circuit struct {
	// ---- PUBLIC INPUTS ----
	Commitment  frontend.Variable `gnark:",public"`
	WindowStart frontend.Variable `gnark:",public"`
	WindowEnd   frontend.Variable `gnark:",public"`
	Threshold   frontend.Variable `gnark:",public"`
	N           frontend.Variable `gnark:",public"` // output
	Sum         frontend.Variable `gnark:",public"` // output
	Mean        frontend.Variable `gnark:",public"` // output
	Above       frontend.Variable `gnark:",public"` // output

	// ---- SECRET INPUTS ----
	Ts     []frontend.Variable
	Value  []frontend.Variable
	Salt   []frontend.Variable
	Active []frontend.Variable
}

// New allocates the circuit of a capacity.
func New(capacity int) *Circuit {
	return &Circuit{
		Ts: make([]frontend.Variable, capacity), Value: make([]frontend.Variable, capacity),
		Salt: make([]frontend.Variable, capacity), Active: make([]frontend.Variable, capacity),
	}
}

// Define implements frontend.Circuit.
func (c *Circuit) Define(api frontend.API) error {
	C := len(c.Value)
	rc := rangecheck.New(api)
	nBits := gadget.BitLen(C)

	common.AssertPeriod(api, rc, c.WindowStart, c.WindowEnd)
	rc.Check(c.Threshold, ValueBits)
	length := api.Sub(c.WindowEnd, c.WindowStart)

	// 1, 2: the active prefix, zero padding, bounded values, readings inside the window.
	prefix.PrefixFlags(api, c.Active, c.N)
	for i := range c.Value {
		rc.Check(c.Value[i], ValueBits)
		rc.Check(c.Ts[i], TsBits)
		prefix.AssertZeroUnlessActive(api, c.Active[i], c.Value[i])
		prefix.AssertZeroUnlessActive(api, c.Active[i], c.Ts[i])
		offset := api.Sub(c.Ts[i], c.WindowStart)
		rc.Check(api.Mul(c.Active[i], offset), common.PeriodBits)
		rc.Check(api.Mul(c.Active[i], api.Sub(length, 1, offset)), common.PeriodBits)
	}

	// 3. Reading digests and the window commitment.
	h, err := merkle.NewHasher(api)
	if err != nil {
		return err
	}
	header := []frontend.Variable{commitment.Tag(Domain), c.N, c.WindowStart, c.WindowEnd}
	if err := digest.AssertRowsDigest(api, c.Commitment, header, c.Active, func(i int) (frontend.Variable, error) {
		packed := api.Add(readingPrefix, api.Mul(c.Ts[i], tsShift), c.Value[i])
		return h.Compress(packed, c.Salt[i]), nil
	}); err != nil {
		return err
	}

	// 4. Outputs, both ways.
	sum := gadget.Sum(api, c.Value)
	api.AssertIsEqual(sum, c.Sum)
	api.AssertIsEqual(div.Div(api, rc, sum, c.N, ValueBits, nBits), c.Mean)
	api.AssertIsEqual(count.CountAbove(api, rc, c.Value, c.Active, c.Threshold, ValueBits), c.Above)
	return nil
}

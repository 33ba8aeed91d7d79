// Package volume is the circuit behind veritee's request-volume claim, the
// example of a claim added through the claim framework (one Go package, one
// TypeScript module): how many requests arrived in a reporting period, their
// rate per minute, and whether that rate calls for scaling out, without
// revealing when any request arrived.
//
// Data (private): the arrival time of every request, as an offset in µs from
// the period start. Public: the period, the threshold (policy) and the outputs.
//
// Semantics (L = periodEnd - periodStart, n requests):
//
//	ratePerMin = floor(n * 60_000_000 / L)
//	scaleOut   = n * 60_000_000 > thresholdPerMin * L     (decided on the exact rate, both ways)
//
// Argument (gadgets of package gadget):
//
//  1. Active slots form a prefix of n ones (prefix.PrefixFlags), so 1 <= n <= capacity.
//  2. Every slot is range-checked below 2^42 (so the packing of the commitment is
//     injective), an inactive slot is zero (prefix.AssertZeroUnlessActive) and an
//     active one lies inside the period: active * (L - 1 - t) < 2^42, which for
//     t < 2^42 and L <= 2^42 holds only if t < L.
//  3. Commitment ("veritee.volume.v1"): the sponge over (tag, n, salt, period
//     start, period end) and the times packed 6 per element; blocks are selected
//     by comparing each block's first slot index with n, so the digest does not
//     depend on the size class, and the zero padding after the data is what the
//     native sponge absorbs.
//  4. The rate is a bounded floor division (div.Div) and the decision a
//     bounded comparison (compare.AssertLess), so both are right both ways.
package volume

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/rangecheck"
	"github.com/veritee/veritee/prover/internal/circuits/common"
	"github.com/veritee/veritee/prover/internal/commitment"
	"github.com/veritee/veritee/prover/internal/gadget"
	"github.com/veritee/veritee/prover/internal/gadget/compare"
	"github.com/veritee/veritee/prover/internal/gadget/digest"
	"github.com/veritee/veritee/prover/internal/gadget/div"
	"github.com/veritee/veritee/prover/internal/gadget/pack"
	"github.com/veritee/veritee/prover/internal/gadget/prefix"
	"github.com/veritee/veritee/prover/internal/sponge"
)

const (
	// Name of the circuit in the prover protocol and key store.
	Name = "volume"
	// Version changes whenever the constraint system changes.
	Version = 1
	// Domain is the commitment's domain tag.
	Domain = "veritee.volume.v1"
	// TimeBits bounds every arrival offset (µs from the period start), as for latency.
	TimeBits = 42
	// ThresholdBits bounds the threshold (requests per minute).
	ThresholdBits = 32
	// UsPerMin is the rate's time unit.
	UsPerMin = 60_000_000
	// usPerMinBits: UsPerMin < 2^26.
	usPerMinBits = 26
	// HeaderLen is the number of header elements before the packed times.
	HeaderLen = 5
)

// Capacities lists the size classes (requests per proof) in increasing order.
var Capacities = []int{1024, 16384, 65536}

// Circuit is the request-volume circuit for one capacity.
type Circuit struct {
	// ---- PUBLIC INPUTS ----
	Commitment      frontend.Variable `gnark:",public"`
	N               frontend.Variable `gnark:",public"`
	PeriodStart     frontend.Variable `gnark:",public"`
	PeriodEnd       frontend.Variable `gnark:",public"`
	ThresholdPerMin frontend.Variable `gnark:",public"`
	RatePerMin      frontend.Variable `gnark:",public"` // output
	ScaleOut        frontend.Variable `gnark:",public"` // output

	// ---- SECRET INPUTS ----
	Salt   frontend.Variable
	Times  []frontend.Variable
	Active []frontend.Variable
}

// New allocates the circuit of a capacity.
func New(capacity int) *Circuit {
	return &Circuit{Times: make([]frontend.Variable, capacity), Active: make([]frontend.Variable, capacity)}
}

// Define implements frontend.Circuit.
func (c *Circuit) Define(api frontend.API) error {
	C := len(c.Times)
	rc := rangecheck.New(api)
	nBits := gadget.BitLen(C)

	common.AssertPeriod(api, rc, c.PeriodStart, c.PeriodEnd)
	rc.Check(c.ThresholdPerMin, ThresholdBits)
	length := api.Sub(c.PeriodEnd, c.PeriodStart)

	// 1, 2: the active prefix, bounded slots, zero padding, times inside the period.
	prefix.PrefixFlags(api, c.Active, c.N)
	for i, t := range c.Times {
		rc.Check(t, TimeBits)
		prefix.AssertZeroUnlessActive(api, c.Active[i], t)
		rc.Check(api.Mul(c.Active[i], api.Sub(length, 1, t)), TimeBits)
	}

	// 3. Commitment.
	per := commitment.PerElement(TimeBits)
	stream := []frontend.Variable{commitment.Tag(Domain), c.N, c.Salt, c.PeriodStart, c.PeriodEnd}
	stream = append(stream, pack.Pack(api, c.Times, TimeBits, per)...)
	digest, err := digest.VarDigest(api, stream, func(b int) frontend.Variable {
		first := (b*sponge.Rate - HeaderLen) * per
		if first >= C {
			return 0
		}
		return c.Active[first]
	})
	if err != nil {
		return err
	}
	api.AssertIsEqual(digest, c.Commitment)

	// 4. Outputs, both ways.
	perMin := api.Mul(c.N, UsPerMin)
	api.AssertIsEqual(div.Div(api, rc, perMin, length, nBits+usPerMinBits, common.PeriodBits+1), c.RatePerMin)
	compare.AssertLess(api, rc, c.ScaleOut, api.Mul(c.ThresholdPerMin, length), perMin, ThresholdBits+common.PeriodBits+2)
	return nil
}

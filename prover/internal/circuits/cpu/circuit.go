// Package cpu is the circuit behind veritee's CPU autoscaling claim: from
// per-process CPU samples and each process's ownership (platform or customer),
// it proves the aggregate utilisation band, the scale-out decision on the
// customer's percentile load and that the platform's overhead stays below a
// limit, without revealing any process's figures or ownership.
//
// Data (private): usage[s][p], the CPU used by process p during sample s in
// milli-cores (1000 = one core busy for the whole sample), < 2^20; customer[p],
// 1 if process p belongs to the customer, 0 if it belongs to the platform.
// Public: capacityMilli (the machine's CPU capacity in milli-cores, measured and
// committed), percentileBp, thresholdBp, platformLimitBp (policy, basis points)
// and the outputs.
//
// Semantics:
//
//	cust_s       = sum_p customer[p] * usage[s][p]                  (customer load per sample)
//	V            = k-th smallest cust_s, k = ceil(percentileBp * nSamples / 10000)   (nearest rank, p95 by default)
//	scaleOut     = 10000 * V > thresholdBp * capacityMilli           (strict; default 80 %)
//	U            = sum_{s,p} usage[s][p]                              (all processes, all samples)
//	band         = floor(10 * U / (nSamples * capacityMilli))        (band b means a mean utilisation in [10b, 10b+10) %)
//	platform     = U - sum_s cust_s
//	platformOk   = 10000 * platform < platformLimitBp * U             (strict; default 10 %; false when U = 0)
//
// Argument: as for package memory (prefix flags, zero padding through row and
// column sums of range-checked items, percentile by counting, outputs computed
// from the data and constrained equal to the public ones, so every decision is
// right both ways). Ownership flags are boolean, zero for padding processes, and
// committed: the commitment header carries the digest of the packed flags, so
// changing one flag changes the commitment.
package cpu

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/rangecheck"
	"github.com/veritee/veritee/prover/internal/circuits/common"
	"github.com/veritee/veritee/prover/internal/commitment"
	"github.com/veritee/veritee/prover/internal/gadget"
	"github.com/veritee/veritee/prover/internal/gadget/compare"
	"github.com/veritee/veritee/prover/internal/gadget/digest"
	"github.com/veritee/veritee/prover/internal/gadget/div"
	"github.com/veritee/veritee/prover/internal/gadget/prefix"
	"github.com/veritee/veritee/prover/internal/gadget/rank"
)

const (
	// Name of the circuit in the prover protocol and key store.
	Name = "cpu"
	// Version changes whenever the constraint system changes.
	Version = 1
	// ItemBits bounds every CPU sample (milli-cores).
	ItemBits = commitment.CPUBits
	// CapacityBits bounds the machine capacity: 1 <= capacityMilli < 2^20.
	CapacityBits = 20
	// BandBits bounds the band index (mean utilisation below 2560 %).
	BandBits = 8
)

// Shape is the fixed capacity of a size class.
type Shape struct{ Samples, Processes int }

// Classes maps a size class (samples x processes) to its shape.
var Classes = map[int]Shape{
	512:   {16, 32},
	16384: {64, 256},
	65536: {128, 512},
}

// Capacities lists the size classes in increasing order.
var Capacities = []int{512, 16384, 65536}

// Circuit is the CPU autoscaling circuit for one shape.
type Circuit struct {
	// ---- PUBLIC INPUTS ----
	Commitment         frontend.Variable `gnark:",public"`
	NSamples           frontend.Variable `gnark:",public"`
	NProcesses         frontend.Variable `gnark:",public"`
	PeriodStart        frontend.Variable `gnark:",public"`
	PeriodEnd          frontend.Variable `gnark:",public"`
	CapacityMilli      frontend.Variable `gnark:",public"`
	PercentileBp       frontend.Variable `gnark:",public"`
	ThresholdBp        frontend.Variable `gnark:",public"`
	PlatformLimitBp    frontend.Variable `gnark:",public"`
	Band               frontend.Variable `gnark:",public"` // output
	ScaleOut           frontend.Variable `gnark:",public"` // output
	PlatformBelowLimit frontend.Variable `gnark:",public"` // output

	// ---- SECRET INPUTS ----
	Salt          frontend.Variable
	Customer      []frontend.Variable   // [process]
	Usage         [][]frontend.Variable // [sample][process]
	ActiveSample  []frontend.Variable
	ActiveProcess []frontend.Variable
	// Value is the customer percentile load (milli-cores).
	Value frontend.Variable
}

// New allocates the circuit of a shape.
func New(sh Shape) *Circuit {
	c := &Circuit{
		Customer:      make([]frontend.Variable, sh.Processes),
		Usage:         make([][]frontend.Variable, sh.Samples),
		ActiveSample:  make([]frontend.Variable, sh.Samples),
		ActiveProcess: make([]frontend.Variable, sh.Processes),
	}
	for s := range c.Usage {
		c.Usage[s] = make([]frontend.Variable, sh.Processes)
	}
	return c
}

// NewClass allocates the circuit of a size class.
func NewClass(capacity int) (*Circuit, error) {
	return common.NewClass(Name, Classes, New, capacity)
}

// Define implements frontend.Circuit.
func (c *Circuit) Define(api frontend.API) error {
	S, P := len(c.Usage), len(c.ActiveProcess)
	rc := rangecheck.New(api)
	sampleBits := ItemBits + gadget.BitLen(P)  // a per-sample sum
	totalBits := sampleBits + gadget.BitLen(S) // U
	nBits := gadget.BitLen(S)

	// Period and parameters.
	common.AssertPeriod(api, rc, c.PeriodStart, c.PeriodEnd)
	rc.Check(api.Sub(c.CapacityMilli, 1), CapacityBits)
	compare.CheckBp(api, rc, c.PercentileBp, 1)
	compare.CheckBp(api, rc, c.ThresholdBp, 0)
	compare.CheckBp(api, rc, c.PlatformLimitBp, 0)

	// Active flags; ownership flags boolean and zero for padding processes.
	prefix.PrefixFlags(api, c.ActiveSample, c.NSamples)
	prefix.PrefixFlags(api, c.ActiveProcess, c.NProcesses)
	for p := 0; p < P; p++ {
		api.AssertIsBoolean(c.Customer[p])
		prefix.AssertZeroUnlessActive(api, c.ActiveProcess[p], c.Customer[p])
	}

	// Items in range, padding zero, per-sample totals.
	cust := make([]frontend.Variable, S)
	rowSums := make([]frontend.Variable, S)
	cols := make([][]frontend.Variable, P)
	for s := 0; s < S; s++ {
		var ct []frontend.Variable
		for p := 0; p < P; p++ {
			rc.Check(c.Usage[s][p], ItemBits)
			cols[p] = append(cols[p], c.Usage[s][p])
			ct = append(ct, api.Mul(c.Customer[p], c.Usage[s][p]))
		}
		rowSums[s] = gadget.Sum(api, c.Usage[s])
		cust[s] = gadget.Sum(api, ct)
		prefix.AssertZeroUnlessActive(api, c.ActiveSample[s], rowSums[s])
	}
	for p := 0; p < P; p++ {
		prefix.AssertZeroUnlessActive(api, c.ActiveProcess[p], gadget.Sum(api, cols[p]))
	}
	total := gadget.Sum(api, rowSums)
	platform := api.Sub(total, gadget.Sum(api, cust))

	// Customer percentile and the scale-out decision.
	rank.AssertPercentile(api, rc, cust, c.ActiveSample, c.NSamples, c.PercentileBp, c.Value, sampleBits)
	cmpBits := max(sampleBits, CapacityBits) + gadget.BpBits
	compare.AssertLess(api, rc, c.ScaleOut, api.Mul(c.ThresholdBp, c.CapacityMilli), api.Mul(c.Value, gadget.BpScale), cmpBits)

	// Utilisation band: floor(10 U / (nSamples * capacity)).
	den := api.Mul(c.NSamples, c.CapacityMilli)
	api.AssertIsEqual(div.Div(api, rc, api.Mul(total, 10), den, BandBits, nBits+CapacityBits), c.Band)

	// Platform overhead below the limit (strict).
	compare.AssertLess(api, rc, c.PlatformBelowLimit, api.Mul(platform, gadget.BpScale), api.Mul(c.PlatformLimitBp, total), totalBits+gadget.BpBits)

	// Commitment.
	owner, err := digest.ItemsDigest(api, c.Customer, 1, func(i int) frontend.Variable { return c.ActiveProcess[i] })
	if err != nil {
		return err
	}
	header := []frontend.Variable{commitment.Tag(commitment.CPUDomain), c.NSamples, c.NProcesses, c.Salt, c.PeriodStart, c.PeriodEnd, c.CapacityMilli, owner}
	return digest.AssertRowsDigest(api, c.Commitment, header, c.ActiveSample, func(s int) (frontend.Variable, error) {
		return digest.ItemsDigest(api, c.Usage[s], ItemBits, func(i int) frontend.Variable { return c.ActiveProcess[i] })
	})
}

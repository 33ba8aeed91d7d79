// Package memory is the circuit behind veritee's memory autoscaling claim: the
// nearest-rank percentile (p90 by default) of the total memory usage over a
// window of samples, as a share of the allocated memory, and the scale-out
// decision, without revealing any per-process figure.
//
// Data (private): for each of nSamples samples, the memory usage of each of
// nProcesses processes (KiB), the pages swapped in + out and the page faults
// during the sample; all < 2^32. Public: allocatedKiB (measured, committed), the
// percentile and threshold (policy parameters, basis points), and the outputs.
//
// Semantics:
//
//	total_s  = sum_p usageKiB[s][p]                       (per sample)
//	V        = the k-th smallest total_s, k = ceil(percentileBp * nSamples / 10000)   (nearest rank)
//	usageBp  = floor(10000 * V / allocatedKiB)            (e.g. 8712 = 87.12 %, rounded down)
//	scaleOut = 10000 * V > thresholdBp * allocatedKiB     (strict: V > threshold % of allocated)
//
// scaleOut is computed from V exactly, not from the rounded usageBp: a window at
// 85.004 % reports usageBp = 8500 and scaleOut = true for an 85 % threshold.
//
// Argument:
//
//  1. Active flags (prefix of nSamples / nProcesses ones) select the real rows
//     and columns (prefix.PrefixFlags). Every item is range-checked to 32 bits
//     (non-negative, and packing is injective).
//  2. Padding is zero: (1 - aS[s]) * (row sum) = 0 and (1 - aP[p]) * (column
//     sum) = 0. Sums of range-checked items cannot wrap, so every item of a
//     padding row or column is 0.
//  3. V is the k-th smallest active total by counting (rank.AssertKthSmallest:
//     #{< V} < k <= #{<= V}); no sorted copy is needed for a few dozen samples.
//  4. usageBp and scaleOut are constrained both ways: usageBp by floor division,
//     scaleOut by an exact bounded comparison, so a flipped decision fails.
//  5. Commitment (package commitment, "veritee.memory.v1"): each sample row is
//     hashed with the variable-length sponge (blocks selected by the process
//     flags), and the header plus the row digests (masked to zero for padding
//     samples, as the native sponge zero-fills) are hashed the same way (blocks
//     selected by the sample flags), so the digest does not depend on the size
//     class.
package memory

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
	Name = "memory"
	// Version changes whenever the constraint system changes.
	Version = 1
	// ItemBits bounds every private item.
	ItemBits = commitment.MemoryBits
	// AllocatedBits bounds the allocated memory: 1 <= allocatedKiB < 2^40 (1 PiB).
	AllocatedBits = 40
	// UsageBpBits bounds the reported percentage (rejects usage > 429,496x allocated).
	UsageBpBits = 32
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

// Circuit is the memory autoscaling circuit for one shape.
type Circuit struct {
	// ---- PUBLIC INPUTS ----
	Commitment   frontend.Variable `gnark:",public"`
	NSamples     frontend.Variable `gnark:",public"`
	NProcesses   frontend.Variable `gnark:",public"`
	PeriodStart  frontend.Variable `gnark:",public"`
	PeriodEnd    frontend.Variable `gnark:",public"`
	AllocatedKiB frontend.Variable `gnark:",public"`
	PercentileBp frontend.Variable `gnark:",public"`
	ThresholdBp  frontend.Variable `gnark:",public"`
	UsageBp      frontend.Variable `gnark:",public"` // output
	ScaleOut     frontend.Variable `gnark:",public"` // output

	// ---- SECRET INPUTS ----
	Salt          frontend.Variable
	SwapPages     []frontend.Variable   // [sample]
	PageFaults    []frontend.Variable   // [sample]
	UsageKiB      [][]frontend.Variable // [sample][process]
	ActiveSample  []frontend.Variable
	ActiveProcess []frontend.Variable
	// Value is the percentile of the totals (KiB).
	Value frontend.Variable
}

// New allocates the circuit of a shape.
func New(sh Shape) *Circuit {
	c := &Circuit{
		SwapPages:     make([]frontend.Variable, sh.Samples),
		PageFaults:    make([]frontend.Variable, sh.Samples),
		UsageKiB:      make([][]frontend.Variable, sh.Samples),
		ActiveSample:  make([]frontend.Variable, sh.Samples),
		ActiveProcess: make([]frontend.Variable, sh.Processes),
	}
	for s := range c.UsageKiB {
		c.UsageKiB[s] = make([]frontend.Variable, sh.Processes)
	}
	return c
}

// NewClass allocates the circuit of a size class.
func NewClass(capacity int) (*Circuit, error) {
	return common.NewClass(Name, Classes, New, capacity)
}

// TotalBits bounds a per-sample total for a number of processes.
func TotalBits(processes int) int { return ItemBits + gadget.BitLen(processes) }

// Define implements frontend.Circuit.
func (c *Circuit) Define(api frontend.API) error {
	S, P := len(c.UsageKiB), len(c.ActiveProcess)
	rc := rangecheck.New(api)
	totalBits := TotalBits(P)

	// Period and parameters.
	common.AssertPeriod(api, rc, c.PeriodStart, c.PeriodEnd)
	rc.Check(api.Sub(c.AllocatedKiB, 1), AllocatedBits)
	compare.CheckBp(api, rc, c.PercentileBp, 1)
	compare.CheckBp(api, rc, c.ThresholdBp, 0)

	// 1. Active flags.
	prefix.PrefixFlags(api, c.ActiveSample, c.NSamples)
	prefix.PrefixFlags(api, c.ActiveProcess, c.NProcesses)

	// 1-2. Items in range, padding zero, per-sample totals.
	totals := make([]frontend.Variable, S)
	cols := make([][]frontend.Variable, P)
	for s := 0; s < S; s++ {
		rc.Check(c.SwapPages[s], ItemBits)
		rc.Check(c.PageFaults[s], ItemBits)
		for p := 0; p < P; p++ {
			rc.Check(c.UsageKiB[s][p], ItemBits)
			cols[p] = append(cols[p], c.UsageKiB[s][p])
		}
		totals[s] = gadget.Sum(api, c.UsageKiB[s])
		prefix.AssertZeroUnlessActive(api, c.ActiveSample[s], api.Add(c.SwapPages[s], c.PageFaults[s], totals[s]))
	}
	for p := 0; p < P; p++ {
		prefix.AssertZeroUnlessActive(api, c.ActiveProcess[p], gadget.Sum(api, cols[p]))
	}

	// 3. The percentile of the totals.
	rank.AssertPercentile(api, rc, totals, c.ActiveSample, c.NSamples, c.PercentileBp, c.Value, totalBits)

	// 4. Outputs, both ways.
	scaled := api.Mul(c.Value, gadget.BpScale)
	api.AssertIsEqual(div.Div(api, rc, scaled, c.AllocatedKiB, UsageBpBits, AllocatedBits), c.UsageBp)
	cmpBits := max(totalBits, AllocatedBits) + gadget.BpBits
	compare.AssertLess(api, rc, c.ScaleOut, api.Mul(c.ThresholdBp, c.AllocatedKiB), scaled, cmpBits)

	// 5. Commitment.
	header := []frontend.Variable{commitment.Tag(commitment.MemoryDomain), c.NSamples, c.NProcesses, c.Salt, c.PeriodStart, c.PeriodEnd, c.AllocatedKiB}
	return digest.AssertRowsDigest(api, c.Commitment, header, c.ActiveSample, func(s int) (frontend.Variable, error) {
		row := append([]frontend.Variable{c.SwapPages[s], c.PageFaults[s]}, c.UsageKiB[s]...)
		return digest.ItemsDigest(api, row, ItemBits, func(i int) frontend.Variable {
			if i < 2 {
				return 1
			}
			return c.ActiveProcess[i-2]
		})
	})
}

// Package disk is the circuit behind veritee's disk autoscaling claim: from each
// mount's block and inode usage and its I/O queue depth samples, it proves the
// storage-pressure indicator (the highest block and inode usage, in basis
// points), the scale-out decision and the performance-issue flag, without
// revealing any mount's figures.
//
// Data (private): per mount usedKiB <= totalKiB and inodesUsed <= inodesTotal
// (all < 2^48; a total of 0 means the filesystem does not account for it, and
// counts as 0 % used), and per mount and sample the number of I/Os in flight on
// its device (< 2^16). Public: usageThresholdBp, inodeThresholdBp (basis points)
// and queueThreshold (I/Os), and the outputs.
//
// Semantics (over the nMounts real mounts and nSamples samples):
//
//	usageBp_m        = floor(10000 * usedKiB_m / totalKiB_m)    (0 when totalKiB_m = 0)
//	maxUsageBp       = max_m usageBp_m                          (storage pressure, rounded down)
//	maxInodeUsageBp  = max_m floor(10000 * inodesUsed_m / inodesTotal_m)
//	scaleOut         = exists m: 10000 * usedKiB_m > usageThresholdBp * totalKiB_m
//	                          or 10000 * inodesUsed_m > inodeThresholdBp * inodesTotal_m   (strict; defaults 85 %, 90 %)
//	performanceIssue = exists m, s: queue_{m,s} > queueThreshold   (strict)
//
// The decisions use exact comparisons, not the rounded maxima.
//
// Argument: prefix flags select mounts and samples; padding rows and columns
// are zero (sums of range-checked items); a zero mount has 0 % usage and no
// threshold bit, a zero queue sample is never above the threshold, so padding
// cannot change any output. The maxima are upper bounds of every mount's value
// that equal one of them (prod(M - v_m) = 0). The ORs are 1 - IsZero(sum of
// exact comparison bits), so both decisions are right both ways. Commitment:
// per mount, the digest of (packed stats || packed queue samples), blocks
// selected by the sample flags; then the header and the mount digests (masked
// for padding mounts), blocks selected by the mount flags.
package disk

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/rangecheck"
	"github.com/veritee/veritee/prover/internal/circuits/common"
	"github.com/veritee/veritee/prover/internal/commitment"
	"github.com/veritee/veritee/prover/internal/gadget"
	"github.com/veritee/veritee/prover/internal/gadget/compare"
	"github.com/veritee/veritee/prover/internal/gadget/count"
	"github.com/veritee/veritee/prover/internal/gadget/digest"
	"github.com/veritee/veritee/prover/internal/gadget/div"
	"github.com/veritee/veritee/prover/internal/gadget/pack"
	"github.com/veritee/veritee/prover/internal/gadget/prefix"
	"github.com/veritee/veritee/prover/internal/sponge"
)

const (
	// Name of the circuit in the prover protocol and key store.
	Name = "disk"
	// Version changes whenever the constraint system changes.
	Version = 1
	// StatBits bounds block and inode figures.
	StatBits = commitment.DiskStatBits
	// QueueBits bounds queue depth samples and the queue threshold.
	QueueBits = commitment.QueueBits
)

// Shape is the fixed capacity of a size class.
type Shape struct{ Mounts, Samples int }

// Classes maps a size class (mounts x samples) to its shape.
var Classes = map[int]Shape{
	128:  {8, 16},
	4096: {64, 64},
}

// Capacities lists the size classes in increasing order.
var Capacities = []int{128, 4096}

// Circuit is the disk autoscaling circuit for one shape.
type Circuit struct {
	// ---- PUBLIC INPUTS ----
	Commitment       frontend.Variable `gnark:",public"`
	NMounts          frontend.Variable `gnark:",public"`
	NSamples         frontend.Variable `gnark:",public"`
	PeriodStart      frontend.Variable `gnark:",public"`
	PeriodEnd        frontend.Variable `gnark:",public"`
	UsageThresholdBp frontend.Variable `gnark:",public"`
	InodeThresholdBp frontend.Variable `gnark:",public"`
	QueueThreshold   frontend.Variable `gnark:",public"`
	MaxUsageBp       frontend.Variable `gnark:",public"` // output
	MaxInodeUsageBp  frontend.Variable `gnark:",public"` // output
	ScaleOut         frontend.Variable `gnark:",public"` // output
	PerformanceIssue frontend.Variable `gnark:",public"` // output

	// ---- SECRET INPUTS ----
	Salt         frontend.Variable
	UsedKiB      []frontend.Variable   // [mount]
	TotalKiB     []frontend.Variable   // [mount]
	InodesUsed   []frontend.Variable   // [mount]
	InodesTotal  []frontend.Variable   // [mount]
	Queue        [][]frontend.Variable // [mount][sample]
	ActiveMount  []frontend.Variable
	ActiveSample []frontend.Variable
}

// New allocates the circuit of a shape.
func New(sh Shape) *Circuit {
	c := &Circuit{
		UsedKiB: make([]frontend.Variable, sh.Mounts), TotalKiB: make([]frontend.Variable, sh.Mounts),
		InodesUsed: make([]frontend.Variable, sh.Mounts), InodesTotal: make([]frontend.Variable, sh.Mounts),
		Queue: make([][]frontend.Variable, sh.Mounts), ActiveMount: make([]frontend.Variable, sh.Mounts),
		ActiveSample: make([]frontend.Variable, sh.Samples),
	}
	for m := range c.Queue {
		c.Queue[m] = make([]frontend.Variable, sh.Samples)
	}
	return c
}

// NewClass allocates the circuit of a size class.
func NewClass(capacity int) (*Circuit, error) {
	return common.NewClass(Name, Classes, New, capacity)
}

// ratio returns floor(10000 used / total) (0 for total = 0) and the bit
// 10000 used > threshold * total, for range-checked used <= total < 2^48.
func ratio(api frontend.API, rc frontend.Rangechecker, used, total, threshold frontend.Variable) (bp, over frontend.Variable) {
	den := api.Add(total, api.IsZero(total))
	scaled := api.Mul(used, gadget.BpScale)
	bp = div.Div(api, rc, scaled, den, gadget.BpBits, StatBits)
	over = compare.Less(api, rc, api.Mul(threshold, total), scaled, StatBits+gadget.BpBits)
	return bp, over
}

// assertMax constrains max to be the largest of values (all < 2^bits).
func assertMax(api frontend.API, rc frontend.Rangechecker, max frontend.Variable, values []frontend.Variable, bits int) {
	rc.Check(max, bits)
	prod := frontend.Variable(1)
	for _, v := range values {
		rc.Check(api.Sub(max, v), bits)
		prod = api.Mul(prod, api.Sub(max, v))
	}
	api.AssertIsEqual(prod, 0)
}

// Define implements frontend.Circuit.
func (c *Circuit) Define(api frontend.API) error {
	M, S := len(c.Queue), len(c.ActiveSample)
	rc := rangecheck.New(api)

	// Period and parameters.
	common.AssertPeriod(api, rc, c.PeriodStart, c.PeriodEnd)
	compare.CheckBp(api, rc, c.UsageThresholdBp, 0)
	compare.CheckBp(api, rc, c.InodeThresholdBp, 0)
	rc.Check(c.QueueThreshold, QueueBits)

	prefix.PrefixFlags(api, c.ActiveMount, c.NMounts)
	prefix.PrefixFlags(api, c.ActiveSample, c.NSamples)

	var usageBp, inodeBp, overBits, busyBits []frontend.Variable
	cols := make([][]frontend.Variable, S)
	for m := 0; m < M; m++ {
		for _, v := range []frontend.Variable{c.UsedKiB[m], c.TotalKiB[m], c.InodesUsed[m], c.InodesTotal[m]} {
			rc.Check(v, StatBits)
		}
		rc.Check(api.Sub(c.TotalKiB[m], c.UsedKiB[m]), StatBits)
		rc.Check(api.Sub(c.InodesTotal[m], c.InodesUsed[m]), StatBits)
		ub, uo := ratio(api, rc, c.UsedKiB[m], c.TotalKiB[m], c.UsageThresholdBp)
		ib, io := ratio(api, rc, c.InodesUsed[m], c.InodesTotal[m], c.InodeThresholdBp)
		usageBp = append(usageBp, ub)
		inodeBp = append(inodeBp, ib)
		overBits = append(overBits, uo, io)
		for s := 0; s < S; s++ {
			q := c.Queue[m][s]
			rc.Check(q, QueueBits)
			cols[s] = append(cols[s], q)
			busyBits = append(busyBits, compare.Less(api, rc, c.QueueThreshold, q, QueueBits))
		}
		rowSum := gadget.Sum(api, append([]frontend.Variable{c.UsedKiB[m], c.TotalKiB[m], c.InodesUsed[m], c.InodesTotal[m]}, c.Queue[m]...))
		prefix.AssertZeroUnlessActive(api, c.ActiveMount[m], rowSum)
	}
	for s := 0; s < S; s++ {
		prefix.AssertZeroUnlessActive(api, c.ActiveSample[s], gadget.Sum(api, cols[s]))
	}

	assertMax(api, rc, c.MaxUsageBp, usageBp, gadget.BpBits)
	assertMax(api, rc, c.MaxInodeUsageBp, inodeBp, gadget.BpBits)
	api.AssertIsEqual(c.ScaleOut, count.Any(api, overBits))
	api.AssertIsEqual(c.PerformanceIssue, count.Any(api, busyBits))

	// Commitment.
	statsPer := commitment.PerElement(StatBits)
	queuePer := commitment.PerElement(QueueBits)
	header := []frontend.Variable{commitment.Tag(commitment.DiskDomain), c.NMounts, c.NSamples, c.Salt, c.PeriodStart, c.PeriodEnd}
	return digest.AssertRowsDigest(api, c.Commitment, header, c.ActiveMount, func(m int) (frontend.Variable, error) {
		elems := pack.Pack(api, []frontend.Variable{c.UsedKiB[m], c.TotalKiB[m], c.InodesUsed[m], c.InodesTotal[m]}, StatBits, statsPer)
		elems = append(elems, pack.Pack(api, c.Queue[m], QueueBits, queuePer)...)
		return digest.VarDigest(api, elems, func(b int) frontend.Variable {
			s := (b*sponge.Rate - 1) * queuePer // first queue sample of the block
			if s >= S {
				return 0
			}
			return c.ActiveSample[s]
		})
	})
}

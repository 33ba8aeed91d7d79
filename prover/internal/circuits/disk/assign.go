package disk

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/veritee/veritee/prover/internal/circuits/common"
	"github.com/veritee/veritee/prover/internal/commitment"
)

// Params are the public parameters of a disk claim.
type Params struct {
	PeriodStartUs    uint64 `json:"periodStartUs"`
	PeriodEndUs      uint64 `json:"periodEndUs"`
	UsageThresholdBp uint64 `json:"usageThresholdBp"` // default 8500
	InodeThresholdBp uint64 `json:"inodeThresholdBp"` // default 9000
	QueueThreshold   uint64 `json:"queueThreshold"`   // default 32 I/Os in flight
}

// Input is everything the prover needs.
type Input struct {
	Params
	Salt   fr.Element
	Mounts []commitment.Mount
}

// Outputs are the public outputs, computed natively (the plain reference).
type Outputs struct {
	Commitment       fr.Element `json:"-"`
	NMounts          uint64     `json:"nMounts"`
	NSamples         uint64     `json:"nSamples"`
	MaxUsageBp       uint64     `json:"maxUsageBp"`
	MaxInodeUsageBp  uint64     `json:"maxInodeUsageBp"`
	ScaleOut         bool       `json:"scaleOut"`
	PerformanceIssue bool       `json:"performanceIssue"`
}

// Validate checks the input against the ranges of a shape.
func (in *Input) Validate(sh Shape) error {
	if err := common.CheckPeriod(in.PeriodStartUs, in.PeriodEndUs); err != nil {
		return err
	}
	if err := common.CheckBp("usage threshold", in.UsageThresholdBp, 0); err != nil {
		return err
	}
	if err := common.CheckBp("inode threshold", in.InodeThresholdBp, 0); err != nil {
		return err
	}
	if in.QueueThreshold >= 1<<QueueBits {
		return common.Errorf("CLAIM_PARAMS_INVALID", "queue threshold %d does not fit 16 bits", in.QueueThreshold)
	}
	if len(in.Mounts) == 0 {
		return common.Errorf("INPUT_FILE_EMPTY", "no mounts")
	}
	nS := len(in.Mounts[0].QueueDepth)
	if nS == 0 {
		return common.Errorf("INPUT_FILE_EMPTY", "no queue depth samples")
	}
	if len(in.Mounts) > sh.Mounts || nS > sh.Samples {
		return common.Errorf("CLAIM_TOO_MANY_RECORDS", "%d mounts x %d samples exceed the size class %d x %d", len(in.Mounts), nS, sh.Mounts, sh.Samples)
	}
	for i, m := range in.Mounts {
		if len(m.QueueDepth) != nS {
			return common.Errorf("INPUT_INVALID", "mount %d has %d queue samples, mount 0 has %d", i, len(m.QueueDepth), nS)
		}
		for _, v := range []uint64{m.UsedKiB, m.TotalKiB, m.InodesUsed, m.InodesTotal} {
			if v >= 1<<StatBits {
				return common.Errorf("RECORD_VALUE_TOO_LARGE", "mount %d: %d does not fit 48 bits", i, v)
			}
		}
		if m.UsedKiB > m.TotalKiB || m.InodesUsed > m.InodesTotal {
			return common.Errorf("INPUT_INVALID", "mount %d uses more blocks or inodes than it has", i)
		}
		for s, q := range m.QueueDepth {
			if q >= 1<<QueueBits {
				return common.Errorf("RECORD_VALUE_TOO_LARGE", "mount %d, sample %d: queue depth %d does not fit 16 bits", i, s, q)
			}
		}
	}
	return nil
}

func bp(used, total uint64) uint64 {
	if total == 0 {
		return 0
	}
	return used * common.BpScale / total
}

// Evaluate computes the outputs natively.
func Evaluate(in *Input, sh Shape) (*Outputs, error) {
	if err := in.Validate(sh); err != nil {
		return nil, err
	}
	out := &Outputs{NMounts: uint64(len(in.Mounts)), NSamples: uint64(len(in.Mounts[0].QueueDepth))}
	for _, m := range in.Mounts {
		out.MaxUsageBp = max(out.MaxUsageBp, bp(m.UsedKiB, m.TotalKiB))
		out.MaxInodeUsageBp = max(out.MaxInodeUsageBp, bp(m.InodesUsed, m.InodesTotal))
		if m.UsedKiB*common.BpScale > in.UsageThresholdBp*m.TotalKiB || m.InodesUsed*common.BpScale > in.InodeThresholdBp*m.InodesTotal {
			out.ScaleOut = true
		}
		for _, q := range m.QueueDepth {
			if q > in.QueueThreshold {
				out.PerformanceIssue = true
			}
		}
	}
	c, err := commitment.Disk(&commitment.DiskData{Salt: in.Salt, PeriodStartUs: in.PeriodStartUs, PeriodEndUs: in.PeriodEndUs, Mounts: in.Mounts})
	if err != nil {
		return nil, common.Errorf("INPUT_INVALID", "%v", err)
	}
	out.Commitment = c
	return out, nil
}

// Assign builds a full witness for a shape.
func Assign(sh Shape, in *Input) (*Circuit, *Outputs, error) {
	out, err := Evaluate(in, sh)
	if err != nil {
		return nil, nil, err
	}
	w := New(sh)
	w.Commitment = out.Commitment
	w.NMounts = out.NMounts
	w.NSamples = out.NSamples
	w.PeriodStart = in.PeriodStartUs
	w.PeriodEnd = in.PeriodEndUs
	w.UsageThresholdBp = in.UsageThresholdBp
	w.InodeThresholdBp = in.InodeThresholdBp
	w.QueueThreshold = in.QueueThreshold
	w.MaxUsageBp = out.MaxUsageBp
	w.MaxInodeUsageBp = out.MaxInodeUsageBp
	w.ScaleOut = common.B2i(out.ScaleOut)
	w.PerformanceIssue = common.B2i(out.PerformanceIssue)
	w.Salt = in.Salt
	for s := 0; s < sh.Samples; s++ {
		w.ActiveSample[s] = common.B2i(uint64(s) < out.NSamples)
	}
	for m := 0; m < sh.Mounts; m++ {
		w.ActiveMount[m] = common.B2i(m < len(in.Mounts))
		w.UsedKiB[m], w.TotalKiB[m], w.InodesUsed[m], w.InodesTotal[m] = uint64(0), uint64(0), uint64(0), uint64(0)
		for s := 0; s < sh.Samples; s++ {
			w.Queue[m][s] = uint64(0)
		}
		if m < len(in.Mounts) {
			mt := in.Mounts[m]
			w.UsedKiB[m], w.TotalKiB[m], w.InodesUsed[m], w.InodesTotal[m] = mt.UsedKiB, mt.TotalKiB, mt.InodesUsed, mt.InodesTotal
			for s, q := range mt.QueueDepth {
				w.Queue[m][s] = q
			}
		}
	}
	return w, out, nil
}

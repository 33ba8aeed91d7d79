package memory

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/veritee/veritee/prover/internal/circuits/common"
	"github.com/veritee/veritee/prover/internal/commitment"
)

// Params are the public parameters of a memory claim.
type Params struct {
	PeriodStartUs uint64
	PeriodEndUs   uint64
	AllocatedKiB  uint64
	PercentileBp  uint64 // 1..10000, default 9000 (p90)
	ThresholdBp   uint64 // 0..10000, default 8500 (85 %)
}

// Input is everything the prover needs.
type Input struct {
	Params
	Salt    fr.Element
	Samples []commitment.MemorySample
}

// Outputs are the public outputs, computed natively (the plain reference).
type Outputs struct {
	Commitment fr.Element
	NSamples   uint64
	NProcesses uint64
	UsageBp    uint64
	ScaleOut   bool
	// ValueKiB is the percentile total (private; returned for tests).
	ValueKiB uint64
}

// Validate checks the input against the ranges of a shape.
func (in *Input) Validate(sh Shape) error {
	if err := common.CheckPeriod(in.PeriodStartUs, in.PeriodEndUs); err != nil {
		return err
	}
	if in.AllocatedKiB < 1 || in.AllocatedKiB >= 1<<AllocatedBits {
		return common.Errorf("CLAIM_PARAMS_INVALID", "allocated memory %d KiB is outside 1..2^%d", in.AllocatedKiB, AllocatedBits)
	}
	if err := common.CheckBp("percentile", in.PercentileBp, 1); err != nil {
		return err
	}
	if err := common.CheckBp("threshold", in.ThresholdBp, 0); err != nil {
		return err
	}
	nS := len(in.Samples)
	if nS == 0 {
		return common.Errorf("INPUT_FILE_EMPTY", "no memory samples")
	}
	nP := len(in.Samples[0].UsageKiB)
	if nP == 0 {
		return common.Errorf("INPUT_FILE_EMPTY", "no processes in the memory samples")
	}
	if nS > sh.Samples || nP > sh.Processes {
		return common.Errorf("CLAIM_TOO_MANY_RECORDS", "%d samples x %d processes exceed the size class %d x %d", nS, nP, sh.Samples, sh.Processes)
	}
	for s, smp := range in.Samples {
		if len(smp.UsageKiB) != nP {
			return common.Errorf("INPUT_INVALID", "sample %d has %d processes, sample 0 has %d", s, len(smp.UsageKiB), nP)
		}
		if smp.SwapPages >= 1<<ItemBits || smp.PageFaults >= 1<<ItemBits {
			return common.Errorf("RECORD_VALUE_TOO_LARGE", "sample %d: swap or page-fault count does not fit 32 bits", s)
		}
		for p, v := range smp.UsageKiB {
			if v >= 1<<ItemBits {
				return common.Errorf("RECORD_VALUE_TOO_LARGE", "sample %d, process %d: %d KiB does not fit 32 bits", s, p, v)
			}
		}
	}
	return nil
}

// Totals returns the per-sample total usage.
func Totals(samples []commitment.MemorySample) []uint64 {
	out := make([]uint64, len(samples))
	for s, smp := range samples {
		for _, v := range smp.UsageKiB {
			out[s] += v
		}
	}
	return out
}

// Evaluate computes the outputs natively.
func Evaluate(in *Input, sh Shape) (*Outputs, error) {
	if err := in.Validate(sh); err != nil {
		return nil, err
	}
	nS := uint64(len(in.Samples))
	v := common.KthSmallest(Totals(in.Samples), common.Rank(in.PercentileBp, nS))
	pct := v * common.BpScale / in.AllocatedKiB
	if pct >= 1<<UsageBpBits {
		return nil, common.Errorf("RECORD_VALUE_TOO_LARGE", "memory usage %d KiB is implausibly large for %d KiB allocated", v, in.AllocatedKiB)
	}
	c, err := commitment.Memory(&commitment.MemoryData{
		Salt: in.Salt, PeriodStartUs: in.PeriodStartUs, PeriodEndUs: in.PeriodEndUs, AllocatedKiB: in.AllocatedKiB, Samples: in.Samples,
	})
	if err != nil {
		return nil, common.Errorf("INPUT_INVALID", "%v", err)
	}
	return &Outputs{
		Commitment: c, NSamples: nS, NProcesses: uint64(len(in.Samples[0].UsageKiB)),
		UsageBp: pct, ScaleOut: v*common.BpScale > in.ThresholdBp*in.AllocatedKiB, ValueKiB: v,
	}, nil
}

// Assign builds a full witness for a shape.
func Assign(sh Shape, in *Input) (*Circuit, *Outputs, error) {
	out, err := Evaluate(in, sh)
	if err != nil {
		return nil, nil, err
	}
	w := New(sh)
	w.Commitment = out.Commitment
	w.NSamples = out.NSamples
	w.NProcesses = out.NProcesses
	w.PeriodStart = in.PeriodStartUs
	w.PeriodEnd = in.PeriodEndUs
	w.AllocatedKiB = in.AllocatedKiB
	w.PercentileBp = in.PercentileBp
	w.ThresholdBp = in.ThresholdBp
	w.UsageBp = out.UsageBp
	w.ScaleOut = common.B2i(out.ScaleOut)
	w.Salt = in.Salt
	w.Value = out.ValueKiB
	for p := 0; p < sh.Processes; p++ {
		w.ActiveProcess[p] = common.B2i(uint64(p) < out.NProcesses)
	}
	for s := 0; s < sh.Samples; s++ {
		w.ActiveSample[s] = common.B2i(s < len(in.Samples))
		w.SwapPages[s], w.PageFaults[s] = uint64(0), uint64(0)
		for p := 0; p < sh.Processes; p++ {
			w.UsageKiB[s][p] = uint64(0)
		}
		if s < len(in.Samples) {
			smp := in.Samples[s]
			w.SwapPages[s], w.PageFaults[s] = smp.SwapPages, smp.PageFaults
			for p, v := range smp.UsageKiB {
				w.UsageKiB[s][p] = v
			}
		}
	}
	return w, out, nil
}

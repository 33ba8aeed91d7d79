package cpu

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/veritee/veritee/prover/internal/circuits/common"
	"github.com/veritee/veritee/prover/internal/commitment"
)

// Params are the public parameters of a CPU claim.
type Params struct {
	PeriodStartUs   uint64 `json:"periodStartUs"`
	PeriodEndUs     uint64 `json:"periodEndUs"`
	CapacityMilli   uint64 `json:"capacityMilli"`
	PercentileBp    uint64 `json:"percentileBp"`    // default 9500 (p95)
	ThresholdBp     uint64 `json:"thresholdBp"`     // default 8000 (80 %)
	PlatformLimitBp uint64 `json:"platformLimitBp"` // default 1000 (10 %)
}

// Input is everything the prover needs.
type Input struct {
	Params
	Salt     fr.Element
	Customer []bool
	Samples  [][]uint64 // [sample][process] milli-cores
}

// Outputs are the public outputs, computed natively (the plain reference).
type Outputs struct {
	Commitment         fr.Element `json:"-"`
	NSamples           uint64     `json:"nSamples"`
	NProcesses         uint64     `json:"nProcesses"`
	Band               uint64     `json:"band"`
	ScaleOut           bool       `json:"scaleOut"`
	PlatformBelowLimit bool       `json:"platformBelowLimit"`
	// Private figures, returned for tests.
	ValueMilli    uint64 `json:"-"`
	TotalMilli    uint64 `json:"-"`
	PlatformMilli uint64 `json:"-"`
}

// Validate checks the input against the ranges of a shape.
func (in *Input) Validate(sh Shape) error {
	if err := common.CheckPeriod(in.PeriodStartUs, in.PeriodEndUs); err != nil {
		return err
	}
	if in.CapacityMilli < 1 || in.CapacityMilli >= 1<<CapacityBits {
		return common.Errorf("CLAIM_PARAMS_INVALID", "CPU capacity %d milli-cores is outside 1..2^%d", in.CapacityMilli, CapacityBits)
	}
	for _, p := range []struct {
		name string
		v    uint64
		lo   uint64
	}{{"percentile", in.PercentileBp, 1}, {"threshold", in.ThresholdBp, 0}, {"platform limit", in.PlatformLimitBp, 0}} {
		if err := common.CheckBp(p.name, p.v, p.lo); err != nil {
			return err
		}
	}
	nS, nP := len(in.Samples), len(in.Customer)
	if nS == 0 || nP == 0 {
		return common.Errorf("INPUT_FILE_EMPTY", "no CPU samples or no processes")
	}
	if nS > sh.Samples || nP > sh.Processes {
		return common.Errorf("CLAIM_TOO_MANY_RECORDS", "%d samples x %d processes exceed the size class %d x %d", nS, nP, sh.Samples, sh.Processes)
	}
	for s, row := range in.Samples {
		if len(row) != nP {
			return common.Errorf("INPUT_INVALID", "sample %d has %d processes, the ownership list has %d", s, len(row), nP)
		}
		for p, v := range row {
			if v >= 1<<ItemBits {
				return common.Errorf("RECORD_VALUE_TOO_LARGE", "sample %d, process %d: %d milli-cores does not fit 20 bits", s, p, v)
			}
		}
	}
	return nil
}

// Evaluate computes the outputs natively.
func Evaluate(in *Input, sh Shape) (*Outputs, error) {
	if err := in.Validate(sh); err != nil {
		return nil, err
	}
	nS := uint64(len(in.Samples))
	cust := make([]uint64, nS)
	var total, custTotal uint64
	for s, row := range in.Samples {
		for p, v := range row {
			total += v
			if in.Customer[p] {
				cust[s] += v
			}
		}
		custTotal += cust[s]
	}
	band := total * 10 / (nS * in.CapacityMilli)
	if band >= 1<<BandBits {
		return nil, common.Errorf("RECORD_VALUE_TOO_LARGE", "mean CPU use %d milli-cores is implausibly large for a capacity of %d", total/nS, in.CapacityMilli)
	}
	v := common.KthSmallest(cust, common.Rank(in.PercentileBp, nS))
	c, err := commitment.CPU(&commitment.CPUData{
		Salt: in.Salt, PeriodStartUs: in.PeriodStartUs, PeriodEndUs: in.PeriodEndUs, CapacityMilli: in.CapacityMilli,
		Customer: in.Customer, Samples: in.Samples,
	})
	if err != nil {
		return nil, common.Errorf("INPUT_INVALID", "%v", err)
	}
	platform := total - custTotal
	return &Outputs{
		Commitment: c, NSamples: nS, NProcesses: uint64(len(in.Customer)), Band: band,
		ScaleOut:           v*common.BpScale > in.ThresholdBp*in.CapacityMilli,
		PlatformBelowLimit: platform*common.BpScale < in.PlatformLimitBp*total,
		ValueMilli:         v, TotalMilli: total, PlatformMilli: platform,
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
	w.CapacityMilli = in.CapacityMilli
	w.PercentileBp = in.PercentileBp
	w.ThresholdBp = in.ThresholdBp
	w.PlatformLimitBp = in.PlatformLimitBp
	w.Band = out.Band
	w.ScaleOut = common.B2i(out.ScaleOut)
	w.PlatformBelowLimit = common.B2i(out.PlatformBelowLimit)
	w.Salt = in.Salt
	w.Value = out.ValueMilli
	for p := 0; p < sh.Processes; p++ {
		w.ActiveProcess[p] = common.B2i(p < len(in.Customer))
		w.Customer[p] = common.B2i(p < len(in.Customer) && in.Customer[p])
	}
	for s := 0; s < sh.Samples; s++ {
		w.ActiveSample[s] = common.B2i(s < len(in.Samples))
		for p := 0; p < sh.Processes; p++ {
			w.Usage[s][p] = uint64(0)
			if s < len(in.Samples) && p < len(in.Customer) {
				w.Usage[s][p] = in.Samples[s][p]
			}
		}
	}
	return w, out, nil
}

package volume

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/veritee/veritee/prover/internal/circuits/common"
	"github.com/veritee/veritee/prover/internal/commitment"
	"github.com/veritee/veritee/prover/internal/sponge"
)

// Params are the public parameters.
type Params struct {
	PeriodStartUs   uint64 `json:"periodStartUs"`
	PeriodEndUs     uint64 `json:"periodEndUs"`
	ThresholdPerMin uint64 `json:"thresholdPerMin"`
}

// Input is everything the witness is built from.
type Input struct {
	Salt   fr.Element
	Params Params
	// Times are the arrival offsets (µs from the period start), in any order.
	Times []uint64
}

// Outputs are the public outputs.
type Outputs struct {
	Commitment fr.Element `json:"-"`
	N          uint64     `json:"n"`
	RatePerMin uint64     `json:"ratePerMin"`
	ScaleOut   bool       `json:"scaleOut"`
}

// Commit is the volume commitment: the sponge over (tag, n, salt, period
// start, period end) followed by the times packed PerElement(42) per element.
func Commit(salt fr.Element, p Params, times []uint64) (fr.Element, error) {
	packed, err := commitment.PackItems(times, TimeBits)
	if err != nil {
		return fr.Element{}, err
	}
	var n, s, e fr.Element
	n.SetUint64(uint64(len(times)))
	s.SetUint64(p.PeriodStartUs)
	e.SetUint64(p.PeriodEndUs)
	return sponge.Hash(append([]fr.Element{commitment.Tag(Domain), n, salt, s, e}, packed...)), nil
}

// Compute is the plain reference: the outputs of an input (validated).
func Compute(in *Input) (*Outputs, error) {
	p := in.Params
	if err := common.CheckPeriod(p.PeriodStartUs, p.PeriodEndUs); err != nil {
		return nil, err
	}
	if p.ThresholdPerMin >= 1<<ThresholdBits {
		return nil, common.Errorf("CLAIM_PARAMS_INVALID", "threshold %d requests per minute does not fit %d bits", p.ThresholdPerMin, ThresholdBits)
	}
	if len(in.Times) == 0 {
		return nil, common.Errorf("INPUT_FILE_EMPTY", "there are no requests")
	}
	length := p.PeriodEndUs - p.PeriodStartUs
	for i, t := range in.Times {
		if t >= length {
			return nil, common.Errorf("RECORD_OUTSIDE_PERIOD", "request %d arrives %d us after the period start, outside the %d us period", i+1, t, length)
		}
	}
	c, err := Commit(in.Salt, p, in.Times)
	if err != nil {
		return nil, err
	}
	n := uint64(len(in.Times))
	return &Outputs{Commitment: c, N: n, RatePerMin: n * UsPerMin / length, ScaleOut: n*UsPerMin > p.ThresholdPerMin*length}, nil
}

// Assign builds the witness of an input for a capacity.
func Assign(capacity int, in *Input) (*Circuit, *Outputs, error) {
	if len(in.Times) > capacity {
		return nil, nil, common.Errorf("CLAIM_TOO_MANY_RECORDS", "%d requests exceed the %d-request size class", len(in.Times), capacity)
	}
	out, err := Compute(in)
	if err != nil {
		return nil, nil, err
	}
	p := in.Params
	w := New(capacity)
	w.Commitment, w.N, w.PeriodStart, w.PeriodEnd, w.ThresholdPerMin = out.Commitment, out.N, p.PeriodStartUs, p.PeriodEndUs, p.ThresholdPerMin
	w.RatePerMin, w.ScaleOut = out.RatePerMin, common.B2i(out.ScaleOut)
	w.Salt = in.Salt
	for i := range w.Times {
		w.Times[i], w.Active[i] = 0, 0
		if i < len(in.Times) {
			w.Times[i], w.Active[i] = in.Times[i], 1
		}
	}
	return w, out, nil
}

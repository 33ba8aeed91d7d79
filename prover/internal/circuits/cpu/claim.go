package cpu

import (
	"encoding/json"

	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/claim"
)

// JSONInput is the JSON input of a cpu prove request.
type JSONInput struct {
	Salt            string     `json:"salt"`
	PeriodStartUs   uint64     `json:"periodStartUs"`
	PeriodEndUs     uint64     `json:"periodEndUs"`
	CapacityMilli   uint64     `json:"capacityMilli"`
	PercentileBp    uint64     `json:"percentileBp"`
	ThresholdBp     uint64     `json:"thresholdBp"`
	PlatformLimitBp uint64     `json:"platformLimitBp"`
	Customer        []bool     `json:"customer"`   // [process]
	UsageMilli      [][]uint64 `json:"usageMilli"` // [sample][process]
}

// JSONOutputs are the public outputs of a cpu proof.
type JSONOutputs struct {
	Commitment         string `json:"commitment"`
	NSamples           uint64 `json:"nSamples"`
	NProcesses         uint64 `json:"nProcesses"`
	Band               uint64 `json:"band"`
	ScaleOut           bool   `json:"scaleOut"`
	PlatformBelowLimit bool   `json:"platformBelowLimit"`
}

func init() {
	claim.Register(&claim.Definition{
		Name:       Name,
		Version:    Version,
		Capacities: Capacities,
		PublicInputs: []string{
			"commitment", "nSamples", "nProcesses", "periodStartUs", "periodEndUs",
			"capacityMilli", "percentileBp", "thresholdBp", "platformLimitBp",
			"band", "scaleOut", "platformBelowLimit",
		},
		New: func(capacity int) frontend.Circuit { c, _ := NewClass(capacity); return c },
		Assign: func(capacity int, raw json.RawMessage) (frontend.Circuit, any, error) {
			var in JSONInput
			if err := claim.DecodeInput("cpu", raw, &in); err != nil {
				return nil, nil, err
			}
			salt, err := claim.ParseSalt("cpu", in.Salt)
			if err != nil {
				return nil, nil, err
			}
			ci := &Input{Salt: salt, Customer: in.Customer, Samples: in.UsageMilli, Params: Params{
				PeriodStartUs: in.PeriodStartUs, PeriodEndUs: in.PeriodEndUs, CapacityMilli: in.CapacityMilli,
				PercentileBp: in.PercentileBp, ThresholdBp: in.ThresholdBp, PlatformLimitBp: in.PlatformLimitBp,
			}}
			w, out, err := Assign(Classes[capacity], ci)
			if err != nil {
				return nil, nil, claim.FromInputError(err)
			}
			return w, &JSONOutputs{
				Commitment: claim.Decimal(out.Commitment), NSamples: out.NSamples, NProcesses: out.NProcesses,
				Band: out.Band, ScaleOut: out.ScaleOut, PlatformBelowLimit: out.PlatformBelowLimit,
			}, nil
		},
	})
}

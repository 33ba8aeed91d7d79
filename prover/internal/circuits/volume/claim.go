package volume

import (
	"encoding/json"

	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/claim"
)

// JSONInput is the JSON input of a volume prove request.
type JSONInput struct {
	Salt            string   `json:"salt"`
	PeriodStartUs   uint64   `json:"periodStartUs"`
	PeriodEndUs     uint64   `json:"periodEndUs"`
	ThresholdPerMin uint64   `json:"thresholdPerMin"`
	Times           []uint64 `json:"times"` // arrival offsets, µs from the period start
}

// JSONOutputs are the public outputs of a volume proof.
type JSONOutputs struct {
	Commitment string `json:"commitment"`
	N          uint64 `json:"n"`
	RatePerMin uint64 `json:"ratePerMin"`
	ScaleOut   bool   `json:"scaleOut"`
}

func init() {
	claim.Register(&claim.Definition{
		Name:         Name,
		Version:      Version,
		Capacities:   Capacities,
		PublicInputs: []string{"commitment", "n", "periodStartUs", "periodEndUs", "thresholdPerMin", "ratePerMin", "scaleOut"},
		New:          func(capacity int) frontend.Circuit { return New(capacity) },
		Assign: func(capacity int, raw json.RawMessage) (frontend.Circuit, any, error) {
			var in JSONInput
			if err := claim.DecodeInput(Name, raw, &in); err != nil {
				return nil, nil, err
			}
			salt, err := claim.ParseSalt(Name, in.Salt)
			if err != nil {
				return nil, nil, err
			}
			w, out, err := Assign(capacity, &Input{Salt: salt, Times: in.Times, Params: Params{PeriodStartUs: in.PeriodStartUs, PeriodEndUs: in.PeriodEndUs, ThresholdPerMin: in.ThresholdPerMin}})
			if err != nil {
				return nil, nil, claim.FromInputError(err)
			}
			return w, &JSONOutputs{Commitment: claim.Decimal(out.Commitment), N: out.N, RatePerMin: out.RatePerMin, ScaleOut: out.ScaleOut}, nil
		},
	})
}

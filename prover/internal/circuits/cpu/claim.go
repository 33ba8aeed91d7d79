package cpu

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/claim"
)

// JSONInput is the JSON input of a cpu prove request.
type JSONInput struct {
	Salt claim.Salt `json:"salt"`
	Params
	Customer   []bool     `json:"customer"`   // [process]
	UsageMilli [][]uint64 `json:"usageMilli"` // [sample][process]
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
		New:     func(capacity int) frontend.Circuit { c, _ := NewClass(capacity); return c },
		Vectors: vectors,
		Assign: claim.Adapt(Name, func(capacity int, in *JSONInput) (frontend.Circuit, any, error) {
			w, out, err := Assign(Classes[capacity], &Input{Params: in.Params, Salt: fr.Element(in.Salt), Customer: in.Customer, Samples: in.UsageMilli})
			if err != nil {
				return nil, nil, err
			}
			return w, claim.Outputs(out.Commitment, out), nil
		}),
	})
}

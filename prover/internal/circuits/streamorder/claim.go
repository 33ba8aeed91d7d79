package streamorder

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/claim"
	"github.com/veritee/veritee/prover/internal/circuits/streamagg"
)

// JSONInput is the JSON input of a streamorder prove request (no bundle salt:
// every reading carries its own).
type JSONInput struct {
	Params
	Readings []streamagg.JSONReading `json:"readings"`
}

func (in *JSONInput) input() *Input {
	out := &Input{Params: in.Params}
	for _, r := range in.Readings {
		out.Readings = append(out.Readings, Reading{Ts: r.Ts, Value: r.Value, Salt: fr.Element(r.Salt)})
	}
	return out
}

func init() {
	claim.Register(&claim.Definition{
		Name:         Name,
		Version:      Version,
		Capacities:   Capacities,
		PublicInputs: []string{"commitment", "periodStartUs", "periodEndUs", "percentileBp", "n", "min", "max", "median", "percentile", "topSum", "bottomSum", "distinct"},
		New:          func(capacity int) frontend.Circuit { return New(capacity) },
		Vectors:      vectors,
		Assign: claim.Adapt(Name, func(capacity int, in *JSONInput) (frontend.Circuit, any, error) {
			w, out, err := Assign(capacity, in.input())
			if err != nil {
				return nil, nil, err
			}
			return w, claim.Outputs(out.Commitment, out), nil
		}),
	})
}

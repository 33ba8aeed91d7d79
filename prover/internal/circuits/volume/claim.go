package volume

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/claim"
)

// JSONInput is the JSON input of a volume prove request.
type JSONInput struct {
	Salt claim.Salt `json:"salt"`
	Params
	Times []uint64 `json:"times"` // arrival offsets, µs from the period start
}

func init() {
	claim.Register(&claim.Definition{
		Name:         Name,
		Version:      Version,
		Capacities:   Capacities,
		PublicInputs: []string{"commitment", "n", "periodStartUs", "periodEndUs", "thresholdPerMin", "ratePerMin", "scaleOut"},
		New:          func(capacity int) frontend.Circuit { return New(capacity) },
		Vectors:      vectors,
		Assign: claim.Adapt(Name, func(capacity int, in *JSONInput) (frontend.Circuit, any, error) {
			w, out, err := Assign(capacity, &Input{Salt: fr.Element(in.Salt), Times: in.Times, Params: in.Params})
			if err != nil {
				return nil, nil, err
			}
			return w, claim.Outputs(out.Commitment, out), nil
		}),
	})
}

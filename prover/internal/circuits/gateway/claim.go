package gateway

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/claim"
)

// JSONInput is the JSON input of a gateway prove request.
type JSONInput struct {
	Salt claim.Salt `json:"salt"`
	Params
	Requests []uint64 `json:"requests"` // request codes (package commitment)
	Checks   []bool   `json:"checks"`
}

func init() {
	claim.Register(&claim.Definition{
		Name:       Name,
		Version:    Version,
		Capacities: Capacities,
		PublicInputs: []string{
			"commitment", "n", "nChecks", "periodStartUs", "periodEndUs",
			"max5xxBp", "minAvailabilityBp", "minConnectionBp", "maxRateLimited",
			"healthBp", "errorRateOk", "availabilityOk", "connectionOk", "rateLimitOk", "compliant",
		},
		New:     func(capacity int) frontend.Circuit { c, _ := NewClass(capacity); return c },
		Vectors: vectors,
		Assign: claim.Adapt(Name, func(capacity int, in *JSONInput) (frontend.Circuit, any, error) {
			w, out, err := Assign(Classes[capacity], &Input{Params: in.Params, Salt: fr.Element(in.Salt), Requests: in.Requests, Checks: in.Checks})
			if err != nil {
				return nil, nil, err
			}
			return w, claim.Outputs(out.Commitment, out), nil
		}),
	})
}

package gateway

import (
	"encoding/json"

	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/claim"
)

// JSONInput is the JSON input of a gateway prove request.
type JSONInput struct {
	Salt              string   `json:"salt"`
	PeriodStartUs     uint64   `json:"periodStartUs"`
	PeriodEndUs       uint64   `json:"periodEndUs"`
	Max5xxBp          uint64   `json:"max5xxBp"`
	MinAvailabilityBp uint64   `json:"minAvailabilityBp"`
	MinConnectionBp   uint64   `json:"minConnectionBp"`
	MaxRateLimited    uint64   `json:"maxRateLimited"`
	Requests          []uint64 `json:"requests"` // request codes (package commitment)
	Checks            []bool   `json:"checks"`
}

// JSONOutputs are the public outputs of a gateway proof.
type JSONOutputs struct {
	Commitment     string `json:"commitment"`
	N              uint64 `json:"n"`
	NChecks        uint64 `json:"nChecks"`
	HealthBp       uint64 `json:"healthBp"`
	ErrorRateOk    bool   `json:"errorRateOk"`
	AvailabilityOk bool   `json:"availabilityOk"`
	ConnectionOk   bool   `json:"connectionOk"`
	RateLimitOk    bool   `json:"rateLimitOk"`
	Compliant      bool   `json:"compliant"`
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
		New: func(capacity int) frontend.Circuit { c, _ := NewClass(capacity); return c },
		Assign: func(capacity int, raw json.RawMessage) (frontend.Circuit, any, error) {
			var in JSONInput
			if err := claim.DecodeInput("gateway", raw, &in); err != nil {
				return nil, nil, err
			}
			salt, err := claim.ParseSalt("gateway", in.Salt)
			if err != nil {
				return nil, nil, err
			}
			gi := &Input{Salt: salt, Requests: in.Requests, Checks: in.Checks, Params: Params{
				PeriodStartUs: in.PeriodStartUs, PeriodEndUs: in.PeriodEndUs, Max5xxBp: in.Max5xxBp,
				MinAvailabilityBp: in.MinAvailabilityBp, MinConnectionBp: in.MinConnectionBp, MaxRateLimited: in.MaxRateLimited,
			}}
			w, out, err := Assign(Classes[capacity], gi)
			if err != nil {
				return nil, nil, claim.FromInputError(err)
			}
			return w, &JSONOutputs{
				Commitment: claim.Decimal(out.Commitment), N: out.N, NChecks: out.NChecks, HealthBp: out.HealthBp,
				ErrorRateOk: out.ErrorRateOk, AvailabilityOk: out.AvailabilityOk, ConnectionOk: out.ConnectionOk,
				RateLimitOk: out.RateLimitOk, Compliant: out.Compliant,
			}, nil
		},
	})
}

package latency

import (
	"encoding/json"
	"math/big"

	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/claim"
	"github.com/veritee/veritee/prover/internal/commitment"
)

// Capacities lists the size classes (records per proof) in increasing order.
var Capacities = []int{1024, 16384, 65536}

// JSONInput is the JSON input of a latency prove request. Numbers are JSON
// numbers (all fit 2^53) except the salt, a decimal string (a field element).
type JSONInput struct {
	Salt          string          `json:"salt"`
	PeriodStartUs uint64          `json:"periodStartUs"`
	PeriodEndUs   uint64          `json:"periodEndUs"`
	MinN          uint64          `json:"minN"`
	Percentiles   [NbSlots]uint64 `json:"percentiles"`
	Thresholds    [NbSlots]uint64 `json:"thresholdsUs"`
	Enforce       [NbSlots]bool   `json:"enforce"`
	Records       []uint64        `json:"records"` // flat [start0, end0, start1, end1, ...] offsets
}

// JSONOutputs are the public outputs of a latency proof.
type JSONOutputs struct {
	Commitment string          `json:"commitment"`
	N          uint64          `json:"n"`
	Values     [NbSlots]uint64 `json:"valuesUs"`
	Exceeding  [NbSlots]uint64 `json:"exceeding"`
	Compliant  bool            `json:"compliant"`
}

func init() {
	claim.Register(&claim.Definition{
		Name:       Name,
		Version:    Version,
		Capacities: Capacities,
		PublicInputs: []string{
			"commitment", "n", "periodStartUs", "periodEndUs", "minN",
			"percentile[0]", "percentile[1]", "percentile[2]",
			"thresholdUs[0]", "thresholdUs[1]", "thresholdUs[2]",
			"enforce[0]", "enforce[1]", "enforce[2]",
			"valueUs[0]", "valueUs[1]", "valueUs[2]",
			"exceeding[0]", "exceeding[1]", "exceeding[2]",
			"compliant",
		},
		New:     func(capacity int) frontend.Circuit { return New(capacity) },
		Assign:  assignJSON,
		Vectors: vectors,
	})
}

// decodeInput reads the JSON input of a prove request (both versions).
func decodeInput(raw json.RawMessage) (*Input, error) {
	var in JSONInput
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, claim.Invalid("latency input: %v", err)
	}
	if len(in.Records)%2 != 0 {
		return nil, claim.Invalid("latency input: records must hold start/end pairs")
	}
	salt, ok := new(big.Int).SetString(in.Salt, 10)
	if !ok || salt.Sign() < 0 || salt.BitLen() > 253 {
		return nil, claim.Invalid("latency input: salt must be a decimal field element")
	}
	li := &Input{Params: Params{
		PeriodStartUs: in.PeriodStartUs, PeriodEndUs: in.PeriodEndUs, MinN: in.MinN,
		Percentile: in.Percentiles, Threshold: in.Thresholds, Enforce: in.Enforce,
	}}
	li.Salt.SetBigInt(salt)
	li.Records = make([]commitment.Record, len(in.Records)/2)
	for i := range li.Records {
		li.Records[i] = commitment.Record{Start: in.Records[2*i], End: in.Records[2*i+1]}
	}
	return li, nil
}

func assignJSON(capacity int, raw json.RawMessage) (frontend.Circuit, any, error) {
	li, err := decodeInput(raw)
	if err != nil {
		return nil, nil, err
	}
	w, out, err := Assign(capacity, li)
	if err != nil {
		if ie, ok := err.(*InputError); ok {
			return nil, nil, &claim.Error{Code: ie.Code, Msg: ie.Msg}
		}
		return nil, nil, err
	}
	return w, &JSONOutputs{
		Commitment: claim.Decimal(out.Commitment), N: out.N, Values: out.Value, Exceeding: out.Exceeding, Compliant: out.Compliant,
	}, nil
}

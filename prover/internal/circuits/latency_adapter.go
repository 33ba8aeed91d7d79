package circuits

import (
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/latency"
	"github.com/veritee/veritee/prover/internal/commitment"
)

// LatencyInput is the JSON input of a latency prove request. Numbers are JSON
// numbers (all fit 2^53) except the salt, a decimal string (a field element).
type LatencyInput struct {
	Salt          string                  `json:"salt"`
	PeriodStartUs uint64                  `json:"periodStartUs"`
	PeriodEndUs   uint64                  `json:"periodEndUs"`
	MinN          uint64                  `json:"minN"`
	Percentiles   [latency.NbSlots]uint64 `json:"percentiles"`
	Thresholds    [latency.NbSlots]uint64 `json:"thresholdsUs"`
	Enforce       [latency.NbSlots]bool   `json:"enforce"`
	Records       []uint64                `json:"records"` // flat [start0, end0, start1, end1, ...] offsets
}

// LatencyOutputs are the public outputs of a latency proof.
type LatencyOutputs struct {
	Commitment string                  `json:"commitment"`
	N          uint64                  `json:"n"`
	Values     [latency.NbSlots]uint64 `json:"valuesUs"`
	Exceeding  [latency.NbSlots]uint64 `json:"exceeding"`
	Compliant  bool                    `json:"compliant"`
}

func init() {
	Register(&Definition{
		Name:       latency.Name,
		Version:    latency.Version,
		Capacities: []int{1024, 16384, 65536},
		PublicInputs: []string{
			"commitment", "n", "periodStartUs", "periodEndUs", "minN",
			"percentile[0]", "percentile[1]", "percentile[2]",
			"thresholdUs[0]", "thresholdUs[1]", "thresholdUs[2]",
			"enforce[0]", "enforce[1]", "enforce[2]",
			"valueUs[0]", "valueUs[1]", "valueUs[2]",
			"exceeding[0]", "exceeding[1]", "exceeding[2]",
			"compliant",
		},
		New: func(capacity int) frontend.Circuit { return latency.New(capacity) },
		Assign: func(capacity int, raw json.RawMessage) (frontend.Circuit, any, error) {
			var in LatencyInput
			if err := json.Unmarshal(raw, &in); err != nil {
				return nil, nil, &Error{Code: "INPUT_INVALID", Msg: fmt.Sprintf("latency input: %v", err)}
			}
			if len(in.Records)%2 != 0 {
				return nil, nil, &Error{Code: "INPUT_INVALID", Msg: "latency input: records must hold start/end pairs"}
			}
			salt, ok := new(big.Int).SetString(in.Salt, 10)
			if !ok || salt.Sign() < 0 || salt.BitLen() > 253 {
				return nil, nil, &Error{Code: "INPUT_INVALID", Msg: "latency input: salt must be a decimal field element"}
			}
			li := &latency.Input{Params: latency.Params{
				PeriodStartUs: in.PeriodStartUs, PeriodEndUs: in.PeriodEndUs, MinN: in.MinN,
				Percentile: in.Percentiles, Threshold: in.Thresholds, Enforce: in.Enforce,
			}}
			li.Salt.SetBigInt(salt)
			li.Records = make([]commitment.Record, len(in.Records)/2)
			for i := range li.Records {
				li.Records[i] = commitment.Record{Start: in.Records[2*i], End: in.Records[2*i+1]}
			}
			w, out, err := latency.Assign(capacity, li)
			if err != nil {
				if ie, ok := err.(*latency.InputError); ok {
					return nil, nil, &Error{Code: ie.Code, Msg: ie.Msg}
				}
				return nil, nil, err
			}
			c := out.Commitment.BigInt(new(big.Int))
			return w, &LatencyOutputs{
				Commitment: c.String(), N: out.N, Values: out.Value, Exceeding: out.Exceeding, Compliant: out.Compliant,
			}, nil
		},
	})
}

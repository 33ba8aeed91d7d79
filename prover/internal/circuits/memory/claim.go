package memory

import (
	"encoding/json"

	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/claim"
	"github.com/veritee/veritee/prover/internal/commitment"
)

// JSONInput is the JSON input of a memory prove request.
type JSONInput struct {
	Salt          string     `json:"salt"`
	PeriodStartUs uint64     `json:"periodStartUs"`
	PeriodEndUs   uint64     `json:"periodEndUs"`
	AllocatedKiB  uint64     `json:"allocatedKiB"`
	PercentileBp  uint64     `json:"percentileBp"`
	ThresholdBp   uint64     `json:"thresholdBp"`
	SwapPages     []uint64   `json:"swapPages"`  // [sample]
	PageFaults    []uint64   `json:"pageFaults"` // [sample]
	UsageKiB      [][]uint64 `json:"usageKiB"`   // [sample][process]
}

// JSONOutputs are the public outputs of a memory proof.
type JSONOutputs struct {
	Commitment string `json:"commitment"`
	NSamples   uint64 `json:"nSamples"`
	NProcesses uint64 `json:"nProcesses"`
	UsageBp    uint64 `json:"usageBp"`
	ScaleOut   bool   `json:"scaleOut"`
}

func init() {
	claim.Register(&claim.Definition{
		Name:       Name,
		Version:    Version,
		Capacities: Capacities,
		PublicInputs: []string{
			"commitment", "nSamples", "nProcesses", "periodStartUs", "periodEndUs",
			"allocatedKiB", "percentileBp", "thresholdBp", "usageBp", "scaleOut",
		},
		New:     func(capacity int) frontend.Circuit { c, _ := NewClass(capacity); return c },
		Vectors: vectors,
		Assign: func(capacity int, raw json.RawMessage) (frontend.Circuit, any, error) {
			mi, err := decodeInput(raw)
			if err != nil {
				return nil, nil, err
			}
			w, out, err := Assign(Classes[capacity], mi)
			if err != nil {
				return nil, nil, claim.FromInputError(err)
			}
			return w, &JSONOutputs{Commitment: claim.Decimal(out.Commitment), NSamples: out.NSamples, NProcesses: out.NProcesses, UsageBp: out.UsageBp, ScaleOut: out.ScaleOut}, nil
		},
	})
}

// decodeInput reads the JSON input of a prove request (both versions).
func decodeInput(raw json.RawMessage) (*Input, error) {
	var in JSONInput
	if err := claim.DecodeInput("memory", raw, &in); err != nil {
		return nil, err
	}
	salt, err := claim.ParseSalt("memory", in.Salt)
	if err != nil {
		return nil, err
	}
	if len(in.SwapPages) != len(in.UsageKiB) || len(in.PageFaults) != len(in.UsageKiB) {
		return nil, claim.Invalid("memory input: swapPages, pageFaults and usageKiB must have one entry per sample")
	}
	mi := &Input{Salt: salt, Params: Params{
		PeriodStartUs: in.PeriodStartUs, PeriodEndUs: in.PeriodEndUs, AllocatedKiB: in.AllocatedKiB,
		PercentileBp: in.PercentileBp, ThresholdBp: in.ThresholdBp,
	}}
	for s := range in.UsageKiB {
		mi.Samples = append(mi.Samples, commitment.MemorySample{SwapPages: in.SwapPages[s], PageFaults: in.PageFaults[s], UsageKiB: in.UsageKiB[s]})
	}
	return mi, nil
}

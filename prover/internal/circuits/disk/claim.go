package disk

import (
	"encoding/json"

	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/claim"
	"github.com/veritee/veritee/prover/internal/commitment"
)

// JSONMount is one mount of a disk prove request.
type JSONMount struct {
	UsedKiB     uint64   `json:"usedKiB"`
	TotalKiB    uint64   `json:"totalKiB"`
	InodesUsed  uint64   `json:"inodesUsed"`
	InodesTotal uint64   `json:"inodesTotal"`
	QueueDepth  []uint64 `json:"queueDepth"`
}

// JSONInput is the JSON input of a disk prove request.
type JSONInput struct {
	Salt             string      `json:"salt"`
	PeriodStartUs    uint64      `json:"periodStartUs"`
	PeriodEndUs      uint64      `json:"periodEndUs"`
	UsageThresholdBp uint64      `json:"usageThresholdBp"`
	InodeThresholdBp uint64      `json:"inodeThresholdBp"`
	QueueThreshold   uint64      `json:"queueThreshold"`
	Mounts           []JSONMount `json:"mounts"`
}

// JSONOutputs are the public outputs of a disk proof.
type JSONOutputs struct {
	Commitment       string `json:"commitment"`
	NMounts          uint64 `json:"nMounts"`
	NSamples         uint64 `json:"nSamples"`
	MaxUsageBp       uint64 `json:"maxUsageBp"`
	MaxInodeUsageBp  uint64 `json:"maxInodeUsageBp"`
	ScaleOut         bool   `json:"scaleOut"`
	PerformanceIssue bool   `json:"performanceIssue"`
}

func init() {
	claim.Register(&claim.Definition{
		Name:       Name,
		Version:    Version,
		Capacities: Capacities,
		PublicInputs: []string{
			"commitment", "nMounts", "nSamples", "periodStartUs", "periodEndUs",
			"usageThresholdBp", "inodeThresholdBp", "queueThreshold",
			"maxUsageBp", "maxInodeUsageBp", "scaleOut", "performanceIssue",
		},
		New: func(capacity int) frontend.Circuit { c, _ := NewClass(capacity); return c },
		Assign: func(capacity int, raw json.RawMessage) (frontend.Circuit, any, error) {
			var in JSONInput
			if err := claim.DecodeInput("disk", raw, &in); err != nil {
				return nil, nil, err
			}
			salt, err := claim.ParseSalt("disk", in.Salt)
			if err != nil {
				return nil, nil, err
			}
			di := &Input{Salt: salt, Params: Params{
				PeriodStartUs: in.PeriodStartUs, PeriodEndUs: in.PeriodEndUs,
				UsageThresholdBp: in.UsageThresholdBp, InodeThresholdBp: in.InodeThresholdBp, QueueThreshold: in.QueueThreshold,
			}}
			for _, m := range in.Mounts {
				di.Mounts = append(di.Mounts, commitment.Mount{UsedKiB: m.UsedKiB, TotalKiB: m.TotalKiB, InodesUsed: m.InodesUsed, InodesTotal: m.InodesTotal, QueueDepth: m.QueueDepth})
			}
			w, out, err := Assign(Classes[capacity], di)
			if err != nil {
				return nil, nil, claim.FromInputError(err)
			}
			return w, &JSONOutputs{
				Commitment: claim.Decimal(out.Commitment), NMounts: out.NMounts, NSamples: out.NSamples,
				MaxUsageBp: out.MaxUsageBp, MaxInodeUsageBp: out.MaxInodeUsageBp, ScaleOut: out.ScaleOut, PerformanceIssue: out.PerformanceIssue,
			}, nil
		},
	})
}

package circuits

import (
	"encoding/json"

	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/disk"
	"github.com/veritee/veritee/prover/internal/commitment"
)

// DiskMountInput is one mount of a disk prove request.
type DiskMountInput struct {
	UsedKiB     uint64   `json:"usedKiB"`
	TotalKiB    uint64   `json:"totalKiB"`
	InodesUsed  uint64   `json:"inodesUsed"`
	InodesTotal uint64   `json:"inodesTotal"`
	QueueDepth  []uint64 `json:"queueDepth"`
}

// DiskInput is the JSON input of a disk prove request.
type DiskInput struct {
	Salt             string           `json:"salt"`
	PeriodStartUs    uint64           `json:"periodStartUs"`
	PeriodEndUs      uint64           `json:"periodEndUs"`
	UsageThresholdBp uint64           `json:"usageThresholdBp"`
	InodeThresholdBp uint64           `json:"inodeThresholdBp"`
	QueueThreshold   uint64           `json:"queueThreshold"`
	Mounts           []DiskMountInput `json:"mounts"`
}

// DiskOutputs are the public outputs of a disk proof.
type DiskOutputs struct {
	Commitment       string `json:"commitment"`
	NMounts          uint64 `json:"nMounts"`
	NSamples         uint64 `json:"nSamples"`
	MaxUsageBp       uint64 `json:"maxUsageBp"`
	MaxInodeUsageBp  uint64 `json:"maxInodeUsageBp"`
	ScaleOut         bool   `json:"scaleOut"`
	PerformanceIssue bool   `json:"performanceIssue"`
}

func init() {
	Register(&Definition{
		Name:       disk.Name,
		Version:    disk.Version,
		Capacities: disk.Capacities,
		PublicInputs: []string{
			"commitment", "nMounts", "nSamples", "periodStartUs", "periodEndUs",
			"usageThresholdBp", "inodeThresholdBp", "queueThreshold",
			"maxUsageBp", "maxInodeUsageBp", "scaleOut", "performanceIssue",
		},
		New: func(capacity int) frontend.Circuit { c, _ := disk.NewClass(capacity); return c },
		Assign: func(capacity int, raw json.RawMessage) (frontend.Circuit, any, error) {
			var in DiskInput
			if err := decodeInput("disk", raw, &in); err != nil {
				return nil, nil, err
			}
			salt, err := parseSalt("disk", in.Salt)
			if err != nil {
				return nil, nil, err
			}
			di := &disk.Input{Salt: salt, Params: disk.Params{
				PeriodStartUs: in.PeriodStartUs, PeriodEndUs: in.PeriodEndUs,
				UsageThresholdBp: in.UsageThresholdBp, InodeThresholdBp: in.InodeThresholdBp, QueueThreshold: in.QueueThreshold,
			}}
			for _, m := range in.Mounts {
				di.Mounts = append(di.Mounts, commitment.Mount{UsedKiB: m.UsedKiB, TotalKiB: m.TotalKiB, InodesUsed: m.InodesUsed, InodesTotal: m.InodesTotal, QueueDepth: m.QueueDepth})
			}
			w, out, err := disk.Assign(disk.Classes[capacity], di)
			if err != nil {
				return nil, nil, claimError(err)
			}
			return w, &DiskOutputs{
				Commitment: decimal(out.Commitment), NMounts: out.NMounts, NSamples: out.NSamples,
				MaxUsageBp: out.MaxUsageBp, MaxInodeUsageBp: out.MaxInodeUsageBp, ScaleOut: out.ScaleOut, PerformanceIssue: out.PerformanceIssue,
			}, nil
		},
	})
}

package disk

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/claim"
	"github.com/veritee/veritee/prover/internal/commitment"
)

// JSONInput is the JSON input of a disk prove request.
type JSONInput struct {
	Salt claim.Salt `json:"salt"`
	Params
	Mounts []commitment.Mount `json:"mounts"`
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
		New:     func(capacity int) frontend.Circuit { c, _ := NewClass(capacity); return c },
		Vectors: vectors,
		Assign: claim.Adapt(Name, func(capacity int, in *JSONInput) (frontend.Circuit, any, error) {
			w, out, err := Assign(Classes[capacity], &Input{Params: in.Params, Salt: fr.Element(in.Salt), Mounts: in.Mounts})
			if err != nil {
				return nil, nil, err
			}
			return w, claim.Outputs(out.Commitment, out), nil
		}),
	})
}

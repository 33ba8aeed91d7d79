package latency

import (
	"encoding/json"
	"math/big"
	"sort"

	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/claim"
	"github.com/veritee/veritee/prover/internal/commitment"
)

// InStartOrder returns the records sorted by start, then end: the order in
// which version 2 commits them (and in which its digest hashes them).
func InStartOrder(records []commitment.Record) []commitment.Record {
	out := append([]commitment.Record(nil), records...)
	sort.Slice(out, func(a, b int) bool {
		if out[a].Start != out[b].Start {
			return out[a].Start < out[b].Start
		}
		return out[a].End < out[b].End
	})
	return out
}

// AssignV2 builds a full version-2 witness. Outputs.Commitment is the
// Poseidon2 digest of the records in start order (computed here, outside the
// circuit; the enclave signs it next to the proof's BSB22 commitment).
func AssignV2(capacity int, in *Input) (*CircuitV2, *Outputs, error) {
	if new(big.Int).Rsh(in.Salt.BigInt(new(big.Int)), SaltBitsV2).Sign() != 0 {
		return nil, nil, inputErr("INPUT_INVALID", "the salt of a version-2 latency claim must be below 2^%d", SaltBitsV2)
	}
	ordered := *in
	ordered.Records = InStartOrder(in.Records)
	out, sorted, err := Evaluate(&ordered, capacity)
	if err != nil {
		return nil, nil, err
	}
	n := len(ordered.Records)
	w := NewV2(capacity)
	w.N = n
	w.PeriodStart = in.PeriodStartUs
	w.PeriodEnd = in.PeriodEndUs
	w.MinN = in.MinN
	w.Salt = in.Salt
	w.Compliant = b2i(out.Compliant)
	w.EnoughRecords = b2i(uint64(n) >= in.MinN)
	pad := capacity - n
	last := ordered.Records[n-1].Start
	for i := 0; i < capacity; i++ {
		if i < n {
			r := ordered.Records[i]
			w.Start[i], w.Lat[i], w.Active[i] = r.Start, r.End-r.Start, 1
		} else {
			w.Start[i], w.Lat[i], w.Active[i] = last, 0, 0
		}
		if i < pad {
			w.Sorted[i] = 0
		} else {
			w.Sorted[i] = sorted[i-pad]
		}
	}
	for j := 0; j < NbSlots; j++ {
		w.Percentile[j] = in.Percentile[j]
		w.Threshold[j] = in.Threshold[j]
		w.Enforce[j] = b2i(in.Enforce[j])
		w.Value[j] = out.Value[j]
		w.Exceeding[j] = out.Exceeding[j]
		w.Rank[j] = Rank(in.Percentile[j], uint64(n))
		w.Below[j] = uint64(capacity) - out.Exceeding[j]
		w.ValueBelow[j] = b2i(out.Value[j] < in.Threshold[j])
	}
	return w, out, nil
}

// JSONOutputsV2 are the public outputs of a version-2 proof, and the digest
// of the records (not a public input: the enclave signs it).
type JSONOutputsV2 struct {
	Digest    string          `json:"digest"`
	N         uint64          `json:"n"`
	Values    [NbSlots]uint64 `json:"valuesUs"`
	Exceeding [NbSlots]uint64 `json:"exceeding"`
	Compliant bool            `json:"compliant"`
}

func init() {
	claim.Register(&claim.Definition{
		Name:       Name,
		Version:    VersionV2,
		Capacities: CapacitiesV2,
		PublicInputs: []string{
			"n", "periodStartUs", "periodEndUs", "minN",
			"percentile[0]", "percentile[1]", "percentile[2]",
			"thresholdUs[0]", "thresholdUs[1]", "thresholdUs[2]",
			"enforce[0]", "enforce[1]", "enforce[2]",
			"valueUs[0]", "valueUs[1]", "valueUs[2]",
			"exceeding[0]", "exceeding[1]", "exceeding[2]",
			"compliant",
		},
		New:     func(capacity int) frontend.Circuit { return NewV2(capacity) },
		Assign:  assignJSONV2,
		Vectors: vectors,
	})
}

func assignJSONV2(capacity int, raw json.RawMessage) (frontend.Circuit, any, error) {
	li, err := decodeInput(raw)
	if err != nil {
		return nil, nil, err
	}
	w, out, err := AssignV2(capacity, li)
	if err != nil {
		if ie, ok := err.(*InputError); ok {
			return nil, nil, &claim.Error{Code: ie.Code, Msg: ie.Msg}
		}
		return nil, nil, err
	}
	return w, &JSONOutputsV2{
		Digest: claim.Decimal(out.Commitment), N: out.N, Values: out.Value, Exceeding: out.Exceeding, Compliant: out.Compliant,
	}, nil
}

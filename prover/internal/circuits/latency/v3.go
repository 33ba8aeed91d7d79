package latency

// Version 3 of the latency circuit (issue 10: 50,000 records under 10 s): the
// claim, parameters, public inputs, outputs, BSB22 binding and audit of
// version 2, with the 42-bit checks of the record starts and of the sorted
// copy (2 x capacity + 2 values: Start[0], every adjacent start difference,
// periodLen - 1 - Start[last], Sorted[0], every adjacent sorted difference,
// 2^42 - 1 - Sorted[last]; 59 % of version 2's constraints at the 16,384
// class, about 5 each in gnark's range checker with every inverse on the B
// side, i.e. in the prover's G2 MSM) moved to gadget/limbs: 42 = 3 x 14 (the
// top limb, linear in the value, has the lower limbs' width, so one 16,384-entry
// table and one identity serve all limbs), 3 constraints per value, inverses on
// the A side; the 1,024 class uses 11-bit limbs (11 + 11 + 11 + 9), where a
// 16,384-entry table would dominate (OffsetLimbBits).
//
// Every value handed to the limb checker is a linear expression of committed
// wires (Start and Sorted join the permutation's commitment) and public inputs
// (the period), as gadget/limbs requires: the limbs' challenge is drawn after
// them. The few remaining range checks (period, salt, percentiles, ranks,
// thresholds and the threshold comparisons over looked-up values) stay with
// gnark's range checker, which commits its own inputs.

import (
	"encoding/json"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/rangecheck"
	"github.com/veritee/veritee/prover/internal/circuits/claim"
	"github.com/veritee/veritee/prover/internal/gadget/limbs"
)

// VersionV3 is the version of CircuitV3.
const VersionV3 = 3

// OffsetLimbBits is the width of the lower limbs of the 42-bit checks at a
// capacity: the base b of 2 x capacity + 2 values at ceil(42/b) constraints
// each plus the table(s) (2^b entries, and 2^T for a narrower top limb T),
// minimised over b in [8, 16]: 14 (3 x 14) from the 16,384 class up, 11
// (11 + 11 + 11 + 9) at 1,024.
func OffsetLimbBits(capacity int) int {
	values := 2*capacity + 2
	best, bestCost := 0, 0
	for b := 8; b <= 16; b++ {
		k := (offsetBits + b - 1) / b
		top := offsetBits - (k-1)*b
		cost := values*k + 1<<b
		if top != b {
			cost += 1 << top
		}
		if best == 0 || cost < bestCost {
			best, bestCost = b, cost
		}
	}
	return best
}

// CircuitV3 is the version-3 latency circuit for a fixed capacity (the fields
// of version 2).
type CircuitV3 struct{ CircuitV2 }

// NewV3 allocates a version-3 circuit of the given capacity.
func NewV3(capacity int) *CircuitV3 { return &CircuitV3{*NewV2(capacity)} }

// Define implements frontend.Circuit.
func (c *CircuitV3) Define(api frontend.API) error {
	rc := rangecheck.New(api)
	offsets := limbs.New(api, offsetBits, OffsetLimbBits(len(c.Start)))
	return c.define(api, rc, offsets.Check, offsets.Commit)
}

// AssignV3 builds a full version-3 witness (the witness of version 2).
func AssignV3(capacity int, in *Input) (*CircuitV3, *Outputs, error) {
	w, out, err := AssignV2(capacity, in)
	if err != nil {
		return nil, nil, err
	}
	return &CircuitV3{*w}, out, nil
}

func init() {
	claim.Register(&claim.Definition{
		Name:       Name,
		Version:    VersionV3,
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
		New:     func(capacity int) frontend.Circuit { return NewV3(capacity) },
		Assign:  assignJSONV3,
		Vectors: vectors,
	})
}

func assignJSONV3(capacity int, raw json.RawMessage) (frontend.Circuit, any, error) {
	w, out, err := assignJSONV2(capacity, raw)
	if err != nil {
		return nil, nil, err
	}
	return &CircuitV3{*w.(*CircuitV2)}, out, nil
}

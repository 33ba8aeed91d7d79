package memory

// Version 3 of the memory circuit (issue 10, memory <= 2 s): the claim,
// parameters, public inputs and outputs of version 2, with the 32-bit range
// checks of the items (98 % of version 2's 85,764 constraints at the 16,384
// class, 5 constraints each in gnark's range checker, with every inverse in the
// prover's G2 MSM) moved to gadget/limbs: two 11-bit limbs from a hint and a
// linear 10-bit top limb, 3 constraints per item, lower and top limbs counted
// in two identities under one challenge, inverses on the A side (the 512
// class uses four 8-bit limbs, see ItemLimbBits). The class
// drops below 2^16 constraints, so the FFT domain halves too. The remaining
// range checks (period, parameters, rank, comparisons, division) stay with
// gnark's range checker. Binding as in version 2 (BSB22 commitment to the salt
// and every item, which the enclave signs next to the Poseidon2 digest).

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/multicommit"
	"github.com/consensys/gnark/std/rangecheck"
	"github.com/veritee/veritee/prover/internal/circuits/claim"
	"github.com/veritee/veritee/prover/internal/circuits/common"
	"github.com/veritee/veritee/prover/internal/gadget"
	"github.com/veritee/veritee/prover/internal/gadget/compare"
	"github.com/veritee/veritee/prover/internal/gadget/div"
	"github.com/veritee/veritee/prover/internal/gadget/limbs"
	"github.com/veritee/veritee/prover/internal/gadget/prefix"
	"github.com/veritee/veritee/prover/internal/gadget/rank"
)

// VersionV3 is the version of CircuitV3.
const VersionV3 = 3

// ItemLimbBits is the width of the lower limbs of an item: 32 = 11 + 11 + 10
// (3 constraints per item, 3,072 table entries) from 4,096 cells up; below,
// 32 = 4 x 8 (4 per item, 256 entries), cheaper where the table would dominate.
func ItemLimbBits(sh Shape) int {
	if sh.Samples*sh.Processes < 4096 {
		return 8
	}
	return 11
}

// CircuitV3 is the version-3 memory circuit for one shape (the fields of
// version 2).
type CircuitV3 struct{ CircuitV2 }

// NewV3 allocates the version-3 circuit of a shape.
func NewV3(sh Shape) *CircuitV3 { return &CircuitV3{*NewV2(sh)} }

// Define implements frontend.Circuit.
func (c *CircuitV3) Define(api frontend.API) error {
	S, P := len(c.UsageKiB), len(c.ActiveProcess)
	rc := rangecheck.New(api)
	items := limbs.New(api, ItemBits, ItemLimbBits(Shape{S, P}))
	totalBits := TotalBits(P)

	common.AssertPeriod(api, rc, c.PeriodStart, c.PeriodEnd)
	rc.Check(api.Sub(c.AllocatedKiB, 1), AllocatedBits)
	compare.CheckBp(api, rc, c.PercentileBp, 1)
	compare.CheckBp(api, rc, c.ThresholdBp, 0)
	rc.Check(c.Salt, SaltBitsV2)

	prefix.PrefixFlags(api, c.ActiveSample, c.NSamples)
	prefix.PrefixFlags(api, c.ActiveProcess, c.NProcesses)

	totals := make([]frontend.Variable, S)
	cols := make([][]frontend.Variable, P)
	committed := []frontend.Variable{c.Salt}
	for s := 0; s < S; s++ {
		items.Check(c.SwapPages[s])
		items.Check(c.PageFaults[s])
		committed = append(committed, c.SwapPages[s], c.PageFaults[s])
		for p := 0; p < P; p++ {
			items.Check(c.UsageKiB[s][p])
			cols[p] = append(cols[p], c.UsageKiB[s][p])
		}
		committed = append(committed, c.UsageKiB[s]...)
		totals[s] = gadget.Sum(api, c.UsageKiB[s])
		prefix.AssertZeroUnlessActive(api, c.ActiveSample[s], api.Add(c.SwapPages[s], c.PageFaults[s], totals[s]))
	}
	for p := 0; p < P; p++ {
		prefix.AssertZeroUnlessActive(api, c.ActiveProcess[p], gadget.Sum(api, cols[p]))
	}

	rank.AssertPercentile(api, rc, totals, c.ActiveSample, c.NSamples, c.PercentileBp, c.Value, totalBits)

	scaled := api.Mul(c.Value, gadget.BpScale)
	api.AssertIsEqual(div.Div(api, rc, scaled, c.AllocatedKiB, UsageBpBits, AllocatedBits), c.UsageBp)
	cmpBits := max(totalBits, AllocatedBits) + gadget.BpBits
	compare.AssertLess(api, rc, c.ScaleOut, api.Mul(c.ThresholdBp, c.AllocatedKiB), scaled, cmpBits)

	// Binding: the salt and every item join the one BSB22 commitment, from
	// which the item checker (and gnark's range checker) draw their challenges.
	multicommit.WithCommitment(api, func(api frontend.API, _ frontend.Variable) error { return nil }, committed...)
	items.Commit()
	return nil
}

// AssignV3 builds a full version-3 witness (the witness of version 2).
func AssignV3(sh Shape, in *Input) (*CircuitV3, *Outputs, error) {
	w, out, err := AssignV2(sh, in)
	if err != nil {
		return nil, nil, err
	}
	return &CircuitV3{*w}, out, nil
}

func init() {
	claim.Register(definitionV2Statement(VersionV3, func(sh Shape) frontend.Circuit { return NewV3(sh) },
		func(sh Shape, in *Input) (frontend.Circuit, *Outputs, error) { return AssignV3(sh, in) }))
}

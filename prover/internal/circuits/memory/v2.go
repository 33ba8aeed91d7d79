package memory

// Version 2 of the memory circuit ("Proofs four times faster"): the same claim,
// parameters and outputs as version 1, but the samples are not hashed in the
// circuit (56 % of version 1's constraints). There is no Commitment public
// input: the salt and every item are bound by gnark's BSB22 commitment carried
// in the proof (a Pedersen vector commitment, masked with a value derived from
// the salt, see export.MaskOption), which the enclave signs next to the
// Poseidon2 digest of the samples computed outside the circuit
// (commitment.Memory, the version-1 commitment). Steps 1-4 of the argument are
// those of version 1 (see circuit.go).

import (
	"encoding/json"
	"math/big"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/multicommit"
	"github.com/consensys/gnark/std/rangecheck"
	"github.com/veritee/veritee/prover/internal/circuits/claim"
	"github.com/veritee/veritee/prover/internal/circuits/common"
	"github.com/veritee/veritee/prover/internal/gadget"
	"github.com/veritee/veritee/prover/internal/gadget/compare"
	"github.com/veritee/veritee/prover/internal/gadget/div"
	"github.com/veritee/veritee/prover/internal/gadget/prefix"
	"github.com/veritee/veritee/prover/internal/gadget/rank"
)

// VersionV2 is the version of CircuitV2.
const VersionV2 = 2

// SaltBitsV2 bounds the salt of a version-2 claim (range-checked).
const SaltBitsV2 = 248

// CircuitV2 is the version-2 memory circuit for one shape.
type CircuitV2 struct {
	// ---- PUBLIC INPUTS ----
	NSamples     frontend.Variable `gnark:",public"`
	NProcesses   frontend.Variable `gnark:",public"`
	PeriodStart  frontend.Variable `gnark:",public"`
	PeriodEnd    frontend.Variable `gnark:",public"`
	AllocatedKiB frontend.Variable `gnark:",public"`
	PercentileBp frontend.Variable `gnark:",public"`
	ThresholdBp  frontend.Variable `gnark:",public"`
	UsageBp      frontend.Variable `gnark:",public"`
	ScaleOut     frontend.Variable `gnark:",public"`

	// ---- SECRET INPUTS ----
	Salt          frontend.Variable
	SwapPages     []frontend.Variable
	PageFaults    []frontend.Variable
	UsageKiB      [][]frontend.Variable
	ActiveSample  []frontend.Variable
	ActiveProcess []frontend.Variable
	Value         frontend.Variable
}

// NewV2 allocates the version-2 circuit of a shape.
func NewV2(sh Shape) *CircuitV2 {
	v1 := New(sh)
	return &CircuitV2{SwapPages: v1.SwapPages, PageFaults: v1.PageFaults, UsageKiB: v1.UsageKiB, ActiveSample: v1.ActiveSample, ActiveProcess: v1.ActiveProcess}
}

// Define implements frontend.Circuit.
func (c *CircuitV2) Define(api frontend.API) error {
	S, P := len(c.UsageKiB), len(c.ActiveProcess)
	rc := rangecheck.New(api)
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
		rc.Check(c.SwapPages[s], ItemBits)
		rc.Check(c.PageFaults[s], ItemBits)
		committed = append(committed, c.SwapPages[s], c.PageFaults[s])
		for p := 0; p < P; p++ {
			rc.Check(c.UsageKiB[s][p], ItemBits)
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

	// 5. Binding: the data joins the one BSB22 commitment (with the range
	// checker's wires); the callback needs no challenge of its own.
	multicommit.WithCommitment(api, func(api frontend.API, _ frontend.Variable) error { return nil }, committed...)
	return nil
}

// AssignV2 builds a full version-2 witness; Outputs.Commitment is the
// Poseidon2 digest of the samples (outside the circuit; the enclave signs it).
func AssignV2(sh Shape, in *Input) (*CircuitV2, *Outputs, error) {
	if new(big.Int).Rsh(in.Salt.BigInt(new(big.Int)), SaltBitsV2).Sign() != 0 {
		return nil, nil, common.Errorf("INPUT_INVALID", "the salt of a version-2 memory claim must be below 2^%d", SaltBitsV2)
	}
	v1, out, err := Assign(sh, in)
	if err != nil {
		return nil, nil, err
	}
	return &CircuitV2{
		NSamples: v1.NSamples, NProcesses: v1.NProcesses, PeriodStart: v1.PeriodStart, PeriodEnd: v1.PeriodEnd,
		AllocatedKiB: v1.AllocatedKiB, PercentileBp: v1.PercentileBp, ThresholdBp: v1.ThresholdBp, UsageBp: v1.UsageBp, ScaleOut: v1.ScaleOut,
		Salt: v1.Salt, SwapPages: v1.SwapPages, PageFaults: v1.PageFaults, UsageKiB: v1.UsageKiB,
		ActiveSample: v1.ActiveSample, ActiveProcess: v1.ActiveProcess, Value: v1.Value,
	}, out, nil
}

// JSONOutputsV2 are the public outputs of a version-2 proof and the digest of
// the samples (not a public input).
type JSONOutputsV2 struct {
	Digest     string `json:"digest"`
	NSamples   uint64 `json:"nSamples"`
	NProcesses uint64 `json:"nProcesses"`
	UsageBp    uint64 `json:"usageBp"`
	ScaleOut   bool   `json:"scaleOut"`
}

// definitionV2Statement registers a version that proves version 2's statement (the
// same public inputs, input and outputs), whatever its constraints: versions 2 and 3.
func definitionV2Statement(version int, newCircuit func(Shape) frontend.Circuit, assign func(Shape, *Input) (frontend.Circuit, *Outputs, error)) *claim.Definition {
	return &claim.Definition{
		Name:       Name,
		Version:    version,
		Capacities: Capacities,
		PublicInputs: []string{
			"nSamples", "nProcesses", "periodStartUs", "periodEndUs",
			"allocatedKiB", "percentileBp", "thresholdBp", "usageBp", "scaleOut",
		},
		New: func(capacity int) frontend.Circuit { return newCircuit(Classes[capacity]) },
		Assign: func(capacity int, raw json.RawMessage) (frontend.Circuit, any, error) {
			mi, err := decodeInput(raw)
			if err != nil {
				return nil, nil, err
			}
			w, out, err := assign(Classes[capacity], mi)
			if err != nil {
				return nil, nil, claim.FromInputError(err)
			}
			return w, &JSONOutputsV2{Digest: claim.Decimal(out.Commitment), NSamples: out.NSamples, NProcesses: out.NProcesses, UsageBp: out.UsageBp, ScaleOut: out.ScaleOut}, nil
		},
		Vectors: vectors,
	}
}

func init() {
	claim.Register(definitionV2Statement(VersionV2, func(sh Shape) frontend.Circuit { return NewV2(sh) },
		func(sh Shape, in *Input) (frontend.Circuit, *Outputs, error) { return AssignV2(sh, in) }))
}

package latency

// Version 2 of the latency circuit ("Proofs four times faster"). Same claim,
// same public parameters and outputs as version 1, but the records are no
// longer hashed in the circuit:
//
//  1. Records are (start, latency) offsets in microseconds, committed in start
//     order. The starts are non-decreasing over the whole capacity (every
//     adjacent difference is range-checked to 42 bits), Start[0] < 2^42 and
//     periodLen - 1 - Start[capacity-1] is range-checked, so every start lies in
//     [0, periodLen) with one range check per record instead of two. (Padding
//     slots repeat the last real start; their starts enter no output.)
//  2. Active flags as in version 1 (PrefixFlags); a padding latency is forced to
//     zero ((1 - a_i) * lat_i = 0).
//  3. Sorted is the ascending sort of all capacity latencies; adjacent
//     differences are range-checked, Sorted[0] and 2^42 - 1 - Sorted[last] too,
//     so every sorted value (and, by the permutation, every latency) lies in
//     [0, 2^42): the latency bound is merged into the order check. The
//     permutation prod(r - lat_i) = prod(r - Sorted_i) uses a challenge r drawn
//     from gnark's BSB22 commitment to (Salt, Start, Lat, Sorted) and to
//     everything the range checker and the lookup table commit to.
//  4. Percentiles, threshold counts and the verdict exactly as in version 1.
//  5. Binding: there is no Commitment public input. The BSB22 commitment D
//     carried in the proof is a Pedersen vector commitment to (Salt, Start, Lat,
//     Sorted, range-check limbs, lookup multiplicities): binding under discrete
//     log, hiding through the random salt. The enclave signs D and a Poseidon2
//     digest of the records computed outside the circuit (commitment.Latency
//     over the records in start order); a holder of the records and the salt
//     recomputes both (op "commitments", `veritee audit`).

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/lookup/logderivlookup"
	"github.com/consensys/gnark/std/multicommit"
	"github.com/consensys/gnark/std/rangecheck"
	"github.com/veritee/veritee/prover/internal/gadget"
	"github.com/veritee/veritee/prover/internal/gadget/compare"
	"github.com/veritee/veritee/prover/internal/gadget/prefix"
)

// VersionV2 is the version of CircuitV2.
const VersionV2 = 2

// SaltBitsV2 bounds the salt of a version-2 claim (it is range-checked, which
// also puts it in a constraint; veritee's salts are below 2^248).
const SaltBitsV2 = 248

// CapacitiesV2 lists the version-2 size classes; 50000 avoids padding the
// common 50,000-record workload to 65,536.
var CapacitiesV2 = []int{1024, 16384, 50000, 65536}

// CircuitV2 is the version-2 latency circuit for a fixed capacity.
type CircuitV2 struct {
	// ---- PUBLIC INPUTS ----
	N           frontend.Variable          `gnark:",public"`
	PeriodStart frontend.Variable          `gnark:",public"`
	PeriodEnd   frontend.Variable          `gnark:",public"`
	MinN        frontend.Variable          `gnark:",public"`
	Percentile  [NbSlots]frontend.Variable `gnark:",public"`
	Threshold   [NbSlots]frontend.Variable `gnark:",public"`
	Enforce     [NbSlots]frontend.Variable `gnark:",public"`
	Value       [NbSlots]frontend.Variable `gnark:",public"`
	Exceeding   [NbSlots]frontend.Variable `gnark:",public"`
	Compliant   frontend.Variable          `gnark:",public"`

	// ---- SECRET INPUTS ----
	Salt          frontend.Variable
	Start         []frontend.Variable
	Lat           []frontend.Variable
	Active        []frontend.Variable
	Sorted        []frontend.Variable
	Rank          [NbSlots]frontend.Variable
	Below         [NbSlots]frontend.Variable
	ValueBelow    [NbSlots]frontend.Variable
	EnoughRecords frontend.Variable
}

// NewV2 allocates a version-2 circuit of the given capacity.
func NewV2(capacity int) *CircuitV2 {
	return &CircuitV2{
		Start:  make([]frontend.Variable, capacity),
		Lat:    make([]frontend.Variable, capacity),
		Active: make([]frontend.Variable, capacity),
		Sorted: make([]frontend.Variable, capacity),
	}
}

// Define implements frontend.Circuit.
func (c *CircuitV2) Define(api frontend.API) error {
	rc := rangecheck.New(api)
	return c.define(api, rc, func(v frontend.Variable) { rc.Check(v, offsetBits) }, func() {})
}

// define is the statement of versions 2 and 3. offset receives every 42-bit
// check whose value is a linear expression of committed wires (Start, Sorted)
// and public inputs: version 2 sends them to gnark's range checker rc (the
// calls happen in the same order as before this split, so version 2's R1CS is
// unchanged: its pin checks that), version 3 to gadget/limbs. last runs after
// the permutation's commitment is registered.
func (c *CircuitV2) define(api frontend.API, rc frontend.Rangechecker, offset func(frontend.Variable), last func()) error {
	capacity := len(c.Start)
	capBits := gadget.BitLen(capacity)

	// Period: 1 <= periodLen <= 2^42, start fits 64 bits.
	periodLen := api.Sub(c.PeriodEnd, c.PeriodStart)
	rc.Check(api.Sub(periodLen, 1), offsetBits)
	rc.Check(c.PeriodStart, PeriodStartBits)
	rc.Check(c.Salt, SaltBitsV2)

	prefix.PrefixFlags(api, c.Active, c.N)

	// 1. Starts non-decreasing and inside the period.
	offset(c.Start[0])
	for i := 0; i+1 < capacity; i++ {
		offset(api.Sub(c.Start[i+1], c.Start[i]))
	}
	offset(api.Sub(periodLen, 1, c.Start[capacity-1]))

	// 2. Zero latency for padding.
	for i := 0; i < capacity; i++ {
		prefix.AssertZeroUnlessActive(api, c.Active[i], c.Lat[i])
	}

	// 3. The sorted copy: ascending, within [0, 2^42).
	offset(c.Sorted[0])
	for i := 0; i+1 < capacity; i++ {
		offset(api.Sub(c.Sorted[i+1], c.Sorted[i]))
	}
	offset(api.Sub(new(bigInt).Sub(gadget.Pow2(offsetBits), one), c.Sorted[capacity-1]))

	// 4. Percentiles and threshold counts (as in version 1).
	table := logderivlookup.New(api)
	for i := 0; i < capacity; i++ {
		table.Insert(c.Sorted[i])
	}
	var idx []frontend.Variable
	var notFirst, notLast [NbSlots]frontend.Variable
	for j := 0; j < NbSlots; j++ {
		p := c.Percentile[j]
		compare.CheckBp(api, rc, p, 1)
		rc.Check(api.Sub(c.Rank[j], 1), capBits+1)
		d := api.Sub(api.Mul(c.Rank[j], PercentileScale), api.Mul(p, c.N))
		rc.Check(d, 14)
		rc.Check(api.Sub(PercentileScale-1, d), 14)
		idx = append(idx, api.Add(capacity-1, api.Sub(c.Rank[j], c.N)))

		t := c.Threshold[j]
		rc.Check(api.Sub(t, 1), offsetBits)
		below := c.Below[j]
		rc.Check(below, capBits+1)
		rc.Check(api.Sub(capacity, below), capBits+1)
		z := api.IsZero(below)
		e := api.IsZero(api.Sub(below, capacity))
		notFirst[j] = api.Sub(1, z)
		notLast[j] = api.Sub(1, e)
		idx = append(idx, api.Add(api.Sub(below, 1), z), api.Sub(below, e))
	}
	vals := table.Lookup(idx...)

	rc.Check(c.MinN, MinNBits)
	compare.AssertLess(api, rc, api.Sub(1, c.EnoughRecords), c.N, c.MinN, MinNBits)
	compliant := c.EnoughRecords
	for j := 0; j < NbSlots; j++ {
		value, lo, hi := vals[3*j], vals[3*j+1], vals[3*j+2]
		t := c.Threshold[j]
		api.AssertIsEqual(value, c.Value[j])
		rc.Check(api.Mul(notFirst[j], api.Sub(t, 1, lo)), offsetBits) // Sorted[j-1] < T
		rc.Check(api.Mul(notLast[j], api.Sub(hi, t)), offsetBits)     // Sorted[j] >= T
		api.AssertIsEqual(c.Exceeding[j], api.Sub(capacity, c.Below[j]))

		compare.AssertLess(api, rc, c.ValueBelow[j], c.Value[j], t, offsetBits)
		api.AssertIsBoolean(c.Enforce[j])
		ok := api.Sub(1, api.Mul(c.Enforce[j], api.Sub(1, c.ValueBelow[j])))
		compliant = api.Mul(compliant, ok)
	}
	api.AssertIsEqual(c.Compliant, compliant)

	// 5. Permutation under the BSB22 commitment, which also binds the records.
	// (Registered last, so the lookup table and the range checker join it.)
	committed := make([]frontend.Variable, 0, 3*capacity+1)
	committed = append(committed, c.Salt)
	committed = append(committed, c.Start...)
	committed = append(committed, c.Lat...)
	committed = append(committed, c.Sorted...)
	multicommit.WithCommitment(api, func(api frontend.API, r frontend.Variable) error {
		left, right := frontend.Variable(1), frontend.Variable(1)
		for i := 0; i < capacity; i++ {
			left = api.Mul(left, api.Sub(r, c.Lat[i]))
			right = api.Mul(right, api.Sub(r, c.Sorted[i]))
		}
		api.AssertIsEqual(left, right)
		return nil
	}, committed...)
	last()
	return nil
}

// Package latency is the circuit behind veritee's latency SLA claim: exact
// nearest-rank percentiles, threshold counts and an SLA verdict over request
// records committed with a Poseidon2 sponge, without revealing any record.
//
// Argument ("sort outside, check inside"):
//
//  1. Records are (start, end) offsets in microseconds from the period start, each
//     range-checked to 42 bits (this also makes the packing in the commitment
//     injective). latency = end - start is range-checked to 42 bits, so it is
//     non-negative; periodLen - 1 - start is range-checked, so start < periodLen.
//  2. Active flags a_i mark the first n slots: a_0 = 1 and a_{i+1}(a_{i+1}-a_i) = 0
//     make them boolean and non-increasing, and sum(a_i) = n. Padding records
//     (a_i = 0) are forced to zero, so their latency is 0.
//  3. The prover supplies Sorted, the ascending sort of all capacity latencies
//     (the padding zeros sort first). Adjacent differences are range-checked
//     (order), and prod(r - latency_i) = prod(r - Sorted_i) under a challenge r
//     drawn from gnark's commitment to Start, End and Sorted (permutation, by
//     Schwartz-Zippel; without it a sorted copy would prove nothing).
//  4. Because padding latencies are all 0, the k-th smallest of the n real
//     latencies is Sorted[capacity - n + k - 1]; with k = ceil(P*n/10000) that is
//     the nearest-rank P-th percentile (P in basis points). The prover supplies k
//     and the circuit checks 0 <= 10000k - P*n < 10000.
//  5. For a threshold T >= 1, j = #{latency < T} over the whole capacity is
//     checked by Sorted[j-1] < T <= Sorted[j] (lookups through a log-derivative
//     table); padding zeros are all < T, so capacity - j counts exactly the real
//     records with latency >= T.
//  6. Compliant = (n >= MinN) AND, for every enforced slot, Value < Threshold.
//  7. Commitment = Poseidon2 sponge over (tag, n, salt, periodStart, periodEnd,
//     packed records); the digest is the state after the last block holding
//     records, selected with the active flags, so it does not depend on the
//     capacity (see package commitment).
//
// Range checks use gnark's LogUp range checker; lookups use logderivlookup; both
// draw their challenges from the same Groth16 commitment (BSB22).
package latency

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/lookup/logderivlookup"
	"github.com/consensys/gnark/std/multicommit"
	"github.com/consensys/gnark/std/rangecheck"
	"github.com/veritee/veritee/prover/internal/commitment"
	"github.com/veritee/veritee/prover/internal/gadget"
	"github.com/veritee/veritee/prover/internal/gadget/compare"
	"github.com/veritee/veritee/prover/internal/gadget/prefix"
	"github.com/veritee/veritee/prover/internal/sponge"
)

const (
	// Name of the circuit in the prover protocol and key store.
	Name = "latency"
	// Version changes whenever the constraint system changes.
	Version = 1
	// NbSlots is the number of (percentile, threshold) slots.
	NbSlots = 3
	// PercentileScale: percentiles are given in basis points (9500 = p95).
	PercentileScale = 10000
	// MinNBits bounds MinN (and N).
	MinNBits = 32
	// PeriodStartBits bounds the period start (microseconds since the epoch).
	PeriodStartBits = 64
	offsetBits      = commitment.OffsetBits
)

// Circuit is the latency SLA circuit for a fixed capacity (len of the slices).
type Circuit struct {
	// ---- PUBLIC INPUTS ----
	Commitment  frontend.Variable          `gnark:",public"`
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
	Salt   frontend.Variable
	Start  []frontend.Variable
	End    []frontend.Variable
	Active []frontend.Variable
	Sorted []frontend.Variable
	// Rank[j] = ceil(Percentile[j] * N / 10000).
	Rank [NbSlots]frontend.Variable
	// Below[j] = #{latency < Threshold[j]} over the whole capacity.
	Below [NbSlots]frontend.Variable
	// ValueBelow[j] = (Value[j] < Threshold[j]).
	ValueBelow [NbSlots]frontend.Variable
	// EnoughRecords = (N >= MinN).
	EnoughRecords frontend.Variable
}

// New allocates a circuit of the given capacity (for compilation).
func New(capacity int) *Circuit {
	return &Circuit{
		Start:  make([]frontend.Variable, capacity),
		End:    make([]frontend.Variable, capacity),
		Active: make([]frontend.Variable, capacity),
		Sorted: make([]frontend.Variable, capacity),
	}
}

// Define implements frontend.Circuit.
func (c *Circuit) Define(api frontend.API) error {
	capacity := len(c.Start)
	capBits := gadget.BitLen(capacity)
	rc := rangecheck.New(api)

	// 1. Period: 1 <= periodLen <= 2^42, start fits 64 bits.
	periodLen := api.Sub(c.PeriodEnd, c.PeriodStart)
	rc.Check(api.Sub(periodLen, 1), offsetBits)
	rc.Check(c.PeriodStart, PeriodStartBits)

	// 2. Active flags.
	prefix.PrefixFlags(api, c.Active, c.N)

	// 3. Records: ranges, non-negative latency, start inside the period, zero padding.
	lat := make([]frontend.Variable, capacity)
	packedRec := make([]frontend.Variable, capacity)
	for i := 0; i < capacity; i++ {
		rc.Check(c.Start[i], offsetBits)
		rc.Check(c.End[i], offsetBits)
		lat[i] = api.Sub(c.End[i], c.Start[i])
		rc.Check(lat[i], offsetBits)
		rc.Check(api.Sub(periodLen, 1, c.Start[i]), offsetBits)
		packedRec[i] = api.Add(c.Start[i], api.Mul(c.End[i], gadget.Pow2(offsetBits)))
		prefix.AssertZeroUnlessActive(api, c.Active[i], packedRec[i])
	}

	// 4. Order of the sorted copy.
	for i := 0; i+1 < capacity; i++ {
		rc.Check(api.Sub(c.Sorted[i+1], c.Sorted[i]), offsetBits)
	}

	// 6. Percentiles and threshold counts through lookups into the sorted copy.
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

	// 7. Commitment over (tag, n, salt, period, packed records), variable length.
	s, err := sponge.NewCircuit(api)
	if err != nil {
		return err
	}
	stream := []frontend.Variable{commitment.Tag(commitment.LatencyDomain), c.N, c.Salt, c.PeriodStart, c.PeriodEnd}
	shift := gadget.Pow2(2 * offsetBits)
	for j := 0; j*commitment.RecordsPerElement < capacity; j++ {
		var terms []frontend.Variable
		for k := commitment.RecordsPerElement - 1; k >= 0; k-- {
			if i := j*commitment.RecordsPerElement + k; i < capacity {
				terms = append(terms, api.Mul(packedRec[i], pow(shift, k)))
			}
		}
		if len(terms) == 1 {
			stream = append(stream, terms[0])
		} else {
			stream = append(stream, api.Add(terms[0], terms[1], terms[2:]...))
		}
	}
	hasData := func(b int) frontend.Variable {
		if b == 0 {
			return 1
		}
		first := (b*sponge.Rate - commitment.HeaderLen) * commitment.RecordsPerElement
		if first >= capacity {
			return 0
		}
		return c.Active[first]
	}
	var digestTerms []frontend.Variable
	for b := 0; b*sponge.Rate < len(stream); b++ {
		end := min((b+1)*sponge.Rate, len(stream))
		st, err := s.AbsorbBlock(stream[b*sponge.Rate : end])
		if err != nil {
			return err
		}
		digestTerms = append(digestTerms, api.Mul(api.Sub(hasData(b), hasData(b+1)), st))
	}
	var digest frontend.Variable
	switch len(digestTerms) {
	case 1:
		digest = digestTerms[0]
	case 2:
		digest = api.Add(digestTerms[0], digestTerms[1])
	default:
		digest = api.Add(digestTerms[0], digestTerms[1], digestTerms[2:]...)
	}
	api.AssertIsEqual(digest, c.Commitment)

	// 8. Permutation: the sorted copy holds exactly the latencies.
	// (Registered last: gnark runs deferred commitment callbacks in order, and the
	// lookup table and range checker must join the same commitment first.)
	committed := make([]frontend.Variable, 0, 3*capacity)
	committed = append(committed, c.Start...)
	committed = append(committed, c.End...)
	committed = append(committed, c.Sorted...)
	multicommit.WithCommitment(api, func(api frontend.API, r frontend.Variable) error {
		left, right := frontend.Variable(1), frontend.Variable(1)
		for i := 0; i < capacity; i++ {
			left = api.Mul(left, api.Sub(r, lat[i]))
			right = api.Mul(right, api.Sub(r, c.Sorted[i]))
		}
		api.AssertIsEqual(left, right)
		return nil
	}, committed...)
	return nil
}

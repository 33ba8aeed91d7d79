// Package gateway is the circuit behind veritee's API gateway health claim: a
// health score and an SLA verdict over every request of a reporting period and
// the backend health checks, without revealing any request.
//
// Data (private): per request a 5-bit code (package commitment):
//
//	code = (statusClass + 1) + 8*connectionOk + 16*rateLimited
//	statusClass: 0 = no HTTP response, 1..5 = 1xx..5xx
//
// and per backend health check a 2-bit code (1 = failed, 2 = passed). Code 0 is
// padding. Public: the reporting period and counts (committed), the SLA
// thresholds (policy) and the outputs.
//
// Semantics (over the n requests and nChecks checks):
//
//	success        = #{connection ok and status 1xx..4xx}    (4xx are the client's errors)
//	healthBp       = floor(10000 * success / n)              (two decimals of a percent: 9995 = 99.95 %)
//	errorRateOk    = 10000 * #{5xx} < max5xxBp * n            (default 10 bp: 5xx rate < 0.1 %)
//	availabilityOk = 10000 * #{passed} > minAvailabilityBp * nChecks   (default 9900: > 99 %; false without checks)
//	connectionOk   = 10000 * #{connection ok} > minConnectionBp * n   (default 9950: > 99.5 %)
//	rateLimitOk    = #{rate limited} <= maxRateLimited       (default 0)
//	compliant      = all four
//
// Argument (about 1.5 constraints and 1.8 wires per request, no sorting):
//
//  1. Histogram by log-derivative (LogUp, Haböck 2022/1530) over PAIRS of codes:
//     the secret inputs are pairs p_i = c_{2i} + 32 c_{2i+1} (10 bits, exactly
//     the packing of the commitment, so pairs pack linearly into its elements)
//     and pairs of checks q_j = h_{2j} + 4 h_{2j+1}; the prover supplies how often
//     every valid pair occurs. With r drawn from a BSB22 commitment to the pairs
//     and the counts, two identities, one per multiset:
//     sum_i 1/(r - p_i) = sum_t count_t/(r - t)  and  sum_j 1/(r - q_j) = sum_u checkCount_u/(r - u).
//     As rational functions each holds only if every pair is in its own table
//     (625 pairs of request codes including 0; 9 pairs of check codes including
//     0), and every count is exact (multiplicities are far below the field size).
//     So every slot is bounded on its own (a request pair < 1024, a check pair
//     < 16), which the packing of the commitment needs to be injective, and the
//     codes are counted for one inverse per two requests. (Version 1 summed both
//     multisets in ONE identity, offsetting the checks by 1024: a check slot
//     holding t - 1024 mod r was then read as request pair t, and such
//     "negative" slots let other contents pack to the committed element, which
//     forged availability; see issue 9 and TestCheckPairsCannotBeReadAsRequests.)
//     The two identities share r, drawn after every slot and count is committed;
//     every figure below is a linear combination of the counts. Pairs halve the
//     wires per request against single codes (the MSMs of the prover scale with
//     wires); triples would need a 15625-entry table.
//  2. Padding: #zero codes = capacity - n (and likewise for the checks). The
//     commitment binds every slot up to the end of the last sponge block holding
//     a request, where the honest data has n non-zero codes and zeros after
//     them; so the remaining zeros are exactly the slots after that block. No
//     per-request flag is needed.
//  3. Commitment ("veritee.gateway.v1"): header (tag, n, nChecks, salt, period,
//     checks digest) then the codes packed 50 per element; blocks are selected by
//     comparing each block's first request index with n, so the digest does not
//     depend on the size class. The checks digest is selected likewise by nChecks.
//  4. Each output is computed from the counts and constrained to the public one
//     (exact comparisons), so every verdict is right both ways.
package gateway

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/multicommit"
	"github.com/consensys/gnark/std/rangecheck"
	"github.com/veritee/veritee/prover/internal/circuits/common"
	"github.com/veritee/veritee/prover/internal/commitment"
	"github.com/veritee/veritee/prover/internal/gadget"
	"github.com/veritee/veritee/prover/internal/gadget/compare"
	"github.com/veritee/veritee/prover/internal/gadget/digest"
	"github.com/veritee/veritee/prover/internal/gadget/div"
	"github.com/veritee/veritee/prover/internal/gadget/logderiv"
	"github.com/veritee/veritee/prover/internal/gadget/pack"
	"github.com/veritee/veritee/prover/internal/sponge"
)

const (
	// Name of the circuit in the prover protocol and key store.
	Name = "gateway"
	// Version changes whenever the constraint system changes.
	Version = 2
	// MaxRateLimitedBits bounds the rate-limit allowance.
	MaxRateLimitedBits = 32
	// pairBase and checkPairBase combine two codes into one histogram key.
	pairBase      = 1 << commitment.CodeBits
	checkPairBase = 1 << commitment.CheckBits
)

// Shape is the fixed capacity of a size class.
type Shape struct{ Requests, Checks int }

// Classes maps a size class (requests) to its shape.
var Classes = map[int]Shape{
	1024:  {1024, 64},
	16384: {16384, 1024},
	65536: {65536, 4096},
}

// Capacities lists the size classes in increasing order.
var Capacities = []int{1024, 16384, 65536}

// Codes lists the request codes: 0 (padding) then the 24 valid codes.
var Codes = func() []uint64 {
	t := []uint64{0}
	for c := uint64(1); c < 32; c++ {
		if commitment.ValidRequestCode(c) {
			t = append(t, c)
		}
	}
	return t
}()

// Pair is one entry of the request histogram: codes A (earlier slot) and B.
type Pair struct{ A, B uint64 }

// Key is the pair's value, as packed: A + 32 B.
func (p Pair) Key() uint64 { return p.A + pairBase*p.B }

// Table lists the 625 request pairs of the histogram.
var Table = func() []Pair {
	var t []Pair
	for _, b := range Codes {
		for _, a := range Codes {
			t = append(t, Pair{a, b})
		}
	}
	return t
}()

// CheckTable lists the 9 check pairs (0 padding, 1 failed, 2 passed).
var CheckTable = func() []Pair {
	var t []Pair
	for b := uint64(0); b < 3; b++ {
		for a := uint64(0); a < 3; a++ {
			t = append(t, Pair{a, b})
		}
	}
	return t
}()

// checkKey is a check pair's value, as packed: A + 4 B.
func checkKey(p Pair) uint64 { return p.A + checkPairBase*p.B }

// Circuit is the gateway health circuit for one shape.
type Circuit struct {
	// ---- PUBLIC INPUTS ----
	Commitment        frontend.Variable `gnark:",public"`
	N                 frontend.Variable `gnark:",public"`
	NChecks           frontend.Variable `gnark:",public"`
	PeriodStart       frontend.Variable `gnark:",public"`
	PeriodEnd         frontend.Variable `gnark:",public"`
	Max5xxBp          frontend.Variable `gnark:",public"`
	MinAvailabilityBp frontend.Variable `gnark:",public"`
	MinConnectionBp   frontend.Variable `gnark:",public"`
	MaxRateLimited    frontend.Variable `gnark:",public"`
	HealthBp          frontend.Variable `gnark:",public"` // output
	ErrorRateOk       frontend.Variable `gnark:",public"` // output
	AvailabilityOk    frontend.Variable `gnark:",public"` // output
	ConnectionOk      frontend.Variable `gnark:",public"` // output
	RateLimitOk       frontend.Variable `gnark:",public"` // output
	Compliant         frontend.Variable `gnark:",public"` // output

	// ---- SECRET INPUTS ----
	Salt frontend.Variable
	// Pairs[i] = code[2i] + 32 code[2i+1] over the whole capacity.
	Pairs []frontend.Variable
	// CheckPairs[j] = check[2j] + 4 check[2j+1].
	CheckPairs []frontend.Variable
	// Count[t] = #{i : Pairs[i] = Table[t].Key()}.
	Count [625]frontend.Variable
	// CheckCount[u] = #{j : CheckPairs[j] = checkKey(CheckTable[u])}.
	CheckCount [9]frontend.Variable
}

// New allocates the circuit of a shape.
func New(sh Shape) *Circuit {
	return &Circuit{Pairs: make([]frontend.Variable, sh.Requests/2), CheckPairs: make([]frontend.Variable, sh.Checks/2)}
}

// NewClass allocates the circuit of a size class.
func NewClass(capacity int) (*Circuit, error) {
	return common.NewClass(Name, Classes, New, capacity)
}

// Define implements frontend.Circuit.
func (c *Circuit) Define(api frontend.API) error {
	R, H := 2*len(c.Pairs), 2*len(c.CheckPairs)
	rc := rangecheck.New(api)
	nBits := gadget.BitLen(R)
	hBits := gadget.BitLen(H)
	cmpBits := gadget.BpBits + nBits + 1

	// Period, parameters, counts.
	common.AssertPeriod(api, rc, c.PeriodStart, c.PeriodEnd)
	compare.CheckBp(api, rc, c.Max5xxBp, 0)
	compare.CheckBp(api, rc, c.MinAvailabilityBp, 0)
	compare.CheckBp(api, rc, c.MinConnectionBp, 0)
	rc.Check(c.MaxRateLimited, MaxRateLimitedBits)
	rc.Check(api.Sub(c.N, 1), nBits)

	// Figures, as linear combinations of the histogram (a pair counts each code).
	var zeros, connOK, fiveXX, limited, success []frontend.Variable
	for t, pr := range Table {
		for _, code := range []uint64{pr.A, pr.B} {
			n := c.Count[t]
			switch {
			case code == 0:
				zeros = append(zeros, n)
				continue
			case code&commitment.CodeClassMask == commitment.Class5xxCode:
				fiveXX = append(fiveXX, n)
			}
			if code&commitment.CodeConnOK != 0 {
				connOK = append(connOK, n)
				if cl := code & commitment.CodeClassMask; cl >= 2 && cl <= 5 {
					success = append(success, n)
				}
			}
			if code&commitment.CodeRateLimit != 0 {
				limited = append(limited, n)
			}
		}
	}
	var checkZeros, passedTerms []frontend.Variable
	for u, pr := range CheckTable {
		for _, code := range []uint64{pr.A, pr.B} {
			switch code {
			case 0:
				checkZeros = append(checkZeros, c.CheckCount[u])
			case commitment.CheckPassed:
				passedTerms = append(passedTerms, c.CheckCount[u])
			}
		}
	}

	// 2. Padding: the zero codes are exactly the slots after the data.
	api.AssertIsEqual(gadget.Sum(api, zeros), api.Sub(R, c.N))
	api.AssertIsEqual(gadget.Sum(api, checkZeros), api.Sub(H, c.NChecks))
	nSuccess := gadget.Sum(api, success)
	passed := gadget.Sum(api, passedTerms)

	// 4. Outputs, both ways.
	api.AssertIsEqual(div.Div(api, rc, api.Mul(nSuccess, gadget.BpScale), c.N, gadget.BpBits, nBits), c.HealthBp)
	compare.AssertLess(api, rc, c.ErrorRateOk, api.Mul(gadget.Sum(api, fiveXX), gadget.BpScale), api.Mul(c.Max5xxBp, c.N), cmpBits)
	compare.AssertLess(api, rc, c.AvailabilityOk, api.Mul(c.MinAvailabilityBp, c.NChecks), api.Mul(passed, gadget.BpScale), gadget.BpBits+hBits+1)
	compare.AssertLess(api, rc, c.ConnectionOk, api.Mul(c.MinConnectionBp, c.N), api.Mul(gadget.Sum(api, connOK), gadget.BpScale), cmpBits)
	compare.AssertLess(api, rc, c.RateLimitOk, gadget.Sum(api, limited), api.Add(c.MaxRateLimited, 1), MaxRateLimitedBits+1)
	api.AssertIsEqual(c.Compliant, api.Mul(c.ErrorRateOk, c.AvailabilityOk, c.ConnectionOk, c.RateLimitOk))

	// 3. Commitment.
	checkPer := commitment.PerElement(commitment.CheckBits)
	checks, err := digest.VarDigest(api, pack.Pack(api, c.CheckPairs, 2*commitment.CheckBits, checkPer/2), func(b int) frontend.Variable {
		return compare.Less(api, rc, b*sponge.Rate*checkPer, c.NChecks, hBits+1)
	})
	if err != nil {
		return err
	}
	codePer := commitment.PerElement(commitment.CodeBits)
	stream := []frontend.Variable{commitment.Tag(commitment.GatewayDomain), c.N, c.NChecks, c.Salt, c.PeriodStart, c.PeriodEnd, checks}
	stream = append(stream, pack.Pack(api, c.Pairs, 2*commitment.CodeBits, codePer/2)...)
	digest, err := digest.VarDigest(api, stream, func(b int) frontend.Variable {
		first := (b*sponge.Rate - commitment.GatewayHeaderLen) * codePer
		if first >= R {
			return 0
		}
		return compare.Less(api, rc, first, c.N, nBits+1)
	})
	if err != nil {
		return err
	}
	api.AssertIsEqual(digest, c.Commitment)

	// 1. Histogram (registered last, after the range checker joined the commitment).
	committed := make([]frontend.Variable, 0, len(c.Pairs)+len(c.CheckPairs)+len(c.Count)+len(c.CheckCount))
	committed = append(committed, c.Pairs...)
	committed = append(committed, c.CheckPairs...)
	committed = append(committed, c.Count[:]...)
	committed = append(committed, c.CheckCount[:]...)
	multicommit.WithCommitment(api, func(api frontend.API, r frontend.Variable) error {
		// One identity per multiset: a shared identity would let a slot of one
		// multiset hold a value read as an entry of the other (issue 9).
		logderiv.AssertHistogram(api, r, c.Pairs, tableKeys(Table, Pair.Key), c.Count[:])
		logderiv.AssertHistogram(api, r, c.CheckPairs, tableKeys(CheckTable, checkKey), c.CheckCount[:])
		return nil
	}, committed...)
	return nil
}

func tableKeys(tab []Pair, key func(Pair) uint64) []uint64 {
	keys := make([]uint64, len(tab))
	for i, p := range tab {
		keys[i] = key(p)
	}
	return keys
}

package gateway

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/veritee/veritee/prover/internal/circuits/common"
	"github.com/veritee/veritee/prover/internal/commitment"
)

// Params are the public parameters of a gateway claim.
type Params struct {
	PeriodStartUs     uint64 `json:"periodStartUs"`
	PeriodEndUs       uint64 `json:"periodEndUs"`
	Max5xxBp          uint64 `json:"max5xxBp"`          // default 10 (0.1 %)
	MinAvailabilityBp uint64 `json:"minAvailabilityBp"` // default 9900 (99 %)
	MinConnectionBp   uint64 `json:"minConnectionBp"`   // default 9950 (99.5 %)
	MaxRateLimited    uint64 `json:"maxRateLimited"`    // default 0
}

// Input is everything the prover needs.
type Input struct {
	Params
	Salt     fr.Element
	Requests []uint64 // request codes
	Checks   []bool
}

// Outputs are the public outputs, computed natively (the plain reference).
type Outputs struct {
	Commitment     fr.Element `json:"-"`
	N              uint64     `json:"n"`
	NChecks        uint64     `json:"nChecks"`
	HealthBp       uint64     `json:"healthBp"`
	ErrorRateOk    bool       `json:"errorRateOk"`
	AvailabilityOk bool       `json:"availabilityOk"`
	ConnectionOk   bool       `json:"connectionOk"`
	RateLimitOk    bool       `json:"rateLimitOk"`
	Compliant      bool       `json:"compliant"`
	// Counts (private), returned for tests.
	Success, FiveXX, ConnOK, RateLimited, Passed uint64 `json:"-"`
}

// Validate checks the input against the ranges of a shape.
func (in *Input) Validate(sh Shape) error {
	if err := common.CheckPeriod(in.PeriodStartUs, in.PeriodEndUs); err != nil {
		return err
	}
	for _, p := range []struct {
		name string
		v    uint64
	}{{"5xx limit", in.Max5xxBp}, {"availability minimum", in.MinAvailabilityBp}, {"connection minimum", in.MinConnectionBp}} {
		if err := common.CheckBp(p.name, p.v, 0); err != nil {
			return err
		}
	}
	if in.MaxRateLimited >= 1<<MaxRateLimitedBits {
		return common.Errorf("CLAIM_PARAMS_INVALID", "rate-limit allowance %d does not fit 32 bits", in.MaxRateLimited)
	}
	if len(in.Requests) == 0 {
		return common.Errorf("INPUT_FILE_EMPTY", "no requests")
	}
	if len(in.Requests) > sh.Requests || len(in.Checks) > sh.Checks {
		return common.Errorf("CLAIM_TOO_MANY_RECORDS", "%d requests and %d health checks exceed the size class (%d, %d)", len(in.Requests), len(in.Checks), sh.Requests, sh.Checks)
	}
	for i, c := range in.Requests {
		if !commitment.ValidRequestCode(c) {
			return common.Errorf("RECORD_FIELD_INVALID", "request %d: %d is not a request code", i, c)
		}
	}
	return nil
}

// Evaluate computes the outputs natively.
func Evaluate(in *Input, sh Shape) (*Outputs, error) {
	if err := in.Validate(sh); err != nil {
		return nil, err
	}
	out := &Outputs{N: uint64(len(in.Requests)), NChecks: uint64(len(in.Checks))}
	for _, c := range in.Requests {
		cl := c & commitment.CodeClassMask
		conn := c&commitment.CodeConnOK != 0
		if conn {
			out.ConnOK++
			if cl >= 2 && cl <= 5 {
				out.Success++
			}
		}
		if cl == commitment.Class5xxCode {
			out.FiveXX++
		}
		if c&commitment.CodeRateLimit != 0 {
			out.RateLimited++
		}
	}
	for _, ok := range in.Checks {
		if ok {
			out.Passed++
		}
	}
	out.HealthBp = out.Success * common.BpScale / out.N
	out.ErrorRateOk = out.FiveXX*common.BpScale < in.Max5xxBp*out.N
	out.AvailabilityOk = out.Passed*common.BpScale > in.MinAvailabilityBp*out.NChecks
	out.ConnectionOk = out.ConnOK*common.BpScale > in.MinConnectionBp*out.N
	out.RateLimitOk = out.RateLimited <= in.MaxRateLimited
	out.Compliant = out.ErrorRateOk && out.AvailabilityOk && out.ConnectionOk && out.RateLimitOk
	c, err := commitment.Gateway(&commitment.GatewayData{Salt: in.Salt, PeriodStartUs: in.PeriodStartUs, PeriodEndUs: in.PeriodEndUs, Requests: in.Requests, Checks: in.Checks})
	if err != nil {
		return nil, common.Errorf("INPUT_INVALID", "%v", err)
	}
	out.Commitment = c
	return out, nil
}

// Assign builds a full witness for a shape.
func Assign(sh Shape, in *Input) (*Circuit, *Outputs, error) {
	out, err := Evaluate(in, sh)
	if err != nil {
		return nil, nil, err
	}
	w := New(sh)
	w.Commitment = out.Commitment
	w.N = out.N
	w.NChecks = out.NChecks
	w.PeriodStart = in.PeriodStartUs
	w.PeriodEnd = in.PeriodEndUs
	w.Max5xxBp = in.Max5xxBp
	w.MinAvailabilityBp = in.MinAvailabilityBp
	w.MinConnectionBp = in.MinConnectionBp
	w.MaxRateLimited = in.MaxRateLimited
	w.HealthBp = out.HealthBp
	w.ErrorRateOk = common.B2i(out.ErrorRateOk)
	w.AvailabilityOk = common.B2i(out.AvailabilityOk)
	w.ConnectionOk = common.B2i(out.ConnectionOk)
	w.RateLimitOk = common.B2i(out.RateLimitOk)
	w.Compliant = common.B2i(out.Compliant)
	w.Salt = in.Salt
	codes := make([]uint64, sh.Requests)
	copy(codes, in.Requests)
	checks := make([]uint64, sh.Checks)
	copy(checks, commitment.CheckCodes(in.Checks))
	SetData(w, codes, checks)
	return w, out, nil
}

// SetData fills the pairs and the histograms of a witness from the codes of
// every request and check slot (padding included). Codes outside the tables
// get no count, so such a witness cannot satisfy the circuit.
func SetData(w *Circuit, codes, checks []uint64) {
	count := map[uint64]uint64{}
	for i := range w.Pairs {
		k := codes[2*i] + pairBase*codes[2*i+1]
		w.Pairs[i] = k
		count[k]++
	}
	for t, pr := range Table {
		w.Count[t] = count[pr.Key()]
	}
	checkCount := map[uint64]uint64{}
	for j := range w.CheckPairs {
		k := checks[2*j] + checkPairBase*checks[2*j+1]
		w.CheckPairs[j] = k
		checkCount[k]++
	}
	for u, pr := range CheckTable {
		w.CheckCount[u] = checkCount[checkKey(pr)]
	}
}

package latency

import (
	"fmt"
	"sort"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/veritee/veritee/prover/internal/commitment"
)

// Params are the public parameters of a latency claim.
type Params struct {
	PeriodStartUs uint64
	PeriodEndUs   uint64
	MinN          uint64
	Percentile    [NbSlots]uint64 // basis points, 1..10000
	Threshold     [NbSlots]uint64 // microseconds, >= 1
	Enforce       [NbSlots]bool
}

// Input is everything the prover needs.
type Input struct {
	Params
	Salt    fr.Element
	Records []commitment.Record // offsets from PeriodStartUs
}

// Outputs are the public outputs, computed natively (the plain reference).
type Outputs struct {
	Commitment fr.Element
	N          uint64
	Value      [NbSlots]uint64
	Exceeding  [NbSlots]uint64
	Compliant  bool
}

// InputError is a witness that cannot satisfy the circuit; Code is a stable
// veritee error code.
type InputError struct {
	Code string
	Msg  string
}

func (e *InputError) Error() string { return e.Msg }

func inputErr(code, format string, a ...any) error {
	return &InputError{Code: code, Msg: fmt.Sprintf(format, a...)}
}

// Validate checks the input against the circuit's ranges.
func (in *Input) Validate(capacity int) error {
	limit := uint64(1) << offsetBits
	if in.PeriodEndUs <= in.PeriodStartUs {
		return inputErr("PERIOD_INVALID", "period end %d is not after period start %d", in.PeriodEndUs, in.PeriodStartUs)
	}
	periodLen := in.PeriodEndUs - in.PeriodStartUs
	if periodLen > limit {
		return inputErr("PERIOD_INVALID", "period of %d us is longer than 2^%d us", periodLen, offsetBits)
	}
	n := len(in.Records)
	if n == 0 {
		return inputErr("INPUT_FILE_EMPTY", "no records")
	}
	if n > capacity {
		return inputErr("CLAIM_TOO_MANY_RECORDS", "%d records exceed the capacity %d", n, capacity)
	}
	if in.MinN >= 1<<MinNBits {
		return inputErr("SLA_INVALID", "minimum record count %d is too large", in.MinN)
	}
	for j := 0; j < NbSlots; j++ {
		if in.Percentile[j] < 1 || in.Percentile[j] > PercentileScale {
			return inputErr("SLA_INVALID", "percentile slot %d: %d basis points is outside 1..10000", j, in.Percentile[j])
		}
		if in.Threshold[j] < 1 || in.Threshold[j] > limit {
			return inputErr("SLA_INVALID", "threshold slot %d: %d us is outside 1..2^%d", j, in.Threshold[j], offsetBits)
		}
	}
	for i, r := range in.Records {
		if r.Start >= periodLen {
			return inputErr("RECORD_OUTSIDE_PERIOD", "record %d starts %d us after the period start, outside the %d us period", i, r.Start, periodLen)
		}
		if r.End < r.Start {
			return inputErr("RECORD_END_BEFORE_START", "record %d ends before it starts", i)
		}
		if r.End >= limit {
			return inputErr("RECORD_VALUE_TOO_LARGE", "record %d ends %d us after the period start, beyond 2^%d us", i, r.End, offsetBits)
		}
	}
	return nil
}

// Rank returns ceil(p * n / 10000).
func Rank(p, n uint64) uint64 { return (p*n + PercentileScale - 1) / PercentileScale }

// Evaluate computes the outputs natively.
func Evaluate(in *Input, capacity int) (*Outputs, []uint64, error) {
	if err := in.Validate(capacity); err != nil {
		return nil, nil, err
	}
	n := uint64(len(in.Records))
	lat := make([]uint64, len(in.Records))
	for i, r := range in.Records {
		lat[i] = r.End - r.Start
	}
	sorted := append([]uint64(nil), lat...)
	sort.Slice(sorted, func(a, b int) bool { return sorted[a] < sorted[b] })

	out := &Outputs{N: n, Compliant: n >= in.MinN}
	for j := 0; j < NbSlots; j++ {
		out.Value[j] = sorted[Rank(in.Percentile[j], n)-1]
		below := uint64(sort.Search(len(sorted), func(i int) bool { return sorted[i] >= in.Threshold[j] }))
		out.Exceeding[j] = n - below
		if in.Enforce[j] && out.Value[j] >= in.Threshold[j] {
			out.Compliant = false
		}
	}
	c, err := commitment.Latency(&commitment.LatencyInput{
		Salt: in.Salt, PeriodStartUs: in.PeriodStartUs, PeriodEndUs: in.PeriodEndUs, Records: in.Records,
	})
	if err != nil {
		return nil, nil, inputErr("RECORD_VALUE_TOO_LARGE", "%v", err)
	}
	out.Commitment = c
	return out, sorted, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Assign builds a full witness for the given capacity.
func Assign(capacity int, in *Input) (*Circuit, *Outputs, error) {
	out, sorted, err := Evaluate(in, capacity)
	if err != nil {
		return nil, nil, err
	}
	n := len(in.Records)
	w := New(capacity)
	w.Commitment = out.Commitment
	w.N = n
	w.PeriodStart = in.PeriodStartUs
	w.PeriodEnd = in.PeriodEndUs
	w.MinN = in.MinN
	w.Salt = in.Salt
	w.Compliant = b2i(out.Compliant)
	w.EnoughRecords = b2i(uint64(n) >= in.MinN)
	pad := capacity - n
	for i := 0; i < capacity; i++ {
		if i < n {
			w.Start[i], w.End[i], w.Active[i] = in.Records[i].Start, in.Records[i].End, 1
		} else {
			w.Start[i], w.End[i], w.Active[i] = 0, 0, 0
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

// Package common holds what the telemetry circuits share: for their native
// references, input errors with stable veritee codes, period and parameter
// validation and the nearest rank; in circuit, the period check; and the
// allocation of a circuit by size class.
package common

import (
	"fmt"
	"sort"

	"github.com/consensys/gnark/frontend"
)

const (
	// PeriodBits bounds the period length (microseconds), as for latency.
	PeriodBits = 42
	// PeriodStartBits bounds the period start (microseconds since the epoch).
	PeriodStartBits = 64
	// BpScale: basis points of a percent (10000 = 100 %).
	BpScale = 10000
)

// InputError is an input that cannot satisfy a circuit; Code is a stable
// veritee error code.
type InputError struct {
	Code string
	Msg  string
}

func (e *InputError) Error() string { return e.Msg }

// Errorf returns an *InputError.
func Errorf(code, format string, a ...any) error {
	return &InputError{Code: code, Msg: fmt.Sprintf(format, a...)}
}

// CheckPeriod validates a reporting period.
func CheckPeriod(start, end uint64) error {
	if end <= start {
		return Errorf("PERIOD_INVALID", "period end %d is not after period start %d", end, start)
	}
	if end-start > 1<<PeriodBits {
		return Errorf("PERIOD_INVALID", "period of %d us is longer than 2^%d us", end-start, PeriodBits)
	}
	return nil
}

// AssertPeriod is the in-circuit CheckPeriod: 1 <= end - start <= 2^PeriodBits
// and start < 2^PeriodStartBits.
func AssertPeriod(api frontend.API, rc frontend.Rangechecker, start, end frontend.Variable) {
	rc.Check(api.Sub(end, start, 1), PeriodBits)
	rc.Check(start, PeriodStartBits)
}

// NewClass allocates, with newCircuit, the circuit of a size class of the named
// circuit, or fails for a capacity that classes does not list.
func NewClass[S any, C any](name string, classes map[int]S, newCircuit func(S) C, capacity int) (C, error) {
	sh, ok := classes[capacity]
	if !ok {
		var none C
		return none, fmt.Errorf("%s: no size class %d", name, capacity)
	}
	return newCircuit(sh), nil
}

// CheckBp validates a basis-point parameter in [lo, 10000].
func CheckBp(name string, v, lo uint64) error {
	if v < lo || v > BpScale {
		return Errorf("CLAIM_PARAMS_INVALID", "%s = %d basis points is outside %d..10000", name, v, lo)
	}
	return nil
}

// Rank returns the nearest rank ceil(p * n / 10000).
func Rank(p, n uint64) uint64 { return (p*n + BpScale - 1) / BpScale }

// KthSmallest returns the k-th smallest (1-based) of values.
func KthSmallest(values []uint64, k uint64) uint64 {
	s := append([]uint64(nil), values...)
	sort.Slice(s, func(a, b int) bool { return s[a] < s[b] })
	return s[k-1]
}

// B2i maps a bool to 0/1.
func B2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

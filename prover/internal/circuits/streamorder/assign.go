package streamorder

import (
	"crypto/sha256"
	"math/big"
	"sort"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/veritee/veritee/prover/internal/circuits/common"
	"github.com/veritee/veritee/prover/internal/circuits/streamagg"
)

// readingPrefix is K·2^96, K the first 15 bytes of SHA-256(streamagg.ReadingDomain);
// tsShift is 2^32 (the packing of streamagg.ReadingDigest).
var readingPrefix, tsShift = func() (*big.Int, *big.Int) {
	d := sha256.Sum256([]byte(streamagg.ReadingDomain))
	k := new(big.Int).SetBytes(d[:15])
	return k.Lsh(k, 96), new(big.Int).Lsh(big.NewInt(1), 32)
}()

// Params are the public parameters.
type Params struct {
	WindowStartUs uint64 `json:"periodStartUs"`
	WindowEndUs   uint64 `json:"periodEndUs"`
	// PercentileBp is the percentile in basis points, 1..10000 (9500 = p95).
	PercentileBp uint64 `json:"percentileBp"`
}

// Reading is one private reading (the same as streamagg's).
type Reading = streamagg.Reading

// Input is everything the witness is built from.
type Input struct {
	Params   Params
	Readings []Reading
}

// Outputs are the public outputs.
type Outputs struct {
	Commitment fr.Element `json:"-"`
	N          uint64     `json:"n"`
	Min        uint64     `json:"min"`
	Max        uint64     `json:"max"`
	Median     uint64     `json:"median"`
	Percentile uint64     `json:"percentile"`
	TopSum     uint64     `json:"topSum"`
	BottomSum  uint64     `json:"bottomSum"`
	Distinct   uint64     `json:"distinct"`
}

// Commit is the window commitment (streamagg's: the same signed digests).
func Commit(p Params, readings []Reading) fr.Element {
	return streamagg.Commit(streamagg.Params{WindowStartUs: p.WindowStartUs, WindowEndUs: p.WindowEndUs}, readings)
}

// Sorted returns the values of readings in non-decreasing order.
func Sorted(readings []Reading) []uint64 {
	out := make([]uint64, len(readings))
	for i, r := range readings {
		out[i] = r.Value
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Compute is the plain reference: the outputs of an input (validated).
func Compute(in *Input) (*Outputs, error) {
	p := in.Params
	if err := common.CheckPeriod(p.WindowStartUs, p.WindowEndUs); err != nil {
		return nil, err
	}
	if err := common.CheckBp("percentileBp", p.PercentileBp, 1); err != nil {
		return nil, err
	}
	if len(in.Readings) == 0 {
		return nil, common.Errorf("INPUT_FILE_EMPTY", "the window has no readings")
	}
	for i, r := range in.Readings {
		if r.Value >= 1<<ValueBits {
			return nil, common.Errorf("RECORD_VALUE_TOO_LARGE", "reading %d: value %d does not fit %d bits", i+1, r.Value, ValueBits)
		}
		if r.Ts < p.WindowStartUs || r.Ts >= p.WindowEndUs {
			return nil, common.Errorf("RECORD_OUTSIDE_PERIOD", "reading %d at %d us is outside the window [%d, %d)", i+1, r.Ts, p.WindowStartUs, p.WindowEndUs)
		}
	}
	w := Sorted(in.Readings)
	n := uint64(len(w))
	out := &Outputs{N: n, Min: w[0], Max: w[n-1], Median: w[(n+1)/2-1], Percentile: w[common.Rank(p.PercentileBp, n)-1], Distinct: 1}
	m := min(uint64(TopN), n)
	for i := uint64(0); i < m; i++ {
		out.BottomSum += w[i]
		out.TopSum += w[n-1-i]
	}
	for i := uint64(1); i < n; i++ {
		if w[i] != w[i-1] {
			out.Distinct++
		}
	}
	out.Commitment = Commit(p, in.Readings)
	return out, nil
}

// Assign builds the witness of an input for a capacity.
func Assign(capacity int, in *Input) (*Circuit, *Outputs, error) {
	if len(in.Readings) > capacity {
		return nil, nil, common.Errorf("CLAIM_TOO_MANY_RECORDS", "%d readings exceed the %d-reading size class", len(in.Readings), capacity)
	}
	out, err := Compute(in)
	if err != nil {
		return nil, nil, err
	}
	p := in.Params
	w := New(capacity)
	w.Commitment, w.WindowStart, w.WindowEnd, w.PercentileBp = out.Commitment, p.WindowStartUs, p.WindowEndUs, p.PercentileBp
	w.N, w.Min, w.Max, w.Median, w.Percentile = out.N, out.Min, out.Max, out.Median, out.Percentile
	w.TopSum, w.BottomSum, w.Distinct = out.TopSum, out.BottomSum, out.Distinct
	w.MedianRank = (out.N + 1) / 2
	sorted := Sorted(in.Readings)
	for i := range w.Value {
		w.Ts[i], w.Value[i], w.Salt[i], w.Active[i], w.Sorted[i] = p.WindowStartUs, PadValue, 0, 0, PadValue
		if i < len(in.Readings) {
			r := in.Readings[i]
			w.Ts[i], w.Value[i], w.Salt[i], w.Active[i], w.Sorted[i] = r.Ts, r.Value, r.Salt, 1, sorted[i]
		}
	}
	return w, out, nil
}

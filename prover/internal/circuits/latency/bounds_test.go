package latency

import (
	"math/big"
	"sort"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
)

// resort rebuilds everything a witness derives from its records, ignoring
// every bound: latencies are End - Start in the field, read as integers in
// [0, r), the sorted copy, percentiles and threshold counts follow. Every
// constraint but the range checks then holds (the sorted copy is a
// permutation, the lookups and outputs agree), so only a range check can
// refuse a witness rebuilt by it.
func resort(w *Circuit, in *Input) {
	capacity, n := len(w.Start), len(in.Records)
	lat := make([]*big.Int, capacity)
	for i := range lat {
		var s, e, l fr.Element
		s, e = circuittest.Field(w.Start[i]), circuittest.Field(w.End[i])
		l.Sub(&e, &s)
		lat[i] = l.BigInt(new(big.Int))
	}
	sort.Slice(lat, func(a, b int) bool { return lat[a].Cmp(lat[b]) < 0 })
	for i := range lat {
		w.Sorted[i] = lat[i]
	}
	compliant := uint64(n) >= in.MinN
	for j := 0; j < NbSlots; j++ {
		v := lat[capacity-n+int(Rank(in.Percentile[j], uint64(n)))-1]
		th := new(big.Int).SetUint64(in.Threshold[j])
		below := sort.Search(capacity, func(i int) bool { return lat[i].Cmp(th) >= 0 })
		w.Value[j] = v
		w.Below[j] = below
		w.Exceeding[j] = capacity - below
		w.ValueBelow[j] = b2i(v.Cmp(th) < 0)
		if in.Enforce[j] && v.Cmp(th) >= 0 {
			compliant = false
		}
	}
	w.Compliant = b2i(compliant)
}

func minusOne() frontend.Variable {
	var e fr.Element
	e.SetInt64(-1)
	return e
}

// Every kind of bounded latency slot one past its bound is refused although
// the commitment is kept (the packed record is unchanged) and the sorted copy
// and every output are rebuilt from the tampered records.
func TestSlotPastBoundRefused(t *testing.T) {
	in := sampleInput(20, 61)

	// the control: resort reproduces the honest witness's derived values
	w := mustAssign(t, in)
	resort(w, in)
	solved(t, "control (resorted honest witness)", w)

	// an end offset one past 2^42, the next record's start one less (the same
	// packed element): that record's latency grows by 2^42
	w = mustAssign(t, in)
	circuittest.CarryPastBound(t, &w.End[3], &w.Start[4], offsetBits)
	resort(w, in)
	rejected(t, "end offset one past 2^42", w)

	// a start offset one past 2^42, its own end one less (the same record):
	// the latency goes "negative"
	w = mustAssign(t, in)
	circuittest.CarryPastBound(t, &w.Start[7], &w.End[7], offsetBits)
	resort(w, in)
	rejected(t, "start offset one past 2^42", w)

	// a padding record (2^42, -1): it packs to zero, so the zero-padding rule
	// and the commitment both hold
	w = mustAssign(t, in)
	w.Start[50], w.End[50] = frontend.Variable(uint64(1)<<offsetBits), minusOne()
	resort(w, in)
	rejected(t, "padding record (2^42, -1)", w)
}

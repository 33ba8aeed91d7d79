package streamorder

import (
	"math/rand"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/common"
	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
	"github.com/veritee/veritee/prover/internal/circuits/streamagg"
)

// A small capacity for satisfiability checks (the size classes behave alike).
const testCap = 32

var solved, rejected = circuittest.Checks(New, testCap)

const W0 = 1_763_596_800_000_000
const window = 15 * 60_000_000

func input(values []uint64, p uint64) *Input {
	in := &Input{Params: Params{WindowStartUs: W0, WindowEndUs: W0 + window, PercentileBp: p}}
	for i, v := range values {
		r := Reading{Ts: W0 + uint64(i)*window/uint64(len(values)+1), Value: v}
		r.Salt.SetUint64(uint64(7919 * (i + 1)))
		in.Readings = append(in.Readings, r)
	}
	return in
}

func assign(t *testing.T, in *Input) (*Circuit, *Outputs) {
	t.Helper()
	w, out, err := Assign(testCap, in)
	if err != nil {
		t.Fatal(err)
	}
	return w, out
}

func clone(w *Circuit) *Circuit {
	f := *w
	f.Ts = append([]frontend.Variable(nil), w.Ts...)
	f.Value = append([]frontend.Variable(nil), w.Value...)
	f.Salt = append([]frontend.Variable(nil), w.Salt...)
	f.Active = append([]frontend.Variable(nil), w.Active...)
	f.Sorted = append([]frontend.Variable(nil), w.Sorted...)
	return &f
}

// ten readings, unsorted, with ties: sorted 3 3 7 7 7 9 12 15 20 20
var ten = []uint64{7, 20, 3, 12, 7, 9, 20, 3, 15, 7}

func TestOutputs(t *testing.T) {
	w, out := assign(t, input(ten, 9000))
	// median: rank ceil(10/2) = 5 -> 7; p90: rank ceil(0.9*10) = 9 -> 20
	want := Outputs{Commitment: out.Commitment, N: 10, Min: 3, Max: 20, Median: 7, Percentile: 20, TopSum: 20 + 20 + 15 + 12 + 9, BottomSum: 3 + 3 + 7 + 7 + 7, Distinct: 6}
	if *out != want {
		t.Fatalf("outputs %+v, want %+v", out, want)
	}
	solved(t, "a window of 10", w)
	// the commitment is streamagg's over the same readings
	if c := streamagg.Commit(streamagg.Params{WindowStartUs: W0, WindowEndUs: W0 + window}, input(ten, 1).Readings); c != out.Commitment {
		t.Fatal("the window commitment differs from streamagg's")
	}
	for _, p := range []uint64{1, 5000, 8999, 9001, 10000} {
		w, _ := assign(t, input(ten, p))
		solved(t, "percentile", w)
	}
	w, out = assign(t, input([]uint64{42}, 5000))
	if out.Min != 42 || out.Max != 42 || out.Median != 42 || out.Percentile != 42 || out.TopSum != 42 || out.BottomSum != 42 || out.Distinct != 1 {
		t.Fatalf("n = 1: %+v", out)
	}
	solved(t, "one reading", w)
	w, out = assign(t, input([]uint64{5, 5, 5, 5, 5, 5, 5}, 9500))
	if out.Distinct != 1 || out.TopSum != 25 || out.Median != 5 {
		t.Fatalf("all equal: %+v", out)
	}
	solved(t, "all equal", w)
	w, out = assign(t, input([]uint64{4, 1}, 5000))
	if out.Median != 1 || out.TopSum != 5 || out.BottomSum != 5 {
		t.Fatalf("n = 2 (lower median): %+v", out)
	}
	solved(t, "two readings", w)
	full := make([]uint64, testCap)
	for i := range full {
		full[i] = uint64(i*7919) % 50
	}
	full[3] = 1<<32 - 1
	w, out = assign(t, input(full, 10000))
	if out.Max != 1<<32-1 || out.Percentile != out.Max {
		t.Fatalf("full: %+v", out)
	}
	solved(t, "full capacity, a value at 2^32 - 1", w)
}

// The Go reference against a naive one over random windows (the TypeScript
// reference is held to the same outputs by the vectors).
func TestReferenceOnRandomWindows(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	for trial := 0; trial < 300; trial++ {
		n := 1 + rng.Intn(testCap)
		vals := make([]uint64, n)
		span := []int64{1, 3, 1000, 1 << 32}[rng.Intn(4)]
		for i := range vals {
			vals[i] = uint64(rng.Int63n(span))
		}
		p := uint64(1 + rng.Intn(10000))
		_, out := assign(t, input(vals, p))
		// naive: the k-th smallest is the value with #{< v} < k <= #{<= v}
		kth := func(k int) uint64 {
			for _, v := range vals {
				lt, le := 0, 0
				for _, u := range vals {
					if u < v {
						lt++
					}
					if u <= v {
						le++
					}
				}
				if lt < k && k <= le {
					return v
				}
			}
			t.Fatal("no k-th value")
			return 0
		}
		distinct := map[uint64]bool{}
		for _, v := range vals {
			distinct[v] = true
		}
		var top, bottom uint64
		for k := 1; k <= min(TopN, n); k++ {
			bottom += kth(k)
			top += kth(n + 1 - k)
		}
		if out.Min != kth(1) || out.Max != kth(n) || out.Median != kth((n+1)/2) || out.Percentile != kth(int(common.Rank(p, uint64(n)))) ||
			out.TopSum != top || out.BottomSum != bottom || out.Distinct != uint64(len(distinct)) {
			t.Fatalf("trial %d (%v, p %d): %+v", trial, vals, p, out)
		}
		if trial%50 == 0 {
			w, _ := assign(t, input(vals, p))
			solved(t, "a random window", w)
		}
	}
}

func TestWrongOutputsAreRejected(t *testing.T) {
	w, _ := assign(t, input(ten, 9000))
	for name, f := range map[string]func(c *Circuit){
		"min + 1":              func(c *Circuit) { c.Min = 4 },
		"max - 1":              func(c *Circuit) { c.Max = 19 },
		"max: the second one":  func(c *Circuit) { c.Max = 15 },
		"median: rank + 1":     func(c *Circuit) { c.Median = 9 },
		"median: the minimum":  func(c *Circuit) { c.Median = 3 },
		"percentile: rank - 1": func(c *Circuit) { c.Percentile = 15 },
		"top sum - 1":          func(c *Circuit) { c.TopSum = 75 },
		"bottom sum + 1":       func(c *Circuit) { c.BottomSum = 28 },
		"distinct + 1":         func(c *Circuit) { c.Distinct = 7 },
		"distinct - 1":         func(c *Circuit) { c.Distinct = 5 },
		"percentile moved":     func(c *Circuit) { c.PercentileBp = 7000 },
		"percentile 0":         func(c *Circuit) { c.PercentileBp = 0 },
		"percentile 10001":     func(c *Circuit) { c.PercentileBp = 10001 },
		"window moved":         func(c *Circuit) { c.WindowEnd = W0 + window + 1 },
		"n - 1, same readings": func(c *Circuit) { c.N = 9 },
	} {
		c := clone(w)
		f(c)
		rejected(t, name, c)
	}
}

// max and topSum are selected as one packed value topSum + 2^35·max: moving a
// unit between them keeps the packed value, so only their range checks refuse.
func TestMaxAndTopSumCannotTrade(t *testing.T) {
	w, out := assign(t, input(ten, 9000))
	f := clone(w)
	f.Max, f.TopSum = out.Max-1, out.TopSum+1<<topSumBits
	rejected(t, "max - 1, topSum + 2^35", f)
	f = clone(w)
	var inv, m fr.Element
	inv.SetBigInt(topShift)
	inv.Inverse(&inv)
	m.SetUint64(out.Max)
	m.Add(&m, &inv)
	f.Max, f.TopSum = m, out.TopSum-1
	rejected(t, "max + 1/2^35, topSum - 1", f)
}

// Median and percentile ranks off by one, on a window of distinct values so
// that a neighbouring rank has another value: n = 6 (values 10..60), the lower
// median is w_3 = 30 (w_4 = 40 is the upper median); p = 5001 gives rank
// ceil(3.0006) = 4, so 40 (30 is rank 3: floor instead of ceil).
func TestRankOffByOneIsRejected(t *testing.T) {
	vals := []uint64{60, 10, 50, 20, 40, 30}
	w, out := assign(t, input(vals, 5001))
	if out.Median != 30 || out.Percentile != 40 {
		t.Fatalf("outputs %+v", out)
	}
	solved(t, "n = 6", w)
	for name, f := range map[string]func(c *Circuit){
		"upper median, rank kept":  func(c *Circuit) { c.Median = 40 },
		"median w_2, rank kept":    func(c *Circuit) { c.Median = 20 },
		"percentile floor rank":    func(c *Circuit) { c.Percentile = 30 },
		"percentile rank + 1":      func(c *Circuit) { c.Percentile = 50 },
		"median read from padding": func(c *Circuit) { c.Median = uint64(PadValue) },
		"median rank + 1 (upper)":  func(c *Circuit) { c.MedianRank, c.Median = uint64(4), uint64(40) },
		"median rank - 1 (w_2)":    func(c *Circuit) { c.MedianRank, c.Median = uint64(2), uint64(20) },
	} {
		c := clone(w)
		f(c)
		rejected(t, name, c)
	}
}

// A sorted sequence that is not a permutation of the committed values, the
// outputs consistent with it: each is sorted, bounded and zero-padded, so only
// the permutation argument refuses it.
func TestSortedSequenceMustBeAPermutation(t *testing.T) {
	in := input(ten, 9000)
	w, out := assign(t, in)
	// 3 3 7 7 7 9 12 15 20 20 -> the top value raised to 21
	replaced := func(c *Circuit) {
		c.Sorted[9] = uint64(21)
		c.Max, c.TopSum, c.Distinct = 21, out.TopSum+1, out.Distinct+1
	}
	for name, f := range map[string]func(c *Circuit){
		"a value replaced": replaced,
		// the single 9 replaced by a second 12: distinct - 1
		"a value duplicated": func(c *Circuit) { c.Sorted[5] = uint64(12); c.Distinct = out.Distinct - 1; c.TopSum = out.TopSum + 3 },
		// a 3 dropped for a 0: min 0
		"a value dropped for a zero": func(c *Circuit) {
			c.Sorted[0] = uint64(0)
			c.Min, c.BottomSum, c.Distinct = 0, out.BottomSum-3, out.Distinct+1
		},
	} {
		c := clone(w)
		f(c)
		rejected(t, name, c)
	}
	// the replaced forgery is otherwise consistent: it solves once the committed
	// reading is changed to match, so it is the permutation argument (not
	// another check) that refuses it above
	f := clone(w)
	replaced(f)
	in.Readings[1].Value = 21 // one of the 20s
	f.Value[1], f.Commitment = uint64(21), Commit(in.Params, in.Readings)
	solved(t, "the replaced value under its own commitment", f)
}

// A permutation that is not sorted, the outputs read from it as if it were:
// only the sortedness check refuses it.
func TestUnsortedPermutationIsRejected(t *testing.T) {
	w, out := assign(t, input(ten, 9000))
	f := clone(w)
	// 3 3 7 7 9 7 12 15 20 20: the median (rank 5) read as 9
	f.Sorted[4], f.Sorted[5] = w.Sorted[5], w.Sorted[4]
	f.Median = 9
	rejected(t, "two values out of order (median 9)", f)
	f = clone(w)
	// 20 3 7 ... 20 3: min and bottom sum read as 20
	f.Sorted[0], f.Sorted[9] = w.Sorted[9], w.Sorted[0]
	f.Min, f.Max, f.BottomSum, f.TopSum, f.Distinct = 20, 3, out.BottomSum+17, out.TopSum-17, out.Distinct+2
	rejected(t, "the extremes swapped", f)
}

// Two multisets mixed in one argument: the readings and the padding. Over all
// slots {values} = {sorted} still holds when a padding slot of the values holds
// a small value instead of the padding value (2^32 - 1): sorted, it becomes the
// minimum. The padding constraint on the values refuses it.
func TestReadingsAndPaddingDoNotMix(t *testing.T) {
	w, out := assign(t, input(ten, 9000))
	f := clone(w)
	f.Value[20] = uint64(0)
	// sorted: 0 3 3 7 7 7 9 12 15 20 | 20 M M ...
	copy(f.Sorted[1:11], w.Sorted[0:10])
	f.Sorted[0] = uint64(0)
	f.Min, f.BottomSum, f.Distinct = 0, 0+3+3+7+7, out.Distinct+1
	f.Median, f.Percentile, f.TopSum = uint64(7), uint64(15), uint64(20+15+12+9+7)
	rejected(t, "a zero in a padding slot of the values", f)
}

// A slot past n counted: a padding slot given a reading's value (the sorted
// array and outputs made to match) is refused whether it stays inactive or is
// switched on without raising n.
func TestSlotPastNIsNotCounted(t *testing.T) {
	w, out := assign(t, input(ten, 9000))
	f := clone(w)
	f.Value[20] = uint64(99)
	copy(f.Sorted[:10], w.Sorted[:10])
	f.Sorted[10] = uint64(99)
	rejected(t, "an inactive slot holding a value", f)
	f = clone(w)
	f.Value[10], f.Ts[10], f.Active[10], f.Sorted[10] = uint64(99), uint64(W0+1), 1, uint64(99)
	f.Max, f.TopSum, f.Distinct = 99, out.TopSum-9+99, out.Distinct+1
	rejected(t, "slot n switched on without raising n", f)
}

// Padding cannot move an output: counted as a reading (n + 1), a padding slot
// would be the new maximum (2^32 - 1); dropping the last reading would move
// the median. Both break the commitment.
func TestPaddingCannotMoveAnOutput(t *testing.T) {
	w, out := assign(t, input(ten, 5000))
	f := clone(w)
	f.Active[10], f.N = 1, 11
	// sorted unchanged: 3 3 7 7 7 9 12 15 20 20 M | M ...
	f.Max, f.TopSum, f.Distinct = uint64(PadValue), uint64(PadValue+20+20+15+12), out.Distinct+1
	f.Median, f.Percentile = uint64(9), uint64(9)
	rejected(t, "a padding slot counted (n + 1, max 2^32 - 1)", f)
	// the last committed reading (7) dropped
	f = clone(w)
	f.Active[9], f.Value[9], f.Ts[9], f.Salt[9], f.N = 0, uint64(PadValue), uint64(W0), 0, 9
	sorted := []uint64{3, 3, 7, 7, 9, 12, 15, 20, 20}
	for i := range f.Sorted {
		f.Sorted[i] = uint64(PadValue)
		if i < len(sorted) {
			f.Sorted[i] = sorted[i]
		}
	}
	f.Median, f.Percentile, f.BottomSum = uint64(9), uint64(9), uint64(3+3+7+7+9)
	rejected(t, "the last committed reading dropped", f)
}

// A value at or past 2^32, with a matching commitment and sorted array, and a
// value carried into the timestamp (same digest as the signed reading): the
// bound on the sorted array (min, increments, max) refuses both.
func TestValuePastItsBoundIsRejected(t *testing.T) {
	in := input([]uint64{1, 2, 3, 4}, 5000)
	in.Readings[1].Ts = W0 + 1000
	w, out := assign(t, in)
	in.Readings[3].Value = 1 << 32
	f := clone(w)
	f.Value[3], f.Sorted[3] = uint64(1<<32), uint64(1<<32)
	f.Commitment = Commit(in.Params, in.Readings)
	f.Max, f.TopSum, f.BottomSum = uint64(1<<32), out.TopSum-4+1<<32, out.BottomSum-4+1<<32
	rejected(t, "a value of 2^32", f)
	// at full capacity (no padding after the largest value)
	full := make([]uint64, testCap)
	for i := range full {
		full[i] = uint64(i)
	}
	in = input(full, 5000)
	w, out = assign(t, in)
	in.Readings[testCap-1].Value = 1 << 32
	f = clone(w)
	f.Value[testCap-1], f.Sorted[testCap-1] = uint64(1<<32), uint64(1<<32)
	f.Commitment = Commit(in.Params, in.Readings)
	f.Max, f.TopSum = uint64(1<<32), out.TopSum-(testCap-1)+1<<32
	rejected(t, "a value of 2^32 at full capacity", f)
	in = input([]uint64{1, 2, 3, 4}, 5000)
	in.Readings[1].Ts = W0 + 1000
	w, out = assign(t, in)

	if got := streamagg.ReadingDigest(Reading{Ts: W0 + 999, Value: 2 + 1<<32, Salt: in.Readings[1].Salt}); got != streamagg.ReadingDigest(in.Readings[1]) {
		t.Fatal("the packing was expected to collide outside its ranges")
	}
	f = clone(w)
	f.Ts[1], f.Value[1] = uint64(W0+999), uint64(2+1<<32)
	f.Sorted[1], f.Sorted[2], f.Sorted[3] = uint64(3), uint64(4), uint64(2+1<<32)
	f.Max, f.TopSum, f.BottomSum, f.Median = uint64(2+1<<32), out.TopSum+1<<32, out.BottomSum+1<<32, 3
	rejected(t, "a value of 2^32 + v with ts - 1 (same digest)", f)
	// the same value sorted last, after the padding (2^32 - 1): every increment
	// is small, only the bound on the last sorted slot refuses it
	f = clone(w)
	f.Ts[1], f.Value[1] = uint64(W0+999), uint64(2+1<<32)
	f.Sorted[1], f.Sorted[2], f.Sorted[3], f.Sorted[testCap-1] = uint64(3), uint64(4), uint64(PadValue), uint64(2+1<<32)
	f.Max, f.Median, f.Percentile = uint64(PadValue), uint64(3), uint64(3)
	f.TopSum, f.BottomSum, f.Distinct = uint64(1+3+4+PadValue), uint64(1+3+4+PadValue), uint64(5)
	rejected(t, "a value of 2^32 + v sorted after the padding", f)
	// wrapped: the signed (ts, 2^32 - 1) read as (ts + 1, -1), the field
	// element p - 1, which packs to the same digest; sorted first it would be
	// the minimum
	in = input([]uint64{1<<32 - 1, 2, 3, 4}, 5000)
	in.Readings[0].Ts = W0 + 1000
	w, _ = assign(t, in)
	var minus fr.Element
	minus.SetInt64(-1)
	packed := func(ts uint64, v fr.Element) fr.Element {
		var e, s fr.Element
		e.SetBigInt(readingPrefix)
		s.SetUint64(ts)
		s.Mul(&s, new(fr.Element).SetBigInt(tsShift))
		e.Add(&e, &s)
		return *e.Add(&e, &v)
	}
	if a, b := packed(W0+1000, *new(fr.Element).SetUint64(1<<32 - 1)), packed(W0+1001, minus); a != b {
		t.Fatal("the packing was expected to collide for a wrapped value")
	}
	f = clone(w)
	f.Ts[0], f.Value[0] = uint64(W0+1001), minus
	f.Sorted[0], f.Sorted[1], f.Sorted[2], f.Sorted[3] = minus, uint64(2), uint64(3), uint64(4)
	var sum fr.Element
	sum.SetUint64(9)
	sum.Add(&sum, &minus)
	f.Min, f.Max, f.Median, f.Percentile, f.TopSum, f.BottomSum = minus, uint64(4), uint64(2), uint64(2), sum, sum
	rejected(t, "a value of -1 (p - 1) with ts + 1 (same digest)", f)
}

// A reading swapped after commitment (the outputs and sorted array made to
// match) and a reading outside the window under its own commitment.
func TestReadingsAreBoundToTheCommitment(t *testing.T) {
	in := input(ten, 9000)
	w, _ := assign(t, in)
	in.Readings[1].Value = 30
	w2, _ := assign(t, in)
	f := clone(w2)
	f.Commitment = w.Commitment
	rejected(t, "a value raised after signing", f)
	for _, ts := range []uint64{W0 - 1, W0 + window} {
		in := input(ten, 9000)
		w, _ := assign(t, in)
		in.Readings[5].Ts = ts
		f := clone(w)
		f.Ts[5] = ts
		f.Commitment = Commit(in.Params, in.Readings)
		rejected(t, "a reading outside the window", f)
	}
}

func TestInputErrorsCarryCodes(t *testing.T) {
	code := func(err error) string {
		if ie, ok := err.(*common.InputError); ok {
			return ie.Code
		}
		return ""
	}
	big := input([]uint64{1, 1 << 32}, 5000)
	early := input([]uint64{1, 2}, 5000)
	early.Readings[0].Ts = W0 - 1
	cases := map[string]struct {
		in   *Input
		want string
	}{
		"empty":            {input(nil, 5000), "INPUT_FILE_EMPTY"},
		"outside":          {early, "RECORD_OUTSIDE_PERIOD"},
		"value":            {big, "RECORD_VALUE_TOO_LARGE"},
		"percentile 0":     {input([]uint64{1}, 0), "CLAIM_PARAMS_INVALID"},
		"percentile 10001": {input([]uint64{1}, 10001), "CLAIM_PARAMS_INVALID"},
		"window":           {&Input{Params: Params{W0, W0, 5000}, Readings: []Reading{{Ts: W0}}}, "PERIOD_INVALID"},
		"too many records": {input(make([]uint64, testCap+1), 5000), "CLAIM_TOO_MANY_RECORDS"},
	}
	for name, c := range cases {
		if _, _, err := Assign(testCap, c.in); code(err) != c.want {
			t.Errorf("%s: got %v, want %s", name, err, c.want)
		}
	}
}

// A real Groth16 round trip at the smallest size class.
func TestGroth16RoundTrip(t *testing.T) {
	vals := make([]uint64, 180)
	rng := rand.New(rand.NewSource(9))
	for i := range vals {
		vals[i] = uint64(rng.Int63n(3_000_000))
	}
	w, _, err := Assign(256, input(vals, 9500))
	if err != nil {
		t.Fatal(err)
	}
	circuittest.Groth16RoundTrip(t, New(256), w, map[string]func(*Circuit){
		"a changed median":     func(c *Circuit) { c.Median = circuittest.ToU(c.Median) + 1 },
		"a changed percentile": func(c *Circuit) { c.Percentile = circuittest.ToU(c.Percentile) - 1 },
		"a changed max":        func(c *Circuit) { c.Max = circuittest.ToU(c.Max) + 1 },
		"another percentile":   func(c *Circuit) { c.PercentileBp = circuittest.ToU(c.PercentileBp) - 1 },
		"another commitment":   func(c *Circuit) { var e fr.Element; e.SetUint64(7); c.Commitment = e },
	})
}

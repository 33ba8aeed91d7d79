package streamagg

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/common"
	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
)

// A small capacity for satisfiability checks (the size classes behave alike).
const testCap = 48

var solved, rejected = circuittest.Checks(New, testCap)

const W0 = 1_763_596_800_000_000
const window = 15 * 60_000_000

func input(n int, threshold uint64) *Input {
	in := &Input{Params: Params{WindowStartUs: W0, WindowEndUs: W0 + window, Threshold: threshold}}
	for i := 0; i < n; i++ {
		r := Reading{Ts: W0 + uint64(i)*window/uint64(n+1), Value: uint64(1000 + 37*i)}
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
	return &f
}

func TestOutputs(t *testing.T) {
	// values 1000, 1037, ..., 1000 + 37*9: sum 11665, mean 1166 (rounded down), 4 above 1200 (strict)
	w, out := assign(t, input(10, 1185))
	if out.N != 10 || out.Sum != 11665 || out.Mean != 1166 || out.Above != 4 {
		t.Fatalf("outputs %+v", out)
	}
	solved(t, "a window of 10", w)
	// a value exactly at the threshold (1185) is not above it
	w, out = assign(t, input(10, 1184))
	if out.Above != 5 {
		t.Fatalf("above %d", out.Above)
	}
	solved(t, "threshold just below a value", w)
	w, _ = assign(t, input(1, 0))
	solved(t, "one reading", w)
	w, _ = assign(t, input(testCap, 1500))
	solved(t, "full capacity", w)
}

func TestWrongOutputsAreRejected(t *testing.T) {
	w, _ := assign(t, input(10, 1185))
	for name, f := range map[string]func(c *Circuit){
		"sum + 1":              func(c *Circuit) { c.Sum = 11666 },
		"mean + 1":             func(c *Circuit) { c.Mean = 1167 },
		"mean - 1":             func(c *Circuit) { c.Mean = 1165 },
		"above + 1":            func(c *Circuit) { c.Above = 5 },
		"above - 1":            func(c *Circuit) { c.Above = 3 },
		"threshold moved":      func(c *Circuit) { c.Threshold = 1100 },
		"window moved":         func(c *Circuit) { c.WindowEnd = W0 + window + 1 },
		"n - 1, same readings": func(c *Circuit) { c.N = 9 },
	} {
		c := clone(w)
		f(c)
		rejected(t, name, c)
	}
}

// A slot past n counted: a padding slot given a value above the threshold (sum
// and count raised to match) is refused whether it stays inactive or is
// switched on without raising n.
func TestSlotPastNIsNotCounted(t *testing.T) {
	w, out := assign(t, input(10, 1185))
	f := clone(w)
	f.Value[20] = 5000
	f.Sum, f.Above = out.Sum+5000, out.Above+1
	f.Mean = (out.Sum + 5000) / 10
	rejected(t, "an inactive slot with a value counted", f)
	f = clone(w)
	f.Value[10], f.Ts[10], f.Active[10] = 5000, W0+1, 1
	f.Sum, f.Above = out.Sum+5000, out.Above+1
	f.Mean = (out.Sum + 5000) / 10
	rejected(t, "slot n switched on without raising n", f)
}

// Padding cannot move an output: a padding slot counted as a reading (n + 1,
// so a lower mean) breaks the commitment; so does dropping the last reading.
func TestPaddingCannotMoveAnOutput(t *testing.T) {
	w, out := assign(t, input(10, 1185))
	f := clone(w)
	f.Active[10], f.N = 1, 11
	f.Mean = out.Sum / 11
	rejected(t, "a zero padding slot counted (n + 1, mean down)", f)
	f = clone(w)
	f.Active[9], f.Value[9], f.Ts[9], f.Salt[9] = 0, 0, 0, 0
	f.N, f.Sum = 9, out.Sum-(1000+37*9)
	f.Mean, f.Above = f.Sum.(uint64)/9, out.Above-1
	rejected(t, "the last committed reading dropped", f)
}

// A reading swapped after commitment: its value (or salt) changed, outputs
// made consistent, the commitment left as signed.
func TestReadingSwappedAfterCommitmentIsRejected(t *testing.T) {
	in := input(10, 1185)
	w, out := assign(t, in)
	f := clone(w)
	f.Value[2] = uint64(1074 + 500)
	f.Sum, f.Mean, f.Above = out.Sum+500, (out.Sum+500)/10, out.Above+1
	rejected(t, "a value raised after signing", f)
	// the same outputs computed honestly for the swapped reading do solve with
	// the commitment of the swapped data, so it is the commitment that refuses
	in.Readings[2].Value += 500
	w2, _ := assign(t, in)
	f.Commitment = w2.Commitment
	solved(t, "the swapped reading under its own commitment", f)
	f = clone(w)
	var s fr.Element
	s.SetUint64(1)
	f.Salt[4] = s
	rejected(t, "a salt swapped", f)
	f = clone(w)
	f.Value[1], f.Value[2] = w.Value[2], w.Value[1]
	rejected(t, "two readings' values swapped (same outputs)", f)
}

// A reading outside the window is refused even with a matching commitment.
func TestReadingOutsideTheWindowIsRejected(t *testing.T) {
	for _, ts := range []uint64{W0 - 1, W0 + window} {
		in := input(10, 1185)
		w, _ := assign(t, in)
		f := clone(w)
		in.Readings[5].Ts = ts
		f.Ts[5] = ts
		f.Commitment = Commit(in.Params, in.Readings)
		rejected(t, "a reading outside the window", f)
	}
}

// A value past 2^32 (which could wrap a sum in a smaller field or hide a
// negative number) is refused even with a matching commitment.
func TestValuePastItsBoundIsRejected(t *testing.T) {
	in := input(4, 10)
	w, out := assign(t, in)
	f := clone(w)
	in.Readings[0].Value = 1 << 32
	f.Value[0] = uint64(1 << 32)
	f.Commitment = Commit(in.Params, in.Readings)
	f.Sum = out.Sum - 1000 + 1<<32
	f.Mean = f.Sum.(uint64) / 4
	rejected(t, "a value of 2^32", f)
}

// A value carried into the timestamp: (ts, 2^32 + v) packs to the same digest as
// the signed (ts + 1, v), so the commitment stays as signed and only the 32-bit
// range check refuses the inflated value.
func TestValueCarriedIntoTheTimestampIsRejected(t *testing.T) {
	in := input(4, 10)
	in.Readings[1].Ts = W0 + 1000
	w, out := assign(t, in)
	if got := ReadingDigest(Reading{Ts: W0 + 999, Value: in.Readings[1].Value + 1<<32, Salt: in.Readings[1].Salt}); got != ReadingDigest(in.Readings[1]) {
		t.Fatal("the packing was expected to collide outside its ranges")
	}
	f := clone(w)
	f.Ts[1], f.Value[1] = uint64(W0+999), in.Readings[1].Value+1<<32
	f.Sum = out.Sum + 1<<32
	f.Mean, f.Above = f.Sum.(uint64)/4, out.Above
	rejected(t, "a value of 2^32 + v with ts - 1 (same digest)", f)
}

func TestInputErrorsCarryCodes(t *testing.T) {
	code := func(err error) string {
		if ie, ok := err.(*common.InputError); ok {
			return ie.Code
		}
		return ""
	}
	big := input(2, 1)
	big.Readings[1].Value = 1 << 32
	early := input(2, 1)
	early.Readings[0].Ts = W0 - 1
	cases := map[string]struct {
		in   *Input
		want string
	}{
		"empty":            {input(0, 1), "INPUT_FILE_EMPTY"},
		"outside":          {early, "RECORD_OUTSIDE_PERIOD"},
		"value":            {big, "RECORD_VALUE_TOO_LARGE"},
		"threshold":        {&Input{Params: Params{W0, W0 + 10, 1 << 32}, Readings: []Reading{{Ts: W0}}}, "CLAIM_PARAMS_INVALID"},
		"window":           {&Input{Params: Params{W0, W0, 1}, Readings: []Reading{{Ts: W0}}}, "PERIOD_INVALID"},
		"too many records": {input(testCap+1, 1), "CLAIM_TOO_MANY_RECORDS"},
	}
	for name, c := range cases {
		if _, _, err := Assign(testCap, c.in); code(err) != c.want {
			t.Errorf("%s: got %v, want %s", name, err, c.want)
		}
	}
}

// A real Groth16 round trip at the smallest size class.
func TestGroth16RoundTrip(t *testing.T) {
	in := input(180, 1500)
	w, _, err := Assign(256, in)
	if err != nil {
		t.Fatal(err)
	}
	circuittest.Groth16RoundTrip(t, New(256), w, map[string]func(*Circuit){
		"a changed sum":      func(c *Circuit) { c.Sum = circuittest.ToU(c.Sum) + 1 },
		"a changed mean":     func(c *Circuit) { c.Mean = circuittest.ToU(c.Mean) - 1 },
		"a changed count":    func(c *Circuit) { c.Above = circuittest.ToU(c.Above) + 1 },
		"another threshold":  func(c *Circuit) { c.Threshold = circuittest.ToU(c.Threshold) + 1 },
		"another commitment": func(c *Circuit) { var e fr.Element; e.SetUint64(7); c.Commitment = e },
	})
}

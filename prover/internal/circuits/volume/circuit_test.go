package volume

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/common"
	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
)

// A small capacity for satisfiability checks (the size classes behave alike).
const testCap = 64

var solved, rejected = circuittest.Checks(New, testCap)

const P0 = 1_763_596_800_000_000

func input(n int, periodUs, threshold uint64) *Input {
	in := &Input{Params: Params{PeriodStartUs: P0, PeriodEndUs: P0 + periodUs, ThresholdPerMin: threshold}}
	in.Salt.SetUint64(424242)
	for i := 0; i < n; i++ {
		in.Times = append(in.Times, uint64(i)*periodUs/uint64(n)+uint64(i%7))
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

func TestOutputsAndDecisionBothWays(t *testing.T) {
	// 40 requests in 2 minutes: 20 per minute.
	w, out := assign(t, input(40, 2*UsPerMin, 19))
	if out.N != 40 || out.RatePerMin != 20 || !out.ScaleOut {
		t.Fatalf("outputs %+v", out)
	}
	solved(t, "rate above the threshold", w)
	// exactly at the threshold: no scale-out (strict), and the claim of one is refused
	w, out = assign(t, input(40, 2*UsPerMin, 20))
	if out.ScaleOut {
		t.Fatal("20/min is not above 20/min")
	}
	solved(t, "rate at the threshold", w)
	f := *w
	f.ScaleOut = 1
	rejected(t, "scale-out claimed at the threshold", &f)
	w, _ = assign(t, input(40, 2*UsPerMin, 19))
	f = *w
	f.ScaleOut = 0
	rejected(t, "scale-out denied above the threshold", &f)
	f = *w
	f.RatePerMin = 21
	rejected(t, "rate + 1", &f)
	f = *w
	f.RatePerMin = 19
	rejected(t, "rate - 1", &f)
	f = *w
	f.ThresholdPerMin = 25
	rejected(t, "threshold changed after the fact", &f)
	// a whole capacity of requests
	w, _ = assign(t, input(testCap, 7*UsPerMin+13, 3))
	solved(t, "full capacity", w)
}

// A slot past its bound: one unit carried from the next slot of the same packed
// element leaves every packed element, so the commitment, unchanged; only the
// 42-bit range check refuses it.
func TestSlotPastItsBoundIsRejected(t *testing.T) {
	w, _ := assign(t, input(20, 3*UsPerMin, 5))
	f := *w
	f.Times = append([]frontend.Variable(nil), w.Times...)
	circuittest.CarryPastBound(t, &f.Times[2], &f.Times[3], TimeBits)
	rejected(t, "slot 2 past 2^42 (commitment unchanged)", &f)
}

// A time at or after the period's end is refused even with a matching commitment.
func TestTimeOutsideThePeriodIsRejected(t *testing.T) {
	in := input(10, UsPerMin, 5)
	w, _ := assign(t, in)
	f := *w
	f.Times = append([]frontend.Variable(nil), w.Times...)
	times := append([]uint64(nil), in.Times...)
	times[9] = UsPerMin // == period length
	f.Times[9] = times[9]
	c, err := Commit(in.Salt, in.Params, times)
	if err != nil {
		t.Fatal(err)
	}
	f.Commitment = c
	rejected(t, "a request at the period's end", &f)
}

// Padding cannot move an output: activating a zero padding slot (n + 1, so a
// higher rate) breaks the commitment, and a padding slot cannot hold a value.
func TestPaddingCannotMoveAnOutput(t *testing.T) {
	in := input(30, UsPerMin, 29)
	w, out := assign(t, in)
	if !out.ScaleOut || out.RatePerMin != 30 {
		t.Fatalf("outputs %+v", out)
	}
	f := *w
	f.Active = append([]frontend.Variable(nil), w.Active...)
	f.Active[30] = 1
	f.N = 31
	f.RatePerMin = 31
	rejected(t, "a padding slot counted as a request (n + 1)", &f)
	f = *w
	f.Times = append([]frontend.Variable(nil), w.Times...)
	f.Times[40] = 5
	rejected(t, "a non-zero padding slot", &f)
	// and fewer requests than committed: dropping the last one
	f = *w
	f.Active = append([]frontend.Variable(nil), w.Active...)
	f.Times = append([]frontend.Variable(nil), w.Times...)
	f.Active[29], f.Times[29] = 0, 0
	f.N, f.RatePerMin, f.ScaleOut = 29, 29, 0
	rejected(t, "a committed request dropped (n - 1, no scale-out)", &f)
}

func TestInputErrorsCarryCodes(t *testing.T) {
	code := func(err error) string {
		if ie, ok := err.(*common.InputError); ok {
			return ie.Code
		}
		return ""
	}
	cases := map[string]struct {
		in   *Input
		want string
	}{
		"empty":            {input(0, UsPerMin, 1), "INPUT_FILE_EMPTY"},
		"outside":          {&Input{Params: Params{P0, P0 + 10, 1}, Times: []uint64{10}}, "RECORD_OUTSIDE_PERIOD"},
		"threshold":        {&Input{Params: Params{P0, P0 + 10, 1 << 32}, Times: []uint64{1}}, "CLAIM_PARAMS_INVALID"},
		"period":           {&Input{Params: Params{P0, P0, 1}, Times: []uint64{1}}, "PERIOD_INVALID"},
		"too many records": {input(testCap+1, UsPerMin, 1), "CLAIM_TOO_MANY_RECORDS"},
	}
	for name, c := range cases {
		if _, _, err := Assign(testCap, c.in); code(err) != c.want {
			t.Errorf("%s: got %v, want %s", name, err, c.want)
		}
	}
}

// A real Groth16 round trip at the smallest size class.
func TestGroth16RoundTrip(t *testing.T) {
	in := input(700, 10*UsPerMin, 60)
	w, _, err := Assign(1024, in)
	if err != nil {
		t.Fatal(err)
	}
	circuittest.Groth16RoundTrip(t, New(1024), w, map[string]func(*Circuit){
		"a flipped decision":  func(c *Circuit) { c.ScaleOut = 1 - circuittest.ToU(c.ScaleOut) },
		"a changed rate":      func(c *Circuit) { c.RatePerMin = circuittest.ToU(c.RatePerMin) + 1 },
		"a changed threshold": func(c *Circuit) { c.ThresholdPerMin = circuittest.ToU(c.ThresholdPerMin) + 1 },
		"another count":       func(c *Circuit) { c.N = circuittest.ToU(c.N) - 1 },
		"another commitment":  func(c *Circuit) { var e fr.Element; e.SetUint64(7); c.Commitment = e },
	})
}

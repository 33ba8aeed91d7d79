package gateway

import (
	"math/rand"
	"testing"

	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
	"github.com/veritee/veritee/prover/internal/commitment"
)

// Big enough for several sponge blocks of requests (750 each) and of checks (1890 each).
var testShape = Shape{Requests: 2048, Checks: 2048}

type mix struct {
	fiveXX, fourXX, connFail, limited int // counts among n
}

// sampleInput: n requests, mostly 2xx with the given numbers of 5xx, 4xx,
// connection failures and rate-limited requests; nChecks checks of which failed fail.
func sampleInput(n int, m mix, nChecks, failed int, seed int64) *Input {
	rng := rand.New(rand.NewSource(seed))
	in := &Input{Params: Params{
		PeriodStartUs: 1_763_596_800_000_000, PeriodEndUs: 1_763_596_800_000_000 + 3_600_000_000,
		Max5xxBp: 10, MinAvailabilityBp: 9900, MinConnectionBp: 9950, MaxRateLimited: 0,
	}}
	in.Salt.SetUint64(0x6A7E)
	for i := 0; i < n; i++ {
		class := 2 + rng.Intn(2) // 2xx or 3xx
		conn, rl := true, false
		switch {
		case i < m.fiveXX:
			class = 5
		case i < m.fiveXX+m.fourXX:
			class = 4
		case i < m.fiveXX+m.fourXX+m.connFail:
			class, conn = 0, false
		case i < m.fiveXX+m.fourXX+m.connFail+m.limited:
			class, rl = 4, true
		}
		in.Requests = append(in.Requests, commitment.RequestCode(class, conn, rl))
	}
	rng.Shuffle(n, func(a, b int) { in.Requests[a], in.Requests[b] = in.Requests[b], in.Requests[a] })
	for j := 0; j < nChecks; j++ {
		in.Checks = append(in.Checks, j >= failed)
	}
	return in
}

var (
	mustAssign       = circuittest.MustAssign(Assign, testShape)
	solved, rejected = circuittest.Checks(New, testShape)
	toU              = circuittest.ToU
)

func TestValidWitnesses(t *testing.T) {
	cases := []struct {
		name        string
		n           int
		m           mix
		nChecks, nf int
		compliant   bool
	}{
		{"healthy", 2000, mix{fiveXX: 1, fourXX: 40, connFail: 3}, 300, 2, true},
		{"too many 5xx", 1500, mix{fiveXX: 3}, 100, 0, false},
		{"backend down", 800, mix{}, 100, 5, false},
		{"connections failing", 1000, mix{connFail: 6}, 100, 0, false},
		{"rate limited", 1000, mix{limited: 1}, 100, 0, false},
		{"one request", 1, mix{}, 1, 0, true},
		{"full capacity", testShape.Requests, mix{fourXX: 100}, testShape.Checks, 0, true},
		{"no health checks", 700, mix{}, 0, 0, false},
	}
	for _, c := range cases {
		w, out := mustAssign(t, sampleInput(c.n, c.m, c.nChecks, c.nf, int64(c.n)))
		if out.Compliant != c.compliant {
			t.Fatalf("%s: %+v", c.name, out)
		}
		solved(t, c.name, w)
	}
}

func TestThresholdEdges(t *testing.T) {
	// 2 of 2000 = exactly 0.1 %: not below the limit; 1 of 2000 is
	in := sampleInput(2000, mix{fiveXX: 2}, 100, 0, 1)
	w, out := mustAssign(t, in)
	if out.ErrorRateOk || out.Compliant {
		t.Fatalf("5xx at exactly 0.1 %%: %+v", out)
	}
	solved(t, "5xx at 0.1 %", w)
	w.ErrorRateOk, w.Compliant = 1, 1
	rejected(t, "5xx at 0.1 % claimed compliant", w)
	if _, out = mustAssign(t, sampleInput(2000, mix{fiveXX: 1}, 100, 0, 1)); !out.ErrorRateOk {
		t.Fatal("0.05 % 5xx rejected")
	}

	// 99 of 100 checks = exactly 99 %: not above
	w, out = mustAssign(t, sampleInput(1000, mix{}, 100, 1, 2))
	if out.AvailabilityOk {
		t.Fatal("availability at exactly 99 % accepted")
	}
	solved(t, "availability at 99 %", w)
	w.AvailabilityOk, w.Compliant = 1, 1
	rejected(t, "availability at 99 % claimed", w)
	if _, out = mustAssign(t, sampleInput(1000, mix{}, 1000, 9, 2)); !out.AvailabilityOk {
		t.Fatal("99.1 % availability rejected")
	}

	// 1990 of 2000 connections = exactly 99.5 %: not above
	w, out = mustAssign(t, sampleInput(2000, mix{connFail: 10}, 100, 0, 3))
	if out.ConnectionOk {
		t.Fatal("connection success at exactly 99.5 % accepted")
	}
	solved(t, "connections at 99.5 %", w)
	w.ConnectionOk, w.Compliant = 1, 1
	rejected(t, "connections at 99.5 % claimed", w)

	// rate limiting: allowance 2, exactly 2 events is fine, 3 is not
	in = sampleInput(1000, mix{limited: 2}, 100, 0, 4)
	in.MaxRateLimited = 2
	w, out = mustAssign(t, in)
	if !out.RateLimitOk {
		t.Fatal("2 events with an allowance of 2 rejected")
	}
	solved(t, "rate limit at the allowance", w)
	in.MaxRateLimited = 1
	w, out = mustAssign(t, in)
	if out.RateLimitOk {
		t.Fatal("2 events with an allowance of 1 accepted")
	}
	w.RateLimitOk, w.Compliant = 1, 1
	rejected(t, "rate limit over the allowance claimed", w)
}

func TestHealthScore(t *testing.T) {
	// 3 failures of 2000 (a 5xx, a connection failure, a no-response) = 99.85 %
	in := sampleInput(2000, mix{fiveXX: 1, connFail: 1}, 10, 0, 5)
	in.Requests[0] = commitment.RequestCode(0, true, false) // connected, no response
	w, out := mustAssign(t, in)
	if out.HealthBp != 9985 {
		t.Fatalf("health %d", out.HealthBp)
	}
	solved(t, "health", w)
	w.HealthBp = 9986
	rejected(t, "health + 0.01 %", w)
	w.HealthBp = 9984
	rejected(t, "health - 0.01 %", w)
	// 1 failure of 3: 66.66 % (rounded down)
	in = sampleInput(3, mix{fiveXX: 1}, 1, 0, 6)
	if _, out = mustAssign(t, in); out.HealthBp != 6666 {
		t.Fatalf("health %d", out.HealthBp)
	}
}

func TestFlippedVerdictsAndParameters(t *testing.T) {
	in := sampleInput(1800, mix{fourXX: 20}, 200, 1, 7)
	for name, mutate := range map[string]func(w *Circuit){
		"compliant":               func(w *Circuit) { w.Compliant = 0 },
		"errorRateOk":             func(w *Circuit) { w.ErrorRateOk = 0 },
		"availabilityOk":          func(w *Circuit) { w.AvailabilityOk = 0 },
		"connectionOk":            func(w *Circuit) { w.ConnectionOk = 0 },
		"rateLimitOk":             func(w *Circuit) { w.RateLimitOk = 0 },
		"min availability raised": func(w *Circuit) { w.MinAvailabilityBp = 9999 },
		"min connection raised":   func(w *Circuit) { w.MinConnectionBp = 10000 },
		"5xx limit lowered":       func(w *Circuit) { w.Max5xxBp = 0 },
		"n":                       func(w *Circuit) { w.N = toU(w.N) - 1 },
		"nChecks":                 func(w *Circuit) { w.NChecks = toU(w.NChecks) + 1 },
		"period":                  func(w *Circuit) { w.PeriodEnd = toU(w.PeriodEnd) + 1 },
		"commitment":              func(w *Circuit) { w.Commitment = 99 },
	} {
		w, out := mustAssign(t, in)
		if !out.Compliant {
			t.Fatal("setup not compliant")
		}
		mutate(w)
		rejected(t, name, w)
	}
}

// slots returns the honest codes of every request and check slot (padding included).
func slots(in *Input) (codes, checks []uint64) {
	codes = make([]uint64, testShape.Requests)
	copy(codes, in.Requests)
	checks = make([]uint64, testShape.Checks)
	copy(checks, commitment.CheckCodes(in.Checks))
	return codes, checks
}

func TestHistogramCannotLie(t *testing.T) {
	in := sampleInput(1000, mix{fiveXX: 5}, 50, 0, 8)
	// move the 5xx requests' counts to 2xx pairs: every output would look compliant
	w, _ := mustAssign(t, in)
	ok, e5 := commitment.RequestCode(2, true, false), commitment.RequestCode(5, true, false)
	moved := 0
	for t_, pr := range Table {
		if (pr.A == e5 || pr.B == e5) && toU(w.Count[t_]) > 0 {
			n := toU(w.Count[t_])
			w.Count[t_] = 0
			a, b := pr.A, pr.B
			if a == e5 {
				a = ok
			}
			if b == e5 {
				b = ok
			}
			for u, q := range Table {
				if q == (Pair{a, b}) {
					w.Count[u] = toU(w.Count[u]) + n
				}
			}
			moved++
		}
	}
	if moved == 0 {
		t.Fatal("no 5xx pair")
	}
	w.ErrorRateOk, w.Compliant = 1, 1
	rejected(t, "5xx counted as 2xx", w)

	// a code outside the table (class field 7), histogram rebuilt around it
	codes, checks := slots(in)
	codes[3] = 7 | commitment.CodeConnOK
	w, _ = mustAssign(t, in)
	SetData(w, codes, checks)
	rejected(t, "invalid code", w)
	// a check code outside the table
	codes, checks = slots(in)
	checks[1] = 3
	w, _ = mustAssign(t, in)
	SetData(w, codes, checks)
	rejected(t, "invalid check code", w)
}

func TestRequestsDroppedOrDuplicated(t *testing.T) {
	in := sampleInput(1000, mix{fiveXX: 2, fourXX: 10}, 50, 0, 9)
	// drop the last request
	codes, checks := slots(in)
	codes[999] = 0
	w, _ := mustAssign(t, in)
	w.N = 999
	SetData(w, codes, checks)
	rejected(t, "request dropped", w)

	// overwrite a 5xx with a copy of its neighbour (a duplicate)
	codes, checks = slots(in)
	for i := 0; i < 1000; i++ {
		if codes[i]&commitment.CodeClassMask == commitment.Class5xxCode && codes[i+1]&commitment.CodeClassMask != commitment.Class5xxCode {
			codes[i] = codes[i+1]
			break
		}
	}
	w, _ = mustAssign(t, in)
	w.ErrorRateOk, w.Compliant = 1, 1
	SetData(w, codes, checks)
	rejected(t, "request duplicated over a 5xx", w)
}

// Codes after the data cannot add requests, whether inside the last committed
// block or after it.
func TestPaddingIsInert(t *testing.T) {
	in := sampleInput(100, mix{}, 10, 0, 10) // one sponge block of requests
	for _, slot := range []int{150, 1900} {
		codes, checks := slots(in)
		codes[slot] = commitment.RequestCode(2, true, false)
		w, _ := mustAssign(t, in)
		SetData(w, codes, checks)
		rejected(t, "extra request in padding", w)
	}
	codes, checks := slots(in)
	checks[1500] = commitment.CheckPassed
	w, _ := mustAssign(t, in)
	SetData(w, codes, checks)
	rejected(t, "extra health check in padding", w)
	// the same data with its own histogram is accepted (the helper is faithful)
	codes, checks = slots(in)
	w, _ = mustAssign(t, in)
	SetData(w, codes, checks)
	solved(t, "rebuilt histogram", w)
}

package cpu

import (
	"math/rand"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/test"
	"github.com/veritee/veritee/prover/internal/circuits/common"
	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
)

var testShape = Shape{Samples: 16, Processes: 32}

// sampleInput: an 8-core machine; the first platformProcs processes belong to
// the platform and use about platformMilli together; the customer's processes
// use about custLoadBp of the machine.
func sampleInput(nS, nP, platformProcs int, custLoadBp, platformMilli uint64, seed int64) *Input {
	rng := rand.New(rand.NewSource(seed))
	in := &Input{Params: Params{
		PeriodStartUs: 1_763_596_800_000_000, PeriodEndUs: 1_763_596_800_000_000 + 10_000_000*uint64(nS),
		CapacityMilli: 8000, PercentileBp: 9500, ThresholdBp: 8000, PlatformLimitBp: 1000,
	}}
	in.Salt.SetUint64(0x5EED)
	for p := 0; p < nP; p++ {
		in.Customer = append(in.Customer, p >= platformProcs)
	}
	nCust := nP - platformProcs
	for s := 0; s < nS; s++ {
		row := make([]uint64, nP)
		for p := 0; p < nP; p++ {
			if p < platformProcs {
				row[p] = platformMilli / uint64(platformProcs) * uint64(80+rng.Intn(40)) / 100
			} else {
				row[p] = in.CapacityMilli * custLoadBp / 10000 / uint64(nCust) * uint64(90+rng.Intn(20)) / 100
			}
		}
		in.Samples = append(in.Samples, row)
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
		name            string
		nS, nP, plat    int
		load, platMilli uint64
		scale, platOK   bool
		band            uint64
	}{
		{"idle customer", 10, 20, 4, 2000, 100, false, true, 2},
		{"busy customer", 16, 32, 6, 9000, 300, true, true, 9},
		{"heavy platform", 12, 10, 5, 3000, 2000, false, false, 5},
		{"one sample one process", 1, 1, 0, 9800, 0, true, true, 99},
	}
	for _, c := range cases {
		w, out := mustAssign(t, sampleInput(c.nS, c.nP, c.plat, c.load, c.platMilli, int64(c.nS)))
		if out.ScaleOut != c.scale || out.PlatformBelowLimit != c.platOK || (c.band != 99 && out.Band != c.band) {
			t.Fatalf("%s: outputs %+v", c.name, out)
		}
		solved(t, c.name, w)
	}
}

// Exactly at each threshold the strict inequality is false; one milli-core past it, true.
func TestThresholdEdges(t *testing.T) {
	in := sampleInput(10, 2, 1, 5000, 100, 1)
	for s := range in.Samples {
		in.Samples[s] = []uint64{711, 6400} // customer 80.00 %, platform 711/7111 = 9.9986 %
	}
	w, out := mustAssign(t, in)
	if out.ScaleOut || !out.PlatformBelowLimit || out.Band != 8 {
		t.Fatalf("at the edges: %+v", out)
	}
	solved(t, "at the edges", w)
	w.ScaleOut = 1
	rejected(t, "scale-out at exactly 80 %", w)

	for s := range in.Samples {
		in.Samples[s] = []uint64{712, 6401} // 80.0125 %; platform 712/7113 = 10.0098 %
	}
	w, out = mustAssign(t, in)
	if !out.ScaleOut || out.PlatformBelowLimit {
		t.Fatalf("past the edges: %+v", out)
	}
	solved(t, "past the edges", w)
	w.ScaleOut = 0
	rejected(t, "no scale-out past 80 %", w)
	w, _ = mustAssign(t, in)
	w.PlatformBelowLimit = 1
	rejected(t, "platform flag past 10 %", w)

	// platform exactly 10 % of the total: not below the limit
	for s := range in.Samples {
		in.Samples[s] = []uint64{500, 4500}
	}
	w, out = mustAssign(t, in)
	if out.PlatformBelowLimit {
		t.Fatal("platform at exactly 10 % reported below the limit")
	}
	solved(t, "platform at 10 %", w)

	// band edges: 7999 of 8000 is band 9, 8000 is band 10
	for s := range in.Samples {
		in.Samples[s] = []uint64{0, 7999}
	}
	if _, out = mustAssign(t, in); out.Band != 9 {
		t.Fatalf("band %d for 99.99 %%", out.Band)
	}
	for s := range in.Samples {
		in.Samples[s] = []uint64{0, 8000}
	}
	w, out = mustAssign(t, in)
	if out.Band != 10 {
		t.Fatalf("band %d for 100 %%", out.Band)
	}
	solved(t, "band 10", w)
}

func TestFlippedOutputs(t *testing.T) {
	for _, load := range []uint64{5000, 9500} {
		in := sampleInput(12, 20, 4, load, 300, int64(load))
		w, _ := mustAssign(t, in)
		w.ScaleOut = 1 - toU(w.ScaleOut)
		rejected(t, "flipped decision", w)
		w, _ = mustAssign(t, in)
		w.PlatformBelowLimit = 1 - toU(w.PlatformBelowLimit)
		rejected(t, "flipped platform flag", w)
		w, _ = mustAssign(t, in)
		w.Band = toU(w.Band) + 1
		rejected(t, "band + 1", w)
		w, _ = mustAssign(t, in)
		w.Band = toU(w.Band) - 1
		rejected(t, "band - 1", w)
	}
}

func TestParametersArePinned(t *testing.T) {
	in := sampleInput(12, 20, 4, 9000, 300, 3)
	w, out := mustAssign(t, in)
	if !out.ScaleOut {
		t.Fatal("expected scale-out")
	}
	w.ThresholdBp = 9500
	rejected(t, "threshold raised", w)
	w, _ = mustAssign(t, in)
	w.PlatformLimitBp = 100
	rejected(t, "platform limit lowered", w)
	w, _ = mustAssign(t, in)
	w.CapacityMilli = 16000
	rejected(t, "capacity doubled", w)
	w, _ = mustAssign(t, in)
	w.PercentileBp = 1000
	rejected(t, "p10 presented as p95", w)
}

// Altering an ownership flag changes the commitment: a platform process
// relabelled as customer (or the reverse) is rejected, whatever it would do to
// the outputs.
func TestOwnershipFlagAltered(t *testing.T) {
	in := sampleInput(12, 20, 6, 7800, 1200, 4)
	w, out := mustAssign(t, in)
	if out.ScaleOut || out.PlatformBelowLimit {
		t.Fatalf("setup: %+v", out)
	}
	// move platform load to the customer: would flip both outputs
	w, _ = mustAssign(t, in)
	for p := 0; p < 6; p++ {
		w.Customer[p] = 1
	}
	w.ScaleOut, w.PlatformBelowLimit = 1, 1
	rejected(t, "platform processes relabelled as customer", w)

	w, _ = mustAssign(t, in)
	w.Customer[10] = 0 // one customer process relabelled as platform, outputs unchanged
	rejected(t, "one ownership flag altered", w)

	// the same relabelling with a recomputed commitment is a different, valid statement
	in2 := *in
	in2.Customer = append([]bool(nil), in.Customer...)
	in2.Customer[10] = false
	w2, out2 := mustAssign(t, &in2)
	if out2.Commitment == out.Commitment {
		t.Fatal("ownership is not covered by the commitment")
	}
	solved(t, "relabelled and recommitted", w2)

	w, _ = mustAssign(t, in)
	w.Customer[3] = 2
	rejected(t, "non-boolean ownership", w)
	w, _ = mustAssign(t, in)
	w.Customer[25] = 1 // a padding process
	rejected(t, "padding process flagged", w)
}

func TestOutputsBoundToCommitment(t *testing.T) {
	in := sampleInput(12, 20, 4, 8500, 300, 5)
	w, _ := mustAssign(t, in)
	w.Commitment = 7
	rejected(t, "other commitment", w)
	w, _ = mustAssign(t, in)
	for s := 0; s < 12; s++ {
		w.Usage[s][10] = toU(w.Usage[s][10]) / 4
	}
	w.ScaleOut = 0
	rejected(t, "lower customer load under the same commitment", w)
}

func TestSampleDroppedOrDuplicated(t *testing.T) {
	in := sampleInput(12, 20, 4, 8500, 300, 6)
	w, _ := mustAssign(t, in)
	w.NSamples = 11
	w.ActiveSample[11] = 0
	for p := range w.Usage[11] {
		w.Usage[11][p] = 0
	}
	rejected(t, "last sample dropped", w)
	w, _ = mustAssign(t, in)
	copy(w.Usage[5], w.Usage[4])
	rejected(t, "sample duplicated", w)
}

func TestPaddingIsInert(t *testing.T) {
	in := sampleInput(8, 20, 4, 5000, 300, 7)
	w, _ := mustAssign(t, in)
	for s := 0; s < 8; s++ {
		w.Usage[s][25] = 100_000
	}
	w.ScaleOut = 1
	rejected(t, "usage in a padding process", w)
	w, _ = mustAssign(t, in)
	w.Usage[12][0] = 100_000
	rejected(t, "usage in a padding sample", w)
	w, _ = mustAssign(t, in)
	w.ActiveSample[9] = 1
	rejected(t, "gap in sample flags", w)
}

func TestCircuitMatchesReferenceOnRandomData(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	for trial := 0; trial < 5; trial++ {
		nS, nP := 1+rng.Intn(testShape.Samples), 2+rng.Intn(testShape.Processes-1)
		in := sampleInput(nS, nP, 1+rng.Intn(nP-1), uint64(rng.Intn(10000)), uint64(rng.Intn(3000)), int64(trial))
		in.PercentileBp = uint64(1 + rng.Intn(10000))
		in.ThresholdBp = uint64(rng.Intn(10001))
		in.PlatformLimitBp = uint64(rng.Intn(10001))
		for p := range in.Customer {
			in.Customer[p] = rng.Intn(2) == 0
		}
		w, out := mustAssign(t, in)
		solved(t, "random", w)
		if out.Band != out.TotalMilli*10/(uint64(nS)*in.CapacityMilli) {
			t.Fatal("band")
		}
		_ = common.Rank
	}
}

// 180 processes fill one row block; 7 samples fill the header block.
func TestSpongeBlockBoundaries(t *testing.T) {
	sh := Shape{Samples: 9, Processes: 190}
	for _, dims := range [][2]int{{7, 180}, {8, 181}, {9, 190}} {
		w, _, err := Assign(sh, sampleInput(dims[0], dims[1], 10, 5000, 300, int64(dims[1])))
		if err != nil {
			t.Fatal(err)
		}
		if err := test.IsSolved(New(sh), w, ecc.BN254.ScalarField()); err != nil {
			t.Fatalf("%v: %v", dims, err)
		}
	}
}

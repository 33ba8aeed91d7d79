package memory

import (
	"math/rand"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/test"
	"github.com/veritee/veritee/prover/internal/circuits/common"
	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
	"github.com/veritee/veritee/prover/internal/commitment"
)

var testShape = Shape{Samples: 16, Processes: 32}

// sampleInput: nS samples of nP processes, sized so that the p90 total lands
// near loadBp of the allocated memory.
func sampleInput(nS, nP int, loadBp uint64, seed int64) *Input {
	rng := rand.New(rand.NewSource(seed))
	in := &Input{Params: Params{
		PeriodStartUs: 1_763_596_800_000_000,
		PeriodEndUs:   1_763_596_800_000_000 + 60_000_000*uint64(nS),
		AllocatedKiB:  16 << 20, // 16 GiB
		PercentileBp:  9000,
		ThresholdBp:   8500,
	}}
	in.Salt.SetUint64(0xBADC0DE)
	target := in.AllocatedKiB * loadBp / 10000
	for s := 0; s < nS; s++ {
		smp := commitment.MemorySample{SwapPages: uint64(rng.Intn(500)), PageFaults: uint64(rng.Intn(100_000))}
		left := target * uint64(95+rng.Intn(10)) / 100
		for p := 0; p < nP; p++ {
			v := left / uint64(nP-p) * uint64(50+rng.Intn(100)) / 100
			if p == nP-1 {
				v = left
			}
			left -= v
			smp.UsageKiB = append(smp.UsageKiB, v)
		}
		in.Samples = append(in.Samples, smp)
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
		name   string
		nS, nP int
		load   uint64
		scale  bool
	}{
		{"one sample one process", 1, 1, 5000, false},
		{"quiet", 10, 20, 4000, false},
		{"busy", 15, 32, 9500, true},
		{"full shape", 16, 32, 8000, false},
		{"overcommitted", 16, 7, 13000, true},
	}
	for _, c := range cases {
		w, out := mustAssign(t, sampleInput(c.nS, c.nP, c.load, int64(c.nS*100+c.nP)))
		if out.ScaleOut != c.scale {
			t.Fatalf("%s: scale-out %v, want %v (usage %d bp)", c.name, out.ScaleOut, c.scale, out.UsageBp)
		}
		solved(t, c.name, w)
	}
}

// At exactly the threshold the decision is false (strict >); one KiB more is true.
func TestThresholdEdge(t *testing.T) {
	in := sampleInput(10, 4, 5000, 1)
	in.AllocatedKiB = 10000
	in.ThresholdBp = 8500
	for s := range in.Samples {
		in.Samples[s].UsageKiB = []uint64{2000, 2000, 2000, 2500} // 8500 KiB = 85.00 %
	}
	w, out := mustAssign(t, in)
	if out.ScaleOut || out.UsageBp != 8500 {
		t.Fatalf("at the threshold: scale-out %v, usage %d", out.ScaleOut, out.UsageBp)
	}
	solved(t, "at threshold", w)
	w.ScaleOut = 1
	rejected(t, "scale-out claimed at exactly the threshold", w)

	for s := range in.Samples {
		in.Samples[s].UsageKiB[3] = 2501
	}
	w, out = mustAssign(t, in)
	if !out.ScaleOut || out.UsageBp != 8501 {
		t.Fatalf("just over: scale-out %v, usage %d", out.ScaleOut, out.UsageBp)
	}
	solved(t, "just over", w)
	w.ScaleOut = 0
	rejected(t, "no scale-out claimed just over the threshold", w)

	// 85.004 %: rounds down to 8500 bp but is over the threshold
	in.AllocatedKiB = 1_000_000
	for s := range in.Samples {
		in.Samples[s].UsageKiB = []uint64{850_040, 0, 0, 0}
	}
	w, out = mustAssign(t, in)
	if !out.ScaleOut || out.UsageBp != 8500 {
		t.Fatalf("85.004 %%: scale-out %v, usage %d", out.ScaleOut, out.UsageBp)
	}
	solved(t, "85.004 %", w)
}

func TestFlippedDecisionBothWays(t *testing.T) {
	for _, load := range []uint64{6000, 9700} {
		w, _ := mustAssign(t, sampleInput(12, 30, load, int64(load)))
		w.ScaleOut = 1 - toU(w.ScaleOut)
		rejected(t, "flipped decision", w)
	}
}

func TestWrongOutputs(t *testing.T) {
	in := sampleInput(12, 30, 8000, 2)
	w, _ := mustAssign(t, in)
	w.UsageBp = toU(w.UsageBp) + 1
	rejected(t, "usage + 1 bp", w)

	w, out := mustAssign(t, in)
	// a different order statistic: the median total instead of the p90
	other := common.KthSmallest(Totals(in.Samples), 6)
	if other == out.ValueKiB {
		t.Fatal("median equals the p90 for this seed")
	}
	w.Value = other
	w.UsageBp = other * 10000 / in.AllocatedKiB
	w.ScaleOut = common.B2i(other*10000 > in.ThresholdBp*in.AllocatedKiB)
	rejected(t, "median presented as p90", w)
}

func TestParametersArePinned(t *testing.T) {
	in := sampleInput(12, 30, 8700, 3)
	w, out := mustAssign(t, in)
	if !out.ScaleOut {
		t.Fatal("expected scale-out")
	}
	// raising the threshold above the usage makes the proven decision wrong
	w.ThresholdBp = 9900
	rejected(t, "threshold raised", w)

	w, _ = mustAssign(t, in)
	w.AllocatedKiB = toU(w.AllocatedKiB) * 2
	rejected(t, "allocated memory doubled", w)

	w, _ = mustAssign(t, in)
	w.PercentileBp = 5000
	rejected(t, "p50 presented as p90", w)

	w, _ = mustAssign(t, in)
	w.ThresholdBp = 10001
	rejected(t, "threshold over 100 %", w)
}

func TestOutputsBoundToCommitment(t *testing.T) {
	in := sampleInput(12, 30, 8000, 4)
	w, _ := mustAssign(t, in)
	w.Commitment = 12345
	rejected(t, "other commitment", w)

	// change the data (lower every process of every sample) but keep the commitment
	w, _ = mustAssign(t, in)
	for s := 0; s < 12; s++ {
		w.UsageKiB[s][0] = toU(w.UsageKiB[s][0]) / 2
	}
	rejected(t, "data changed under the same commitment", w)

	// swap and page faults are committed too
	w, _ = mustAssign(t, in)
	w.SwapPages[3] = toU(w.SwapPages[3]) + 1
	rejected(t, "swap count changed", w)
	w, _ = mustAssign(t, in)
	w.PageFaults[0] = uint64(1) << 32
	rejected(t, "page faults past 32 bits", w)
}

func TestSampleDroppedOrDuplicated(t *testing.T) {
	in := sampleInput(12, 30, 8000, 5)
	w, _ := mustAssign(t, in)
	// drop the last sample
	w.NSamples = 11
	w.ActiveSample[11] = 0
	w.SwapPages[11], w.PageFaults[11] = 0, 0
	for p := 0; p < testShape.Processes; p++ {
		w.UsageKiB[11][p] = 0
	}
	rejected(t, "last sample dropped", w)

	// duplicate sample 2 over sample 7
	w, _ = mustAssign(t, in)
	w.SwapPages[7], w.PageFaults[7] = w.SwapPages[2], w.PageFaults[2]
	copy(w.UsageKiB[7], w.UsageKiB[2])
	rejected(t, "sample duplicated", w)

	// duplicate into a new slot (n + 1)
	w, _ = mustAssign(t, in)
	w.NSamples = 13
	w.ActiveSample[12] = 1
	w.SwapPages[12], w.PageFaults[12] = w.SwapPages[2], w.PageFaults[2]
	copy(w.UsageKiB[12], w.UsageKiB[2])
	rejected(t, "sample appended twice", w)

	// a process dropped from every sample
	w, _ = mustAssign(t, in)
	w.NProcesses = 29
	w.ActiveProcess[29] = 0
	for s := 0; s < 12; s++ {
		w.UsageKiB[s][29] = 0
	}
	rejected(t, "process dropped", w)
}

func TestPaddingIsInert(t *testing.T) {
	in := sampleInput(8, 20, 7000, 6)
	// a huge value in a padding process column would raise the p90 over the threshold
	w, _ := mustAssign(t, in)
	for s := 0; s < 8; s++ {
		w.UsageKiB[s][25] = uint64(1) << 31
	}
	w.Value = toU(w.Value) + uint64(1)<<31
	w.UsageBp = toU(w.Value) * 10000 / in.AllocatedKiB
	w.ScaleOut = 1
	rejected(t, "padding process with usage", w)

	// a padding sample with a huge total
	w, _ = mustAssign(t, in)
	w.UsageKiB[10][0] = uint64(1) << 31
	rejected(t, "padding sample with usage", w)

	// re-activating a padding slot without changing n
	w, _ = mustAssign(t, in)
	w.ActiveSample[10] = 1
	rejected(t, "gap in sample flags", w)
	w, _ = mustAssign(t, in)
	w.ActiveProcess[0] = 0
	rejected(t, "first process deactivated", w)
}

func TestCircuitMatchesReferenceOnRandomData(t *testing.T) {
	rng := rand.New(rand.NewSource(42))
	for trial := 0; trial < 5; trial++ {
		nS, nP := 1+rng.Intn(testShape.Samples), 1+rng.Intn(testShape.Processes)
		in := sampleInput(nS, nP, uint64(5000+rng.Intn(5000)), int64(trial))
		in.PercentileBp = uint64(1 + rng.Intn(10000))
		in.ThresholdBp = uint64(rng.Intn(10001))
		if trial == 0 { // ties
			for s := range in.Samples {
				in.Samples[s] = in.Samples[0]
			}
		}
		w, out := mustAssign(t, in)
		solved(t, "random", w)
		k := common.Rank(in.PercentileBp, uint64(nS))
		below, atMost := uint64(0), uint64(0)
		for _, v := range Totals(in.Samples) {
			if v < out.ValueKiB {
				below++
			}
			if v <= out.ValueKiB {
				atMost++
			}
		}
		if !(below < k && k <= atMost) {
			t.Fatalf("trial %d: value is not the rank-%d total", trial, k)
		}
	}
}

// Rows spanning several sponge blocks (2 + 103 items fill one block) and a
// header block boundary (7 + 8 samples fill block 0): the in-circuit digest
// agrees with the native one on both sides of each boundary.
func TestSpongeBlockBoundaries(t *testing.T) {
	sh := Shape{Samples: 10, Processes: 110}
	for _, dims := range [][2]int{{8, 103}, {9, 104}, {10, 110}, {1, 1}} {
		w, _, err := Assign(sh, sampleInput(dims[0], dims[1], 7000, int64(dims[1])))
		if err != nil {
			t.Fatal(err)
		}
		if err := test.IsSolved(New(sh), w, ecc.BN254.ScalarField()); err != nil {
			t.Fatalf("%v: %v", dims, err)
		}
	}
}

package disk

import (
	"math/rand"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/test"
	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
	"github.com/veritee/veritee/prover/internal/commitment"
)

var testShape = Shape{Mounts: 8, Samples: 16}

// sampleInput: nM mounts at about usageBp block usage and 30 % inode usage,
// queue depths below maxQueue.
func sampleInput(nM, nS int, usageBp uint64, maxQueue int, seed int64) *Input {
	rng := rand.New(rand.NewSource(seed))
	in := &Input{Params: Params{
		PeriodStartUs: 1_763_596_800_000_000, PeriodEndUs: 1_763_596_800_000_000 + 60_000_000,
		UsageThresholdBp: 8500, InodeThresholdBp: 9000, QueueThreshold: 32,
	}}
	in.Salt.SetUint64(0xD15C)
	for m := 0; m < nM; m++ {
		total := uint64(50+rng.Intn(2000)) << 20 // 50 GiB .. 2 TiB in KiB
		mt := commitment.Mount{
			TotalKiB: total, UsedKiB: total / 10000 * (usageBp - uint64(rng.Intn(2000))),
			InodesTotal: 1 << 24, InodesUsed: uint64(rng.Intn(5 << 20)),
		}
		if m == 0 {
			mt.UsedKiB = total / 10000 * usageBp
		}
		for s := 0; s < nS; s++ {
			mt.QueueDepth = append(mt.QueueDepth, uint64(rng.Intn(maxQueue+1)))
		}
		in.Mounts = append(in.Mounts, mt)
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
		nM, nS      int
		usage       uint64
		maxQ        int
		scale, perf bool
	}{
		{"healthy", 5, 12, 6000, 20, false, false},
		{"full disk", 8, 16, 9200, 10, true, false},
		{"busy disk", 3, 16, 4000, 100, false, true},
		{"one mount one sample", 1, 1, 100, 0, false, false},
	}
	for _, c := range cases {
		w, out := mustAssign(t, sampleInput(c.nM, c.nS, c.usage, c.maxQ, int64(c.nM)))
		if out.ScaleOut != c.scale || out.PerformanceIssue != c.perf {
			t.Fatalf("%s: %+v", c.name, out)
		}
		solved(t, c.name, w)
	}
	// a filesystem without inode accounting (inodesTotal = 0) and an empty one
	in := sampleInput(3, 4, 5000, 5, 1)
	in.Mounts[1].InodesTotal, in.Mounts[1].InodesUsed = 0, 0
	in.Mounts[2] = commitment.Mount{QueueDepth: []uint64{0, 0, 0, 0}}
	w, _ := mustAssign(t, in)
	solved(t, "no inode accounting", w)
}

func TestThresholdEdges(t *testing.T) {
	in := sampleInput(2, 4, 5000, 5, 2)
	in.Mounts[1].TotalKiB, in.Mounts[1].UsedKiB = 10000, 8500     // exactly 85 %
	in.Mounts[1].InodesTotal, in.Mounts[1].InodesUsed = 1000, 900 // exactly 90 %
	in.Mounts[1].QueueDepth = []uint64{0, 32, 32, 1}              // exactly the threshold
	w, out := mustAssign(t, in)
	if out.ScaleOut || out.PerformanceIssue || out.MaxUsageBp != 8500 || out.MaxInodeUsageBp != 9000 {
		t.Fatalf("at the thresholds: %+v", out)
	}
	solved(t, "at the thresholds", w)
	w.ScaleOut = 1
	rejected(t, "scale-out at exactly 85 %", w)
	w, _ = mustAssign(t, in)
	w.PerformanceIssue = 1
	rejected(t, "performance issue at exactly the threshold", w)

	for _, mutate := range []func(m *commitment.Mount){
		func(m *commitment.Mount) { m.UsedKiB++ },
		func(m *commitment.Mount) { m.InodesUsed++ },
	} {
		in2 := *in
		in2.Mounts = append([]commitment.Mount(nil), in.Mounts...)
		mutate(&in2.Mounts[1])
		w, out := mustAssign(t, &in2)
		if !out.ScaleOut {
			t.Fatalf("just over a threshold: %+v", out)
		}
		solved(t, "just over", w)
		w.ScaleOut = 0
		rejected(t, "no scale-out just over a threshold", w)
	}
	in.Mounts[1].QueueDepth = []uint64{0, 33, 0, 0}
	w, out = mustAssign(t, in)
	if !out.PerformanceIssue {
		t.Fatal("queue 33 > 32 not flagged")
	}
	solved(t, "queue over", w)
	w.PerformanceIssue = 0
	rejected(t, "hidden performance issue", w)
}

func TestWrongOutputs(t *testing.T) {
	in := sampleInput(6, 10, 7000, 20, 3)
	for _, mutate := range []func(w *Circuit){
		func(w *Circuit) { w.MaxUsageBp = toU(w.MaxUsageBp) + 1 },
		func(w *Circuit) { w.MaxUsageBp = toU(w.MaxUsageBp) - 1 },
		func(w *Circuit) { w.MaxInodeUsageBp = toU(w.MaxInodeUsageBp) + 1 },
		func(w *Circuit) { w.ScaleOut = 1 },
		func(w *Circuit) { w.PerformanceIssue = 1 },
		func(w *Circuit) { w.UsageThresholdBp = 5000 },
		func(w *Circuit) { w.QueueThreshold = 10 },
		func(w *Circuit) { w.Commitment = 1 },
		func(w *Circuit) { w.UsedKiB[2] = toU(w.UsedKiB[2]) + 1 },
		func(w *Circuit) { w.Queue[1][3] = toU(w.Queue[1][3]) + 1 },
		func(w *Circuit) { w.UsedKiB[0] = toU(w.TotalKiB[0]) + 1 }, // more used than total
	} {
		w, _ := mustAssign(t, in)
		mutate(w)
		rejected(t, "mutation", w)
	}
}

func TestSampleOrMountDroppedOrDuplicated(t *testing.T) {
	in := sampleInput(6, 10, 7000, 20, 4)
	w, _ := mustAssign(t, in)
	w.NSamples = 9
	w.ActiveSample[9] = 0
	for m := 0; m < 6; m++ {
		w.Queue[m][9] = 0
	}
	rejected(t, "sample dropped", w)

	w, _ = mustAssign(t, in)
	for m := 0; m < 6; m++ {
		w.Queue[m][5] = w.Queue[m][4]
	}
	rejected(t, "sample duplicated", w)

	// dropping the fullest mount would hide the pressure
	w, _ = mustAssign(t, in)
	w.NMounts = 5
	w.ActiveMount[5] = 0
	w.UsedKiB[5], w.TotalKiB[5], w.InodesUsed[5], w.InodesTotal[5] = 0, 0, 0, 0
	for s := range w.Queue[5] {
		w.Queue[5][s] = 0
	}
	rejected(t, "mount dropped", w)
}

func TestPaddingIsInert(t *testing.T) {
	in := sampleInput(3, 6, 5000, 5, 5)
	w, _ := mustAssign(t, in)
	w.TotalKiB[6], w.UsedKiB[6] = 100, 99
	w.MaxUsageBp, w.ScaleOut = 9900, 1
	rejected(t, "full padding mount", w)
	w, _ = mustAssign(t, in)
	w.Queue[0][10] = 1000
	w.PerformanceIssue = 1
	rejected(t, "queue sample in padding", w)
	w, _ = mustAssign(t, in)
	w.ActiveMount[4] = 1
	rejected(t, "gap in mount flags", w)
}

// 210 queue samples fill one row block (after the stats element); 9 mounts fill
// the header block.
func TestSpongeBlockBoundaries(t *testing.T) {
	sh := Shape{Mounts: 10, Samples: 215}
	for _, dims := range [][2]int{{9, 210}, {10, 211}, {2, 215}} {
		w, _, err := Assign(sh, sampleInput(dims[0], dims[1], 7000, 20, int64(dims[1])))
		if err != nil {
			t.Fatal(err)
		}
		if err := test.IsSolved(New(sh), w, ecc.BN254.ScalarField()); err != nil {
			t.Fatalf("%v: %v", dims, err)
		}
	}
}

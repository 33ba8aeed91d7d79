package disk

import (
	"fmt"

	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
	"github.com/veritee/veritee/prover/internal/commitment"
)

// Setup, prove and verify a disk autoscaling decision for a tiny shape.
func Example() {
	sh := Shape{Mounts: 2, Samples: 3}
	in := &Input{Params: Params{PeriodStartUs: 1_763_596_800_000_000, PeriodEndUs: 1_763_596_800_000_000 + 30_000_000, UsageThresholdBp: 8500, InodeThresholdBp: 9000, QueueThreshold: 32}}
	in.Salt.SetUint64(42)
	in.Mounts = []commitment.Mount{
		{UsedKiB: 870 << 20, TotalKiB: 1000 << 20, InodesUsed: 1 << 20, InodesTotal: 64 << 20, QueueDepth: []uint64{4, 8, 2}},
		{UsedKiB: 10 << 20, TotalKiB: 100 << 20, InodesUsed: 0, InodesTotal: 0, QueueDepth: []uint64{1, 0, 1}},
	}
	w, out, _ := Assign(sh, in)
	fmt.Printf("fullest mount %.2f %%, scale out: %v, performance issue: %v\n", float64(out.MaxUsageBp)/100, out.ScaleOut, out.PerformanceIssue)
	fmt.Println("proof verifies:", circuittest.ProveAndVerify(New(sh), w) == nil)
	// Output:
	// fullest mount 87.00 %, scale out: true, performance issue: false
	// proof verifies: true
}

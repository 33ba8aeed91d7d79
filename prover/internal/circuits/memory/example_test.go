package memory

import (
	"fmt"

	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
	"github.com/veritee/veritee/prover/internal/commitment"
)

// Setup, prove and verify a memory autoscaling decision for a tiny shape.
func Example() {
	sh := Shape{Samples: 4, Processes: 4}
	in := &Input{Params: Params{PeriodStartUs: 1_763_596_800_000_000, PeriodEndUs: 1_763_596_800_000_000 + 240_000_000, AllocatedKiB: 8 << 20, PercentileBp: 9000, ThresholdBp: 8500}}
	in.Salt.SetUint64(42)
	for _, gib := range []uint64{5, 6, 7, 7} { // total GiB per sample, spread over 4 processes
		in.Samples = append(in.Samples, commitment.MemorySample{UsageKiB: []uint64{gib << 18, gib << 18, gib << 18, gib << 18}})
	}
	w, out, _ := Assign(sh, in)
	fmt.Printf("p90 = %.2f %% of allocated, scale out: %v\n", float64(out.UsageBp)/100, out.ScaleOut)
	fmt.Println("proof verifies:", circuittest.ProveAndVerify(New(sh), w) == nil)
	// Output:
	// p90 = 87.50 % of allocated, scale out: true
	// proof verifies: true
}

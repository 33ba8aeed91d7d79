package cpu

import (
	"fmt"

	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
)

// Setup, prove and verify a CPU autoscaling decision for a tiny shape.
func Example() {
	sh := Shape{Samples: 4, Processes: 3}
	in := &Input{Params: Params{PeriodStartUs: 1_763_596_800_000_000, PeriodEndUs: 1_763_596_800_000_000 + 40_000_000, CapacityMilli: 4000, PercentileBp: 9500, ThresholdBp: 8000, PlatformLimitBp: 1000}}
	in.Salt.SetUint64(42)
	in.Customer = []bool{false, true, true} // process 0 belongs to the platform
	in.Samples = [][]uint64{{200, 1500, 1400}, {150, 1700, 1600}, {250, 1600, 1700}, {200, 1000, 900}}
	w, out, _ := Assign(sh, in)
	fmt.Printf("utilisation %d-%d %%, scale out: %v, platform below 10 %%: %v\n", out.Band*10, out.Band*10+10, out.ScaleOut, out.PlatformBelowLimit)
	fmt.Println("proof verifies:", circuittest.ProveAndVerify(New(sh), w) == nil)
	// Output:
	// utilisation 70-80 %, scale out: true, platform below 10 %: true
	// proof verifies: true
}

package gateway

import (
	"fmt"

	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
	"github.com/veritee/veritee/prover/internal/commitment"
)

// Setup, prove and verify gateway health for a tiny shape.
func Example() {
	sh := Shape{Requests: 32, Checks: 4}
	in := &Input{Params: Params{PeriodStartUs: 1_763_596_800_000_000, PeriodEndUs: 1_763_596_800_000_000 + 3_600_000_000, Max5xxBp: 10, MinAvailabilityBp: 9900, MinConnectionBp: 9950}}
	in.Salt.SetUint64(42)
	for i := 0; i < 20; i++ {
		in.Requests = append(in.Requests, commitment.RequestCode(2, true, false)) // 2xx
	}
	in.Requests[7] = commitment.RequestCode(5, true, false) // one 503
	in.Checks = []bool{true, true, true}
	w, out, _ := Assign(sh, in)
	fmt.Printf("health %.2f %%, compliant: %v (5xx rate ok: %v)\n", float64(out.HealthBp)/100, out.Compliant, out.ErrorRateOk)
	fmt.Println("proof verifies:", circuittest.ProveAndVerify(New(sh), w) == nil)
	// Output:
	// health 95.00 %, compliant: false (5xx rate ok: false)
	// proof verifies: true
}

package latency

import (
	"fmt"
	"os"
	"testing"

	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
)

// BenchmarkProveVersions proves 16,000 records at the 16,384 class with each
// latency version since version 2 (dev setup), alternating the versions for
// VERITEE_BENCH_ROUNDS rounds (default 3) in one process, and prints
// constraints, wires, the CPU and wall time of each groth16.Prove (median) and
// one per-step profile (circuittest.CompareVersions):
//
//	go test ./internal/circuits/latency -run '^$' -bench ProveVersions -benchtime 1x -v
func BenchmarkProveVersions(t *testing.B) {
	rounds := 3
	fmt.Sscan(os.Getenv("VERITEE_BENCH_ROUNDS"), &rounds)
	const capacity = 16384
	in := sampleInput(16000, 42)
	fmt.Print(circuittest.CompareVersions(t, "latency 16,000 records (class 16384)", rounds, []circuittest.Version{
		{Name: "v2", Circuit: NewV2(capacity), Assign: func() (frontend.Circuit, error) { w, _, err := AssignV2(capacity, in); return w, err }},
		{Name: "v3", Circuit: NewV3(capacity), Assign: func() (frontend.Circuit, error) { w, _, err := AssignV3(capacity, in); return w, err }},
	}))
}

package memory

import (
	"fmt"
	"os"
	"testing"

	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
)

// BenchmarkProveVersions proves the 60 x 256 sample window at the 16,384
// class with each memory version since version 2 (dev setup), alternating the
// versions for VERITEE_BENCH_ROUNDS rounds (default 3) in one process, and
// prints constraints, wires, the CPU and wall time of each groth16.Prove
// (median) and one per-step profile (circuittest.CompareVersions):
//
//	go test ./internal/circuits/memory -run '^$' -bench ProveVersions -benchtime 1x -v
func BenchmarkProveVersions(t *testing.B) {
	rounds := 3
	fmt.Sscan(os.Getenv("VERITEE_BENCH_ROUNDS"), &rounds)
	sh := Classes[16384]
	in := sampleInput(60, 256, 8800, 42)
	fmt.Print(circuittest.CompareVersions(t, "memory 60 x 256 (class 16384)", rounds, []circuittest.Version{
		{Name: "v2", Circuit: NewV2(sh), Assign: func() (frontend.Circuit, error) { w, _, err := AssignV2(sh, in); return w, err }},
		{Name: "v3", Circuit: NewV3(sh), Assign: func() (frontend.Circuit, error) { w, _, err := AssignV3(sh, in); return w, err }},
	}))
}

package latency

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
	"github.com/veritee/veritee/prover/internal/profile"
)

// BenchmarkProveVersions proves 16,000 records at the 16,384 class with
// latency versions 2 and 3 (dev setup), alternating the versions for
// VERITEE_BENCH_ROUNDS rounds (default 3) in one process, and prints
// constraints, wires, the CPU time of each groth16.Prove (median, the
// prover's proveCpuMs) and one per-step profile (prover/internal/profile):
//
//	go test ./internal/circuits/latency -run '^$' -bench ProveVersions -benchtime 1x -v
func BenchmarkProveVersions(t *testing.B) {
	rounds := 3
	fmt.Sscan(os.Getenv("VERITEE_BENCH_ROUNDS"), &rounds)
	const capacity = 16384
	in := sampleInput(16000, 42)
	type version struct {
		name    string
		circuit frontend.Circuit
		assign  func() (frontend.Circuit, error)
		ccs     constraint.ConstraintSystem
		pk      groth16.ProvingKey
		cpu     []time.Duration
		wall    []time.Duration
	}
	versions := []*version{
		{name: "v2", circuit: NewV2(capacity), assign: func() (frontend.Circuit, error) { w, _, err := AssignV2(capacity, in); return w, err }},
		{name: "v3", circuit: NewV3(capacity), assign: func() (frontend.Circuit, error) { w, _, err := AssignV3(capacity, in); return w, err }},
	}
	for _, v := range versions {
		var err error
		if v.ccs, err = circuittest.Compile(v.circuit); err != nil {
			t.Fatal(err)
		}
		if v.pk, _, err = groth16.Setup(v.ccs); err != nil {
			t.Fatal(err)
		}
	}
	for r := 0; r < rounds; r++ {
		for _, v := range versions {
			a, err := v.assign()
			if err != nil {
				t.Fatal(err)
			}
			w, err := frontend.NewWitness(a, ecc.BN254.ScalarField())
			if err != nil {
				t.Fatal(err)
			}
			c0, w0 := cpuTime(), time.Now()
			if _, err := groth16.Prove(v.ccs, v.pk, w); err != nil {
				t.Fatal(err)
			}
			v.cpu = append(v.cpu, cpuTime()-c0)
			v.wall = append(v.wall, time.Since(w0))
		}
	}
	median := func(d []time.Duration) float64 {
		s := append([]time.Duration(nil), d...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return float64(s[len(s)/2].Microseconds()) / 1000
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nlatency 16,000 records (class 16384), %d rounds alternated, load %s\n", rounds, loadAvg())
	fmt.Fprintf(&b, "%-4s %12s %10s %16s %16s  %s\n", "ver", "constraints", "wires", "prove CPU median", "wall median", "CPU all")
	for _, v := range versions {
		wires := v.ccs.GetNbInternalVariables() + v.ccs.GetNbSecretVariables() + v.ccs.GetNbPublicVariables()
		fmt.Fprintf(&b, "%-4s %12d %10d %14.0fms %14.0fms  %v\n", v.name, v.ccs.GetNbConstraints(), wires, median(v.cpu), median(v.wall), v.cpu)
	}
	for _, v := range versions {
		a, _ := v.assign()
		w, _ := frontend.NewWitness(a, ecc.BN254.ScalarField())
		_, steps, err := profile.Prove(v.ccs, v.pk, w)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s steps (CPU ms):", v.name)
		for _, s := range steps {
			fmt.Fprintf(&b, " %s[%d]=%.0f", s.Name, s.Size, s.CPUMs)
		}
		b.WriteString("\n")
	}
	fmt.Print(b.String())
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

package streamorder

import (
	"fmt"
	"math/rand"
	"os"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
	"github.com/veritee/veritee/prover/internal/circuits/streamagg"
	"github.com/veritee/veritee/prover/internal/profile"
)

// BenchmarkProve180 proves one 180-reading window with a dev setup, for this
// claim at classes 256 and 192 and for streamagg (its class 256, and 192, which it
// does not register) over the same readings, and prints the
// constraints, gnark's prove time (wall and CPU) and the per-step table of
// internal/profile. It asserts nothing about time (the machine is shared):
//
//	go test ./internal/circuits/streamorder -run '^$' -bench Prove180 -benchtime 1x
func BenchmarkProve180(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	vals := make([]uint64, 180)
	for i := range vals {
		vals[i] = uint64(rng.Int63n(3_000_000))
	}
	in := input(vals, 9500)
	order, _, err := Assign(256, in)
	if err != nil {
		b.Fatal(err)
	}
	order192, _, err := Assign(192, in)
	if err != nil {
		b.Fatal(err)
	}
	aggIn := &streamagg.Input{Params: streamagg.Params{WindowStartUs: in.Params.WindowStartUs, WindowEndUs: in.Params.WindowEndUs, Threshold: 2_000_000}, Readings: in.Readings}
	agg, _, err := streamagg.Assign(256, aggIn)
	if err != nil {
		b.Fatal(err)
	}
	// streamagg has no class 192; its circuit allocates any capacity, which
	// measures what such a class (new keys, the same constraints per slot) would cost
	agg192, _, err := streamagg.Assign(192, aggIn)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name       string
		class      int
		circuit, w frontend.Circuit
	}{{"streamorder", 256, New(256), order}, {"streamorder", 192, New(192), order192}, {"streamagg", 256, streamagg.New(256), agg}, {"streamagg", 192, streamagg.New(192), agg192}} {
		ccs, err := circuittest.Compile(c.circuit)
		if err != nil {
			b.Fatal(err)
		}
		pk, _, err := groth16.Setup(ccs)
		if err != nil {
			b.Fatal(err)
		}
		w, err := frontend.NewWitness(c.w, ecc.BN254.ScalarField())
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			c0, w0 := profile.CPUNow(), time.Now()
			if _, err := groth16.Prove(ccs, pk, w); err != nil {
				b.Fatal(err)
			}
			fmt.Fprintf(os.Stderr, "%s class %d, 180 readings: %d constraints, %d wires; gnark prove %.0f ms wall, %.0f ms CPU\n", c.name, c.class, ccs.GetNbConstraints(), ccs.GetNbInternalVariables()+ccs.GetNbSecretVariables()+ccs.GetNbPublicVariables(),
				float64(time.Since(w0).Microseconds())/1000, float64((profile.CPUNow()-c0).Microseconds())/1000)
		}
		_, steps, err := profile.Prove(ccs, pk, w)
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range steps {
			fmt.Fprintf(os.Stderr, "  %-28s %8d %9.1f ms %9.1f ms CPU\n", s.Name, s.Size, s.WallMs, s.CPUMs)
		}
	}
}

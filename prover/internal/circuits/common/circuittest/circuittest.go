// Package circuittest is the test harness the circuit packages share:
// satisfiability checks against a fixed shape, witness assignment that fails the
// test on error, Groth16 round trips with a dev setup, and constraint counts.
// It is imported by tests (and examples) only.
package circuittest

import (
	"fmt"
	"math/big"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/backend/witness"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/test"
	"github.com/veritee/veritee/prover/internal/profile"
)

// Checks returns solved and rejected for the circuit newCircuit(shape): solved
// fails the test if a witness does not satisfy it ("<name>: valid witness
// rejected"), rejected fails the test if a (forged) witness does ("<name>:
// forged witness accepted").
func Checks[S any, C frontend.Circuit](newCircuit func(S) C, shape S) (solved, rejected func(t testing.TB, name string, w C)) {
	solved = func(t testing.TB, name string, w C) {
		t.Helper()
		if err := test.IsSolved(newCircuit(shape), w, ecc.BN254.ScalarField()); err != nil {
			t.Fatalf("%s: valid witness rejected: %v", name, err)
		}
	}
	rejected = func(t testing.TB, name string, w C) {
		t.Helper()
		if err := test.IsSolved(newCircuit(shape), w, ecc.BN254.ScalarField()); err == nil {
			t.Fatalf("%s: forged witness accepted", name)
		}
	}
	return solved, rejected
}

// MustAssign returns a function that builds the witness and outputs of an input
// for shape with assign, failing the test on error.
func MustAssign[S, I, W, O any](assign func(S, I) (W, O, error), shape S) func(t testing.TB, in I) (W, O) {
	return func(t testing.TB, in I) (W, O) {
		t.Helper()
		w, out, err := assign(shape, in)
		if err != nil {
			t.Fatal(err)
		}
		return w, out
	}
}

// ToU reads back a witness value assigned as an int or a uint64.
func ToU(v frontend.Variable) uint64 {
	switch x := v.(type) {
	case int:
		return uint64(x)
	case uint64:
		return x
	default:
		panic("unexpected witness type")
	}
}

// Field reads back a witness value (int, uint64, *big.Int or fr.Element) as a
// field element.
func Field(v frontend.Variable) fr.Element {
	var e fr.Element
	switch x := v.(type) {
	case int:
		e.SetInt64(int64(x))
	case uint64:
		e.SetUint64(x)
	case *big.Int:
		e.SetBigInt(x)
	case fr.Element:
		e = x
	default:
		panic("unexpected witness type")
	}
	return e
}

// CarryPastBound moves one unit of the next slot of a packed element into the
// slot below it: lo += 2^bits, hi -= 1 (in the field). lo is then at least one
// past its bound (< 2^bits) while lo + 2^bits*hi, and so every packing and
// commitment over the two slots, is unchanged (checked here: the test fails
// otherwise). Such a witness can be refused only by the range check of lo (or
// of hi, when hi was 0).
func CarryPastBound(t testing.TB, lo, hi *frontend.Variable, bits int) {
	t.Helper()
	shift := new(big.Int).Lsh(big.NewInt(1), uint(bits))
	var sh, one, before, after, l, h fr.Element
	sh.SetBigInt(shift)
	one.SetOne()
	l, h = Field(*lo), Field(*hi)
	before.Mul(&h, &sh)
	before.Add(&before, &l)
	l.Add(&l, &sh)
	h.Sub(&h, &one)
	after.Mul(&h, &sh)
	after.Add(&after, &l)
	if !before.Equal(&after) {
		t.Fatal("CarryPastBound changed the packed value")
	}
	*lo, *hi = l, h
}

// Compile compiles circuit to a BN254 R1CS.
func Compile(circuit frontend.Circuit) (constraint.ConstraintSystem, error) {
	return frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, circuit)
}

// devProof is a Groth16 proof of a full assignment, with the verifying key of
// its dev setup and its public witness.
type devProof struct {
	proof groth16.Proof
	vk    groth16.VerifyingKey
	pub   witness.Witness
}

// prove compiles circuit, runs a dev Groth16 setup (not a ceremony) and proves
// the full assignment w.
func prove(circuit, w frontend.Circuit) (*devProof, error) {
	ccs, err := Compile(circuit)
	if err != nil {
		return nil, err
	}
	pk, vk, err := groth16.Setup(ccs)
	if err != nil {
		return nil, err
	}
	full, err := frontend.NewWitness(w, ecc.BN254.ScalarField())
	if err != nil {
		return nil, err
	}
	proof, err := groth16.Prove(ccs, pk, full)
	if err != nil {
		return nil, err
	}
	pub, _ := full.Public()
	return &devProof{proof: proof, vk: vk, pub: pub}, nil
}

// ProveAndVerify compiles circuit, runs a dev Groth16 setup, proves the full
// assignment w and verifies the proof for w's public inputs. It returns the
// first error: nil means the proof verifies.
func ProveAndVerify(circuit, w frontend.Circuit) error {
	p, err := prove(circuit, w)
	if err != nil {
		return err
	}
	return groth16.Verify(p.proof, p.vk, p.pub)
}

// Groth16RoundTrip proves w for circuit with a dev setup and checks that the
// proof verifies for w's public inputs ("valid proof rejected") but not for
// any forgery: a copy of w changed by the forgery's function, whose key names
// it in the failure ("proof verified for <key>").
func Groth16RoundTrip[C any, PC interface {
	*C
	frontend.Circuit
}](t testing.TB, circuit frontend.Circuit, w PC, forgeries map[string]func(PC)) {
	t.Helper()
	p, err := prove(circuit, w)
	if err != nil {
		t.Fatal(err)
	}
	if err := groth16.Verify(p.proof, p.vk, p.pub); err != nil {
		t.Fatalf("valid proof rejected: %v", err)
	}
	for name, forge := range forgeries {
		f := *w
		forge(&f)
		forged, _ := frontend.NewWitness(PC(&f), ecc.BN254.ScalarField(), frontend.PublicOnly())
		if err := groth16.Verify(p.proof, p.vk, forged); err == nil {
			t.Fatalf("proof verified for %s", name)
		}
	}
}

// CountCap returns the size class named by VERITEE_COUNT_CAP, or def when the
// variable is unset or not a number.
func CountCap(def int) int {
	if v, err := strconv.Atoi(os.Getenv("VERITEE_COUNT_CAP")); err == nil {
		return v
	}
	return def
}

// CountClass compiles the circuit of a size class (capacity, allocated with
// newClass; the test fails if there is none) and logs its constraints,
// constraints per unit (prec decimals), wires and compile time.
func CountClass[S any, C frontend.Circuit](t testing.TB, capacity int, classes map[int]S, newClass func(int) (C, error), prec int, unit string) {
	t.Helper()
	circuit, err := newClass(capacity)
	if err != nil {
		t.Fatalf("no size class %d: %v", capacity, err)
	}
	t0 := time.Now()
	ccs, err := Compile(circuit)
	if err != nil {
		t.Fatal(err)
	}
	n := ccs.GetNbConstraints()
	wires := ccs.GetNbInternalVariables() + ccs.GetNbSecretVariables() + ccs.GetNbPublicVariables()
	t.Logf("class %d %v: %d constraints (%.*f per %s), %d wires, compile %v", capacity, classes[capacity], n, prec, float64(n)/float64(capacity), unit, wires, time.Since(t0))
}

// Version is one version of a circuit in CompareVersions: its circuit at the
// compared size class and a function assigning the same input to it.
type Version struct {
	Name    string
	Circuit frontend.Circuit
	Assign  func() (frontend.Circuit, error)
}

// CompareVersions compiles and dev-sets-up every version, then proves them
// alternately for `rounds` rounds in this process and returns a table: the
// constraints, wires, median CPU and wall time of groth16.Prove, and one
// per-step profile (internal/profile) per version, under `title` and the load
// average. It asserts nothing about time (benchmarks print; the machine is shared).
func CompareVersions(t testing.TB, title string, rounds int, versions []Version) string {
	t.Helper()
	type compiled struct {
		ccs       constraint.ConstraintSystem
		pk        groth16.ProvingKey
		cpu, wall []time.Duration
	}
	cs := make([]*compiled, len(versions))
	for i, v := range versions {
		ccs, err := Compile(v.Circuit)
		if err != nil {
			t.Fatal(err)
		}
		pk, _, err := groth16.Setup(ccs)
		if err != nil {
			t.Fatal(err)
		}
		cs[i] = &compiled{ccs: ccs, pk: pk}
	}
	witnessOf := func(v Version) witness.Witness {
		a, err := v.Assign()
		if err != nil {
			t.Fatal(err)
		}
		w, err := frontend.NewWitness(a, ecc.BN254.ScalarField())
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	for r := 0; r < rounds; r++ {
		for i, v := range versions {
			w := witnessOf(v)
			c0, w0 := profile.CPUNow(), time.Now()
			if _, err := groth16.Prove(cs[i].ccs, cs[i].pk, w); err != nil {
				t.Fatal(err)
			}
			cs[i].cpu = append(cs[i].cpu, profile.CPUNow()-c0)
			cs[i].wall = append(cs[i].wall, time.Since(w0))
		}
	}
	median := func(d []time.Duration) float64 {
		s := append([]time.Duration(nil), d...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return float64(s[len(s)/2].Microseconds()) / 1000
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s, %d rounds alternated, load %s\n", title, rounds, loadAvg())
	fmt.Fprintf(&b, "%-4s %12s %10s %16s %16s  %s\n", "ver", "constraints", "wires", "prove CPU median", "wall median", "CPU all")
	for i, v := range versions {
		c := cs[i]
		wires := c.ccs.GetNbInternalVariables() + c.ccs.GetNbSecretVariables() + c.ccs.GetNbPublicVariables()
		fmt.Fprintf(&b, "%-4s %12d %10d %14.0fms %14.0fms  %v\n", v.Name, c.ccs.GetNbConstraints(), wires, median(c.cpu), median(c.wall), c.cpu)
	}
	for i, v := range versions {
		_, steps, err := profile.Prove(cs[i].ccs, cs[i].pk, witnessOf(v))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s steps (CPU ms):", v.Name)
		for _, s := range steps {
			fmt.Fprintf(&b, " %s[%d]=%.0f", s.Name, s.Size, s.CPUMs)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// loadAvg is the 1, 5 and 15 minute load averages ("?" where /proc is absent).
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

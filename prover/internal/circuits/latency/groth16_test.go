package latency

import (
	"testing"

	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
)

// A real Groth16 round trip at a tiny capacity: the proof verifies for the true
// outputs and not for a changed one (the same public-input layout as production).
func TestGroth16RoundTrip(t *testing.T) {
	const capacity = 16
	in := sampleInput(11, 77)
	w, _, err := Assign(capacity, in)
	if err != nil {
		t.Fatal(err)
	}
	circuittest.Groth16RoundTrip(t, New(capacity), w, map[string]func(*Circuit){
		"a changed p95": func(w *Circuit) { w.Value[1] = toU(w.Value[1]) + 1 },
	})
}

package gadget

import (
	"testing"

	"github.com/consensys/gnark/constraint/solver"
)

// The hints keep the names every pinned constraint system records (see doc.go).
func TestHintNamesAreFrozen(t *testing.T) {
	for h, want := range map[*solver.Hint]string{&LessHint: "lessHint", &DivHint: "divHint", &RankHint: "rankHint"} {
		if got := solver.GetHintName(*h); got != "github.com/veritee/veritee/prover/internal/gadget."+want {
			t.Errorf("hint %s is named %s", want, got)
		}
	}
}

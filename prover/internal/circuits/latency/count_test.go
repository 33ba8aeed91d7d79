package latency

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
)

func TestConstraintCount(t *testing.T) {
	c := 1024
	if v := os.Getenv("VERITEE_COUNT_CAP"); v != "" {
		c, _ = strconv.Atoi(v)
	}
	t0 := time.Now()
	ccs, err := circuittest.Compile(New(c))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("capacity %d: %d constraints (%.1f per record), compile %v", c, ccs.GetNbConstraints(), float64(ccs.GetNbConstraints())/float64(c), time.Since(t0))
}

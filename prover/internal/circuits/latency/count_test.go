package latency

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
)

func TestConstraintCount(t *testing.T) {
	c := 1024
	if v := os.Getenv("VERITEE_COUNT_CAP"); v != "" {
		c, _ = strconv.Atoi(v)
	}
	t0 := time.Now()
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, New(c))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("capacity %d: %d constraints (%.1f per record), compile %v", c, ccs.GetNbConstraints(), float64(ccs.GetNbConstraints())/float64(c), time.Since(t0))
}

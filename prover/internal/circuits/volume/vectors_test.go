package volume

import (
	"encoding/json"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/veritee/veritee/prover/internal/testvectors"
)

// The volume claim's vector set, checked by packages/zk/src/claims/volume.test.ts
// (commitment and reference outputs, bit for bit). Regenerate with
//
//	VERITEE_WRITE_VECTORS=1 go test ./internal/circuits/volume -run Vectors
//
// Sizes sit on both sides of sponge block boundaries (6 times per element, 15
// elements per block, 5 header elements).
var vectorFile = filepath.Join("..", "..", "..", "..", "packages", "zk", "src", "claims", "testdata", "volume-vectors.json")

type vector struct {
	Salt            string   `json:"salt"`
	PeriodStartUs   uint64   `json:"periodStartUs"`
	PeriodEndUs     uint64   `json:"periodEndUs"`
	ThresholdPerMin uint64   `json:"thresholdPerMin"`
	Times           []uint64 `json:"times"`
	Commitment      string   `json:"commitment"`
	N               uint64   `json:"n"`
	RatePerMin      uint64   `json:"ratePerMin"`
	ScaleOut        bool     `json:"scaleOut"`
}

func TestVectors(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	var vs []vector
	for _, n := range []int{1, 5, 6, 7, 59, 60, 61, 150, 1024} {
		length := uint64(1 + rng.Int63n(1<<42))
		if n == 6 {
			length = 1 << 42 // the longest period, times up to 2^42 - 1
		}
		in := &Input{Params: Params{PeriodStartUs: 1_750_000_000_000_000 + uint64(n), PeriodEndUs: 1_750_000_000_000_000 + uint64(n) + length, ThresholdPerMin: uint64(rng.Int63n(1 << 32))}}
		in.Salt.SetUint64(rng.Uint64())
		for i := 0; i < n; i++ {
			in.Times = append(in.Times, uint64(rng.Int63n(int64(length))))
		}
		if n == 6 {
			in.Times[5] = length - 1
		}
		if n == 7 {
			in.Params.ThresholdPerMin = uint64(n) * UsPerMin / length // at the rate: no scale-out
		}
		out, err := Compute(in)
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, vector{Salt: in.Salt.String(), PeriodStartUs: in.Params.PeriodStartUs, PeriodEndUs: in.Params.PeriodEndUs, ThresholdPerMin: in.Params.ThresholdPerMin,
			Times: in.Times, Commitment: out.Commitment.String(), N: out.N, RatePerMin: out.RatePerMin, ScaleOut: out.ScaleOut})
	}
	b, _ := json.MarshalIndent(map[string]any{"note": "volume claim vectors from prover/internal/circuits/volume (VERITEE_WRITE_VECTORS=1 go test ./internal/circuits/volume -run Vectors)", "vectors": vs}, "", " ")
	testvectors.WriteOrCompare(t, vectorFile, append(b, '\n'), "go test ./internal/circuits/volume -run Vectors")
}

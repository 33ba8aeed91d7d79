package volume

import (
	"math/rand"

	"github.com/veritee/veritee/prover/internal/circuits/claim"
)

// vectors: sizes on both sides of sponge block boundaries (6 times per
// element, 15 elements per block, 5 header elements), the longest period with
// the last possible time, and a rate exactly at the threshold (no scale-out).
func vectors() []claim.Vector {
	return claim.Cases(11, []int{1, 5, 6, 7, 59, 60, 61, 150, 1024}, func(rng *rand.Rand, n int) claim.Vector {
		length := uint64(1 + rng.Int63n(1<<42))
		if n == 6 {
			length = 1 << 42
		}
		in := &JSONInput{Params: Params{PeriodStartUs: 1_750_000_000_000_000 + uint64(n), ThresholdPerMin: uint64(rng.Int63n(1 << 32))}}
		in.PeriodEndUs = in.PeriodStartUs + length
		in.Salt = claim.VectorSalt(rng)
		for i := 0; i < n; i++ {
			in.Times = append(in.Times, uint64(rng.Int63n(int64(length))))
		}
		if n == 6 {
			in.Times[5] = length - 1
		}
		if n == 7 {
			in.ThresholdPerMin = uint64(n) * UsPerMin / length
		}
		return claim.Vector{Capacity: 1024, Input: in}
	})
}

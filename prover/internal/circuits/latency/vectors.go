package latency

import (
	"math/rand"

	"github.com/veritee/veritee/prover/internal/circuits/claim"
)

// vectors: record counts on both sides of sponge block boundaries (3 records
// per element, 15 elements per block, 5 header elements), offsets at their
// 42-bit limit, both verdicts.
func vectors() []claim.Vector {
	return claim.Cases(20261121, []int{1, 2, 3, 4, 29, 30, 31, 75, 76, 200}, func(rng *rand.Rand, n int) claim.Vector {
		in := &JSONInput{Salt: claim.VectorSalt(rng).String(), PeriodStartUs: 1_750_000_000_000_000 + uint64(n), MinN: uint64(rng.Intn(2 * n))}
		in.PeriodEndUs = in.PeriodStartUs + 86_400_000_000
		if n == 200 {
			in.PeriodEndUs = in.PeriodStartUs + 1<<42
		}
		for j := range in.Percentiles {
			in.Percentiles[j], in.Thresholds[j], in.Enforce[j] = 1+uint64(rng.Intn(10000)), 1+uint64(rng.Intn(10_000_000)), rng.Intn(2) == 0
		}
		for i := 0; i < n; i++ {
			s := uint64(rng.Int63n(86_400_000_000))
			in.Records = append(in.Records, s, s+uint64(rng.Int63n(10_000_000)))
		}
		if n == 200 {
			in.Records[0], in.Records[1] = 1<<42-1, 1<<42-1
		}
		return claim.Vector{Capacity: 1024, Input: in}
	})
}

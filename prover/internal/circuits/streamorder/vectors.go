package streamorder

import (
	"math/rand"

	"github.com/veritee/veritee/prover/internal/circuits/claim"
	"github.com/veritee/veritee/prover/internal/circuits/streamagg"
)

// vectors: one reading, fewer readings than TopN, an even count (lower
// median), heavy ties from a small value range, all values equal, values at 0
// and 2^32 - 1, percentiles at 1 bp and 10000 bp, 180 readings at class 192, a
// full class.
func vectors() []claim.Vector {
	return claim.Cases(16, []int{1, 2, 4, 5, 6, 12, 27, 180, 256}, func(rng *rand.Rand, n int) claim.Vector {
		length := uint64(1 + rng.Int63n(15*60_000_000))
		in := &JSONInput{Params: Params{WindowStartUs: 1_750_000_000_000_000 + uint64(n), PercentileBp: uint64(1 + rng.Int63n(10000))}}
		in.WindowEndUs = in.WindowStartUs + length
		span := int64(1 << 32)
		switch n {
		case 12, 27:
			span = 4 // ties
		case 6:
			span = 1 // all equal (zero)
		}
		for i := 0; i < n; i++ {
			in.Readings = append(in.Readings, streamagg.JSONReading{Ts: in.WindowStartUs + uint64(rng.Int63n(int64(length))), Value: uint64(rng.Int63n(span)), Salt: claim.VectorSalt(rng)})
		}
		switch n {
		case 4:
			in.PercentileBp = 10000
			in.Readings[2].Value = 1<<32 - 1
		case 5:
			in.PercentileBp = 1
			in.Readings[0].Value = 0
		case 6:
			in.PercentileBp = 5000
		}
		if n == 180 {
			return claim.Vector{Capacity: 192, Input: in}
		}
		return claim.Vector{Capacity: 256, Input: in}
	})
}

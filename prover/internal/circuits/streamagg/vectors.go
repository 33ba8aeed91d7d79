package streamagg

import (
	"math/rand"

	"github.com/veritee/veritee/prover/internal/circuits/claim"
)

// vectors: sizes on both sides of sponge block boundaries (4 header elements,
// 15 elements per block), the longest window with readings at both of its
// edges, values at 2^32 - 1 and a threshold equal to a value (not above it).
func vectors() []claim.Vector {
	return claim.Cases(15, []int{1, 2, 11, 12, 26, 27, 180, 256}, func(rng *rand.Rand, n int) claim.Vector {
		length := uint64(1 + rng.Int63n(15*60_000_000))
		if n == 11 {
			length = 1 << 42
		}
		in := &JSONInput{Params: Params{WindowStartUs: 1_750_000_000_000_000 + uint64(n), Threshold: uint64(rng.Int63n(1 << 32))}}
		in.WindowEndUs = in.WindowStartUs + length
		for i := 0; i < n; i++ {
			in.Readings = append(in.Readings, JSONReading{Ts: in.WindowStartUs + uint64(rng.Int63n(int64(length))), Value: uint64(rng.Int63n(1 << 32)), Salt: claim.VectorSalt(rng)})
		}
		switch n {
		case 11:
			in.Readings[0].Ts, in.Readings[10].Ts = in.WindowStartUs, in.WindowEndUs-1
			in.Readings[3].Value = 1<<32 - 1
		case 12:
			in.Threshold = in.Readings[5].Value
		}
		return claim.Vector{Capacity: 256, Input: in}
	})
}

package cpu

import (
	"math/rand"

	"github.com/veritee/veritee/prover/internal/circuits/claim"
)

// vectors: the header (8 elements) and 7 samples fill block 0; 180 processes
// fill one row block; one item at its 20-bit limit.
func vectors() []claim.Vector {
	const p0 = 1_763_596_800_000_000
	return claim.Cases(20261123, [][2]int{{1, 1}, {7, 180}, {8, 181}, {12, 40}}, func(rng *rand.Rand, sh [2]int) claim.Vector {
		in := &JSONInput{Salt: claim.VectorSalt(rng), Params: Params{PeriodStartUs: p0, PeriodEndUs: p0 + 10_000_000*uint64(sh[0]),
			CapacityMilli: 1<<CapacityBits - 1, PercentileBp: 1 + uint64(rng.Intn(10000)), ThresholdBp: 3000 + uint64(rng.Intn(5000)), PlatformLimitBp: uint64(rng.Intn(10001))}}
		for p := 0; p < sh[1]; p++ {
			in.Customer = append(in.Customer, rng.Intn(3) != 0)
		}
		for s := 0; s < sh[0]; s++ {
			row := make([]uint64, sh[1])
			for p := range row {
				row[p] = uint64(rng.Int63n(int64(in.CapacityMilli) / int64(sh[1]) * 2))
			}
			in.UsageMilli = append(in.UsageMilli, row)
		}
		in.UsageMilli[0][0] = 1<<ItemBits - 1
		capacity := 512
		if sh[1] > Classes[512].Processes {
			capacity = 16384
		}
		return claim.Vector{Capacity: capacity, Input: in}
	})
}

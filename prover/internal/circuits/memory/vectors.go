package memory

import (
	"math/rand"

	"github.com/veritee/veritee/prover/internal/circuits/claim"
)

// vectors: the header (7 elements) and 8 samples fill block 0; rows of 2 + 103
// items fill one block; items at their 32-bit limit.
func vectors() []claim.Vector {
	const p0 = 1_763_596_800_000_000
	return claim.Cases(20261122, [][2]int{{1, 1}, {3, 5}, {8, 103}, {9, 104}, {16, 32}}, func(rng *rand.Rand, sh [2]int) claim.Vector {
		in := &JSONInput{Salt: claim.VectorSalt(rng).String(), PeriodStartUs: p0, PeriodEndUs: p0 + 60_000_000*uint64(sh[0]),
			AllocatedKiB: uint64(sh[1]) << 32, PercentileBp: 1 + uint64(rng.Intn(10000)), ThresholdBp: uint64(rng.Intn(10001))}
		for s := 0; s < sh[0]; s++ {
			row := make([]uint64, sh[1])
			for p := range row {
				row[p] = uint64(rng.Int63n(1 << ItemBits))
			}
			in.UsageKiB = append(in.UsageKiB, row)
			in.SwapPages = append(in.SwapPages, uint64(rng.Int63n(1<<ItemBits)))
			in.PageFaults = append(in.PageFaults, uint64(rng.Int63n(1<<20)))
		}
		in.UsageKiB[0][0], in.SwapPages[0] = 1<<ItemBits-1, 1<<ItemBits-1
		capacity := 512
		if sh[1] > Classes[512].Processes {
			capacity = 16384
		}
		return claim.Vector{Capacity: capacity, Input: in}
	})
}

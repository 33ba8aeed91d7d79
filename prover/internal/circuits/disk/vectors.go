package disk

import (
	"math/rand"

	"github.com/veritee/veritee/prover/internal/circuits/claim"
	"github.com/veritee/veritee/prover/internal/commitment"
)

// vectors: the header (6 elements) and 9 mounts fill block 0; full and empty
// mounts, a mount without inodes, items at their limits.
func vectors() []claim.Vector {
	const p0 = 1_763_596_800_000_000
	return claim.Cases(20261124, [][2]int{{1, 1}, {9, 64}, {10, 64}, {4, 60}, {8, 16}}, func(rng *rand.Rand, sh [2]int) claim.Vector {
		in := &JSONInput{Salt: claim.VectorSalt(rng), Params: Params{PeriodStartUs: p0, PeriodEndUs: p0 + 60_000_000,
			UsageThresholdBp: uint64(rng.Intn(10001)), InodeThresholdBp: uint64(rng.Intn(10001)), QueueThreshold: uint64(rng.Intn(1 << 16))}}
		for m := 0; m < sh[0]; m++ {
			mt := commitment.Mount{TotalKiB: uint64(rng.Int63n(1 << 48)), InodesTotal: uint64(rng.Int63n(1 << 48))}
			mt.UsedKiB, mt.InodesUsed = uint64(rng.Int63n(int64(mt.TotalKiB))), uint64(rng.Int63n(int64(mt.InodesTotal)))
			switch m {
			case 0:
				mt.TotalKiB, mt.UsedKiB = 1<<48-1, 1<<48-1
			case 1:
				mt.InodesTotal, mt.InodesUsed = 0, 0
			}
			for s := 0; s < sh[1]; s++ {
				mt.QueueDepth = append(mt.QueueDepth, uint64(rng.Intn(1<<16)))
			}
			in.Mounts = append(in.Mounts, mt)
		}
		capacity := 128
		if sh[0] > Classes[128].Mounts || sh[1] > Classes[128].Samples {
			capacity = 4096
		}
		return claim.Vector{Capacity: capacity, Input: in}
	})
}

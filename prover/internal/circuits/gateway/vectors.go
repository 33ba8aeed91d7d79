package gateway

import (
	"math/rand"

	"github.com/veritee/veritee/prover/internal/circuits/claim"
	"github.com/veritee/veritee/prover/internal/commitment"
)

// vectors: the header (7 elements) and 400 requests fill block 0; 1890 checks
// fill one block; the largest request code; no checks at all.
func vectors() []claim.Vector {
	const p0 = 1_763_596_800_000_000
	return claim.Cases(20261125, [][2]int{{1, 0}, {2, 1}, {400, 1890}, {401, 1891}, {1000, 50}}, func(rng *rand.Rand, sh [2]int) claim.Vector {
		in := &JSONInput{Salt: claim.VectorSalt(rng), Params: Params{PeriodStartUs: p0, PeriodEndUs: p0 + 3_600_000_000,
			Max5xxBp: uint64(rng.Intn(200)), MinAvailabilityBp: 9000 + uint64(rng.Intn(1001)), MinConnectionBp: 9000 + uint64(rng.Intn(1001)), MaxRateLimited: uint64(rng.Intn(3))}}
		for i := 0; i < sh[0]; i++ {
			class := 2 // mostly 2xx, so that every verdict goes both ways
			if rng.Intn(10) == 0 {
				class = rng.Intn(6)
			}
			in.Requests = append(in.Requests, commitment.RequestCode(class, rng.Intn(200) != 0, rng.Intn(100) == 0))
		}
		if sh[0] > 1 {
			in.Requests[1] = commitment.RequestCode(5, true, true) // 30, the largest code
		}
		in.Checks = []bool{}
		for j := 0; j < sh[1]; j++ {
			in.Checks = append(in.Checks, rng.Intn(100) != 0)
		}
		capacity := 1024
		if sh[1] > Classes[16384].Checks {
			capacity = 65536
		} else if sh[1] > Classes[1024].Checks {
			capacity = 16384
		}
		return claim.Vector{Capacity: capacity, Input: in}
	})
}

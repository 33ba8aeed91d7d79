package export

import (
	"crypto/sha256"
	"encoding/json"
	"sync"

	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
)

// Parsing a verifying key checks its G2 points' subgroup membership and computes
// e(α, β): about as long as the verification itself. Keys that parsed are kept,
// keyed by the SHA-256 of their JSON encoding, so a verifier handed the same key
// again (a prover process verifying bundles of a few claims) pays this once.
// Malformed keys are never kept. gnark's Verify does not modify the key.

const vkCacheMax = 32

var vkCache = struct {
	sync.Mutex
	m map[[32]byte]*groth16bn254.VerifyingKey
}{m: map[[32]byte]*groth16bn254.VerifyingKey{}}

func cachedVK(j *VKJSON) (*groth16bn254.VerifyingKey, error) {
	if j == nil {
		return vkFromJSON(j)
	}
	b, err := json.Marshal(j)
	if err != nil {
		return vkFromJSON(j)
	}
	key := sha256.Sum256(b)
	vkCache.Lock()
	vk, ok := vkCache.m[key]
	vkCache.Unlock()
	if ok {
		return vk, nil
	}
	vk, err = vkFromJSON(j)
	if err != nil {
		return nil, err
	}
	vkCache.Lock()
	if len(vkCache.m) >= vkCacheMax {
		clear(vkCache.m)
	}
	vkCache.m[key] = vk
	vkCache.Unlock()
	return vk, nil
}

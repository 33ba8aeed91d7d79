package merkle

import (
	"math/big"

	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/permutation/poseidon2"
)

// Hasher is the in-circuit twin of Compress, Leaf and RootFromPath.
type Hasher struct {
	api  frontend.API
	perm *poseidon2.Permutation
}

// NewHasher returns the in-circuit compression (the same instance as Compress).
func NewHasher(api frontend.API) (*Hasher, error) {
	p, err := poseidon2.NewPoseidon2FromParameters(api, Width, FullRounds, PartialRounds)
	if err != nil {
		return nil, err
	}
	return &Hasher{api: api, perm: p}, nil
}

// Compress is C(l, r) = P(l, r)[1] + r: 186 constraints.
func (h *Hasher) Compress(l, r frontend.Variable) frontend.Variable {
	return h.perm.Compress(l, r)
}

// Leaf recomputes a leaf from its inputs. Chunks must be a non-empty prefix of
// non-zero elements followed by zeros (the canonical encoding, which is also
// enforced here); the chain skips the zero slots, so the result equals the
// native leaf for any name of 1..MaxChunks chunks.
func (h *Hasher) Leaf(digestHi, digestLo frontend.Variable, chunks [MaxChunks]frontend.Variable) frontend.Variable {
	api := h.api
	tag := TagElement()
	cur := h.Compress(tag.BigInt(new(big.Int)), digestHi)
	cur = h.Compress(cur, digestLo)
	var prev frontend.Variable = 1
	for j := 0; j < MaxChunks; j++ {
		present := api.Sub(1, api.IsZero(chunks[j]))
		if j == 0 {
			api.AssertIsEqual(present, 1) // a name has at least one byte
		} else {
			api.AssertIsEqual(api.Mul(present, api.Sub(1, prev)), 0) // present chunks are a prefix
		}
		cur = api.Select(present, h.Compress(cur, chunks[j]), cur)
		prev = present
	}
	return cur
}

// RootFromPath hashes a leaf up a path. bits[i] (constrained boolean here) is 1
// when the node at height i is a right child; siblings[i] is its sibling.
func (h *Hasher) RootFromPath(leaf frontend.Variable, bits, siblings []frontend.Variable) frontend.Variable {
	api := h.api
	cur := leaf
	for i := range siblings {
		api.AssertIsBoolean(bits[i])
		// (left, right) = bit ? (sibling, cur) : (cur, sibling), one constraint.
		d := api.Mul(bits[i], api.Sub(siblings[i], cur))
		cur = h.Compress(api.Add(cur, d), api.Sub(siblings[i], d))
	}
	return cur
}

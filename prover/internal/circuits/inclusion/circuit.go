// Package inclusion is the circuit behind veritee's software-inclusion claim:
// a public component (name, SHA-256 digest) is a leaf of the fixed-depth
// component tree whose public root is carried in attestation, without revealing
// the other components or the component's position.
//
// Argument (see package merkle for the hash and tree definitions):
//
//  1. The leaf is recomputed in-circuit from the public component data: the
//     digest halves and the encoded name chunks, hashed along the Merkle-Damgard
//     chain C(...C(C(TAG, hi), lo)..., chunk_j). Absent chunk slots are zero and
//     skipped; the present ones must be a non-empty prefix. The verifier
//     computes these public inputs from the component it was told about, so a
//     proof for one component never verifies for another name or digest.
//  2. The private position bits are constrained boolean; with the private
//     siblings they hash the leaf up to the root, ordering each pair by its bit.
//  3. The result must equal the public root.
//
// Soundness rests on the collision resistance of the Poseidon2 compression: a
// second path from a different leaf to the same root contains a collision. The
// public chunks and digest halves are not range-checked in-circuit because they
// are never prover-chosen: the verifier derives them (the native encoding is
// injective). The circuit needs no commitment (no range checks or lookups).
//
// Cost: 186 constraints per compression. The leaf takes 10 compressions (2 for
// the digest, 8 chunk slots) plus 6 constraints per slot for the zero test, the
// prefix rule and the select: 1,908. Each level takes one compression plus 2
// (boolean bit, ordering product): 188. Depth 10: 3,788; depth 20: 5,668.
package inclusion

import (
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/merkle"
)

const (
	// Name of the circuit in the prover protocol and key store.
	Name = "inclusion"
	// Version changes whenever the constraint system changes.
	Version = 1
)

// Circuit proves membership in a tree of depth len(Position).
type Circuit struct {
	// ---- PUBLIC INPUTS ----
	Root     frontend.Variable                   `gnark:",public"`
	DigestHi frontend.Variable                   `gnark:",public"`
	DigestLo frontend.Variable                   `gnark:",public"`
	Name     [merkle.MaxChunks]frontend.Variable `gnark:",public"`

	// ---- SECRET INPUTS ----
	// Position[i] is bit i of the leaf index (1 = right child at height i).
	Position []frontend.Variable
	// Path[i] is the sibling at height i.
	Path []frontend.Variable
}

// DepthOf returns the depth of a size class (its number of leaves, 2^depth).
func DepthOf(capacity int) int {
	d := 0
	for (1 << d) < capacity {
		d++
	}
	if 1<<d != capacity {
		panic("inclusion: capacity must be a power of two")
	}
	return d
}

// New allocates a circuit for a tree of `capacity` = 2^depth leaves.
func New(capacity int) *Circuit {
	d := DepthOf(capacity)
	return &Circuit{Position: make([]frontend.Variable, d), Path: make([]frontend.Variable, d)}
}

// Define implements frontend.Circuit.
func (c *Circuit) Define(api frontend.API) error {
	h, err := merkle.NewHasher(api)
	if err != nil {
		return err
	}
	// 1. The leaf, from public component data.
	leaf := h.Leaf(c.DigestHi, c.DigestLo, c.Name)
	// 2. Up the path with boolean position bits.
	root := h.RootFromPath(leaf, c.Position, c.Path)
	// 3. To the public root.
	api.AssertIsEqual(root, c.Root)
	return nil
}

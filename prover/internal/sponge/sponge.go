// Package sponge is veritee's Poseidon2 sponge over BN254, natively and in-circuit.
//
// The permutation is gnark-crypto's BN254 Poseidon2 instance of width t = 16
// (RF = 8 full rounds, RP = 57 partial rounds, S-box x^5, constants from the
// HorizenLabs reference parameters shipped in gnark-crypto). The sponge has rate 15
// and capacity 1 (state[15]); the state starts at zero. Absorbing a block of 15
// field elements adds them to state[0..14] and applies the permutation; the last
// block is zero-filled; the digest is state[0] after the last permutation.
//
// Why width 16: in R1CS a Poseidon2 permutation costs 3 constraints per S-box,
// i.e. 3*(t*RF + RP). For t = 16 that is 555 constraints per 15 absorbed
// elements (37 per element), against 120 per element for t = 3 (rate 2) and 186
// for the t = 2 compression function. The linear layers are free in R1CS.
//
// Zero-filling is injective for veritee's inputs because every input encodes its
// own length (the record count) in its header.
package sponge

import (
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
)

const (
	// Width of the Poseidon2 permutation.
	Width = 16
	// Rate is the number of field elements absorbed per permutation.
	Rate = Width - 1
	// FullRounds of the gnark-crypto BN254 t=16 instance.
	FullRounds = 8
	// PartialRounds of the gnark-crypto BN254 t=16 instance.
	PartialRounds = 57
)

var perm = poseidon2.NewPermutation(Width, FullRounds, PartialRounds)

// Permute applies the permutation in place.
func Permute(state *[Width]fr.Element) {
	if err := perm.Permutation(state[:]); err != nil {
		panic(err) // only on a wrong-sized buffer, impossible with the array type
	}
}

// Hash absorbs the inputs and returns the digest.
func Hash(inputs []fr.Element) fr.Element {
	states := HashStates(inputs)
	return states[len(states)-1]
}

// HashStates returns state[0] after each block's permutation; the last entry is the
// digest. The circuit uses the per-block states to support a variable length.
func HashStates(inputs []fr.Element) []fr.Element {
	var state [Width]fr.Element
	nbBlocks := (len(inputs) + Rate - 1) / Rate
	if nbBlocks == 0 {
		nbBlocks = 1
	}
	out := make([]fr.Element, nbBlocks)
	for b := 0; b < nbBlocks; b++ {
		for i := 0; i < Rate; i++ {
			if k := b*Rate + i; k < len(inputs) {
				state[i].Add(&state[i], &inputs[k])
			}
		}
		Permute(&state)
		out[b] = state[0]
	}
	return out
}

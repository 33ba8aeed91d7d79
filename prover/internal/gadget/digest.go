// Gadget: packed commitments (VarDigest, ItemsDigest, AssertRowsDigest).
//
// Argument: the Poseidon2 sponge (package sponge, width 16, rate 15) absorbs
// the message block by block; the in-circuit digest of a message whose length
// is only known at proving time is sum_b (has(b) - has(b+1)) * state_b, where
// has(b) says whether block b holds message elements and must be 1 for block 0
// and non-increasing. Exactly one term survives: the state after the last block
// holding data, which is the native sponge.Hash of the message zero-filled to
// the end of that block. A table is committed row by row (each row's own
// digest, masked to zero for inactive rows, after a header), so the commitment
// does not depend on the circuit's size class.
//
// Soundness: the block flags are derived from the public count (by comparison
// or from PrefixFlags), and every element after the message up to the end of
// its last block is zero (AssertZeroUnlessActive on the slots, which the
// caller ensures) or else bound by the digest; items are range-checked so that
// packing is injective (pack.go).

package gadget

import (
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/commitment"
	"github.com/veritee/veritee/prover/internal/sponge"
)

// VarDigest is the in-circuit twin of sponge.Hash over a prefix of elems whose
// length is not known at compile time. blockHasData[b] (b >= 1) must be 1 iff
// element b*Rate belongs to the message, and be non-increasing; block 0 always
// does. The digest is state[0] after the last block holding message elements;
// every element after the message must be zero up to the end of that block
// (which the caller ensures, or which the digest then binds).
func VarDigest(api frontend.API, elems []frontend.Variable, blockHasData func(b int) frontend.Variable) (frontend.Variable, error) {
	s, err := sponge.NewCircuit(api)
	if err != nil {
		return nil, err
	}
	nbBlocks := (len(elems) + sponge.Rate - 1) / sponge.Rate
	if nbBlocks == 0 {
		nbBlocks = 1
	}
	has := func(b int) frontend.Variable {
		if b == 0 {
			return 1
		}
		if b >= nbBlocks {
			return 0
		}
		return blockHasData(b)
	}
	var terms []frontend.Variable
	for b := 0; b < nbBlocks; b++ {
		end := min((b+1)*sponge.Rate, len(elems))
		st, err := s.AbsorbBlock(elems[min(b*sponge.Rate, end):end])
		if err != nil {
			return nil, err
		}
		terms = append(terms, api.Mul(api.Sub(has(b), has(b+1)), st))
	}
	return Sum(api, terms), nil
}

// ItemsDigest packs items (each < 2^bits, which the caller range-checks) the way
// commitment.PackItems does and returns the digest of the prefix of items whose
// flag itemActive(i) is 1 (flags non-increasing, item 0 always in the message).
func ItemsDigest(api frontend.API, items []frontend.Variable, bits int, itemActive func(i int) frontend.Variable) (frontend.Variable, error) {
	per := commitment.PerElement(bits)
	elems := Pack(api, items, bits, per)
	return VarDigest(api, elems, func(b int) frontend.Variable {
		i := b * sponge.Rate * per
		if i >= len(items) {
			return 0
		}
		return itemActive(i)
	})
}

// AssertRowsDigest constrains want to the digest of a table committed row by
// row: header, then rowDigest(r) for each row r, masked to zero for inactive
// rows (a padding row's digest is not zero, and the native sponge zero-fills
// the message). active are the row flags (non-increasing, row 0 active); the
// header must fit the first block, so block b >= 1 holds message elements iff
// row b*Rate - len(header) is active.
func AssertRowsDigest(api frontend.API, want frontend.Variable, header, active []frontend.Variable, rowDigest func(r int) (frontend.Variable, error)) error {
	stream := append([]frontend.Variable(nil), header...)
	for r := range active {
		d, err := rowDigest(r)
		if err != nil {
			return err
		}
		stream = append(stream, api.Mul(d, active[r]))
	}
	digest, err := VarDigest(api, stream, func(b int) frontend.Variable {
		return active[b*sponge.Rate-len(header)]
	})
	if err != nil {
		return err
	}
	api.AssertIsEqual(digest, want)
	return nil
}

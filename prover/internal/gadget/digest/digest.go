package digest

import (
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/commitment"
	"github.com/veritee/veritee/prover/internal/gadget"
	"github.com/veritee/veritee/prover/internal/gadget/pack"
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
	return gadget.Sum(api, terms), nil
}

// ItemsDigest packs items (each < 2^bits, which the caller range-checks) the way
// commitment.PackItems does and returns the digest of the prefix of items whose
// flag itemActive(i) is 1 (flags non-increasing, item 0 always in the message).
func ItemsDigest(api frontend.API, items []frontend.Variable, bits int, itemActive func(i int) frontend.Variable) (frontend.Variable, error) {
	per := commitment.PerElement(bits)
	elems := pack.Pack(api, items, bits, per)
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

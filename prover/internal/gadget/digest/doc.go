// Package digest proves packed commitments: the Poseidon2 sponge digest of a
// message whose length is only known at proving time (VarDigest), of packed
// items (ItemsDigest) and of tables committed row by row (AssertRowsDigest).
//
// Argument: the Poseidon2 sponge (package sponge, width 16, rate 15) absorbs
// the message block by block; the in-circuit digest is
// sum_b (has(b) - has(b+1)) * state_b, where has(b) says whether block b holds
// message elements and must be 1 for block 0 and non-increasing. Exactly one
// term survives: the state after the last block holding data, which is the
// native sponge.Hash of the message zero-filled to the end of that block. A
// table is committed row by row (each row's own digest, masked to zero for
// inactive rows, after a header), so the commitment does not depend on the
// circuit's size class.
//
// Soundness: the block flags are derived from the public count (by comparison
// or from prefix.PrefixFlags), and every element after the message up to the
// end of its last block is zero (prefix.AssertZeroUnlessActive on the slots,
// which the caller ensures) or else bound by the digest; items are
// range-checked so that packing is injective (package pack).
package digest

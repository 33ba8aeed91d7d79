// Package pack packs bounded items into field elements (Pack), the layout the
// native commitments (commitment.PackItems) use.
//
// Argument: items are packed per items per field element, least significant
// first: e = sum_k item_k * 2^(bits*k). Packing is injective only when every
// item is below 2^bits and per*bits <= 253; commitment.PerElement(bits) =
// floor(253/bits) is the packing the native commitments use.
//
// Soundness: the caller range-checks every item to bits; otherwise a unit can
// be carried from one slot into the slot below it without changing the
// element (circuittest.CarryPastBound and this package's test build exactly
// that forgery).
package pack

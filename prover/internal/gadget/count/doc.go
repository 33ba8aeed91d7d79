// Package count proves threshold counts and the decisions built on them
// (CountAbove, Any).
//
// Argument: CountAbove sums, over the active values, the bit (bound < v)
// proven both ways by compare.Less, so the count is exact: a value wrongly
// counted or left out makes its comparison fail. Any turns a count (or a sum
// of bits) into the decision "at least one": 1 - IsZero(sum), where gnark's
// IsZero is proven both ways by an inverse witness.
//
// Soundness: values and bound below 2^bits with bits <= 250 (the caller
// range-checks them); active flags boolean; the sum given to Any is a sum of
// at most p-1 booleans, so it is zero only if every term is.
package count

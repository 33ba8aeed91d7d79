// Package compare proves bounded comparisons and the decisions built on them
// (Less, AssertLess) and checks basis-point parameters (CheckBp).
//
// Argument: for a boolean bit, the value
//
//	d = bit * (2(b - a) - 1) + (a - b)
//
// is b - a - 1 when bit = 1 and a - b when bit = 0; range-checking d to
// [0, 2^bits) therefore proves a < b when bit = 1 and a >= b when bit = 0. A
// claimed decision is thus proven right both ways: the wrong bit makes d
// negative, i.e. a field element near p, which fails the range check.
//
// Soundness: a and b must lie in [0, 2^bits) (callers range-check them, or
// they are sums of range-checked terms) and bits <= 250, so d cannot wrap
// around the field from the other side. CheckBp is sound unconditionally.
package compare

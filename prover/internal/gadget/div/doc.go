// Package div proves bounded floor division (Div): rates and ratios rounded
// down.
//
// Argument: the prover supplies q (a hint); the circuit range-checks q to
// qBits, r = num - q*den to denBits and den - 1 - r to denBits, i.e.
// 0 <= r < den. Then num = q*den + r over the integers, which fixes
// q = floor(num / den).
//
// Soundness: den in [1, 2^denBits), num < 2^252 and qBits + denBits <= 250,
// so q*den cannot wrap around the field (two quotients cannot both fit).
package div

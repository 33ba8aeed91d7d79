// Package logderiv proves a histogram by a log-derivative (LogUp) multiset
// identity (AssertHistogram): counts[t] is the number of values equal to
// keys[t], and every value is one of the keys.
//
// Argument: under a random challenge r, the multiset {v_i} equals the
// multiset with key k_t taken counts[t] times iff
//
//	sum_i 1/(r - v_i) = sum_t counts[t]/(r - k_t)
//
// as rational functions of r (their poles and residues are the multiplicities).
// Two different multisets agree at a random r with probability at most
// (len(values) + len(keys)) / |F| (Schwartz-Zippel), about 2^-235 here.
//
// Soundness: r must be drawn after every value and count is fixed, i.e. from
// a commitment to them (gnark's std/multicommit.WithCommitment, which the
// caller passes the values and counts to); the keys must be distinct
// constants; len(values) < p so that counts (field elements) cannot wrap. One
// identity per multiset: sharing one identity between two multisets lets a
// slot of one hold a value read as an entry of the other (the forgery of the
// gateway audit, issue 9). r equal to a key or value makes an inverse
// undefined and the proof fails (probability negligible).
package logderiv

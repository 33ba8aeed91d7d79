// Package limbs range-checks many values of the same width W = (k-1)*B + T
// (0 < T <= B) by a log-derivative lookup, at k constraints per value: the
// k-1 lower limbs (B bits each) come from a hint and the top limb is the
// linear expression (v - l_0 - 2^B l_1 - ...) / 2^((k-1)B), so no
// recomposition constraint is needed (gnark's range checker spends k+1, and
// k+2 when T < B).
//
// Argument. Two multisets share one challenge r drawn from the BSB22
// commitment (the lower limbs and the multiplicities join it; the CALLER
// commits the values themselves), with one identity each:
//
//	sum_q 1/(r - l_q)   = sum_{t < 2^B} m_t / (r - t)    (every lower limb)
//	sum_v 1/(r - top_v) = sum_{u < 2^T} n_u / (r - u)    (every top limb)
//
// As rational functions in r each holds only if every lower limb is below
// 2^B and every top limb below 2^T (and the multiplicities are exact); the
// values then lie in [0, 2^W) exactly, since top_v = (v - sum)/2^((k-1)B) with
// 0 <= top < 2^T means v = sum + 2^((k-1)B) top < 2^W. Counting the top limbs
// in the same identity as the lower ones (one table of 2^B entries) would
// let a top limb up to 2^B - 1 pass, i.e. values up to 2^(W + B - T): the two
// multisets must not be mixed (TestTopLimbCountedAsLowerLimb). With
// probability at most (number of terms)/|F| (about 2^-237) a false identity
// holds at a random r.
//
// When T = B (the width a multiple of the base) the top limbs share the
// lower limbs' table and one identity covers them all.
//
// Placement. Each term's constraint is one R1C with the full-size inverse on
// the A side and the short expression (r - limb) on the B side,
//
//	inv * (r - limb) = 1,    q_t * (r - t) = m_t,
//
// added with gnark's generic R1C blueprint (experimental API, gnark v0.15.0
// pinned in go.mod): gnark's own api.Inverse puts the inverse on the B side,
// where it costs a G2 scalar multiplication in the prover instead of a G1 one.
// Under another builder (gnark's test engine) the same relation is asserted
// with the ordinary API.
package limbs

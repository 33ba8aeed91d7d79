// Package rank proves order statistics by counting, without sorting
// (NearestRank, AssertKthSmallest, AssertPercentile).
//
// Argument: V is the k-th smallest of the values v_1..v_n iff
//
//	#{v_i < V} < k <= #{v_i <= V}.
//
// Let w_1 <= ... <= w_n be the sorted values. If w_k < V then at least k
// values are < V; if w_k > V then at most k-1 values are <= V. Both are
// excluded, so w_k = V (and V is one of the values, without a separate
// membership argument). Each count costs two bounded comparisons per value
// (package compare), which beats a sorted copy plus a permutation argument for
// the short series (samples) these circuits rank. The nearest rank
// k = ceil(p*n/10000) is a hint checked by 0 <= 10000k - p*n < 10000 and
// k >= 1.
//
// Soundness: values and V below 2^bits; active flags boolean and (for
// percentiles) a prefix of n ones (package prefix); p range-checked to
// [1, 10000] (compare.CheckBp) and n < 2^nBits.
package rank

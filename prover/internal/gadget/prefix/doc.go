// Package prefix proves the shape of a variable-length series in a
// fixed-capacity circuit: active flags that are n ones then zeros
// (PrefixFlags) and zero padding (AssertZeroUnlessActive).
//
// Argument: flags[0] = 1 and flags[i] * (flags[i] - flags[i-1]) = 0 make every
// flag 0 or equal to its predecessor, so the flags are boolean and
// non-increasing: n ones then zeros, with n = sum(flags) in [1, len(flags)].
// (1 - active) * v = 0 forces a padding slot to zero, so padding can neither
// hold data nor move an output, and the zero padding after the data is what
// the native sponge absorbs (package digest).
//
// Soundness: unconditional (no range checks involved).
package prefix

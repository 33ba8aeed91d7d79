package export

import (
	"errors"
	"testing"
)

// The parsed-key cache: a repeat key is parsed once, a key that differs in any field is
// a different entry (so a swapped point is checked, and rejects the proof), and a
// malformed key is refused every time and never kept.
func TestVerifyingKeyCache(t *testing.T) {
	f := build(t, "main")
	vkJ := jsonRoundTrip(t, f.vkJSON)
	proofJ := jsonRoundTrip(t, f.proofJSON)
	if err := Verify(vkJ, proofJ, f.publicJSON); err != nil {
		t.Fatal(err)
	}
	a, err := cachedVK(vkJ)
	if err != nil {
		t.Fatal(err)
	}
	b, err := cachedVK(jsonRoundTrip(t, f.vkJSON))
	if err != nil || a != b {
		t.Fatalf("an equal key was parsed again (%p, %p, %v)", a, b, err)
	}

	// delta and gamma swapped: well formed, a different key, the proof fails
	swapped := jsonRoundTrip(t, f.vkJSON)
	swapped.Delta, swapped.Gamma = swapped.Gamma, swapped.Delta
	if err := Verify(swapped, proofJ, f.publicJSON); err == nil || errors.Is(err, ErrMalformed) {
		t.Fatalf("swapped key: got %v", err)
	}
	if c, _ := cachedVK(swapped); c == a {
		t.Fatal("a different key hit the cache entry of the original")
	}

	// a malformed key (alpha off the curve) after the good one: refused twice, never kept
	bad := jsonRoundTrip(t, f.vkJSON)
	bad.Alpha = G1{"1", "3"}
	for i := 0; i < 2; i++ {
		if err := Verify(bad, proofJ, f.publicJSON); !errors.Is(err, ErrMalformed) {
			t.Fatalf("malformed key, try %d: got %v", i, err)
		}
	}
	// the original still verifies
	if err := Verify(vkJ, proofJ, f.publicJSON); err != nil {
		t.Fatal(err)
	}
}

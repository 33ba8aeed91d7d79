package inclusion

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// The one bounded secret slot of the inclusion circuit is a position bit. A bit
// b past 1 would let any leaf reach the root: the level-0 node hashes
// (cur + b(s - cur), s - b(s - cur)), whose two halves sum to cur + s, so with
// s = L + R - cur and b = (L - cur) / (s - cur) a stranger's leaf cur hashes to
// the real pair (L, R) of leaves 0 and 1, and leaf 0's path does the rest. The
// root is the honest one; only the boolean check refuses the witness.
func TestPositionBitPastBoundRefused(t *testing.T) {
	tr := sampleTree(t, 37)
	stranger := comp("usr/bin/backdoor")
	w, _, err := AssignAt(tr, 0, stranger)
	if err != nil {
		t.Fatal(err)
	}
	in := stranger.Inputs()
	cur := in.Leaf()
	l, r := tr.Leaf(0), tr.Leaf(1)
	var s, num, den, b fr.Element
	s.Add(&l, &r)
	s.Sub(&s, &cur)
	num.Sub(&l, &cur)
	den.Sub(&s, &cur)
	b.Div(&num, &den)
	// the level-0 pair really is (L, R), so the recomputed root is the tree's
	var left, right, d fr.Element
	d.Sub(&s, &cur)
	d.Mul(&d, &b)
	left.Add(&cur, &d)
	right.Sub(&s, &d)
	if !left.Equal(&l) || !right.Equal(&r) {
		t.Fatal("setup: level-0 pair")
	}
	w.Position[0], w.Path[0] = b, s
	rejected(t, "non-boolean position bit joining a stranger to leaves 0 and 1", w)

	// control: leaf 0 itself with its honest path
	solved(t, "leaf 0", mustAssign(t, tr, tr.Components[0]))
}

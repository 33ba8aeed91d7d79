package merkle

import (
	"crypto/sha256"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/test"
)

func component(name string) Component {
	return Component{Name: name, Digest: sha256.Sum256([]byte("contents of " + name))}
}

func components(n int) []Component {
	out := make([]Component, n)
	for i := range out {
		out[i] = component(fmt.Sprintf("usr/lib/component-%07d.so", i))
	}
	return out
}

func TestCompressIsGnarkCryptos(t *testing.T) {
	ref := poseidon2.NewDefaultPermutation() // t=2, RF=6, RP=50
	for i := 0; i < 20; i++ {
		var l, r fr.Element
		l.SetRandom()
		r.SetRandom()
		lb, rb := l.Bytes(), r.Bytes()
		want, err := ref.Compress(lb[:], rb[:])
		if err != nil {
			t.Fatal(err)
		}
		got := Compress(&l, &r)
		gb := got.Bytes()
		if string(gb[:]) != string(want) {
			t.Fatalf("Compress disagrees with gnark-crypto's")
		}
	}
}

func TestNameChunks(t *testing.T) {
	cases := []struct {
		name   string
		chunks int
	}{
		{"a", 1}, {strings.Repeat("x", 31), 1}, {strings.Repeat("x", 32), 2},
		{strings.Repeat("é", 40), 3}, {strings.Repeat("y", MaxNameBytes), MaxChunks},
	}
	for _, c := range cases {
		comp := component(c.name)
		in := comp.Inputs()
		if in.NbChunks != c.chunks {
			t.Fatalf("%d-byte name: %d chunks, want %d", len(c.name), in.NbChunks, c.chunks)
		}
		for j := 0; j < MaxChunks; j++ {
			if in.Chunks[j].IsZero() != (j >= c.chunks) {
				t.Fatalf("chunk %d of a %d-byte name", j, len(c.name))
			}
		}
	}
	// The marker byte encodes each chunk's length: "ab" and "\x00ab" differ.
	a, b := component("ab"), Component{Name: "\x00ab", Digest: component("ab").Digest}
	if ia, ib := a.Inputs(), b.Inputs(); ia.Chunks[0].Equal(&ib.Chunks[0]) {
		t.Fatal("leading NUL lost")
	}
	for _, bad := range []string{"", strings.Repeat("z", MaxNameBytes+1), "\xff\xfe"} {
		if err := CheckName(bad); err == nil {
			t.Fatalf("name %q accepted", bad)
		}
	}
	if _, err := ParseComponent("x", strings.Repeat("g", 64)); err == nil {
		t.Fatal("non-hex digest accepted")
	}
	if _, err := ParseComponent("x", "abcd"); err == nil {
		t.Fatal("short digest accepted")
	}
}

// naiveRoot hashes the whole tree level by level (no empty-subtree shortcut).
func naiveRoot(leaves []fr.Element, depth int) fr.Element {
	level := make([]fr.Element, 1<<depth)
	copy(level, leaves)
	for len(level) > 1 {
		next := make([]fr.Element, len(level)/2)
		for i := range next {
			next[i] = Compress(&level[2*i], &level[2*i+1])
		}
		level = next
	}
	return level[0]
}

func TestTreeAgainstNaiveHashing(t *testing.T) {
	for _, m := range []int{1, 2, 3, 5, 8, 13, 64} {
		comps := components(m)
		tr, err := BuildComponents(comps, 6)
		if err != nil {
			t.Fatal(err)
		}
		leaves := make([]fr.Element, m)
		for i := range tr.Components {
			leaves[i] = tr.Components[i].Leaf()
		}
		if got, want := tr.Root(), naiveRoot(leaves, 6); !got.Equal(&want) {
			t.Fatalf("m = %d: root differs from naive hashing", m)
		}
		for i := 0; i < 1<<6; i++ {
			leaf := tr.Leaf(i)
			r := RootFromPath(leaf, uint64(i), tr.Path(uint64(i)))
			if want := tr.Root(); !r.Equal(&want) {
				t.Fatalf("m = %d: path of leaf %d does not lead to the root", m, i)
			}
		}
	}
}

func TestCanonicalOrderAndDuplicates(t *testing.T) {
	comps := components(50)
	rev := make([]Component, len(comps))
	for i := range comps {
		rev[len(comps)-1-i] = comps[i]
	}
	a, _ := BuildComponents(comps, 10)
	b, _ := BuildComponents(rev, 10)
	if ra, rb := a.Root(), b.Root(); !ra.Equal(&rb) {
		t.Fatal("root depends on the order of the list")
	}
	dup := append(components(3), component("usr/lib/component-0000001.so"))
	if _, err := BuildComponents(dup, 10); err == nil || err.(*Error).Code != "INCLUSION_COMPONENT_DUPLICATE" {
		t.Fatalf("duplicate name: %v", err)
	}
	if _, err := BuildComponents(components(5), 2); err == nil || err.(*Error).Code != "INCLUSION_TREE_FULL" {
		t.Fatalf("5 components in 4 leaves: %v", err)
	}
	if _, err := BuildComponents(nil, 2); err == nil || err.(*Error).Code != "INPUT_FILE_EMPTY" {
		t.Fatalf("no components: %v", err)
	}
}

func TestEmptySubtrees(t *testing.T) {
	var z fr.Element
	for h := 0; h <= 4; h++ {
		want := naiveRoot(nil, h)
		if got := Zero(h); !got.Equal(&want) {
			t.Fatalf("Z_%d is not the root of an empty tree", h)
		}
	}
	if got := Zero(0); !got.Equal(&z) {
		t.Fatal("EMPTY leaf is not 0")
	}
}

type hashCircuit struct {
	DigestHi, DigestLo frontend.Variable
	Name               [MaxChunks]frontend.Variable
	Bits, Siblings     []frontend.Variable
	Leaf, Root         frontend.Variable `gnark:",public"`
}

func (c *hashCircuit) Define(api frontend.API) error {
	h, err := NewHasher(api)
	if err != nil {
		return err
	}
	leaf := h.Leaf(c.DigestHi, c.DigestLo, c.Name)
	api.AssertIsEqual(leaf, c.Leaf)
	api.AssertIsEqual(h.RootFromPath(leaf, c.Bits, c.Siblings), c.Root)
	return nil
}

func TestCircuitHasherMatchesNative(t *testing.T) {
	const depth = 5
	for _, name := range []string{"a", strings.Repeat("n", 31), strings.Repeat("m", 62), strings.Repeat("€", 82)} {
		comps := append(components(9), component(name))
		tr, err := BuildComponents(comps, depth)
		if err != nil {
			t.Fatal(err)
		}
		idx, _ := tr.Find(name)
		c := tr.Components[idx]
		in := c.Inputs()
		w := &hashCircuit{DigestHi: in.DigestHi, DigestLo: in.DigestLo, Leaf: c.Leaf(), Root: tr.Root(),
			Bits: make([]frontend.Variable, depth), Siblings: make([]frontend.Variable, depth)}
		for j := range in.Chunks {
			w.Name[j] = in.Chunks[j]
		}
		for h, s := range tr.Path(uint64(idx)) {
			w.Bits[h] = (idx >> h) & 1
			w.Siblings[h] = s
		}
		shape := &hashCircuit{Bits: make([]frontend.Variable, depth), Siblings: make([]frontend.Variable, depth)}
		if err := test.IsSolved(shape, w, ecc.BN254.ScalarField()); err != nil {
			t.Fatalf("%d-byte name: in-circuit hashing disagrees with native: %v", len(name), err)
		}
	}
}

func TestParallelBuildIsDeterministic(t *testing.T) {
	leaves := make([]fr.Element, 5000)
	for i := range leaves {
		leaves[i].SetUint64(uint64(i) * 7919)
	}
	a, _ := Build(leaves, 16)
	b, _ := Build(leaves[:4999], 16)
	c, _ := Build(leaves, 16)
	if ra, rc := a.Root(), c.Root(); !ra.Equal(&rc) {
		t.Fatal("two builds of the same leaves differ")
	}
	if ra, rb := a.Root(), b.Root(); ra.Equal(&rb) {
		t.Fatal("dropping a leaf kept the root")
	}
	// The last leaf's path goes through the zero-padded boundary.
	r := RootFromPath(leaves[4999], 4999, a.Path(4999))
	if ra := a.Root(); !r.Equal(&ra) {
		t.Fatal("boundary path broken")
	}
}

// TestBuildFullTree20 builds a tree of 2^20 distinct components (tens of seconds
// of CPU on two cores: the issue asks for trees of at least 2^20 leaves).
func TestBuildFullTree20(t *testing.T) {
	comps := components(1 << 20)
	t0 := time.Now()
	tr, err := BuildComponents(comps, 20)
	if err != nil {
		t.Fatal(err)
	}
	root := tr.Root()
	t.Logf("2^20 components: tree built in %v, root %s", time.Since(t0), root.BigInt(new(big.Int)))
}

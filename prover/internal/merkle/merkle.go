// Package merkle is veritee's software-inclusion tree: a fixed-depth binary
// Merkle tree over the components loaded into an image, natively (this file)
// and in-circuit (circuit.go). Its root is what attestation carries (SNP host
// data, TDX MRCONFIGID or report data); an inclusion proof shows that one
// public component is a leaf without revealing the others or its position.
//
// Definitions (the TypeScript twin in packages/core/src/commitment/inclusion.ts
// agrees bit for bit, checked by vectors generated in vectors_test.go):
//
//   - Compression C(l, r) is gnark-crypto's BN254 Poseidon2 2-to-1 compression:
//     the width-2 permutation (RF = 6 full rounds, RP = 50 partial rounds, S-box
//     x^5, the library's default parameters) applied to (l, r), whose second
//     lane is returned plus r (feed-forward): C(l, r) = P(l, r)[1] + r. It is
//     permutation.Compress in gnark-crypto and in gnark's std library.
//   - A component is (name, digest): name is 1..248 bytes of UTF-8, digest the
//     32-byte SHA-256 of the component. Its leaf inputs are the digest as two
//     128-bit big-endian halves (hi, lo) and the name cut into 31-byte chunks
//     (the last one 1..31 bytes), each chunk encoded as the big-endian integer
//     of 0x01 || chunk (the marker byte encodes the chunk's length, so every
//     chunk is non-zero and the encoding is injective), at most 8 chunks.
//   - leaf = C(...C(C(C(TAG, hi), lo), chunk_0)..., chunk_{k-1}), a
//     Merkle-Damgard chain with initial value TAG = the big-endian integer of the
//     ASCII bytes "veritee.component.v1".
//   - The tree has a fixed depth d (2^d leaves). Components are sorted by the
//     bytes of their names (names are unique) and take leaves 0..m-1; the other
//     leaves are EMPTY = 0. node = C(left, right); empty subtrees have the
//     precomputed roots Z_0 = 0, Z_{i+1} = C(Z_i, Z_i).
//   - The root's 32-byte encoding is its big-endian canonical form (< r).
//
// Why the width-2 compression rather than veritee's width-16 sponge: a node
// hashes two elements. In R1CS the t=2 compression costs 3*(2*6 + 50) = 186
// constraints against 555 for one t=16 permutation, and natively it is roughly
// ten times faster (about 7 us against 100 us on the reference machine), which
// is what makes building a 2^20-leaf tree practical. The leaf uses the same
// compression as a chain so a typical leaf (a name of at most 31 bytes) costs 3
// compressions natively; in-circuit the chain always runs over the 8 chunk
// slots (absent chunks are skipped with a select), 10 compressions.
//
// A leaf cannot be mistaken for an internal node: the depth is fixed and every
// proof starts from a leaf recomputed from component data, so passing an
// internal node off as a leaf would need a preimage of C.
package merkle

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"runtime"
	"sort"
	"sync"
	"unicode/utf8"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
)

const (
	// Tag is the domain tag, the initial value of the leaf chain.
	Tag = "veritee.component.v1"
	// Width, FullRounds and PartialRounds are the Poseidon2 compression's instance
	// (gnark-crypto's BN254 defaults).
	Width         = 2
	FullRounds    = 6
	PartialRounds = 50
	// ChunkBytes of name per field element.
	ChunkBytes = 31
	// MaxChunks of a name (fixed in the circuit).
	MaxChunks = 8
	// MaxNameBytes is the longest name.
	MaxNameBytes = ChunkBytes * MaxChunks
	// MaxDepth is the deepest tree built natively.
	MaxDepth = 32
)

var (
	perm      = poseidon2.NewPermutation(Width, FullRounds, PartialRounds)
	roundKeys = poseidon2.NewParameters(Width, FullRounds, PartialRounds).RoundKeys
	tagElem   fr.Element
	zeros     [MaxDepth + 1]fr.Element
)

func init() {
	tagElem.SetBigInt(new(big.Int).SetBytes([]byte(Tag)))
	for i := 1; i <= MaxDepth; i++ {
		zeros[i] = Compress(&zeros[i-1], &zeros[i-1])
	}
}

// TagElement is TAG as a field element.
func TagElement() fr.Element { return tagElem }

// Compress is C(l, r) = P(l, r)[1] + r (safe for concurrent use).
func Compress(l, r *fr.Element) fr.Element {
	x := [Width]fr.Element{*l, *r}
	if err := perm.Permutation(x[:]); err != nil {
		panic(err) // only on a wrong-sized buffer, impossible with the array type
	}
	var out fr.Element
	out.Add(&x[1], r)
	return out
}

// Zero returns the root of an empty subtree of the given height.
func Zero(height int) fr.Element { return zeros[height] }

// Error is an input that cannot be committed or proven; Code is a stable veritee
// error code.
type Error struct {
	Code string
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

func errorf(code, format string, a ...any) error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, a...)}
}

// Component is one component of an image.
type Component struct {
	Name   string
	Digest [sha256.Size]byte
}

// ParseComponent validates a name and a hex SHA-256 digest (either case).
func ParseComponent(name, sha256Hex string) (Component, error) {
	var c Component
	if err := CheckName(name); err != nil {
		return c, err
	}
	if len(sha256Hex) != 2*sha256.Size {
		return c, errorf("INCLUSION_COMPONENT_INVALID", "component %q: sha256 must be 64 hex digits (got %d characters)", name, len(sha256Hex))
	}
	if _, err := hex.Decode(c.Digest[:], []byte(sha256Hex)); err != nil {
		return c, errorf("INCLUSION_COMPONENT_INVALID", "component %q: sha256 is not hexadecimal", name)
	}
	c.Name = name
	return c, nil
}

// CheckName validates a component name: 1..248 bytes of UTF-8.
func CheckName(name string) error {
	if len(name) == 0 {
		return errorf("INCLUSION_COMPONENT_INVALID", "a component name is empty")
	}
	if len(name) > MaxNameBytes {
		return errorf("INCLUSION_COMPONENT_INVALID", "component name %q… is %d bytes, over the %d-byte limit", name[:32], len(name), MaxNameBytes)
	}
	if !utf8.ValidString(name) {
		return errorf("INCLUSION_COMPONENT_INVALID", "component name %q is not valid UTF-8", name)
	}
	return nil
}

// LeafInputs are the field elements a leaf commits to, in the circuit's order.
type LeafInputs struct {
	DigestHi, DigestLo fr.Element
	// Chunks holds the encoded name chunks; absent chunks are zero.
	Chunks [MaxChunks]fr.Element
	// NbChunks is the number of present chunks.
	NbChunks int
}

// Inputs encodes a component's leaf inputs.
func (c *Component) Inputs() LeafInputs {
	var in LeafInputs
	in.DigestHi.SetBigInt(new(big.Int).SetBytes(c.Digest[:16]))
	in.DigestLo.SetBigInt(new(big.Int).SetBytes(c.Digest[16:]))
	var buf [ChunkBytes + 1]byte
	for off := 0; off < len(c.Name); off += ChunkBytes {
		end := min(off+ChunkBytes, len(c.Name))
		buf[0] = 1
		n := copy(buf[1:], c.Name[off:end])
		in.Chunks[in.NbChunks].SetBigInt(new(big.Int).SetBytes(buf[:1+n]))
		in.NbChunks++
	}
	return in
}

// Leaf is the component's leaf.
func (c *Component) Leaf() fr.Element {
	in := c.Inputs()
	return in.Leaf()
}

// Leaf hashes leaf inputs.
func (in *LeafInputs) Leaf() fr.Element {
	h := Compress(&tagElem, &in.DigestHi)
	h = Compress(&h, &in.DigestLo)
	for j := 0; j < in.NbChunks; j++ {
		h = Compress(&h, &in.Chunks[j])
	}
	return h
}

// Canonical sorts components by the bytes of their names and rejects a name
// listed twice.
func Canonical(components []Component) ([]Component, error) {
	out := make([]Component, len(components))
	copy(out, components)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	for i := 1; i < len(out); i++ {
		if out[i].Name == out[i-1].Name {
			return nil, errorf("INCLUSION_COMPONENT_DUPLICATE", "component %q is listed twice", out[i].Name)
		}
	}
	return out, nil
}

// Tree is a fixed-depth tree whose non-empty leaves are a prefix.
type Tree struct {
	Depth int
	// Components in leaf order (canonical), when built from components.
	Components []Component
	// levels[0] are the leaves, levels[i] the non-empty nodes at height i;
	// levels[Depth] holds the root.
	levels [][]fr.Element
}

// parallelFor runs fn over [0, n) in contiguous chunks on every CPU.
func parallelFor(n int, fn func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if n < 2048 || workers == 1 {
		fn(0, n)
		return
	}
	chunk := (n + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}

// BuildComponents sorts the components canonically, hashes their leaves and
// builds the tree (in parallel).
func BuildComponents(components []Component, depth int) (*Tree, error) {
	sorted, err := Canonical(components)
	if err != nil {
		return nil, err
	}
	if err := checkSize(len(sorted), depth); err != nil {
		return nil, err
	}
	leaves := make([]fr.Element, len(sorted))
	parallelFor(len(sorted), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			leaves[i] = sorted[i].Leaf()
		}
	})
	t, err := Build(leaves, depth)
	if err != nil {
		return nil, err
	}
	t.Components = sorted
	return t, nil
}

func checkSize(m, depth int) error {
	if depth < 1 || depth > MaxDepth {
		return errorf("INPUT_INVALID", "tree depth %d outside 1..%d", depth, MaxDepth)
	}
	if m == 0 {
		return errorf("INPUT_FILE_EMPTY", "there are no components")
	}
	if uint64(m) > uint64(1)<<depth {
		return errorf("INCLUSION_TREE_FULL", "%d components do not fit a tree of depth %d (%d leaves)", m, depth, uint64(1)<<depth)
	}
	return nil
}

// Build builds a tree over leaves 0..len-1 (the rest empty).
func Build(leaves []fr.Element, depth int) (*Tree, error) {
	if err := checkSize(len(leaves), depth); err != nil {
		return nil, err
	}
	t := &Tree{Depth: depth, levels: make([][]fr.Element, depth+1)}
	t.levels[0] = leaves
	for h := 1; h <= depth; h++ {
		below := t.levels[h-1]
		n := (len(below) + 1) / 2
		level := make([]fr.Element, n)
		zero := zeros[h-1]
		parallelFor(n, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				right := &zero
				if 2*i+1 < len(below) {
					right = &below[2*i+1]
				}
				level[i] = Compress(&below[2*i], right)
			}
		})
		t.levels[h] = level
	}
	return t, nil
}

// Root of the tree.
func (t *Tree) Root() fr.Element { return t.levels[t.Depth][0] }

// Len is the number of non-empty leaves.
func (t *Tree) Len() int { return len(t.levels[0]) }

// Leaf returns leaf i (EMPTY beyond the non-empty prefix).
func (t *Tree) Leaf(i int) fr.Element {
	if i < len(t.levels[0]) {
		return t.levels[0][i]
	}
	return zeros[0]
}

// Path returns the siblings of leaf index from the leaf level up.
func (t *Tree) Path(index uint64) []fr.Element {
	path := make([]fr.Element, t.Depth)
	for h := 0; h < t.Depth; h++ {
		s := (index >> h) ^ 1
		if s < uint64(len(t.levels[h])) {
			path[h] = t.levels[h][s]
		} else {
			path[h] = zeros[h]
		}
	}
	return path
}

// Find returns the leaf index of the component named name.
func (t *Tree) Find(name string) (int, bool) {
	i := sort.Search(len(t.Components), func(i int) bool { return t.Components[i].Name >= name })
	return i, i < len(t.Components) && t.Components[i].Name == name
}

// RootFromPath hashes a leaf up its path; bit h of index is 1 when the node at
// height h is a right child.
func RootFromPath(leaf fr.Element, index uint64, path []fr.Element) fr.Element {
	cur := leaf
	for h := range path {
		if (index>>h)&1 == 0 {
			cur = Compress(&cur, &path[h])
		} else {
			cur = Compress(&path[h], &cur)
		}
	}
	return cur
}

// RootBytes is the root's 32-byte big-endian encoding.
func RootBytes(root fr.Element) [32]byte { return root.Bytes() }

// RootHex is the lowercase hex of RootBytes.
func RootHex(root fr.Element) string {
	b := root.Bytes()
	return hex.EncodeToString(b[:])
}

package inclusion

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/common/circuittest"
	"github.com/veritee/veritee/prover/internal/merkle"
)

const testCap = 1024 // depth 10

func comp(name string) merkle.Component {
	return merkle.Component{Name: name, Digest: sha256.Sum256([]byte("bytes of " + name))}
}

func sampleTree(t *testing.T, m int) *merkle.Tree {
	t.Helper()
	cs := make([]merkle.Component, m)
	for i := range cs {
		cs[i] = comp(fmt.Sprintf("opt/app/lib/module-%04d.so", i))
	}
	tr, err := merkle.BuildComponents(cs, DepthOf(testCap))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

var solved, rejected = circuittest.Checks(New, testCap)

func mustAssign(t *testing.T, tr *merkle.Tree, c merkle.Component) *Circuit {
	t.Helper()
	w, _, err := Assign(tr, c)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestValidInclusion(t *testing.T) {
	tr := sampleTree(t, 37)
	// first, last, middle leaf; the last one's path crosses empty subtrees
	for _, i := range []int{0, 36, 17} {
		solved(t, tr.Components[i].Name, mustAssign(t, tr, tr.Components[i]))
	}
	// a full tree and a single-component tree
	full := sampleTree(t, testCap)
	solved(t, "full tree, last leaf", mustAssign(t, full, full.Components[testCap-1]))
	one := sampleTree(t, 1)
	solved(t, "one component", mustAssign(t, one, one.Components[0]))
	// names of every chunk count
	for _, n := range []int{1, 31, 32, 200, merkle.MaxNameBytes} {
		name := make([]byte, n)
		for i := range name {
			name[i] = byte('a' + i%26)
		}
		cs := []merkle.Component{comp(string(name)), comp("other")}
		tr, err := merkle.BuildComponents(cs, 10)
		if err != nil {
			t.Fatal(err)
		}
		solved(t, fmt.Sprintf("%d-byte name", n), mustAssign(t, tr, cs[0]))
	}
}

func TestComponentNotInTree(t *testing.T) {
	tr := sampleTree(t, 37)
	stranger := comp("usr/bin/backdoor")
	if _, _, err := Assign(tr, stranger); err == nil || err.(*merkle.Error).Code != "INCLUSION_COMPONENT_NOT_FOUND" {
		t.Fatalf("absent component: %v", err)
	}
	known := tr.Components[5]
	changed := known
	changed.Digest[31] ^= 1
	if _, _, err := Assign(tr, changed); err == nil || err.(*merkle.Error).Code != "INCLUSION_COMPONENT_NOT_FOUND" {
		t.Fatalf("known name, other digest: %v", err)
	}
	// Forged witnesses: a stranger (or a changed digest, or a renamed component)
	// at a real leaf's position, with that leaf's true path.
	for name, c := range map[string]merkle.Component{
		"absent component": stranger,
		"other digest":     changed,
		"renamed":          {Name: known.Name + "x", Digest: known.Digest},
	} {
		w, _, err := AssignAt(tr, 5, c)
		if err != nil {
			t.Fatal(err)
		}
		rejected(t, name, w)
	}
	// An empty leaf (index beyond the components) cannot be claimed either.
	w, _, _ := AssignAt(tr, 900, stranger)
	rejected(t, "stranger in an empty leaf", w)
}

func TestForgedPaths(t *testing.T) {
	tr := sampleTree(t, 100)
	c := tr.Components[42]
	cases := map[string]func(w *Circuit){
		"wrong sibling at the leaf level": func(w *Circuit) { w.Path[0] = add(w.Path[0], 1) },
		"wrong sibling near the root":     func(w *Circuit) { w.Path[9] = add(w.Path[9], 1) },
		"flipped position bit 0":          func(w *Circuit) { w.Position[0] = 1 - asInt(w.Position[0]) },
		"flipped position bit 5":          func(w *Circuit) { w.Position[5] = 1 - asInt(w.Position[5]) },
		"non-boolean position bit":        func(w *Circuit) { w.Position[1] = 2 },
		"wrong root":                      func(w *Circuit) { w.Root = add(w.Root, 1) },
		"wrong digest half":               func(w *Circuit) { w.DigestLo = add(w.DigestLo, 1) },
		"wrong name chunk":                func(w *Circuit) { w.Name[0] = add(w.Name[0], 1) },
		"empty name":                      func(w *Circuit) { w.Name[0] = 0 },
		"gap in the name chunks":          func(w *Circuit) { w.Name[2] = 7 },
	}
	for name, mutate := range cases {
		w := mustAssign(t, tr, c)
		mutate(w)
		rejected(t, name, w)
	}
	// Another tree's root with this tree's path.
	other := sampleTree(t, 101)
	w := mustAssign(t, tr, c)
	w.Root = other.Root()
	rejected(t, "root of another tree", w)
}

func add(v frontend.Variable, k uint64) frontend.Variable {
	e := v.(fr.Element)
	var d fr.Element
	d.SetUint64(k)
	e.Add(&e, &d)
	return e
}

func asInt(v frontend.Variable) uint64 { return v.(uint64) }

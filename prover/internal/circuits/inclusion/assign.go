package inclusion

import (
	"strconv"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/merkle"
)

// Public are the public inputs of an inclusion proof, computed natively.
type Public struct {
	Root   fr.Element
	Inputs merkle.LeafInputs
}

// Assign builds the witness proving that the component named name is in the
// tree. It fails with INCLUSION_COMPONENT_NOT_FOUND if no component has that
// name, and with the same code if one does but with another digest.
func Assign(t *merkle.Tree, c merkle.Component) (*Circuit, *Public, error) {
	i, ok := t.Find(c.Name)
	if !ok {
		return nil, nil, &merkle.Error{Code: "INCLUSION_COMPONENT_NOT_FOUND", Msg: "component " + strconv.Quote(c.Name) + " is not in the component list"}
	}
	if t.Components[i].Digest != c.Digest {
		return nil, nil, &merkle.Error{Code: "INCLUSION_COMPONENT_NOT_FOUND", Msg: "component " + strconv.Quote(c.Name) + " is in the list with another sha256 digest"}
	}
	return AssignAt(t, uint64(i), c)
}

// AssignAt builds the witness for the component at leaf index (it is not
// checked against the tree: tests use it to build forgeries).
func AssignAt(t *merkle.Tree, index uint64, c merkle.Component) (*Circuit, *Public, error) {
	in := c.Inputs()
	path := t.Path(index)
	w := &Circuit{
		Root:     t.Root(),
		DigestHi: in.DigestHi,
		DigestLo: in.DigestLo,
		Position: make([]frontend.Variable, t.Depth),
		Path:     make([]frontend.Variable, t.Depth),
	}
	for j := range in.Chunks {
		w.Name[j] = in.Chunks[j]
	}
	for h := 0; h < t.Depth; h++ {
		w.Position[h] = (index >> h) & 1
		w.Path[h] = path[h]
	}
	return w, &Public{Root: t.Root(), Inputs: in}, nil
}

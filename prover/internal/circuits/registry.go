// Package circuits is the registry of veritee's claim circuits: their names,
// versions, size classes, public-input layout and witness builders.
package circuits

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/consensys/gnark/frontend"
)

// Definition describes one claim circuit.
type Definition struct {
	Name    string
	Version int
	// Capacities are the supported size classes (records per proof).
	Capacities []int
	// PublicInputs names every public input in witness order.
	PublicInputs []string
	// New allocates the circuit of a capacity, for compilation.
	New func(capacity int) frontend.Circuit
	// Assign builds a witness from the JSON input of a prove request and returns
	// the public outputs (also JSON) and the public inputs in witness order.
	Assign func(capacity int, input json.RawMessage) (frontend.Circuit, any, error)
}

var registry = map[string]*Definition{}

// Register adds a definition; called from each circuit adapter's init.
func Register(d *Definition) {
	if _, dup := registry[d.Name]; dup {
		panic("circuits: duplicate " + d.Name)
	}
	registry[d.Name] = d
}

// Lookup finds a definition and checks the capacity.
func Lookup(name string, capacity int) (*Definition, error) {
	d, ok := registry[name]
	if !ok {
		return nil, &Error{Code: "CLAIM_UNKNOWN", Msg: fmt.Sprintf("no circuit named %q", name)}
	}
	if capacity != 0 {
		for _, c := range d.Capacities {
			if c == capacity {
				return d, nil
			}
		}
		return nil, &Error{Code: "INPUT_INVALID", Msg: fmt.Sprintf("circuit %q has no size class %d (have %v)", name, capacity, d.Capacities)}
	}
	return d, nil
}

// All returns every definition sorted by name.
func All() []*Definition {
	out := make([]*Definition, 0, len(registry))
	for _, d := range registry {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Error carries a stable veritee error code across the prover protocol.
type Error struct {
	Code string
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Package claim is the generic half of veritee's claim framework in Go: the
// definition every claim package registers (name, version, size classes,
// public-input layout, circuit allocation and the witness builder from the
// JSON input of a prove request), the registry, extra protocol ops a claim may
// offer, and the helpers adapters share (strict JSON input, salts, error
// codes).
//
// A claim is one package under prover/internal/circuits/<claim>/ whose init
// calls Register; package circuits imports every claim package, and the
// server, key store and export code only ever see a *Definition.
package claim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/common"
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
	// the public outputs (also JSON).
	Assign func(capacity int, input json.RawMessage) (frontend.Circuit, any, error)
}

// Op answers a protocol op a claim adds (e.g. inclusion's "merkle").
type Op func(input json.RawMessage) (any, error)

var (
	registry = map[string]*Definition{}
	ops      = map[string]Op{}
)

// Register adds a definition; called from each claim package's init.
func Register(d *Definition) {
	if _, dup := registry[d.Name]; dup {
		panic("claim: duplicate " + d.Name)
	}
	registry[d.Name] = d
}

// RegisterOp adds a protocol op; called from a claim package's init.
func RegisterOp(name string, op Op) {
	if _, dup := ops[name]; dup {
		panic("claim: duplicate op " + name)
	}
	ops[name] = op
}

// LookupOp returns a claim's protocol op, or nil.
func LookupOp(name string) Op { return ops[name] }

// Ops lists the claims' protocol ops, sorted.
func Ops() []string {
	out := make([]string, 0, len(ops))
	for n := range ops {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Lookup finds a definition and checks the capacity (0: any).
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

// Invalid is an INPUT_INVALID protocol error.
func Invalid(format string, a ...any) error {
	return &Error{Code: "INPUT_INVALID", Msg: fmt.Sprintf(format, a...)}
}

// DecodeInput parses a prove request's JSON input strictly (unknown fields are errors).
func DecodeInput(name string, raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Invalid("%s input: %v", name, err)
	}
	return nil
}

// ParseSalt reads a decimal field element.
func ParseSalt(name, s string) (fr.Element, error) {
	var e fr.Element
	salt, ok := new(big.Int).SetString(s, 10)
	if !ok || salt.Sign() < 0 || salt.Cmp(fr.Modulus()) >= 0 {
		return e, Invalid("%s input: salt must be a decimal field element", name)
	}
	e.SetBigInt(salt)
	return e, nil
}

// FromInputError maps a circuit package's input error (common.InputError) to a
// protocol error with the same code; other errors pass through.
func FromInputError(err error) error {
	var ie *common.InputError
	if errors.As(err, &ie) {
		return &Error{Code: ie.Code, Msg: ie.Msg}
	}
	return err
}

// Decimal writes a field element in decimal.
func Decimal(e fr.Element) string { return e.BigInt(new(big.Int)).String() }

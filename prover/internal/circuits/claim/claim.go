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
	"math/rand"
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
	// Vectors are the claim's commitment vectors: JSON inputs whose public
	// inputs TypeScript must reproduce bit for bit (written by the one
	// generator, circuits/vectors_test.go; checked by packages/zk).
	Vectors func() []Vector
}

// Vector is a JSON input of a prove request and the size class it is proven at.
type Vector struct {
	Capacity int
	Input    any
}

// Op answers a protocol op a claim adds (e.g. inclusion's "merkle").
type Op func(input json.RawMessage) (any, error)

var (
	// registry holds the newest version of each claim; older holds every
	// version still served (a claim keeps its old circuits registered so that
	// keys and proofs made with them stay usable).
	registry = map[string]*Definition{}
	older    = map[string]*Definition{}
	ops      = map[string]Op{}
)

func versionKey(name string, version int) string { return fmt.Sprintf("%s@%d", name, version) }

// Register adds a definition; called from each claim package's init. A claim
// may register several versions; Lookup serves the newest.
func Register(d *Definition) {
	key := versionKey(d.Name, d.Version)
	if _, dup := older[key]; dup {
		panic("claim: duplicate " + key)
	}
	older[key] = d
	if cur, ok := registry[d.Name]; !ok || d.Version > cur.Version {
		registry[d.Name] = d
	}
}

// LookupVersion finds a given version of a definition (0: the newest) and
// checks the capacity (0: any).
func LookupVersion(name string, version, capacity int) (*Definition, error) {
	if version == 0 {
		return Lookup(name, capacity)
	}
	d, ok := older[versionKey(name, version)]
	if !ok {
		if _, known := registry[name]; known {
			return nil, &Error{Code: "CLAIM_UNKNOWN", Msg: fmt.Sprintf("circuit %q has no version %d", name, version)}
		}
		return nil, &Error{Code: "CLAIM_UNKNOWN", Msg: fmt.Sprintf("no circuit named %q", name)}
	}
	return checkCapacity(d, capacity)
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
	return checkCapacity(d, capacity)
}

func checkCapacity(d *Definition, capacity int) (*Definition, error) {
	name := d.Name
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

// All returns every definition (every registered version) sorted by name,
// then version.
func All() []*Definition {
	out := make([]*Definition, 0, len(older))
	for _, d := range older {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Version < out[j].Version
	})
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

var errSalt = errors.New("salt must be a decimal field element")

func parseSalt(s string) (fr.Element, error) {
	var e fr.Element
	salt, ok := new(big.Int).SetString(s, 10)
	if !ok || salt.Sign() < 0 || salt.Cmp(fr.Modulus()) >= 0 {
		return e, errSalt
	}
	e.SetBigInt(salt)
	return e, nil
}

// ParseSalt reads a decimal field element.
func ParseSalt(name, s string) (fr.Element, error) {
	e, err := parseSalt(s)
	if err != nil {
		return e, Invalid("%s input: %v", name, err)
	}
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

// Adapt makes a Definition.Assign from a claim's witness builder over its JSON
// input type: strict decoding (unknown fields are errors), then build; input
// errors (common.InputError) keep their codes.
func Adapt[I any](name string, build func(capacity int, in *I) (frontend.Circuit, any, error)) func(int, json.RawMessage) (frontend.Circuit, any, error) {
	return func(capacity int, raw json.RawMessage) (frontend.Circuit, any, error) {
		in := new(I)
		if err := DecodeInput(name, raw, in); err != nil {
			return nil, nil, err
		}
		w, out, err := build(capacity, in)
		if err != nil {
			return nil, nil, FromInputError(err)
		}
		return w, out, nil
	}
}

// Outputs are a claim's JSON outputs: "commitment" in decimal next to the JSON
// fields of out (a struct whose own commitment and private figures are tagged "-").
func Outputs(commitment fr.Element, out any) json.RawMessage {
	b, err := json.Marshal(out)
	var fields map[string]json.RawMessage
	if err == nil {
		err = json.Unmarshal(b, &fields)
	}
	if err != nil {
		panic(err) // outputs are plain structs
	}
	fields["commitment"], _ = json.Marshal(Decimal(commitment))
	b, _ = json.Marshal(fields)
	return b
}

// Salt is the salt of a JSON input: a decimal field element in a string.
type Salt fr.Element

// UnmarshalJSON reads the decimal string as ParseSalt does.
func (s *Salt) UnmarshalJSON(b []byte) error {
	var str string
	if json.Unmarshal(b, &str) != nil {
		return errSalt
	}
	e, err := parseSalt(str)
	*s = Salt(e)
	return err
}

// String is the salt in decimal.
func (s Salt) String() string { return Decimal(fr.Element(s)) }

// MarshalJSON writes the salt as a decimal string.
func (s Salt) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// VectorSalt draws a vector's salt below 2^248, as TypeScript's randomSalt does.
func VectorSalt(rng *rand.Rand) Salt {
	var s fr.Element
	s.SetBigInt(new(big.Int).Rand(rng, new(big.Int).Lsh(big.NewInt(1), 248)))
	return Salt(s)
}

// Cases draws a claim's vectors, one per case, from one seeded generator (the
// same vectors on every run).
func Cases[T any](seed int64, cases []T, draw func(rng *rand.Rand, c T) Vector) []Vector {
	rng := rand.New(rand.NewSource(seed))
	vs := make([]Vector, len(cases))
	for i, c := range cases {
		vs[i] = draw(rng, c)
	}
	return vs
}

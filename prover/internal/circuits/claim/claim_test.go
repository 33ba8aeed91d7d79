package claim

import (
	"encoding/json"
	"errors"
	"math/rand"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/common"
)

type testInput struct {
	Salt Salt     `json:"salt"`
	N    uint64   `json:"n"`
	Xs   []uint64 `json:"xs"`
}

type testOutputs struct {
	Commitment fr.Element `json:"-"`
	N          uint64     `json:"n"`
	Private    uint64     `json:"-"`
}

var assign = Adapt("test", func(capacity int, in *testInput) (frontend.Circuit, any, error) {
	if in.N == 0 {
		return nil, nil, common.Errorf("INPUT_FILE_EMPTY", "no records")
	}
	return nil, Outputs(fr.Element(in.Salt), &testOutputs{N: in.N, Private: 7}), nil
})

// Strict decoding, salts read as ParseSalt reads them, input errors keep their
// codes, and the outputs carry the commitment in decimal and no private figure.
func TestAdapt(t *testing.T) {
	_, out, err := assign(1, json.RawMessage(`{"salt":"12345678901234567890123","n":3,"xs":[1]}`))
	if err != nil || string(out.(json.RawMessage)) != `{"commitment":"12345678901234567890123","n":3}` {
		t.Fatalf("outputs %s, %v", out, err)
	}
	for raw, want := range map[string]string{
		`{"salt":"1","n":1,"extra":0}`: `test input: json: unknown field "extra"`,
		`{"salt":"-1","n":1}`:          "test input: salt must be a decimal field element",
		`{"salt":"0x10","n":1}`:        "test input: salt must be a decimal field element",
		`{"salt":5,"n":1}`:             "test input: salt must be a decimal field element",
		`{"salt":"21888242871839275222246405745257275088548364400416034343698204186575808495617","n":1}`: "test input: salt must be a decimal field element",
	} {
		var e *Error
		if _, _, err := assign(1, json.RawMessage(raw)); !errors.As(err, &e) || e.Code != "INPUT_INVALID" || e.Msg != want {
			t.Errorf("%s: %v", raw, err)
		}
	}
	var e *Error
	if _, _, err := assign(1, json.RawMessage(`{"salt":"1","n":0}`)); !errors.As(err, &e) || e.Code != "INPUT_FILE_EMPTY" {
		t.Errorf("input error lost its code: %v", err)
	}
	s := Salt{}
	if b, _ := json.Marshal(VectorSalt(rand.New(rand.NewSource(1)))); json.Unmarshal(b, &s) != nil || s.String() == "0" {
		t.Errorf("a vector salt does not round-trip: %s", b)
	}
}

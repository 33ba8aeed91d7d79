package circuits

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/veritee/veritee/prover/internal/circuits/common"
)

// decodeInput parses a prove request's JSON input strictly (unknown fields are errors).
func decodeInput(name string, raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &Error{Code: "INPUT_INVALID", Msg: fmt.Sprintf("%s input: %v", name, err)}
	}
	return nil
}

// parseSalt reads a decimal field element.
func parseSalt(name, s string) (fr.Element, error) {
	var e fr.Element
	salt, ok := new(big.Int).SetString(s, 10)
	if !ok || salt.Sign() < 0 || salt.Cmp(fr.Modulus()) >= 0 {
		return e, &Error{Code: "INPUT_INVALID", Msg: name + " input: salt must be a decimal field element"}
	}
	e.SetBigInt(salt)
	return e, nil
}

// claimError maps a circuit package's input error to a protocol error.
func claimError(err error) error {
	var ie *common.InputError
	if errors.As(err, &ie) {
		return &Error{Code: ie.Code, Msg: ie.Msg}
	}
	return err
}

func decimal(e fr.Element) string { return e.BigInt(new(big.Int)).String() }

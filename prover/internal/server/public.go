package server

import (
	"fmt"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/witness"
	"github.com/veritee/veritee/prover/internal/export"
)

func publicStrings(w witness.Witness) ([]string, error) {
	v, ok := w.Vector().(fr.Vector)
	if !ok {
		return nil, fmt.Errorf("unexpected public witness type %T", w.Vector())
	}
	return export.PublicInputsJSON(v), nil
}

package server

import (
	"math/big"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/veritee/veritee/prover/internal/circuits"
	"github.com/veritee/veritee/prover/internal/export"
)

// commitments answers op "commitments": the BSB22 commitments a proof of the
// given input would carry (see export.Commitments), computed with the proving
// key of the size class. `veritee audit` compares them with a bundle's.
func (s *Server) commitments(req *Request) (any, error) {
	pw, err := s.prepare(req, "commitments")
	if err != nil {
		return nil, err
	}
	k, w, mask, outputs, t0 := pw.keys, pw.witness, pw.mask, pw.outputs, pw.t0
	if mask == nil {
		return nil, &circuits.Error{Code: "INPUT_INVALID", Msg: "commitments needs the mask the proof used"}
	}
	cms, err := export.Commitments(k.CCS, k.PK, w, mask)
	if err != nil {
		return nil, &circuits.Error{Code: "ZK_WITNESS_INVALID", Msg: "the witness does not satisfy the circuit: " + err.Error()}
	}
	return map[string]any{"commitments": cms, "outputs": outputs, "vk": k.Doc, "ms": time.Since(t0).Milliseconds()}, nil
}

// parseMask reads the optional mask of a prove or commitments request: a
// decimal field element (nil when absent).
func parseMask(s string) (*big.Int, error) {
	if s == "" {
		return nil, nil
	}
	m, ok := new(big.Int).SetString(s, 10)
	if !ok || m.Sign() < 0 || m.Cmp(fr.Modulus()) >= 0 || m.String() != s {
		return nil, &circuits.Error{Code: "INPUT_INVALID", Msg: "mask must be a decimal field element"}
	}
	return m, nil
}

package ceremony

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"fmt"
	"math/big"

	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fp"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/pedersen"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
	"github.com/consensys/gnark/constraint"
	cs "github.com/consensys/gnark/constraint/bn254"
	"github.com/veritee/veritee/prover/internal/export"
	"github.com/veritee/veritee/prover/internal/keys"
)

// g1Compressed and g2Compressed are gnark's compressed point sizes; an update
// proof is one of each.
const (
	g1Compressed = curve.SizeOfG1AffineCompressed
	g2Compressed = curve.SizeOfG2AffineCompressed
	proofBytes   = g1Compressed + g2Compressed
)

// vkFixedDigest computes keys.VKFixedDigest from what Initialize produced (the
// phase-1 α, β, the circuit's K and commitment layout; γ and each commitment
// key's G are the G2 generator in gnark's mpcsetup), without sealing. Verify
// compares it with the digest of the key it seals.
func vkFixedDigest(r *cs.R1CS, commons *mpcsetup.SrsCommons, evals *mpcsetup.Phase2Evaluations) (string, error) {
	_, _, _, g2 := curve.Generators()
	var vk groth16bn254.VerifyingKey
	vk.G1.Alpha = commons.G1.AlphaTau[0]
	vk.G2.Beta = commons.G2.Beta
	vk.G2.Gamma = g2
	vk.G1.K = evals.G1.VKK
	nbCommitments := len(r.CommitmentInfo.(constraint.Groth16Commitments))
	vk.PublicAndCommitmentCommitted = evals.PublicAndCommitmentCommitted
	vk.CommitmentKeys = make([]pedersen.VerifyingKey, nbCommitments)
	for i := range vk.CommitmentKeys {
		vk.CommitmentKeys[i].G = g2
	}
	return vkFixedFromVK(&vk)
}

func vkFixedFromVK(vk *groth16bn254.VerifyingKey) (string, error) {
	j, err := export.VerifyingKeyJSON(vk)
	if err != nil {
		return "", err
	}
	return keys.VKFixedDigest(j), nil
}

func fpDec(e *fp.Element) string {
	var b big.Int
	return e.BigInt(&b).String()
}

func g1J(p *curve.G1Affine) export.G1 { return export.G1{fpDec(&p.X), fpDec(&p.Y)} }

func g2J(p *curve.G2Affine) export.G2 {
	return export.G2{X: export.Fp2{fpDec(&p.X.A0), fpDec(&p.X.A1)}, Y: export.Fp2{fpDec(&p.Y.A0), fpDec(&p.Y.A1)}}
}

// sha256Midstate returns the SHA-256 chaining value after b (len(b) a multiple
// of 64), read from crypto/sha256's documented binary state ("sha\x03", then
// the eight 32-bit words big-endian).
func sha256Midstate(b []byte) (string, error) {
	if len(b)%64 != 0 {
		return "", fmt.Errorf("midstate of %d bytes: not whole blocks", len(b))
	}
	h := sha256.New()
	h.Write(b)
	st, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return "", err
	}
	if len(st) < 36 || string(st[:4]) != "sha\x03" {
		return "", fmt.Errorf("unexpected sha256 state encoding")
	}
	return hex.EncodeToString(st[4:36]), nil
}

// chainStep summarises one verified contribution state (its canonical bytes b).
func chainStep(b []byte, p *mpcsetup.Phase2) (keys.ChainStep, error) {
	nbSigma := len(p.Parameters.G2.Sigma)
	// the state ends with the δ proof, the σ proofs and the challenge (one length byte + bytes)
	tailBytes := proofBytes*(1+nbSigma) + 1 + len(p.Challenge)
	if tailBytes > len(b) {
		return keys.ChainStep{}, fmt.Errorf("state of %d bytes is shorter than its proofs", len(b))
	}
	prefix := (len(b) - tailBytes) / 64 * 64
	mid, err := sha256Midstate(b[:prefix])
	if err != nil {
		return keys.ChainStep{}, err
	}
	st := keys.ChainStep{
		PrefixLen: prefix, Midstate: mid, Tail: hex.EncodeToString(b[prefix:]),
		Delta1: g1J(&p.Parameters.G1.Delta), Delta2: g2J(&p.Parameters.G2.Delta),
		Sigma2: make([]export.G2, nbSigma), SigmaProofs: make([]keys.ChainProof, nbSigma),
	}
	for i := range p.Parameters.G2.Sigma {
		st.Sigma2[i] = g2J(&p.Parameters.G2.Sigma[i])
	}
	// the proofs' points, decoded from their canonical bytes at the end of the state
	end := len(b) - 1 - len(p.Challenge)
	pr := b[end-proofBytes*(1+nbSigma) : end]
	dec := func(off int) (keys.ChainProof, error) {
		var x curve.G1Affine
		var pok curve.G2Affine
		if _, err := x.SetBytes(pr[off : off+g1Compressed]); err != nil {
			return keys.ChainProof{}, err
		}
		if _, err := pok.SetBytes(pr[off+g1Compressed : off+proofBytes]); err != nil {
			return keys.ChainProof{}, err
		}
		return keys.ChainProof{X: g1J(&x), Pok: g2J(&pok)}, nil
	}
	if st.DeltaProof, err = dec(0); err != nil {
		return keys.ChainStep{}, err
	}
	for i := 0; i < nbSigma; i++ {
		if st.SigmaProofs[i], err = dec(proofBytes * (1 + i)); err != nil {
			return keys.ChainStep{}, err
		}
	}
	// the layout assumption above is checked: the tail re-encodes to the same bytes
	var enc bytes.Buffer
	p.Delta.WriteTo(&enc)
	for i := range p.Sigmas {
		p.Sigmas[i].WriteTo(&enc)
	}
	if !bytes.Equal(enc.Bytes(), pr) {
		return keys.ChainStep{}, fmt.Errorf("the state's proofs are not at its end")
	}
	return st, nil
}

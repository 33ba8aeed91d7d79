package export

import (
	"fmt"
	"hash/fnv"
	"math/big"

	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/hash_to_field"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/backend/witness"
	"github.com/consensys/gnark/constraint"
	cs "github.com/consensys/gnark/constraint/bn254"
	"github.com/consensys/gnark/constraint/solver"
	fcs "github.com/consensys/gnark/frontend/cs"
)

// randomizeHint is the name of the hint gnark's R1CS builder calls in every
// api.Commit for a random mask wire it adds to the committed variables (from
// gnark v0.15: the commitment hides by itself). The hint lives in an internal
// package, so its ID is derived here the way solver.GetHintID derives it.
const randomizeHint = "github.com/consensys/gnark/internal/hints.Randomize"

func randomizeHintID() solver.HintID {
	h := fnv.New32a()
	h.Write([]byte(randomizeHint))
	return solver.HintID(h.Sum32())
}

// MaskOption fixes the mask of every BSB22 commitment to mask (instead of a
// fresh random value), so that the commitment a proof carries can be
// recomputed by whoever knows the committed data and the mask. The caller
// derives the mask from a secret (veritee: from the claim's salt).
func MaskOption(mask *big.Int) solver.Option {
	m := new(big.Int).Set(mask)
	return solver.OverrideHint(randomizeHintID(), func(_ *big.Int, in []*big.Int, out []*big.Int) error {
		if len(in) != 0 {
			return fmt.Errorf("export: the mask hint takes no input")
		}
		for i := range out {
			out[i].Set(m)
		}
		return nil
	})
}

// Commitments returns the BSB22 commitments a Groth16 proof of the full
// witness w would carry, without proving: the witness is solved with the
// commitment hint computed as gnark's prover computes it (Pedersen commitment
// of the private committed wires under the proving key's commitment basis,
// then hash-to-field of the commitment). gnark's commitments have no blinding
// term, so they are a function of the witness alone; a holder of the data the
// witness is built from recomputes the very points a proof carries (an audit).
//
// mask is the mask the proof used (MaskOption).
func Commitments(ccs constraint.ConstraintSystem, pk groth16.ProvingKey, w witness.Witness, mask *big.Int) ([]G1, error) {
	r1cs, ok := ccs.(*cs.R1CS)
	if !ok {
		return nil, fmt.Errorf("export: constraint system is %T, want a BN254 R1CS", ccs)
	}
	pkb, ok := pk.(*groth16bn254.ProvingKey)
	if !ok {
		return nil, fmt.Errorf("export: proving key is %T, want a BN254 key", pk)
	}
	info := r1cs.CommitmentInfo.(constraint.Groth16Commitments)
	points := make([]curve.G1Affine, len(info))
	hashFn := hash_to_field.New([]byte(constraint.CommitmentDst))
	id := solver.GetHintID(fcs.Bsb22CommitmentComputePlaceholder)
	override := solver.OverrideHint(id, func(_ *big.Int, in []*big.Int, out []*big.Int) error {
		i := int(in[0].Int64())
		in = in[1:]
		hashed := in[:len(info[i].PublicAndCommitmentCommitted)]
		committed := in[len(hashed):]
		values := make([]fr.Element, len(committed))
		for j := range committed {
			values[j].SetBigInt(committed[j])
		}
		var err error
		if points[i], err = pkb.CommitmentKeys[i].Commit(values); err != nil {
			return err
		}
		hashFn.Write(constraint.SerializeCommitment(points[i].Marshal(), hashed, (fr.Bits-1)/8+1))
		h := hashFn.Sum(nil)
		hashFn.Reset()
		nb := fr.Bytes
		if hashFn.Size() < fr.Bytes {
			nb = hashFn.Size()
		}
		var res fr.Element
		res.SetBytes(h[:nb])
		res.BigInt(out[0])
		return nil
	})
	if _, err := r1cs.Solve(w, override, MaskOption(mask)); err != nil {
		return nil, err
	}
	out := make([]G1, len(points))
	for i := range points {
		out[i] = g1JSON(&points[i])
	}
	return out, nil
}

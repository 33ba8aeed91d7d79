// Package export converts gnark's BN254 Groth16 verifying keys and proofs (with
// gnark's BSB22 commitment extension) to and from the JSON format read by the
// TypeScript verifier in packages/zk/src/groth16.
//
// Field elements are canonical decimal strings (no sign, no leading zeros).
//
//	G1 = ["x", "y"]                                  (infinity = ["0", "0"])
//	G2 = {"x": ["c0", "c1"], "y": ["c0", "c1"]}      (element = c0 + c1·u)
//
//	VK    = {"protocol":"groth16","curve":"bn254","alpha":G1,"beta":G2,"gamma":G2,"delta":G2,
//	         "ic":[G1,...],"commitmentKeys":[{"g":G2,"gSigmaNeg":G2},...],
//	         "publicAndCommitmentCommitted":[[int,...],...],"nbPublic":int}
//	Proof = {"ar":G1,"bs":G2,"krs":G1,"commitments":[G1,...],"commitmentPok":G1}
//
// "nbPublic" is the number of public inputs the caller supplies: it excludes the
// constant-one wire and the public inputs derived from commitments, so
// len(ic) == nbPublic + 1 + len(commitmentKeys).
package export

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"regexp"

	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fp"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/pedersen"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
)

// ErrMalformed marks structurally invalid input (bad encoding, point not on the
// curve or not in the subgroup, inconsistent lengths). A well-formed proof that
// does not verify is reported by Verify with an error that is not ErrMalformed.
var ErrMalformed = errors.New("malformed groth16 data")

// G1 is an affine G1 point as [x, y] decimal strings.
type G1 [2]string

// Fp2 is an element c0 + c1·u of the quadratic extension as [c0, c1].
type Fp2 [2]string

// G2 is an affine G2 point.
type G2 struct {
	X Fp2 `json:"x"`
	Y Fp2 `json:"y"`
}

// unmarshalPair decodes a JSON array of exactly two strings (encoding/json would
// silently drop extra elements of a Go array).
func unmarshalPair(data []byte, what string) ([2]string, error) {
	var s []string
	if err := json.Unmarshal(data, &s); err != nil {
		return [2]string{}, fmt.Errorf("%w: %s: %v", ErrMalformed, what, err)
	}
	if s == nil || len(s) != 2 {
		return [2]string{}, fmt.Errorf("%w: %s: expected an array of 2 decimal strings", ErrMalformed, what)
	}
	return [2]string{s[0], s[1]}, nil
}

// UnmarshalJSON requires exactly two strings.
func (p *G1) UnmarshalJSON(data []byte) error {
	v, err := unmarshalPair(data, "G1 point")
	*p = v
	return err
}

// UnmarshalJSON requires exactly two strings.
func (p *Fp2) UnmarshalJSON(data []byte) error {
	v, err := unmarshalPair(data, "Fp2 element")
	*p = v
	return err
}

// CommitmentKeyJSON is a Pedersen verifying key (one per commitment).
type CommitmentKeyJSON struct {
	G         G2 `json:"g"`
	GSigmaNeg G2 `json:"gSigmaNeg"`
}

// VKJSON is the JSON form of a BN254 Groth16 verifying key.
type VKJSON struct {
	Protocol                     string              `json:"protocol"`
	Curve                        string              `json:"curve"`
	Alpha                        G1                  `json:"alpha"`
	Beta                         G2                  `json:"beta"`
	Gamma                        G2                  `json:"gamma"`
	Delta                        G2                  `json:"delta"`
	IC                           []G1                `json:"ic"`
	CommitmentKeys               []CommitmentKeyJSON `json:"commitmentKeys"`
	PublicAndCommitmentCommitted [][]int             `json:"publicAndCommitmentCommitted"`
	NbPublic                     int                 `json:"nbPublic"`
}

// ProofJSONT is the JSON form of a BN254 Groth16 proof.
type ProofJSONT struct {
	Ar            G1   `json:"ar"`
	Bs            G2   `json:"bs"`
	Krs           G1   `json:"krs"`
	Commitments   []G1 `json:"commitments"`
	CommitmentPok G1   `json:"commitmentPok"`
}

// ---------------------------------------------------------------------------
// gnark -> JSON

func fpStr(e *fp.Element) string {
	var b big.Int
	return e.BigInt(&b).String()
}

func g1JSON(p *curve.G1Affine) G1 { return G1{fpStr(&p.X), fpStr(&p.Y)} }

func g2JSON(p *curve.G2Affine) G2 {
	return G2{
		X: Fp2{fpStr(&p.X.A0), fpStr(&p.X.A1)},
		Y: Fp2{fpStr(&p.Y.A0), fpStr(&p.Y.A1)},
	}
}

// VerifyingKeyJSON converts a gnark BN254 Groth16 verifying key.
func VerifyingKeyJSON(vk groth16.VerifyingKey) (*VKJSON, error) {
	v, ok := vk.(*groth16bn254.VerifyingKey)
	if !ok {
		return nil, fmt.Errorf("export: verifying key is %T, want *bn254.VerifyingKey", vk)
	}
	nbCommitments := len(v.PublicAndCommitmentCommitted)
	if len(v.CommitmentKeys) != nbCommitments {
		return nil, fmt.Errorf("export: %d commitment keys for %d commitments", len(v.CommitmentKeys), nbCommitments)
	}
	nbPublic := len(v.G1.K) - 1 - nbCommitments
	if nbPublic < 0 {
		return nil, fmt.Errorf("export: verifying key has %d K points for %d commitments", len(v.G1.K), nbCommitments)
	}
	out := &VKJSON{
		Protocol:                     "groth16",
		Curve:                        "bn254",
		Alpha:                        g1JSON(&v.G1.Alpha),
		Beta:                         g2JSON(&v.G2.Beta),
		Gamma:                        g2JSON(&v.G2.Gamma),
		Delta:                        g2JSON(&v.G2.Delta),
		IC:                           make([]G1, len(v.G1.K)),
		CommitmentKeys:               make([]CommitmentKeyJSON, nbCommitments),
		PublicAndCommitmentCommitted: make([][]int, nbCommitments),
		NbPublic:                     nbPublic,
	}
	for i := range v.G1.K {
		out.IC[i] = g1JSON(&v.G1.K[i])
	}
	for i := range v.CommitmentKeys {
		out.CommitmentKeys[i] = CommitmentKeyJSON{G: g2JSON(&v.CommitmentKeys[i].G), GSigmaNeg: g2JSON(&v.CommitmentKeys[i].GSigmaNeg)}
		out.PublicAndCommitmentCommitted[i] = append([]int{}, v.PublicAndCommitmentCommitted[i]...)
	}
	return out, nil
}

// ProofJSON converts a gnark BN254 Groth16 proof.
func ProofJSON(p groth16.Proof) (*ProofJSONT, error) {
	pr, ok := p.(*groth16bn254.Proof)
	if !ok {
		return nil, fmt.Errorf("export: proof is %T, want *bn254.Proof", p)
	}
	out := &ProofJSONT{
		Ar:            g1JSON(&pr.Ar),
		Bs:            g2JSON(&pr.Bs),
		Krs:           g1JSON(&pr.Krs),
		Commitments:   make([]G1, len(pr.Commitments)),
		CommitmentPok: g1JSON(&pr.CommitmentPok),
	}
	for i := range pr.Commitments {
		out.Commitments[i] = g1JSON(&pr.Commitments[i])
	}
	return out, nil
}

// PublicInputsJSON converts public inputs (gnark's public witness vector, without
// the constant one) to decimal strings.
func PublicInputsJSON(public fr.Vector) []string {
	out := make([]string, len(public))
	var b big.Int
	for i := range public {
		out[i] = public[i].BigInt(&b).String()
	}
	return out
}

// ---------------------------------------------------------------------------
// JSON -> gnark (strict)

var decimalRe = regexp.MustCompile(`^(0|[1-9][0-9]*)$`)

func malformed(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrMalformed, field, fmt.Sprintf(format, args...))
}

func parseDecimal(field, s string, modulus *big.Int) (*big.Int, error) {
	if len(s) > 100 || !decimalRe.MatchString(s) {
		return nil, malformed(field, "not a canonical decimal integer: %q", s)
	}
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, malformed(field, "not a decimal integer: %q", s)
	}
	if v.Cmp(modulus) >= 0 {
		return nil, malformed(field, "value not below the field modulus")
	}
	return v, nil
}

func parseFp(field, s string) (fp.Element, error) {
	var e fp.Element
	v, err := parseDecimal(field, s, fp.Modulus())
	if err != nil {
		return e, err
	}
	e.SetBigInt(v)
	return e, nil
}

func parseG1(field string, j G1) (curve.G1Affine, error) {
	var p curve.G1Affine
	var err error
	if p.X, err = parseFp(field+".x", j[0]); err != nil {
		return p, err
	}
	if p.Y, err = parseFp(field+".y", j[1]); err != nil {
		return p, err
	}
	// (0,0) is the point at infinity; IsOnCurve accepts it. G1 has cofactor 1.
	if !p.IsInSubGroup() {
		return p, malformed(field, "point is not on the curve")
	}
	return p, nil
}

func parseG2(field string, j G2) (curve.G2Affine, error) {
	var p curve.G2Affine
	var err error
	if p.X.A0, err = parseFp(field+".x[0]", j.X[0]); err != nil {
		return p, err
	}
	if p.X.A1, err = parseFp(field+".x[1]", j.X[1]); err != nil {
		return p, err
	}
	if p.Y.A0, err = parseFp(field+".y[0]", j.Y[0]); err != nil {
		return p, err
	}
	if p.Y.A1, err = parseFp(field+".y[1]", j.Y[1]); err != nil {
		return p, err
	}
	if !p.IsOnCurve() {
		return p, malformed(field, "point is not on the twist curve")
	}
	if !p.IsInSubGroup() {
		return p, malformed(field, "point is not in the G2 subgroup")
	}
	return p, nil
}

// ProofFromJSON parses and validates a proof (canonical field elements, points on
// the curve, Bs in the G2 subgroup). It does not check lengths against a key;
// Verify does.
func ProofFromJSON(j *ProofJSONT) (groth16.Proof, error) {
	return proofFromJSON(j)
}

func proofFromJSON(j *ProofJSONT) (*groth16bn254.Proof, error) {
	if j == nil {
		return nil, malformed("proof", "missing")
	}
	var p groth16bn254.Proof
	var err error
	if p.Ar, err = parseG1("proof.ar", j.Ar); err != nil {
		return nil, err
	}
	if p.Bs, err = parseG2("proof.bs", j.Bs); err != nil {
		return nil, err
	}
	if p.Krs, err = parseG1("proof.krs", j.Krs); err != nil {
		return nil, err
	}
	if j.Commitments == nil {
		return nil, malformed("proof.commitments", "missing")
	}
	p.Commitments = make([]curve.G1Affine, len(j.Commitments))
	for i := range j.Commitments {
		if p.Commitments[i], err = parseG1(fmt.Sprintf("proof.commitments[%d]", i), j.Commitments[i]); err != nil {
			return nil, err
		}
	}
	if p.CommitmentPok, err = parseG1("proof.commitmentPok", j.CommitmentPok); err != nil {
		return nil, err
	}
	return &p, nil
}

// VerifyingKeyFromJSON parses and validates a verifying key and precomputes
// what gnark's verifier needs. Besides encodings and subgroups it checks that the
// lengths are consistent, that every committed index refers to a public input or
// an earlier commitment, that all commitment keys share G, and that α, β, γ, δ
// are not the point at infinity.
func VerifyingKeyFromJSON(j *VKJSON) (groth16.VerifyingKey, error) {
	return vkFromJSON(j)
}

func vkFromJSON(j *VKJSON) (*groth16bn254.VerifyingKey, error) {
	if j == nil {
		return nil, malformed("vk", "missing")
	}
	if j.Protocol != "groth16" {
		return nil, malformed("vk.protocol", "expected \"groth16\", got %q", j.Protocol)
	}
	if j.Curve != "bn254" {
		return nil, malformed("vk.curve", "expected \"bn254\", got %q", j.Curve)
	}
	var vk groth16bn254.VerifyingKey
	var err error
	if vk.G1.Alpha, err = parseG1("vk.alpha", j.Alpha); err != nil {
		return nil, err
	}
	if vk.G2.Beta, err = parseG2("vk.beta", j.Beta); err != nil {
		return nil, err
	}
	if vk.G2.Gamma, err = parseG2("vk.gamma", j.Gamma); err != nil {
		return nil, err
	}
	if vk.G2.Delta, err = parseG2("vk.delta", j.Delta); err != nil {
		return nil, err
	}
	for _, c := range []struct {
		field string
		inf   bool
	}{{"vk.alpha", vk.G1.Alpha.IsInfinity()}, {"vk.beta", vk.G2.Beta.IsInfinity()}, {"vk.gamma", vk.G2.Gamma.IsInfinity()}, {"vk.delta", vk.G2.Delta.IsInfinity()}} {
		if c.inf {
			return nil, malformed(c.field, "point at infinity")
		}
	}
	if j.CommitmentKeys == nil || j.PublicAndCommitmentCommitted == nil || j.IC == nil {
		return nil, malformed("vk", "ic, commitmentKeys and publicAndCommitmentCommitted are required")
	}
	nbCommitments := len(j.PublicAndCommitmentCommitted)
	if len(j.CommitmentKeys) != nbCommitments {
		return nil, malformed("vk.commitmentKeys", "%d keys for %d commitments", len(j.CommitmentKeys), nbCommitments)
	}
	if j.NbPublic < 0 || j.NbPublic > 1<<24 {
		return nil, malformed("vk.nbPublic", "out of range: %d", j.NbPublic)
	}
	if len(j.IC) != j.NbPublic+1+nbCommitments {
		return nil, malformed("vk.ic", "expected %d points (nbPublic + 1 + commitments), got %d", j.NbPublic+1+nbCommitments, len(j.IC))
	}
	vk.G1.K = make([]curve.G1Affine, len(j.IC))
	for i := range j.IC {
		if vk.G1.K[i], err = parseG1(fmt.Sprintf("vk.ic[%d]", i), j.IC[i]); err != nil {
			return nil, err
		}
	}
	vk.CommitmentKeys = make([]pedersen.VerifyingKey, nbCommitments)
	vk.PublicAndCommitmentCommitted = make([][]int, nbCommitments)
	for i := range j.CommitmentKeys {
		if vk.CommitmentKeys[i].G, err = parseG2(fmt.Sprintf("vk.commitmentKeys[%d].g", i), j.CommitmentKeys[i].G); err != nil {
			return nil, err
		}
		if vk.CommitmentKeys[i].GSigmaNeg, err = parseG2(fmt.Sprintf("vk.commitmentKeys[%d].gSigmaNeg", i), j.CommitmentKeys[i].GSigmaNeg); err != nil {
			return nil, err
		}
		if !vk.CommitmentKeys[i].G.Equal(&vk.CommitmentKeys[0].G) {
			return nil, malformed(fmt.Sprintf("vk.commitmentKeys[%d].g", i), "differs from commitmentKeys[0].g")
		}
		if vk.CommitmentKeys[i].G.IsInfinity() || vk.CommitmentKeys[i].GSigmaNeg.IsInfinity() {
			return nil, malformed(fmt.Sprintf("vk.commitmentKeys[%d]", i), "point at infinity")
		}
		committed := j.PublicAndCommitmentCommitted[i]
		if committed == nil {
			return nil, malformed(fmt.Sprintf("vk.publicAndCommitmentCommitted[%d]", i), "missing")
		}
		for k, idx := range committed {
			// 1-based index into the public witness as it stands when commitment i
			// is hashed: the nbPublic inputs followed by the i earlier commitment hashes.
			if idx < 1 || idx > j.NbPublic+i {
				return nil, malformed(fmt.Sprintf("vk.publicAndCommitmentCommitted[%d][%d]", i, k), "index %d out of range [1, %d]", idx, j.NbPublic+i)
			}
		}
		vk.PublicAndCommitmentCommitted[i] = append([]int{}, committed...)
	}
	if err := vk.Precompute(); err != nil {
		return nil, fmt.Errorf("export: precompute: %w", err)
	}
	return &vk, nil
}

// PublicInputsFromJSON parses decimal public inputs (each must be < r).
func PublicInputsFromJSON(public []string) (fr.Vector, error) {
	out := make(fr.Vector, len(public))
	for i, s := range public {
		v, err := parseDecimal(fmt.Sprintf("publicInputs[%d]", i), s, fr.Modulus())
		if err != nil {
			return nil, err
		}
		out[i].SetBigInt(v)
	}
	return out, nil
}

// Verify parses the three JSON values and runs gnark's Groth16 verifier. Errors
// wrapping ErrMalformed are structural; any other error means the proof was
// well formed but rejected.
func Verify(vkJ *VKJSON, proofJ *ProofJSONT, public []string) error {
	vk, err := cachedVK(vkJ)
	if err != nil {
		return err
	}
	proof, err := proofFromJSON(proofJ)
	if err != nil {
		return err
	}
	if len(proof.Commitments) != len(vk.CommitmentKeys) {
		return malformed("proof.commitments", "expected %d commitments, got %d", len(vk.CommitmentKeys), len(proof.Commitments))
	}
	if len(public) != vkJ.NbPublic {
		return malformed("publicInputs", "expected %d public inputs, got %d", vkJ.NbPublic, len(public))
	}
	w, err := PublicInputsFromJSON(public)
	if err != nil {
		return err
	}
	return groth16bn254.Verify(proof, vk, w)
}

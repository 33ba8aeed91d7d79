package ceremony

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math/big"
	"os"

	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fp"
	cmpc "github.com/consensys/gnark-crypto/ecc/bn254/mpcsetup"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
)

// A snarkjs .ptau file (binfileutils): "ptau", version u32, nSections u32, then
// sections {type u32, size u64, data}. Section 1 (header): n8 u32, q (n8 bytes,
// little-endian), power u32, ceremonyPower u32. Sections 2-6: [τⁱ]₁ (2·2ᵖ−1
// points), [τⁱ]₂ (2ᵖ), [ατⁱ]₁ (2ᵖ), [βτⁱ]₁ (2ᵖ), [β]₂ (1). A point is its affine
// coordinates in Montgomery form (R = 2²⁵⁶), each coordinate 4 little-endian
// 64-bit limbs, the same representation as gnark-crypto's fp.Element; G2
// coordinates are c0 then c1; the point at infinity is all zeros.
//
// THREAT MODEL: the file's contribution history is checked by `snarkjs
// powersoftau verify` (the CLI runs it first); here every point is checked on
// the curve and in its subgroup, [τ⁰] must be the generators, and the powers
// must be geometric sequences with one τ across both groups and α, β consistent
// (same-ratio checks), so the result is a well-formed SrsCommons whatever the file.

const (
	ptauSecHeader  = 1
	ptauSecTauG1   = 2
	ptauSecTauG2   = 3
	ptauSecAlphaG1 = 4
	ptauSecBetaG1  = 5
	ptauSecBetaG2  = 6
)

type ptauSection struct {
	offset int64
	size   uint64
}

// ReadPtau reads the powers of tau a domain of size n needs (n a power of two at
// most the file's 2^power) from a snarkjs .ptau file and checks them.
func ReadPtau(path string, n int) (*mpcsetup.SrsCommons, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, errf(CodeInput, "cannot open %s: %v", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	var hdr [12]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil || string(hdr[:4]) != "ptau" {
		return nil, 0, errf(CodePtau, "%s is not a .ptau file (no \"ptau\" magic)", path)
	}
	nSec := binary.LittleEndian.Uint32(hdr[8:])
	if nSec > 64 {
		return nil, 0, errf(CodePtau, "%s declares %d sections", path, nSec)
	}
	secs := map[uint32]ptauSection{}
	pos := int64(12)
	for i := uint32(0); i < nSec; i++ {
		var sh [12]byte
		if _, err := f.ReadAt(sh[:], pos); err != nil {
			return nil, 0, errf(CodePtau, "%s: section header %d truncated", path, i)
		}
		typ := binary.LittleEndian.Uint32(sh[:4])
		size := binary.LittleEndian.Uint64(sh[4:])
		pos += 12
		if size > uint64(st.Size()-pos) {
			return nil, 0, errf(CodePtau, "%s: section %d (%d bytes) runs past the end of the file", path, typ, size)
		}
		if _, dup := secs[typ]; dup {
			return nil, 0, errf(CodePtau, "%s: section %d appears twice", path, typ)
		}
		secs[typ] = ptauSection{offset: pos, size: size}
		pos += int64(size)
	}
	h, ok := secs[ptauSecHeader]
	if !ok || h.size < 4+32+8 {
		return nil, 0, errf(CodePtau, "%s: missing or short header section", path)
	}
	hb := make([]byte, h.size)
	if _, err := f.ReadAt(hb, h.offset); err != nil {
		return nil, 0, err
	}
	if n8 := binary.LittleEndian.Uint32(hb[:4]); n8 != 32 {
		return nil, 0, errf(CodePtau, "%s: field elements of %d bytes, want 32 (bn128)", path, n8)
	}
	q := new(big.Int).SetBytes(reverse(hb[4:36]))
	if q.Cmp(fp.Modulus()) != 0 {
		return nil, 0, errf(CodePtau, "%s: the curve is not bn128/BN254", path)
	}
	power := int(binary.LittleEndian.Uint32(hb[36:40]))
	if power < 1 || power > MaxPower {
		return nil, 0, errf(CodePtau, "%s: power %d out of range", path, power)
	}
	full := 1 << power
	if n < 2 || n > full || n&(n-1) != 0 {
		return nil, power, errf(CodeMismatch, "%s holds powers for a domain of %d; the circuit needs %d", path, full, n)
	}
	want := map[uint32]uint64{
		ptauSecTauG1: uint64(2*full-1) * 64, ptauSecTauG2: uint64(full) * 128,
		ptauSecAlphaG1: uint64(full) * 64, ptauSecBetaG1: uint64(full) * 64, ptauSecBetaG2: 128,
	}
	for typ, size := range want {
		if s, ok := secs[typ]; !ok || s.size != size {
			return nil, power, errf(CodePtau, "%s: section %d is missing or not %d bytes", path, typ, size)
		}
	}
	var c mpcsetup.SrsCommons
	if c.G1.Tau, err = readG1s(f, secs[ptauSecTauG1], 2*n-1); err != nil {
		return nil, power, errf(CodePtau, "%s: [τ]₁: %v", path, err)
	}
	if c.G2.Tau, err = readG2s(f, secs[ptauSecTauG2], n); err != nil {
		return nil, power, errf(CodePtau, "%s: [τ]₂: %v", path, err)
	}
	if c.G1.AlphaTau, err = readG1s(f, secs[ptauSecAlphaG1], n); err != nil {
		return nil, power, errf(CodePtau, "%s: [ατ]₁: %v", path, err)
	}
	if c.G1.BetaTau, err = readG1s(f, secs[ptauSecBetaG1], n); err != nil {
		return nil, power, errf(CodePtau, "%s: [βτ]₁: %v", path, err)
	}
	b2, err := readG2s(f, secs[ptauSecBetaG2], 1)
	if err != nil {
		return nil, power, errf(CodePtau, "%s: [β]₂: %v", path, err)
	}
	c.G2.Beta = b2[0]
	if err := CheckCommons(&c); err != nil {
		return nil, power, errf(CodePtau, "%s: %s", path, err.Error())
	}
	return &c, power, nil
}

// CheckCommons checks that an SrsCommons is a consistent powers-of-tau: τ⁰ terms
// are the generators, nothing degenerates to infinity, all sequences share one
// ratio τ across both groups, and [β]₁, [β]₂ agree.
func CheckCommons(c *mpcsetup.SrsCommons) error {
	_, _, g1, g2 := curve.Generators()
	n := len(c.G1.AlphaTau)
	if n < 2 || len(c.G1.Tau) != 2*n-1 || len(c.G1.BetaTau) != n || len(c.G2.Tau) != n {
		return fmt.Errorf("inconsistent lengths")
	}
	if !c.G1.Tau[0].Equal(&g1) || !c.G2.Tau[0].Equal(&g2) {
		return fmt.Errorf("[τ⁰] is not the generator")
	}
	for _, p := range []*curve.G1Affine{&c.G1.Tau[1], &c.G1.AlphaTau[0], &c.G1.BetaTau[0]} {
		if p.IsInfinity() {
			return fmt.Errorf("a parameter is the point at infinity")
		}
	}
	if c.G2.Tau[1].IsInfinity() || c.G2.Beta.IsInfinity() {
		return fmt.Errorf("a G2 parameter is the point at infinity")
	}
	if err := cmpc.SameRatioMany(c.G1.Tau, c.G2.Tau, c.G1.AlphaTau, c.G1.BetaTau); err != nil {
		return fmt.Errorf("the powers are not consistent: %v", err)
	}
	// e([β]₁, g₂) = e(g₁, [β]₂)
	var negG1 curve.G1Affine
	negG1.Neg(&g1)
	ok, err := curve.PairingCheck([]curve.G1Affine{c.G1.BetaTau[0], negG1}, []curve.G2Affine{g2, c.G2.Beta})
	if err != nil || !ok {
		return fmt.Errorf("[β]₁ and [β]₂ disagree")
	}
	return nil
}

func reverse(b []byte) []byte {
	out := make([]byte, len(b))
	for i := range b {
		out[len(b)-1-i] = b[i]
	}
	return out
}

func readFp(b []byte) (fp.Element, error) {
	var e fp.Element
	for i := 0; i < 4; i++ {
		e[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	// Montgomery form is canonical only below the modulus.
	var raw big.Int
	raw.SetBytes(reverse(b[:32]))
	if raw.Cmp(fp.Modulus()) >= 0 {
		return e, fmt.Errorf("coordinate not reduced")
	}
	return e, nil
}

func readG1s(f *os.File, s ptauSection, count int) ([]curve.G1Affine, error) {
	r := bufio.NewReaderSize(io.NewSectionReader(f, s.offset, int64(count)*64), 1<<20)
	out := make([]curve.G1Affine, count)
	var buf [64]byte
	for i := range out {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return nil, err
		}
		x, err := readFp(buf[:32])
		if err != nil {
			return nil, fmt.Errorf("point %d: %v", i, err)
		}
		y, err := readFp(buf[32:])
		if err != nil {
			return nil, fmt.Errorf("point %d: %v", i, err)
		}
		out[i].X, out[i].Y = x, y
		if !out[i].IsInfinity() && (!out[i].IsOnCurve() || !out[i].IsInSubGroup()) {
			return nil, fmt.Errorf("point %d is not on the curve", i)
		}
	}
	return out, nil
}

func readG2s(f *os.File, s ptauSection, count int) ([]curve.G2Affine, error) {
	r := bufio.NewReaderSize(io.NewSectionReader(f, s.offset, int64(count)*128), 1<<20)
	out := make([]curve.G2Affine, count)
	var buf [128]byte
	for i := range out {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return nil, err
		}
		var e [4]fp.Element
		for j := range e {
			v, err := readFp(buf[32*j:])
			if err != nil {
				return nil, fmt.Errorf("point %d: %v", i, err)
			}
			e[j] = v
		}
		out[i].X.A0, out[i].X.A1, out[i].Y.A0, out[i].Y.A1 = e[0], e[1], e[2], e[3]
		if !out[i].IsInfinity() && (!out[i].IsOnCurve() || !out[i].IsInSubGroup()) {
			return nil, fmt.Errorf("G2 point %d is not in the subgroup", i)
		}
	}
	return out, nil
}

// Package profile times the steps of a BN254 Groth16 proof (gnark v0.15 keys and
// proofs) one after the other: witness solving, the BSB22 commitment proofs of
// knowledge, the quotient polynomial's FFTs, and each multi-scalar multiplication
// (A, B in G1, B in G2, K, H).
//
// gnark's groth16.Prove runs these steps concurrently and reports only its total, so
// a breakdown needs them apart. Prove here performs the same computation as gnark's
// bn254 prover, step by step, each step using every core, and assembles a real proof
// from the results; the tests verify that proof with gnark's verifier, so the timed
// steps are the work a proof needs. The server returns gnark's own proof; this pass
// only measures (it is run on request: "steps": true).
//
// Step times add up to more wall time than gnark's concurrent prover needs on a
// machine whose cores the MSMs do not saturate, and about the same when they do.
package profile

import (
	"fmt"
	"math/big"
	"runtime"
	"syscall"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/fft"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr/hash_to_field"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/backend/witness"
	"github.com/consensys/gnark/constraint"
	cs "github.com/consensys/gnark/constraint/bn254"
	"github.com/consensys/gnark/constraint/solver"
	fcs "github.com/consensys/gnark/frontend/cs"
)

// Step is one timed prover step.
type Step struct {
	Name string `json:"step"`
	// Size is the number of scalars of an MSM, the FFT domain size, or the number of constraints solved.
	Size   int     `json:"size"`
	WallMs float64 `json:"ms"`
	// CPUMs is the process's CPU time (user + system) during the step; CPUMs / WallMs is
	// the parallelism the step got (lower than the core count when other processes compete).
	CPUMs float64 `json:"cpuMs"`
}

// CPUNow is the process's CPU time so far (user + system); 0 if unavailable.
func CPUNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type timer struct {
	steps []Step
}

func (t *timer) run(name string, size int, f func() error) error {
	c0, w0 := CPUNow(), time.Now()
	err := f()
	t.steps = append(t.steps, Step{
		Name: name, Size: size,
		WallMs: float64(time.Since(w0).Microseconds()) / 1000,
		CPUMs:  float64((CPUNow() - c0).Microseconds()) / 1000,
	})
	return err
}

// Prove computes a Groth16 proof of the full witness w step by step and returns it
// with the time of each step. opts are the solver options of the real prove (the
// BSB22 commitment hint is overridden here as gnark's prover overrides it).
func Prove(ccs constraint.ConstraintSystem, pk groth16.ProvingKey, w witness.Witness, opts ...solver.Option) (*groth16bn254.Proof, []Step, error) {
	r1cs, ok := ccs.(*cs.R1CS)
	if !ok {
		return nil, nil, fmt.Errorf("profile: constraint system is %T, want a BN254 R1CS", ccs)
	}
	key, ok := pk.(*groth16bn254.ProvingKey)
	if !ok {
		return nil, nil, fmt.Errorf("profile: proving key is %T, want a BN254 key", pk)
	}
	info := r1cs.CommitmentInfo.(constraint.Groth16Commitments)
	proof := &groth16bn254.Proof{Commitments: make([]curve.G1Affine, len(info))}
	committed := make([][]fr.Element, len(info))
	t := &timer{}
	nCPU := runtime.NumCPU()

	// 1. solve, with the commitment hint computing the Pedersen commitment and its hash
	hashFn := hash_to_field.New([]byte(constraint.CommitmentDst))
	override := solver.OverrideHint(solver.GetHintID(fcs.Bsb22CommitmentComputePlaceholder), func(_ *big.Int, in []*big.Int, out []*big.Int) error {
		i := int(in[0].Int64())
		in = in[1:]
		hashed := in[:len(info[i].PublicAndCommitmentCommitted)]
		values := in[len(hashed):]
		committed[i] = make([]fr.Element, len(values))
		for j := range values {
			committed[i][j].SetBigInt(values[j])
		}
		var err error
		if proof.Commitments[i], err = key.CommitmentKeys[i].Commit(committed[i]); err != nil {
			return err
		}
		hashFn.Write(constraint.SerializeCommitment(proof.Commitments[i].Marshal(), hashed, (fr.Bits-1)/8+1))
		h := hashFn.Sum(nil)
		hashFn.Reset()
		var res fr.Element
		res.SetBytes(h[:min(fr.Bytes, hashFn.Size())])
		res.BigInt(out[0])
		return nil
	})
	var sol *cs.R1CSSolution
	if err := t.run("solve", r1cs.GetNbConstraints(), func() error {
		s, err := r1cs.Solve(w, append(append([]solver.Option{}, opts...), override)...)
		if err != nil {
			return err
		}
		sol = s.(*cs.R1CSSolution)
		return nil
	}); err != nil {
		return nil, nil, err
	}
	wires := []fr.Element(sol.W)

	// 2. proofs of knowledge of the commitments, folded with the challenge gnark derives
	nbCommitted := 0
	for i := range committed {
		nbCommitted += len(committed[i])
	}
	if err := t.run("commitment pok", nbCommitted, func() error {
		poks := make([]curve.G1Affine, len(info))
		for i := range info {
			var err error
			if poks[i], err = key.CommitmentKeys[i].ProveKnowledge(committed[i]); err != nil {
				return err
			}
		}
		ser := make([]byte, fr.Bytes*len(info))
		for i := range info {
			copy(ser[fr.Bytes*i:], wires[info[i].CommitmentIndex].Marshal())
		}
		ch, err := fr.Hash(ser, []byte("G16-BSB22"), 1)
		if err != nil {
			return err
		}
		_, err = proof.CommitmentPok.Fold(poks, ch[0], ecc.MultiExpConfig{NbTasks: 1})
		return err
	}); err != nil {
		return nil, nil, err
	}

	// 3. the quotient h = (a·b - c) / (Xⁿ - 1) through FFTs
	domain := &key.Domain
	n := int(domain.Cardinality)
	pad := func(v fr.Vector) []fr.Element {
		out := make([]fr.Element, n)
		copy(out, v)
		return out
	}
	a, b, c := pad(sol.A), pad(sol.B), pad(sol.C)
	sol.A, sol.B, sol.C = nil, nil, nil
	_ = t.run("fft: 3 inverse", n, func() error {
		domain.FFTInverse(a, fft.DIF)
		domain.FFTInverse(b, fft.DIF)
		domain.FFTInverse(c, fft.DIF)
		return nil
	})
	_ = t.run("fft: 3 on coset", n, func() error {
		domain.FFT(a, fft.DIT, fft.OnCoset())
		domain.FFT(b, fft.DIT, fft.OnCoset())
		domain.FFT(c, fft.DIT, fft.OnCoset())
		return nil
	})
	_ = t.run("fft: quotient + inverse on coset", n, func() error {
		// Xⁿ - 1 on the coset g·<ω> is the constant gⁿ - 1
		var den, one fr.Element
		one.SetOne()
		den.Exp(domain.FrMultiplicativeGen, big.NewInt(int64(n)))
		den.Sub(&den, &one).Inverse(&den)
		parallel(n, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				a[i].Mul(&a[i], &b[i]).Sub(&a[i], &c[i]).Mul(&a[i], &den)
			}
		})
		domain.FFTInverse(a, fft.DIF, fft.OnCoset())
		return nil
	})
	h := a
	b, c = nil, nil

	// 4. the MSMs, each alone on all cores
	var rr, ss, kr fr.Element
	if _, err := rr.SetRandom(); err != nil {
		return nil, nil, err
	}
	if _, err := ss.SetRandom(); err != nil {
		return nil, nil, err
	}
	kr.Mul(&rr, &ss).Neg(&kr)
	var rBig, sBig big.Int
	rr.BigInt(&rBig)
	ss.BigInt(&sBig)
	deltas := curve.BatchScalarMultiplicationG1(&key.G1.Delta, []fr.Element{rr, ss, kr})
	cfg := ecc.MultiExpConfig{NbTasks: nCPU}

	wA := skipInfinity(wires, key.InfinityA, int(key.NbInfinityA))
	wB := skipInfinity(wires, key.InfinityB, int(key.NbInfinityB))
	var ar, bs1, krs, krs2, p1 curve.G1Jac
	var bs curve.G2Jac
	if err := t.run("msm: A (G1)", len(wA), func() error {
		_, err := ar.MultiExp(key.G1.A, wA, cfg)
		return err
	}); err != nil {
		return nil, nil, err
	}
	if err := t.run("msm: B (G1)", len(wB), func() error {
		_, err := bs1.MultiExp(key.G1.B, wB, cfg)
		return err
	}); err != nil {
		return nil, nil, err
	}
	if err := t.run("msm: B (G2)", len(wB), func() error {
		_, err := bs.MultiExp(key.G2.B, wB, ecc.MultiExpConfig{NbTasks: 2 * nCPU})
		return err
	}); err != nil {
		return nil, nil, err
	}
	// K: the private wires without the committed ones and the commitment wires
	nbPublic := r1cs.GetNbPublicVariables()
	skip := map[int]bool{}
	for _, l := range info.GetPrivateCommitted() {
		for _, j := range l {
			skip[j] = true
		}
	}
	for _, j := range info.CommitmentIndexes() {
		skip[j] = true
	}
	wK := make([]fr.Element, 0, len(wires)-nbPublic)
	for i := nbPublic; i < len(wires); i++ {
		if !skip[i] {
			wK = append(wK, wires[i])
		}
	}
	if err := t.run("msm: K (G1)", len(wK), func() error {
		_, err := krs.MultiExp(key.G1.K, wK, cfg)
		return err
	}); err != nil {
		return nil, nil, err
	}
	if err := t.run("msm: H (G1)", n-1, func() error {
		_, err := krs2.MultiExp(key.G1.Z, h[:n-1], cfg)
		return err
	}); err != nil {
		return nil, nil, err
	}

	// 5. assemble: Ar = A + α + rδ, Bs = B₂ + β + sδ, Krs = K + H + s·Ar + r·B₁ - rsδ
	ar.AddMixed(&key.G1.Alpha)
	ar.AddMixed(&deltas[0])
	proof.Ar.FromJacobian(&ar)
	bs1.AddMixed(&key.G1.Beta)
	bs1.AddMixed(&deltas[1])
	var deltaS curve.G2Jac
	deltaS.FromAffine(&key.G2.Delta)
	deltaS.ScalarMultiplication(&deltaS, &sBig)
	bs.AddAssign(&deltaS)
	bs.AddMixed(&key.G2.Beta)
	proof.Bs.FromJacobian(&bs)
	krs.AddMixed(&deltas[2])
	krs.AddAssign(&krs2)
	p1.ScalarMultiplication(&ar, &sBig)
	krs.AddAssign(&p1)
	p1.ScalarMultiplication(&bs1, &rBig)
	krs.AddAssign(&p1)
	proof.Krs.FromJacobian(&krs)
	return proof, t.steps, nil
}

func skipInfinity(wires []fr.Element, infinity []bool, nbInfinity int) []fr.Element {
	out := make([]fr.Element, 0, len(wires)-nbInfinity)
	for i := range wires {
		if !infinity[i] {
			out = append(out, wires[i])
		}
	}
	return out
}

func parallel(n int, f func(lo, hi int)) {
	k := runtime.NumCPU()
	done := make(chan struct{}, k)
	for t := 0; t < k; t++ {
		lo, hi := n*t/k, n*(t+1)/k
		go func() {
			f(lo, hi)
			done <- struct{}{}
		}()
	}
	for t := 0; t < k; t++ {
		<-done
	}
}

package streamagg

import (
	"crypto/sha256"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/veritee/veritee/prover/internal/circuits/common"
	"github.com/veritee/veritee/prover/internal/commitment"
	"github.com/veritee/veritee/prover/internal/merkle"
	"github.com/veritee/veritee/prover/internal/sponge"
)

// readingPrefix is K·2^96, K the first 15 bytes of SHA-256(ReadingDomain); tsShift is 2^32.
var readingPrefix, tsShift = func() (*big.Int, *big.Int) {
	d := sha256.Sum256([]byte(ReadingDomain))
	k := new(big.Int).SetBytes(d[:15])
	return k.Lsh(k, 96), new(big.Int).Lsh(big.NewInt(1), 32)
}()

// Params are the public parameters.
type Params struct {
	WindowStartUs uint64 `json:"periodStartUs"`
	WindowEndUs   uint64 `json:"periodEndUs"`
	Threshold     uint64 `json:"threshold"`
}

// Reading is one private reading.
type Reading struct {
	Ts    uint64     `json:"ts"`
	Value uint64     `json:"value"`
	Salt  fr.Element `json:"-"`
}

// Input is everything the witness is built from.
type Input struct {
	Params   Params
	Readings []Reading
}

// Outputs are the public outputs.
type Outputs struct {
	Commitment fr.Element `json:"-"`
	N          uint64     `json:"n"`
	Sum        uint64     `json:"sum"`
	Mean       uint64     `json:"mean"`
	Above      uint64     `json:"above"`
}

// ReadingDigest is what a sensor signs: C(K·2^96 + ts·2^32 + value, salt).
// The reading must be in range (ts < 2^64, value < 2^32).
func ReadingDigest(r Reading) fr.Element {
	p := new(big.Int).SetUint64(r.Ts)
	p.Mul(p, tsShift).Add(p, new(big.Int).SetUint64(r.Value)).Add(p, readingPrefix)
	var packed fr.Element
	packed.SetBigInt(p)
	salt := r.Salt
	return merkle.Compress(&packed, &salt)
}

// Commit is the window commitment: the sponge over (tag, n, start, end) and the reading digests.
func Commit(p Params, readings []Reading) fr.Element {
	var n, s, e fr.Element
	n.SetUint64(uint64(len(readings)))
	s.SetUint64(p.WindowStartUs)
	e.SetUint64(p.WindowEndUs)
	stream := []fr.Element{commitment.Tag(Domain), n, s, e}
	for _, r := range readings {
		stream = append(stream, ReadingDigest(r))
	}
	return sponge.Hash(stream)
}

// Compute is the plain reference: the outputs of an input (validated).
func Compute(in *Input) (*Outputs, error) {
	p := in.Params
	if err := common.CheckPeriod(p.WindowStartUs, p.WindowEndUs); err != nil {
		return nil, err
	}
	if p.Threshold >= 1<<ValueBits {
		return nil, common.Errorf("CLAIM_PARAMS_INVALID", "threshold %d does not fit %d bits", p.Threshold, ValueBits)
	}
	if len(in.Readings) == 0 {
		return nil, common.Errorf("INPUT_FILE_EMPTY", "the window has no readings")
	}
	out := &Outputs{N: uint64(len(in.Readings))}
	for i, r := range in.Readings {
		if r.Value >= 1<<ValueBits {
			return nil, common.Errorf("RECORD_VALUE_TOO_LARGE", "reading %d: value %d does not fit %d bits", i+1, r.Value, ValueBits)
		}
		if r.Ts < p.WindowStartUs || r.Ts >= p.WindowEndUs {
			return nil, common.Errorf("RECORD_OUTSIDE_PERIOD", "reading %d at %d us is outside the window [%d, %d)", i+1, r.Ts, p.WindowStartUs, p.WindowEndUs)
		}
		out.Sum += r.Value
		if r.Value > p.Threshold {
			out.Above++
		}
	}
	out.Mean = out.Sum / out.N
	out.Commitment = Commit(p, in.Readings)
	return out, nil
}

// Assign builds the witness of an input for a capacity.
func Assign(capacity int, in *Input) (*Circuit, *Outputs, error) {
	if len(in.Readings) > capacity {
		return nil, nil, common.Errorf("CLAIM_TOO_MANY_RECORDS", "%d readings exceed the %d-reading size class", len(in.Readings), capacity)
	}
	out, err := Compute(in)
	if err != nil {
		return nil, nil, err
	}
	p := in.Params
	w := New(capacity)
	w.Commitment, w.WindowStart, w.WindowEnd, w.Threshold = out.Commitment, p.WindowStartUs, p.WindowEndUs, p.Threshold
	w.N, w.Sum, w.Mean, w.Above = out.N, out.Sum, out.Mean, out.Above
	for i := range w.Value {
		w.Ts[i], w.Value[i], w.Salt[i], w.Active[i] = 0, 0, 0, 0
		if i < len(in.Readings) {
			r := in.Readings[i]
			w.Ts[i], w.Value[i], w.Salt[i], w.Active[i] = r.Ts, r.Value, r.Salt, 1
		}
	}
	return w, out, nil
}

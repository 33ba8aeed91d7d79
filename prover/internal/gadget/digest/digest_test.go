package digest

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/test"
	"github.com/veritee/veritee/prover/internal/gadget/prefix"
	"github.com/veritee/veritee/prover/internal/sponge"
)

const slots = 2*sponge.Rate + 3 // three blocks

// digestCircuit: the digest of the first N of Elems (the rest zero), blocks
// selected by the active flags.
type digestCircuit struct {
	Elems  [slots]frontend.Variable
	Active [slots]frontend.Variable
	N      frontend.Variable
	Digest frontend.Variable `gnark:",public"`
}

func (c *digestCircuit) Define(api frontend.API) error {
	prefix.PrefixFlags(api, c.Active[:], c.N)
	for i := range c.Elems {
		prefix.AssertZeroUnlessActive(api, c.Active[i], c.Elems[i])
	}
	d, err := VarDigest(api, c.Elems[:], func(b int) frontend.Variable { return c.Active[b*sponge.Rate] })
	if err != nil {
		return err
	}
	api.AssertIsEqual(d, c.Digest)
	return nil
}

func witness(n int, msg []fr.Element) *digestCircuit {
	w := &digestCircuit{N: n}
	for i := range w.Elems {
		w.Elems[i], w.Active[i] = 0, 0
		if i < n {
			w.Elems[i], w.Active[i] = msg[i], 1
		}
	}
	w.Digest = sponge.Hash(msg[:n])
	return w
}

// The in-circuit digest equals the native sponge for every length across the
// block boundaries; forgeries: another message's digest, a length that
// disagrees with the data, data in the padding (the digest of the longer
// message under the shorter length).
func TestVarDigestMatchesSponge(t *testing.T) {
	msg := make([]fr.Element, slots)
	for i := range msg {
		msg[i].SetUint64(uint64(1000 + i))
	}
	opts := []test.TestingOption{test.WithCurves(ecc.BN254), test.NoFuzzing(), test.NoSerializationChecks()}
	for _, n := range []int{1, sponge.Rate - 1, sponge.Rate, sponge.Rate + 1, 2 * sponge.Rate, slots} {
		opts = append(opts, test.WithValidAssignment(witness(n, msg)))
	}
	other := witness(5, msg)
	other.Digest = sponge.Hash(msg[:6])
	short := witness(sponge.Rate+1, msg)
	short.N = sponge.Rate
	padded := witness(sponge.Rate, msg)
	padded.Elems[sponge.Rate] = msg[sponge.Rate]
	padded.Digest = sponge.Hash(msg[:sponge.Rate+1])
	opts = append(opts, test.WithInvalidAssignment(other), test.WithInvalidAssignment(short), test.WithInvalidAssignment(padded))
	test.NewAssert(t).CheckCircuit(&digestCircuit{}, opts...)
}

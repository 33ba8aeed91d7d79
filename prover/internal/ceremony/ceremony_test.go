package ceremony

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	curve "github.com/consensys/gnark-crypto/ecc/bn254"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits"
	"github.com/veritee/veritee/prover/internal/keys"
)

// square: another circuit, for the "transcript for another circuit" case.
type square struct {
	Y frontend.Variable `gnark:",public"`
	X frontend.Variable
}

func (c *square) Define(api frontend.API) error {
	api.AssertIsEqual(c.Y, api.Mul(c.X, c.X))
	return nil
}

var cubicDef = SelfTest
var squareDef = &circuits.Definition{Name: "square", Version: 1, Capacities: []int{1}, PublicInputs: []string{"y"},
	New: func(int) frontend.Circuit { return &square{} }}

const beacon = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

func code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// phase1 runs a small veritee phase-1 ceremony (two contributors, a beacon).
func phase1(t *testing.T, power int) *mpcsetup.SrsCommons {
	t.Helper()
	dir := t.TempDir()
	if _, err := Phase1New(dir, power); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"p1-alice", "p1-bob"} {
		prev, _ := os.ReadFile(filepath.Join(dir, StateFile(i)))
		next, h, err := Phase1Contribute(prev)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Phase1Accept(dir, name, next)
		if err != nil || got != h {
			t.Fatalf("phase-1 accept: %v (%s vs %s)", err, got, h)
		}
	}
	if _, err := Phase1Seal(dir, beacon, 4); err != nil {
		t.Fatal(err)
	}
	_, commons, err := Phase1Verify(dir)
	if err != nil {
		t.Fatal(err)
	}
	return commons
}

// contribute downloads the last state, contributes and has the coordinator accept it.
func contribute(t *testing.T, dir, name string) string {
	t.Helper()
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	prev, _ := os.ReadFile(filepath.Join(dir, StateFile(len(m.Ceremony.Contributions))))
	next, h, err := Contribute(prev)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Accept(dir, name, next)
	if err != nil || got != h {
		t.Fatalf("accept %s: %v", name, err)
	}
	return h
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, _ := os.ReadDir(src)
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(src, e.Name()))
		os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644)
	}
	return dst
}

func editManifest(t *testing.T, dir string, f func(m *Manifest), rehash bool) {
	t.Helper()
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	f(m)
	if rehash {
		m.Ceremony.TranscriptSha256 = keys.TranscriptHash(m.Circuit, m.CircuitVersion, m.Capacity, &m.Ceremony)
	}
	if err := WriteManifest(dir, m); err != nil {
		t.Fatal(err)
	}
}

func proveVerify(t *testing.T, pk groth16.ProvingKey, vk groth16.VerifyingKey, x, y int64) error {
	t.Helper()
	r, err := Compile(cubicDef, 1)
	if err != nil {
		t.Fatal(err)
	}
	w, err := frontend.NewWitness(&selfTest{X: x, Y: y}, ecc.BN254.ScalarField())
	if err != nil {
		t.Fatal(err)
	}
	proof, err := groth16.Prove(r, pk, w)
	if err != nil {
		return err
	}
	pub, _ := w.Public()
	return groth16.Verify(proof, vk, pub)
}

// A ceremony with three contributors and a beacon verifies, and its keys prove
// and verify; the VK has its K points (gnark#1136) and a commitment key.
func TestCeremonyThreeContributors(t *testing.T) {
	commons := phase1(t, 4)
	dir := filepath.Join(t.TempDir(), "cubic")
	m, err := Init(dir, cubicDef, 1, commons, "veritee-phase1-test")
	if err != nil {
		t.Fatal(err)
	}
	// Initialize is deterministic: a second init reproduces state 0.
	dir2 := filepath.Join(t.TempDir(), "again")
	m2, err := Init(dir2, cubicDef, 1, commons, "veritee-phase1-test")
	if err != nil || m2.Ceremony.InitSha256 != m.Ceremony.InitSha256 || m2.Ceremony.R1CSSha256 != m.Ceremony.R1CSSha256 {
		t.Fatalf("init is not deterministic: %v", err)
	}
	hashes := []string{contribute(t, dir, "alice"), contribute(t, dir, "bob"), contribute(t, dir, "carol")}
	if _, err := Accept(dir, "bad\nname", []byte{}); code(err) != CodeInput {
		t.Fatalf("a name with a newline: %v", err)
	}
	sm, err := SealBeacon(dir, beacon, 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Accept(dir, "dave", []byte{1}); code(err) != CodeState {
		t.Fatalf("a contribution after the beacon: %v", err)
	}
	res, err := Verify(dir, cubicDef, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range res.Doc.Setup.Ceremony.Contributions {
		if c.Sha256 != hashes[i] {
			t.Fatalf("contribution %d hash %s, want %s", i, c.Sha256, hashes[i])
		}
	}
	if res.Doc.Setup.Kind != "ceremony" || res.Doc.Setup.Ceremony.TranscriptSha256 != sm.Ceremony.TranscriptSha256 {
		t.Fatalf("metadata: %+v", res.Doc.Setup)
	}
	v := res.VK.(*groth16bn254.VerifyingKey)
	if len(v.G1.K) != 3 || len(v.CommitmentKeys) != 1 { // one, Y, commitment
		t.Fatalf("VK has %d K points and %d commitment keys, want 3 and 1", len(v.G1.K), len(v.CommitmentKeys))
	}
	if err := proveVerify(t, res.PK, res.VK, 3, 35); err != nil {
		t.Fatalf("proof with ceremony keys: %v", err)
	}
	// A false statement has no witness; a proof for other public inputs fails.
	if err := proveVerify(t, res.PK, res.VK, 3, 36); err == nil {
		t.Fatal("a wrong statement proved")
	}
	// The VK survives serialization (the #1136 failure was in marshalling).
	var buf bytes.Buffer
	res.VK.WriteTo(&buf)
	vk2 := groth16.NewVerifyingKey(ecc.BN254)
	if _, err := vk2.ReadFrom(&buf); err != nil || len(vk2.(*groth16bn254.VerifyingKey).G1.K) != 3 {
		t.Fatalf("VK round trip: %v", err)
	}
	// A VK with an empty K is refused by the check.
	r, _ := Compile(cubicDef, 1)
	empty := *v
	empty.G1.K = nil
	if err := checkVK(r, &empty); code(err) != CodeInvalid {
		t.Fatalf("empty K accepted: %v", err)
	}

	// Finalize installs the keys; CheckKeys accepts them against the transcript.
	store := keys.NewStore(t.TempDir())
	if _, err := Finalize(dir, cubicDef, 1, store); err != nil {
		t.Fatal(err)
	}
	k, err := keys.NewStore(store.Home).Load(cubicDef, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CheckKeys(dir, cubicDef, 1, k.Doc, k.VK); err != nil {
		t.Fatal(err)
	}
	if err := proveVerify(t, k.PK, k.VK, 2, 15); err != nil {
		t.Fatalf("proof with keys loaded from disk: %v", err)
	}

	t.Run("out of turn", func(t *testing.T) {
		d := filepath.Join(t.TempDir(), "c")
		Init(d, cubicDef, 1, commons, "veritee-phase1-test")
		s0, _ := os.ReadFile(filepath.Join(d, StateFile(0)))
		late, _, _ := Contribute(s0) // built on state 0
		contribute(t, d, "alice")
		if _, err := Accept(d, "mallory", late); code(err) != CodeInvalid || !strings.Contains(err.Error(), "challenge") {
			t.Fatalf("out-of-turn contribution: %v", err)
		}
		// A replay of the accepted state is refused too.
		s1, _ := os.ReadFile(filepath.Join(d, StateFile(1)))
		if _, err := Accept(d, "mallory", s1); code(err) != CodeInvalid {
			t.Fatalf("replayed contribution: %v", err)
		}
	})

	t.Run("forged contribution", func(t *testing.T) {
		d := filepath.Join(t.TempDir(), "c")
		Init(d, cubicDef, 1, commons, "veritee-phase1-test")
		s0, _ := os.ReadFile(filepath.Join(d, StateFile(0)))
		next, _, _ := Contribute(s0)
		p, _ := ReadState(next)
		// Change δ without a proof of knowledge of the change.
		p.Parameters.G1.Delta.ScalarMultiplication(&p.Parameters.G1.Delta, big.NewInt(2))
		if _, err := Accept(d, "mallory", marshal(p)); code(err) != CodeInvalid {
			t.Fatalf("forged δ: %v", err)
		}
		// Change a σ (the commitment's) alone.
		p, _ = ReadState(next)
		p.Parameters.G2.Sigma[0].ScalarMultiplication(&p.Parameters.G2.Sigma[0], big.NewInt(3))
		if _, err := Accept(d, "mallory", marshal(p)); code(err) != CodeInvalid {
			t.Fatalf("forged σ: %v", err)
		}
		// Garbage bytes.
		if _, err := Accept(d, "mallory", append(append([]byte{}, next...), 0)); code(err) != CodeInvalid {
			t.Fatalf("trailing byte: %v", err)
		}
	})

	t.Run("dropped contribution", func(t *testing.T) {
		d := copyDir(t, dir)
		os.Remove(filepath.Join(d, StateFile(3)))
		os.Rename(filepath.Join(d, StateFile(2)), filepath.Join(d, "x"))
		os.Rename(filepath.Join(d, StateFile(3)), filepath.Join(d, StateFile(2)))
		b3, _ := os.ReadFile(filepath.Join(dir, StateFile(3)))
		os.WriteFile(filepath.Join(d, StateFile(2)), b3, 0o644)
		os.Remove(filepath.Join(d, "x"))
		editManifest(t, d, func(m *Manifest) {
			m.Ceremony.Contributions = append(m.Ceremony.Contributions[:1], m.Ceremony.Contributions[2])
		}, true)
		if _, err := Verify(d, cubicDef, 1); code(err) != CodeInvalid || !strings.Contains(err.Error(), "bob") && !strings.Contains(err.Error(), "carol") {
			t.Fatalf("dropped contribution: %v", err)
		}
	})

	t.Run("reordered contributions", func(t *testing.T) {
		d := copyDir(t, dir)
		b2, _ := os.ReadFile(filepath.Join(d, StateFile(2)))
		b3, _ := os.ReadFile(filepath.Join(d, StateFile(3)))
		os.WriteFile(filepath.Join(d, StateFile(2)), b3, 0o644)
		os.WriteFile(filepath.Join(d, StateFile(3)), b2, 0o644)
		editManifest(t, d, func(m *Manifest) {
			c := m.Ceremony.Contributions
			c[1], c[2] = c[2], c[1]
		}, true)
		if _, err := Verify(d, cubicDef, 1); code(err) != CodeInvalid {
			t.Fatalf("reordered: %v", err)
		}
	})

	t.Run("tampered manifest", func(t *testing.T) {
		d := copyDir(t, dir)
		editManifest(t, d, func(m *Manifest) { m.Ceremony.Contributions[0].Name = "eve" }, false)
		if _, err := Verify(d, cubicDef, 1); code(err) != CodeInvalid || !strings.Contains(err.Error(), "transcript hash") {
			t.Fatalf("renamed contributor: %v", err)
		}
		// A state file swapped for another valid-looking one.
		d = copyDir(t, dir)
		b1, _ := os.ReadFile(filepath.Join(d, StateFile(1)))
		os.WriteFile(filepath.Join(d, StateFile(2)), b1, 0o644)
		if _, err := Verify(d, cubicDef, 1); code(err) != CodeInvalid {
			t.Fatalf("swapped state: %v", err)
		}
		// A stray state past the last contribution.
		d = copyDir(t, dir)
		os.WriteFile(filepath.Join(d, StateFile(4)), b1, 0o644)
		if _, err := Verify(d, cubicDef, 1); code(err) != CodeInvalid {
			t.Fatalf("extra state: %v", err)
		}
	})

	t.Run("wrong beacon", func(t *testing.T) {
		d := copyDir(t, dir)
		editManifest(t, d, func(m *Manifest) { m.Ceremony.Beacon = strings.Repeat("ab", 32) }, true)
		if _, err := CheckKeys(d, cubicDef, 1, k.Doc, k.VK); code(err) != CodeMismatch {
			t.Fatalf("keys against a transcript with another beacon: %v", err)
		}
		if _, err := BeaconChallenge("zz", 1); code(err) != CodeInput {
			t.Fatalf("bad beacon hex: %v", err)
		}
		if _, err := BeaconChallenge(beacon, 25); code(err) != CodeInput {
			t.Fatalf("2^25 beacon iterations (over the bound every verifier pays): %v", err)
		}
	})

	t.Run("transcript for another circuit", func(t *testing.T) {
		if _, err := Verify(dir, squareDef, 1); code(err) != CodeMismatch {
			t.Fatalf("transcript for another circuit: %v", err)
		}
		// Even when the manifest is relabelled, the constraint system differs.
		d := copyDir(t, dir)
		editManifest(t, d, func(m *Manifest) { m.Circuit = "square" }, true)
		if _, err := Verify(d, squareDef, 1); code(err) != CodeMismatch || !strings.Contains(err.Error(), "constraint system") {
			t.Fatalf("relabelled transcript: %v", err)
		}
	})

	t.Run("key metadata that does not match", func(t *testing.T) {
		doc := *k.Doc
		c := *doc.Setup.Ceremony
		c.TranscriptSha256 = strings.Repeat("0", 64)
		doc.Setup.Ceremony = &c
		if _, err := CheckKeys(dir, cubicDef, 1, &doc, k.VK); code(err) != CodeMismatch {
			t.Fatalf("wrong transcript hash in metadata: %v", err)
		}
		// Metadata copied from this transcript onto keys from another ceremony.
		other := filepath.Join(t.TempDir(), "other")
		Init(other, cubicDef, 1, commons, "veritee-phase1-test")
		contribute(t, other, "zed")
		SealBeacon(other, beacon, 4)
		ores, err := Verify(other, cubicDef, 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := CheckKeys(dir, cubicDef, 1, k.Doc, ores.VK); code(err) != CodeMismatch {
			t.Fatalf("another ceremony's VK under this metadata: %v", err)
		}
		doc2 := *ores.Doc
		doc2.Setup.Ceremony = k.Doc.Setup.Ceremony
		if _, err := CheckKeys(dir, cubicDef, 1, &doc2, k.VK); code(err) != CodeMismatch {
			t.Fatalf("another ceremony's points in the document: %v", err)
		}
		// A dev key is not a ceremony key.
		dev := *k.Doc
		dev.Setup = keys.Setup{Kind: "dev"}
		if _, err := CheckKeys(dir, cubicDef, 1, &dev, k.VK); code(err) != CodeMismatch {
			t.Fatalf("dev metadata: %v", err)
		}
		// Another ceremony's chain summary under this record.
		doc3 := *k.Doc
		c3 := *doc3.Setup.Ceremony
		c3.Chain = ores.Doc.Setup.Ceremony.Chain
		doc3.Setup.Ceremony = &c3
		if _, err := CheckKeys(dir, cubicDef, 1, &doc3, k.VK); code(err) != CodeMismatch {
			t.Fatalf("another ceremony's chain summary: %v", err)
		}
	})

	t.Run("chain summary", func(t *testing.T) {
		ch := res.Doc.Setup.Ceremony.Chain
		if ch == nil || ch.Format != keys.ChainFormat || len(ch.Steps) != 3 {
			t.Fatalf("chain summary: %+v", ch)
		}
		for i, st := range ch.Steps {
			b, _ := os.ReadFile(filepath.Join(dir, StateFile(i+1)))
			if st.PrefixLen%64 != 0 || st.PrefixLen+len(st.Tail)/2 != len(b) || len(st.SigmaProofs) != 1 || len(st.Sigma2) != 1 {
				t.Fatalf("step %d: prefix %d, tail %d, state %d", i, st.PrefixLen, len(st.Tail)/2, len(b))
			}
			mid, _ := sha256Midstate(b[:st.PrefixLen])
			if mid != st.Midstate {
				t.Fatalf("step %d midstate", i)
			}
		}
		// the vkFixed digest recorded at init is the sealed key's
		if d, err := vkFixedFromVK(v); err != nil || d != sm.Ceremony.VKFixedSha256 || d != keys.VKFixedDigest(res.Doc.Groth16) {
			t.Fatalf("vkFixed %s vs %s: %v", d, sm.Ceremony.VKFixedSha256, err)
		}
	})

	t.Run("recorded vkFixed that is not phase 1 + circuit", func(t *testing.T) {
		d := copyDir(t, dir)
		editManifest(t, d, func(m *Manifest) { m.Ceremony.VKFixedSha256 = strings.Repeat("ab", 32) }, true)
		if _, err := Verify(d, cubicDef, 1); code(err) != CodeInvalid || !strings.Contains(err.Error(), "α, β, γ, K") {
			t.Fatalf("a wrong vkFixed digest: %v", err)
		}
	})

	t.Run("non-canonical state encoding", func(t *testing.T) {
		d := filepath.Join(t.TempDir(), "c")
		Init(d, cubicDef, 1, commons, "veritee-phase1-test")
		s0, _ := os.ReadFile(filepath.Join(d, StateFile(0)))
		next, _, _ := Contribute(s0)
		p, _ := ReadState(next)
		// the same state with δ₁ uncompressed: gnark reads it, but its hash differs
		rawDelta := p.Parameters.G1.Delta.RawBytes()
		raw := append(append(append([]byte{}, next[:2]...), rawDelta[:]...), next[2+curve.SizeOfG1AffineCompressed:]...)
		var q mpcsetup.Phase2
		if n, err := q.ReadFrom(bytes.NewReader(raw)); err != nil || n != int64(len(raw)) {
			t.Fatalf("gnark does not read the raw variant: %v", err)
		}
		if bytes.Equal(raw, next) {
			t.Fatal("raw encoding equals the compressed one")
		}
		if _, err := Accept(d, "mallory", raw); code(err) != CodeInvalid || !strings.Contains(err.Error(), "canonical") {
			t.Fatalf("a non-canonical state: %v", err)
		}
	})
}

func TestPhase1Negatives(t *testing.T) {
	dir := t.TempDir()
	Phase1New(dir, 3)
	s0, _ := os.ReadFile(filepath.Join(dir, StateFile(0)))
	a, _, _ := Phase1Contribute(s0)
	b, _, _ := Phase1Contribute(s0)
	if _, err := Phase1Accept(dir, "alice", a); err != nil {
		t.Fatal(err)
	}
	if _, err := Phase1Accept(dir, "bob", b); code(err) != CodeInvalid {
		t.Fatalf("out-of-turn phase-1 contribution: %v", err)
	}
	if _, err := Phase1Seal(dir, beacon, 2); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Phase1Verify(dir); err != nil {
		t.Fatal(err)
	}
	// Tampered srs.bin or manifest.
	var m Phase1Manifest
	raw, _ := os.ReadFile(filepath.Join(dir, Phase1ManifestFile))
	json.Unmarshal(raw, &m)
	m.Beacon = strings.Repeat("cd", 32)
	m.TranscriptSha256 = phase1TranscriptHash(&m)
	writePhase1Manifest(dir, &m)
	if _, _, err := Phase1Verify(dir); code(err) != CodeInvalid {
		t.Fatalf("phase-1 with another beacon: %v", err)
	}
}

func TestTruncateAndCommonsChecks(t *testing.T) {
	c := phase1(t, 3)
	s, err := Truncate(c, 4)
	if err != nil || CheckCommons(s) != nil {
		t.Fatalf("truncate: %v", err)
	}
	if _, err := Truncate(c, 16); code(err) != CodeMismatch {
		t.Fatalf("too small a phase 1: %v", err)
	}
	bad := *s
	bad.G1.AlphaTau = append([]curve.G1Affine{}, s.G1.AlphaTau...)
	bad.G1.AlphaTau[2] = s.G1.AlphaTau[1]
	if CheckCommons(&bad) == nil {
		t.Fatal("inconsistent α powers accepted")
	}
	if _, err := ReadCommons(append(marshal(s), 0)); code(err) != CodeInvalid {
		t.Fatalf("trailing byte: %v", err)
	}
}

func TestCLIErrorsCarryCodes(t *testing.T) {
	for _, c := range []struct {
		args []string
		code string
	}{
		{[]string{"frobnicate"}, "CLI_COMMAND_UNKNOWN"},
		{[]string{"init", "--dir", t.TempDir()}, CodeInput},
		{[]string{"verify", "--dir", t.TempDir()}, CodeInput},
		{[]string{"domain", "--circuit", "nope"}, "CLAIM_UNKNOWN"},
	} {
		var out bytes.Buffer
		if Main(c.args, &out, &bytes.Buffer{}) != 1 {
			t.Fatalf("%v: exit status", c.args)
		}
		var r struct {
			Error struct{ Code string } `json:"error"`
		}
		if err := json.Unmarshal(out.Bytes(), &r); err != nil || r.Error.Code != c.code {
			t.Fatalf("%v: %s", c.args, out.String())
		}
	}
}

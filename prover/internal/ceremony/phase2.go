package ceremony

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
	"github.com/consensys/gnark/constraint"
	cs "github.com/consensys/gnark/constraint/bn254"
	"github.com/veritee/veritee/prover/internal/circuits"
	"github.com/veritee/veritee/prover/internal/export"
	"github.com/veritee/veritee/prover/internal/keys"
)

// MaxStateBytes bounds a phase-2 state read from a contributor (a 2^20 domain
// circuit's state is ~100 MB).
const MaxStateBytes = 1 << 30

// Domain is the FFT domain a circuit's keys use: the next power of two at or
// above its constraint count (what gnark's own setup picks).
func Domain(nbConstraints int) int {
	return int(ecc.NextPowerOfTwo(uint64(nbConstraints)))
}

// Compile compiles the circuit of a size class into its R1CS.
func Compile(def *circuits.Definition, capacity int) (*cs.R1CS, error) {
	ccs, err := keys.Compile(def, capacity)
	if err != nil {
		return nil, err
	}
	r, ok := ccs.(*cs.R1CS)
	if !ok {
		return nil, fmt.Errorf("ceremony: constraint system is %T, want bn254 R1CS", ccs)
	}
	return r, nil
}

func r1csHash(r *cs.R1CS) (string, error) {
	var buf bytes.Buffer
	if _, err := r.WriteTo(&buf); err != nil {
		return "", err
	}
	return Sha256Hex(buf.Bytes()), nil
}

func marshal(w io.WriterTo) []byte {
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		panic(err) // writing to a bytes.Buffer does not fail
	}
	return buf.Bytes()
}

// ReadState parses a phase-2 state; gnark's decoder checks every point is on the
// curve and in its subgroup.
func ReadState(b []byte) (*mpcsetup.Phase2, error) {
	if len(b) > MaxStateBytes {
		return nil, errf(CodeInvalid, "phase-2 state of %d bytes exceeds %d", len(b), MaxStateBytes)
	}
	var p mpcsetup.Phase2
	n, err := p.ReadFrom(bytes.NewReader(b))
	if err != nil {
		return nil, errf(CodeInvalid, "phase-2 state is malformed: %v", err)
	}
	if n != int64(len(b)) {
		return nil, errf(CodeInvalid, "phase-2 state has %d trailing bytes", int64(len(b))-n)
	}
	// Only gnark's canonical (compressed) encoding: a state's hash is what the next
	// challenge and the beacon are computed over, and the chain summary verifiers
	// check assumes it.
	if !bytes.Equal(marshal(&p), b) {
		return nil, errf(CodeInvalid, "phase-2 state is not in gnark's canonical compressed encoding")
	}
	return &p, nil
}

func readStateFile(dir string, i int) ([]byte, *mpcsetup.Phase2, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile(i)))
	if err != nil {
		return nil, nil, errf(CodeInvalid, "state %d of the transcript cannot be read: %v", i, err)
	}
	p, err := ReadState(b)
	if err != nil {
		return nil, nil, errf(CodeInvalid, "state %d: %s", i, err.Error())
	}
	return b, p, nil
}

// Init starts a phase-2 ceremony for one circuit and size class in dir, from a
// phase-1 result (SrsCommons of any domain at least the circuit's, truncated
// here). Initialize is deterministic: verifiers recompute state-0000.
func Init(dir string, def *circuits.Definition, capacity int, commons *mpcsetup.SrsCommons, phase1Label string) (*Manifest, error) {
	if err := CheckName("phase-1 label", phase1Label); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, ManifestFile)); err == nil {
		return nil, errf(CodeState, "%s already holds a ceremony", dir)
	}
	r, err := Compile(def, capacity)
	if err != nil {
		return nil, err
	}
	n := Domain(r.GetNbConstraints())
	c, err := Truncate(commons, n)
	if err != nil {
		return nil, err
	}
	rh, err := r1csHash(r)
	if err != nil {
		return nil, err
	}
	var p mpcsetup.Phase2
	evals := p.Initialize(r, c)
	init := marshal(&p)
	vkFixed, err := vkFixedDigest(r, c, &evals)
	if err != nil {
		return nil, err
	}
	c1 := marshal(c)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, Phase1File), c1, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, StateFile(0)), init, 0o644); err != nil {
		return nil, err
	}
	m := &Manifest{
		Format: Format, Circuit: def.Name, CircuitVersion: def.Version, Capacity: capacity,
		Constraints: r.GetNbConstraints(),
		Ceremony: keys.Ceremony{
			Phase1: phase1Label, Phase1Sha256: Sha256Hex(c1), Domain: n,
			R1CSSha256: rh, InitSha256: Sha256Hex(init), Contributions: []keys.Contribution{},
			VKFixedSha256: vkFixed,
		},
	}
	return m, WriteManifest(dir, m)
}

// Contribute adds fresh randomness (crypto/rand, inside gnark) to a state and
// returns the new state and its hash, which the contributor publishes.
func Contribute(prev []byte) ([]byte, string, error) {
	p, err := ReadState(prev)
	if err != nil {
		return nil, "", err
	}
	p.Contribute()
	next := marshal(p)
	return next, Sha256Hex(next), nil
}

// Accept verifies a contribution against the transcript's last state and, if it
// verifies, appends it under the contributor's name. It returns the
// contribution's hash.
func Accept(dir, name string, next []byte) (string, error) {
	if err := CheckName("contributor name", name); err != nil {
		return "", err
	}
	m, err := ReadManifest(dir)
	if err != nil {
		return "", err
	}
	if m.Sealed {
		return "", errf(CodeState, "the ceremony is sealed (beacon applied): no more contributions")
	}
	i := len(m.Ceremony.Contributions)
	prevBytes, prev, err := readStateFile(dir, i)
	if err != nil {
		return "", err
	}
	if h := Sha256Hex(prevBytes); (i == 0 && h != m.Ceremony.InitSha256) || (i > 0 && h != m.Ceremony.Contributions[i-1].Sha256) {
		return "", errf(CodeInvalid, "state %d on disk does not match the manifest", i)
	}
	nx, err := ReadState(next)
	if err != nil {
		return "", err
	}
	if err := verifyStep(prevBytes, prev, nx); err != nil {
		return "", errf(CodeInvalid, "contribution %d (%s) refused: %s", i+1, name, err.Error())
	}
	h := Sha256Hex(next)
	for _, c := range m.Ceremony.Contributions {
		if c.Sha256 == h {
			return "", errf(CodeInvalid, "contribution %s is already in the transcript", h)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, StateFile(i+1)), next, 0o644); err != nil {
		return "", err
	}
	m.Ceremony.Contributions = append(m.Ceremony.Contributions, keys.Contribution{Name: name, Sha256: h})
	m.ContributedAt = append(m.ContributedAt, now())
	return h, WriteManifest(dir, m)
}

// verifyStep checks next against prev: the challenge must be the hash of prev
// (required, not just compared when present), then gnark's proofs of knowledge
// and update checks.
func verifyStep(prevBytes []byte, prev, next *mpcsetup.Phase2) error {
	want := Sha256Hex(prevBytes)
	if fmt.Sprintf("%x", next.Challenge) != want {
		return fmt.Errorf("its challenge %x is not the hash of the previous state %s (built on another state: out of turn, dropped or reordered)", next.Challenge, want)
	}
	return prev.Verify(next)
}

// SealBeacon records the public random beacon and closes the ceremony to
// contributions. The beacon must have been announced before the last
// contribution (e.g. a future drand round), which verifiers check out of band.
func SealBeacon(dir, beaconHex string, exp int) (*Manifest, error) {
	beaconHex = strings.ToLower(beaconHex)
	if _, err := BeaconChallenge(beaconHex, exp); err != nil {
		return nil, err
	}
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	if m.Sealed {
		return nil, errf(CodeState, "the ceremony is already sealed with beacon %s", m.Ceremony.Beacon)
	}
	if len(m.Ceremony.Contributions) == 0 {
		return nil, errf(CodeState, "the ceremony has no contributions: a beacon alone is not a setup anybody took part in")
	}
	m.Ceremony.Beacon = beaconHex
	m.Ceremony.BeaconIterationsExp = exp
	m.Ceremony.TranscriptSha256 = keys.TranscriptHash(m.Circuit, m.CircuitVersion, m.Capacity, &m.Ceremony)
	m.Sealed = true
	return m, WriteManifest(dir, m)
}

// Result is the outcome of verifying a whole transcript.
type Result struct {
	Manifest *Manifest
	CCS      *cs.R1CS
	PK       groth16.ProvingKey
	VK       groth16.VerifyingKey
	Doc      *keys.VKDocument
	Timings  map[string]int64 // milliseconds per step
}

// Verify re-runs every check of a sealed transcript for a circuit definition
// (the one the verifier trusts, not the one the manifest names) and recomputes
// the keys.
func Verify(dir string, def *circuits.Definition, capacity int) (*Result, error) {
	t := map[string]int64{}
	t0 := time.Now()
	lap := func(k string) { t[k] = time.Since(t0).Milliseconds(); t0 = time.Now() }
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	if !m.Sealed {
		return nil, errf(CodeState, "the ceremony is not sealed: apply the beacon first")
	}
	if m.Circuit != def.Name || m.CircuitVersion != def.Version || m.Capacity != capacity {
		return nil, errf(CodeMismatch, "the transcript is for %s v%d (%d records), not %s v%d (%d records)", m.Circuit, m.CircuitVersion, m.Capacity, def.Name, def.Version, capacity)
	}
	c := &m.Ceremony
	if err := CheckName("phase-1 label", c.Phase1); err != nil {
		return nil, err
	}
	if got := keys.TranscriptHash(m.Circuit, m.CircuitVersion, m.Capacity, c); got != c.TranscriptSha256 {
		return nil, errf(CodeInvalid, "the manifest's transcript hash %s does not match its contents (%s)", c.TranscriptSha256, got)
	}
	// 1. The circuit.
	r, err := Compile(def, capacity)
	if err != nil {
		return nil, err
	}
	rh, err := r1csHash(r)
	if err != nil {
		return nil, err
	}
	if rh != c.R1CSSha256 {
		return nil, errf(CodeMismatch, "the transcript's constraint system %s is not this build's %s v%d (%s)", c.R1CSSha256, def.Name, def.Version, rh)
	}
	if d := Domain(r.GetNbConstraints()); d != c.Domain {
		return nil, errf(CodeMismatch, "domain %d in the transcript, %d for the circuit", c.Domain, d)
	}
	lap("compileMs")
	// 2. Phase 1 and the initial state.
	p1, err := os.ReadFile(filepath.Join(dir, Phase1File))
	if err != nil {
		return nil, errf(CodeInvalid, "phase-1 parameters cannot be read: %v", err)
	}
	if Sha256Hex(p1) != c.Phase1Sha256 {
		return nil, errf(CodeInvalid, "phase1.bin does not hash to the recorded phase-1 hash %s", c.Phase1Sha256)
	}
	commons, err := ReadCommons(p1)
	if err != nil {
		return nil, err
	}
	if len(commons.G1.AlphaTau) != c.Domain {
		return nil, errf(CodeInvalid, "phase-1 parameters have domain %d, want %d", len(commons.G1.AlphaTau), c.Domain)
	}
	var prev mpcsetup.Phase2
	evals := prev.Initialize(r, commons)
	prevBytes := marshal(&prev)
	if Sha256Hex(prevBytes) != c.InitSha256 {
		return nil, errf(CodeInvalid, "re-running Initialize gives %s, not the recorded initial state %s", Sha256Hex(prevBytes), c.InitSha256)
	}
	vkFixed, err := vkFixedDigest(r, commons, &evals)
	if err != nil {
		return nil, err
	}
	if vkFixed != c.VKFixedSha256 {
		return nil, errf(CodeInvalid, "the key points fixed by phase 1 and the circuit (α, β, γ, K) digest to %s, not the recorded %s", vkFixed, c.VKFixedSha256)
	}
	lap("initializeMs")
	// 3. Every contribution.
	if len(c.Contributions) == 0 {
		return nil, errf(CodeInvalid, "the transcript has no contributions")
	}
	cur := &prev
	chain := &keys.Chain{Format: keys.ChainFormat, Steps: make([]keys.ChainStep, 0, len(c.Contributions))}
	for i, k := range c.Contributions {
		if err := CheckName("contributor name", k.Name); err != nil {
			return nil, err
		}
		b, nx, err := readStateFile(dir, i+1)
		if err != nil {
			return nil, err
		}
		if Sha256Hex(b) != k.Sha256 {
			return nil, errf(CodeInvalid, "state %d hashes to %s, but contribution %d (%s) is recorded as %s", i+1, Sha256Hex(b), i+1, k.Name, k.Sha256)
		}
		if err := verifyStep(prevBytes, cur, nx); err != nil {
			return nil, errf(CodeInvalid, "contribution %d (%s, %s) does not verify: %s", i+1, k.Name, k.Sha256, err.Error())
		}
		st, err := chainStep(b, nx)
		if err != nil {
			return nil, errf(CodeInvalid, "contribution %d (%s): %v", i+1, k.Name, err)
		}
		chain.Steps = append(chain.Steps, st)
		prevBytes, cur = b, nx
	}
	if _, err := os.Stat(filepath.Join(dir, StateFile(len(c.Contributions)+1))); err == nil {
		return nil, errf(CodeInvalid, "the directory holds a state %d that the manifest does not list", len(c.Contributions)+1)
	}
	lap("contributionsMs")
	// 4. The beacon and the keys.
	bc, err := BeaconChallenge(c.Beacon, c.BeaconIterationsExp)
	if err != nil {
		return nil, err
	}
	pk, vk := cur.Seal(commons, &evals, bc)
	if err := checkVK(r, vk); err != nil {
		return nil, err
	}
	if d, err := vkFixedFromVK(vk.(*groth16bn254.VerifyingKey)); err != nil || d != c.VKFixedSha256 {
		return nil, errf(CodeInvalid, "the sealed key's α, β, γ, K do not digest to the recorded %s", c.VKFixedSha256)
	}
	lap("sealMs")
	vkj, err := export.VerifyingKeyJSON(vk)
	if err != nil {
		return nil, err
	}
	cc := *c
	cc.Contributions = append([]keys.Contribution{}, c.Contributions...)
	cc.Chain = chain
	doc := &keys.VKDocument{
		Format: keys.Format, Circuit: def.Name, CircuitVersion: def.Version, Capacity: capacity,
		Constraints: r.GetNbConstraints(), PublicInputs: def.PublicInputs,
		Setup:   keys.Setup{Kind: "ceremony", CreatedAt: now(), Ceremony: &cc},
		Groth16: vkj,
	}
	return &Result{Manifest: m, CCS: r, PK: pk, VK: vk, Doc: doc, Timings: t}, nil
}

// checkVK guards against gnark#1136 (VK.K dropped by the evaluations' marshalling):
// K needs a point per public wire (including the constant) and per commitment.
func checkVK(r *cs.R1CS, vk groth16.VerifyingKey) error {
	v := vk.(*groth16bn254.VerifyingKey)
	_, _, nbPublic := r.GetNbVariables()
	nbCommitments := len(r.CommitmentInfo.(constraint.Groth16Commitments))
	if len(v.G1.K) == 0 || len(v.G1.K) != nbPublic+nbCommitments {
		return errf(CodeInvalid, "the verifying key has %d K points, want %d (public wires %d + commitments %d)", len(v.G1.K), nbPublic+nbCommitments, nbPublic, nbCommitments)
	}
	if len(v.CommitmentKeys) != nbCommitments {
		return errf(CodeInvalid, "the verifying key has %d commitment keys, want %d", len(v.CommitmentKeys), nbCommitments)
	}
	return nil
}

// Finalize verifies the transcript and installs the keys in the store.
func Finalize(dir string, def *circuits.Definition, capacity int, store *keys.Store) (*Result, error) {
	res, err := Verify(dir, def, capacity)
	if err != nil {
		return nil, err
	}
	if err := store.Install(def, capacity, res.CCS, res.PK, res.VK, res.Doc); err != nil {
		return nil, err
	}
	return res, nil
}

// CheckKeys verifies the transcript and compares its keys with installed ones: the
// verifying key must be the same points and the metadata must describe this
// transcript (a key claiming a transcript it does not come from is refused).
func CheckKeys(dir string, def *circuits.Definition, capacity int, doc *keys.VKDocument, vk groth16.VerifyingKey) (*Result, error) {
	res, err := Verify(dir, def, capacity)
	if err != nil {
		return nil, err
	}
	if doc.Setup.Kind != "ceremony" || doc.Setup.Ceremony == nil {
		return nil, errf(CodeMismatch, "the key says setup %q, not a ceremony", doc.Setup.Kind)
	}
	if doc.Setup.Ceremony.TranscriptSha256 != res.Manifest.Ceremony.TranscriptSha256 {
		return nil, errf(CodeMismatch, "the key's metadata names transcript %s, this transcript is %s", doc.Setup.Ceremony.TranscriptSha256, res.Manifest.Ceremony.TranscriptSha256)
	}
	if got := keys.TranscriptHash(doc.Circuit, doc.CircuitVersion, doc.Capacity, doc.Setup.Ceremony); got != doc.Setup.Ceremony.TranscriptSha256 {
		return nil, errf(CodeMismatch, "the key's ceremony metadata hashes to %s, not the transcript hash it states", got)
	}
	if !bytes.Equal(mustJSON(doc.Setup.Ceremony.Chain), mustJSON(res.Doc.Setup.Ceremony.Chain)) {
		return nil, errf(CodeMismatch, "the key's contribution chain summary is not this transcript's")
	}
	if !bytes.Equal(marshal(vk), marshal(res.VK)) {
		return nil, errf(CodeMismatch, "the verifying key is not the one this transcript produces")
	}
	want, _ := export.VerifyingKeyJSON(res.VK)
	if !bytes.Equal(mustJSON(want), mustJSON(doc.Groth16)) {
		return nil, errf(CodeMismatch, "the key document's Groth16 points are not the ones this transcript produces")
	}
	return res, nil
}

// CheckPhase1 checks that the transcript's phase-1 parameters are the given
// powers of tau (a sealed veritee phase 1's srs.bin, or a .ptau), truncated to the
// transcript's domain: the link between a verified phase 1 and this phase 2.
func CheckPhase1(m *Manifest, commons *mpcsetup.SrsCommons) error {
	t, err := Truncate(commons, m.Ceremony.Domain)
	if err != nil {
		return err
	}
	if h := Sha256Hex(marshal(t)); h != m.Ceremony.Phase1Sha256 {
		return errf(CodeMismatch, "the transcript's phase 1 (%s) is not these powers of tau (%s at domain %d)", m.Ceremony.Phase1Sha256, h, m.Ceremony.Domain)
	}
	return nil
}

// WriteFileAtomic writes b to path through a temporary file.
func WriteFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if _, err := w.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Package keys manages Groth16 keys per circuit and size class: the dev trusted
// setup, the on-disk cache under the veritee home directory, and the verification
// key document (veritee.vk/v1) that records where the keys came from.
//
// THREAT MODEL: whoever knows a Groth16 setup's toxic waste can forge proofs. A dev
// setup is run by one party on one machine, so its verification key document says
// `"setup": {"kind": "dev"}` and every verifier refuses it unless told allowDevSetup.
// Keys from a multi-party ceremony (package ceremony) say `kind: "ceremony"` and
// carry the transcript hash, the contributions and the random beacon; verifiers
// key their trust decision on it, and its bytes are covered by the key's hash.
package keys

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/veritee/veritee/prover/internal/circuits"
	"github.com/veritee/veritee/prover/internal/export"
)

// Format is the version tag of the verification key document.
const Format = "veritee.vk/v1"

// Setup describes how the keys were made.
type Setup struct {
	// Kind is "dev" (single-party, forgeable by its creator) or "ceremony".
	Kind      string `json:"kind"`
	CreatedAt string `json:"createdAt"`
	// Warning is set for dev keys.
	Warning string `json:"warning,omitempty"`
	// DurationMs is how long the setup took (informational).
	DurationMs int64 `json:"durationMs,omitempty"`
	// Ceremony is set for keys from a multi-party phase-2 ceremony.
	Ceremony *Ceremony `json:"ceremony,omitempty"`
}

// Ceremony is the record of a multi-party phase-2 ceremony (package ceremony):
// enough to recompute its transcript hash (TranscriptHash) without the
// transcript, so a verifier can check that the metadata is self-consistent and
// that a contribution it made, or N contributors it knows, are in it. That the
// keys follow from the transcript is checked by `ceremony verify` over the
// transcript itself (it recomputes them).
type Ceremony struct {
	// Phase1 names the powers of tau (e.g. "ptau:<file name>" or "veritee-phase1").
	Phase1 string `json:"phase1"`
	// Phase1Sha256 is the sha256 of the SrsCommons (gnark encoding, truncated to Domain).
	Phase1Sha256 string `json:"phase1Sha256"`
	// Domain is the FFT domain size (a power of two >= the constraint count).
	Domain int `json:"domain"`
	// R1CSSha256 is the sha256 of the constraint system (gnark encoding).
	R1CSSha256 string `json:"r1csSha256"`
	// InitSha256 is the sha256 of the deterministic initial phase-2 state.
	InitSha256       string         `json:"initSha256"`
	TranscriptSha256 string         `json:"transcriptSha256"`
	Contributions    []Contribution `json:"contributions"`
	// Beacon is the public random value (hex) announced before the last
	// contribution; BeaconIterationsExp is log2 of the sha256 iterations over it.
	Beacon              string `json:"beacon"`
	BeaconIterationsExp int    `json:"beaconIterationsExp"`
	// VKFixedSha256 is VKFixedDigest of the verifying-key points that do not depend
	// on phase-2 randomness (α, β, γ, K, the commitment keys' G), computed from
	// phase 1 and the circuit by Initialize: covered by the transcript hash.
	VKFixedSha256 string `json:"vkFixedSha256"`
	// Chain is the δ/σ contribution chain summary (set in key documents, not in the
	// manifest, and not covered by the transcript hash: it is checked against it).
	Chain *Chain `json:"chain,omitempty"`
}

// ChainFormat tags a ceremony chain summary.
const ChainFormat = "veritee.ceremony-chain/v1"

// Chain summarises a phase-2 transcript for verifiers that do not hold it (the
// TypeScript verifier): per contribution, the end of its state (the update
// proofs and the challenge, with the SHA-256 chaining value of everything
// before them, so the contribution's recorded hash can be recomputed) and the
// δ₁, δ₂, σᵢ₂ it produced. A verifier re-checks every proof of knowledge and
// same-ratio pairing and that the beacon leads to the key's δ and σ.
type Chain struct {
	Format string      `json:"format"`
	Steps  []ChainStep `json:"steps"`
}

// ChainStep is one contribution in a Chain.
type ChainStep struct {
	// PrefixLen is a multiple of 64; Midstate is the SHA-256 chaining value (hex)
	// after the state's first PrefixLen bytes; Tail is the rest of the state (hex),
	// which ends with the δ proof, the σ proofs and the challenge (one length byte + the previous state's sha256).
	PrefixLen   int          `json:"prefixLen"`
	Midstate    string       `json:"midstate"`
	Tail        string       `json:"tail"`
	Delta1      export.G1    `json:"delta1"`
	Delta2      export.G2    `json:"delta2"`
	Sigma2      []export.G2  `json:"sigma2"`
	DeltaProof  ChainProof   `json:"deltaProof"`
	SigmaProofs []ChainProof `json:"sigmaProofs"`
}

// ChainProof is a gnark mpcsetup update proof: x = [s]₁ and π = s·H(x, challenge).
type ChainProof struct {
	X   export.G1 `json:"x"`
	Pok export.G2 `json:"pok"`
}

// VKFixedDigest is sha256 over lines of the verifying key's points that phase 2
// does not randomise (α, β, γ, K, each commitment key's G, the commitment
// layout); the TypeScript verifier computes the same from a key document.
func VKFixedDigest(v *export.VKJSON) string {
	var b strings.Builder
	fmt.Fprintf(&b, "veritee.vk-fixed/v1\nalpha=%s,%s\nbeta=%s\ngamma=%s\nnbPublic=%d\n", v.Alpha[0], v.Alpha[1], g2Line(v.Beta), g2Line(v.Gamma), v.NbPublic)
	for i, k := range v.IC {
		fmt.Fprintf(&b, "ic=%d:%s,%s\n", i, k[0], k[1])
	}
	for i, c := range v.CommitmentKeys {
		fmt.Fprintf(&b, "commitmentG=%d:%s\n", i, g2Line(c.G))
	}
	for i, c := range v.PublicAndCommitmentCommitted {
		s := make([]string, len(c))
		for j, x := range c {
			s[j] = strconv.Itoa(x)
		}
		fmt.Fprintf(&b, "committed=%d:%s\n", i, strings.Join(s, ","))
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

func g2Line(p export.G2) string {
	return p.X[0] + "," + p.X[1] + "," + p.Y[0] + "," + p.Y[1]
}

// Contribution is one participant's phase-2 contribution: the sha256 of the
// state it produced (gnark's serialization), which the next state's challenge
// links to.
type Contribution struct {
	Name   string `json:"name"`
	Sha256 string `json:"sha256"`
}

// TranscriptFormat tags the transcript hash preimage.
const TranscriptFormat = "veritee.ceremony/v2"

// TranscriptHash is sha256 over a line-oriented preimage of the ceremony record
// and the circuit it is for (names and labels are restricted to printable
// characters without newlines by the ceremony package, so lines cannot be forged
// by a name). The TypeScript verifier recomputes the same preimage.
func TranscriptHash(circuit string, circuitVersion, capacity int, c *Ceremony) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\ncircuit=%s\ncircuitVersion=%d\ncapacity=%d\ndomain=%d\nr1cs=%s\nphase1=%s\nphase1Sha256=%s\ninit=%s\nvkFixed=%s\n",
		TranscriptFormat, circuit, circuitVersion, capacity, c.Domain, c.R1CSSha256, c.Phase1, c.Phase1Sha256, c.InitSha256, c.VKFixedSha256)
	for i, k := range c.Contributions {
		fmt.Fprintf(&b, "contribution=%d:%s:%s\n", i+1, k.Sha256, k.Name)
	}
	fmt.Fprintf(&b, "beacon=%s:%d\n", c.Beacon, c.BeaconIterationsExp)
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// VKDocument is the verification key document shared with TypeScript.
type VKDocument struct {
	Format         string         `json:"format"`
	Circuit        string         `json:"circuit"`
	CircuitVersion int            `json:"circuitVersion"`
	Capacity       int            `json:"capacity"`
	Constraints    int            `json:"constraints"`
	PublicInputs   []string       `json:"publicInputs"`
	Setup          Setup          `json:"setup"`
	Groth16        *export.VKJSON `json:"groth16"`
}

// Keys are the loaded keys of one circuit and size class.
type Keys struct {
	CCS constraint.ConstraintSystem
	PK  groth16.ProvingKey
	VK  groth16.VerifyingKey
	Doc *VKDocument
}

// Store is the key cache rooted at <home>/keys.
type Store struct {
	Home string

	mu     sync.Mutex
	loaded map[string]*Keys
}

// NewStore opens (without creating) the key store.
func NewStore(home string) *Store {
	return &Store{Home: home, loaded: map[string]*Keys{}}
}

// DefaultHome is $VERITEE_HOME or ~/.veritee.
func DefaultHome() string {
	if h := os.Getenv("VERITEE_HOME"); h != "" {
		return h
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".veritee")
	}
	return ".veritee"
}

func id(def *circuits.Definition, capacity int) string {
	return def.Name + "-v" + strconv.Itoa(def.Version) + "-" + strconv.Itoa(capacity)
}

// Dir is the directory of one circuit's keys.
func (s *Store) Dir(def *circuits.Definition, capacity int) string {
	return filepath.Join(s.Home, "keys", id(def, capacity))
}

// Progress receives human-readable stages of a long operation.
type Progress func(stage, message string)

// Compile compiles a circuit to R1CS.
func Compile(def *circuits.Definition, capacity int) (constraint.ConstraintSystem, error) {
	return frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, def.New(capacity))
}

// Exists reports whether keys are on disk.
func (s *Store) Exists(def *circuits.Definition, capacity int) bool {
	_, err := os.Stat(filepath.Join(s.Dir(def, capacity), "vk.json"))
	return err == nil
}

// DevSetup compiles the circuit and runs a single-party Groth16 setup, writing
// the keys atomically (a temporary directory renamed into place). A lock file
// keeps concurrent prover processes from running the same setup twice.
func (s *Store) DevSetup(def *circuits.Definition, capacity int, force bool, progress Progress) (*VKDocument, error) {
	dir := s.Dir(def, capacity)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	unlock, err := lock(dir+".lock", progress)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if !force && s.Exists(def, capacity) {
		progress("cached", "keys already present in "+dir)
		return readDoc(dir)
	}

	t0 := time.Now()
	progress("compile", fmt.Sprintf("compiling %s for %d records", def.Name, capacity))
	ccs, err := Compile(def, capacity)
	if err != nil {
		return nil, err
	}
	progress("setup", fmt.Sprintf("%d constraints compiled in %s; running the dev trusted setup", ccs.GetNbConstraints(), time.Since(t0).Round(time.Millisecond)))
	stop := heartbeat(progress, "setup")
	pk, vk, err := groth16.Setup(ccs)
	stop()
	if err != nil {
		return nil, err
	}
	vkj, err := export.VerifyingKeyJSON(vk)
	if err != nil {
		return nil, err
	}
	doc := &VKDocument{
		Format: Format, Circuit: def.Name, CircuitVersion: def.Version, Capacity: capacity,
		Constraints: ccs.GetNbConstraints(), PublicInputs: def.PublicInputs,
		Setup: Setup{
			Kind:      "dev",
			CreatedAt: time.Now().UTC().Format(time.RFC3339),
			Warning:   "DEV TRUSTED SETUP: generated by a single party; whoever ran it can forge proofs. Not for production.",
		},
		Groth16: vkj,
	}
	doc.Setup.DurationMs = time.Since(t0).Milliseconds()
	progress("write", "writing keys to "+dir)
	if err := s.install(def, capacity, ccs, pk, vk, doc); err != nil {
		return nil, err
	}
	progress("done", fmt.Sprintf("dev setup finished in %s", time.Since(t0).Round(time.Millisecond)))
	return doc, nil
}

// Install writes keys made elsewhere (a ceremony) into the store, replacing any
// keys of that circuit and size class; the caller has verified them.
func (s *Store) Install(def *circuits.Definition, capacity int, ccs constraint.ConstraintSystem, pk groth16.ProvingKey, vk groth16.VerifyingKey, doc *VKDocument) error {
	dir := s.Dir(def, capacity)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	unlock, err := lock(dir+".lock", func(string, string) {})
	if err != nil {
		return err
	}
	defer unlock()
	return s.install(def, capacity, ccs, pk, vk, doc)
}

// install writes the keys atomically (a temporary directory renamed into place).
func (s *Store) install(def *circuits.Definition, capacity int, ccs constraint.ConstraintSystem, pk groth16.ProvingKey, vk groth16.VerifyingKey, doc *VKDocument) error {
	dir := s.Dir(def, capacity)
	tmp := dir + ".tmp-" + strconv.Itoa(os.Getpid())
	_ = os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	if err := writeTo(filepath.Join(tmp, "circuit.r1cs"), ccs); err != nil {
		return err
	}
	if err := writeRaw(filepath.Join(tmp, "pk.bin"), pk); err != nil {
		return err
	}
	if err := writeTo(filepath.Join(tmp, "vk.bin"), vk); err != nil {
		return err
	}
	docBytes, _ := json.MarshalIndent(doc, "", "  ")
	if err := os.WriteFile(filepath.Join(tmp, "vk.json"), append(docBytes, '\n'), 0o644); err != nil {
		return err
	}
	_ = os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	s.mu.Lock()
	s.loaded[id(def, capacity)] = &Keys{CCS: ccs, PK: pk, VK: vk, Doc: doc}
	s.mu.Unlock()
	return nil
}

// Load returns the keys, reading them from disk once and keeping them in memory.
func (s *Store) Load(def *circuits.Definition, capacity int) (*Keys, error) {
	key := id(def, capacity)
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, ok := s.loaded[key]; ok {
		return k, nil
	}
	dir := s.Dir(def, capacity)
	if !s.Exists(def, capacity) {
		return nil, &circuits.Error{Code: "ZK_SETUP_MISSING", Msg: fmt.Sprintf("no keys for %s (%d records) in %s: run `veritee zk setup --circuit %s --size %d`", def.Name, capacity, dir, def.Name, capacity)}
	}
	doc, err := readDoc(dir)
	if err != nil {
		return nil, err
	}
	ccs := groth16.NewCS(ecc.BN254)
	if err := readFrom(filepath.Join(dir, "circuit.r1cs"), ccs, false); err != nil {
		return nil, err
	}
	pk := groth16.NewProvingKey(ecc.BN254)
	if err := readFrom(filepath.Join(dir, "pk.bin"), pk, true); err != nil {
		return nil, err
	}
	vk := groth16.NewVerifyingKey(ecc.BN254)
	if err := readFrom(filepath.Join(dir, "vk.bin"), vk, false); err != nil {
		return nil, err
	}
	k := &Keys{CCS: ccs, PK: pk, VK: vk, Doc: doc}
	s.loaded[key] = k
	return k, nil
}

// Loaded reports whether keys are in memory.
func (s *Store) Loaded(def *circuits.Definition, capacity int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.loaded[id(def, capacity)]
	return ok
}

func readDoc(dir string) (*VKDocument, error) {
	b, err := os.ReadFile(filepath.Join(dir, "vk.json"))
	if err != nil {
		return nil, err
	}
	var doc VKDocument
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "vk.json"), err)
	}
	return &doc, nil
}

func writeTo(path string, w io.WriterTo) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if _, err := w.WriteTo(bw); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

type rawWriter interface {
	WriteRawTo(io.Writer) (int64, error)
}

func writeRaw(path string, w rawWriter) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if _, err := w.WriteRawTo(bw); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

type unsafeReader interface {
	UnsafeReadFrom(io.Reader) (int64, error)
}

func readFrom(path string, r io.ReaderFrom, unsafe bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	if u, ok := r.(unsafeReader); ok && unsafe {
		// Our own file, written by DevSetup: skip the subgroup checks on load.
		_, err = u.UnsafeReadFrom(br)
	} else {
		_, err = r.ReadFrom(br)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// lock takes an exclusive lock file, waiting (with progress) while another
// process holds it. Stale locks (older than 2 hours) are broken.
func lock(path string, progress Progress) (func(), error) {
	announced := false
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintf(f, "%d\n", os.Getpid())
			f.Close()
			return func() { _ = os.Remove(path) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, err
		}
		if st, e := os.Stat(path); e == nil && time.Since(st.ModTime()) > 2*time.Hour {
			_ = os.Remove(path)
			continue
		}
		if !announced {
			progress("wait", "another process is running this setup; waiting")
			announced = true
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func heartbeat(progress Progress, stage string) func() {
	done := make(chan struct{})
	t0 := time.Now()
	go func() {
		tk := time.NewTicker(5 * time.Second)
		defer tk.Stop()
		for {
			select {
			case <-done:
				return
			case <-tk.C:
				progress(stage, fmt.Sprintf("still working (%s elapsed)", time.Since(t0).Round(time.Second)))
			}
		}
	}()
	return func() { close(done) }
}

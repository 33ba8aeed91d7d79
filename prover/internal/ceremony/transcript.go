// Package ceremony runs multi-party Groth16 trusted setups with gnark's
// backend/groth16/bn254/mpcsetup as the engine: phase 1 (powers of tau, run here
// or imported from a snarkjs .ptau file) and phase 2 per circuit and size class.
//
// THREAT MODEL: a Groth16 key is sound if at least one contributor destroyed its
// randomness. Nobody is trusted: the coordinator only orders contributions, and
// every check is re-run by any verifier from the public transcript:
//
//  1. the constraint system is recompiled from the circuit (its hash must match);
//  2. the initial phase-2 state is recomputed (Initialize is deterministic) and
//     must hash to the recorded init hash;
//  3. each contribution's challenge must be the hash of the state before it (the
//     hash chain: a dropped, reordered or replayed contribution breaks it), and
//     its proofs of knowledge and same-ratio updates must verify (a forged
//     contribution fails);
//  4. the random beacon (announced before the last contribution) is re-derived
//     (sha256 iterated 2^exp times) and sealed in; the keys are recomputed;
//  5. the verification key must have a K point per public input and commitment
//     (gnark#1136 once dropped them) and must equal the key being checked.
//
// INVARIANT: a state is appended to a transcript only after step 3 passed against
// the transcript's current last state.
package ceremony

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/veritee/veritee/prover/internal/keys"
)

// Format tags a ceremony manifest.
const Format = "veritee.ceremony/v2"

// Error is a ceremony failure with a stable veritee error code.
type Error struct {
	Code string
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

func errf(code, format string, a ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, a...)}
}

// Codes used by this package.
const (
	CodeInvalid  = "CEREMONY_INVALID"  // a contribution or transcript fails verification
	CodeMismatch = "CEREMONY_MISMATCH" // keys, circuit or beacon do not match the transcript
	CodeState    = "CEREMONY_STATE"    // an operation out of order (sealed, not sealed, no contributions)
	CodeInput    = "INPUT_INVALID"     // a malformed argument
	CodePtau     = "CEREMONY_PTAU_INVALID"
)

var nameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._@+:-]{0,63}$`)

// CheckName validates a contributor name or a phase-1 label: 1-64 printable ASCII
// characters without newlines (they are lines of the transcript hash preimage).
func CheckName(what, s string) error {
	if !nameRe.MatchString(s) {
		return errf(CodeInput, "%s %q must be 1-64 characters of letters, digits, space and ._@+:- (starting with a letter or digit)", what, truncate(s, 80))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Manifest is the public record of a phase-2 ceremony, stored as ceremony.json
// beside the states state-0000.bin (initial), state-0001.bin, … and phase1.bin.
type Manifest struct {
	Format         string `json:"format"`
	Circuit        string `json:"circuit"`
	CircuitVersion int    `json:"circuitVersion"`
	Capacity       int    `json:"capacity"`
	Constraints    int    `json:"constraints"`
	// Ceremony carries the fields the key's metadata will hold; TranscriptSha256
	// and the beacon are set when the ceremony is sealed.
	Ceremony keys.Ceremony `json:"ceremony"`
	// Sealed is true once the beacon is recorded: no more contributions.
	Sealed bool `json:"sealed"`
	// ContributedAt lists when each contribution was accepted (informational).
	ContributedAt []string `json:"contributedAt,omitempty"`
}

// StateFile is the file name of the i-th state (0 = initial).
func StateFile(i int) string { return fmt.Sprintf("state-%04d.bin", i) }

// ManifestFile is the manifest's file name in a ceremony directory.
const ManifestFile = "ceremony.json"

// Phase1File is the phase-1 SrsCommons (truncated to the domain) in a ceremony directory.
const Phase1File = "phase1.bin"

// ReadManifest reads and checks a ceremony directory's manifest.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, errf(CodeInput, "no ceremony in %s: %v", dir, err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, errf(CodeInvalid, "%s: %v", filepath.Join(dir, ManifestFile), err)
	}
	if m.Format != Format {
		return nil, errf(CodeInvalid, "%s: format %q, want %q", filepath.Join(dir, ManifestFile), truncate(m.Format, 40), Format)
	}
	if len(m.Ceremony.Contributions) > 10000 {
		return nil, errf(CodeInvalid, "%s: %d contributions (at most 10000)", dir, len(m.Ceremony.Contributions))
	}
	return &m, nil
}

// WriteManifest writes the manifest atomically.
func WriteManifest(dir string, m *Manifest) error {
	b, _ := json.MarshalIndent(m, "", "  ")
	tmp := filepath.Join(dir, ManifestFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, ManifestFile))
}

// Sha256Hex is sha256 as lowercase hex.
func Sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// BeaconChallenge derives the sealing value from a public beacon: sha256 iterated
// 2^exp times (as snarkjs's beacon), so a verifier re-derives it and a late
// participant cannot grind it cheaply. At most 2^24 iterations: every verifier,
// including a browser re-deriving it in JavaScript (seconds), pays this once per key.
func BeaconChallenge(beaconHex string, exp int) ([]byte, error) {
	v, err := hex.DecodeString(beaconHex)
	if err != nil || len(v) < 16 || len(v) > 64 {
		return nil, errf(CodeInput, "beacon must be 16-64 bytes of hex, got %q", truncate(beaconHex, 80))
	}
	if exp < 0 || exp > 24 {
		return nil, errf(CodeInput, "beacon iterations exponent %d out of range 0..24", exp)
	}
	h := v
	for i := uint64(0); i < uint64(1)<<exp; i++ {
		s := sha256.Sum256(h)
		h = s[:]
	}
	return h, nil
}

func now() string { return time.Now().UTC().Format(time.RFC3339) }

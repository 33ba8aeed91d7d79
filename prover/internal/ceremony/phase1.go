package ceremony

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
)

// Phase1Format tags a phase-1 (powers of tau) manifest.
const Phase1Format = "veritee.phase1/v1"

// Phase1ManifestFile is the phase-1 manifest's name in its directory.
const Phase1ManifestFile = "phase1.json"

// MaxPower bounds the phase-1 domain (2^MaxPower); .ptau files go to 2^28.
const MaxPower = 28

// Phase1Manifest is the public record of a phase-1 ceremony run with veritee.
type Phase1Manifest struct {
	Format              string        `json:"format"`
	Power               int           `json:"power"`
	Contributions       []Phase1Entry `json:"contributions"`
	Beacon              string        `json:"beacon,omitempty"`
	BeaconIterationsExp int           `json:"beaconIterationsExp,omitempty"`
	Sealed              bool          `json:"sealed"`
	TranscriptSha256    string        `json:"transcriptSha256,omitempty"`
	SrsSha256           string        `json:"srsSha256,omitempty"`
}

// Phase1Entry is one phase-1 contribution.
type Phase1Entry struct {
	Name   string `json:"name"`
	Sha256 string `json:"sha256"`
}

// Phase1SrsFile is the sealed result in a phase-1 directory.
const Phase1SrsFile = "srs.bin"

func phase1TranscriptHash(m *Phase1Manifest) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\npower=%d\n", Phase1Format, m.Power)
	for i, c := range m.Contributions {
		fmt.Fprintf(&b, "contribution=%d:%s:%s\n", i+1, c.Sha256, c.Name)
	}
	fmt.Fprintf(&b, "beacon=%s:%d\n", m.Beacon, m.BeaconIterationsExp)
	return Sha256Hex([]byte(b.String()))
}

func readPhase1Manifest(dir string) (*Phase1Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, Phase1ManifestFile))
	if err != nil {
		return nil, errf(CodeInput, "no phase-1 ceremony in %s: %v", dir, err)
	}
	var m Phase1Manifest
	if err := json.Unmarshal(b, &m); err != nil || m.Format != Phase1Format {
		return nil, errf(CodeInvalid, "%s is not a %s manifest", filepath.Join(dir, Phase1ManifestFile), Phase1Format)
	}
	if m.Power < 1 || m.Power > MaxPower {
		return nil, errf(CodeInvalid, "phase-1 power %d out of range 1..%d", m.Power, MaxPower)
	}
	return &m, nil
}

func writePhase1Manifest(dir string, m *Phase1Manifest) error {
	b, _ := json.MarshalIndent(m, "", "  ")
	return WriteFileAtomic(filepath.Join(dir, Phase1ManifestFile), append(b, '\n'))
}

// Phase1New starts a phase-1 ceremony for domains up to 2^power.
func Phase1New(dir string, power int) (*Phase1Manifest, error) {
	if power < 1 || power > MaxPower {
		return nil, errf(CodeInput, "power %d out of range 1..%d", power, MaxPower)
	}
	if _, err := os.Stat(filepath.Join(dir, Phase1ManifestFile)); err == nil {
		return nil, errf(CodeState, "%s already holds a phase-1 ceremony", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	p := mpcsetup.NewPhase1(uint64(1) << power)
	if err := os.WriteFile(filepath.Join(dir, StateFile(0)), marshal(p), 0o644); err != nil {
		return nil, err
	}
	m := &Phase1Manifest{Format: Phase1Format, Power: power, Contributions: []Phase1Entry{}}
	return m, writePhase1Manifest(dir, m)
}

func readPhase1State(b []byte) (*mpcsetup.Phase1, error) {
	var p mpcsetup.Phase1
	n, err := p.ReadFrom(bytes.NewReader(b))
	if err != nil {
		return nil, errf(CodeInvalid, "phase-1 state is malformed: %v", err)
	}
	if n != int64(len(b)) {
		return nil, errf(CodeInvalid, "phase-1 state has %d trailing bytes", int64(len(b))-n)
	}
	return &p, nil
}

// Phase1Contribute adds fresh randomness to a phase-1 state.
func Phase1Contribute(prev []byte) ([]byte, string, error) {
	p, err := readPhase1State(prev)
	if err != nil {
		return nil, "", err
	}
	p.Contribute()
	b := marshal(p)
	return b, Sha256Hex(b), nil
}

func phase1Step(prevBytes []byte, prev, next *mpcsetup.Phase1) error {
	if want := Sha256Hex(prevBytes); fmt.Sprintf("%x", next.Challenge) != want {
		return fmt.Errorf("its challenge is not the hash of the previous state %s", want)
	}
	return prev.Verify(next)
}

// Phase1Accept verifies and appends a phase-1 contribution.
func Phase1Accept(dir, name string, next []byte) (string, error) {
	if err := CheckName("contributor name", name); err != nil {
		return "", err
	}
	m, err := readPhase1Manifest(dir)
	if err != nil {
		return "", err
	}
	if m.Sealed {
		return "", errf(CodeState, "the phase-1 ceremony is sealed")
	}
	i := len(m.Contributions)
	pb, err := os.ReadFile(filepath.Join(dir, StateFile(i)))
	if err != nil {
		return "", err
	}
	prev, err := readPhase1State(pb)
	if err != nil {
		return "", err
	}
	nx, err := readPhase1State(next)
	if err != nil {
		return "", err
	}
	if err := phase1Step(pb, prev, nx); err != nil {
		return "", errf(CodeInvalid, "phase-1 contribution %d (%s) refused: %s", i+1, name, err.Error())
	}
	h := Sha256Hex(next)
	if err := os.WriteFile(filepath.Join(dir, StateFile(i+1)), next, 0o644); err != nil {
		return "", err
	}
	m.Contributions = append(m.Contributions, Phase1Entry{Name: name, Sha256: h})
	return h, writePhase1Manifest(dir, m)
}

// Phase1Seal verifies the whole phase-1 transcript from the deterministic start,
// applies the beacon and writes srs.bin (the SrsCommons).
func Phase1Seal(dir, beaconHex string, exp int) (*Phase1Manifest, error) {
	m, err := readPhase1Manifest(dir)
	if err != nil {
		return nil, err
	}
	if m.Sealed {
		return nil, errf(CodeState, "the phase-1 ceremony is already sealed")
	}
	m.Beacon, m.BeaconIterationsExp = strings.ToLower(beaconHex), exp
	commons, err := phase1Verify(dir, m)
	if err != nil {
		return nil, err
	}
	srs := marshal(commons)
	if err := WriteFileAtomic(filepath.Join(dir, Phase1SrsFile), srs); err != nil {
		return nil, err
	}
	m.Sealed = true
	m.SrsSha256 = Sha256Hex(srs)
	m.TranscriptSha256 = phase1TranscriptHash(m)
	return m, writePhase1Manifest(dir, m)
}

// Phase1Verify re-verifies a sealed phase-1 transcript and checks srs.bin.
func Phase1Verify(dir string) (*Phase1Manifest, *mpcsetup.SrsCommons, error) {
	m, err := readPhase1Manifest(dir)
	if err != nil {
		return nil, nil, err
	}
	if !m.Sealed {
		return nil, nil, errf(CodeState, "the phase-1 ceremony is not sealed")
	}
	if phase1TranscriptHash(m) != m.TranscriptSha256 {
		return nil, nil, errf(CodeInvalid, "the phase-1 manifest's transcript hash does not match its contents")
	}
	commons, err := phase1Verify(dir, m)
	if err != nil {
		return nil, nil, err
	}
	srs := marshal(commons)
	if Sha256Hex(srs) != m.SrsSha256 {
		return nil, nil, errf(CodeInvalid, "the recomputed SRS hashes to %s, not the recorded %s", Sha256Hex(srs), m.SrsSha256)
	}
	return m, commons, nil
}

func phase1Verify(dir string, m *Phase1Manifest) (*mpcsetup.SrsCommons, error) {
	bc, err := BeaconChallenge(m.Beacon, m.BeaconIterationsExp)
	if err != nil {
		return nil, err
	}
	if len(m.Contributions) == 0 {
		return nil, errf(CodeState, "the phase-1 ceremony has no contributions")
	}
	prev := mpcsetup.NewPhase1(uint64(1) << m.Power)
	prevBytes := marshal(prev)
	for i, c := range m.Contributions {
		if err := CheckName("contributor name", c.Name); err != nil {
			return nil, err
		}
		b, err := os.ReadFile(filepath.Join(dir, StateFile(i+1)))
		if err != nil {
			return nil, errf(CodeInvalid, "phase-1 state %d cannot be read: %v", i+1, err)
		}
		if Sha256Hex(b) != c.Sha256 {
			return nil, errf(CodeInvalid, "phase-1 state %d does not hash to contribution %d (%s)", i+1, i+1, c.Name)
		}
		nx, err := readPhase1State(b)
		if err != nil {
			return nil, err
		}
		if err := phase1Step(prevBytes, prev, nx); err != nil {
			return nil, errf(CodeInvalid, "phase-1 contribution %d (%s) does not verify: %s", i+1, c.Name, err.Error())
		}
		prev, prevBytes = nx, b
	}
	commons := prev.Seal(bc)
	return &commons, nil
}

// ReadCommons parses an SrsCommons (gnark encoding; the decoder checks subgroup
// membership) and checks that its powers are consistent (same-ratio).
func ReadCommons(b []byte) (*mpcsetup.SrsCommons, error) {
	var c mpcsetup.SrsCommons
	n, err := c.ReadFrom(bytes.NewReader(b))
	if err != nil {
		return nil, errf(CodeInvalid, "phase-1 parameters are malformed: %v", err)
	}
	if n != int64(len(b)) {
		return nil, errf(CodeInvalid, "phase-1 parameters have %d trailing bytes", int64(len(b))-n)
	}
	if err := CheckCommons(&c); err != nil {
		return nil, errf(CodeInvalid, "phase-1 parameters: %s", err.Error())
	}
	return &c, nil
}

// Truncate keeps the powers a domain of size n needs ([τⁱ]₁ for i < 2n-1, the
// others for i < n). Powers of tau of a larger domain serve every smaller one.
func Truncate(c *mpcsetup.SrsCommons, n int) (*mpcsetup.SrsCommons, error) {
	if ecc.NextPowerOfTwo(uint64(n)) != uint64(n) || n < 2 {
		return nil, errf(CodeInput, "domain %d is not a power of two >= 2", n)
	}
	if len(c.G1.AlphaTau) < n {
		return nil, errf(CodeMismatch, "the phase-1 parameters cover a domain of %d, the circuit needs %d", len(c.G1.AlphaTau), n)
	}
	var t mpcsetup.SrsCommons
	t.G1.Tau = c.G1.Tau[:2*n-1]
	t.G1.AlphaTau = c.G1.AlphaTau[:n]
	t.G1.BetaTau = c.G1.BetaTau[:n]
	t.G2.Tau = c.G2.Tau[:n]
	t.G2.Beta = c.G2.Beta
	return &t, nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

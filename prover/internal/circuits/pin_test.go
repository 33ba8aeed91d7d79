package circuits

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
)

// pinFile holds, for every registered circuit and size class, its number of
// constraints and the SHA-256 of its serialized R1CS (the bytes the key store
// writes to circuit.r1cs). A refactor must leave every entry unchanged: a
// different hash means different keys, so every proof made so far would stop
// verifying. A deliberate circuit change bumps the circuit's version and
// rewrites the file with VERITEE_WRITE_PINS=1 (all classes: VERITEE_PIN_ALL=1).
const pinFile = "testdata/constraints.json"

type pin struct {
	Constraints int    `json:"constraints"`
	R1CSSha256  string `json:"r1csSha256"`
}

// pinKey names a circuit version and size class: "latency-v1-1024".
func pinKey(d *Definition, capacity int) string {
	return d.Name + "-v" + strconv.Itoa(d.Version) + "-" + strconv.Itoa(capacity)
}

// pinDefaultLimit: classes pinned with more constraints than this are compiled
// only with VERITEE_PIN_ALL=1 (the 65536-record classes take minutes and GBs).
const pinDefaultLimit = 300_000

func compilePin(t *testing.T, d *Definition, capacity int) pin {
	t.Helper()
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, d.New(capacity))
	if err != nil {
		t.Fatalf("%s: %v", pinKey(d, capacity), err)
	}
	h := sha256.New()
	if _, err := ccs.WriteTo(h); err != nil {
		t.Fatal(err)
	}
	return pin{Constraints: ccs.GetNbConstraints(), R1CSSha256: hex.EncodeToString(h.Sum(nil))}
}

func readPins(t *testing.T) map[string]pin {
	t.Helper()
	pins := map[string]pin{}
	b, err := os.ReadFile(pinFile)
	if err != nil {
		if os.IsNotExist(err) && os.Getenv("VERITEE_WRITE_PINS") == "1" {
			return pins
		}
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &pins); err != nil {
		t.Fatal(err)
	}
	return pins
}

// TestConstraintSystemsPinned compiles every circuit at its size classes and
// compares its constraint count and R1CS hash with the pinned ones; every
// registered class must be pinned, and every pin must name a registered class.
func TestConstraintSystemsPinned(t *testing.T) {
	pins := readPins(t)
	all := os.Getenv("VERITEE_PIN_ALL") == "1"
	write := os.Getenv("VERITEE_WRITE_PINS") == "1"
	seen := map[string]bool{}
	for _, d := range All() {
		for _, c := range d.Capacities {
			key := pinKey(d, c)
			seen[key] = true
			want, ok := pins[key]
			if !ok && !write {
				t.Errorf("%s is not pinned in %s (VERITEE_WRITE_PINS=1 VERITEE_PIN_ALL=1 go test -run Pinned ./internal/circuits)", key, pinFile)
				continue
			}
			if ok && !all && want.Constraints > pinDefaultLimit {
				t.Logf("%s: %d constraints pinned, not compiled (VERITEE_PIN_ALL=1)", key, want.Constraints)
				continue
			}
			got := compilePin(t, d, c)
			t.Logf("%s: %d constraints, r1cs sha256 %s", key, got.Constraints, got.R1CSSha256)
			if write {
				pins[key] = got
				continue
			}
			if got != want {
				t.Errorf("%s changed: %d constraints (pinned %d), r1cs sha256 %s (pinned %s)", key, got.Constraints, want.Constraints, got.R1CSSha256, want.R1CSSha256)
			}
		}
	}
	for key := range pins {
		if !seen[key] {
			if write {
				delete(pins, key)
			} else {
				t.Errorf("%s is pinned but no registered circuit has that class", key)
			}
		}
	}
	if write {
		keys := make([]string, 0, len(pins))
		for k := range pins {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b, _ := json.MarshalIndent(pins, "", "  ")
		if err := os.MkdirAll(filepath.Dir(pinFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(pinFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

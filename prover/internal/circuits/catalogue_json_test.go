package circuits

import (
	"encoding/json"
	"testing"

	"github.com/veritee/veritee/prover/internal/testvectors"
)

// catalogueFile is the Go side of the claim catalogue, for the TypeScript
// definitions (which must agree on kinds, versions and size classes) and the
// README's claim table (packages/zk/src/claims/table.ts renders it).
const catalogueFile = "testdata/catalogue.json"

type catalogueEntry struct {
	Name         string   `json:"name"`
	Version      int      `json:"version"`
	Capacities   []int    `json:"capacities"`
	PublicInputs []string `json:"publicInputs"`
	// Constraints per size class, from the pins (testdata/constraints.json).
	Constraints map[string]int `json:"constraints"`
}

// TestCatalogueFile keeps testdata/catalogue.json in step with the registry and
// the pinned constraint counts (VERITEE_WRITE_VECTORS=1 rewrites it).
func TestCatalogueFile(t *testing.T) {
	pins := readPins(t)
	var out []catalogueEntry
	for _, d := range All() {
		e := catalogueEntry{Name: d.Name, Version: d.Version, Capacities: d.Capacities, PublicInputs: d.PublicInputs, Constraints: map[string]int{}}
		for _, c := range d.Capacities {
			p, ok := pins[pinKey(d, c)]
			if !ok {
				t.Fatalf("%s is not pinned", pinKey(d, c))
			}
			e.Constraints[itoa(c)] = p.Constraints
		}
		out = append(out, e)
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	testvectors.WriteOrCompare(t, catalogueFile, append(b, '\n'), "go test ./internal/circuits -run CatalogueFile")
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

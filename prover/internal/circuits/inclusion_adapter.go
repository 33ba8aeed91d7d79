package circuits

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/inclusion"
	"github.com/veritee/veritee/prover/internal/merkle"
)

// ComponentJSON is one component in the protocol: its name and the hex SHA-256
// digest of its contents.
type ComponentJSON struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

// InclusionInput is the JSON input of an inclusion prove request: every
// component of the image (any order; the tree sorts them by name) and the one
// to prove.
type InclusionInput struct {
	Components json.RawMessage `json:"components"`
	Component  ComponentJSON   `json:"component"`
}

// InclusionTreeInput is the input of the `merkle` op.
type InclusionTreeInput struct {
	Components json.RawMessage `json:"components"`
	Depth      int             `json:"depth"`
}

// InclusionOutputs are the public outputs of an inclusion proof (the position
// stays private) and facts about the tree.
type InclusionOutputs struct {
	Root       string `json:"root"`    // decimal
	RootHex    string `json:"rootHex"` // 32-byte big-endian encoding
	Depth      int    `json:"depth"`
	Components int    `json:"components"`
	// TreeMs is the time to obtain the tree (parsing the list, sorting, hashing);
	// HashMs the hashing alone; both 0-ish when TreeCached.
	TreeMs     int64 `json:"treeMs"`
	HashMs     int64 `json:"hashMs"`
	TreeCached bool  `json:"treeCached"`
}

// TreeStats says how a tree was obtained.
type TreeStats struct {
	Total, Hash time.Duration
	Cached      bool
}

// InclusionCapacities are the size classes: 2^10 (tests) and 2^20 leaves.
var InclusionCapacities = []int{1 << 10, 1 << 20}

// The most recently built tree, so that proving several components of one
// image (or a `merkle` op followed by `prove`) hashes the tree once. Keyed by
// SHA-256 over the depth and the raw JSON of the component list.
var treeCache struct {
	sync.Mutex
	key  [32]byte
	tree *merkle.Tree
}

func codeErr(err error) error {
	var me *merkle.Error
	if errors.As(err, &me) {
		return &Error{Code: me.Code, Msg: err.Error()}
	}
	return err
}

// InclusionTree builds (or reuses) the tree over a JSON component list.
func InclusionTree(raw json.RawMessage, depth int) (*merkle.Tree, TreeStats, error) {
	t0 := time.Now()
	h := sha256.New()
	fmt.Fprintf(h, "%d\n", depth)
	h.Write(raw)
	var key [32]byte
	copy(key[:], h.Sum(nil))
	treeCache.Lock()
	defer treeCache.Unlock()
	if treeCache.tree != nil && treeCache.key == key {
		return treeCache.tree, TreeStats{Total: time.Since(t0), Cached: true}, nil
	}
	var list []ComponentJSON
	if len(raw) == 0 {
		return nil, TreeStats{}, &Error{Code: "INPUT_INVALID", Msg: "inclusion input: components is missing"}
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, TreeStats{}, &Error{Code: "INPUT_INVALID", Msg: fmt.Sprintf("inclusion input: components must be a list of {name, sha256}: %v", err)}
	}
	cs := make([]merkle.Component, len(list))
	for i, c := range list {
		var err error
		if cs[i], err = merkle.ParseComponent(c.Name, c.SHA256); err != nil {
			return nil, TreeStats{}, codeErr(fmt.Errorf("component %d: %w", i+1, err))
		}
	}
	t1 := time.Now()
	tr, err := merkle.BuildComponents(cs, depth)
	if err != nil {
		return nil, TreeStats{}, codeErr(err)
	}
	treeCache.key, treeCache.tree = key, tr
	return tr, TreeStats{Total: time.Since(t0), Hash: time.Since(t1)}, nil
}

func inclusionOutputs(tr *merkle.Tree, st TreeStats) *InclusionOutputs {
	root := tr.Root()
	return &InclusionOutputs{
		Root: root.BigInt(new(big.Int)).String(), RootHex: merkle.RootHex(root), Depth: tr.Depth,
		Components: tr.Len(), TreeMs: st.Total.Milliseconds(), HashMs: st.Hash.Milliseconds(), TreeCached: st.Cached,
	}
}

// InclusionRoot answers the `merkle` op: the root of a component list.
func InclusionRoot(raw json.RawMessage) (*InclusionOutputs, error) {
	var in InclusionTreeInput
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, &Error{Code: "INPUT_INVALID", Msg: fmt.Sprintf("merkle input: %v", err)}
	}
	if in.Depth == 0 {
		in.Depth = 20
	}
	tr, st, err := InclusionTree(in.Components, in.Depth)
	if err != nil {
		return nil, err
	}
	return inclusionOutputs(tr, st), nil
}

func init() {
	Register(&Definition{
		Name:         inclusion.Name,
		Version:      inclusion.Version,
		Capacities:   InclusionCapacities,
		PublicInputs: inclusionPublicInputs(),
		New:          func(capacity int) frontend.Circuit { return inclusion.New(capacity) },
		Assign: func(capacity int, raw json.RawMessage) (frontend.Circuit, any, error) {
			var in InclusionInput
			if err := json.Unmarshal(raw, &in); err != nil {
				return nil, nil, &Error{Code: "INPUT_INVALID", Msg: fmt.Sprintf("inclusion input: %v", err)}
			}
			target, err := merkle.ParseComponent(in.Component.Name, in.Component.SHA256)
			if err != nil {
				return nil, nil, codeErr(fmt.Errorf("component to prove: %w", err))
			}
			tr, st, err := InclusionTree(in.Components, inclusion.DepthOf(capacity))
			if err != nil {
				return nil, nil, err
			}
			w, _, err := inclusion.Assign(tr, target)
			if err != nil {
				return nil, nil, codeErr(err)
			}
			return w, inclusionOutputs(tr, st), nil
		},
	})
}

func inclusionPublicInputs() []string {
	names := []string{"root", "digestHi", "digestLo"}
	for j := 0; j < merkle.MaxChunks; j++ {
		names = append(names, fmt.Sprintf("name[%d]", j))
	}
	return names
}

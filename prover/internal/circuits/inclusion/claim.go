package inclusion

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits/claim"
	"github.com/veritee/veritee/prover/internal/merkle"
)

// ComponentJSON is one component in the protocol: its name and the hex SHA-256
// digest of its contents.
type ComponentJSON struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

// JSONInput is the JSON input of an inclusion prove request: every
// component of the image (any order; the tree sorts them by name) and the one
// to prove.
type JSONInput struct {
	Components json.RawMessage `json:"components"`
	Component  ComponentJSON   `json:"component"`
}

// JSONTreeInput is the input of the `merkle` op.
type JSONTreeInput struct {
	Components json.RawMessage `json:"components"`
	Depth      int             `json:"depth"`
}

// JSONOutputs are the public outputs of an inclusion proof (the position
// stays private) and facts about the tree.
type JSONOutputs struct {
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

// Capacities are the size classes: 2^10 (tests) and 2^20 leaves.
var Capacities = []int{1 << 10, 1 << 20}

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
		return &claim.Error{Code: me.Code, Msg: err.Error()}
	}
	return err
}

// Tree builds (or reuses) the tree over a JSON component list.
func Tree(raw json.RawMessage, depth int) (*merkle.Tree, TreeStats, error) {
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
		return nil, TreeStats{}, &claim.Error{Code: "INPUT_INVALID", Msg: "inclusion input: components is missing"}
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, TreeStats{}, &claim.Error{Code: "INPUT_INVALID", Msg: fmt.Sprintf("inclusion input: components must be a list of {name, sha256}: %v", err)}
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

func jsonOutputs(tr *merkle.Tree, st TreeStats) *JSONOutputs {
	root := tr.Root()
	return &JSONOutputs{
		Root: root.BigInt(new(big.Int)).String(), RootHex: merkle.RootHex(root), Depth: tr.Depth,
		Components: tr.Len(), TreeMs: st.Total.Milliseconds(), HashMs: st.Hash.Milliseconds(), TreeCached: st.Cached,
	}
}

// RootOp answers the `merkle` op: the root of a component list.
func RootOp(raw json.RawMessage) (*JSONOutputs, error) {
	var in JSONTreeInput
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, &claim.Error{Code: "INPUT_INVALID", Msg: fmt.Sprintf("merkle input: %v", err)}
	}
	if in.Depth == 0 {
		in.Depth = 20
	}
	tr, st, err := Tree(in.Components, in.Depth)
	if err != nil {
		return nil, err
	}
	return jsonOutputs(tr, st), nil
}

func init() {
	claim.RegisterOp("merkle", func(raw json.RawMessage) (any, error) { return RootOp(raw) })
	claim.Register(&claim.Definition{
		Name:         Name,
		Version:      Version,
		Capacities:   Capacities,
		PublicInputs: publicInputNames(),
		New:          func(capacity int) frontend.Circuit { return New(capacity) },
		Vectors:      vectors,
		Assign: func(capacity int, raw json.RawMessage) (frontend.Circuit, any, error) {
			var in JSONInput
			if err := json.Unmarshal(raw, &in); err != nil {
				return nil, nil, &claim.Error{Code: "INPUT_INVALID", Msg: fmt.Sprintf("inclusion input: %v", err)}
			}
			target, err := merkle.ParseComponent(in.Component.Name, in.Component.SHA256)
			if err != nil {
				return nil, nil, codeErr(fmt.Errorf("component to prove: %w", err))
			}
			tr, st, err := Tree(in.Components, DepthOf(capacity))
			if err != nil {
				return nil, nil, err
			}
			w, _, err := Assign(tr, target)
			if err != nil {
				return nil, nil, codeErr(err)
			}
			return w, jsonOutputs(tr, st), nil
		},
	})
}

func publicInputNames() []string {
	names := []string{"root", "digestHi", "digestLo"}
	for j := 0; j < merkle.MaxChunks; j++ {
		names = append(names, fmt.Sprintf("name[%d]", j))
	}
	return names
}

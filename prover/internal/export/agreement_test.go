package export

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAgreement runs gnark's verifier over the shared cases in
// packages/zk/src/groth16/testdata/cases.json. The TypeScript verifier's tests run
// the same file, so both sides agree on every accepted and rejected case.
func TestAgreement(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(testdataDir, "cases.json"))
	if err != nil {
		t.Fatalf("read shared cases (generate with -run TestWriteVectors -args -write): %v", err)
	}
	var file struct {
		Cases []Case `json:"cases"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) < 50 {
		t.Fatalf("only %d cases", len(file.Cases))
	}
	counts := map[string]int{}
	for _, c := range file.Cases {
		got, err := runCase(c)
		counts[c.Expect]++
		if got != c.Expect {
			t.Errorf("%s: expected %s, got %s (%v)", c.Name, c.Expect, got, err)
			continue
		}
		if got == "invalid" && c.Field != "" && err != nil && !strings.Contains(err.Error(), "decode") && !strings.Contains(err.Error(), c.Field) {
			t.Errorf("%s: error %q does not name %s", c.Name, err, c.Field)
		}
	}
	t.Logf("%d cases: %v", len(file.Cases), counts)
}

// generic returns a deep copy of v as a generic JSON tree.
func generic(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// resolveCase loads the named fixtures and applies the patches.
func resolveCase(c Case, load func(kind, name string) (any, error)) (vk, proof, public json.RawMessage, err error) {
	trees := map[string]any{}
	for kind, name := range map[string]string{"vk": c.VK, "proof": c.Proof, "public": c.Public} {
		if trees[kind], err = load(kind, name); err != nil {
			return
		}
	}
	for _, p := range c.Patches {
		cur, ok := trees[p.Target]
		if !ok {
			return nil, nil, nil, fmt.Errorf("patch target %q", p.Target)
		}
		if trees[p.Target], err = applyPatch(cur, p.Path, generic(p.Value)); err != nil {
			return
		}
	}
	raw := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	return raw(trees["vk"]), raw(trees["proof"]), raw(trees["public"]), nil
}

func loadFixture(kind, name string) (any, error) {
	b, err := os.ReadFile(filepath.Join(testdataDir, kind+"_"+name+".json"))
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(b, &out)
	return out, err
}

// runCase returns accept, reject or invalid.
func runCase(c Case) (string, error) {
	vkRaw, proofRaw, publicRaw, err := resolveCase(c, loadFixture)
	if err != nil {
		return "error", err
	}
	var vk VKJSON
	var proof ProofJSONT
	var public []string
	if err := json.Unmarshal(vkRaw, &vk); err != nil {
		return "invalid", errors.New("decode vk: " + err.Error())
	}
	if err := json.Unmarshal(proofRaw, &proof); err != nil {
		return "invalid", errors.New("decode proof: " + err.Error())
	}
	if err := json.Unmarshal(publicRaw, &public); err != nil {
		return "invalid", errors.New("decode public: " + err.Error())
	}
	err = Verify(&vk, &proof, public)
	switch {
	case err == nil:
		return "accept", nil
	case errors.Is(err, ErrMalformed):
		return "invalid", err
	default:
		return "reject", err
	}
}

// TestFixturesVerify checks the committed single fixtures with gnark.
func TestFixturesVerify(t *testing.T) {
	for _, suffix := range []string{"", "_main", "_multi", "_nocommit"} {
		var vk VKJSON
		var proof ProofJSONT
		var public []string
		for file, dst := range map[string]any{"vk" + suffix + ".json": &vk, "proof" + suffix + ".json": &proof, "public" + suffix + ".json": &public} {
			b, err := os.ReadFile(filepath.Join(testdataDir, file))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, dst); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
		}
		if err := Verify(&vk, &proof, public); err != nil {
			t.Errorf("fixture %q: %v", suffix, err)
		}
	}
}

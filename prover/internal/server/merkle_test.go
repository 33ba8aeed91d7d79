package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/veritee/veritee/prover/internal/keys"
	"github.com/veritee/veritee/prover/internal/merkle"
)

func componentsJSON(names ...string) string {
	var parts []string
	for _, n := range names {
		d := sha256.Sum256([]byte(n))
		parts = append(parts, fmt.Sprintf(`{"name":%q,"sha256":%q}`, n, hex.EncodeToString(d[:])))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func TestMerkleOp(t *testing.T) {
	list := componentsJSON("b", "a", "c")
	ls := run(t, strings.Join([]string{
		`{"id":1,"op":"merkle","input":{"components":` + list + `,"depth":10}}`,
		`{"id":2,"op":"merkle","input":{"components":` + list + `,"depth":10}}`,
		`{"id":3,"op":"merkle","input":{"components":` + componentsJSON("a", "a") + `}}`,
		`{"id":4,"op":"merkle","input":{"components":[{"name":"a","sha256":"xyz"}]}}`,
		`{"id":5,"op":"merkle","input":{"components":` + list + `,"depth":1}}`,
		`{"id":6,"op":"merkle","input":{"components":[]}}`,
		`{"id":7,"op":"merkle","input":{"components":{"a":1}}}`,
	}, "\n")+"\n")
	var cs []merkle.Component
	for _, n := range []string{"a", "b", "c"} {
		c, _ := merkle.ParseComponent(n, hex.EncodeToString(func() []byte { d := sha256.Sum256([]byte(n)); return d[:] }()))
		cs = append(cs, c)
	}
	tr, _ := merkle.BuildComponents(cs, 10)
	if ls[0].Result["rootHex"] != merkle.RootHex(tr.Root()) || ls[0].Result["depth"] != float64(10) || ls[0].Result["components"] != float64(3) {
		t.Fatalf("merkle result %+v", ls[0].Result)
	}
	if ls[0].Result["treeCached"] != false || ls[1].Result["treeCached"] != true || ls[1].Result["rootHex"] != ls[0].Result["rootHex"] {
		t.Fatalf("second request did not reuse the tree: %+v", ls[1].Result)
	}
	want := []string{"INCLUSION_COMPONENT_DUPLICATE", "INCLUSION_COMPONENT_INVALID", "INCLUSION_TREE_FULL", "INPUT_FILE_EMPTY", "INPUT_INVALID"}
	for i, code := range want {
		if l := ls[i+2]; l.Error == nil || l.Error.Code != code {
			t.Errorf("request %d: want %s, got %+v", i+3, code, l.Error)
		}
	}
}

func TestInclusionProveOverProtocol(t *testing.T) {
	list := componentsJSON("bin/sh", "lib/libc.so.6", "etc/os-release")
	d := sha256.Sum256([]byte("lib/libc.so.6"))
	target := fmt.Sprintf(`{"name":"lib/libc.so.6","sha256":%q}`, hex.EncodeToString(d[:]))
	ls := run(t, strings.Join([]string{
		`{"id":1,"op":"setup","circuit":"inclusion","capacity":1024}`,
		`{"id":2,"op":"prove","circuit":"inclusion","capacity":1024,"input":{"components":` + list + `,"component":` + target + `}}`,
		`{"id":3,"op":"prove","circuit":"inclusion","capacity":1024,"input":{"components":` + list + `,"component":{"name":"bin/evil","sha256":"` + strings.Repeat("ab", 32) + `"}}}`,
		`{"id":4,"op":"prove","circuit":"inclusion","capacity":1024,"input":{"components":` + list + `,"component":{"name":"bin/sh","sha256":"` + strings.Repeat("ab", 32) + `"}}}`,
		`{"id":5,"op":"prove","circuit":"inclusion","capacity":1024,"steps":true,"input":{"components":` + list + `,"component":` + target + `}}`,
	}, "\n")+"\n")
	var results []line
	for _, l := range ls {
		if l.OK != nil { // skip progress events
			results = append(results, l)
		}
	}
	if len(results) != 5 || results[1].Error != nil {
		t.Fatalf("prove failed: %+v", results)
	}
	if pi := results[1].Result["publicInputs"].([]any); len(pi) != 11 {
		t.Fatalf("%d public inputs", len(pi))
	}
	// timings: CPU time always, the step breakdown only on request
	tm := results[1].Result["timings"].(map[string]any)
	if _, ok := tm["proveCpuMs"].(float64); !ok || tm["steps"] != nil {
		t.Fatalf("timings without steps: %+v", tm)
	}
	if results[4].Error != nil {
		t.Fatalf("prove with steps: %+v", results[4].Error)
	}
	steps, _ := results[4].Result["timings"].(map[string]any)["steps"].([]any)
	var names []string
	for _, st := range steps {
		m := st.(map[string]any)
		if ms, ok := m["ms"].(float64); !ok || ms < 0 {
			t.Fatalf("step %+v", m)
		}
		names = append(names, m["step"].(string))
	}
	if strings.Join(names, ",") != "solve,commitment pok,fft: 3 inverse,fft: 3 on coset,fft: quotient + inverse on coset,msm: A (G1),msm: B (G1),msm: B (G2),msm: K (G1),msm: H (G1)" {
		t.Fatalf("steps %v", names)
	}
	for _, l := range results[2:4] {
		if l.Error == nil || l.Error.Code != "INCLUSION_COMPONENT_NOT_FOUND" {
			t.Fatalf("component not in the tree: %+v", l.Error)
		}
	}
}

// A request line of tens of MB arriving in pipe-sized reads is read in linear
// time (bufio.Scanner took minutes for a 2^20-component list).
func TestLongLinesArriveInLinearTime(t *testing.T) {
	pad := strings.Repeat("x", 60<<20)
	input := []byte(`{"id":1,"op":"info","pad":"` + pad + `"}` + "\r\n" + `{"id":2,"op":"info"}`)
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < len(input); i += 65536 {
			pw.Write(input[i:min(i+65536, len(input))])
		}
		pw.Close()
	}()
	var out bytes.Buffer
	t0 := time.Now()
	if err := New(keys.NewStore(t.TempDir()), &out).Serve(pr); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > 15*time.Second {
		t.Fatalf("a 60 MB line took %v", d)
	}
	if n := strings.Count(out.String(), `"ok":true`); n != 2 {
		t.Fatalf("%d answers, want 2 (the last line has no newline): %s", n, out.String()[:200])
	}
}

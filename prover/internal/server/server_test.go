package server

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/veritee/veritee/prover/internal/keys"
)

type line struct {
	ID     json.RawMessage `json:"id"`
	OK     *bool           `json:"ok"`
	Result map[string]any  `json:"result"`
	Error  *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func run(t *testing.T, input string) []line {
	t.Helper()
	var out bytes.Buffer
	srv := New(keys.NewStore(t.TempDir()), &out)
	if err := srv.Serve(strings.NewReader(input)); err != nil {
		t.Fatal(err)
	}
	var lines []line
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var x line
		if err := json.Unmarshal([]byte(l), &x); err != nil {
			t.Fatalf("non-protocol output %q: %v", l, err)
		}
		lines = append(lines, x)
	}
	return lines
}

func TestInfo(t *testing.T) {
	ls := run(t, `{"id":1,"op":"info"}`+"\n")
	if len(ls) != 1 || ls[0].OK == nil || !*ls[0].OK {
		t.Fatalf("info failed: %+v", ls)
	}
	if ls[0].Result["protocol"] != "veritee.prover/v1" {
		t.Fatalf("protocol = %v", ls[0].Result["protocol"])
	}
}

func TestErrorsCarryStableCodes(t *testing.T) {
	input := strings.Join([]string{
		`{not json`,
		`{"id":2,"op":"frobnicate"}`,
		`{"id":3,"op":"setup","circuit":"nope","capacity":1024}`,
		`{"id":4,"op":"setup","circuit":"latency","capacity":1000}`,
		`{"id":5,"op":"prove","circuit":"latency","capacity":1024,"input":{}}`,
		`{"id":6,"op":"verify"}`,
		`{"id":7,"op":"shutdown"}`,
		`{"id":8,"op":"info"}`,
	}, "\n") + "\n"
	ls := run(t, input)
	want := []string{"INPUT_JSON_INVALID", "INPUT_INVALID", "CLAIM_UNKNOWN", "INPUT_INVALID", "ZK_SETUP_MISSING", "ZK_BUNDLE_INVALID"}
	if len(ls) != len(want)+1 {
		t.Fatalf("got %d responses, want %d (shutdown stops the loop)", len(ls), len(want)+1)
	}
	for i, code := range want {
		if ls[i].Error == nil || ls[i].Error.Code != code {
			t.Errorf("response %d: want %s, got %+v", i, code, ls[i].Error)
		}
	}
	if ls[len(ls)-1].Result["shutdown"] != true {
		t.Fatal("shutdown not acknowledged")
	}
}

func TestVerifyRefusesDevKeysAndMalformedProofs(t *testing.T) {
	vk := `{"format":"veritee.vk/v1","circuit":"latency","circuitVersion":1,"capacity":1024,"constraints":1,"publicInputs":[],"setup":{"kind":"dev","createdAt":"x"},"groth16":{"protocol":"groth16","curve":"bn254"}}`
	proof := `{"ar":["1","2"],"bs":{"x":["0","0"],"y":["0","0"]},"krs":["1","2"],"commitments":[],"commitmentPok":["0","0"]}`
	ls := run(t, `{"id":1,"op":"verify","vk":`+vk+`,"proof":`+proof+`,"publicInputs":[]}`+"\n"+
		`{"id":2,"op":"verify","allowDevSetup":true,"vk":`+vk+`,"proof":`+proof+`,"publicInputs":[]}`+"\n")
	if ls[0].Result["valid"] != false || ls[0].Result["code"] != "ZK_DEV_SETUP_REFUSED" {
		t.Fatalf("dev key not refused: %+v", ls[0])
	}
	if ls[1].Result["valid"] != false || ls[1].Result["code"] != "ZK_BUNDLE_INVALID" {
		t.Fatalf("malformed key/proof not reported as malformed: %+v", ls[1])
	}
}

// A ceremony key is accepted without allowDevSetup only when its record is
// consistent: a record whose transcript hash does not recompute is refused.
func TestVerifyChecksCeremonyRecords(t *testing.T) {
	c := &keys.Ceremony{Phase1: "veritee-phase1", Phase1Sha256: strings.Repeat("1", 64), Domain: 4, R1CSSha256: strings.Repeat("2", 64), InitSha256: strings.Repeat("3", 64),
		Contributions: []keys.Contribution{{Name: "alice", Sha256: strings.Repeat("4", 64)}}, Beacon: strings.Repeat("5", 64), BeaconIterationsExp: 1}
	c.TranscriptSha256 = keys.TranscriptHash("latency", 1, 1024, c)
	rec, _ := json.Marshal(c)
	vk := func(r string) string {
		return `{"format":"veritee.vk/v1","circuit":"latency","circuitVersion":1,"capacity":1024,"constraints":1,"publicInputs":[],"setup":{"kind":"ceremony","createdAt":"x","ceremony":` + r + `},"groth16":{"protocol":"groth16","curve":"bn254"}}`
	}
	proof := `{"ar":["1","2"],"bs":{"x":["0","0"],"y":["0","0"]},"krs":["1","2"],"commitments":[],"commitmentPok":["0","0"]}`
	tampered := strings.Replace(string(rec), `"alice"`, `"mallory"`, 1)
	ls := run(t, `{"id":1,"op":"verify","vk":`+vk(string(rec))+`,"proof":`+proof+`,"publicInputs":[]}`+"\n"+
		`{"id":2,"op":"verify","vk":`+vk(tampered)+`,"proof":`+proof+`,"publicInputs":[]}`+"\n"+
		`{"id":3,"op":"verify","vk":`+vk("null")+`,"proof":`+proof+`,"publicInputs":[]}`+"\n")
	if ls[0].Result["code"] != "ZK_BUNDLE_INVALID" {
		t.Fatalf("a consistent ceremony record should reach the proof check: %+v", ls[0])
	}
	for _, l := range ls[1:] {
		if l.Result["valid"] != false || l.Result["code"] != "ZK_CEREMONY_POLICY" {
			t.Fatalf("inconsistent ceremony record accepted: %+v", l)
		}
	}
}

// Package server is the prover's JSON-lines protocol on stdin/stdout.
//
// One request per line, one response per line, matched by "id":
//
//	-> {"id":1,"op":"info"}
//	<- {"id":1,"ok":true,"result":{...}}
//	-> {"id":2,"op":"setup","circuit":"latency","capacity":1024}
//	<- {"id":2,"event":"progress","stage":"setup","message":"..."}   (zero or more)
//	<- {"id":2,"ok":true,"result":{"vk":{...veritee.vk/v1...}}}
//	-> {"id":3,"op":"prove","circuit":"latency","capacity":1024,"input":{...}}
//	<- {"id":3,"ok":true,"result":{"proof":{...},"publicInputs":["..."],"outputs":{...},"timings":{...}}}
//	   (timings: witnessMs, proveMs, proveCpuMs; with "steps":true in the request also
//	   steps, a list of {"step","size","ms","cpuMs"} from internal/profile)
//	-> {"id":4,"op":"verify","vk":{...},"proof":{...},"publicInputs":[...],"allowDevSetup":true}
//	<- {"id":4,"ok":true,"result":{"valid":false,"code":"ZK_PROOF_INVALID","reason":"..."}}
//	<- {"id":5,"ok":false,"error":{"code":"ZK_SETUP_MISSING","message":"..."}}
//	-> {"id":6,"op":"merkle","input":{"components":[{"name":"bin/sh","sha256":"<hex>"}],"depth":20}}
//	<- {"id":6,"ok":true,"result":{"root":"<decimal>","rootHex":"<64 hex>","depth":20,"components":1,"treeMs":0,"treeCached":false}}
//
// Each claim's prove input is the JSON input type of its package under
// prover/internal/circuits; a claim may add ops (inclusion adds merkle, which
// returns the root of a component tree and caches the tree for its prove).
//
// Ops: info, setup, load, prove, verify, shutdown, and the claims' ops. Requests run one at a time;
// the TypeScript prover pool runs several processes for parallelism and cancels
// a running request by killing its process. Nothing but protocol lines is
// written to stdout (gnark's logger is silenced); diagnostics go to stderr.
package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/backend/witness"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits"
	"github.com/veritee/veritee/prover/internal/export"
	"github.com/veritee/veritee/prover/internal/keys"
	"github.com/veritee/veritee/prover/internal/profile"
)

// MaxLine bounds one request line (a 65536-record prove request is ~2 MB; a
// list of 2^20 components with 100-byte names is ~180 MB).
const MaxLine = 256 << 20

// Request is one protocol request.
type Request struct {
	ID            json.RawMessage    `json:"id"`
	Op            string             `json:"op"`
	Circuit       string             `json:"circuit,omitempty"`
	Capacity      int                `json:"capacity,omitempty"`
	Version       int                `json:"version,omitempty"` // circuit version; 0: the newest
	Mask          string             `json:"mask,omitempty"`    // BSB22 commitment mask (decimal); default random
	Force         bool               `json:"force,omitempty"`
	Input         json.RawMessage    `json:"input,omitempty"`
	VK            *keys.VKDocument   `json:"vk,omitempty"`
	Proof         *export.ProofJSONT `json:"proof,omitempty"`
	PublicInputs  []string           `json:"publicInputs,omitempty"`
	AllowDevSetup bool               `json:"allowDevSetup,omitempty"`
	// Steps asks prove for a per-step timing breakdown (internal/profile): after the
	// proof, the same computation is run again step by step and timed. Benchmarks only.
	Steps bool `json:"steps,omitempty"`
}

type response struct {
	ID     json.RawMessage `json:"id"`
	OK     *bool           `json:"ok,omitempty"`
	Result any             `json:"result,omitempty"`
	Error  *errBody        `json:"error,omitempty"`
	Event  string          `json:"event,omitempty"`
	Stage  string          `json:"stage,omitempty"`
	Msg    string          `json:"message,omitempty"`
}

type errBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Server holds the key store and writes responses.
type Server struct {
	Store *keys.Store
	mu    sync.Mutex
	out   *bufio.Writer
}

// New returns a server over a key store.
func New(store *keys.Store, out io.Writer) *Server {
	return &Server{Store: store, out: bufio.NewWriter(out)}
}

func (s *Server) send(r response) {
	b, err := json.Marshal(r)
	if err != nil {
		b, _ = json.Marshal(response{ID: r.ID, OK: ptr(false), Error: &errBody{Code: "INTERNAL", Message: err.Error()}})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.out.Write(b)
	s.out.WriteByte('\n')
	s.out.Flush()
}

func ptr[T any](v T) *T { return &v }

// Serve reads requests until EOF or a shutdown op.
func (s *Server) Serve(in io.Reader) error {
	// Not bufio.Scanner: it rescans its whole buffer for the newline after every
	// read, quadratic for a line of hundreds of MB arriving in 64 KB pipe reads.
	rd := bufio.NewReaderSize(in, 1<<20)
	for {
		line, err := readLine(rd)
		if err == io.EOF && len(line) == 0 {
			return nil
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("reading requests: %w", err)
		}
		if len(line) == 0 {
			continue
		}
		var req Request
		if err := json.Unmarshal(line, &req); err != nil {
			s.send(response{ID: json.RawMessage("null"), OK: ptr(false), Error: &errBody{Code: "INPUT_JSON_INVALID", Message: "request is not valid JSON: " + err.Error()}})
			continue
		}
		if req.ID == nil {
			req.ID = json.RawMessage("null")
		}
		if req.Op == "shutdown" {
			s.send(response{ID: req.ID, OK: ptr(true), Result: map[string]bool{"shutdown": true}})
			return nil
		}
		s.handle(&req)
	}
}

// readLine reads one line (without its "\n" or "\r\n") of at most MaxLine bytes.
func readLine(rd *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := rd.ReadSlice('\n')
		if len(line)+len(chunk) > MaxLine {
			return nil, fmt.Errorf("request line longer than %d bytes", MaxLine)
		}
		line = append(line, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		return line, err
	}
}

func (s *Server) handle(req *Request) {
	defer func() {
		if r := recover(); r != nil {
			s.send(response{ID: req.ID, OK: ptr(false), Error: &errBody{Code: "ZK_PROVER_FAILED", Message: fmt.Sprintf("prover panic: %v", r)}})
		}
	}()
	result, err := s.dispatch(req)
	if err != nil {
		code := "ZK_PROVER_FAILED"
		var ce *circuits.Error
		if errors.As(err, &ce) {
			code = ce.Code
		} else if errors.Is(err, export.ErrMalformed) {
			code = "ZK_BUNDLE_INVALID"
		}
		s.send(response{ID: req.ID, OK: ptr(false), Error: &errBody{Code: code, Message: err.Error()}})
		return
	}
	s.send(response{ID: req.ID, OK: ptr(true), Result: result})
}

func (s *Server) dispatch(req *Request) (any, error) {
	switch req.Op {
	case "info":
		return s.info(), nil
	case "setup":
		def, err := circuits.LookupVersion(req.Circuit, req.Version, req.Capacity)
		if err != nil {
			return nil, err
		}
		if req.Capacity == 0 {
			return nil, &circuits.Error{Code: "INPUT_INVALID", Msg: "setup needs a capacity"}
		}
		doc, err := s.Store.DevSetup(def, req.Capacity, req.Force, func(stage, msg string) {
			s.send(response{ID: req.ID, Event: "progress", Stage: stage, Msg: msg})
		})
		if err != nil {
			return nil, err
		}
		return map[string]any{"vk": doc}, nil
	case "load":
		def, err := circuits.LookupVersion(req.Circuit, req.Version, req.Capacity)
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		k, err := s.Store.Load(def, req.Capacity)
		if err != nil {
			return nil, err
		}
		return map[string]any{"vk": k.Doc, "loadMs": time.Since(t0).Milliseconds()}, nil
	case "prove":
		return s.prove(req)
	case "verify":
		return s.verify(req)
	case "commitments":
		return s.commitments(req)
	default:
		if op := circuits.LookupOp(req.Op); op != nil {
			return op(req.Input)
		}
		names := append([]string{"info", "setup", "load", "prove", "verify", "commitments"}, circuits.Ops()...)
		return nil, &circuits.Error{Code: "INPUT_INVALID", Msg: fmt.Sprintf("unknown op %q (%s, shutdown)", req.Op, strings.Join(names, ", "))}
	}
}

func (s *Server) info() any {
	type keyInfo struct {
		Capacity int    `json:"capacity"`
		Present  bool   `json:"present"`
		Loaded   bool   `json:"loaded"`
		Dir      string `json:"dir"`
	}
	type circuitInfo struct {
		Name         string    `json:"name"`
		Version      int       `json:"version"`
		Capacities   []int     `json:"capacities"`
		PublicInputs []string  `json:"publicInputs"`
		Keys         []keyInfo `json:"keys"`
	}
	var cs []circuitInfo
	for _, d := range circuits.All() {
		ci := circuitInfo{Name: d.Name, Version: d.Version, Capacities: d.Capacities, PublicInputs: d.PublicInputs}
		for _, c := range d.Capacities {
			ci.Keys = append(ci.Keys, keyInfo{Capacity: c, Present: s.Store.Exists(d, c), Loaded: s.Store.Loaded(d, c), Dir: s.Store.Dir(d, c)})
		}
		cs = append(cs, ci)
	}
	gnarkVersion := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "github.com/consensys/gnark" {
				gnarkVersion = m.Version
			}
		}
	}
	return map[string]any{
		"protocol": "veritee.prover/v1", "home": s.Store.Home, "circuits": cs,
		"goVersion": runtime.Version(), "gnark": gnarkVersion, "cpus": runtime.NumCPU(),
		"peakRssKb": peakRSSKb(),
	}
}

func (s *Server) prove(req *Request) (any, error) {
	pw, err := s.prepare(req, "prove")
	if err != nil {
		return nil, err
	}
	k, w, mask, outputs, t0 := pw.keys, pw.witness, pw.mask, pw.outputs, pw.t0
	var opts []backend.ProverOption
	if mask != nil {
		opts = append(opts, backend.WithSolverOptions(export.MaskOption(mask)))
	}
	t1, c1 := time.Now(), profile.CPUNow()
	proof, err := groth16.Prove(k.CCS, k.PK, w, opts...)
	if err != nil {
		return nil, &circuits.Error{Code: "ZK_WITNESS_INVALID", Msg: "the witness does not satisfy the circuit: " + err.Error()}
	}
	t2, c2 := time.Now(), profile.CPUNow()
	var steps []profile.Step
	if req.Steps {
		var solverOpts []solver.Option
		if mask != nil {
			solverOpts = append(solverOpts, export.MaskOption(mask))
		}
		if _, steps, err = profile.Prove(k.CCS, k.PK, w, solverOpts...); err != nil {
			return nil, &circuits.Error{Code: "ZK_WITNESS_INVALID", Msg: "the witness does not satisfy the circuit: " + err.Error()}
		}
	}
	pj, err := export.ProofJSON(proof)
	if err != nil {
		return nil, err
	}
	pub, err := w.Public()
	if err != nil {
		return nil, err
	}
	public, err := publicStrings(pub)
	if err != nil {
		return nil, err
	}
	timings := map[string]any{"witnessMs": t1.Sub(t0).Milliseconds(), "proveMs": t2.Sub(t1).Milliseconds(), "proveCpuMs": (c2 - c1).Milliseconds()}
	if steps != nil {
		timings["steps"] = steps
	}
	return map[string]any{
		"proof": pj, "publicInputs": public, "outputs": outputs, "vk": k.Doc,
		"timings": timings,
	}, nil
}

func (s *Server) verify(req *Request) (any, error) {
	if req.VK == nil || req.VK.Groth16 == nil || req.Proof == nil {
		return nil, &circuits.Error{Code: "ZK_BUNDLE_INVALID", Msg: "verify needs vk, proof and publicInputs"}
	}
	if req.VK.Format != keys.Format {
		return map[string]any{"valid": false, "code": "ZK_VK_INVALID", "reason": fmt.Sprintf("verification key format %q is not %q", req.VK.Format, keys.Format)}, nil
	}
	if req.VK.Setup.Kind != "ceremony" && !(req.VK.Setup.Kind == "dev" && req.AllowDevSetup) {
		return map[string]any{"valid": false, "code": "ZK_DEV_SETUP_REFUSED", "reason": fmt.Sprintf("verification key comes from a %q setup; pass allowDevSetup to accept dev keys", req.VK.Setup.Kind)}, nil
	}
	if c := req.VK.Setup.Ceremony; req.VK.Setup.Kind == "ceremony" && (c == nil || len(c.Contributions) == 0 || keys.TranscriptHash(req.VK.Circuit, req.VK.CircuitVersion, req.VK.Capacity, c) != c.TranscriptSha256) {
		return map[string]any{"valid": false, "code": "ZK_CEREMONY_POLICY", "reason": "the key's ceremony record is missing, has no contributions, or does not hash to its transcript hash"}, nil
	}
	t0 := time.Now()
	if err := export.Verify(req.VK.Groth16, req.Proof, req.PublicInputs); err != nil {
		if errors.Is(err, export.ErrMalformed) {
			return map[string]any{"valid": false, "code": "ZK_BUNDLE_INVALID", "reason": err.Error()}, nil
		}
		return map[string]any{"valid": false, "code": "ZK_PROOF_INVALID", "reason": err.Error()}, nil
	}
	return map[string]any{"valid": true, "verifyUs": time.Since(t0).Microseconds()}, nil
}

// prepared is what prove and commitments share: the circuit's keys for the
// size class, the full witness of the request's input and the optional mask.
type prepared struct {
	keys    *keys.Keys
	witness witness.Witness
	mask    *big.Int
	outputs any
	t0      time.Time
}

// prepare looks up the circuit version, loads its keys, assigns the input and
// checks that the keys fit the witness (ZK_KEYS_STALE otherwise), so every
// operation on a witness refuses the same inputs with the same codes.
func (s *Server) prepare(req *Request, op string) (*prepared, error) {
	def, err := circuits.LookupVersion(req.Circuit, req.Version, req.Capacity)
	if err != nil {
		return nil, err
	}
	if req.Capacity == 0 {
		return nil, &circuits.Error{Code: "INPUT_INVALID", Msg: op + " needs a capacity"}
	}
	k, err := s.Store.Load(def, req.Capacity)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	assignment, outputs, err := def.Assign(req.Capacity, req.Input)
	if err != nil {
		return nil, err
	}
	w, err := frontend.NewWitness(assignment, ecc.BN254.ScalarField())
	if err != nil {
		return nil, &circuits.Error{Code: "ZK_WITNESS_INVALID", Msg: err.Error()}
	}
	if err := keysFitWitness(k.CCS, w, def.Name, def.Version, req.Capacity); err != nil {
		return nil, err
	}
	mask, err := parseMask(req.Mask)
	if err != nil {
		return nil, err
	}
	return &prepared{keys: k, witness: w, mask: mask, outputs: outputs, t0: t0}, nil
}

// keysFitWitness refuses keys made for another shape of the circuit (an older
// build of it left in the home): their constraint system expects another number
// of public or secret wires than the circuit this prover assigns, and gnark would
// only say "invalid witness size".
func keysFitWitness(ccs constraint.ConstraintSystem, w witness.Witness, name string, version, capacity int) error {
	pub, err := w.Public()
	if err != nil {
		return &circuits.Error{Code: "ZK_WITNESS_INVALID", Msg: err.Error()}
	}
	nPub, nAll := pub.Vector().(fr.Vector).Len(), w.Vector().(fr.Vector).Len()
	wantPub, wantSec := ccs.GetNbPublicVariables()-1, ccs.GetNbSecretVariables()
	if nPub != wantPub || nAll-nPub != wantSec {
		return &circuits.Error{Code: "ZK_KEYS_STALE", Msg: fmt.Sprintf(
			"the keys for %s v%d at capacity %d were made for another build of the circuit (%d public and %d secret wires; this prover's circuit has %d and %d): run `veritee zk setup --circuit %s --size %d --force`",
			name, version, capacity, wantPub, wantSec, nPub, nAll-nPub, name, capacity)}
	}
	return nil
}

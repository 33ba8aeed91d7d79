package ceremony

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
	"github.com/veritee/veritee/prover/internal/circuits"
	"github.com/veritee/veritee/prover/internal/keys"
)

// Usage lists the ceremony subcommands of veritee-prover.
const Usage = `veritee-prover ceremony <command> [flags]   (one JSON line on stdout)

phase 1 (powers of tau):
  phase1-new        --dir D --power P
  phase1-contribute --in STATE --out STATE
  phase1-accept     --dir D --name NAME --file STATE
  phase1-seal       --dir D --beacon HEX --iterations E
  phase1-verify     --dir D
phase 2 (one circuit and size class):
  init       --dir D --circuit C --size N (--srs SRS --label L | --ptau FILE.ptau)
  contribute --in STATE --out STATE
  accept     --dir D --name NAME --file STATE
  beacon     --dir D --beacon HEX --iterations E
  verify     --dir D [--circuit C --size N] [--home H  (also compare the installed keys)]
             [--srs SRS | --ptau FILE  (the phase 1 it must start from)]
  finalize   --dir D --home H
  status     --dir D
  domain     --circuit C [--size N]   (constraints, FFT domain and phase-1 power needed)
circuits: the claim circuits, and ceremony-selftest (tiny, one commitment) for rehearsals
`

// Main runs a ceremony subcommand and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, Usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	res, err := run(args[0], args[1:])
	enc := json.NewEncoder(stdout)
	if err != nil {
		c := "CEREMONY_INVALID"
		var ce *Error
		var ci *circuits.Error
		switch {
		case errors.As(err, &ce):
			c = ce.Code
		case errors.As(err, &ci):
			c = ci.Code
		}
		enc.Encode(map[string]any{"ok": false, "error": map[string]string{"code": c, "message": err.Error()}})
		return 1
	}
	enc.Encode(map[string]any{"ok": true, "result": res})
	return 0
}

func run(cmd string, args []string) (any, error) {
	fs := flag.NewFlagSet("ceremony "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dir := fs.String("dir", "", "ceremony directory")
	power := fs.Int("power", 0, "phase-1 power (domain 2^power)")
	in := fs.String("in", "", "state to contribute to")
	out := fs.String("out", "", "where to write the new state")
	name := fs.String("name", "", "contributor name")
	file := fs.String("file", "", "contributed state")
	beacon := fs.String("beacon", "", "beacon value (hex)")
	iters := fs.Int("iterations", 10, "log2 of the sha256 iterations over the beacon")
	circuit := fs.String("circuit", "", "circuit name")
	size := fs.Int("size", 0, "size class")
	srs := fs.String("srs", "", "phase-1 result (srs.bin)")
	label := fs.String("label", "", "phase-1 label")
	ptau := fs.String("ptau", "", "snarkjs .ptau file (verify it with snarkjs first)")
	home := fs.String("home", "", "veritee home (keys in HOME/keys)")
	if err := fs.Parse(args); err != nil {
		return nil, errf(CodeInput, "ceremony %s: %v", cmd, err)
	}
	if fs.NArg() > 0 {
		return nil, errf(CodeInput, "ceremony %s: unexpected argument %q", cmd, truncate(fs.Arg(0), 40))
	}
	need := func(pairs ...string) error {
		for i := 0; i < len(pairs); i += 2 {
			if pairs[i+1] == "" {
				return errf(CodeInput, "ceremony %s: --%s is required", cmd, pairs[i])
			}
		}
		return nil
	}
	t0 := time.Now()
	ms := func() int64 { return time.Since(t0).Milliseconds() }
	switch cmd {
	case "phase1-new":
		if err := need("dir", *dir); err != nil {
			return nil, err
		}
		return Phase1New(*dir, *power)
	case "phase1-contribute", "contribute":
		if err := need("in", *in, "out", *out); err != nil {
			return nil, err
		}
		prev, err := readBounded(*in)
		if err != nil {
			return nil, err
		}
		var next []byte
		var h string
		if cmd == "contribute" {
			next, h, err = Contribute(prev)
		} else {
			next, h, err = Phase1Contribute(prev)
		}
		if err != nil {
			return nil, err
		}
		if err := WriteFileAtomic(*out, next); err != nil {
			return nil, errf("INPUT_FILE_UNWRITABLE", "cannot write %s: %v", *out, err)
		}
		return map[string]any{"sha256": h, "bytes": len(next), "contributeMs": ms()}, nil
	case "phase1-accept", "accept":
		if err := need("dir", *dir, "name", *name, "file", *file); err != nil {
			return nil, err
		}
		next, err := readBounded(*file)
		if err != nil {
			return nil, err
		}
		var h string
		if cmd == "accept" {
			h, err = Accept(*dir, *name, next)
		} else {
			h, err = Phase1Accept(*dir, *name, next)
		}
		if err != nil {
			return nil, err
		}
		return map[string]any{"sha256": h, "name": *name, "verifyMs": ms()}, nil
	case "phase1-seal":
		if err := need("dir", *dir, "beacon", *beacon); err != nil {
			return nil, err
		}
		return Phase1Seal(*dir, *beacon, *iters)
	case "phase1-verify":
		if err := need("dir", *dir); err != nil {
			return nil, err
		}
		m, _, err := Phase1Verify(*dir)
		if err != nil {
			return nil, err
		}
		return map[string]any{"manifest": m, "verifyMs": ms()}, nil
	case "init":
		if err := need("dir", *dir, "circuit", *circuit); err != nil {
			return nil, err
		}
		def, err := LookupCircuit(*circuit, *size)
		if err != nil {
			return nil, err
		}
		if *size == 0 {
			return nil, errf(CodeInput, "ceremony init: --size is required (one of %v)", def.Capacities)
		}
		var commons *mpcsetup.SrsCommons
		switch {
		case *ptau != "" && *srs == "":
			r, err := Compile(def, *size)
			if err != nil {
				return nil, err
			}
			if commons, _, err = ReadPtau(*ptau, Domain(r.GetNbConstraints())); err != nil {
				return nil, err
			}
			if *label == "" {
				*label = "ptau:" + filepath.Base(*ptau)
			}
		case *srs != "" && *ptau == "":
			b, err := readBounded(*srs)
			if err != nil {
				return nil, err
			}
			if commons, err = ReadCommons(b); err != nil {
				return nil, err
			}
			if *label == "" {
				*label = "veritee-phase1"
			}
		default:
			return nil, errf(CodeInput, "ceremony init: give exactly one of --srs and --ptau")
		}
		m, err := Init(*dir, def, *size, commons, *label)
		if err != nil {
			return nil, err
		}
		st, _ := os.Stat(filepath.Join(*dir, StateFile(0)))
		return map[string]any{"manifest": m, "stateBytes": st.Size(), "initMs": ms()}, nil
	case "domain":
		if err := need("circuit", *circuit); err != nil {
			return nil, err
		}
		def, err := LookupCircuit(*circuit, *size)
		if err != nil {
			return nil, err
		}
		if *size == 0 {
			*size = def.Capacities[0]
		}
		r, err := Compile(def, *size)
		if err != nil {
			return nil, err
		}
		rh, err := r1csHash(r)
		if err != nil {
			return nil, err
		}
		d := Domain(r.GetNbConstraints())
		p := 0
		for 1<<p < d {
			p++
		}
		return map[string]any{"circuit": def.Name, "circuitVersion": def.Version, "size": *size, "sizes": def.Capacities, "constraints": r.GetNbConstraints(), "domain": d, "power": p, "r1csSha256": rh}, nil
	case "beacon":
		if err := need("dir", *dir, "beacon", *beacon); err != nil {
			return nil, err
		}
		return SealBeacon(*dir, *beacon, *iters)
	case "status":
		if err := need("dir", *dir); err != nil {
			return nil, err
		}
		return ReadManifest(*dir)
	case "verify", "finalize":
		if err := need("dir", *dir); err != nil {
			return nil, err
		}
		m, err := ReadManifest(*dir)
		if err != nil {
			return nil, err
		}
		if *circuit == "" {
			*circuit, *size = m.Circuit, m.Capacity
		}
		def, err := LookupCircuit(*circuit, *size)
		if err != nil {
			return nil, err
		}
		// --srs / --ptau: the phase 1 this transcript must start from (verified separately).
		if *srs != "" || *ptau != "" {
			var commons *mpcsetup.SrsCommons
			if *srs != "" {
				b, err := readBounded(*srs)
				if err != nil {
					return nil, err
				}
				if commons, err = ReadCommons(b); err != nil {
					return nil, err
				}
			} else if commons, _, err = ReadPtau(*ptau, m.Ceremony.Domain); err != nil {
				return nil, err
			}
			if err := CheckPhase1(m, commons); err != nil {
				return nil, err
			}
		}
		var res *Result
		switch {
		case cmd == "finalize":
			if err := need("home", *home); err != nil {
				return nil, err
			}
			res, err = Finalize(*dir, def, *size, keys.NewStore(*home))
		case *home != "":
			k, lerr := keys.NewStore(*home).Load(def, *size)
			if lerr != nil {
				return nil, lerr
			}
			res, err = CheckKeys(*dir, def, *size, k.Doc, k.VK)
		default:
			res, err = Verify(*dir, def, *size)
		}
		if err != nil {
			return nil, err
		}
		return map[string]any{"vk": res.Doc, "timings": res.Timings, "transcriptBytes": transcriptBytes(*dir, len(m.Ceremony.Contributions)), "totalMs": ms()}, nil
	}
	return nil, errf("CLI_COMMAND_UNKNOWN", "ceremony: unknown command %q (see veritee-prover ceremony help)", truncate(cmd, 40))
}

func transcriptBytes(dir string, n int) int64 {
	var total int64
	for _, f := range []string{ManifestFile, Phase1File} {
		if st, err := os.Stat(filepath.Join(dir, f)); err == nil {
			total += st.Size()
		}
	}
	for i := 0; i <= n; i++ {
		if st, err := os.Stat(filepath.Join(dir, StateFile(i))); err == nil {
			total += st.Size()
		}
	}
	return total
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errf("INPUT_FILE_UNREADABLE", "cannot read %s: %v", path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxStateBytes+1))
	if err != nil {
		return nil, errf("INPUT_FILE_UNREADABLE", "cannot read %s: %v", path, err)
	}
	if len(b) > MaxStateBytes {
		return nil, errf("INPUT_TOO_LARGE", "%s exceeds %d bytes", path, MaxStateBytes)
	}
	return b, nil
}

package ceremony

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// snarkjs runs the repository's snarkjs (a devDependency of @veritee/ceremony),
// installing the workspace's dependencies when it is missing.
func snarkjs(t *testing.T, dir string, args ...string) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")
	cli := filepath.Join(root, "node_modules", "snarkjs", "build", "cli.cjs")
	if _, err := os.Stat(cli); err != nil {
		install := exec.Command("npm", "install", "--ignore-scripts", "--no-audit", "--no-fund")
		install.Dir = root
		if out, err := install.CombinedOutput(); err != nil {
			t.Fatalf("snarkjs is missing and npm install failed: %v\n%s", err, out)
		}
	}
	cmd := exec.Command("node", append([]string{cli}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("snarkjs %v: %v\n%s", args, err, out)
	}
}

// A .ptau made and verified by snarkjs converts into SrsCommons that serve a
// phase-2 ceremony whose keys prove and verify; a tampered file is refused.
func TestPtauImport(t *testing.T) {
	dir := t.TempDir()
	snarkjs(t, dir, "powersoftau", "new", "bn128", "4", "p0.ptau")
	snarkjs(t, dir, "powersoftau", "contribute", "p0.ptau", "p1.ptau", "--name=alice", "-e=some entropy")
	snarkjs(t, dir, "powersoftau", "beacon", "p1.ptau", "p2.ptau", beacon, "10", "-n=beacon")
	snarkjs(t, dir, "powersoftau", "verify", "p2.ptau")
	path := filepath.Join(dir, "p2.ptau")

	c, power, err := ReadPtau(path, 8)
	if err != nil {
		t.Fatal(err)
	}
	if power != 4 || len(c.G1.AlphaTau) != 8 || len(c.G1.Tau) != 15 {
		t.Fatalf("power %d, %d α powers", power, len(c.G1.AlphaTau))
	}
	// The full-size import is consistent too.
	if _, _, err := ReadPtau(path, 16); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadPtau(path, 32); code(err) != CodeMismatch {
		t.Fatalf("a domain larger than the file: %v", err)
	}

	pd := filepath.Join(t.TempDir(), "cubic")
	if _, err := Init(pd, cubicDef, 1, c, "ptau:p2.ptau"); err != nil {
		t.Fatal(err)
	}
	contribute(t, pd, "alice")
	contribute(t, pd, "bob")
	contribute(t, pd, "carol")
	// An upper-case beacon is recorded in lower case (key documents require it).
	sm, err := SealBeacon(pd, strings.ToUpper(beacon), 3)
	if err != nil || sm.Ceremony.Beacon != beacon {
		t.Fatalf("beacon: %v %q", err, sm.Ceremony.Beacon)
	}
	// The transcript starts from this .ptau, and not from another phase 1.
	if err := CheckPhase1(sm, c); err != nil {
		t.Fatal(err)
	}
	if err := CheckPhase1(sm, phase1(t, 3)); code(err) != CodeMismatch {
		t.Fatalf("another phase 1: %v", err)
	}
	res, err := Verify(pd, cubicDef, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := proveVerify(t, res.PK, res.VK, 5, 135); err != nil {
		t.Fatalf("proof with keys over the imported .ptau: %v", err)
	}

	// Tampering: tauG1[3] replaced by tauG1[2] (a valid point, wrong power).
	raw, _ := os.ReadFile(path)
	off := sectionOffset(t, raw, ptauSecTauG1)
	bad := append([]byte{}, raw...)
	copy(bad[off+3*64:off+4*64], raw[off+2*64:off+3*64])
	bp := filepath.Join(dir, "bad.ptau")
	os.WriteFile(bp, bad, 0o644)
	if _, _, err := ReadPtau(bp, 8); code(err) != CodePtau {
		t.Fatalf("a wrong power: %v", err)
	}
	// A coordinate changed: off the curve.
	bad = append([]byte{}, raw...)
	bad[off+64+5] ^= 1
	os.WriteFile(bp, bad, 0o644)
	if _, _, err := ReadPtau(bp, 8); code(err) != CodePtau {
		t.Fatalf("a point off the curve: %v", err)
	}
	// Truncated file and wrong magic.
	os.WriteFile(bp, raw[:len(raw)/2], 0o644)
	if _, _, err := ReadPtau(bp, 8); code(err) != CodePtau {
		t.Fatalf("truncated: %v", err)
	}
	os.WriteFile(bp, append([]byte("ptaX"), raw[4:]...), 0o644)
	if _, _, err := ReadPtau(bp, 8); code(err) != CodePtau {
		t.Fatalf("bad magic: %v", err)
	}
}

func sectionOffset(t *testing.T, raw []byte, typ uint32) int {
	pos := 12
	for pos < len(raw) {
		ty := binary.LittleEndian.Uint32(raw[pos:])
		size := binary.LittleEndian.Uint64(raw[pos+4:])
		pos += 12
		if ty == typ {
			return pos
		}
		pos += int(size)
	}
	t.Fatalf("no section %d", typ)
	return 0
}

package inclusion

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/veritee/veritee/prover/internal/circuits/claim"
)

// vectors: component lists of 1, 2, 3 and 100 entries at depth 10, names of
// every chunk shape (empty chunk tails, 31-byte boundaries, 248 bytes, UTF-8),
// proving the first, a middle and the last component in canonical order.
func vectors() []claim.Vector {
	names := []string{"a", "bin/sh", strings.Repeat("x", 31), strings.Repeat("y", 32), strings.Repeat("z", 248), "lib/ünïcödé/€.so", "etc/os-release"}
	list := func(n int) []ComponentJSON {
		out := make([]ComponentJSON, n)
		for i := range out {
			name := names[i%len(names)]
			if i >= len(names) {
				name = fmt.Sprintf("usr/share/doc/pkg-%03d/copyright", i)
			}
			d := sha256.Sum256([]byte(name))
			out[i] = ComponentJSON{Name: name, SHA256: hex.EncodeToString(d[:])}
		}
		return out
	}
	var vs []claim.Vector
	for _, c := range []struct{ n, target int }{{1, 0}, {2, 1}, {3, 2}, {100, 4}, {100, 99}} {
		cs := list(c.n)
		raw, _ := json.Marshal(cs)
		vs = append(vs, claim.Vector{Capacity: 1 << 10, Input: &JSONInput{Components: raw, Component: cs[c.target]}})
	}
	return vs
}

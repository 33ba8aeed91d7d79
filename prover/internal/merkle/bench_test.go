package merkle

import (
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

func BenchmarkCompress(b *testing.B) {
	var l, r fr.Element
	l.SetUint64(1)
	r.SetUint64(2)
	for i := 0; i < b.N; i++ {
		l = Compress(&l, &r)
	}
}

func BenchmarkLeaf(b *testing.B) {
	c := component("usr/lib/x86_64-linux-gnu/libssl.so.3") // 36 bytes: 2 chunks
	for i := 0; i < b.N; i++ {
		c.Leaf()
	}
}

func BenchmarkBuild65536(b *testing.B) {
	cs := components(1 << 16)
	for i := 0; i < b.N; i++ {
		if _, err := BuildComponents(cs, 20); err != nil {
			b.Fatal(err)
		}
	}
}

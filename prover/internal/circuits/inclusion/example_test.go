package inclusion_test

import (
	"crypto/sha256"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"
	"github.com/consensys/gnark/logger"
	"github.com/veritee/veritee/prover/internal/circuits/inclusion"
	"github.com/veritee/veritee/prover/internal/merkle"
)

// Setup, prove and verify that one component is in an image's component tree
// (depth 10): the verifier sees the root and the component, not its position or
// the other components.
func Example() {
	logger.Disable() // gnark logs to stdout
	var image []merkle.Component
	for _, name := range []string{"bin/sh", "lib/libc.so.6", "etc/os-release", "opt/app/server"} {
		image = append(image, merkle.Component{Name: name, Digest: sha256.Sum256([]byte("contents of " + name))})
	}
	tree, _ := merkle.BuildComponents(image, 10)

	ccs, _ := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, inclusion.New(1<<10))
	pk, vk, _ := groth16.Setup(ccs) // a dev setup: production keys come from a ceremony

	witness, _, err := inclusion.Assign(tree, image[1])
	if err != nil {
		panic(err)
	}
	full, _ := frontend.NewWitness(witness, ecc.BN254.ScalarField())
	proof, _ := groth16.Prove(ccs, pk, full)

	public, _ := full.Public() // root, digest halves, name chunks
	fmt.Println("lib/libc.so.6 included:", groth16.Verify(proof, vk, public) == nil)

	// The same proof does not verify for another component of the tree.
	other, _, _ := inclusion.Assign(tree, image[0])
	otherPublic, _ := frontend.NewWitness(other, ecc.BN254.ScalarField(), frontend.PublicOnly())
	fmt.Println("bin/sh with this proof:", groth16.Verify(proof, vk, otherPublic) == nil)
	// Output:
	// lib/libc.so.6 included: true
	// bin/sh with this proof: false
}

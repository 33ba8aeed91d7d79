// Package circuits is the catalogue of veritee's claim circuits. Each claim is
// one package (prover/internal/circuits/<claim>/: circuit, witness builder,
// JSON input and output types, size classes, registration through package
// claim); importing this package registers all of them. The server, key store
// and export code use only the generic names below.
package circuits

import (
	"github.com/veritee/veritee/prover/internal/circuits/claim"

	// The claims: one line each.
	_ "github.com/veritee/veritee/prover/internal/circuits/cpu"
	_ "github.com/veritee/veritee/prover/internal/circuits/disk"
	_ "github.com/veritee/veritee/prover/internal/circuits/gateway"
	_ "github.com/veritee/veritee/prover/internal/circuits/inclusion"
	_ "github.com/veritee/veritee/prover/internal/circuits/latency"
	_ "github.com/veritee/veritee/prover/internal/circuits/memory"
	_ "github.com/veritee/veritee/prover/internal/circuits/streamagg"
	_ "github.com/veritee/veritee/prover/internal/circuits/streamorder"
	_ "github.com/veritee/veritee/prover/internal/circuits/volume"
)

type (
	// Definition describes one claim circuit (see package claim).
	Definition = claim.Definition
	// Error carries a stable veritee error code across the prover protocol.
	Error = claim.Error
	// Vector is one input of a claim's commitment vector set (see package claim).
	Vector = claim.Vector
)

var (
	// Lookup finds a definition and checks the capacity (0: any).
	Lookup = claim.Lookup
	// All returns every definition sorted by name.
	All = claim.All
	// LookupVersion finds a given version of a definition (0: the newest).
	LookupVersion = claim.LookupVersion
	// LookupOp returns a protocol op a claim adds, or nil.
	LookupOp = claim.LookupOp
	// Ops lists the ops the claims add.
	Ops = claim.Ops
)

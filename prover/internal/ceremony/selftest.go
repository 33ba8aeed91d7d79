package ceremony

import (
	"github.com/consensys/gnark/frontend"
	"github.com/veritee/veritee/prover/internal/circuits"
)

// SelfTestName names a tiny circuit for rehearsing a ceremony end to end in
// seconds (and for tests): Y = X³ + X + 5 with one BSB22 commitment, so the
// ceremony must carry a σ. It is not a claim circuit and is not in the registry.
const SelfTestName = "ceremony-selftest"

// selfTest: PUBLIC Y; SECRET X. Y = X³ + X + 5, and a commitment to (X, X³) that
// must be non-zero.
type selfTest struct {
	Y frontend.Variable `gnark:",public"`
	X frontend.Variable
}

func (c *selfTest) Define(api frontend.API) error {
	x3 := api.Mul(c.X, c.X, c.X)
	api.AssertIsEqual(c.Y, api.Add(x3, c.X, 5))
	cm, err := api.(frontend.Committer).Commit(c.X, x3)
	if err != nil {
		return err
	}
	api.AssertIsDifferent(cm, 0)
	return nil
}

// SelfTest is the definition of the self-test circuit (one size class, 1).
var SelfTest = &circuits.Definition{Name: SelfTestName, Version: 1, Capacities: []int{1}, PublicInputs: []string{"y"},
	New: func(int) frontend.Circuit { return &selfTest{} }}

// LookupCircuit finds a claim circuit, or the self-test circuit.
func LookupCircuit(name string, capacity int) (*circuits.Definition, error) {
	if name == SelfTestName {
		if capacity != 0 && capacity != 1 {
			return nil, errf(CodeInput, "%s has one size class, 1", SelfTestName)
		}
		return SelfTest, nil
	}
	return circuits.Lookup(name, capacity)
}

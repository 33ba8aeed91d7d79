package sponge

import (
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/permutation/poseidon2"
)

// Circuit is the in-circuit twin of the native sponge.
type Circuit struct {
	api   frontend.API
	perm  *poseidon2.Permutation
	state [Width]frontend.Variable
}

// NewCircuit returns an in-circuit sponge with a zero state.
func NewCircuit(api frontend.API) (*Circuit, error) {
	p, err := poseidon2.NewPoseidon2FromParameters(api, Width, FullRounds, PartialRounds)
	if err != nil {
		return nil, err
	}
	s := &Circuit{api: api, perm: p}
	for i := range s.state {
		s.state[i] = 0
	}
	return s, nil
}

// AbsorbBlock adds up to Rate elements (missing ones are zero) and permutes.
// It returns state[0] after the permutation.
func (s *Circuit) AbsorbBlock(block []frontend.Variable) (frontend.Variable, error) {
	if len(block) > Rate {
		panic("sponge: block larger than the rate")
	}
	for i, v := range block {
		s.state[i] = s.api.Add(s.state[i], v)
	}
	if err := s.perm.Permutation(s.state[:]); err != nil {
		return nil, err
	}
	return s.state[0], nil
}

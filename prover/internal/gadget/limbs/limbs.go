package limbs

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/constraint/solver"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/multicommit"
	"github.com/veritee/veritee/prover/internal/gadget"
)

func init() { solver.RegisterHint(GetHints()...) }

// GetHints lists the package's hints (registered in init).
func GetHints() []solver.Hint { return []solver.Hint{LimbsHint, CountHint, InverseHint} }

// Checker collects the values to range-check; Define calls Commit once, after
// the last Check, to add the argument.
type Checker struct {
	api    frontend.API
	base   int // B
	nLower int // k - 1
	top    int // T
	values []frontend.Variable
}

// New returns a checker of values of exactly width bits, with lower limbs of
// base bits (1 < base <= 16).
func New(api frontend.API, width, base int) *Checker {
	if base < 2 || base > 16 || width <= base {
		panic(fmt.Sprintf("limbs: unsupported width %d / base %d", width, base))
	}
	nLower := (width - 1) / base
	return &Checker{api: api, base: base, nLower: nLower, top: width - nLower*base}
}

// Check adds v (a value the caller commits) to the values checked to be below 2^width.
func (c *Checker) Check(v frontend.Variable) { c.values = append(c.values, v) }

// Parts returns the lower limbs (hint outputs) and the top limb (linear) of v.
func (c *Checker) parts(v frontend.Variable) ([]frontend.Variable, frontend.Variable) {
	lower, err := c.api.Compiler().NewHint(LimbsHint, c.nLower, c.base, v)
	if err != nil {
		panic(err)
	}
	rest := v
	for i, l := range lower {
		rest = c.api.Sub(rest, c.api.Mul(l, new(big.Int).Lsh(big.NewInt(1), uint(i*c.base))))
	}
	shift := new(big.Int).Lsh(big.NewInt(1), uint(c.nLower*c.base))
	return lower, c.api.DivUnchecked(rest, shift) // division by a constant: linear
}

// Commit adds the argument for every value checked so far.
func (c *Checker) Commit() {
	api := c.api
	if len(c.values) == 0 {
		return
	}
	var lower, tops []frontend.Variable
	for _, v := range c.values {
		l, t := c.parts(v)
		lower = append(lower, l...)
		tops = append(tops, t)
	}
	nLow, nTop := 1<<c.base, 1<<c.top
	if c.top == c.base { // one table serves both: one multiset, one identity
		lower, tops, nTop = append(lower, tops...), nil, 0
	}
	counts, err := api.Compiler().NewHint(CountHint, nLow+nTop, append([]frontend.Variable{len(lower), nLow, nTop}, append(append([]frontend.Variable{}, lower...), tops...)...)...)
	if err != nil {
		panic(err)
	}
	committed := append(append([]frontend.Variable{}, lower...), counts...)
	multicommit.WithCommitment(api, func(api frontend.API, r frontend.Variable) error {
		assertIdentity(api, r, lower, counts[:nLow])
		if nTop > 0 {
			assertIdentity(api, r, tops, counts[nLow:])
		}
		return nil
	}, committed...)
}

// assertIdentity constrains sum_q 1/(r - queries[q]) = sum_t counts[t]/(r - t).
func assertIdentity(api frontend.API, r frontend.Variable, queries, counts []frontend.Variable) {
	in := make([]frontend.Variable, 0, 1+len(queries))
	in = append(in, r)
	in = append(in, queries...)
	inv, err := api.Compiler().NewHint(InverseHint, len(queries), in...)
	if err != nil {
		panic(err)
	}
	in = append(in[:1], counts...)
	in = append(in, 1) // marks "counts over the table 0..len-1"
	quot, err := api.Compiler().NewHint(InverseHint, len(counts), in...)
	if err != nil {
		panic(err)
	}
	r1c := newR1CAdder(api)
	for q := range queries {
		r1c.assertProduct(inv[q], api.Sub(r, queries[q]), 1)
	}
	for t := range counts {
		r1c.assertProduct(quot[t], api.Sub(r, t), counts[t])
	}
	api.AssertIsEqual(gadget.Sum(api, inv), gadget.Sum(api, quot))
}

// r1cAdder adds l * r = o as one R1C with l on the A side (see the package doc).
type r1cAdder struct {
	api frontend.API
	bp  *constraint.BlueprintGenericR1C
	id  constraint.BlueprintID
	raw bool
}

func newR1CAdder(api frontend.API) *r1cAdder {
	a := &r1cAdder{api: api}
	_, plonk := api.(frontend.PlonkAPI)
	if _, ok := api.Compiler().ToCanonicalVariable(1).(constraint.LinearExpression); ok && !plonk {
		a.bp = &constraint.BlueprintGenericR1C{}
		a.id = api.Compiler().AddBlueprint(a.bp)
		a.raw = true
	}
	return a
}

func (a *r1cAdder) assertProduct(l, r, o frontend.Variable) {
	if !a.raw {
		a.api.AssertIsEqual(a.api.Mul(l, r), o)
		return
	}
	cp := a.api.Compiler()
	// a pure constant would come back marked as a constant, not as a term
	// of the constant wire: only o is ever a constant here, and it is 1
	one := constraint.LinearExpression{{CID: constraint.CoeffIdOne, VID: 0}}
	c := constraint.R1C{
		L: cp.ToCanonicalVariable(l).(constraint.LinearExpression),
		R: cp.ToCanonicalVariable(r).(constraint.LinearExpression),
		O: one,
	}
	if oc, isConst := cp.ConstantValue(o); !isConst {
		c.O = cp.ToCanonicalVariable(o).(constraint.LinearExpression)
	} else if oc.Cmp(big.NewInt(1)) != 0 {
		panic("limbs: constant right-hand side other than 1")
	}
	var calldata []uint32
	a.bp.CompressR1C(&c, &calldata)
	cp.AddInstruction(a.id, calldata)
}

// LimbsHint: in = (base, v); out[i] = the i-th base-bit limb of v.
func LimbsHint(_ *big.Int, in, out []*big.Int) error {
	base := uint(in[0].Uint64())
	v := new(big.Int).Set(in[1])
	mask := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), base), big.NewInt(1))
	for i := range out {
		out[i].And(v, mask)
		v.Rsh(v, base)
	}
	return nil
}

// CountHint: in = (nLower, nLow, nTop, lower limbs..., top limbs...); out =
// the multiplicities of 0..nLow-1 among the lower limbs, then of 0..nTop-1
// among the top limbs. A limb outside its table is counted nowhere (the
// identity then fails).
func CountHint(_ *big.Int, in, out []*big.Int) error {
	nLower, nLow, nTop := int(in[0].Int64()), int(in[1].Int64()), int(in[2].Int64())
	if len(out) != nLow+nTop || len(in) < 3+nLower {
		return fmt.Errorf("limbs: count hint shape")
	}
	counts := make([]int64, nLow+nTop)
	for i, x := range in[3:] {
		lim, off := nLow, 0
		if i >= nLower {
			lim, off = nTop, nLow
		}
		if x.IsInt64() && x.Int64() < int64(lim) {
			counts[off+int(x.Int64())]++
		}
	}
	for i := range out {
		out[i].SetInt64(counts[i])
	}
	return nil
}

// InverseHint: in = (r, x_0, ..., x_{n-1}) gives out[i] = 1/(r - x_i); in =
// (r, m_0, ..., m_{n-1}, 1) gives out[t] = m_t/(r - t). Montgomery's batch
// inversion; a zero denominator is an error.
func InverseHint(m *big.Int, in, out []*big.Int) error {
	r := in[0]
	table := len(in) == len(out)+2
	den := make([]*big.Int, len(out))
	acc := big.NewInt(1)
	prefix := make([]*big.Int, len(out))
	for i := range out {
		x := in[1+i]
		if table {
			x = big.NewInt(int64(i))
		}
		den[i] = new(big.Int).Sub(r, x)
		den[i].Mod(den[i], m)
		prefix[i] = new(big.Int).Set(acc)
		acc.Mul(acc, den[i]).Mod(acc, m)
	}
	inv := new(big.Int).ModInverse(acc, m)
	if inv == nil {
		return fmt.Errorf("limbs: the challenge hit a table entry or a limb")
	}
	for i := len(out) - 1; i >= 0; i-- {
		out[i].Mul(inv, prefix[i]).Mod(out[i], m)
		inv.Mul(inv, den[i]).Mod(inv, m)
		if table {
			out[i].Mul(out[i], in[1+i]).Mod(out[i], m)
		}
	}
	return nil
}

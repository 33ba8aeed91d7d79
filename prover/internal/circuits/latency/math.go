package latency

import "math/big"

type bigInt = big.Int

var one = big.NewInt(1)

func pow(b *big.Int, k int) *big.Int { return new(big.Int).Exp(b, big.NewInt(int64(k)), nil) }

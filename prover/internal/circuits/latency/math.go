package latency

import "math/big"

func new2Pow(n int) *big.Int { return new(big.Int).Lsh(big.NewInt(1), uint(n)) }

func pow(b *big.Int, k int) *big.Int { return new(big.Int).Exp(b, big.NewInt(int64(k)), nil) }

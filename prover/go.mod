module github.com/veritee/veritee/prover

go 1.25.7

require (
	github.com/blang/semver/v4 v4.0.0 // indirect
	github.com/consensys/gnark v0.15.0 // indirect
	github.com/consensys/gnark-crypto v0.20.1 // indirect
)

// Command veritee-prover is veritee's long-lived zero-knowledge prover: it keeps
// Groth16 keys in memory and answers JSON-lines requests on stdin/stdout (see
// internal/server for the protocol).
//
//	veritee-prover [--home DIR]        serve the protocol on stdin/stdout
//	veritee-prover ceremony <command>  trusted-setup ceremony steps (internal/ceremony)
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/consensys/gnark/logger"
	"github.com/veritee/veritee/prover/internal/ceremony"
	"github.com/veritee/veritee/prover/internal/keys"
	"github.com/veritee/veritee/prover/internal/server"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "ceremony" {
		logger.Disable()
		os.Exit(ceremony.Main(os.Args[2:], os.Stdout, os.Stderr))
	}
	home := flag.String("home", keys.DefaultHome(), "veritee home directory (keys live in HOME/keys)")
	flag.Parse()
	logger.Disable() // stdout carries the protocol only
	srv := server.New(keys.NewStore(*home), os.Stdout)
	if err := srv.Serve(os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "veritee-prover:", err)
		os.Exit(1)
	}
}

// Command veritee-prover is the long-lived zero-knowledge prover process.
package main

func main() {}

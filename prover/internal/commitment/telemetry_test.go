package commitment

import "testing"

// The telemetry commitments' agreement with TypeScript is checked per claim
// against the claims' vector sets (prover/internal/circuits/vectors_test.go).

func TestTelemetryPackingRejectsOversizedItems(t *testing.T) {
	if _, err := PackItems([]uint64{1 << 32}, MemoryBits); err == nil {
		t.Fatal("2^32 accepted as a 32-bit item")
	}
	if _, err := GatewayStream(&GatewayData{Requests: []uint64{0}}); err == nil {
		t.Fatal("request code 0 accepted")
	}
	if _, err := GatewayStream(&GatewayData{Requests: []uint64{7}}); err == nil {
		t.Fatal("request code 7 accepted")
	}
}

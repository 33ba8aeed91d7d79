package commitment

// Telemetry commitments (memory, cpu, disk, gateway).
//
// Items (measured integers) are packed PerElement(bits) = floor(253/bits) per
// field element, least significant first, every item < 2^bits (so packing is
// injective). Two-dimensional data (samples x processes, mounts x samples) is
// committed row by row: each row is hashed on its own with the sponge (its
// "row digest"), and the commitment is the sponge over a header followed by the
// row digests. This keeps the commitment independent of the circuit's size
// class although both dimensions vary: a flat stream would put cell (s, p) at
// s*nProcesses + p, a position the circuit could only reach by routing.
// Every sponge input encodes its own length through the header counts.
//
//	memory  (veritee.memory.v1):  [tag, nSamples, nProcesses, salt, periodStartUs, periodEndUs, allocatedKiB, row_0 .. row_{nSamples-1}]
//	        row_s = H(pack32(swapPages_s, pageFaults_s, usageKiB_{s,0} .. usageKiB_{s,nProcesses-1}))
//	cpu     (veritee.cpu.v1):     [tag, nSamples, nProcesses, salt, periodStartUs, periodEndUs, capacityMilli, owner, row_0 .. row_{nSamples-1}]
//	        owner = H(pack1(customer_0 .. customer_{nProcesses-1}))   (1 = customer, 0 = platform)
//	        row_s = H(pack20(milli_{s,0} .. milli_{s,nProcesses-1}))
//	disk    (veritee.disk.v1):    [tag, nMounts, nSamples, salt, periodStartUs, periodEndUs, row_0 .. row_{nMounts-1}]
//	        row_m = H(pack48(usedKiB, totalKiB, inodesUsed, inodesTotal) || pack16(queue_{m,0} .. queue_{m,nSamples-1}))
//	gateway (veritee.gateway.v1): [tag, n, nChecks, salt, periodStartUs, periodEndUs, checks, pack5(code_0 .. code_{n-1})]
//	        checks = H(pack2(check_0 .. check_{nChecks-1}))   (1 = failed, 2 = passed)
//	        code   = (statusClass + 1) + 8*connectionOk + 16*rateLimited, statusClass 0 = no response, 1..5 = 1xx..5xx
//
// H is sponge.Hash. Request and check codes are never 0, so zero items are padding.

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/veritee/veritee/prover/internal/sponge"
)

const (
	MemoryDomain  = "veritee.memory.v1"
	CPUDomain     = "veritee.cpu.v1"
	DiskDomain    = "veritee.disk.v1"
	GatewayDomain = "veritee.gateway.v1"

	// MemoryBits bounds memory items (KiB, pages, faults): < 2^32.
	MemoryBits = 32
	// CPUBits bounds CPU samples in milli-cores: < 2^20 (1048 cores).
	CPUBits = 20
	// DiskStatBits bounds KiB and inode counts: < 2^48.
	DiskStatBits = 48
	// QueueBits bounds queue depth samples: < 2^16.
	QueueBits = 16
	// CodeBits is the width of a request code.
	CodeBits = 5
	// CheckBits is the width of a health-check code.
	CheckBits = 2

	MemoryHeaderLen  = 7
	CPUHeaderLen     = 8
	DiskHeaderLen    = 6
	GatewayHeaderLen = 7
)

// PerElement is how many items of the given width share one field element.
func PerElement(bits int) int { return 253 / bits }

// PackItems packs items PerElement(bits) per element, least significant first.
func PackItems(items []uint64, bits int) ([]fr.Element, error) {
	per := PerElement(bits)
	out := make([]fr.Element, (len(items)+per-1)/per)
	for j := range out {
		acc := new(big.Int)
		for k := per - 1; k >= 0; k-- {
			acc.Lsh(acc, uint(bits))
			i := j*per + k
			if i >= len(items) {
				continue
			}
			if bits < 64 && items[i]>>uint(bits) != 0 {
				return nil, fmt.Errorf("item %d: %d does not fit %d bits", i, items[i], bits)
			}
			acc.Or(acc, new(big.Int).SetUint64(items[i]))
		}
		out[j].SetBigInt(acc)
	}
	return out, nil
}

func hashItems(items []uint64, bits int) (fr.Element, error) {
	p, err := PackItems(items, bits)
	if err != nil {
		return fr.Element{}, err
	}
	return sponge.Hash(p), nil
}

func u(v uint64) fr.Element {
	var e fr.Element
	e.SetUint64(v)
	return e
}

// ---- memory -----------------------------------------------------------------

// MemorySample is one sample of the memory window.
type MemorySample struct {
	SwapPages  uint64   // pages swapped in + out during the sample
	PageFaults uint64   // page faults during the sample
	UsageKiB   []uint64 // per process, the same process order in every sample
}

// MemoryData is everything a memory commitment covers.
type MemoryData struct {
	Salt          fr.Element
	PeriodStartUs uint64
	PeriodEndUs   uint64
	AllocatedKiB  uint64
	Samples       []MemorySample
}

// MemoryRow returns the items of one sample row.
func MemoryRow(s *MemorySample) []uint64 {
	return append([]uint64{s.SwapPages, s.PageFaults}, s.UsageKiB...)
}

// MemoryStream returns the outer sponge inputs (header and row digests).
func MemoryStream(d *MemoryData) ([]fr.Element, error) {
	if len(d.Samples) == 0 {
		return nil, fmt.Errorf("no samples")
	}
	nP := len(d.Samples[0].UsageKiB)
	els := []fr.Element{Tag(MemoryDomain), u(uint64(len(d.Samples))), u(uint64(nP)), d.Salt, u(d.PeriodStartUs), u(d.PeriodEndUs), u(d.AllocatedKiB)}
	for i := range d.Samples {
		if len(d.Samples[i].UsageKiB) != nP {
			return nil, fmt.Errorf("sample %d has %d processes, sample 0 has %d", i, len(d.Samples[i].UsageKiB), nP)
		}
		h, err := hashItems(MemoryRow(&d.Samples[i]), MemoryBits)
		if err != nil {
			return nil, fmt.Errorf("sample %d: %w", i, err)
		}
		els = append(els, h)
	}
	return els, nil
}

// Memory computes the memory commitment.
func Memory(d *MemoryData) (fr.Element, error) {
	els, err := MemoryStream(d)
	if err != nil {
		return fr.Element{}, err
	}
	return sponge.Hash(els), nil
}

// ---- cpu --------------------------------------------------------------------

// CPUData is everything a CPU commitment covers.
type CPUData struct {
	Salt          fr.Element
	PeriodStartUs uint64
	PeriodEndUs   uint64
	CapacityMilli uint64     // machine capacity in milli-cores
	Customer      []bool     // per process: true = customer, false = platform
	Samples       [][]uint64 // [sample][process] milli-cores
}

// CPUStream returns the outer sponge inputs.
func CPUStream(d *CPUData) ([]fr.Element, error) {
	nP := len(d.Customer)
	flags := make([]uint64, nP)
	for i, c := range d.Customer {
		if c {
			flags[i] = 1
		}
	}
	owner, _ := hashItems(flags, 1)
	els := []fr.Element{Tag(CPUDomain), u(uint64(len(d.Samples))), u(uint64(nP)), d.Salt, u(d.PeriodStartUs), u(d.PeriodEndUs), u(d.CapacityMilli), owner}
	for i, row := range d.Samples {
		if len(row) != nP {
			return nil, fmt.Errorf("sample %d has %d processes, ownership has %d", i, len(row), nP)
		}
		h, err := hashItems(row, CPUBits)
		if err != nil {
			return nil, fmt.Errorf("sample %d: %w", i, err)
		}
		els = append(els, h)
	}
	return els, nil
}

// CPU computes the CPU commitment.
func CPU(d *CPUData) (fr.Element, error) {
	els, err := CPUStream(d)
	if err != nil {
		return fr.Element{}, err
	}
	return sponge.Hash(els), nil
}

// ---- disk -------------------------------------------------------------------

// Mount is one mounted filesystem.
type Mount struct {
	UsedKiB     uint64   `json:"usedKiB"`
	TotalKiB    uint64   `json:"totalKiB"`
	InodesUsed  uint64   `json:"inodesUsed"`
	InodesTotal uint64   `json:"inodesTotal"`
	QueueDepth  []uint64 `json:"queueDepth"` // I/Os in flight on the backing device, per sample
}

// DiskData is everything a disk commitment covers.
type DiskData struct {
	Salt          fr.Element
	PeriodStartUs uint64
	PeriodEndUs   uint64
	Mounts        []Mount
}

// DiskRow returns the packed elements of one mount row.
func DiskRow(m *Mount) ([]fr.Element, error) {
	stats, err := PackItems([]uint64{m.UsedKiB, m.TotalKiB, m.InodesUsed, m.InodesTotal}, DiskStatBits)
	if err != nil {
		return nil, err
	}
	q, err := PackItems(m.QueueDepth, QueueBits)
	if err != nil {
		return nil, err
	}
	return append(stats, q...), nil
}

// DiskStream returns the outer sponge inputs.
func DiskStream(d *DiskData) ([]fr.Element, error) {
	if len(d.Mounts) == 0 {
		return nil, fmt.Errorf("no mounts")
	}
	nS := len(d.Mounts[0].QueueDepth)
	els := []fr.Element{Tag(DiskDomain), u(uint64(len(d.Mounts))), u(uint64(nS)), d.Salt, u(d.PeriodStartUs), u(d.PeriodEndUs)}
	for i := range d.Mounts {
		if len(d.Mounts[i].QueueDepth) != nS {
			return nil, fmt.Errorf("mount %d has %d queue samples, mount 0 has %d", i, len(d.Mounts[i].QueueDepth), nS)
		}
		row, err := DiskRow(&d.Mounts[i])
		if err != nil {
			return nil, fmt.Errorf("mount %d: %w", i, err)
		}
		els = append(els, sponge.Hash(row))
	}
	return els, nil
}

// Disk computes the disk commitment.
func Disk(d *DiskData) (fr.Element, error) {
	els, err := DiskStream(d)
	if err != nil {
		return fr.Element{}, err
	}
	return sponge.Hash(els), nil
}

// ---- gateway ----------------------------------------------------------------

// Request code fields.
const (
	CodeClassMask  = 7  // statusClass + 1: 1 = no response, 2..6 = 1xx..5xx
	CodeConnOK     = 8  // the connection was established and completed
	CodeRateLimit  = 16 // the gateway's rate limiter fired for this request
	CheckFailed    = 1
	CheckPassed    = 2
	Class5xxCode   = 6
	maxClassCode   = 6
	firstClassCode = 1
)

// RequestCode encodes one request. statusClass is 0 (no response) or 1..5.
func RequestCode(statusClass int, connOK, rateLimited bool) uint64 {
	c := uint64(statusClass + 1)
	if connOK {
		c |= CodeConnOK
	}
	if rateLimited {
		c |= CodeRateLimit
	}
	return c
}

// ValidRequestCode reports whether c encodes a request (not padding).
func ValidRequestCode(c uint64) bool {
	return c < 32 && c&CodeClassMask >= firstClassCode && c&CodeClassMask <= maxClassCode
}

// GatewayData is everything a gateway commitment covers.
type GatewayData struct {
	Salt          fr.Element
	PeriodStartUs uint64
	PeriodEndUs   uint64
	Requests      []uint64 // request codes
	Checks        []bool   // backend health-check results
}

// CheckCodes returns the health-check items.
func CheckCodes(checks []bool) []uint64 {
	out := make([]uint64, len(checks))
	for i, ok := range checks {
		out[i] = CheckFailed
		if ok {
			out[i] = CheckPassed
		}
	}
	return out
}

// GatewayStream returns the sponge inputs.
func GatewayStream(d *GatewayData) ([]fr.Element, error) {
	for i, c := range d.Requests {
		if !ValidRequestCode(c) {
			return nil, fmt.Errorf("request %d: %d is not a request code", i, c)
		}
	}
	checks, _ := hashItems(CheckCodes(d.Checks), CheckBits)
	packed, err := PackItems(d.Requests, CodeBits)
	if err != nil {
		return nil, err
	}
	els := []fr.Element{Tag(GatewayDomain), u(uint64(len(d.Requests))), u(uint64(len(d.Checks))), d.Salt, u(d.PeriodStartUs), u(d.PeriodEndUs), checks}
	return append(els, packed...), nil
}

// Gateway computes the gateway commitment.
func Gateway(d *GatewayData) (fr.Element, error) {
	els, err := GatewayStream(d)
	if err != nil {
		return fr.Element{}, err
	}
	return sponge.Hash(els), nil
}

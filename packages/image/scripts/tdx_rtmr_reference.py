#!/usr/bin/env python3
"""Second, independent implementation (Python, standard library only) of the TDX
RTMR0-2 prediction for a direct-boot TD, written from the TDX Virtual Firmware
Design Guide, the TCG PC Client PFP event formats, the PE/COFF Authenticode
specification, QEMU's x86 Linux loader (setup-header patch) and the model of the
published calculator (dstack-mr). It shares no code with src/tdx/rtmr.ts.

usage: tdx_rtmr_reference.py FIRMWARE KERNEL INITRD|- MEMORY_BYTES CMDLINE_FILE [ACPI_TABLES ACPI_RSDP ACPI_LOADER]
prints JSON {"rtmr0": hex|null, "rtmr1": hex, "rtmr2": hex, "events": [[rtmr, hex], ...]}
"""
import hashlib
import json
import struct
import sys

FOOTER_GUID = "96b582de-1fb2-45f7-baea-a366c55a082d"
TDX_META_GUID = "e47a6535-984a-4798-865e-4685a7bf8ec2"
GLOBAL_VAR = "8be4df61-93ca-11d2-aa0d-00e098032b8c"
SECURITY_DB = "d719b2cb-3d3a-4596-a3bc-dad00e67656f"
DXEFV = "7cb8bdc9-f8eb-4f34-aaea-3ee4af6516a1"
UIAPP = "462caa21-7614-4503-836e-8ab6f4662331"


def guid_bytes(text):
    a, b, c, d, e = text.split("-")
    return struct.pack("<IHH", int(a, 16), int(b, 16), int(c, 16)) + bytes.fromhex(d + e)


def h384(*parts):
    h = hashlib.sha384()
    for p in parts:
        h.update(p)
    return h.digest()


def tdvf_sections(fw):
    # walk the footer GUID table backwards from 0x20 bytes before the end
    end = len(fw) - 0x20
    assert fw[end - 16:end] == guid_bytes(FOOTER_GUID), "no footer table"
    total = struct.unpack_from("<H", fw, end - 18)[0]
    start = end - total
    pos = end - 18
    entries = {}
    while pos > start:
        g = fw[pos - 16:pos]
        ln = struct.unpack_from("<H", fw, pos - 18)[0]
        entries[g] = fw[pos - ln:pos - 18]
        pos -= ln
    meta = entries[guid_bytes(TDX_META_GUID)]
    off = len(fw) - struct.unpack_from("<I", meta, len(meta) - 4)[0]
    assert fw[off:off + 4] == b"TDVF"
    count = struct.unpack_from("<I", fw, off + 12)[0]
    out = []
    for i in range(count):
        out.append(struct.unpack_from("<IIQQII", fw, off + 16 + 32 * i))
    return out  # (data_offset, raw_size, gpa, mem_size, type, attrs)


def td_hob(sections, mem):
    hob_base = [s[2] for s in sections if s[4] == 2][0]
    accepted = sorted((s[2], s[2] + s[3]) for s in sections if s[4] in (2, 3) and s[3] > 0)
    # complement of the accepted set within [0, mem), in address order
    pieces = []
    cursor = 0
    for a, b in accepted:
        if a > cursor:
            pieces.append((7, cursor, a))
        pieces.append((0, a, b))
        cursor = max(cursor, b)
    assert cursor < mem
    tail = (cursor, mem)
    body = b""

    def res(kind, start, length):
        return struct.pack("<HHI16sB3xIQQ", 3, 48, 0, b"\0" * 16, kind, 7, start, length)

    for kind, a, b in pieces:
        body += res(kind, a, b - a)
    if mem >= 0xB0000000:
        if tail[0] < 0x80000000:
            body += res(7, tail[0], 0x80000000 - tail[0])
        if tail[1] > 0x80000000:
            body += res(7, 0x100000000, tail[1] - 0x80000000)
    else:
        body += res(7, tail[0], tail[1] - tail[0])
    end_of_list = hob_base + 56 + len(body) + 8
    phit = struct.pack("<HHIII", 1, 56, 0, 9, 0) + b"\0" * 32 + struct.pack("<Q", end_of_list)
    return phit + body


def qemu_patch(kernel, initrd_len, mem, acpi=0x28000):
    k = bytearray(kernel)
    proto = struct.unpack_from("<H", k, 0x206)[0]
    high = proto >= 0x200 and (k[0x211] & 1)
    real, cmd = (0x10000, 0x20000) if high else (0x90000, 0x9A000)
    if proto >= 0x200:
        k[0x210] = 0xB0
    if proto >= 0x201:
        k[0x211] |= 0x80
        struct.pack_into("<I", k, 0x224, cmd - real - 0x200)
    if proto >= 0x202:
        struct.pack_into("<I", k, 0x228, cmd)
    else:
        struct.pack_into("<HH", k, 0x20, 0xA33F, cmd - real)
    if initrd_len:
        if proto >= 0x20C:
            limit = 0xFFFFFFFF if struct.unpack_from("<H", k, 0x236)[0] & 0x40 else 0x37FFFFFF
        elif proto >= 0x203:
            limit = struct.unpack_from("<I", k, 0x22C)[0] or 0x37FFFFFF
        else:
            limit = 0x37FFFFFF
        low = 0x80000000 if mem >= 0xB0000000 else min(mem, 0xB0000000)
        limit = min(limit, low - acpi - 1)
        assert initrd_len < limit
        struct.pack_into("<II", k, 0x218, (limit - initrd_len) & ~0xFFF, initrd_len)
    return bytes(k)


def authenticode(pe):
    e_lfanew = struct.unpack_from("<I", pe, 0x3C)[0]
    assert pe[e_lfanew:e_lfanew + 4] == b"PE\0\0"
    nsec, = struct.unpack_from("<H", pe, e_lfanew + 6)
    optsz, = struct.unpack_from("<H", pe, e_lfanew + 20)
    opt = e_lfanew + 24
    plus = struct.unpack_from("<H", pe, opt)[0] == 0x20B
    hdrs, = struct.unpack_from("<I", pe, opt + 60)
    secdir = opt + (144 if plus else 128)
    cert_off, cert_len = struct.unpack_from("<II", pe, secdir)
    # ranges of the file that are hashed
    ranges = [(0, opt + 64), (opt + 68, secdir), (secdir + 8, hdrs)]
    secs = []
    for i in range(nsec):
        size, ptr = struct.unpack_from("<II", pe, opt + optsz + 40 * i + 16)
        if size:
            secs.append((ptr, ptr + size))
    done = hdrs
    for a, b in sorted(secs):
        ranges.append((a, b))
        done += b - a
    extra = len(pe) - done - (cert_len if cert_off and cert_len else 0)
    if extra > 0:
        ranges.append((done, done + extra))
    data = b"".join(pe[a:b] for a, b in ranges)
    data += b"\0" * ((8 - len(pe) % 8) % 8)
    return hashlib.sha384(data).digest()


def var_event(guid, name):
    return h384(guid_bytes(guid) + struct.pack("<QQ", len(name), 0) + name.encode("utf-16-le"))


def main():
    fw = open(sys.argv[1], "rb").read()
    kernel = open(sys.argv[2], "rb").read()
    initrd = b"" if sys.argv[3] == "-" else open(sys.argv[3], "rb").read()
    mem = int(sys.argv[4])
    cmdline = open(sys.argv[5], "rb").read().decode()
    events = []
    regs = [bytes(48)] * 3

    def ext(i, d):
        regs[i] = h384(regs[i], d)
        events.append([i, d.hex()])

    secs = tdvf_sections(fw)
    if len(sys.argv) > 6:
        tables, rsdp, loader = (open(p, "rb").read() for p in sys.argv[6:9])
        cfv = [s for s in secs if s[4] == 1][0]
        ext(0, h384(td_hob(secs, mem)))
        ext(0, h384(fw[cfv[0]:cfv[0] + cfv[1]]))
        for g, n in ((GLOBAL_VAR, "SecureBoot"), (GLOBAL_VAR, "PK"), (GLOBAL_VAR, "KEK"), (SECURITY_DB, "db"), (SECURITY_DB, "dbx")):
            ext(0, var_event(g, n))
        ext(0, h384(b"\0\0\0\0"))
        for blob in (loader, rsdp, tables):
            ext(0, h384(blob))
        ext(0, h384(b"\0\0"))
        # Boot0000: EFI_LOAD_OPTION of OVMF's UiApp (active, hidden, app), data only
        path = b"\x04\x07\x14\x00" + guid_bytes(DXEFV) + b"\x04\x06\x14\x00" + guid_bytes(UIAPP) + b"\x7f\xff\x04\x00"
        ext(0, h384(struct.pack("<IH", 0x109, len(path)) + "UiApp\0".encode("utf-16-le") + path))
    ext(1, authenticode(qemu_patch(kernel, len(initrd), mem)))
    for s in (b"Calling EFI Application from Boot Option", b"\0\0\0\0", b"Exit Boot Services Invocation", b"Exit Boot Services Returned with Success"):
        ext(1, h384(s))
    if initrd:
        cmdline += " initrd=initrd"
    ext(2, h384(cmdline.encode("utf-16-le") + b"\0\0"))
    if initrd:
        ext(2, h384(initrd))
    print(json.dumps({"rtmr0": regs[0].hex() if len(sys.argv) > 6 else None, "rtmr1": regs[1].hex(), "rtmr2": regs[2].hex(), "events": events}))


if __name__ == "__main__":
    main()

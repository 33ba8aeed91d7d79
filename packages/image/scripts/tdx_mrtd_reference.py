#!/usr/bin/env python3
"""A second, independent MRTD calculator (Python, written separately from the
TypeScript one) for TDX vector generation: reads a TDVF file, prints a JSON
object {"single-pass": hex, "two-pass": hex}. Follows the TDX module's
TDH.MEM.PAGE.ADD / TDH.MR.EXTEND records as dstack-mr describes them."""
import hashlib, json, struct, sys, uuid

def guid_le(s):
    return uuid.UUID(s).bytes_le

def find_tdvf(fw):
    footer = len(fw) - 0x20 - 18
    total, = struct.unpack_from('<H', fw, footer)
    assert fw[footer + 2:footer + 18] == guid_le('96b582de-1fb2-45f7-baea-a366c55a082d')
    end, start = footer, footer - (total - 18)
    while end - start >= 18:
        ln, = struct.unpack_from('<H', fw, end - 18)
        g = fw[end - 16:end]
        if g == guid_le('e47a6535-984a-4798-865e-4685a7bf8ec2'):
            off, = struct.unpack_from('<I', fw, end - 18 - 4)
            return len(fw) - off
        end -= ln
    raise SystemExit('no TDX metadata')

def mrtd(fw, two_pass):
    at = find_tdvf(fw)
    assert fw[at:at + 4] == b'TDVF'
    n, = struct.unpack_from('<I', fw, at + 12)
    h = hashlib.sha384()
    def rec(tag, gpa):
        h.update(tag.ljust(16, b'\0') + struct.pack('<Q', gpa) + bytes(104))
    for i in range(n):
        doff, raw, addr, msize, typ, attr = struct.unpack_from('<IIQQII', fw, at + 16 + 32 * i)
        pages = msize // 4096
        def add(p):
            if not attr & 2:
                rec(b'MEM.PAGE.ADD', addr + p * 4096)
        def ext(p):
            if attr & 1:
                for c in range(16):
                    o = p * 4096 + c * 256
                    rec(b'MR.EXTEND', addr + o)
                    h.update(fw[doff + o:doff + o + 256])
        if two_pass:
            for p in range(pages): add(p)
            for p in range(pages): ext(p)
        else:
            for p in range(pages):
                add(p); ext(p)
    return h.hexdigest()

fw = open(sys.argv[1], 'rb').read()
print(json.dumps({'single-pass': mrtd(fw, False), 'two-pass': mrtd(fw, True)}))

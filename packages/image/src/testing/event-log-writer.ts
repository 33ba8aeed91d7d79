/**
 * @module testing/event-log-writer
 * Writes a TD event log in the CCEL layout (TCG2 crypto-agile: the "Spec ID Event03"
 * header declaring SHA-384, then TCG_PCR_EVENT2 records with the CC MR index
 * RTMRn + 1), padded with 0xFF like the firmware's reserved area. For tests of the
 * replay; a real log comes from the guest's /sys/firmware/acpi/tables/data/CCEL.
 */
export function writeTdxEventLog(events: { rtmr: number; type: number; digest: string; data?: Uint8Array }[], pad = 256): Uint8Array {
  const parts: Buffer[] = [];
  const spec = Buffer.alloc(16 + 4 + 4 + 4 + 4 + 1);
  spec.write('Spec ID Event03\0', 0, 'latin1');
  spec.writeUInt32LE(0, 16); // platform class
  spec[20] = 0; // spec version minor
  spec[21] = 2; // major
  spec[22] = 0; // errata
  spec[23] = 2; // uintn size
  spec.writeUInt32LE(1, 24); // one algorithm
  spec.writeUInt16LE(0x000c, 28);
  spec.writeUInt16LE(48, 30);
  spec[32] = 0; // vendor info size
  const head = Buffer.alloc(32);
  head.writeUInt32LE(0, 0);
  head.writeUInt32LE(3, 4); // EV_NO_ACTION
  head.writeUInt32LE(spec.length, 28);
  parts.push(head, spec);
  for (const e of events) {
    const data = Buffer.from(e.data ?? new Uint8Array());
    const h = Buffer.alloc(12 + 2 + 48 + 4);
    h.writeUInt32LE(e.rtmr + 1, 0);
    h.writeUInt32LE(e.type, 4);
    h.writeUInt32LE(1, 8);
    h.writeUInt16LE(0x000c, 12);
    Buffer.from(e.digest, 'hex').copy(h, 14);
    h.writeUInt32LE(data.length, 62);
    parts.push(h, data);
  }
  parts.push(Buffer.alloc(pad, 0xff));
  const out = Buffer.concat(parts);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

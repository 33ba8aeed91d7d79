/**
 * @module guid
 * EFI GUIDs in their mixed-endian wire form (the first three fields little-endian,
 * as OVMF and TDVF store them).
 */
import { VeriteeError } from '@veritee/core';

const GUID_RE = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/;

/** "96b582de-1fb2-45f7-baea-a366c55a082d" → its 16 wire bytes. */
export function guidToBytes(guid: string): Uint8Array {
  const m = GUID_RE.exec(guid);
  if (!m) throw new VeriteeError('INTERNAL', `not a GUID: ${guid}`);
  const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
  const out = new Uint8Array(16);
  out.set(hex(m[1]!).reverse(), 0);
  out.set(hex(m[2]!).reverse(), 4);
  out.set(hex(m[3]!).reverse(), 6);
  out.set(hex(m[4]!), 8);
  out.set(hex(m[5]!), 10);
  return out;
}

/** 16 wire bytes → the lower-case text form. */
export function guidFromBytes(b: Uint8Array): string {
  if (b.length !== 16) throw new VeriteeError('INTERNAL', 'a GUID has 16 bytes');
  const h = (from: number, to: number, rev: boolean) => {
    const part = Array.from(b.subarray(from, to));
    if (rev) part.reverse();
    return part.map((x) => x.toString(16).padStart(2, '0')).join('');
  };
  return `${h(0, 4, true)}-${h(4, 6, true)}-${h(6, 8, true)}-${h(8, 10, false)}-${h(10, 16, false)}`;
}

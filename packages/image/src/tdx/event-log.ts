/**
 * @module tdx/event-log
 * Replays a TD event log (the ACPI CCEL area Linux exposes as
 * /sys/firmware/acpi/tables/data/CCEL: TCG2 crypto-agile format) and compares it
 * with a prediction. The log opens with a TCG_PCClientPCREvent carrying the
 * "Spec ID Event03" structure (the digest algorithms and their sizes), then
 * TCG_PCR_EVENT2 records {u32 MR index, u32 type, u32 digest count,
 * (u16 algorithm, digest)…, u32 size, data}. For TDX the index is the CC
 * measurement register: 1 = RTMR0 … 4 = RTMR3 (0 = MRTD, never extended by the
 * log). EV_NO_ACTION records are not extended. The area after the last record is
 * filled with 0xFF (or zeros).
 */
import { createHash } from 'node:crypto';
import { toHex, VeriteeError } from '@veritee/core';
import type { TdxRtmrPrediction } from './rtmr.js';

export const TPM_ALG_SHA384 = 0x000c;
export const EV_NO_ACTION = 0x00000003;
const MAX_EVENTS = 100_000;
const MAX_EVENT_DATA = 16 * 1024 * 1024;

export interface TdxLogEvent {
  /** 0..3 for RTMR0..RTMR3. */
  rtmr: number;
  type: number;
  /** SHA-384 digest (hex). */
  digest: string;
  /** Event data length in bytes. */
  dataSize: number;
}

export interface TdxEventLog {
  events: TdxLogEvent[];
  /** RTMR0..RTMR3 replayed from 48 zero bytes (hex). */
  rtmrs: [string, string, string, string];
}

const bad = (msg: string) => new VeriteeError('IMAGE_EVENT_LOG_INVALID', `TDX event log: ${msg}`);

export function parseTdxEventLog(log: Uint8Array): TdxEventLog {
  const b = Buffer.from(log.buffer, log.byteOffset, log.byteLength);
  const need = (at: number, n: number, what: string) => {
    if (at + n > b.length) throw bad(`${what} at byte ${at} is cut off (the log has ${b.length} bytes)`);
  };
  // The Spec ID event (TCG_PCClientPCREvent, SHA-1 sized digest field).
  need(0, 32, 'the first event');
  if (b.readUInt32LE(4) !== EV_NO_ACTION) throw bad('the first event is not the EV_NO_ACTION "Spec ID Event03" header');
  const specSize = b.readUInt32LE(28);
  need(32, specSize, 'the Spec ID event');
  if (specSize < 28 || b.toString('latin1', 32, 48) !== 'Spec ID Event03\0') throw bad('the first event is not "Spec ID Event03" (not a crypto-agile TCG2 log)');
  const algCount = b.readUInt32LE(32 + 24);
  if (algCount === 0 || algCount > 16 || 28 + 4 * algCount > specSize) throw bad(`${algCount} digest algorithms do not fit the Spec ID event`);
  const sizes = new Map<number, number>();
  for (let i = 0; i < algCount; i++) sizes.set(b.readUInt16LE(32 + 28 + 4 * i), b.readUInt16LE(32 + 30 + 4 * i));
  if (sizes.get(TPM_ALG_SHA384) !== 48) throw bad('it declares no SHA-384 digests (algorithm 0x000c of 48 bytes)');
  let at = 32 + specSize;
  const events: TdxLogEvent[] = [];
  const regs = [0, 1, 2, 3].map(() => new Uint8Array(48));
  while (at + 8 <= b.length) {
    const index = b.readUInt32LE(at);
    const type = b.readUInt32LE(at + 4);
    if (index === 0xffffffff || (index === 0 && type === 0)) break; // the unused rest of the area
    if (events.length >= MAX_EVENTS) throw bad(`more than ${MAX_EVENTS} events`);
    need(at, 12, 'an event header');
    const count = b.readUInt32LE(at + 8);
    if (count === 0 || count > algCount) throw bad(`the event at byte ${at} has ${count} digests (the log declares ${algCount} algorithms)`);
    let p = at + 12;
    let sha384: Uint8Array | undefined;
    for (let i = 0; i < count; i++) {
      need(p, 2, 'a digest algorithm');
      const alg = b.readUInt16LE(p);
      const size = sizes.get(alg);
      if (size === undefined) throw bad(`the event at byte ${at} uses digest algorithm 0x${alg.toString(16)}, which the Spec ID event does not declare`);
      need(p + 2, size, 'a digest');
      if (alg === TPM_ALG_SHA384) sha384 = new Uint8Array(b.subarray(p + 2, p + 2 + size));
      p += 2 + size;
    }
    need(p, 4, 'an event size');
    const dataSize = b.readUInt32LE(p);
    if (dataSize > MAX_EVENT_DATA) throw bad(`the event at byte ${at} claims ${dataSize} bytes of data`);
    need(p + 4, dataSize, 'event data');
    if (!sha384) throw bad(`the event at byte ${at} has no SHA-384 digest`);
    if (type !== EV_NO_ACTION) {
      if (index < 1 || index > 4) throw bad(`the event at byte ${at} extends measurement register ${index} (TDX logs extend 1..4 = RTMR0..RTMR3)`);
      const r = index - 1;
      regs[r] = new Uint8Array(createHash('sha384').update(regs[r]!).update(sha384).digest());
      events.push({ rtmr: r, type, digest: toHex(sha384), dataSize });
    }
    at = p + 4 + dataSize;
  }
  return { events, rtmrs: regs.map((r) => toHex(r)) as TdxEventLog['rtmrs'] };
}

/**
 * Requires the replayed log to give the predicted RTMR0 (when predicted), RTMR1 and
 * RTMR2; on a mismatch names the first event that differs.
 */
export function compareTdxEventLog(prediction: TdxRtmrPrediction, log: TdxEventLog): { events: number; compared: number[]; rtmrs: TdxEventLog['rtmrs'] } {
  const compared: number[] = [];
  const predicted = [prediction.rtmr0, prediction.rtmr1, prediction.rtmr2];
  for (let r = 0; r < 3; r++) {
    const want = predicted[r];
    if (want === undefined) continue;
    if (log.rtmrs[r] !== want) {
      const p = prediction.events.filter((e) => e.rtmr === r);
      const l = log.events.filter((e) => e.rtmr === r);
      const i = p.findIndex((e, k) => l[k]?.digest !== e.digest);
      const where =
        i >= 0
          ? `event ${i} (${p[i]!.event}): predicted ${p[i]!.digest.slice(0, 16)}…, the log has ${l[i] ? `${l[i]!.digest.slice(0, 16)}…` : 'no such event'}`
          : `the log has ${l.length - p.length} more event(s) than predicted`;
      throw new VeriteeError('IMAGE_RTMR_MISMATCH', `RTMR${r} replayed from the event log is ${log.rtmrs[r]!.slice(0, 16)}…, predicted ${want.slice(0, 16)}…; first difference: ${where}`);
    }
    compared.push(r);
  }
  return { events: log.events.length, compared, rtmrs: log.rtmrs };
}

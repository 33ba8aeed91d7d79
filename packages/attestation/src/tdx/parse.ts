/**
 * @module tdx/parse
 * The TD report body of a TDX quote (TD 1.0: 584 bytes; TD 1.5: 648 bytes).
 *
 * ```
 * off  len  field                off  len  field
 *   0   16  TEE_TCB_SVN          232   48  MROWNER
 *  16   48  MRSEAM               280   48  MROWNERCONFIG
 *  64   48  MRSIGNERSEAM         328   48  RTMR0
 * 112    8  SEAMATTRIBUTES       376   48  RTMR1
 * 120    8  TDATTRIBUTES         424   48  RTMR2
 * 128    8  XFAM                 472   48  RTMR3
 * 136   48  MRTD                 520   64  REPORTDATA
 * 184   48  MRCONFIGID           --- TD 1.5 only ---
 *                                584   16  TEE_TCB_SVN2
 *                                600   48  MRSERVICETD
 * ```
 * TDATTRIBUTES bit 0 is DEBUG (TUD); bit 28 is SEPT_VE_DISABLE.
 *
 * INVARIANT: parsing establishes layout only; nothing here is trusted before verify.ts checks
 * the quote signature chain.
 */
import { VeriteeError } from '@veritee/core';
import { BODY_TYPE_TD10, BODY_TYPE_TD15, parseDcapQuote, TD10_BODY_LEN, TD15_BODY_LEN, TEE_TYPE_TDX, type DcapQuote } from '../dcap/quote.js';

export interface TdReport {
  /** 'td10' (TDX 1.0 body) or 'td15' (TDX 1.5 body, quote v5 type 3). */
  kind: 'td10' | 'td15';
  teeTcbSvn: Uint8Array;
  mrSeam: Uint8Array;
  mrSignerSeam: Uint8Array;
  seamAttributes: Uint8Array;
  tdAttributes: Uint8Array;
  xfam: Uint8Array;
  mrTd: Uint8Array;
  mrConfigId: Uint8Array;
  mrOwner: Uint8Array;
  mrOwnerConfig: Uint8Array;
  rtmrs: [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  reportData: Uint8Array;
  teeTcbSvn2?: Uint8Array;
  mrServiceTd?: Uint8Array;
  /** TDATTRIBUTES bit 0. */
  debug: boolean;
}

export interface TdxQuote {
  quote: DcapQuote;
  td: TdReport;
}

/** Parses a TD report body of `bodyType` 2 (TD 1.0) or 3 (TD 1.5). */
export function parseTdReport(body: Uint8Array, bodyType: number): TdReport {
  const expected = bodyType === BODY_TYPE_TD10 ? TD10_BODY_LEN : bodyType === BODY_TYPE_TD15 ? TD15_BODY_LEN : -1;
  if (expected < 0) throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `body type ${bodyType} is not a TD report`);
  if (body.length !== expected) {
    throw new VeriteeError('ATTEST_REPORT_TRUNCATED', `TD report body must be ${expected} bytes, got ${body.length}`);
  }
  const f = (off: number, len: number) => body.subarray(off, off + len);
  const tdAttributes = f(120, 8);
  return {
    kind: bodyType === BODY_TYPE_TD15 ? 'td15' : 'td10',
    teeTcbSvn: f(0, 16),
    mrSeam: f(16, 48),
    mrSignerSeam: f(64, 48),
    seamAttributes: f(112, 8),
    tdAttributes,
    xfam: f(128, 8),
    mrTd: f(136, 48),
    mrConfigId: f(184, 48),
    mrOwner: f(232, 48),
    mrOwnerConfig: f(280, 48),
    rtmrs: [f(328, 48), f(376, 48), f(424, 48), f(472, 48)],
    reportData: f(520, 64),
    ...(bodyType === BODY_TYPE_TD15 ? { teeTcbSvn2: f(584, 16), mrServiceTd: f(600, 48) } : {}),
    debug: (tdAttributes[0]! & 1) === 1,
  };
}

/**
 * Parses a raw TDX quote (v4 or v5). Throws VeriteeError (INPUT_TOO_LARGE,
 * ATTEST_REPORT_TRUNCATED, ATTEST_REPORT_VERSION, ATTEST_EVIDENCE_INVALID) naming the field.
 */
export function parseTdxQuote(raw: Uint8Array): TdxQuote {
  const quote = parseDcapQuote(raw, 'TDX quote');
  if (quote.header.teeType !== TEE_TYPE_TDX) {
    throw new VeriteeError('ATTEST_EVIDENCE_INVALID', `TDX quote has TEE type 0x${quote.header.teeType.toString(16)} (SGX), expected 0x81 (TDX)`);
  }
  return { quote, td: parseTdReport(quote.body, quote.bodyType) };
}

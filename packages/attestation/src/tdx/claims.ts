/**
 * @module tdx/claims
 * Normalised claims of a TDX quote: MRTD as the measurement, RTMR0-3 / MRSEAM /
 * MRCONFIGID / MROWNER / MROWNERCONFIG as named measurements, MRCONFIGID as host data,
 * TCB components (TEE_TCB_SVN bytes `tdx.0..15`, PCK SGX components `sgx.0..15`,
 * `pcesvn`, `qe.isvsvn`) with the converged status and advisory IDs, DEBUG from
 * TDATTRIBUTES bit 0.
 *
 * INVARIANT: claims describe what the quote says; whether it is believed is the
 * VerificationResult's `ok`, never a field here.
 */
import { toHex } from '@veritee/core';
import type { PckExtension } from '../dcap/pck.js';
import type { Claims, TcbComponent } from '../types.js';
import type { TdxQuote } from './parse.js';

export interface TdxTcbOutcome {
  status?: string;
  advisoryIds?: string[];
  platformStatus?: string | undefined;
  tdxModuleStatus?: string | undefined;
  qeStatus?: string | undefined;
  collateralSource?: string;
  tcbEvaluationDataNumber?: number;
  /** FMSPC the evaluated TCB info is for. */
  tcbInfoFmspc?: string;
}

export function buildTdxClaims(
  q: TdxQuote,
  ctx: { simulated: boolean; certChain: string[]; pck?: PckExtension; tcb: TdxTcbOutcome },
): Claims {
  const { quote, td } = q;
  const components: TcbComponent[] = [];
  td.teeTcbSvn.forEach((v, i) => components.push({ name: `tdx.${i}`, value: v }));
  if (ctx.pck) {
    ctx.pck.tcbComponents.forEach((v, i) => components.push({ name: `sgx.${i}`, value: v }));
    components.push({ name: 'pcesvn', value: ctx.pck.pceSvn });
  }
  components.push({ name: 'qe.isvsvn', value: quote.signature.qeReport.isvSvn });
  const measurements: Record<string, string> = {
    rtmr0: toHex(td.rtmrs[0]),
    rtmr1: toHex(td.rtmrs[1]),
    rtmr2: toHex(td.rtmrs[2]),
    rtmr3: toHex(td.rtmrs[3]),
    mrseam: toHex(td.mrSeam),
    mrconfigid: toHex(td.mrConfigId),
    mrowner: toHex(td.mrOwner),
    mrownerconfig: toHex(td.mrOwnerConfig),
  };
  const tcbDetail: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(ctx.tcb)) if (v !== undefined && k !== 'status' && k !== 'advisoryIds') tcbDetail[k] = v;
  return {
    platform: 'tdx',
    simulated: ctx.simulated,
    measurement: toHex(td.mrTd),
    measurements,
    reportData: toHex(td.reportData),
    hostData: toHex(td.mrConfigId),
    tcb: {
      components,
      ...(ctx.tcb.status !== undefined ? { status: ctx.tcb.status } : {}),
      ...(ctx.tcb.advisoryIds !== undefined ? { advisoryIds: ctx.tcb.advisoryIds } : {}),
    },
    debug: td.debug,
    attributes: toHex(td.tdAttributes),
    signer: 'pck',
    product: 'tdx',
    certChain: ctx.certChain,
    version: quote.header.version,
    platformData: {
      body: td.kind,
      teeTcbSvn: toHex(td.teeTcbSvn),
      mrSignerSeam: toHex(td.mrSignerSeam),
      seamAttributes: toHex(td.seamAttributes),
      xfam: toHex(td.xfam),
      tdAttributes: {
        debug: td.debug,
        septVeDisable: (td.tdAttributes[3]! & 0x10) !== 0,
        pks: (td.tdAttributes[3]! & 0x40) !== 0,
        kl: (td.tdAttributes[3]! & 0x80) !== 0,
        perfmon: (td.tdAttributes[7]! & 0x80) !== 0,
      },
      ...(td.teeTcbSvn2 ? { teeTcbSvn2: toHex(td.teeTcbSvn2) } : {}),
      ...(td.mrServiceTd ? { mrServiceTd: toHex(td.mrServiceTd) } : {}),
      qeVendorId: toHex(quote.header.qeVendorId),
      qe: {
        mrSigner: toHex(quote.signature.qeReport.mrSigner),
        isvProdId: quote.signature.qeReport.isvProdId,
        isvSvn: quote.signature.qeReport.isvSvn,
      },
      ...(ctx.pck ? { fmspc: ctx.pck.fmspc, pceId: ctx.pck.pceId, sgxType: ctx.pck.sgxType } : {}),
      trailingBytes: quote.trailingBytes,
      tcb: tcbDetail,
    },
  };
}

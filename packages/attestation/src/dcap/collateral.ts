/**
 * @module dcap/collateral
 * DCAP collateral (TCB info, QE identity, their signing chains, PCK and root CRLs) in two
 * input layouts, normalised into one {@link DcapCollateral}:
 *
 * 1. dcap-qvl JSON (as `@phala/dcap-qvl` `getCollateral()` returns it):
 *    `{ tcb_info: "<signed JSON text>", tcb_info_signature: "<hex r||s>", tcb_info_issuer_chain: PEM,
 *       qe_identity, qe_identity_signature, qe_identity_issuer_chain,
 *       pck_crl: "<hex DER>", root_ca_crl: "<hex DER>", pck_crl_issuer_chain: PEM }`
 * 2. Intel PCS files (the bodies and headers the PCS API v4 returns):
 *    `{ tcbInfo: "<body of /tdx/certification/v4/tcb: {\"tcbInfo\":{...},\"signature\":\"...\"}>",
 *       qeIdentity: "<body of /tdx/certification/v4/qe/identity: {\"enclaveIdentity\":{...},\"signature\":\"...\"}>",
 *       tcbInfoIssuerChain: PEM, qeIdentityIssuerChain: PEM,
 *       pckCrl: PEM | base64 DER | hex DER, rootCaCrl: PEM | base64 DER | hex DER, pckCrlIssuerChain?: PEM }`
 *    Build it from files with {@link intelPcsCollateral}.
 *
 * THREAT MODEL: collateral is fetched from untrusted caches and may be stale or forged.
 * Parsing here only establishes shape; nothing is believed until the verifier checks the
 * signatures (to the pinned root) and the validity window at its `at`. The exact signed
 * bytes of the TCB info / QE identity are kept: Intel signs the JSON text, not a value.
 *
 * INVARIANT: parse once, verify many. A {@link DcapCollateral} is immutable; signature
 * results are memoised in it per trust anchor.
 */
import { checkJsonText, fromBase64, fromHex, parseJsonStrict, utf8, VeriteeError } from '@veritee/core';
import { z } from 'zod';
import { parseCert, parseCrl, pemBlocks, sha256Hex, type ParsedCert, type ParsedCrl } from './x509.js';

export const MAX_COLLATERAL_FIELD = 1024 * 1024;

export type TcbStatus =
  | 'UpToDate'
  | 'SWHardeningNeeded'
  | 'ConfigurationNeeded'
  | 'ConfigurationAndSWHardeningNeeded'
  | 'OutOfDate'
  | 'OutOfDateConfigurationNeeded'
  | 'Revoked';

export interface TcbLevel {
  sgxComponents: number[];
  pceSvn: number;
  tdxComponents: number[];
  tcbDate: string;
  tcbStatus: string;
  advisoryIds: string[];
}

export interface IsvTcbLevel {
  isvsvn: number;
  tcbDate: string;
  tcbStatus: string;
  advisoryIds: string[];
}

export interface TdxModuleIdentity {
  id: string;
  mrsigner: string;
  attributes: string;
  attributesMask: string;
  tcbLevels: IsvTcbLevel[];
}

export interface TcbInfo {
  id: string;
  version: number;
  issueDate: Date;
  nextUpdate: Date;
  /** Lowercase hex. */
  fmspc: string;
  /** Lowercase hex. */
  pceId: string;
  tcbType: number;
  tcbEvaluationDataNumber: number;
  tdxModule?: { mrsigner: string; attributes: string; attributesMask: string };
  tdxModuleIdentities: TdxModuleIdentity[];
  tcbLevels: TcbLevel[];
}

export interface QeIdentity {
  id: string;
  version: number;
  issueDate: Date;
  nextUpdate: Date;
  tcbEvaluationDataNumber: number;
  miscselect: number;
  miscselectMask: number;
  /** Lowercase hex, 16 bytes. */
  attributes: string;
  attributesMask: string;
  /** Lowercase hex, 32 bytes. */
  mrsigner: string;
  isvprodid: number;
  tcbLevels: IsvTcbLevel[];
}

export interface SignedJson<T> {
  /** The exact bytes Intel signed. */
  body: Uint8Array;
  /** ECDSA P-256 r||s. */
  signature: Uint8Array;
  /** Leaf (the TCB signing certificate) first. */
  issuerChain: ParsedCert[];
  value: T;
}

export interface DcapCollateral {
  source: 'dcap-qvl' | 'intel-pcs';
  tcbInfo: SignedJson<TcbInfo>;
  qeIdentity: SignedJson<QeIdentity>;
  pckCrl: ParsedCrl;
  rootCaCrl: ParsedCrl;
  /** Optional: the verifier uses the PCK chain from the quote to check the PCK CRL signature. */
  pckCrlIssuerChain: ParsedCert[];
  /** Memoised signature results keyed by `${what}:${anchorId}`; owned by the verifier. */
  readonly memo: Map<string, unknown>;
}

// ---- JSON shapes ------------------------------------------------------------------------

const hexStr = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`), `${bytes} bytes of hex`);
const date = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'an ISO 8601 date');
const svn = z.number().int().min(0).max(0xffff);
const comp = z.object({ svn }).passthrough();
const isvLevel = z.object({
  tcb: z.object({ isvsvn: svn }).passthrough(),
  tcbDate: date,
  tcbStatus: z.string(),
  advisoryIDs: z.array(z.string()).optional(),
});

const tcbInfoSchema = z.object({
  id: z.string().optional(),
  version: z.number().int(),
  issueDate: date,
  nextUpdate: date,
  fmspc: hexStr(6),
  pceId: hexStr(2),
  tcbType: z.number().int().optional(),
  tcbEvaluationDataNumber: z.number().int(),
  tdxModule: z.object({ mrsigner: hexStr(48), attributes: hexStr(8), attributesMask: hexStr(8) }).passthrough().optional(),
  tdxModuleIdentities: z
    .array(z.object({ id: z.string(), mrsigner: hexStr(48), attributes: hexStr(8), attributesMask: hexStr(8), tcbLevels: z.array(isvLevel) }).passthrough())
    .optional(),
  tcbLevels: z
    .array(
      z.object({
        tcb: z
          .object({
            sgxtcbcomponents: z.array(comp).length(16),
            pcesvn: svn,
            tdxtcbcomponents: z.array(comp).length(16).optional(),
          })
          .passthrough(),
        tcbDate: date,
        tcbStatus: z.string(),
        advisoryIDs: z.array(z.string()).optional(),
      }),
    )
    .min(1),
});

const qeIdentitySchema = z.object({
  id: z.string(),
  version: z.number().int(),
  issueDate: date,
  nextUpdate: date,
  tcbEvaluationDataNumber: z.number().int(),
  miscselect: hexStr(4),
  miscselectMask: hexStr(4),
  attributes: hexStr(16),
  attributesMask: hexStr(16),
  mrsigner: hexStr(32),
  isvprodid: svn,
  tcbLevels: z.array(isvLevel).min(1),
});

function invalid(what: string, why: string): never {
  throw new VeriteeError('ATTEST_COLLATERAL_INVALID', `collateral ${what}: ${why}`);
}

function shape<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    invalid(what, `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  return r.data;
}

function parseJsonText(text: string, what: string): unknown {
  // Strict: signed collateral with a duplicate key is refused rather than read last-wins.
  try {
    return parseJsonStrict(text, { what: `collateral ${what}`, code: 'ATTEST_COLLATERAL_INVALID' });
  } catch (e) {
    return invalid(what, `not valid JSON (${(e as Error).message})`);
  }
}

function isvLevels(levels: z.infer<typeof isvLevel>[]): IsvTcbLevel[] {
  return levels.map((l) => ({ isvsvn: l.tcb.isvsvn, tcbDate: l.tcbDate, tcbStatus: l.tcbStatus, advisoryIds: l.advisoryIDs ?? [] }));
}

/** Shapes the signed TCB info JSON text into {@link TcbInfo}. */
export function parseTcbInfo(text: string): TcbInfo {
  const v = shape(tcbInfoSchema, parseJsonText(text, 'tcb_info'), 'tcb_info');
  return {
    id: v.id ?? 'SGX',
    version: v.version,
    issueDate: new Date(v.issueDate),
    nextUpdate: new Date(v.nextUpdate),
    fmspc: v.fmspc.toLowerCase(),
    pceId: v.pceId.toLowerCase(),
    tcbType: v.tcbType ?? 0,
    tcbEvaluationDataNumber: v.tcbEvaluationDataNumber,
    ...(v.tdxModule
      ? { tdxModule: { mrsigner: v.tdxModule.mrsigner.toLowerCase(), attributes: v.tdxModule.attributes.toLowerCase(), attributesMask: v.tdxModule.attributesMask.toLowerCase() } }
      : {}),
    tdxModuleIdentities: (v.tdxModuleIdentities ?? []).map((m) => ({
      id: m.id,
      mrsigner: m.mrsigner.toLowerCase(),
      attributes: m.attributes.toLowerCase(),
      attributesMask: m.attributesMask.toLowerCase(),
      tcbLevels: isvLevels(m.tcbLevels),
    })),
    tcbLevels: v.tcbLevels.map((l) => ({
      sgxComponents: l.tcb.sgxtcbcomponents.map((c) => c.svn),
      pceSvn: l.tcb.pcesvn,
      tdxComponents: (l.tcb.tdxtcbcomponents ?? []).map((c) => c.svn),
      tcbDate: l.tcbDate,
      tcbStatus: l.tcbStatus,
      advisoryIds: l.advisoryIDs ?? [],
    })),
  };
}

/** Shapes the signed QE identity JSON text into {@link QeIdentity}. */
export function parseQeIdentity(text: string): QeIdentity {
  const v = shape(qeIdentitySchema, parseJsonText(text, 'qe_identity'), 'qe_identity');
  return {
    id: v.id,
    version: v.version,
    issueDate: new Date(v.issueDate),
    nextUpdate: new Date(v.nextUpdate),
    tcbEvaluationDataNumber: v.tcbEvaluationDataNumber,
    miscselect: parseInt(v.miscselect, 16) >>> 0,
    miscselectMask: parseInt(v.miscselectMask, 16) >>> 0,
    attributes: v.attributes.toLowerCase(),
    attributesMask: v.attributesMask.toLowerCase(),
    mrsigner: v.mrsigner.toLowerCase(),
    isvprodid: v.isvprodid,
    tcbLevels: isvLevels(v.tcbLevels),
  };
}

// ---- field decoding -----------------------------------------------------------------------

function str(obj: Record<string, unknown>, key: string, optional = false): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) {
    if (optional) return undefined;
    throw new VeriteeError('ATTEST_COLLATERAL_MISSING', `collateral field "${key}" is missing`);
  }
  if (typeof v !== 'string') invalid(key, `expected a string, got ${typeof v}`);
  if (v.length > MAX_COLLATERAL_FIELD) throw new VeriteeError('INPUT_TOO_LARGE', `collateral field "${key}" is ${v.length} characters; the limit is ${MAX_COLLATERAL_FIELD}`);
  return v;
}

/** DER bytes from PEM, hex or base64 text. */
function derField(text: string, key: string, pemLabel: string): Uint8Array {
  const t = text.trim();
  if (t.startsWith('-----BEGIN')) {
    const blocks = pemBlocks(t, pemLabel);
    if (blocks.length !== 1) invalid(key, `expected one PEM ${pemLabel} block, found ${blocks.length}`);
    return blocks[0]!;
  }
  try {
    return /^[0-9a-fA-F]+$/.test(t) && t.length % 2 === 0 ? fromHex(t, key) : fromBase64(t, key);
  } catch {
    invalid(key, 'not PEM, hex or base64');
  }
}

function signatureField(text: string, key: string): Uint8Array {
  const t = text.trim();
  if (!/^[0-9a-fA-F]{128}$/.test(t)) invalid(key, 'expected 64 bytes of hex (ECDSA P-256 r||s)');
  return fromHex(t, key);
}

function chainField(text: string, key: string): ParsedCert[] {
  const ders = pemBlocks(text);
  if (ders.length === 0) invalid(key, 'no PEM certificate');
  try {
    return ders.map((d, i) => parseCert(d, `${key}[${i}]`));
  } catch (e) {
    invalid(key, (e as Error).message);
  }
}

function crlField(text: string, key: string): ParsedCrl {
  return parseCrl(derField(text, key, 'X509 CRL'), key);
}

/**
 * The exact text of the value of top-level key `key` in the JSON object `text`, found by a
 * string-aware scan (Intel signs these bytes, so re-serialising would be wrong).
 */
export function rawJsonMember(text: string, key: string, what: string): string {
  let i = 0;
  const n = text.length;
  const ws = () => {
    while (i < n && /\s/.test(text[i]!)) i++;
  };
  const skipString = () => {
    if (text[i] !== '"') invalid(what, `expected a string at ${i}`);
    i++;
    while (i < n && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= n) invalid(what, 'unterminated string');
    i++;
  };
  const skipValue = () => {
    ws();
    if (text[i] === '"') return skipString();
    if (text[i] === '{' || text[i] === '[') {
      let depth = 0;
      while (i < n) {
        const c = text[i]!;
        if (c === '"') {
          skipString();
          continue;
        }
        if (c === '{' || c === '[') depth++;
        else if (c === '}' || c === ']') {
          depth--;
          if (depth === 0) {
            i++;
            return;
          }
        }
        i++;
      }
      invalid(what, 'unbalanced JSON');
    }
    while (i < n && !/[,}\]\s]/.test(text[i]!)) i++;
  };
  ws();
  if (text[i] !== '{') invalid(what, 'expected a JSON object');
  i++;
  for (;;) {
    ws();
    if (text[i] === '}') break;
    const ks = i;
    skipString();
    const name = JSON.parse(text.slice(ks, i)) as string;
    ws();
    if (text[i] !== ':') invalid(what, `expected ':' at ${i}`);
    i++;
    ws();
    const vs = i;
    skipValue();
    if (name === key) return text.slice(vs, i);
    ws();
    if (text[i] === ',') i++;
    else if (text[i] !== '}') invalid(what, `expected ',' or '}' at ${i}`);
  }
  throw new VeriteeError('ATTEST_COLLATERAL_MISSING', `collateral ${what} has no "${key}" member`);
}

function signedPcsDocument(value: unknown, key: string, member: string): { body: string; signature: Uint8Array } {
  let text: string;
  if (typeof value === 'string') {
    if (value.length > MAX_COLLATERAL_FIELD) throw new VeriteeError('INPUT_TOO_LARGE', `collateral field "${key}" is too large`);
    text = value;
  } else if (value !== null && typeof value === 'object') {
    // Already parsed: re-serialise compactly (Intel's PCS emits compact JSON; if this does not
    // reproduce the signed bytes the signature check fails, closed).
    text = JSON.stringify(value);
  } else if (value === undefined) {
    throw new VeriteeError('ATTEST_COLLATERAL_MISSING', `collateral field "${key}" is missing`);
  } else invalid(key, `expected a JSON document, got ${typeof value}`);
  // A duplicated member ("tcbInfo" twice) would let the signed and the read copy differ.
  checkJsonText(text, { what: `collateral ${key}`, code: 'ATTEST_COLLATERAL_INVALID' });
  const body = rawJsonMember(text, member, key);
  const sig = JSON.parse(rawJsonMember(text, 'signature', key)) as unknown;
  if (typeof sig !== 'string') invalid(key, 'signature is not a string');
  return { body, signature: signatureField(sig, `${key}.signature`) };
}

/** True when `c` looks like dcap-qvl's layout (snake_case keys). */
function isDcapQvlLayout(c: Record<string, unknown>): boolean {
  return 'tcb_info' in c || 'tcb_info_signature' in c || 'qe_identity' in c;
}

/** Normalises either collateral layout. Throws ATTEST_COLLATERAL_MISSING / _INVALID or INPUT_TOO_LARGE. */
export function parseDcapCollateralUncached(c: Record<string, unknown>): DcapCollateral {
  if (isDcapQvlLayout(c)) {
    const tcbText = str(c, 'tcb_info')!;
    const qeText = str(c, 'qe_identity')!;
    return {
      source: 'dcap-qvl',
      tcbInfo: {
        body: utf8(tcbText),
        signature: signatureField(str(c, 'tcb_info_signature')!, 'tcb_info_signature'),
        issuerChain: chainField(str(c, 'tcb_info_issuer_chain')!, 'tcb_info_issuer_chain'),
        value: parseTcbInfo(tcbText),
      },
      qeIdentity: {
        body: utf8(qeText),
        signature: signatureField(str(c, 'qe_identity_signature')!, 'qe_identity_signature'),
        issuerChain: chainField(str(c, 'qe_identity_issuer_chain')!, 'qe_identity_issuer_chain'),
        value: parseQeIdentity(qeText),
      },
      pckCrl: crlField(str(c, 'pck_crl')!, 'pck_crl'),
      rootCaCrl: crlField(str(c, 'root_ca_crl')!, 'root_ca_crl'),
      pckCrlIssuerChain: c.pck_crl_issuer_chain === undefined ? [] : chainField(str(c, 'pck_crl_issuer_chain')!, 'pck_crl_issuer_chain'),
      memo: new Map(),
    };
  }
  const tcb = signedPcsDocument(c.tcbInfo, 'tcbInfo', 'tcbInfo');
  const qe = signedPcsDocument(c.qeIdentity, 'qeIdentity', 'enclaveIdentity');
  const pckChain = str(c, 'pckCrlIssuerChain', true);
  return {
    source: 'intel-pcs',
    tcbInfo: {
      body: utf8(tcb.body),
      signature: tcb.signature,
      issuerChain: chainField(str(c, 'tcbInfoIssuerChain')!, 'tcbInfoIssuerChain'),
      value: parseTcbInfo(tcb.body),
    },
    qeIdentity: {
      body: utf8(qe.body),
      signature: qe.signature,
      issuerChain: chainField(str(c, 'qeIdentityIssuerChain')!, 'qeIdentityIssuerChain'),
      value: parseQeIdentity(qe.body),
    },
    pckCrl: crlField(str(c, 'pckCrl')!, 'pckCrl'),
    rootCaCrl: crlField(str(c, 'rootCaCrl')!, 'rootCaCrl'),
    pckCrlIssuerChain: pckChain === undefined ? [] : chainField(pckChain, 'pckCrlIssuerChain'),
    memo: new Map(),
  };
}

const byObject = new WeakMap<object, DcapCollateral>();
const byHash = new Map<string, DcapCollateral>();

/**
 * {@link parseDcapCollateralUncached} with two caches: by object identity (free) and by the
 * SHA-256 of the JSON text (so a service receiving the same collateral as fresh JSON parses
 * it once). Parsing is time-independent, so caching it cannot change a verdict.
 */
export function parseDcapCollateral(c: Record<string, unknown>): DcapCollateral {
  const hit = byObject.get(c);
  if (hit) return hit;
  const key = sha256Hex(utf8(JSON.stringify(c)));
  let parsed = byHash.get(key);
  if (!parsed) {
    parsed = parseDcapCollateralUncached(c);
    if (byHash.size >= 64) byHash.delete(byHash.keys().next().value!);
    byHash.set(key, parsed);
  }
  byObject.set(c, parsed);
  return parsed;
}

/** The Intel PCS layout from the files the PCS API returns (see the module comment). */
export function intelPcsCollateral(files: {
  tcbInfoJson: string;
  qeIdentityJson: string;
  tcbInfoIssuerChainPem: string;
  qeIdentityIssuerChainPem: string;
  pckCrlDer: Uint8Array;
  rootCaCrlDer: Uint8Array;
  pckCrlIssuerChainPem?: string;
}): Record<string, unknown> {
  return {
    tcbInfo: files.tcbInfoJson,
    qeIdentity: files.qeIdentityJson,
    tcbInfoIssuerChain: files.tcbInfoIssuerChainPem,
    qeIdentityIssuerChain: files.qeIdentityIssuerChainPem,
    pckCrl: Buffer.from(files.pckCrlDer).toString('base64'),
    rootCaCrl: Buffer.from(files.rootCaCrlDer).toString('base64'),
    ...(files.pckCrlIssuerChainPem ? { pckCrlIssuerChain: files.pckCrlIssuerChainPem } : {}),
  };
}

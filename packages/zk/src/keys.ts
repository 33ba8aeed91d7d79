/**
 * @module keys
 * Verification key documents (`veritee.vk/v1`, written by the Go prover next to
 * its proving keys) and the key ring verifiers trust.
 *
 * THREAT MODEL: a Groth16 key made by a party that kept its toxic waste lets that
 * party forge proofs. A bundle therefore names its key only by hash; verifiers
 * take keys from a source they trust (their own key store, a pinned file, a
 * ceremony transcript they verified), never from the bundle. Keys from a dev setup
 * say so in `setup.kind`, that field is covered by the hash, and verifiers refuse
 * dev keys unless told `allowDevSetup`. Ceremony keys are accepted by default when
 * their record is consistent (its transcript hash recomputes), their δ and σ are
 * the end of the recorded contributions' chain of proofs of knowledge and
 * same-ratio updates sealed by the beacon, and α, β, γ, K digest to the
 * record's `vkFixedSha256` (ceremony-chain.ts says exactly what that covers),
 * and the record meets the verifier's {@link CeremonyPolicy}; `veritee zk
 * ceremony verify` re-runs the whole transcript (including Initialize).
 *
 * Browser-safe: reading keys from disk lives in keystore.ts.
 */
import { z } from 'zod';
import { canonicalJsonBytes, parseJsonStrict, quoteInput, sha256, toHex, VeriteeError } from '@veritee/core';
import { Groth16VerifyingKeySchema } from './groth16/index.js';
import { CeremonyChainSchema, ceremonyChainProblem } from './ceremony-chain.js';

export const VK_FORMAT = 'veritee.vk/v1';

const HEX64 = /^[0-9a-f]{64}$/;
/** Contributor names and phase-1 labels (lines of the transcript hash preimage: no newlines). */
export const CEREMONY_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9 ._@+:-]{0,63}$/;

export const CeremonyRecordSchema = z.object({
  phase1: z.string().regex(CEREMONY_NAME_RE),
  phase1Sha256: z.string().regex(HEX64),
  domain: z.number().int().positive(),
  r1csSha256: z.string().regex(HEX64),
  initSha256: z.string().regex(HEX64),
  transcriptSha256: z.string().regex(HEX64),
  contributions: z.array(z.object({ name: z.string().regex(CEREMONY_NAME_RE), sha256: z.string().regex(HEX64) }).strict()).max(10000),
  beacon: z.string().regex(/^[0-9a-f]{32,128}$/),
  beaconIterationsExp: z.number().int().min(0).max(24),
  /** Digest of α, β, γ, K and the commitment layout (phase 1 + circuit), covered by the transcript hash. */
  vkFixedSha256: z.string().regex(HEX64),
  /** δ/σ contribution chain summary (ceremony-chain.ts), checked on acceptance. */
  chain: CeremonyChainSchema.optional(),
});

export type CeremonyRecord = z.infer<typeof CeremonyRecordSchema>;

export const SetupSchema = z.object({
  kind: z.enum(['dev', 'ceremony']),
  createdAt: z.string(),
  warning: z.string().optional(),
  durationMs: z.number().int().nonnegative().optional(),
  ceremony: CeremonyRecordSchema.optional(),
});

export const VerificationKeyDocumentSchema = z.object({
  format: z.literal(VK_FORMAT),
  circuit: z.string().min(1),
  circuitVersion: z.number().int().positive(),
  capacity: z.number().int().positive(),
  constraints: z.number().int().nonnegative(),
  publicInputs: z.array(z.string()),
  setup: SetupSchema,
  groth16: Groth16VerifyingKeySchema,
});

export type VerificationKeyDocument = z.infer<typeof VerificationKeyDocumentSchema>;

/** Tag of the transcript hash preimage (prover/internal/keys.TranscriptHash). */
export const CEREMONY_TRANSCRIPT_FORMAT = 'veritee.ceremony/v2';

/**
 * The transcript hash a ceremony record implies: sha256 over the same lines the Go
 * prover hashes (circuit, size class, domain, constraint system, phase 1, initial
 * state, every contribution in order with its name, the beacon).
 */
export function ceremonyTranscriptHash(doc: Pick<VerificationKeyDocument, 'circuit' | 'circuitVersion' | 'capacity'>, c: CeremonyRecord): string {
  let text =
    `${CEREMONY_TRANSCRIPT_FORMAT}\ncircuit=${doc.circuit}\ncircuitVersion=${doc.circuitVersion}\ncapacity=${doc.capacity}\n` +
    `domain=${c.domain}\nr1cs=${c.r1csSha256}\nphase1=${c.phase1}\nphase1Sha256=${c.phase1Sha256}\ninit=${c.initSha256}\nvkFixed=${c.vkFixedSha256}\n`;
  c.contributions.forEach((k, i) => {
    text += `contribution=${i + 1}:${k.sha256}:${k.name}\n`;
  });
  text += `beacon=${c.beacon}:${c.beaconIterationsExp}\n`;
  return toHex(sha256(new TextEncoder().encode(text)));
}

/**
 * What a verifier demands of a ceremony key beyond a consistent record. The
 * transcript itself is verified when the key enters the key store (`veritee zk
 * ceremony verify|finalize`, which recompute the keys from it).
 */
export interface CeremonyPolicy {
  /** Contribution hashes that must be in the transcript (e.g. the verifier's own). */
  requireContributions?: string[];
  /** Contributor names that must all be in the transcript. */
  requireContributors?: string[];
  /** At least this many distinct contributor names (default 1). */
  minContributors?: number;
  /**
   * Accept only these transcript hashes. The TypeScript check proves δ and σ
   * come from the recorded contributions; pinning a transcript that was verified
   * in full (`veritee zk ceremony verify`, which re-runs Initialize) also pins
   * α, β, γ and K to phase 1 and this circuit.
   */
  requireTranscripts?: string[];
}

/**
 * Checks a key's setup for trust: dev keys are refused unless allowDevSetup; a
 * ceremony key needs a record whose transcript hash recomputes, at least one
 * contribution, and whatever the policy demands. Returns the problem (code and
 * message) or undefined when the key is acceptable.
 */
export function setupProblem(
  doc: VerificationKeyDocument,
  opts: { allowDevSetup?: boolean; ceremony?: CeremonyPolicy } = {},
): { code: 'ZK_DEV_SETUP_REFUSED' | 'ZK_CEREMONY_POLICY'; message: string } | undefined {
  if (doc.setup.kind === 'dev') {
    return opts.allowDevSetup ? undefined : { code: 'ZK_DEV_SETUP_REFUSED', message: 'the key comes from a DEV trusted setup (single party, forgeable); pass allowDevSetup to accept it' };
  }
  const c = doc.setup.ceremony;
  if (!c) return { code: 'ZK_CEREMONY_POLICY', message: 'the key says it comes from a ceremony but carries no ceremony record' };
  const h = ceremonyTranscriptHash(doc, c);
  if (h !== c.transcriptSha256) return { code: 'ZK_CEREMONY_POLICY', message: `the ceremony record does not hash to its transcript hash ${c.transcriptSha256} (recomputed ${h}): the metadata was altered` };
  if (c.contributions.length === 0) return { code: 'ZK_CEREMONY_POLICY', message: 'the ceremony has no contributions' };
  const pinned = (opts.ceremony?.requireTranscripts ?? []).map((x) => x.toLowerCase());
  if (pinned.length && !pinned.includes(c.transcriptSha256)) return { code: 'ZK_CEREMONY_POLICY', message: `the key's ceremony transcript ${c.transcriptSha256} is not one the verifier pinned` };
  const hashes = new Set(c.contributions.map((k) => k.sha256));
  const names = new Set(c.contributions.map((k) => k.name));
  const p = opts.ceremony ?? {};
  const missing = (p.requireContributions ?? []).map((x) => x.toLowerCase()).filter((x) => !hashes.has(x));
  if (missing.length) return { code: 'ZK_CEREMONY_POLICY', message: `the ceremony transcript lacks the required contribution${missing.length > 1 ? 's' : ''} ${missing.map((m) => quoteInput(m, 64)).join(', ')}` };
  const absent = (p.requireContributors ?? []).filter((n) => !names.has(n));
  if (absent.length) return { code: 'ZK_CEREMONY_POLICY', message: `the ceremony transcript lacks the required contributor${absent.length > 1 ? 's' : ''} ${absent.map((n) => quoteInput(n, 64)).join(', ')}` };
  const min = p.minContributors ?? 1;
  if (names.size < min) return { code: 'ZK_CEREMONY_POLICY', message: `the ceremony has ${names.size} distinct contributor${names.size === 1 ? '' : 's'}, the verifier requires ${min}` };
  // The key's δ and σ must be the end of the recorded contributions' proven chain.
  if (!c.chain) return { code: 'ZK_CEREMONY_POLICY', message: 'the ceremony record carries no contribution chain summary: re-run `veritee zk ceremony finalize` with this veritee' };
  const key = vkHash(doc);
  let chainBad = chainChecked.get(key);
  if (chainBad === undefined) {
    chainBad = ceremonyChainProblem(c.chain, c, doc.groth16) ?? '';
    if (chainChecked.size >= 256) chainChecked.delete(chainChecked.keys().next().value!);
    chainChecked.set(key, chainBad);
  }
  if (chainBad) return { code: 'ZK_CEREMONY_POLICY', message: `the ceremony chain does not verify: ${chainBad}` };
  return undefined;
}

/** Chain verdicts by key hash ('' = verified): the pairing checks run once per key. */
const chainChecked = new Map<string, string>();

/** sha256 over the canonical JSON of the whole document, hex. */
export function vkHash(doc: VerificationKeyDocument): string {
  return toHex(sha256(canonicalJsonBytes(doc)));
}

export function parseVerificationKeyDocument(value: unknown, what = 'verification key'): VerificationKeyDocument {
  const r = VerificationKeyDocumentSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new VeriteeError('ZK_VK_INVALID', `${what}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return r.data;
}

/**
 * Parses a verification key document from JSON text, strictly: duplicate keys and
 * deep nesting are ZK_VK_INVALID (an object parsed by the caller cannot be checked
 * for duplicate keys).
 */
export function parseVerificationKeyText(text: string, what = 'verification key'): VerificationKeyDocument {
  const json = parseJsonStrict(text, { what, code: 'ZK_VK_INVALID', maxDepth: 16 });
  return parseVerificationKeyDocument(json, what);
}

/** Keys a verifier trusts, indexed by hash. */
export class KeyRing {
  private readonly byHash = new Map<string, VerificationKeyDocument>();

  add(doc: VerificationKeyDocument): string {
    const h = vkHash(doc);
    this.byHash.set(h, doc);
    return h;
  }

  get(hash: string): VerificationKeyDocument | undefined {
    return this.byHash.get(hash);
  }

  get size(): number {
    return this.byHash.size;
  }

  entries(): [string, VerificationKeyDocument][] {
    return [...this.byHash.entries()];
  }
}

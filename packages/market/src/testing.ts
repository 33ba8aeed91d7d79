/**
 * @module testing
 * TEST AND BENCHMARK SUPPORT (development only): a real {@link ProofSystem} over veritee
 * claims — proofs made by the Go prover of packages/zk, verified in TypeScript with
 * `verifyProofBundle` against the market's verification key (dev setup keys allowed, which
 * is why this lives here and not in the public API) — plus helpers that build a whole
 * market on PGlite or PostgreSQL with a simulated TEE.
 *
 * Public inputs of an ask: `{ kind, params }` (the claim and its public parameters).
 * Private inputs: the claim's private data (`{ mounts: [...] }` for `disk`).
 * Proof: the proof bundle (unattested; the market checks the proof, the generator's TEE is
 * checked through its attested key).
 */
import { canonicalJson } from '@veritee/core';
import {
  claimDefinition,
  devSetup,
  KeyRing,
  parseVerificationKeyDocument,
  prove,
  ProverPool,
  verifyProofBundle,
  vkHash,
  type VerificationKeyDocument,
} from '@veritee/zk';
import { SimulatedTee } from '@veritee/attestation';
import { MatchingEngine } from './engine.js';
import { Market, type InputCheckingProofSystem } from './market.js';
import { openEmbedded, openPostgres, type SqlDb } from './db.js';

export const VERITEE_CLAIM_SYSTEM = 'veritee-claim';

interface ClaimPublicInputs {
  kind: string;
  params: unknown;
}

function publicOf(v: unknown): ClaimPublicInputs {
  if (v === null || typeof v !== 'object' || typeof (v as ClaimPublicInputs).kind !== 'string') throw new Error('public inputs must be { kind, params }');
  return v as ClaimPublicInputs;
}

/** A ProofSystem for veritee claims whose keys come from a dev setup (development only). */
export function devVeriteeClaimSystem(): InputCheckingProofSystem {
  const rings = new Map<string, KeyRing>();
  const ringOf = (doc: VerificationKeyDocument): KeyRing => {
    const h = vkHash(doc);
    let r = rings.get(h);
    if (!r) {
      r = new KeyRing();
      r.add(doc);
      rings.set(h, r);
    }
    return r;
  };
  return {
    id: VERITEE_CLAIM_SYSTEM,
    parseVerificationKey(vk) {
      const doc = parseVerificationKeyDocument(vk, 'market verification key');
      return { canonical: doc, digest: vkHash(doc) };
    },
    async verify(vk, publicInputs, proof) {
      const doc = parseVerificationKeyDocument(vk, 'market verification key');
      const pub = publicOf(publicInputs);
      const r = verifyProofBundle(proof, { keys: ringOf(doc), allowDevSetup: true });
      if (!r.ok) return false;
      const b = proof as { claim: { kind: string; params: unknown }; proof: { vkHash: string } };
      return b.claim.kind === pub.kind && b.proof.vkHash === vkHash(doc) && canonicalJson(b.claim.params) === canonicalJson(pub.params);
    },
    checkPrivateInputs(vk, publicInputs, privateInputs) {
      const doc = parseVerificationKeyDocument(vk, 'market verification key');
      const pub = publicOf(publicInputs);
      const def = claimDefinition(pub.kind);
      if (!def || def.kind !== doc.circuit) throw new Error(`the market proves ${doc.circuit}, not ${pub.kind}`);
      const data = def.normalize ? def.normalize(privateInputs as never) : privateInputs;
      def.check(pub.params as never, data as never);
      const misfit = def.misfit(doc.capacity, pub.params as never, data as never);
      if (misfit !== undefined) throw new Error(misfit);
    },
  };
}

/** Proves a veritee claim for an assignment (what a generator's prover does). */
export async function proveVeriteeClaim(pool: ProverPool, vk: unknown, publicInputs: unknown, privateInputs: unknown): Promise<unknown> {
  const doc = parseVerificationKeyDocument(vk, 'market verification key');
  const pub = publicOf(publicInputs);
  const r = await prove(pool, pub.kind, { params: pub.params, data: privateInputs, capacity: doc.capacity });
  return r.bundle;
}

/** The smallest veritee claim: disk autoscaling at its 128-cell class (8 mounts × 16 samples). */
export const SMALL_CLAIM = { kind: 'disk', capacity: 128 } as const;

const P0 = Date.UTC(2026, 10, 20) * 1000;

/** Public and private inputs of a small disk claim; `seed` varies the data. */
export function smallClaimInputs(seed: number): { publicInputs: ClaimPublicInputs; privateInputs: { mounts: unknown[] } } {
  let s = seed * 7919 + 1;
  const r = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  const mounts = Array.from({ length: 2 }, () => {
    const totalKiB = 1_000_000 + Math.floor(r() * 1_000_000);
    return { totalKiB, usedKiB: Math.floor(totalKiB * r() * 0.9), inodesTotal: 64_000, inodesUsed: Math.floor(r() * 20_000), queueDepth: Array.from({ length: 4 }, () => Math.floor(r() * 40)) };
  });
  return {
    publicInputs: { kind: 'disk', params: { periodStartUs: P0, periodEndUs: P0 + 4 * 10_000_000, usageThresholdBp: 8500, inodeThresholdBp: 9000, queueThreshold: 32 } },
    privateInputs: { mounts },
  };
}

/** The dev key of the small claim (a dev setup, cached in the prover's home). */
export async function smallClaimKey(pool: ProverPool): Promise<VerificationKeyDocument> {
  return devSetup(pool, SMALL_CLAIM.kind, SMALL_CLAIM.capacity);
}

/** A 48-byte launch measurement made of one repeated byte (simulated images). */
export function measurement(byte: number): Uint8Array {
  return new Uint8Array(48).fill(byte);
}

export const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export interface TestMarket {
  market: Market;
  tee: SimulatedTee;
  engine: MatchingEngine;
  db: SqlDb;
  close(): Promise<void>;
}

/** A market on the given database (PGlite in memory by default) with a simulated-TEE engine. */
export async function openTestMarket(o: { postgresUrl?: string; tee?: SimulatedTee; systems?: InputCheckingProofSystem[] } = {}): Promise<TestMarket> {
  const tee = o.tee ?? (await SimulatedTee.create({ platforms: ['snp'] }));
  const db = o.postgresUrl ? await openPostgres(o.postgresUrl) : await openEmbedded();
  const engine = await MatchingEngine.create({ tee, measurement: measurement(0xee) });
  const systems = o.systems ?? [devVeriteeClaimSystem()];
  const market = new Market({ db, engine, proofSystems: new Map(systems.map((s) => [s.id, s])), allowSimulated: true });
  return { market, tee, engine, db, close: () => db.close() };
}

export { ProverPool };

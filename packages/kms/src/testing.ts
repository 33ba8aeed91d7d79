/**
 * @module testing
 * TEST SUPPORT: opens a KMS on either backend with a simulated TEE, a movable clock and a
 * dev attestation policy, so one suite runs unchanged against PGlite and PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import { parsePolicy, SimulatedTee, type Policy } from '@veritee/attestation';
import { openEmbedded, openPostgres, type SqlDb } from './db.js';
import { Kms, type KmsOptions } from './kms.js';
import { rootKeyBytes } from './rootkey.js';
import { startPgCluster, type PgCluster } from './pg-cluster.js';
import { ADMIN_AUDIENCE } from './server.js';

export const TEST_AT = Date.parse('2026-06-01T00:00:00Z');

/** A clock tests can move. */
export class MovableClock {
  constructor(public t: number = TEST_AT) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/** Dev appraisal policy: simulated evidence, the KBS runtime-data hash bound as the nonce. */
export function devAttestationPolicy(overrides: Record<string, unknown> = {}): Policy {
  return parsePolicy({
    name: 'kms-dev',
    platforms: ['snp', 'tdx', 'nvidia'],
    allowSimulated: true,
    reportData: { require: ['nonce'] },
    snp: { measurements: 'any' },
    tdx: { mrtd: 'any' },
    nvidia: { measurements: 'any' },
    ...overrides,
  });
}

export interface Backend {
  name: 'embedded' | 'postgres';
  open(): Promise<SqlDb>;
  close(): Promise<void>;
}

/** The two backends; PostgreSQL is a throw-away cluster started on first use. */
export function backends(): Backend[] {
  let cluster: PgCluster | undefined;
  return [
    { name: 'embedded', open: () => openEmbedded(), close: async () => undefined },
    {
      name: 'postgres',
      open: async () => {
        cluster ??= await startPgCluster();
        return openPostgres(cluster.url, { max: 20 });
      },
      close: async () => {
        await cluster?.stop();
        cluster = undefined;
      },
    },
  ];
}

export interface TestKms {
  kms: Kms;
  clock: MovableClock;
  tee: SimulatedTee;
  root: Uint8Array;
}

export async function openTestKms(db: SqlDb, opts: Partial<KmsOptions> & { tee?: SimulatedTee; clock?: MovableClock; root?: Uint8Array } = {}): Promise<TestKms> {
  const clock = opts.clock ?? new MovableClock();
  const tee = opts.tee ?? (await SimulatedTee.create({ at: clock.t, platforms: ['snp', 'tdx'] }));
  const root = opts.root ?? new Uint8Array(randomBytes(32));
  const kms = await Kms.open({
    db,
    rootKey: rootKeyBytes(root),
    attestationPolicy: opts.attestationPolicy ?? devAttestationPolicy(),
    simulatedAnchors: tee.anchors,
    clock,
    ...opts,
  });
  return { kms, clock, tee, root };
}

/** An admin signing key and a helper minting admin JWTs. */
export async function adminIssuer(clock: MovableClock): Promise<{ jwks: { keys: JWK[] }; token(claims: { sub: string; roles: string[]; tenant?: string }): Promise<string> }> {
  const kp = await generateKeyPair('ES256', { extractable: true });
  const pub = await exportJWK(kp.publicKey);
  return {
    jwks: { keys: [{ ...pub, alg: 'ES256', use: 'sig' }] },
    token: (claims) =>
      new SignJWT({ roles: claims.roles, ...(claims.tenant ? { tenant: claims.tenant } : {}) })
        .setProtectedHeader({ alg: 'ES256' })
        .setSubject(claims.sub)
        .setAudience(ADMIN_AUDIENCE)
        .setIssuedAt(Math.floor(clock.t / 1000))
        .setExpirationTime(Math.floor(clock.t / 1000) + 600)
        .sign(kp.privateKey),
  };
}

/**
 * @module circom/format
 * The documents of bring-your-own circom circuits, checked strictly before snarkjs
 * sees them:
 *
 * - the verification key document `veritee.circom-vk/v1`: the circuit it is for
 *   (name, r1cs hash, constraint count), how the key was made (`setup.kind`: `dev`
 *   for the local one-party powers of tau and zkey contribution that
 *   {@link setupCircom} makes, `external` for a key from a ceremony veritee did not
 *   witness), and the snarkjs Groth16 key (`protocol` groth16, `curve` bn128, α, β,
 *   γ, δ, IC) with every point affine, every coordinate a canonical decimal below
 *   the base field modulus, every point on its curve, every G2 point in the
 *   subgroup of order r, and one IC point per public signal plus one;
 * - public signals: decimal strings below the scalar field modulus r, exactly
 *   `nPublic` of them (snarkjs itself reads as many IC points as signals it is
 *   given, so a short list would verify a different statement);
 * - proofs: snarkjs JSON (`pi_a`, `pi_b`, `pi_c`, affine, coordinates below p).
 *
 * Shape errors throw a VeriteeError with a CIRCOM_* code naming the field. Whether
 * a proof's points lie on the curve is a property of the proof, not of its shape:
 * {@link proofPointsValid} answers it and the verifier treats a false as a proof
 * that does not verify.
 */
import { z } from 'zod';
import { bn254 } from '@noble/curves/bn254.js';
import { canonicalJsonBytes, parseJsonStrict, sha256, toHex, VeriteeError } from '@veritee/core';
import { BN254_P, BN254_R, isInG2Subgroup } from '@veritee/zk';

export const CIRCOM_VK_FORMAT = 'veritee.circom-vk/v1';
/** Most public signals a key may declare (keeps the IC list and the verifier's work bounded). */
export const CIRCOM_MAX_PUBLIC = 1024;

const { G1, G2, fields } = bn254;
const { Fp2 } = fields;

const decimal = z.string().regex(/^(0|[1-9][0-9]{0,77})$/, 'expected a canonical decimal string');
const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits');
/** snarkjs G1 in affine form [x, y, "1"] (the point at infinity is ["0", "1", "0"]). */
const g1Json = z.tuple([decimal, decimal, decimal]);
/** snarkjs G2 in affine form [[x0, x1], [y0, y1], ["1", "0"]]. */
const g2Json = z.tuple([z.tuple([decimal, decimal]), z.tuple([decimal, decimal]), z.tuple([decimal, decimal])]);

export const SnarkjsGroth16KeySchema = z
  .object({
    protocol: z.literal('groth16'),
    curve: z.literal('bn128'),
    nPublic: z.number().int().min(0).max(CIRCOM_MAX_PUBLIC),
    vk_alpha_1: g1Json,
    vk_beta_2: g2Json,
    vk_gamma_2: g2Json,
    vk_delta_2: g2Json,
    /** e(α, β), which snarkjs exports but its verifier does not read; dropped from the canonical form. */
    vk_alphabeta_12: z.unknown().optional(),
    IC: z.array(g1Json).min(1).max(CIRCOM_MAX_PUBLIC + 1),
  })
  .strict();

export const CircomSetupSchema = z
  .object({
    /** `dev`: a one-party local setup (whoever ran it can forge proofs); `external`: made elsewhere, unverified here. */
    kind: z.enum(['dev', 'external']),
    createdAt: z.string().max(40),
    warning: z.string().max(500).optional(),
    /** Powers of tau used (2^power constraints at most) and the hash of the .ptau file. */
    power: z.number().int().min(1).max(28).optional(),
    ptauSha256: hex64.optional(),
    /** Phase-2 contributions as snarkjs reports them (name, contribution hash). */
    contributions: z
      .array(z.object({ name: z.string().max(64), hash: z.string().regex(/^[0-9a-f]{128}$/) }).strict())
      .max(1000)
      .optional(),
  })
  .strict();

export const CircomVerificationKeyDocumentSchema = z
  .object({
    format: z.literal(CIRCOM_VK_FORMAT),
    circuit: z
      .object({
        name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'expected a circuit name of letters, digits, _ . -'),
        r1csSha256: hex64,
        constraints: z.number().int().nonnegative(),
        compiler: z.string().max(100).optional(),
      })
      .strict(),
    setup: CircomSetupSchema,
    groth16: SnarkjsGroth16KeySchema,
  })
  .strict();

export type SnarkjsGroth16Key = z.infer<typeof SnarkjsGroth16KeySchema>;
export type CircomVerificationKeyDocument = z.infer<typeof CircomVerificationKeyDocumentSchema>;

export const SnarkjsProofSchema = z
  .object({
    pi_a: g1Json,
    pi_b: g2Json,
    pi_c: g1Json,
    protocol: z.literal('groth16').optional(),
    curve: z.literal('bn128').optional(),
  })
  .strict();
export type SnarkjsProof = z.infer<typeof SnarkjsProofSchema>;

type Code = 'CIRCOM_VK_INVALID' | 'CIRCOM_PROOF_MALFORMED' | 'CIRCOM_PUBLIC_SIGNALS_INVALID';

function fail(code: Code, field: string, reason: string): never {
  throw new VeriteeError(code, `${field}: ${reason}`, { field });
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown, code: Code, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = (issue?.path ?? []).map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('');
  fail(code, `${what}${path}`, issue?.message ?? 'invalid');
}

const big = (s: string) => BigInt(s);

function coord(code: Code, field: string, s: string): bigint {
  const v = big(s);
  if (v >= BN254_P) fail(code, field, 'coordinate not below the base field modulus p');
  return v;
}

/** A G1 point from its snarkjs form; shape errors throw, curve membership is returned. */
function g1(code: Code, field: string, j: readonly [string, string, string]): { onCurve: boolean; infinity: boolean } {
  const x = coord(code, `${field}[0]`, j[0]);
  const y = coord(code, `${field}[1]`, j[1]);
  const z = big(j[2]);
  if (z === 0n) {
    if (x !== 0n || y !== 1n) fail(code, field, 'the point at infinity must be written ["0", "1", "0"]');
    return { onCurve: true, infinity: true };
  }
  if (z !== 1n) fail(code, `${field}[2]`, 'expected an affine point (third coordinate "1")');
  try {
    G1.Point.fromAffine({ x, y }).assertValidity(); // cofactor 1: on the curve = in the group
    return { onCurve: true, infinity: false };
  } catch {
    return { onCurve: false, infinity: false };
  }
}

function g2(code: Code, field: string, j: readonly [readonly [string, string], readonly [string, string], readonly [string, string]]): { onCurve: boolean; inSubgroup: boolean; infinity: boolean } {
  const x0 = coord(code, `${field}[0][0]`, j[0][0]);
  const x1 = coord(code, `${field}[0][1]`, j[0][1]);
  const y0 = coord(code, `${field}[1][0]`, j[1][0]);
  const y1 = coord(code, `${field}[1][1]`, j[1][1]);
  const z0 = big(j[2][0]);
  const z1 = big(j[2][1]);
  if (z0 === 0n && z1 === 0n) {
    if (x0 !== 0n || x1 !== 0n || y0 !== 1n || y1 !== 0n) fail(code, field, 'the point at infinity must be written [["0","0"],["1","0"],["0","0"]]');
    return { onCurve: true, inSubgroup: true, infinity: true };
  }
  if (z0 !== 1n || z1 !== 0n) fail(code, `${field}[2]`, 'expected an affine point (third coordinate ["1", "0"])');
  const x = Fp2.fromBigTuple([x0, x1]);
  const y = Fp2.fromBigTuple([y0, y1]);
  const b = G2.Point.CURVE().b;
  if (!Fp2.eql(Fp2.sqr(y), Fp2.add(Fp2.mul(Fp2.sqr(x), x), b))) return { onCurve: false, inSubgroup: false, infinity: false };
  return { onCurve: true, inSubgroup: isInG2Subgroup(G2.Point.fromAffine({ x, y })), infinity: false };
}

function requireG1(field: string, j: readonly [string, string, string], allowInfinity: boolean): void {
  const p = g1('CIRCOM_VK_INVALID', field, j);
  if (!p.onCurve) fail('CIRCOM_VK_INVALID', field, 'point is not on the curve');
  if (p.infinity && !allowInfinity) fail('CIRCOM_VK_INVALID', field, 'point is the point at infinity');
}

function requireG2(field: string, j: Parameters<typeof g2>[2]): void {
  const p = g2('CIRCOM_VK_INVALID', field, j);
  if (!p.onCurve) fail('CIRCOM_VK_INVALID', field, 'point is not on the twist curve');
  if (!p.inSubgroup) fail('CIRCOM_VK_INVALID', field, 'point is not in the G2 subgroup of order r');
  if (p.infinity) fail('CIRCOM_VK_INVALID', field, 'point is the point at infinity');
}

/** Largest key document text accepted (a key for 1024 public signals is about 170 KB). */
export const CIRCOM_VK_MAX_BYTES = 512 * 1024;

/**
 * Parses and checks a circom verification key document (object, or JSON text parsed
 * strictly: duplicate keys refused). Throws CIRCOM_VK_INVALID naming the field.
 * Does not judge the setup: see the proof system's `allowDevSetup`.
 */
export function parseCircomVerificationKey(value: unknown): CircomVerificationKeyDocument {
  let v = value;
  if (typeof value === 'string') {
    if (value.length > CIRCOM_VK_MAX_BYTES) throw new VeriteeError('CIRCOM_VK_INVALID', `verification key: ${value.length} characters, more than ${CIRCOM_VK_MAX_BYTES}`);
    v = parseJsonStrict(value, { what: 'circom verification key', code: 'CIRCOM_VK_INVALID', maxDepth: 8 });
  }
  const doc = parseWith(CircomVerificationKeyDocumentSchema, v, 'CIRCOM_VK_INVALID', 'vk');
  const k = doc.groth16;
  if (k.IC.length !== k.nPublic + 1) fail('CIRCOM_VK_INVALID', 'vk.groth16.IC', `${k.IC.length} points for nPublic ${k.nPublic} (expected ${k.nPublic + 1})`);
  requireG1('vk.groth16.vk_alpha_1', k.vk_alpha_1, false);
  requireG2('vk.groth16.vk_beta_2', k.vk_beta_2);
  requireG2('vk.groth16.vk_gamma_2', k.vk_gamma_2);
  requireG2('vk.groth16.vk_delta_2', k.vk_delta_2);
  k.IC.forEach((p, i) => requireG1(`vk.groth16.IC[${i}]`, p, true));
  return doc;
}

/** The canonical form of a key document (snarkjs's unused e(α, β) dropped) and its SHA-256 (hex). */
export function canonicalCircomVerificationKey(doc: CircomVerificationKeyDocument): { canonical: CircomVerificationKeyDocument; digest: string } {
  const { vk_alphabeta_12: _unused, ...groth16 } = doc.groth16;
  const canonical: CircomVerificationKeyDocument = { ...doc, groth16 };
  return { canonical, digest: toHex(sha256(canonicalJsonBytes(canonical))) };
}

/**
 * Checks public signals: an array of exactly `nPublic` canonical decimal strings,
 * each below the scalar field modulus r. Throws CIRCOM_PUBLIC_SIGNALS_INVALID.
 */
export function parsePublicSignals(value: unknown, nPublic: number): string[] {
  if (!Array.isArray(value)) fail('CIRCOM_PUBLIC_SIGNALS_INVALID', 'publicSignals', `expected an array of decimal strings, not ${value === null ? 'null' : typeof value}`);
  if (value.length !== nPublic) fail('CIRCOM_PUBLIC_SIGNALS_INVALID', 'publicSignals', `${value.length} signals, the key expects ${nPublic}`);
  return value.map((s, i) => {
    if (typeof s !== 'string' || !/^(0|[1-9][0-9]{0,77})$/.test(s)) fail('CIRCOM_PUBLIC_SIGNALS_INVALID', `publicSignals[${i}]`, 'expected a canonical decimal string');
    if (BigInt(s) >= BN254_R) fail('CIRCOM_PUBLIC_SIGNALS_INVALID', `publicSignals[${i}]`, 'not below the BN254 scalar field modulus r');
    return s;
  });
}

/** Checks a proof's shape (throws CIRCOM_PROOF_MALFORMED); see {@link proofPointsValid} for its points. */
export function parseSnarkjsProof(value: unknown): SnarkjsProof {
  return parseWith(SnarkjsProofSchema, value, 'CIRCOM_PROOF_MALFORMED', 'proof');
}

/**
 * True when A and C are on G1 and B is on the twist and in the G2 subgroup (snarkjs
 * checks only that points are on their curves). Shape errors throw.
 */
export function proofPointsValid(p: SnarkjsProof): boolean {
  const a = g1('CIRCOM_PROOF_MALFORMED', 'proof.pi_a', p.pi_a);
  const c = g1('CIRCOM_PROOF_MALFORMED', 'proof.pi_c', p.pi_c);
  const b = g2('CIRCOM_PROOF_MALFORMED', 'proof.pi_b', p.pi_b);
  return a.onCurve && c.onCurve && b.onCurve && b.inSubgroup;
}

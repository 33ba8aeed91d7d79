/**
 * @module groth16/verify
 * Verifier for gnark (v0.15) Groth16 proofs over BN254, including gnark's BSB22
 * commitment extension (the commitments that give `std/rangecheck` and other
 * LogUp / permutation arguments their Fiat–Shamir challenge).
 *
 * It reproduces `backend/groth16/bn254.Verify` step by step:
 *
 * 1. For each commitment i, the derived public input is
 *    `hash_to_field(C_i.x ‖ C_i.y ‖ w[j₁-1] ‖ w[j₂-1] ‖ …)` with DST `"bsb22-commitment"`,
 *    where coordinates and witness values are 32-byte big-endian, the point at infinity is
 *    64 zero bytes, `j` runs over `publicAndCommitmentCommitted[i]` (1-based indexes into the
 *    public witness, which already holds the inputs derived for commitments 0..i-1), and
 *    hash_to_field is RFC 9380 (expand_message_xmd with SHA-256, L = 48, one element mod r),
 *    exactly like gnark-crypto's `fr.Hash`. The value is appended to the public witness.
 * 2. If there are commitments, the folding challenge is
 *    `ρ = hash_to_field(h_0 ‖ h_1 ‖ …)` (each hᵢ 32-byte big-endian) with DST `"G16-BSB22"`,
 *    and the Pedersen proofs of knowledge are checked in one product (gnark-crypto
 *    `pedersen.BatchVerifyMultiVk`):
 *    `e(C_0, GSigmaNeg_0) · Π_{i≥1} e(ρ^i·C_i, GSigmaNeg_i) · e(pok, G) = 1`.
 * 3. `kSum = ic[0] + Σ ic[k]·w[k-1] + Σ C_i` and the Groth16 equation
 *    `e(Ar, Bs) · e(Krs, -δ) · e(kSum, -γ) = e(α, β)`.
 *
 * Inputs are validated like gnark's decoder does (canonical field elements, points on the
 * curve, G2 points in the prime-order subgroup) plus consistency of lengths and indexes.
 * Malformed input throws a {@link VeriteeError} (`ZK_VK_INVALID` for the key,
 * `ZK_BUNDLE_INVALID` for the proof or the public inputs) whose message names the field;
 * a well-formed proof that does not verify makes {@link verifyGroth16} return `false`.
 *
 * Runs in Node and browsers (no `node:` imports).
 */
import { bn254 } from '@noble/curves/bn254.js';
import { hash_to_field } from '@noble/curves/abstract/hash-to-curve.js';
import type { WeierstrassPoint } from '@noble/curves/abstract/weierstrass.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { VeriteeError } from '@veritee/core';
import { z } from 'zod';
import { fixedBaseMsm } from './fixed-msm.js';
import { glvMul, randomGlvScalar } from './glv.js';
import { g2InSubgroup, gtEquals, gtFinalExponentiate, gtOne, multiMillerLoop, prepareG2, prepareG2Fixed, type Gt, type PreparedG2 } from './pairing.js';

// ---------------------------------------------------------------------------
// JSON format and schemas

const decimal = z
  .string()
  .max(80)
  .regex(/^(0|[1-9][0-9]*)$/, 'expected a canonical decimal string');

/** G1 point `["x", "y"]` (decimal strings); `["0", "0"]` is the point at infinity. */
export const G1PointSchema = z.tuple([decimal, decimal]);
/** Fp2 element `["c0", "c1"]` = c0 + c1·u. */
export const Fp2Schema = z.tuple([decimal, decimal]);
/** G2 point `{"x": Fp2, "y": Fp2}`; all zero is the point at infinity. */
export const G2PointSchema = z.object({ x: Fp2Schema, y: Fp2Schema });

/** Verifying key as exported by the Go prover (`prover/internal/export`). */
export const Groth16VerifyingKeySchema = z.object({
  protocol: z.literal('groth16'),
  curve: z.literal('bn254'),
  alpha: G1PointSchema,
  beta: G2PointSchema,
  gamma: G2PointSchema,
  delta: G2PointSchema,
  /** gnark's K: one point for the constant 1, nbPublic inputs, then one per commitment. */
  ic: z.array(G1PointSchema).min(1),
  commitmentKeys: z.array(z.object({ g: G2PointSchema, gSigmaNeg: G2PointSchema })),
  /** Per commitment, 1-based indexes into the public witness (inputs, then earlier commitments). */
  publicAndCommitmentCommitted: z.array(z.array(z.number().int())),
  /** Public inputs the caller supplies (without the constant 1 and the commitment-derived ones). */
  nbPublic: z
    .number()
    .int()
    .min(0)
    .max(2 ** 24),
});

/** Proof as exported by the Go prover. */
export const Groth16ProofSchema = z.object({
  ar: G1PointSchema,
  bs: G2PointSchema,
  krs: G1PointSchema,
  commitments: z.array(G1PointSchema),
  commitmentPok: G1PointSchema,
});

export type G1PointJSON = z.infer<typeof G1PointSchema>;
export type G2PointJSON = z.infer<typeof G2PointSchema>;
export type Groth16VerifyingKeyJSON = z.infer<typeof Groth16VerifyingKeySchema>;
export type Groth16ProofJSON = z.infer<typeof Groth16ProofSchema>;

/** gnark `constraint.CommitmentDst`. */
export const COMMITMENT_DST = 'bsb22-commitment';
/** DST of the challenge folding several commitments (gnark groth16 Verify). */
export const COMMITMENT_FOLD_DST = 'G16-BSB22';

// ---------------------------------------------------------------------------
// Curve helpers

const { G1, G2, fields } = bn254;
const { Fp, Fp2 } = fields;
type Fp2T = ReturnType<typeof Fp2.fromBigTuple>;
type G1Point = WeierstrassPoint<bigint>;
type G2Point = WeierstrassPoint<Fp2T>;
type Lines = PreparedG2;

/** Base field modulus p. */
export const BN254_P: bigint = Fp.ORDER;
/** Scalar field modulus r (public inputs must be below it). */
export const BN254_R: bigint = fields.Fr.ORDER;

const G1_B = G1.Point.CURVE().b;
const G2_B = G2.Point.CURVE().b;

/**
 * G2 subgroup membership exactly as gnark-crypto's `G2Affine.IsInSubGroup`
 * (eprint 2022/348, sec. 3 and 5.1): for P on the twist,
 * [r]P = O  ⇔  [x₀+1]P + ψ([x₀]P) + ψ²([x₀]P) = ψ³([2x₀]P).
 * Computed on bigint pairs in ./pairing.ts (about twice as fast as with noble's points,
 * and four times as fast as noble's `isTorsionFree`); the tests check that both agree.
 */
export function isInG2Subgroup(p: G2Point): boolean {
  return g2InSubgroup(p);
}

type ErrCode = 'ZK_VK_INVALID' | 'ZK_BUNDLE_INVALID';

function fail(code: ErrCode, field: string, reason: string): never {
  throw new VeriteeError(code, `${field}: ${reason}`, { field });
}

function formatPath(prefix: string, path: readonly PropertyKey[]): string {
  let s = prefix;
  for (const k of path) s += typeof k === 'number' ? `[${k}]` : `.${String(k)}`;
  return s;
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown, code: ErrCode, prefix: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = formatPath(prefix, issue?.path ?? []);
  fail(code, field, issue?.message ?? 'invalid');
}

function coord(code: ErrCode, field: string, s: string): bigint {
  const v = BigInt(s); // the schema guarantees a canonical decimal
  if (v >= BN254_P) fail(code, field, 'coordinate not below the base field modulus');
  return v;
}

function toG1(code: ErrCode, field: string, j: G1PointJSON): G1Point {
  const x = coord(code, `${field}[0]`, j[0]);
  const y = coord(code, `${field}[1]`, j[1]);
  if (x === 0n && y === 0n) return G1.Point.ZERO;
  // y² = x³ + 3; G1 has cofactor 1, so this is also the subgroup check
  if (!Fp.eql(Fp.sqr(y), Fp.add(Fp.mul(Fp.sqr(x), x), G1_B))) fail(code, field, 'point is not on the curve');
  const p = G1.Point.fromAffine({ x, y });
  p.assertValidity();
  return p;
}

function toG2(code: ErrCode, field: string, j: G2PointJSON): G2Point {
  const x0 = coord(code, `${field}.x[0]`, j.x[0]);
  const x1 = coord(code, `${field}.x[1]`, j.x[1]);
  const y0 = coord(code, `${field}.y[0]`, j.y[0]);
  const y1 = coord(code, `${field}.y[1]`, j.y[1]);
  if (x0 === 0n && x1 === 0n && y0 === 0n && y1 === 0n) return G2.Point.ZERO;
  const x = Fp2.fromBigTuple([x0, x1]);
  const y = Fp2.fromBigTuple([y0, y1]);
  if (!Fp2.eql(Fp2.sqr(y), Fp2.add(Fp2.mul(Fp2.sqr(x), x), G2_B))) fail(code, field, 'point is not on the twist curve');
  const p = G2.Point.fromAffine({ x, y });
  if (!isInG2Subgroup(p)) fail(code, field, 'point is not in the G2 subgroup');
  return p;
}

const be32 = (out: Uint8Array, offset: number, v: bigint): void => {
  for (let i = 31; i >= 0; i--) {
    out[offset + i] = Number(v & 0xffn);
    v >>= 8n;
  }
};

/** gnark-crypto `fr.Hash(msg, dst, 1)`: RFC 9380 hash_to_field, SHA-256 XMD, L = 48, mod r. */
function hashToFr(msg: Uint8Array, dst: string): bigint {
  const out = hash_to_field(msg, 1, { DST: dst, p: BN254_R, m: 1, k: 128, expand: 'xmd', hash: sha256 });
  return out[0]![0]!;
}

/**
 * The public input gnark derives from commitment `c` and the committed public values:
 * hash_to_field(c.x ‖ c.y ‖ values…) with DST "bsb22-commitment" (32-byte big-endian words).
 */
export function commitmentHash(commitment: G1Point, committed: readonly bigint[]): bigint {
  const msg = new Uint8Array(64 + 32 * committed.length);
  if (!commitment.is0()) {
    const a = commitment.toAffine();
    be32(msg, 0, a.x);
    be32(msg, 32, a.y);
  }
  committed.forEach((v, i) => be32(msg, 64 + 32 * i, v));
  return hashToFr(msg, COMMITMENT_DST);
}

// ---------------------------------------------------------------------------
// Prepared verifying key

const PREPARED = Symbol('groth16.prepared');

/** A validated verifying key with its pairing precomputations; reuse it across proofs. */
export interface PreparedGroth16VerifyingKey {
  readonly [PREPARED]: true;
  /** Public inputs the caller supplies. */
  readonly nbPublic: number;
  /** Number of BSB22 commitments the proof must carry. */
  readonly nbCommitments: number;
  /** The JSON the key was prepared from (validated copy). */
  readonly json: Groth16VerifyingKeyJSON;
}

interface PreparedInternal extends PreparedGroth16VerifyingKey {
  readonly ic0: G1Point;
  readonly msm: ((scalars: readonly bigint[]) => G1Point) | null;
  readonly eAlphaBeta: Gt;
  readonly negGammaLines: Lines;
  readonly negDeltaLines: Lines;
  readonly gLines: Lines | null; // commitment keys' common G
  readonly gSigmaNegLines: Lines[];
  readonly committed: readonly (readonly number[])[];
}

function isPrepared(v: unknown): v is PreparedInternal {
  return typeof v === 'object' && v !== null && (v as { [PREPARED]?: unknown })[PREPARED] === true;
}

const prepareLines = (p: G2Point): Lines => prepareG2(p);
/** Lines of a key's fixed point, normalized once (cheaper in every Miller loop). */
const prepareKeyLines = (p: G2Point): Lines => prepareG2Fixed(p);

/**
 * Π e(Pᵢ, Qᵢ) as one multi-Miller loop and one final exponentiation (./pairing.ts);
 * pairs with P at infinity contribute 1 (e(O, Q) = 1, as in gnark's MillerLoop).
 */
function pairingProduct(pairs: [Lines, G1Point][]): Gt {
  const live = pairs.filter(([, p]) => !p.is0()).map(([lines, p]) => [p, lines] as const);
  return live.length === 0 ? gtOne() : gtFinalExponentiate(multiMillerLoop(live));
}

const VK = 'ZK_VK_INVALID';
const BUNDLE = 'ZK_BUNDLE_INVALID';

/**
 * Validates a verifying key and precomputes what verification needs (e(α, β), the line
 * functions of -γ, -δ and the commitment keys, the MSM tables of the ic points).
 * Throws `ZK_VK_INVALID` naming the offending field.
 */
export function prepareGroth16VerifyingKey(vk: unknown): PreparedGroth16VerifyingKey {
  if (isPrepared(vk)) return vk;
  const j = parseWith(Groth16VerifyingKeySchema, vk, VK, 'vk');
  const alpha = toG1(VK, 'vk.alpha', j.alpha);
  const beta = toG2(VK, 'vk.beta', j.beta);
  const gamma = toG2(VK, 'vk.gamma', j.gamma);
  const delta = toG2(VK, 'vk.delta', j.delta);
  for (const [name, p] of [
    ['vk.alpha', alpha],
    ['vk.beta', beta],
    ['vk.gamma', gamma],
    ['vk.delta', delta],
  ] as const) {
    if (p.is0()) fail(VK, name, 'point at infinity');
  }
  const nbCommitments = j.publicAndCommitmentCommitted.length;
  if (j.commitmentKeys.length !== nbCommitments) {
    fail(VK, 'vk.commitmentKeys', `${j.commitmentKeys.length} keys for ${nbCommitments} commitments`);
  }
  const expectedIc = j.nbPublic + 1 + nbCommitments;
  if (j.ic.length !== expectedIc) {
    fail(VK, 'vk.ic', `expected ${expectedIc} points (nbPublic + 1 + commitments), got ${j.ic.length}`);
  }
  const ic = j.ic.map((p, i) => toG1(VK, `vk.ic[${i}]`, p));
  const gSigmaNegLines: Lines[] = [];
  let g0: G2Point | null = null;
  let gLines: Lines | null = null;
  for (let i = 0; i < nbCommitments; i++) {
    const ck = j.commitmentKeys[i]!;
    const g = toG2(VK, `vk.commitmentKeys[${i}].g`, ck.g);
    const gsn = toG2(VK, `vk.commitmentKeys[${i}].gSigmaNeg`, ck.gSigmaNeg);
    if (g0 !== null && !g.equals(g0)) fail(VK, `vk.commitmentKeys[${i}].g`, 'differs from commitmentKeys[0].g');
    if (g.is0() || gsn.is0()) fail(VK, `vk.commitmentKeys[${i}]`, 'point at infinity');
    if (g0 === null) {
      g0 = g;
      gLines = prepareKeyLines(g);
    }
    gSigmaNegLines.push(prepareKeyLines(gsn));
    j.publicAndCommitmentCommitted[i]!.forEach((idx, k) => {
      // 1-based index into the public witness when commitment i is hashed:
      // nbPublic inputs followed by the i earlier commitment hashes
      if (idx < 1 || idx > j.nbPublic + i) {
        fail(VK, `vk.publicAndCommitmentCommitted[${i}][${k}]`, `index ${idx} out of range [1, ${j.nbPublic + i}]`);
      }
    });
  }
  const rest = ic.slice(1);
  const prepared: PreparedInternal = {
    [PREPARED]: true,
    nbPublic: j.nbPublic,
    nbCommitments,
    json: j,
    ic0: ic[0]!,
    msm: rest.length ? fixedBaseMsm(rest) : null,
    eAlphaBeta: pairingProduct([[prepareLines(beta), alpha]]),
    negGammaLines: prepareKeyLines(gamma.negate()),
    negDeltaLines: prepareKeyLines(delta.negate()),
    gLines,
    gSigmaNegLines,
    committed: j.publicAndCommitmentCommitted.map((c) => [...c]),
  };
  return Object.freeze(prepared);
}

// A small cache of prepared keys, keyed by the canonical JSON of the validated key.
const CACHE_MAX = 16;
const cache = new Map<string, PreparedInternal>();

function preparedFor(vk: unknown): PreparedInternal {
  if (isPrepared(vk)) return vk;
  const j = parseWith(Groth16VerifyingKeySchema, vk, VK, 'vk');
  const key = JSON.stringify(j);
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit); // most recently used last
    return hit;
  }
  const p = prepareGroth16VerifyingKey(j) as PreparedInternal;
  cache.set(key, p);
  if (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value as string);
  return p;
}

// ---------------------------------------------------------------------------
// Public inputs

/**
 * Parses public inputs given as canonical decimal strings (each below r).
 * Throws `ZK_BUNDLE_INVALID` naming `publicInputs[i]`.
 */
export function parsePublicInputs(values: unknown): bigint[] {
  const arr = parseWith(z.array(z.string()), values, BUNDLE, 'publicInputs');
  return arr.map((s, i) => {
    const field = `publicInputs[${i}]`;
    if (s.length > 80 || !/^(0|[1-9][0-9]*)$/.test(s)) fail(BUNDLE, field, 'not a canonical decimal integer');
    const v = BigInt(s);
    if (v >= BN254_R) fail(BUNDLE, field, 'not below the scalar field modulus r');
    return v;
  });
}

// ---------------------------------------------------------------------------
// Verification

/** Appends the commitment-derived public inputs to `witness` (in place) and returns them. */
function appendCommitmentInputs(key: PreparedInternal, commitments: readonly G1Point[], witness: bigint[]): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i < key.nbCommitments; i++) {
    const committed = key.committed[i]!.map((idx) => witness[idx - 1]!);
    const h = commitmentHash(commitments[i]!, committed);
    witness.push(h);
    out.push(h);
  }
  return out;
}

/**
 * The public inputs gnark derives from the proof's commitments (one per commitment, in
 * order), as appended to the public witness before the Groth16 equation is checked.
 * Inputs are validated as in {@link verifyGroth16}.
 */
export function deriveCommitmentInputs(
  vk: Groth16VerifyingKeyJSON | PreparedGroth16VerifyingKey,
  proof: Groth16ProofJSON,
  publicInputs: readonly bigint[],
): bigint[] {
  const { key, commitments, witness } = parseInputs(vk, proof, publicInputs);
  return appendCommitmentInputs(key, commitments, witness);
}

interface ParsedInputs {
  key: PreparedInternal;
  ar: G1Point;
  bs: G2Point;
  krs: G1Point;
  commitments: G1Point[];
  pok: G1Point;
  witness: bigint[];
}

function parseInputs(vk: unknown, proof: unknown, publicInputs: readonly bigint[]): ParsedInputs {
  const key = preparedFor(vk);
  const pj = parseWith(Groth16ProofSchema, proof, BUNDLE, 'proof');
  const ar = toG1(BUNDLE, 'proof.ar', pj.ar);
  const bs = toG2(BUNDLE, 'proof.bs', pj.bs);
  const krs = toG1(BUNDLE, 'proof.krs', pj.krs);
  const commitments = pj.commitments.map((c, i) => toG1(BUNDLE, `proof.commitments[${i}]`, c));
  const pok = toG1(BUNDLE, 'proof.commitmentPok', pj.commitmentPok);
  if (commitments.length !== key.nbCommitments) {
    fail(BUNDLE, 'proof.commitments', `expected ${key.nbCommitments} commitments, got ${commitments.length}`);
  }
  if (!Array.isArray(publicInputs)) fail(BUNDLE, 'publicInputs', 'expected an array');
  if (publicInputs.length !== key.nbPublic) {
    fail(BUNDLE, 'publicInputs', `expected ${key.nbPublic} public inputs, got ${publicInputs.length}`);
  }
  const witness: bigint[] = publicInputs.map((v, i) => {
    if (typeof v !== 'bigint' || v < 0n || v >= BN254_R) fail(BUNDLE, `publicInputs[${i}]`, 'expected a bigint in [0, r)');
    return v;
  });
  return { key, ar, bs, krs, commitments, pok, witness };
}

/** Options of {@link verifyGroth16}. */
export interface VerifyGroth16Options {
  /**
   * Run the Pedersen proof-of-knowledge check and the Groth16 equation as two separate
   * pairing products with two final exponentiations, exactly as gnark does. By default
   * both are checked in one product: the proof-of-knowledge terms are raised to a fresh
   * random scalar s taking 2^128 equally likely values (s₁ + λ·s₂ with 64-bit halves, see
   * ./glv.ts), so a proof passes iff both checks pass, except with probability at most
   * 2^-128 (and one final exponentiation is saved).
   */
  readonly separatePairingChecks?: boolean;
}


/**
 * Verifies a gnark BN254 Groth16 proof (with BSB22 commitments) against public inputs.
 *
 * @param vk - verifying key JSON or a key from {@link prepareGroth16VerifyingKey}
 *   (JSON keys are validated and their precomputations cached by content).
 * @param proof - proof JSON.
 * @param publicInputs - the nbPublic public inputs, each in [0, r).
 * @returns true if gnark would accept the proof, false if a well-formed proof does not verify.
 * @throws VeriteeError `ZK_VK_INVALID` (malformed key) or `ZK_BUNDLE_INVALID` (malformed proof,
 *   proof not shaped for this key, wrong number or range of public inputs).
 */
export function verifyGroth16(
  vk: Groth16VerifyingKeyJSON | PreparedGroth16VerifyingKey,
  proof: Groth16ProofJSON,
  publicInputs: readonly bigint[],
  options: VerifyGroth16Options = {},
): boolean {
  const { key, ar, bs, krs, commitments, pok, witness } = parseInputs(vk, proof, publicInputs);
  const separate = options.separatePairingChecks === true;
  const pairs: [Lines, G1Point][] = [];

  // 1. commitment-derived public inputs, 2. Pedersen proofs of knowledge
  if (key.nbCommitments > 0) {
    const hashes = new Uint8Array(32 * key.nbCommitments);
    appendCommitmentInputs(key, commitments, witness).forEach((h, i) => be32(hashes, 32 * i, h));
    const rho = hashToFr(hashes, COMMITMENT_FOLD_DST);
    // e(C_0, GSigmaNeg_0) · Π e(ρ^i·C_i, GSigmaNeg_i) · e(pok, G), all raised to s
    // s = s₁ + λ·s₂ with 64-bit halves (./glv.ts): as good a randomizer as a uniform
    // 128-bit scalar, and C_0 and pok are multiplied by it with 64 doublings
    const g = separate ? null : randomGlvScalar();
    const s = g === null ? 1n : g.s;
    const times = (p: G1Point, c: bigint): G1Point => (c === 1n ? p : g !== null && c === g.s ? glvMul(p, g.s1, g.s2) : p.multiplyUnsafe(c));
    let coeff = s;
    for (let i = 0; i < key.nbCommitments; i++) {
      pairs.push([key.gSigmaNegLines[i]!, times(commitments[i]!, coeff)]);
      coeff = (coeff * rho) % BN254_R;
    }
    pairs.push([key.gLines!, times(pok, s)]);
    if (separate) {
      if (!gtEquals(pairingProduct(pairs), gtOne())) return false;
      pairs.length = 0;
    }
  }

  // 3. kSum = ic[0] + Σ ic[k]·w[k-1] + Σ commitments;  e(Ar, Bs)·e(Krs, -δ)·e(kSum, -γ) = e(α, β)
  let kSum = key.ic0;
  if (key.msm) kSum = kSum.add(key.msm(witness));
  for (const c of commitments) kSum = kSum.add(c);
  pairs.push([key.negDeltaLines, krs], [key.negGammaLines, kSum]);
  if (!bs.is0()) pairs.push([prepareLines(bs), ar]); // e(Ar, O) = 1
  return gtEquals(pairingProduct(pairs), key.eAlphaBeta);
}

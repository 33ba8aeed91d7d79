/**
 * @module ceremony-chain
 * Checks, without the transcript, that a ceremony key's δ and BSB22 σ are the end
 * of a verified chain of contributions (gnark `backend/groth16/bn254/mpcsetup`
 * phase 2), from the chain summary (`veritee.ceremony-chain/v1`) the Go
 * `ceremony verify|finalize` puts in the key's record.
 *
 * THREAT MODEL: the key document (and so the summary) may come from anybody. A
 * Groth16 key is sound when at least one contribution's secret is unknown to the
 * forger, so this module establishes, for every contribution i of the record:
 *
 *  - its recorded hash `contributions[i].sha256` is the SHA-256 of a state that
 *    ends with the update proofs used below and the challenge `hash(state i-1)`
 *    (the previous record hash, or `initSha256`). The state's large prefix
 *    (Z, PKK, σCKK…) is not sent: the hash is finished from its SHA-256 chaining
 *    value, so binding rests on the compression function's preimage resistance
 *    from a chosen chaining value (free-start preimages), which SHA-256 has;
 *  - every proof of knowledge `e(x, H(x‖challenge)) = e(g₁, π)` with gnark's
 *    hash-to-G2 (RFC 9380 SVDW), and the same-ratio updates `e(δ₁', H) = e(δ₁, π)`,
 *    `e(x, δ₂) = e(g₁, δ₂')`, and per commitment `e(xσ, σ₂) = e(g₁, σ₂')`;
 *  - the beacon's scalars (gnark `BeaconContributions` over the last record hash
 *    and sha256^(2^e)(beacon)) take the last δ₂, σ₂ exactly to the key's δ and
 *    `-gSigmaNeg`; the commitment keys' G and γ are the G2 generator;
 *  - α, β, γ, K (the points phase 2 does not randomise) digest to the record's
 *    `vkFixedSha256`, which the transcript hash covers.
 *
 * NOT covered here (only the Go full verification covers it): that α, β, K are the
 * ones phase 1 and this circuit give (re-running Initialize: a verifier that does
 * not run Go must trust the transcript hash it pins, or whoever ran `ceremony
 * verify`), the phase-1 powers of tau themselves, the proving key's points (Z, PKK,
 * σCKK: a wrong proving key breaks completeness, not soundness), and that the
 * beacon was announced in advance.
 *
 * Browser-safe (no `node:` imports).
 */
import { bn254 } from '@noble/curves/bn254.js';
import { hash_to_field } from '@noble/curves/abstract/hash-to-curve.js';
import { psiFrobenius } from '@noble/curves/abstract/tower.js';
import type { WeierstrassPoint } from '@noble/curves/abstract/weierstrass.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { z } from 'zod';
import { G1PointSchema, G2PointSchema, isInG2Subgroup, type G1PointJSON, type G2PointJSON, type Groth16VerifyingKeyJSON } from './groth16/index.js';

export const CEREMONY_CHAIN_FORMAT = 'veritee.ceremony-chain/v1';

const HEX = /^(?:[0-9a-f]{2})*$/;
const ProofSchema = z.object({ x: G1PointSchema, pok: G2PointSchema }).strict();
export const CeremonyChainSchema = z
  .object({
    format: z.literal(CEREMONY_CHAIN_FORMAT),
    steps: z
      .array(
        z
          .object({
            prefixLen: z.number().int().min(0).max(2 ** 40),
            midstate: z.string().regex(/^[0-9a-f]{64}$/),
            tail: z.string().regex(HEX).max(4 * 64 * 1024),
            delta1: G1PointSchema,
            delta2: G2PointSchema,
            sigma2: z.array(G2PointSchema).max(255),
            deltaProof: ProofSchema,
            sigmaProofs: z.array(ProofSchema).max(255),
          })
          .strict(),
      )
      .max(10000),
  })
  .strict();
export type CeremonyChain = z.infer<typeof CeremonyChainSchema>;

const { G1, G2, fields } = bn254;
const { Fp, Fp2, Fr } = fields;
type Fp2T = ReturnType<typeof Fp2.fromBigTuple>;
type G1Point = WeierstrassPoint<bigint>;
type G2Point = WeierstrassPoint<Fp2T>;
const P = Fp.ORDER;
const G2_B = G2.Point.CURVE().b;
const BN_X = 4965661367192848881n;

class ChainError extends Error {}
const bad = (msg: string): never => {
  throw new ChainError(msg);
};

// ---------------------------------------------------------------------------
// SHA-256 finished from a chaining value (FIPS 180-4)

const K256 = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const rotr = (x: number, n: number): number => (x >>> n) | (x << (32 - n));

function compress(h: Uint32Array, block: Uint8Array, off: number): void {
  const w = new Uint32Array(64);
  for (let i = 0; i < 16; i++) w[i] = (block[off + 4 * i]! << 24) | (block[off + 4 * i + 1]! << 16) | (block[off + 4 * i + 2]! << 8) | block[off + 4 * i + 3]!;
  for (let i = 16; i < 64; i++) {
    const s0 = rotr(w[i - 15]!, 7) ^ rotr(w[i - 15]!, 18) ^ (w[i - 15]! >>> 3);
    const s1 = rotr(w[i - 2]!, 17) ^ rotr(w[i - 2]!, 19) ^ (w[i - 2]! >>> 10);
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
  }
  let [a, b, c, d, e, f, g, hh] = [h[0]!, h[1]!, h[2]!, h[3]!, h[4]!, h[5]!, h[6]!, h[7]!];
  for (let i = 0; i < 64; i++) {
    const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K256[i]! + w[i]!) | 0;
    const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    hh = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  const v = [a, b, c, d, e, f, g, hh];
  for (let i = 0; i < 8; i++) h[i] = (h[i]! + v[i]!) | 0;
}

/** SHA-256 of (a prefix of prefixLen bytes whose chaining value is midstate) ‖ tail, hex. */
export function sha256FromMidstate(midstate: Uint8Array, prefixLen: number, tail: Uint8Array): string {
  if (midstate.length !== 32 || prefixLen % 64 !== 0) bad('a midstate is 32 bytes after whole 64-byte blocks');
  const h = new Uint32Array(8);
  for (let i = 0; i < 8; i++) h[i] = (midstate[4 * i]! << 24) | (midstate[4 * i + 1]! << 16) | (midstate[4 * i + 2]! << 8) | midstate[4 * i + 3]!;
  const total = prefixLen + tail.length;
  const padded = new Uint8Array(Math.ceil((tail.length + 9) / 64) * 64);
  padded.set(tail);
  padded[tail.length] = 0x80;
  const bits = BigInt(total) * 8n;
  for (let i = 0; i < 8; i++) padded[padded.length - 1 - i] = Number((bits >> BigInt(8 * i)) & 0xffn);
  for (let off = 0; off < padded.length; off += 64) compress(h, padded, off);
  let out = '';
  for (const x of h) out += (x >>> 0).toString(16).padStart(8, '0');
  return out;
}

// ---------------------------------------------------------------------------
// gnark-crypto's HashToG2 for BN254 (RFC 9380 hash_to_field + Shallue–van de
// Woestijne map, Z = 1, then its cofactor clearing [x]Q + ψ([3x]Q) + ψ²([x]Q) + ψ³(Q))

const SVDW = {
  c1: Fp2.fromBigTuple([
    19485874751759354771024239261021720505790618469301721065564631296452457478374n,
    266929791119991161246907387137283842545076965332900288569378510910307636690n,
  ]),
  c2: Fp2.fromBigTuple([10944121435919637611123202872628637544348155578648911831344518947322613104291n, 0n]),
  c3: Fp2.fromBigTuple([
    18992192239972082890849143911285057164064277369389217330423471574879236301292n,
    21819008332247140148575583693947636719449476128975323941588917397607662637108n,
  ]),
  c4: Fp2.fromBigTuple([
    10499238450719652342378357227399831140106360636427411350395554762472100376473n,
    6940174569119770192419592065569379906172001098655407502803841283667998553941n,
  ]),
  z: Fp2.ONE,
};

const isSquare2 = (a: Fp2T): boolean => {
  const n = Fp.add(Fp.sqr(a.c0), Fp.sqr(a.c1)); // the norm (u² = -1)
  return n === 0n || Fp.pow(n, (P - 1n) / 2n) === 1n;
};
const sgn0 = (a: Fp2T): number => {
  const s0 = Number(a.c0 & 1n);
  return s0 | (a.c0 === 0n ? Number(a.c1 & 1n) : 0);
};
const g2x = (x: Fp2T): Fp2T => Fp2.add(Fp2.mul(Fp2.sqr(x), x), G2_B);

/** gnark-crypto bn254 `MapToCurve2` (no cofactor clearing). */
export function mapToCurve2(u: Fp2T): G2Point {
  let tv1 = Fp2.mul(Fp2.sqr(u), SVDW.c1);
  const tv2 = Fp2.add(Fp2.ONE, tv1);
  tv1 = Fp2.sub(Fp2.ONE, tv1);
  let tv3 = Fp2.mul(tv1, tv2);
  tv3 = Fp2.is0(tv3) ? Fp2.ZERO : Fp2.inv(tv3);
  const tv4 = Fp2.mul(Fp2.mul(Fp2.mul(u, tv1), tv3), SVDW.c3);
  const x1 = Fp2.sub(SVDW.c2, tv4);
  const x2 = Fp2.add(SVDW.c2, tv4);
  const x3 = Fp2.add(Fp2.mul(Fp2.sqr(Fp2.mul(Fp2.sqr(tv2), tv3)), SVDW.c4), SVDW.z);
  const x = isSquare2(g2x(x1)) ? x1 : isSquare2(g2x(x2)) ? x2 : x3;
  let y = Fp2.sqrt(g2x(x));
  if (sgn0(u) !== sgn0(y)) y = Fp2.neg(y);
  return G2.Point.fromAffine({ x, y });
}

let frob: ReturnType<typeof psiFrobenius> | null = null;
const psi = (p: G2Point): G2Point => (frob ??= psiFrobenius(Fp, Fp2, Fp2.NONRESIDUE)).G2psi(G2.Point, p);

function clearCofactor(q: G2Point): G2Point {
  const xq = q.is0() ? q : q.multiplyUnsafe(BN_X);
  const p1 = psi(xq.multiplyUnsafe(3n));
  const p2 = psi(psi(xq));
  const p3 = psi(psi(psi(q)));
  return xq.add(p1).add(p2).add(p3);
}

/** gnark-crypto bn254 `HashToG2(msg, dst)`. */
export function hashToG2(msg: Uint8Array, dst: Uint8Array): G2Point {
  const u = hash_to_field(msg, 2, { DST: dst, p: P, m: 2, k: 128, expand: 'xmd', hash: sha256 });
  const q0 = mapToCurve2(Fp2.fromBigTuple(u[0] as [bigint, bigint]));
  const q1 = mapToCurve2(Fp2.fromBigTuple(u[1] as [bigint, bigint]));
  return clearCofactor(q0.add(q1));
}

// ---------------------------------------------------------------------------
// points and gnark's compressed encoding

const coord = (s: string, what: string): bigint => {
  const v = BigInt(s);
  if (v >= P) bad(`${what}: coordinate not below the field modulus`);
  return v;
};

function g1(j: G1PointJSON, what: string): G1Point {
  const x = coord(j[0], what);
  const y = coord(j[1], what);
  if (x === 0n && y === 0n) return bad(`${what}: the point at infinity`);
  const p = G1.Point.fromAffine({ x, y });
  try {
    p.assertValidity();
  } catch {
    bad(`${what}: not a point of G1`);
  }
  return p;
}

function g2(j: G2PointJSON, what: string): G2Point {
  const x = Fp2.fromBigTuple([coord(j.x[0], what), coord(j.x[1], what)]);
  const y = Fp2.fromBigTuple([coord(j.y[0], what), coord(j.y[1], what)]);
  if (Fp2.is0(x) && Fp2.is0(y)) return bad(`${what}: the point at infinity`);
  if (!Fp2.eql(Fp2.sqr(y), g2x(x))) bad(`${what}: not on the twist`);
  const p = G2.Point.fromAffine({ x, y });
  if (!isInG2Subgroup(p)) bad(`${what}: not in the G2 subgroup`);
  return p;
}

const HALF = (P - 1n) / 2n;
const be32 = (v: bigint): Uint8Array => {
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
};
const MASK_SMALLEST = 0b10 << 6;
const MASK_LARGEST = 0b11 << 6;

/** gnark-crypto `G1Affine.Bytes()` (compressed) of a non-zero point. */
function g1Compressed(p: G1Point): Uint8Array {
  const { x, y } = p.toAffine();
  const out = be32(x);
  out[0]! |= y > HALF ? MASK_LARGEST : MASK_SMALLEST;
  return out;
}

/** gnark-crypto `G2Affine.Bytes()` (compressed: X.A1 ‖ X.A0, flags from Y). */
function g2Compressed(p: G2Point): Uint8Array {
  const { x, y } = p.toAffine();
  const out = new Uint8Array(64);
  out.set(be32(x.c1), 0);
  out.set(be32(x.c0), 32);
  const largest = y.c1 === 0n ? y.c0 > HALF : y.c1 > HALF;
  out[0]! |= largest ? MASK_LARGEST : MASK_SMALLEST;
  return out;
}

/** gnark-crypto `G1Affine.Marshal()` (uncompressed X ‖ Y). */
function g1Raw(p: G1Point): Uint8Array {
  const { x, y } = p.toAffine();
  const out = new Uint8Array(64);
  out.set(be32(x), 0);
  out.set(be32(y), 32);
  return out;
}

const hexToBytes = (s: string): Uint8Array => {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
};
const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const eqBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** e(a₁, a₂) = e(b₁, b₂), as one product of pairings. */
function sameRatio(a1: G1Point, a2: G2Point, b1: G1Point, b2: G2Point): boolean {
  const gt = bn254.pairingBatch([
    { g1: a1, g2: a2 },
    { g1: b1.negate(), g2: b2 },
  ]);
  return fields.Fp12.eql(gt, fields.Fp12.ONE);
}

// ---------------------------------------------------------------------------
// the chain

/** The record fields the chain is checked against (keys.ts `CeremonyRecord`). */
export interface ChainRecord {
  initSha256: string;
  contributions: { name: string; sha256: string }[];
  beacon: string;
  beaconIterationsExp: number;
  vkFixedSha256: string;
}

/** keys.VKFixedDigest (Go): sha256 over lines of α, β, γ, nbPublic, K, each commitment key's G and layout. */
export function vkFixedDigest(v: Groth16VerifyingKeyJSON): string {
  const g2l = (p: G2PointJSON): string => `${p.x[0]},${p.x[1]},${p.y[0]},${p.y[1]}`;
  let s = `veritee.vk-fixed/v1\nalpha=${v.alpha[0]},${v.alpha[1]}\nbeta=${g2l(v.beta)}\ngamma=${g2l(v.gamma)}\nnbPublic=${v.nbPublic}\n`;
  v.ic.forEach((k, i) => (s += `ic=${i}:${k[0]},${k[1]}\n`));
  v.commitmentKeys.forEach((c, i) => (s += `commitmentG=${i}:${g2l(c.g)}\n`));
  v.publicAndCommitmentCommitted.forEach((c, i) => (s += `committed=${i}:${c.join(',')}\n`));
  return toHex(sha256(new TextEncoder().encode(s)));
}

/** sha256 iterated 2^exp times over the beacon (Go `BeaconChallenge`). */
export function beaconChallenge(beaconHex: string, exp: number): Uint8Array {
  let h = hexToBytes(beaconHex);
  const n = 2 ** exp;
  for (let i = 0; i < n; i++) h = sha256(h);
  return h;
}

/** gnark `BeaconContributions(hash, dst, beaconChallenge, n)`: scalars, all non-zero. */
function beaconScalars(lastHash: Uint8Array, challenge: Uint8Array, n: number): bigint[] {
  let msg = new Uint8Array([...lastHash, ...challenge]);
  for (;;) {
    const r = hash_to_field(msg, n, { DST: 'Groth16 MPC Setup - Phase2', p: Fr.ORDER, m: 1, k: 128, expand: 'xmd', hash: sha256 }).map((x) => x[0]!);
    if (r.every((x) => x !== 0n)) return r;
    msg = new Uint8Array([...msg, 0x3d]); // '=' as gnark pads
  }
}

/**
 * Verifies the chain summary against the record and the key; throws a plain
 * Error whose message names the first failure. Cost: about 6 pairings per
 * contribution plus 4 per contribution and commitment, and two hash-to-G2 each.
 */
export function verifyCeremonyChain(chainIn: unknown, rec: ChainRecord, vk: Groth16VerifyingKeyJSON): void {
  const parsed = CeremonyChainSchema.safeParse(chainIn);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    bad(`the chain summary is malformed at ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  const chain = parsed.data!;
  if (vkFixedDigest(vk) !== rec.vkFixedSha256) bad(`the key's α, β, γ, K do not digest to the record's vkFixedSha256 ${rec.vkFixedSha256}`);
  const nbSigma = vk.commitmentKeys.length;
  if (chain.steps.length !== rec.contributions.length) bad(`the chain has ${chain.steps.length} steps for ${rec.contributions.length} contributions`);
  const gen1 = G1.Point.BASE;
  const gen2 = G2.Point.BASE;
  const gen2J = gen2.toAffine();
  const isGen2 = (j: G2PointJSON): boolean =>
    BigInt(j.x[0]) === gen2J.x.c0 && BigInt(j.x[1]) === gen2J.x.c1 && BigInt(j.y[0]) === gen2J.y.c0 && BigInt(j.y[1]) === gen2J.y.c1;
  if (!isGen2(vk.gamma)) bad('γ is not the G2 generator (gnark mpcsetup fixes it)');
  vk.commitmentKeys.forEach((c, i) => {
    if (!isGen2(c.g)) bad(`commitment key ${i}: G is not the G2 generator`);
  });
  let d1: G1Point = gen1;
  let d2: G2Point = gen2;
  let s2: G2Point[] = Array.from({ length: nbSigma }, () => gen2);
  let prevHash = rec.initSha256;
  chain.steps.forEach((st, idx) => {
    const who = `contribution ${idx + 1} (${rec.contributions[idx]!.name})`;
    if (st.sigma2.length !== nbSigma || st.sigmaProofs.length !== nbSigma) bad(`${who}: ${st.sigma2.length} σ values for ${nbSigma} commitments`);
    // 1. the recorded hash covers these proofs and the challenge
    const tail = hexToBytes(st.tail);
    const got = sha256FromMidstate(hexToBytes(st.midstate), st.prefixLen, tail);
    if (got !== rec.contributions[idx]!.sha256) bad(`${who}: the summarised state hashes to ${got}, not the recorded ${rec.contributions[idx]!.sha256}`);
    const challenge = hexToBytes(prevHash);
    const chEnd = tail.length - 1 - challenge.length;
    if (chEnd < 96 * (1 + nbSigma) || tail[chEnd] !== challenge.length || !eqBytes(tail.subarray(chEnd + 1), challenge))
      bad(`${who}: its challenge is not the hash of the state before it (${prevHash})`);
    const proofs = [st.deltaProof, ...st.sigmaProofs].map((p, k) => ({ x: g1(p.x, `${who} proof ${k} x`), pok: g2(p.pok, `${who} proof ${k} π`) }));
    const enc = new Uint8Array(proofs.length * 96);
    proofs.forEach((p, k) => {
      enc.set(g1Compressed(p.x), 96 * k);
      enc.set(g2Compressed(p.pok), 96 * k + 32);
    });
    if (!eqBytes(enc, tail.subarray(chEnd - enc.length, chEnd))) bad(`${who}: the summary's proofs are not the ones in the state`);
    // 2. proofs of knowledge and same-ratio updates
    const nd1 = g1(st.delta1, `${who} δ₁`);
    const nd2 = g2(st.delta2, `${who} δ₂`);
    const ns2 = st.sigma2.map((s, k) => g2(s, `${who} σ₂[${k}]`));
    proofs.forEach((p, k) => {
      const r = hashToG2(new Uint8Array([...g1Raw(p.x), ...challenge]), new Uint8Array([k]));
      if (!sameRatio(p.x, r, gen1, p.pok)) bad(`${who}: the proof of knowledge of ${k === 0 ? 'δ' : `σ[${k - 1}]`} does not verify`);
      if (k === 0) {
        if (!sameRatio(nd1, r, d1, p.pok)) bad(`${who}: δ₁ is not the previous δ₁ times the proven contribution`);
        if (!sameRatio(p.x, d2, gen1, nd2)) bad(`${who}: δ₂ is not the previous δ₂ times the proven contribution`);
      } else if (!sameRatio(p.x, s2[k - 1]!, gen1, ns2[k - 1]!)) bad(`${who}: σ₂[${k - 1}] is not the previous σ₂ times the proven contribution`);
    });
    d1 = nd1;
    d2 = nd2;
    s2 = ns2;
    prevHash = rec.contributions[idx]!.sha256;
  });
  // 3. the beacon
  const sc = beaconScalars(hexToBytes(prevHash), beaconChallenge(rec.beacon, rec.beaconIterationsExp), 1 + nbSigma);
  const finalDelta = d2.multiply(sc[0]!);
  if (!finalDelta.equals(g2(vk.delta, 'the key δ'))) bad("the key's δ is not the chain's last δ sealed with the beacon");
  vk.commitmentKeys.forEach((c, i) => {
    const want = s2[i]!.multiply(sc[1 + i]!).negate();
    if (!want.equals(g2(c.gSigmaNeg, `commitment key ${i} -σ`))) bad(`commitment key ${i}: σ is not the chain's last σ sealed with the beacon`);
  });
}

/** Like {@link verifyCeremonyChain}, returning the failure's message or undefined. */
export function ceremonyChainProblem(chain: unknown, rec: ChainRecord, vk: Groth16VerifyingKeyJSON): string | undefined {
  try {
    verifyCeremonyChain(chain, rec, vk);
    return undefined;
  } catch (e) {
    if (e instanceof ChainError) return e.message;
    return `the chain summary cannot be checked: ${(e as Error).message?.slice(0, 200)}`;
  }
}

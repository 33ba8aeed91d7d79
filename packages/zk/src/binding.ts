/**
 * @module binding
 * The mask of a BSB22 commitment (claims with `binding: 'bsb22'`, such as
 * latency v2). gnark adds a random mask wire to every commitment, which makes
 * the commitment hiding; veritee derives that mask from the claim's secret salt
 * instead, so that whoever holds the records and the salt (the customer, an
 * auditor) recomputes the exact commitment the proof carries (`veritee audit`),
 * while without the salt the commitment still reveals nothing.
 *
 *   mask = SHA-256("veritee.bsb22-mask/v1" || 0x00 || salt as 32 bytes big-endian) mod r
 */
import { createHash } from 'node:crypto';

/** The BN254 scalar field order. */
export const BN254_R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

export const BSB22_MASK_DOMAIN = 'veritee.bsb22-mask/v1';

/** The commitment mask derived from a salt (a field element). */
export function bsb22Mask(salt: bigint): bigint {
  if (salt < 0n || salt >= BN254_R) throw new RangeError('salt is not a field element');
  const h = createHash('sha256');
  h.update(Buffer.from(BSB22_MASK_DOMAIN, 'utf8'));
  h.update(Buffer.from([0]));
  h.update(Buffer.from(salt.toString(16).padStart(64, '0'), 'hex'));
  return BigInt('0x' + h.digest('hex')) % BN254_R;
}

/**
 * @module plane/command
 * Scaling commands signed by the control plane's enclave key (the key its attestation
 * binds), so that a node agent in untrusted mode acts only on what the attested control
 * plane decided, and telemetry reports signed by an attested agent's key.
 *
 *   command signature   = ES256 (P-256, SHA-256, r||s) over "veritee.cp.command/v1\n" + payload
 *   telemetry signature = ES256 over "veritee.cp.telemetry/v1\n" + agentId + "\n" + hex(SHA-256(body))
 *
 * The command payload is canonical JSON text (signed as sent, never re-serialised).
 */
import { createHash, createPublicKey, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { parseJsonStrict, VeriteeError } from '@veritee/core';
import type { DecisionClaim, SignedCommand } from './log.js';

export const COMMAND_DOMAIN = 'veritee.cp.command/v1';
export const TELEMETRY_DOMAIN = 'veritee.cp.telemetry/v1';

export interface CommandPayload {
  v: 1;
  decisionId: string;
  workload: string;
  from: number;
  replicas: number;
  atMs: number;
  /** The first claim (null when none proves the decision). */
  claim: DecisionClaim | null;
  /** Every claim the decision rests on (absent in commands signed before there could be several). */
  claims?: DecisionClaim[];
}

export interface Signer {
  /** ES256 r||s over `message`. */
  sign(message: Uint8Array): Uint8Array;
  /** DER SubjectPublicKeyInfo. */
  readonly spki: Uint8Array;
}

export const keyIdOf = (spki: Uint8Array): string => createHash('sha256').update(spki).digest('hex');

export function signCommand(signer: Signer, p: CommandPayload): SignedCommand {
  const payload = JSON.stringify(p);
  const sig = signer.sign(Buffer.from(`${COMMAND_DOMAIN}\n${payload}`, 'utf8'));
  return { payload, signature: Buffer.from(sig).toString('base64url'), keyId: keyIdOf(signer.spki) };
}

function keyOf(spki: Uint8Array | KeyObject): KeyObject {
  return 'type' in spki && typeof (spki as KeyObject).export === 'function' ? (spki as KeyObject) : createPublicKey({ key: Buffer.from(spki as Uint8Array), format: 'der', type: 'spki' });
}

/**
 * Verifies a command against the attested control plane's key (its SPKI, whose SHA-256 the
 * attestation bound); CP_COMMAND_SIGNATURE_INVALID otherwise. Returns the payload.
 */
export function verifyCommand(cmd: SignedCommand, spki: Uint8Array): CommandPayload {
  const fail = (m: string): never => {
    throw new VeriteeError('CP_COMMAND_SIGNATURE_INVALID', m);
  };
  if (typeof cmd?.payload !== 'string' || typeof cmd.signature !== 'string') fail('the command carries no payload or signature');
  if (cmd.keyId !== keyIdOf(spki)) fail(`the command is signed by key ${String(cmd.keyId).slice(0, 16)}…, not by the attested control plane ${keyIdOf(spki).slice(0, 16)}…`);
  const ok = nodeVerify('sha256', Buffer.from(`${COMMAND_DOMAIN}\n${cmd.payload}`, 'utf8'), { key: keyOf(spki), dsaEncoding: 'ieee-p1363' }, Buffer.from(cmd.signature, 'base64url'));
  if (!ok) fail('the command signature does not verify with the attested control plane key');
  const p = parseJsonStrict(cmd.payload, { what: 'scaling command', code: 'CP_COMMAND_SIGNATURE_INVALID' }) as CommandPayload;
  if (p.v !== 1 || typeof p.decisionId !== 'string' || !Number.isInteger(p.replicas)) fail('the command payload is malformed');
  return p;
}

export function telemetryMessage(agentId: string, body: Uint8Array | string): Buffer {
  const h = createHash('sha256').update(body).digest('hex');
  return Buffer.from(`${TELEMETRY_DOMAIN}\n${agentId}\n${h}`, 'utf8');
}

export function verifyTelemetrySignature(agentId: string, body: Uint8Array | string, signature: string, key: KeyObject): boolean {
  try {
    return nodeVerify('sha256', telemetryMessage(agentId, body), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));
  } catch {
    return false;
  }
}

/**
 * @module bundle
 * Parsing the proof bundle `veritee.proof/v2` (format in bundle-format.ts): the
 * envelope, then the claim against its definition in the catalogue.
 *
 * Text is parsed with `parseJsonStrict`: duplicate keys (`"compliant": false,
 * "compliant": true`) and deep nesting are refused. An object the caller already
 * parsed with `JSON.parse` cannot be checked for duplicate keys (the parser kept
 * the last value): pass the text when it came from outside.
 */
import { parseJsonStrict, quoteInput, VeriteeError } from '@veritee/core';
import { BUNDLE_FORMAT, BUNDLE_MAX_DEPTH, ProofBundleSchema, RETIRED_FORMATS, type ProofBundle } from './bundle-format.js';
import { claimDefinition, claimKinds } from './claims/registry.js';

export * from './bundle-format.js';

/**
 * Validates a bundle given as JSON text (parsed strictly: duplicate keys and deep
 * nesting are refused) or as an object (which cannot be checked for duplicate keys:
 * prefer the text). Throws ZK_BUNDLE_INVALID naming the field, or ZK_BUNDLE_VERSION.
 */
export function parseProofBundle(input: unknown): ProofBundle {
  let value = input;
  if (typeof input === 'string') value = parseJsonStrict(input, { what: 'proof bundle', code: 'ZK_BUNDLE_INVALID', maxDepth: BUNDLE_MAX_DEPTH });
  else if (input instanceof Uint8Array) {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      throw new VeriteeError('ZK_BUNDLE_INVALID', 'proof bundle is not UTF-8 text');
    }
    return parseProofBundle(text);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new VeriteeError('ZK_BUNDLE_INVALID', `proof bundle must be a JSON object, not ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  const fmt = (value as { format?: unknown }).format;
  if (fmt !== BUNDLE_FORMAT) {
    if (typeof fmt === 'string' && RETIRED_FORMATS[fmt]) {
      throw new VeriteeError('ZK_BUNDLE_VERSION', `proof bundle format ${fmt} is no longer accepted: ${RETIRED_FORMATS[fmt]}`);
    }
    if (typeof fmt === 'string' && fmt.startsWith('veritee.proof/')) {
      throw new VeriteeError('ZK_BUNDLE_VERSION', `proof bundle format ${quoteInput(fmt, 40)} is not supported (this verifier reads ${BUNDLE_FORMAT})`);
    }
    throw new VeriteeError('ZK_BUNDLE_INVALID', `not a veritee proof bundle: "format" must be "${BUNDLE_FORMAT}"`);
  }
  const r = ProofBundleSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new VeriteeError('ZK_BUNDLE_INVALID', `proof bundle field ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const current = claimDefinition(r.data.claim.kind);
  if (!current) throw new VeriteeError('ZK_BUNDLE_INVALID', `proof bundle field claim.kind: unknown claim ${quoteInput(r.data.claim.kind, 40)} (known: ${claimKinds().join(', ')})`);
  const def = claimDefinition(r.data.claim.kind, r.data.claim.version);
  if (!def) throw new VeriteeError('ZK_BUNDLE_VERSION', `claim ${current.kind} version ${r.data.claim.version} is not supported (this verifier reads version ${current.version})`);
  const body = def.schema.safeParse({ params: r.data.claim.params, outputs: r.data.claim.outputs });
  if (!body.success) {
    const issue = body.error.issues[0]!;
    throw new VeriteeError('ZK_BUNDLE_INVALID', `proof bundle field claim.${issue.path.join('.')}: ${issue.message}`);
  }
  return r.data;
}

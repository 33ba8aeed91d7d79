/**
 * @module provenance
 * SLSA v1 provenance in an in-toto Statement v1, laid out like Lunal kettle's (the same
 * field names: `externalParameters {buildCommand, source {uri, digest {gitCommit,
 * gitTree}}}`, `internalParameters {lockfileHash, toolchain}`, `resolvedDependencies` as
 * package URLs with digests, `runDetails {builder.id, metadata, byproducts
 * [input_merkle_root]}`), plus what kettle does not record: the sealing of the build
 * phase (`internalParameters.sealing`) and the builder's own measurement
 * (`internalParameters.toolchain["veritee-build"].digest`).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { parseJsonStrict, quoteInput, VeriteeError } from '@veritee/core';

export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** `runDetails.builder.id` of veritee's TEE builder. */
export const VERITEE_BUILDER_ID = 'https://veritee.dev/build/tee-builder/v1';
/** `buildType` per toolchain. */
export const BUILD_TYPES = { npm: 'https://veritee.dev/build/npm@v1', shell: 'https://veritee.dev/build/shell@v1' } as const;
/** kettle's builder id and build types, accepted by `verifyKettleLayout`. */
export const KETTLE_BUILDER_ID = 'https://lunal.dev/kettle-tee/v1';

const hex = (n?: number) => z.string().regex(n ? new RegExp(`^[0-9a-f]{${n}}$`) : /^[0-9a-f]+$/, n ? `${n} lowercase hex digits` : 'lowercase hex');
const digestSet = z.record(z.string().min(1).max(32), z.string().min(1).max(256));

const resourceDescriptor = z.object({
  name: z.string().max(4096).optional(),
  uri: z.string().max(4096).optional(),
  digest: digestSet.optional(),
  downloadLocation: z.string().max(4096).optional(),
  mediaType: z.string().max(256).optional(),
  content: z.string().max(1 << 20).optional(),
});

const sealingSchema = z.object({
  sealed: z.boolean(),
  method: z.string().max(64),
  network: z.string().max(64),
  readOnlyInputs: z.boolean().optional(),
  cleanEnvironment: z.boolean().optional(),
  privateTmp: z.boolean().optional(),
});

/** The statement as verified: unknown keys are kept (they are signed) but only these are used. */
export const statementSchema = z.object({
  _type: z.literal(IN_TOTO_STATEMENT_V1),
  subject: z
    .array(z.object({ name: z.string().min(1).max(4096), digest: z.object({ sha256: hex(64) }).catchall(z.string().max(256)) }))
    .min(1, 'the statement has no subject')
    .max(100_000),
  predicateType: z.literal(SLSA_PROVENANCE_V1),
  predicate: z.object({
    buildDefinition: z.object({
      buildType: z.string().min(1).max(1024),
      externalParameters: z.object({
        buildCommand: z.string().max(65536),
        source: z.object({ uri: z.string().max(4096), digest: z.object({ gitCommit: z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, 'a git commit id'), gitTree: z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, 'a git tree id').optional() }) }),
        artifacts: z.array(z.string().max(4096)).optional(),
      }),
      internalParameters: z
        .object({
          lockfileHash: z.object({ sha256: hex(64) }).optional(),
          toolchain: z.record(z.string(), z.unknown()).optional(),
          sealing: sealingSchema.optional(),
          dependencyFetch: z.string().max(32).optional(),
          preloaded: z.array(z.object({ name: z.string().max(4096), digest: z.object({ sha256: hex(64) }), files: z.number().int().nonnegative().optional() })).max(1000).optional(),
        })
        .optional(),
      resolvedDependencies: z.array(resourceDescriptor).max(1_000_000).optional(),
    }),
    runDetails: z.object({
      builder: z.object({ id: z.string().min(1).max(1024), version: z.record(z.string(), z.string()).optional() }),
      metadata: z.object({ invocationId: z.string().max(256).optional(), startedOn: z.string().max(64).optional(), finishedOn: z.string().max(64).optional() }).optional(),
      byproducts: z.array(resourceDescriptor).optional(),
    }),
  }),
});

export type Statement = z.infer<typeof statementSchema>;

/** Parses signed statement bytes strictly (duplicate keys refused) and checks the SLSA v1 layout. */
export function parseStatement(text: string, what = 'provenance'): Statement {
  const doc = parseJsonStrict(text, { what, code: 'BUILD_PROVENANCE_INVALID', maxDepth: 32 });
  const r = statementSchema.safeParse(doc);
  if (!r.success) {
    const why = r.error.issues
      .slice(0, 4)
      .map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`)
      .join('; ');
    throw new VeriteeError('BUILD_PROVENANCE_INVALID', `${what} is not an in-toto Statement v1 with SLSA v1 provenance: ${quoteInput(why, 300)}`);
  }
  return r.data;
}

/** The input Merkle root the provenance records as a byproduct (hex), if any. */
export function merkleRootOf(s: Statement): string | undefined {
  const b = s.predicate.runDetails.byproducts?.find((p) => p.name === 'input_merkle_root');
  return b?.digest?.['sha256'];
}

/**
 * kettle's own provenance structure (Lunal kettle `src/provenance.rs`): the fields its
 * deserializer requires. A provenance kettle itself could not read is not accepted as one.
 */
const kettleDigest = z.union([z.strictObject({ sha256: z.string().min(1).max(256) }), z.strictObject({ sha512: z.string().min(1).max(256) })]);
const kettleToolVersion = z.object({ version: z.string().min(1).max(1024), digest: kettleDigest });
export const kettleStatementSchema = z.object({
  _type: z.literal(IN_TOTO_STATEMENT_V1),
  predicateType: z.literal(SLSA_PROVENANCE_V1),
  subject: z.array(z.object({ name: z.string().min(1).max(4096), digest: kettleDigest })).min(1),
  predicate: z.object({
    buildDefinition: z.object({
      buildType: z.string().regex(/^https:\/\/lunal\.dev\/kettle\/[a-z0-9-]+@v\d+$/, 'a kettle build type (https://lunal.dev/kettle/<toolchain>@v<n>)'),
      externalParameters: z.object({
        buildCommand: z.string().max(65536),
        source: z.object({ uri: z.string().max(4096), digest: z.object({ gitCommit: z.string().max(64), gitTree: z.string().max(64) }) }),
      }),
      internalParameters: z.object({ lockfileHash: kettleDigest, toolchain: z.object({ kettle: kettleToolVersion }).catchall(kettleToolVersion) }),
      resolvedDependencies: z.array(z.object({ name: z.string().max(4096), uri: z.string().max(8192), digest: kettleDigest, annotations: z.record(z.string(), z.unknown()).optional() })).max(1_000_000),
    }),
    runDetails: z.object({
      builder: z.object({ id: z.string().min(1).max(1024) }),
      metadata: z.object({ invocationId: z.string().max(256), startedOn: z.string().max(64), finishedOn: z.string().max(64).nullable().optional() }),
      byproducts: z.array(z.object({ name: z.string().max(256), digest: kettleDigest })),
    }),
  }),
});

function kettleCanonical(v: unknown, path: string): void {
  if (typeof v === 'number' && !Number.isSafeInteger(v)) {
    throw new VeriteeError('BUILD_PROVENANCE_INVALID', `kettle provenance: ${quoteInput(path, 120)} is a non-integer or unsafe number; its serialization is not pinned, refused`);
  }
  if (Array.isArray(v)) v.forEach((x, i) => kettleCanonical(x, `${path}[${i}]`));
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      // JavaScript enumerates integer-like keys first: the file's key order would be lost
      if (/^(0|[1-9][0-9]*)$/.test(k)) throw new VeriteeError('BUILD_PROVENANCE_INVALID', `kettle provenance: key ${quoteInput(`${path}.${k}`, 120)} is integer-like; its order cannot be kept, refused`);
      kettleCanonical(x, `${path}.${k}`);
    }
  }
}

/**
 * kettle's provenance checksum, the value its evidence carries as report data
 * (`Provenance::checksum`: SHA-256 of `serde_json::to_string` of the provenance, i.e. the
 * compact JSON of the file with its keys in the file's order, no whitespace). Checked
 * against Lunal's own published fixtures (tests/fixtures/{ripgrep,alejandra} of
 * lunal-dev/kettle, whose az-snp TPM quotes carry exactly this digest, not SHA-256 of the
 * pretty-printed file). Strict: duplicate keys, integer-like keys and non-integer numbers
 * are refused, so the digest is always the one kettle computed over the same fields.
 * kettle's deserializer drops unknown fields before hashing; veritee hashes every field,
 * so a kettle provenance with added fields fails the binding (fails closed).
 */
export function kettleChecksum(text: string): Uint8Array {
  const doc = parseJsonStrict(text, { what: 'kettle provenance', code: 'BUILD_PROVENANCE_INVALID', maxDepth: 32 });
  kettleCanonical(doc, '$');
  return new Uint8Array(createHash('sha256').update(JSON.stringify(doc)).digest());
}

/** Checks kettle's required fields (see {@link kettleStatementSchema}); throws BUILD_PROVENANCE_INVALID naming them. */
export function checkKettleStatement(text: string): void {
  const r = kettleStatementSchema.safeParse(parseJsonStrict(text, { what: 'kettle provenance', code: 'BUILD_PROVENANCE_INVALID', maxDepth: 32 }));
  if (!r.success) {
    const why = r.error.issues
      .slice(0, 4)
      .map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`)
      .join('; ');
    throw new VeriteeError('BUILD_PROVENANCE_INVALID', `not kettle's provenance layout: ${quoteInput(why, 300)}`);
  }
}

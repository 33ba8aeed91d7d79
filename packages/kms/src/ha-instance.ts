/**
 * @module ha-instance
 * TEST SUPPORT: one KMS instance as its own process, for the high-availability test
 * (several instances on one PostgreSQL; one is killed mid-flight).
 *
 * env: VERITEE_KMS_PG (URL), VERITEE_KMS_ROOT (hex root key), VERITEE_KMS_ANCHORS (file of
 * simulated anchors). Prints `listening on <url>` on stderr.
 */
import { readFileSync } from 'node:fs';
import { anchorsFromJson } from '@veritee/attestation';
import { fromHex } from '@veritee/core';
import { openPostgres } from './db.js';
import { Kms } from './kms.js';
import { rootKeyBytes } from './rootkey.js';
import { buildKmsServer } from './server.js';
import { devAttestationPolicy } from './testing.js';

const db = await openPostgres(process.env['VERITEE_KMS_PG']!);
const kms = await Kms.open({
  db,
  rootKey: rootKeyBytes(fromHex(process.env['VERITEE_KMS_ROOT']!)),
  attestationPolicy: devAttestationPolicy(),
  simulatedAnchors: anchorsFromJson(JSON.parse(readFileSync(process.env['VERITEE_KMS_ANCHORS']!, 'utf8'))),
});
const app = await buildKmsServer({ kms, rateLimit: { burst: 10_000, perSecond: 10_000 } });
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stderr.write(`listening on ${address}\n`);

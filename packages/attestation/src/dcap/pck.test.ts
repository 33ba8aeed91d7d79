import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { isVeriteeError, toHex } from '@veritee/core';
import { dcapAnchors, parsePckChain, parsePckExtension } from './pck.js';
import { parseTdxQuote } from '../tdx/parse.js';
import { debugQuote, phalaV4Quote, phalaV5Quote } from '../tdx/test-fixtures.js';

const require = createRequire(import.meta.url);
const qvl = require('@phala/dcap-qvl') as { utils: { getIntelExtension(d: Buffer): Buffer; getFmspc(e: Buffer): Uint8Array; getCpuSvn(e: Buffer): Uint8Array; getPceSvn(e: Buffer): number } };

const chainOf = (raw: Uint8Array) => {
  const q = parseTdxQuote(raw).quote;
  return parsePckChain(q.signature.certData, q.signature.certDataType);
};

describe('dcap/pck', () => {
  for (const [label, load, fmspc] of [
    ['phala v4', phalaV4Quote, 'b0c06f000000'],
    ['phala v5', phalaV5Quote, '90c06f000000'],
    ['debug TD', debugQuote, '50806f000000'],
  ] as const) {
    it(`${label}: SGX extension (FMSPC ${fmspc}) matches dcap-qvl's reading`, () => {
      const leaf = chainOf(load())[0]!;
      const ext = parsePckExtension(leaf);
      assert.equal(ext.fmspc, fmspc);
      assert.equal(ext.pceId, '0000');
      const ref = qvl.utils.getIntelExtension(Buffer.from(leaf.der));
      assert.equal(ext.fmspc, Buffer.from(qvl.utils.getFmspc(ref)).toString('hex'));
      assert.equal(toHex(ext.cpuSvn), Buffer.from(qvl.utils.getCpuSvn(ref)).toString('hex'));
      assert.equal(ext.pceSvn, qvl.utils.getPceSvn(ref));
      // On Intel PCK certificates CPUSVN bytes equal the 16 TCB component SVNs.
      assert.deepEqual(Array.from(ext.cpuSvn), ext.tcbComponents);
      assert.equal(ext.ppid.length, 32);
    });
  }

  it('refuses a certificate without the SGX extension and other certification data types', () => {
    const root = dcapAnchors()[0]!.cert;
    assert.throws(() => parsePckExtension(root), (e: unknown) => isVeriteeError(e, 'ATTEST_EVIDENCE_INVALID') && /missing/.test((e as Error).message));
    assert.throws(
      () => parsePckChain(new Uint8Array(10), 3),
      (e: unknown) => isVeriteeError(e, 'ATTEST_CERT_CHAIN_INVALID') && /carries no PCK certificate: .*type 3 \(PPID encrypted with RSA-3072.*not type 5 \(PCK certificate chain\)/.test((e as Error).message),
    );
    assert.throws(
      () => parsePckChain(new TextEncoder().encode('no pem'), 5),
      (e: unknown) => isVeriteeError(e, 'ATTEST_CERT_CHAIN_INVALID') && /carries no PCK certificate: .*type 5.* holds no PEM certificate in 6 byte/.test((e as Error).message),
    );
  });

  it('simulated anchors are added only when given, and marked simulated', () => {
    assert.equal(dcapAnchors().length, 1);
    assert.equal(dcapAnchors({}).length, 1);
    const sim = dcapAnchors({ intelRoot: dcapAnchors()[0]!.cert.der });
    assert.equal(sim.length, 2);
    assert.equal(sim[1]!.simulated, true);
  });
});

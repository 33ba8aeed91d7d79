/**
 * Warm attestation verification: SEV-SNP reports, TDX quotes with collateral
 * already parsed, NVIDIA SPDM, and the whole verifyEvidence path with a policy.
 * Run: node --import tsx packages/attestation/bench/attestation.bench.ts
 */
import { fromBase64 } from '@veritee/core';
import { nvidiaVerifier, parsePolicy, SimulatedTee, snpVerifier, verifyEvidence } from '../src/index.js';
import { parseDcapCollateral, tdxVerifier, verifyTdxQuote } from '../src/tdx/index.js';
import { FIXTURE_TIMES, nvidiaFixture, snpFixture, tdxFixture } from '../src/testing/envelopes.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function time(label: string, n: number, fn: () => unknown): Promise<[string, number, number]> {
  for (let i = 0; i < 5; i++) {
    const r = (await fn()) as { ok?: boolean };
    if (r && r.ok === false) throw new Error(`${label}: benchmark evidence did not verify`);
  }
  const ts: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  return [label, median(ts), Math.min(...ts)];
}

const snp = snpFixture('milan-v2');
const tdx = tdxFixture('phala-v4', { collateral: true });
const quote = fromBase64((tdx.evidence as { quote: string }).quote);
const collateral = parseDcapCollateral(tdx.collateral!);
const gpu = nvidiaFixture();
const policy = parsePolicy('version: 1\nname: bench\nplatforms: [snp]\nreportData: { require: [] }\nsnp: { measurements: any }\n');

// Fresh evidence per call (new report data, new signature) from the simulated TEE:
// the certificate chain is warm, every report signature is verified anew.
const tee = await SimulatedTee.create({ platforms: ['snp', 'tdx'] });
const N_FRESH = 100;
const freshSnp = Array.from({ length: N_FRESH + 5 }, (_, i) => tee.evidence('snp', { reportData: new Uint8Array(64).fill(i % 256) }));
const freshTdx = Array.from({ length: N_FRESH + 5 }, (_, i) => tee.evidence('tdx', { reportData: new Uint8Array(64).fill(i % 256) }));
const simParams = { at: new Date(), simulatedAnchors: tee.anchors };
let k = 0;
let m = 0;

const rows: [string, number, number][] = [];
rows.push(await time('SEV-SNP, a new report each call (simulated VCEK, chain warm)', N_FRESH, () => snpVerifier.verify(freshSnp[k++]!, simParams)));
rows.push(await time('TDX quote v4, a new quote each call (simulated, collateral warm)', N_FRESH, () => tdxVerifier.verify(freshTdx[m++]!, simParams)));
rows.push(await time('SEV-SNP real report (Milan v2), same report repeated', 300, () => snpVerifier.verify(snp, { at: FIXTURE_TIMES.snp })));
rows.push(await time('TDX real quote v4, same quote repeated (collateral parsed once)', 200, () => verifyTdxQuote(quote, { collateral }, { at: FIXTURE_TIMES.tdxV4 })));
rows.push(await time('TDX envelope (collateral parsed per call)', 100, () => verifyEvidence(tdx, { policy: parsePolicy('version: 1\nname: b\nplatforms: [tdx]\nreportData: { require: [] }\ntdx: { mrtd: any }\n'), at: FIXTURE_TIMES.tdxV4 })));
rows.push(await time('NVIDIA H100 SPDM measurements', 200, () => nvidiaVerifier.verify(gpu, { at: FIXTURE_TIMES.nvidia })));
rows.push(await time('verifyEvidence (SNP + policy checks)', 300, () => verifyEvidence(snp, { policy, at: FIXTURE_TIMES.snp })));

console.log('\n## Attestation verification (warm, per evidence)\n');
console.log('| evidence | median | best |');
console.log('|---|---:|---:|');
for (const [l, m, b] of rows) console.log(`| ${l} | ${m.toFixed(2)} ms | ${b.toFixed(2)} ms |`);
console.log('\nTargets: ≤ 5 ms per SNP report, ≤ 20 ms per TDX quote (collateral parsed).');

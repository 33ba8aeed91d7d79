/**
 * Bring-your-own circom, timed on the example circuit
 * (packages/market/fixtures/circom/factor.circom: x·y = N with 32-bit range checks):
 * compile from an empty cache and from the cache, the local powers of tau (cold)
 * and the zkey setup, then proofs (witness + Groth16) and verifications through the
 * circom-groth16 proof system (strict key/signal/proof checks + snarkjs). Prints a
 * Markdown table; the cache is a temporary directory, removed at the end.
 *
 *   node --import tsx packages/market/bench/proofs.bench.ts [--runs 10]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { circomGroth16ProofSystem, compileCircom, proveCircom, releaseCircomResources, setupCircom } from '../src/proof-systems/index.js';

const argv = process.argv.slice(2);
const ri = argv.indexOf('--runs');
const runs = ri >= 0 ? Number(argv[ri + 1]) : 10;
const fixture = fileURLToPath(new URL('../fixtures/circom/factor.circom', import.meta.url));
const cache = mkdtempSync(join(tmpdir(), 'veritee-market-proofs-bench-'));
const fmt = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`);
const stats = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  return `${fmt(s[Math.floor(s.length / 2)]!)} (${fmt(s[0]!)}–${fmt(s[s.length - 1]!)})`;
};
const time = async <T>(f: () => Promise<T>): Promise<[T, number]> => {
  const t = performance.now();
  const r = await f();
  return [r, performance.now() - t];
};

console.log('## Bring-your-own circom (circom2 + snarkjs Groth16, BN254)\n');
console.log(`load at start ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
try {
  const [art, compileCold] = await time(() => compileCircom({ file: fixture }, { cacheDir: cache }));
  const [, compileWarm] = await time(() => compileCircom({ file: fixture }, { cacheDir: cache }));
  const [setup, setupMs] = await time(() => setupCircom(art, { cacheDir: cache, now: new Date() }));
  const [setup2, setupWarmMs] = await time(() => setupCircom(art, { cacheDir: cache, now: new Date() }));
  void setup2;
  const sys = circomGroth16ProofSystem({ allowDevSetup: true });
  const prove: number[] = [];
  const witness: number[] = [];
  const verify: number[] = [];
  const verifyBoth: number[] = [];
  const both = circomGroth16ProofSystem({ allowDevSetup: true, crossCheck: true });
  const x = 65537n;
  for (let i = 0; i < runs; i++) {
    const y = 4294967291n - BigInt(2 * i);
    const [p, ms] = await time(() => proveCircom({ wasm: art.wasm, zkey: setup.zkey }, { N: (x * y).toString(), x: x.toString(), y: y.toString() }));
    prove.push(ms);
    witness.push(p.timings.witnessMs);
    const [ok, vms] = await time(() => sys.verify(setup.verificationKey, p.publicSignals, p.proof));
    if (!ok) throw new Error('a proof did not verify');
    verify.push(vms);
    const [ok2, bms] = await time(() => both.verify(setup.verificationKey, p.publicSignals, p.proof));
    if (!ok2) throw new Error('a proof did not cross-check');
    verifyBoth.push(bms);
  }
  const [, parseMs] = await time(async () => sys.parseVerificationKey(setup.verificationKey));
  console.log(`circuit: ${art.name}, ${art.constraints} constraints, ${art.publicSignals} public signal(s), ${art.privateInputs} private inputs; ${art.compiler}; ptau 2^${setup.ptau.power}\n`);
  console.log('| step | time |');
  console.log('|---|---|');
  console.log(`| compile, empty cache | ${fmt(compileCold)} |`);
  console.log(`| compile, cached (hash check) | ${fmt(compileWarm)} |`);
  console.log(`| setup, empty cache: local ptau (new + contribute + prepare phase 2) | ${fmt(setup.timings.ptauMs)} |`);
  console.log(`| setup: zkey (groth16 setup + 1 contribution + vk export) | ${fmt(setup.timings.zkeyMs)} |`);
  console.log(`| setup total, empty cache / ptau cached | ${fmt(setupMs)} / ${fmt(setupWarmMs)} |`);
  console.log(`| prove (witness + Groth16), median (min–max) of ${runs} | ${stats(prove)} |`);
  console.log(`| … of which witness | ${stats(witness)} |`);
  console.log(`| verify through the proof system (key + signals + proof checks, snarkjs pairing), median of ${runs} | ${stats(verify)} |`);
  console.log(`| verify with crossCheck (snarkjs and @veritee/zk's pairing code), median of ${runs} | ${stats(verifyBoth)} |`);
  console.log(`| parse + check a verification key alone | ${fmt(parseMs)} |`);
} finally {
  await releaseCircomResources();
  rmSync(cache, { recursive: true, force: true });
}
console.log(`\nload at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

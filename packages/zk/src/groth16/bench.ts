/**
 * Micro benchmark of the Groth16 verifier (warm verification time).
 *
 *   node --import tsx packages/zk/src/groth16/bench.ts [iterations]
 *
 * Prints one row per fixture circuit and pairing mode, then machine facts. Besides wall
 * time it reports CPU time per verification (process.cpuUsage), which stays meaningful
 * when other processes compete for the cores.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { parsePublicInputs, prepareGroth16VerifyingKey, verifyGroth16 } from './verify.js';
import type { Groth16ProofJSON, Groth16VerifyingKeyJSON } from './verify.js';

const dir = new URL('./testdata/', import.meta.url);
const load = (file: string): unknown => JSON.parse(readFileSync(new URL(file, dir), 'utf8'));
const iterations = Number(process.argv[2] ?? 30);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

interface Row {
  circuit: string;
  commitments: number;
  mode: string;
  'prepare ms': string;
  'first verify ms': string;
  'warm median ms': string;
  'warm min ms': string;
  'warm CPU ms': string;
}
const rows: Row[] = [];
for (const name of ['main', 'multi', 'nocommit']) {
  const vkJSON = load(`vk_${name}.json`) as Groth16VerifyingKeyJSON;
  const proof = load(`proof_${name}.json`) as Groth16ProofJSON;
  const pub = parsePublicInputs(load(`public_${name}.json`));
  for (const separate of [false, true]) {
    const t0 = performance.now();
    const vk = prepareGroth16VerifyingKey(structuredClone(vkJSON));
    const t1 = performance.now();
    if (!verifyGroth16(vk, proof, pub, { separatePairingChecks: separate })) throw new Error(`${name}: fixture does not verify`);
    const t2 = performance.now();
    for (let i = 0; i < 3; i++) verifyGroth16(vk, proof, pub, { separatePairingChecks: separate }); // warm-up
    const times: number[] = [];
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < iterations; i++) {
      const s = performance.now();
      verifyGroth16(vk, proof, pub, { separatePairingChecks: separate });
      times.push(performance.now() - s);
    }
    const cpu = process.cpuUsage(cpu0);
    rows.push({
      circuit: name,
      commitments: vk.nbCommitments,
      mode: separate ? 'separate (as gnark)' : 'merged (default)',
      'prepare ms': (t1 - t0).toFixed(1),
      'first verify ms': (t2 - t1).toFixed(1),
      'warm median ms': median(times).toFixed(1),
      'warm min ms': Math.min(...times).toFixed(1),
      'warm CPU ms': ((cpu.user + cpu.system) / 1000 / iterations).toFixed(1),
    });
  }
}
// JSON key (content-cached preparation) instead of a prepared key
{
  const vkJSON = load('vk_main.json') as Groth16VerifyingKeyJSON;
  const proof = load('proof_main.json') as Groth16ProofJSON;
  const pub = parsePublicInputs(load('public_main.json'));
  verifyGroth16(vkJSON, proof, pub);
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < iterations; i++) {
    const s = performance.now();
    verifyGroth16(vkJSON, proof, pub);
    times.push(performance.now() - s);
  }
  const cpu = process.cpuUsage(cpu0);
  rows.push({
    circuit: 'main (JSON key, cached)',
    commitments: 1,
    mode: 'merged (default)',
    'prepare ms': '-',
    'first verify ms': '-',
    'warm median ms': median(times).toFixed(1),
    'warm min ms': Math.min(...times).toFixed(1),
    'warm CPU ms': ((cpu.user + cpu.system) / 1000 / iterations).toFixed(1),
  });
}

console.log(`groth16 verify (BN254, gnark v0.15 format), ${iterations} iterations per row`);
console.table(rows);
const curvesVersion = (JSON.parse(readFileSync(new URL('./package.json', import.meta.resolve('@noble/curves/bn254.js')), 'utf8')) as { version: string }).version;
console.log(
  `machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, ` +
    `load ${loadavg().map((x) => x.toFixed(2)).join(' ')}; node ${process.version}; @noble/curves ${curvesVersion}`,
);

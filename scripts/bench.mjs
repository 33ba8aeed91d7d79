#!/usr/bin/env node
// `npm run bench`: runs every benchmark script in turn (each prints a Markdown
// table), then the machine facts. Options: --only zk,telemetry,inclusion,attestation,proxy,ohttp,kms,build,gateway,control-plane,streams,streams-throughput,market,market-proofs,market-router
// and --sizes 1000,10000,50000 (latency proof sizes).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const only = opt('--only')?.split(',');
const benches = [
  ['zk', 'packages/zk/bench/latency.bench.ts', opt('--sizes') ? ['--sizes', opt('--sizes')] : []],
  ['claims', 'packages/zk/bench/claims.bench.ts', []],
  ['inclusion', 'packages/zk/bench/inclusion.bench.ts', []],
  ['attestation', 'packages/attestation/bench/attestation.bench.ts', []],
  ['proxy', 'packages/proxy/bench/proxy.bench.ts', []],
  ['ohttp', 'packages/ohttp/bench/ohttp.bench.ts', []],
  ['kms', 'packages/kms/bench/kms.bench.ts', []],
  ['build', 'packages/build/bench/build.bench.ts', []],
  ['gateway', 'packages/gateway/bench/gateway.bench.ts', []],
  ['ceremony', 'packages/ceremony/bench/ceremony.bench.ts', opt('--ceremony-circuits') ? ['--circuits', opt('--ceremony-circuits')] : []],
  ['control-plane', 'packages/control-plane/bench/control-plane.bench.ts', []],
  ['console', 'packages/console/bench/console.bench.ts', []],
  ['streams', 'packages/streams/bench/streams.bench.ts', []],
  ['streams-throughput', 'packages/streams/bench/throughput.bench.ts', []],
  ['market', 'packages/market/bench/market.bench.ts', []],
  ['market-proofs', 'packages/market/bench/proofs.bench.ts', []],
  ['market-router', 'packages/market/src/router/router.bench.ts', []],
];
let failed = false;
for (const [name, file, args] of benches) {
  if (only && !only.includes(name)) continue;
  if (!existsSync(join(root, file))) continue;
  console.log(`\n# ${name}: ${file}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, file), ...args], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.log(`(${name} benchmark failed with status ${r.status})`);
    failed = true;
  }
}
const go = spawnSync('go', ['version'], { encoding: 'utf8' });
let model = cpus()[0]?.model ?? 'unknown';
try {
  model = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? model;
} catch {}
console.log('\n## Machine\n');
console.log(`| cores | memory | CPU | Node | Go | date |\n|---|---|---|---|---|---|`);
console.log(`| ${cpus().length} | ${(totalmem() / 2 ** 30).toFixed(1)} GiB | ${model} | ${process.version} | ${go.stdout?.trim().replace('go version ', '') ?? 'n/a'} | ${new Date().toISOString().slice(0, 10)} |`);
process.exit(failed ? 1 : 0);

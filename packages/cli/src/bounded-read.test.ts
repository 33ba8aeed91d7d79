/**
 * Every input the CLI reads is bounded by bytes actually read: devices, FIFOs and
 * stdin report size 0 to stat(), and `prove latency --records /dev/zero` once grew
 * to 7.6 GB. Each run here must end quickly with INPUT_TOO_LARGE naming the input
 * and the limit, and the child's peak memory must stay near the limit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { hasStackTrace, runCliWith, type CliRun } from './testing.js';

const dir = mkdtempSync(join(tmpdir(), 'veritee-bounded-'));
const PERIOD = '2025-06-01T00:00:00Z/2025-06-02T00:00:00Z';
const MiB = 1024 * 1024;

// Reports the child's peak resident memory on exit (KiB on Linux).
const rssProbe = join(dir, 'rss-probe.mjs');
writeFileSync(rssProbe, "process.on('exit', () => process.stderr.write(`maxrss-kib=${process.resourceUsage().maxRSS}\\n`));\n");
writeFileSync(join(dir, 'policy.yaml'), 'version: 1\nplatforms: [snp]\nsnp: { measurements: any }\n');

function cli(args: string[], stdinFile?: string): Promise<CliRun> {
  return runCliWith(args, {
    cwd: dir,
    timeoutMs: 60_000,
    env: { NODE_OPTIONS: `--import=${pathToFileURL(rssProbe).href}` },
    ...(stdinFile ? { stdinFile } : {}),
  });
}

function expectTooLarge(r: CliRun, name: RegExp, limit: string, limitBytes: number): void {
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`error\\[INPUT_TOO_LARGE\\]: .*${name.source}.* is larger than the ${limit} limit`), r.stderr);
  assert.equal(hasStackTrace(r.stderr), false);
  assert.ok(r.ms < 20_000, `took ${r.ms} ms`);
  const rss = Number(/maxrss-kib=(\d+)/.exec(r.stderr)?.[1]) * 1024;
  assert.ok(Number.isFinite(rss) && rss > 0, 'peak memory was reported');
  // Node itself takes ~50-100 MB; the input may take the limit once more for the read chunks.
  assert.ok(rss < 2 * limitBytes + 200 * MiB, `peak memory ${(rss / MiB).toFixed(0)} MiB for a ${limit} limit`);
}

test('prove latency --records /dev/zero stops at the 64 MiB records limit, fast and with bounded memory', async () => {
  const r = await cli(['prove', 'latency', '--records', '/dev/zero', '--period', PERIOD, '--sla', 'p95<1ms', '--out', join(dir, 'b.json')]);
  expectTooLarge(r, /records file "\/dev\/zero"/, '64 MiB', 64 * MiB);
});

test('a FIFO that never ends is refused at the limit too', async () => {
  const fifo = join(dir, 'records.fifo');
  execFileSync('mkfifo', [fifo]);
  const w = createWriteStream(fifo);
  const chunk = Buffer.from('1748736000000000,1748736000010000\n'.repeat(2000));
  let stop = false;
  w.on('error', () => (stop = true)); // EPIPE once the CLI gives up
  const pump = (): void => {
    while (!stop && w.write(chunk));
    if (!stop) w.once('drain', pump);
  };
  w.once('open', pump);
  try {
    const r = await cli(['prove', 'latency', '--records', fifo, '--period', PERIOD, '--sla', 'p95<1ms', '--out', join(dir, 'b.json')]);
    expectTooLarge(r, /records file ".*records\.fifo"/, '64 MiB', 64 * MiB);
  } finally {
    stop = true;
    w.destroy();
  }
});

test('attest verify - reads stdin bounded (1 MiB evidence limit)', async () => {
  const r = await cli(['attest', 'verify', '-', '--policy', join(dir, 'policy.yaml')], '/dev/zero');
  expectTooLarge(r, /evidence file from standard input/, '1 MiB', MiB);
});

test('ohttp request --data @- reads stdin bounded', async () => {
  const r = await cli(['ohttp', 'request', 'http://t.test/', '--relay', 'http://127.0.0.1:9/', '--gateway-keys', 'http://127.0.0.1:9/ohttp-keys', '--policy', join(dir, 'policy.yaml'), '--data', '@-'], '/dev/zero');
  expectTooLarge(r, /--data file from standard input/, '1 MiB', MiB);
});

test('policies, verification keys, rules, certificates and anchors from /dev/zero are refused at their limits', async () => {
  expectTooLarge(await cli(['attest', 'verify', join(dir, 'policy.yaml'), '--policy', '/dev/zero']), /policy file "\/dev\/zero"/, '1 MiB', MiB);
  writeFileSync(join(dir, 'bundle.json'), '{}');
  expectTooLarge(await cli(['verify', join(dir, 'bundle.json'), '--vk', '/dev/zero', '--home', dir]), /verification key file "\/dev\/zero"/, '4 MiB', 4 * MiB);
  expectTooLarge(await cli(['verify', '/dev/zero', '--home', dir]), /proof bundle "\/dev\/zero"/, '16 MiB', 16 * MiB);
  expectTooLarge(await cli(['collect', '--samples', '1', '--rules', '/dev/zero']), /--rules file "\/dev\/zero"/, '1 MiB', MiB);
  expectTooLarge(
    await cli(['proxy', '--host', 'x.test', '--upstream', 'http://127.0.0.1:9', '--listen', '127.0.0.1:0', '--cert', '/dev/zero', '--key', '/dev/zero']),
    /certificate "\/dev\/zero"/,
    '1 MiB',
    MiB,
  );
  expectTooLarge(await cli(['attest', 'verify', join(dir, 'policy.yaml'), '--policy', join(dir, 'policy.yaml'), '--sim-anchors', '/dev/zero']), /anchors file "\/dev\/zero"/, '16 MiB', 16 * MiB);
});

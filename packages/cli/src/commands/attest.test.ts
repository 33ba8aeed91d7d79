/**
 * `veritee attest ...` as a child process, on the real fixtures: exit status and output.
 * From `dist/` it runs the compiled CLI; from `src/` (tsx) it runs `src/bin.ts` with a
 * tsconfig that maps `@veritee/*` to the package sources, so no build is needed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const fromSource = import.meta.url.endsWith('.ts');
const pkgRoot = resolve(here, '..', '..'); // packages/cli
const repoRoot = resolve(pkgRoot, '..', '..');

// The real evidence kept in the repository (packages/attestation/test/fixtures).
const FIX = join(repoRoot, 'packages', 'attestation', 'test', 'fixtures');
if (!existsSync(FIX)) throw new Error(`attestation fixtures not found at ${FIX}`);
const fx = (rel: string) => readFileSync(join(FIX, rel));

let tmp: string;
let tsconfig: string;

before(() => {
  tmp = mkdtempSync(join(tmpdir(), 'veritee-cli-'));
  tsconfig = join(tmp, 'tsconfig.json');
  const src = (p: string) => [join(repoRoot, 'packages', p, 'src', 'index.ts')];
  writeFileSync(
    tsconfig,
    JSON.stringify({
      compilerOptions: {
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        paths: { '@veritee/core': src('core'), '@veritee/zk': src('zk'), '@veritee/attestation': src('attestation') },
      },
    }),
  );
  const env = (report: string, signer: 'vcek' | 'vlek', cert: string) => ({
    platform: 'snp',
    evidence: { attestation_report: fx(report).toString('base64'), cert_chain: { [signer]: fx(cert).toString('base64') } },
  });
  writeFileSync(join(tmp, 'milan.json'), JSON.stringify(env('snp/milan-v2-report.bin', 'vcek', 'snp/milan-v2-vcek.der')));
  writeFileSync(join(tmp, 'vlek.json'), JSON.stringify(env('snp/vlek-v3-report.bin', 'vlek', 'snp/vlek-v3-vlek.der')));
  writeFileSync(join(tmp, 'debug.json'), JSON.stringify(env('snp/debug-policy-report.bin', 'vcek', 'snp/debug-policy-vcek.der')));
  writeFileSync(
    join(tmp, 'fixtures.yaml'),
    [
      'name: fixtures',
      'platforms: [snp, tdx]',
      'reportData: { require: [] }',
      'snp:',
      '  measurements:',
      '    - a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c',
      '    - 8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4e8c9af857f5ceeb5a493df2a570d7bf0',
      '    - b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01',
      'tdx: { mrtd: any }',
      '',
    ].join('\n'),
  );
  writeFileSync(join(tmp, 'typo.yaml'), 'platforms: [snp]\nsnp: { measurements: any }\nalowDebug: true\n');
  writeFileSync(join(tmp, 'dev.yaml'), 'platforms: [snp]\nallowSimulated: true\nsnp: { measurements: any }\n');
  writeFileSync(join(tmp, 'prod.yaml'), 'platforms: [snp]\nsnp: { measurements: any }\n');
});
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Run> {
  const [cmd, pre, env] = fromSource
    ? [process.execPath, ['--import', import.meta.resolve('tsx'), join(pkgRoot, 'src', 'bin.ts')], { ...process.env, TSX_TSCONFIG_PATH: tsconfig }]
    : [process.execPath, [join(pkgRoot, 'dist', 'bin.js')], process.env];
  return new Promise((resolvePromise) => {
    execFile(cmd, [...pre, ...args], { cwd: tmp, env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolvePromise({ code, stdout, stderr });
    });
  });
}

test('verify: the milan fixture passes at 2025-06-01; every check is printed; exit 0', async () => {
  const r = await cli('attest', 'verify', 'milan.json', '--policy', 'fixtures.yaml', '--at', '2025-06-01T00:00:00Z');
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /^✓ snp\.signature: /m);
  assert.match(r.stdout, /^✓ policy\.measurement: /m);
  assert.match(r.stdout, /^PASS: snp evidence satisfies veritee:policy\/fixtures/m);
  assert.equal(r.stderr, '');
});

test('verify: the VLEK at 2026-11-21 fails (certificate expired), exit 1, error through the uniform handler', async () => {
  const r = await cli('attest', 'verify', 'vlek.json', '--policy', 'fixtures.yaml', '--at', '2026-11-21T00:00:00Z');
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^✗ snp\.cert_validity: .*expired/m);
  assert.match(r.stdout, /^FAIL: /m);
  assert.match(r.stderr, /^error\[ATTEST_CERT_EXPIRED\]: verification failed/m);
  assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/); // no stack trace
});

test('verify --json: the debug-policy report, as JSON, fails policy.debug with exit 1', async () => {
  const r = await cli('attest', 'verify', 'debug.json', '--policy', 'fixtures.yaml', '--at', '2025-06-01T00:00:00Z', '--json');
  assert.equal(r.code, 1);
  const result = JSON.parse(r.stdout) as { ok: boolean; failures: { name: string; code: string }[] };
  assert.equal(result.ok, false);
  assert.deepEqual(result.failures.map((f) => f.name), ['policy.debug']);
  assert.match(r.stderr, /error\[ATTEST_DEBUG_REFUSED\]/);
});

test('verify: the legacy header without collateral is reported unverified, exit 1', async () => {
  const r = await cli('attest', 'verify', join(FIX, 'lunal', 'attestation-report-header.txt'), '--policy', 'fixtures.yaml', '--at', '2025-06-25T00:00:00Z');
  assert.equal(r.code, 1);
  assert.match(r.stdout, /UNVERIFIED: collateral missing/);
  assert.match(r.stderr, /error\[ATTEST_COLLATERAL_MISSING\]/);
});

test('verify: a VCEK that does not chain to AMD: the simulated check does not claim genuine vendor roots', async () => {
  const env = {
    platform: 'snp',
    evidence: { attestation_report: fx('snp/milan-v2-report.bin').toString('base64'), cert_chain: { vcek: fx('snp/invalid-vcek-new.der').toString('base64') } },
  };
  writeFileSync(join(tmp, 'bad-vcek.json'), JSON.stringify(env));
  const r = await cli('attest', 'verify', 'bad-vcek.json', '--policy', 'fixtures.yaml', '--at', '2025-06-01T00:00:00Z');
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^✗ snp\.cert_chain: /m);
  assert.doesNotMatch(r.stdout, /chains to genuine vendor roots/);
  assert.match(r.stdout, /^✓ policy\.simulated: not simulated \(no test anchor was accepted\), but the evidence does not chain to a genuine vendor root either: snp\.cert_chain failed$/m);
});

test('verify: a real H100 report with one unsigned byte after its signature passes and prints a note', async () => {
  const spdm = Buffer.from(fx('nvidia/hopper-coco-report.hex').toString('utf8').trim(), 'hex');
  const env = { platform: 'nvidia', evidence: { spdm: spdm.toString('base64'), cert_chain: fx('nvidia/hopper-coco-cert-chain.txt').toString('utf8') } };
  writeFileSync(join(tmp, 'coco-gpu.json'), JSON.stringify(env));
  writeFileSync(join(tmp, 'gpu.yaml'), 'platforms: [nvidia]\nreportData: { require: [] }\nnvidia: { measurements: any }\n');
  const r = await cli(
    'attest', 'verify', 'coco-gpu.json', '--policy', 'gpu.yaml', '--at', '2026-01-07T00:00:00Z',
    '--report-data', '87d8e24ab336adafe228d49e83d745f6dba4ae505372b6a5704820856b343fec',
  );
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /^✓ nvidia\.signature: ECDSA P-384\/SHA-384 over 4033 bytes/m);
  assert.match(r.stdout, /^✓ nvidia\.device: NVIDIA GPU, chip GH100/m);
  assert.match(r.stdout, /^note: nvidia\.parse: 1 unsigned trailing byte\(s\) after the 96-byte signature \(at evidence offset 4129: 00\) were ignored/m);
  assert.match(r.stdout, /^PASS: nvidia evidence/m);
});

test('verify: bad input exits 2 with the code (unknown policy key, bad time, bad evidence, missing file)', async () => {
  const [typo, badAt, badEvidence, missing] = await Promise.all([
    cli('attest', 'verify', 'milan.json', '--policy', 'typo.yaml', '--at', '2025-06-01T00:00:00Z'),
    cli('attest', 'verify', 'milan.json', '--policy', 'fixtures.yaml', '--at', 'last tuesday'),
    cli('attest', 'verify', 'fixtures.yaml', '--policy', 'fixtures.yaml'),
    cli('attest', 'verify', 'nope.json', '--policy', 'fixtures.yaml'),
  ]);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /error\[ATTEST_POLICY_INVALID\]: .*unknown key "alowDebug"/);
  assert.equal(badAt.code, 2);
  assert.match(badAt.stderr, /error\[INPUT_TIME_INVALID\]/);
  assert.equal(badEvidence.code, 2);
  assert.match(badEvidence.stderr, /error\[ATTEST_EVIDENCE_INVALID\]/);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /error\[INPUT_FILE_UNREADABLE\]/);
});

test('sim writes labelled simulated evidence that verifies only under allowSimulated with its anchors', async () => {
  const nonce = '5a'.repeat(32);
  const s = await cli('attest', 'sim', '--platform', 'snp', '--nonce', nonce, '--out', 'sim.json');
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stdout, /SIMULATED/);
  const env = JSON.parse(readFileSync(join(tmp, 'sim.json'), 'utf8')) as { platform: string; note: string };
  assert.equal(env.platform, 'snp');
  assert.match(env.note, /SIMULATED/);
  assert.ok(existsSync(join(tmp, 'sim.anchors.json')));
  const [dev, prod] = await Promise.all([
    cli('attest', 'verify', 'sim.json', '--policy', 'dev.yaml', '--nonce', nonce, '--sim-anchors', 'sim.anchors.json'),
    cli('attest', 'verify', 'sim.json', '--policy', 'prod.yaml', '--nonce', nonce, '--sim-anchors', 'sim.anchors.json'),
  ]);
  assert.equal(dev.code, 0, dev.stdout + dev.stderr);
  assert.match(dev.stdout, /✓ policy\.simulated: SIMULATED evidence accepted/);
  assert.equal(prod.code, 1, prod.stdout);
  assert.match(prod.stdout, /✗ snp\.cert_chain/);
});

test('sim --platform az-snp|az-tdx|gcp-snp|gcp-tdx writes labelled evidence in the cloud formats that verifies', async () => {
  const nonce = '5b'.repeat(32);
  writeFileSync(
    join(tmp, 'cloud.yaml'),
    'platforms: [az-snp, az-tdx, gcp-snp, gcp-tdx]\nallowSimulated: true\nsnp: { measurements: any }\ntdx: { mrtd: any }\n',
  );
  for (const platform of ['az-snp', 'az-tdx', 'gcp-snp', 'gcp-tdx']) {
    const out = `sim-${platform}.json`;
    const s = await cli('attest', 'sim', '--platform', platform, '--nonce', nonce, '--out', out);
    assert.equal(s.code, 0, s.stderr);
    const env = JSON.parse(readFileSync(join(tmp, out), 'utf8')) as { platform: string; note: string; evidence: Record<string, unknown> };
    assert.equal(env.platform, platform);
    assert.match(env.note, /SIMULATED/);
    if (platform.startsWith('az-')) assert.ok(typeof env.evidence['hcl_report'] === 'string' && typeof env.evidence['tpm_quote'] === 'object');
    const v = await cli('attest', 'verify', out, '--policy', 'cloud.yaml', '--nonce', nonce, '--sim-anchors', out.replace(/\.json$/, '.anchors.json'));
    assert.equal(v.code, 0, v.stdout + v.stderr);
    if (platform.startsWith('az-')) assert.match(v.stdout, /✓ tpm\.signature/);
  }
  const bad = await cli('attest', 'sim', '--platform', 'aws-snp', '--nonce', nonce, '--out', 'x.json');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--platform must be one of .*az-snp/);
});

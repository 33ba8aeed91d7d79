/**
 * Manifests, image policies and in-guest enforcement. The configfs-tsm tree is a
 * fake in a temp dir (the kernel's file-system interface), answered by the
 * simulated TEE's real signed SNP reports and TDX quotes; parsing, freshness,
 * signature verification and the root comparison are the real code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBase64, fromHex, VeriteeError } from '@veritee/core';
import { parsePolicy, SimulatedTee } from '@veritee/attestation';
import { buildManifest, parseManifest, SCOPE_COMPONENT, diffComponents } from './manifest.js';
import { buildImagePolicy, checkImagePolicy, parseImagePolicy } from './policy.js';
import { enforceImage } from './enforce.js';
import { nodeTsmFs, parseSnpCertTable, SNP_CERT_GUIDS, type TsmFs } from './evidence/configfs-tsm.js';
import { guidToBytes } from './guid.js';

const code = (c: string, includes?: string) => (e: unknown) => e instanceof VeriteeError && e.code === c && (includes === undefined || e.message.includes(includes));

function makeImage(dir: string): string {
  const root = join(dir, 'rootfs');
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  mkdirSync(join(root, 'usr/lib'), { recursive: true });
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'var/log'), { recursive: true });
  writeFileSync(join(root, 'usr/bin/veritee-agent'), '#!/usr/bin/node\nconsole.log("agent")\n');
  writeFileSync(join(root, 'usr/lib/libssl.so.3'), Buffer.alloc(5000, 7));
  writeFileSync(join(root, 'etc/agent.conf'), 'mode=production\n');
  writeFileSync(join(root, 'var/log/boot.log'), 'mutable\n');
  symlinkSync('veritee-agent', join(root, 'usr/bin/agent'));
  return root;
}

/** SNP certificate table as the host hands it over (auxblob). */
function certTable(certs: Record<string, Uint8Array>): Uint8Array {
  const entries = Object.entries(certs);
  const head = 24 * (entries.length + 1);
  const total = head + entries.reduce((n, [, d]) => n + d.length, 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  let off = head;
  entries.forEach(([k, d], i) => {
    out.set(guidToBytes(SNP_CERT_GUIDS[k as keyof typeof SNP_CERT_GUIDS]), 24 * i);
    dv.setUint32(24 * i + 16, off, true);
    dv.setUint32(24 * i + 20, d.length, true);
    out.set(d, off);
    off += d.length;
  });
  return out;
}

interface FakeOptions {
  platform: 'snp' | 'tdx';
  hostData: Uint8Array;
  measurement?: Uint8Array;
  /** Answer with a report for other report data (a replayed report). */
  staleReportData?: boolean;
  /** Bump the generation between reads (another writer). */
  race?: boolean;
  /** Flip a byte of the signed report body. */
  tamper?: boolean;
}

/** A fake /sys/kernel/config/tsm/report: real files in a temp dir, the "kernel" answering inblob writes with simulated evidence. */
function fakeTsm(tee: SimulatedTee, root: string, o: FakeOptions): TsmFs {
  mkdirSync(root, { recursive: true });
  let gen = 0;
  return {
    ...nodeTsmFs,
    mkdir: (p) => {
      mkdirSync(p);
      writeFileSync(join(p, 'provider'), o.platform === 'snp' ? 'sev_guest\n' : 'tdx_guest\n');
      writeFileSync(join(p, 'generation'), '0\n');
    },
    rmdir: (p) => rmSync(p, { recursive: true }),
    writeFile: (p, data) => {
      writeFileSync(p, data);
      if (!p.endsWith('/inblob')) return;
      const dir = p.slice(0, -'/inblob'.length);
      const rd = o.staleReportData ? new Uint8Array(64).fill(9) : data;
      gen++;
      if (o.platform === 'snp') {
        const env = tee.evidence('snp', { reportData: rd, hostData: o.hostData, ...(o.measurement ? { measurement: o.measurement } : {}) }) as unknown as { evidence: { attestation_report: string; cert_chain?: Record<string, string> } };
        const report = fromBase64(env.evidence.attestation_report);
        if (o.tamper) report[0x90] ^= 1;
        writeFileSync(join(dir, 'outblob'), report);
        const certs: Record<string, Uint8Array> = {};
        for (const [k, v] of Object.entries(env.evidence.cert_chain ?? {})) certs[k] = fromBase64(v);
        writeFileSync(join(dir, 'auxblob'), certTable(certs));
      } else {
        const env = tee.evidence('tdx', { reportData: rd, mrConfigId: o.hostData }) as unknown as { evidence: { quote: string } };
        writeFileSync(join(dir, 'outblob'), fromBase64(env.evidence.quote));
      }
      writeFileSync(join(dir, 'generation'), `${gen}\n`);
    },
    readFile: (p) => {
      const b = nodeTsmFs.readFile(p);
      if (o.race && p.endsWith('/outblob')) writeFileSync(join(p.slice(0, -'/outblob'.length), 'generation'), `${++gen}\n`);
      return b;
    },
  };
}

test('manifest: every file and symlink in scope with its SHA-256, the scope pinned, the root re-derived on parse', () => {
  const dir = mkdtempSync(join(tmpdir(), 'veritee-manifest-'));
  try {
    const root = makeImage(dir);
    const m = buildManifest(root, { include: ['usr', 'etc'], exclude: ['var'] }, { depth: 10 });
    assert.deepEqual(m.components.map((c) => c.name), ['.veritee/scope', 'etc/agent.conf', 'usr/bin/agent', 'usr/bin/veritee-agent', 'usr/lib/libssl.so.3']);
    assert.equal(m.hostData.snp, m.root);
    assert.equal(m.hostData.tdx, m.root + '0'.repeat(32));
    const again = parseManifest(JSON.stringify(m));
    assert.deepEqual(again, m);
    // Same files, another scope: another root.
    assert.notEqual(buildManifest(root, { include: ['usr', 'etc', 'var'] }, { depth: 10 }).root, m.root);
    // A manifest whose root does not follow from its components, or that drops its scope pin, is refused.
    const forged = { ...m, components: m.components.map((c) => (c.name === 'usr/lib/libssl.so.3' ? { ...c, sha256: 'ab'.repeat(32) } : c)) };
    assert.throws(() => parseManifest(JSON.stringify(forged)), code('IMAGE_MANIFEST_INVALID', 'does not follow'));
    assert.throws(() => parseManifest(JSON.stringify({ ...m, components: m.components.filter((c) => c.name !== SCOPE_COMPONENT) })), code('IMAGE_MANIFEST_INVALID', 'scope'));
    assert.throws(() => parseManifest(JSON.stringify(m).replace('"depth":10', '"depth":10,"depth":10')), code('IMAGE_MANIFEST_INVALID'));
    assert.throws(() => parseManifest(JSON.stringify({ ...m, extra: 1 })), code('IMAGE_MANIFEST_INVALID'));
    assert.throws(() => buildManifest(root, { include: ['../etc'] }), code('IMAGE_MANIFEST_INVALID'));
    assert.throws(() => buildManifest(root, { include: ['usr'] }, { depth: 7 }), code('IMAGE_MANIFEST_INVALID'));
    assert.deepEqual(diffComponents(m.components, [...m.components.slice(1), { name: 'x', sha256: '00'.repeat(32) }]), { changed: [], added: ['x'], removed: ['.veritee/scope'] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('image policy: measurement + host data; checks say what fails', () => {
  const dir = mkdtempSync(join(tmpdir(), 'veritee-policy-'));
  try {
    const m = buildManifest(makeImage(dir), { include: ['usr'] }, { depth: 10 });
    const meas = 'ab'.repeat(48);
    const p = buildImagePolicy({ manifest: m, platform: 'snp', measurements: [meas.toUpperCase()], enforcing: true });
    assert.deepEqual(parseImagePolicy(JSON.stringify(p)), p);
    assert.equal(checkImagePolicy(p, { platform: 'snp', measurement: meas, hostData: m.hostData.snp }).ok, true);
    const other = checkImagePolicy(p, { platform: 'snp', measurement: 'cd'.repeat(48), hostData: m.hostData.snp });
    assert.equal(other.ok, false);
    assert.equal(other.checks.find((c) => !c.ok)!.code, 'IMAGE_MEASUREMENT_NOT_ENFORCING');
    const notEnf = buildImagePolicy({ manifest: m, platform: 'snp', measurements: [meas], enforcing: false });
    assert.equal(checkImagePolicy(notEnf, { platform: 'snp', measurement: meas, hostData: m.hostData.snp }).checks.find((c) => c.name === 'image.enforcing')!.ok, false);
    assert.equal(checkImagePolicy(p, { platform: 'snp', measurement: meas, hostData: '00'.repeat(32) }).ok, false);
    assert.equal(checkImagePolicy(p, { platform: 'tdx', measurement: meas, hostData: m.hostData.snp }).ok, false);
    assert.throws(() => parseImagePolicy(JSON.stringify({ ...p, hostData: '11'.repeat(32) })), code('IMAGE_MANIFEST_INVALID'));
    assert.throws(() => parseImagePolicy(JSON.stringify({ ...p, measurements: [] })), code('IMAGE_MANIFEST_INVALID'));
    assert.throws(() => buildImagePolicy({ manifest: m, platform: 'snp', measurements: ['abc'], enforcing: true }), code('IMAGE_MANIFEST_INVALID'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('enforce (SNP via configfs-tsm): starts only when the files present give the attested HOST_DATA root', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'veritee-enforce-'));
  const tee = await SimulatedTee.create({ platforms: ['snp', 'tdx'] });
  try {
    const root = makeImage(dir);
    const manifest = buildManifest(root, { include: ['usr', 'etc'] }, { depth: 10 });
    const hostData = fromHex(manifest.hostData.snp);
    const tsmRoot = join(dir, 'tsm/report');
    const tsm = (o: Partial<FakeOptions> = {}) => ({ root: tsmRoot, fs: fakeTsm(tee, tsmRoot, { platform: 'snp', hostData, ...o }) });
    const policy = parsePolicy({ platforms: ['snp'], allowSimulated: true, reportData: { require: ['nonce'] }, snp: { measurements: 'any' } });
    const verify = { policy, at: new Date(), simulatedAnchors: tee.anchors };

    const ok = await enforceImage({ manifest, root, tsm: tsm(), verify });
    assert.equal(ok.platform, 'snp');
    assert.equal(ok.root, manifest.root);
    assert.equal(ok.components, 5);
    assert.deepEqual(ok.checks.map((c) => c.name), ['evidence.fresh', 'evidence.verified', 'image.components']);
    assert.equal(existsSync(tsmRoot) && (await import('node:fs')).readdirSync(tsmRoot).length, 0, 'the report entry is removed');

    // A file outside the scope may change.
    writeFileSync(join(root, 'var/log/boot.log'), 'changed\n');
    await enforceImage({ manifest, root, tsm: tsm() });

    // A tampered component, an added one, a re-pointed symlink: refused, naming the file.
    const lib = join(root, 'usr/lib/libssl.so.3');
    const orig = readFileSync(lib);
    writeFileSync(lib, Buffer.concat([orig, Buffer.of(0)]));
    await assert.rejects(enforceImage({ manifest, root, tsm: tsm() }), code('IMAGE_COMPONENT_MISMATCH', 'changed: "usr/lib/libssl.so.3"'));
    writeFileSync(lib, orig);
    writeFileSync(join(root, 'usr/bin/backdoor'), 'x');
    await assert.rejects(enforceImage({ manifest, root, tsm: tsm() }), code('IMAGE_COMPONENT_MISMATCH', 'added: "usr/bin/backdoor"'));
    unlinkSync(join(root, 'usr/bin/backdoor'));
    unlinkSync(join(root, 'usr/bin/agent'));
    symlinkSync('/tmp/evil', join(root, 'usr/bin/agent'));
    await assert.rejects(enforceImage({ manifest, root, tsm: tsm() }), code('IMAGE_COMPONENT_MISMATCH', 'changed: "usr/bin/agent"'));
    unlinkSync(join(root, 'usr/bin/agent'));
    symlinkSync('veritee-agent', join(root, 'usr/bin/agent'));
    await enforceImage({ manifest, root, tsm: tsm() });

    // A shrunk scope in the shipped manifest cannot hide a tampered file: the scope is a component.
    writeFileSync(lib, 'evil');
    const shrunk = { ...buildManifest(root, { include: ['etc'] }, { depth: 10 }) };
    await assert.rejects(enforceImage({ manifest: shrunk, root, tsm: tsm() }), code('IMAGE_COMPONENT_MISMATCH', 'not the attested one'));
    writeFileSync(lib, orig);

    // Launched with another root, or with host data that is no root at all.
    await assert.rejects(enforceImage({ manifest, root, tsm: tsm({ hostData: new Uint8Array(32).fill(0) }) }), code('IMAGE_COMPONENT_MISMATCH'));
    await assert.rejects(enforceImage({ manifest, root, tsm: tsm({ hostData: new Uint8Array(32).fill(0xff) }) }), code('IMAGE_COMPONENT_MISMATCH', 'not a component-tree root'));
    // A replayed report, a racing writer, a report whose signature no longer verifies, no configfs-tsm.
    await assert.rejects(enforceImage({ manifest, root, tsm: tsm({ staleReportData: true }) }), code('IMAGE_EVIDENCE_INVALID', 'not a fresh answer'));
    await assert.rejects(enforceImage({ manifest, root, tsm: tsm({ race: true }) }), code('IMAGE_EVIDENCE_INVALID', 'generation'));
    await assert.rejects(enforceImage({ manifest, root, tsm: tsm({ tamper: true }), verify }), code('IMAGE_EVIDENCE_INVALID', 'does not verify'));
    await assert.rejects(enforceImage({ manifest, root, tsm: { root: join(dir, 'no/such/tsm') } }), code('IMAGE_EVIDENCE_UNAVAILABLE'));

    // With an image policy: the launch measurement must be one of the image's.
    const measurement = new Uint8Array(48).fill(0x42);
    const imagePolicy = buildImagePolicy({ manifest, platform: 'snp', measurements: ['42'.repeat(48)], enforcing: true });
    const withPolicy = await enforceImage({ manifest, root, tsm: tsm({ measurement }), imagePolicy });
    assert.ok(withPolicy.checks.some((c) => c.name === 'image.measurement' && c.ok));
    await assert.rejects(enforceImage({ manifest, root, tsm: tsm({ measurement: new Uint8Array(48).fill(1) }), imagePolicy }), code('IMAGE_MEASUREMENT_NOT_ENFORCING'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('enforce (TDX via configfs-tsm): MRCONFIGID carries the root', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'veritee-enforce-tdx-'));
  const tee = await SimulatedTee.create({ platforms: ['tdx'] });
  try {
    const root = makeImage(dir);
    const manifest = buildManifest(root, {}, { depth: 10 });
    const tsmRoot = join(dir, 'tsm/report');
    const good = { root: tsmRoot, fs: fakeTsm(tee, tsmRoot, { platform: 'tdx', hostData: fromHex(manifest.hostData.tdx) }) };
    const r = await enforceImage({ manifest, root, tsm: good });
    assert.equal(r.platform, 'tdx');
    assert.equal(r.root, manifest.root);
    writeFileSync(join(root, 'var/log/boot.log'), 'now in scope, and changed\n');
    await assert.rejects(enforceImage({ manifest, root, tsm: good }), code('IMAGE_COMPONENT_MISMATCH', 'var/log/boot.log'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SNP certificate table: entries by GUID, a table without terminator or pointing outside is refused', () => {
  const t = certTable({ vcek: Uint8Array.of(1, 2, 3), ask: Uint8Array.of(4) });
  const parsed = parseSnpCertTable(t);
  assert.deepEqual([...parsed.vcek!], [1, 2, 3]);
  assert.deepEqual([...parsed.ask!], [4]);
  assert.throws(() => parseSnpCertTable(t.subarray(0, 30)), code('IMAGE_EVIDENCE_INVALID'));
  const bad = Uint8Array.from(t);
  new DataView(bad.buffer).setUint32(20, 1e6, true);
  assert.throws(() => parseSnpCertTable(bad), code('IMAGE_EVIDENCE_INVALID'));
});

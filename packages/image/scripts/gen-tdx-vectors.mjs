#!/usr/bin/env node
// Regenerates packages/image/test/vectors/tdx/*.json: MRTD of synthetic TDVF
// volumes computed by scripts/tdx_mrtd_reference.py, an independent Python
// implementation of the algorithm dstack-mr documents. No TDVF build or TDX
// reference binary is available here (Debian 12 ships no IntelTdx OVMF and
// dstack-mr is not published), so these vectors are a second implementation's
// output, not a measurement taken from hardware. Run after a build.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { syntheticTdvf, SYNTHETIC_TDVF_SECTIONS } from '../dist/testing/synthetic.js';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, '..', 'test', 'vectors', 'tdx');
mkdirSync(outDir, { recursive: true });
const tmp = mkdtempSync(join(tmpdir(), 'tdx-vectors-'));
const variants = {
  'tdvf-like': { label: 'veritee synthetic tdvf', sections: SYNTHETIC_TDVF_SECTIONS },
  'tdvf-bfv-only': { label: 'veritee synthetic tdvf bfv only', sections: [SYNTHETIC_TDVF_SECTIONS[0]] },
};
const cases = [];
for (const [name, v] of Object.entries(variants)) {
  const fw = syntheticTdvf(v.label, v.sections);
  const p = join(tmp, `${name}.fd`);
  writeFileSync(p, fw);
  const r = JSON.parse(execFileSync('python3', [join(here, 'tdx_mrtd_reference.py'), p], { encoding: 'utf8' }));
  cases.push({ name, label: v.label, sections: v.sections, firmwareSha256: createHash('sha256').update(fw).digest('hex'), mrtd: r });
}
writeFileSync(
  join(outDir, 'synthetic-tdvf.json'),
  JSON.stringify({ description: 'TDX MRTD of synthetic TDVF volumes, from scripts/tdx_mrtd_reference.py (an independent Python implementation of the published algorithm; not from hardware or dstack-mr itself)', cases }, null, 1) + '\n',
);
rmSync(tmp, { recursive: true, force: true });
console.log(`${cases.length} TDX vectors`);

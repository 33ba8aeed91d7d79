#!/usr/bin/env node
// Regenerates docs/ERRORS.md from the one table of error codes
// (packages/core/src/errors.ts, compiled). `npm run build` first.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { ERROR_CODES } = await import(join(root, 'packages/core/dist/errors.js'));
const rows = Object.entries(ERROR_CODES).map(([code, i]) => `| \`${code}\` | ${i.description} | ${i.http} | ${i.exit} |`);
writeFileSync(
  join(root, 'docs/ERRORS.md'),
  `# Error codes\n\nEvery failure in veritee carries one of these stable codes (\`VeriteeError.code\`).\n` +
    `Services answer with the HTTP status; the \`veritee\` CLI exits with the exit status\n` +
    `(1 = verification failed, 2 = bad input, 3 = environment). Generated from\n` +
    `\`packages/core/src/errors.ts\` by \`node scripts/gen-errors-doc.mjs\`.\n\n` +
    `| code | meaning | HTTP | exit |\n|---|---|---|---|\n${rows.join('\n')}\n`,
);
console.log(`docs/ERRORS.md: ${rows.length} codes`);

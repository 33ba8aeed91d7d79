/**
 * @module commands/inclusion
 * `veritee inclusion root` (the tree root and
 * the bytes to put in SNP host data / TDX MRCONFIGID / report data).
 * Bundles are verified by the generic `veritee verify`.
 */
import { Command, Option } from 'commander';
import { inclusionRootToHostData, quoteInput, toHex, VeriteeError, type Component } from '@veritee/core';
import { INCLUSION_DEPTHS, inclusionTree, parseComponentsText } from '@veritee/zk';
import { readTextFile } from '../io.js';
import { homeOf, withPool } from './common.js';

const homeOption = () => new Option('--home <dir>', 'veritee home directory (default $VERITEE_HOME or ~/.veritee)');
const depthOption = () => new Option('--depth <d>', `tree depth: ${INCLUSION_DEPTHS.join(' or ')} (2^depth leaves)`).default('20');

function parseDepth(v: string): number {
  const d = /^[0-9]+$/.test(v) ? Number(v) : NaN;
  if (!(INCLUSION_DEPTHS as readonly number[]).includes(d)) throw new VeriteeError('INPUT_INVALID', `--depth must be one of ${INCLUSION_DEPTHS.join(', ')} (got ${quoteInput(v, 40)})`);
  return d;
}

function readComponents(path: string): Component[] {
  return parseComponentsText(readTextFile(path, 'component list'), `component list ${quoteInput(path, 200)}`);
}

/** Registers `inclusion root` (`prove inclusion` is the generic `prove <claim>` of commands/zk.ts). */
export function registerInclusionCommands(program: Command): void {
  const inclusion = program.command('inclusion').description('software-inclusion trees over the components of an image');
  inclusion
    .command('root')
    .description('print the component-tree root and its encodings for attestation host data')
    .requiredOption('--components <file>', 'every component of the image: JSON [{"name","sha256"}] or sha256sum output')
    .addOption(depthOption())
    .option('--json', 'machine-readable output')
    .addOption(homeOption())
    .action(async (o: { components: string; depth: string; json?: boolean; home?: string }) => {
      const depth = parseDepth(o.depth);
      const components = readComponents(o.components);
      const tree = await withPool(homeOf(o), (pool) => inclusionTree(pool, components, depth));
      const hostData = {
        snpHostData: toHex(inclusionRootToHostData(tree.root, 32)),
        tdxMrConfigId: toHex(inclusionRootToHostData(tree.root, 48)),
        reportData: toHex(inclusionRootToHostData(tree.root, 64)),
      };
      if (o.json) {
        process.stdout.write(JSON.stringify({ root: tree.rootHex, rootDecimal: tree.root.toString(), depth, components: tree.components, hostData, treeMs: tree.treeMs }, null, 2) + '\n');
        return;
      }
      process.stdout.write(
        [
          `root: ${tree.rootHex}`,
          `components: ${tree.components} in a tree of depth ${depth} (built in ${tree.treeMs} ms)`,
          `SEV-SNP HOST_DATA (32 bytes):  ${hostData.snpHostData}`,
          `TDX MRCONFIGID (48 bytes):     ${hostData.tdxMrConfigId}`,
          `report data (64 bytes):        ${hostData.reportData}`,
        ].join('\n') + '\n',
      );
    });
}

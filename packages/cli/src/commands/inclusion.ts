/**
 * @module commands/inclusion
 * `veritee prove inclusion` (prove that a component is in an image's component
 * tree, the others staying hidden) and `veritee inclusion root` (the tree root and
 * the bytes to put in SNP host data / TDX MRCONFIGID / report data).
 * Bundles are verified by the generic `veritee verify`.
 */
import { Command, Option } from 'commander';
import { inclusionRootToHostData, parseInclusionRoot, quoteInput, toHex, VeriteeError, type Component } from '@veritee/core';
import { devSetup, INCLUSION_CLAIM, INCLUSION_DEPTHS, inclusionTree, parseComponentsText, proveInclusion, type ProverPool } from '@veritee/zk';
import { assertWritable, readTextFile, warnLoudly, writeJsonFile } from '../io.js';
import { summarizeClaim } from '../format.js';
import { homeOf, progressPrinter, withPool } from './common.js';

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

async function ensureInclusionKeys(pool: ProverPool, depth: number): Promise<void> {
  let announced = false;
  await devSetup(pool, INCLUSION_CLAIM, 2 ** depth, {
    onProgress: (e) => {
      if (e.stage === 'cached') return;
      if (!announced) {
        warnLoudly([`No keys for ${INCLUSION_CLAIM}/${2 ** depth}: running a DEV trusted setup.`, 'Dev keys can be forged by whoever made them; verifiers refuse them', 'unless given --allow-dev-setup.']);
        announced = true;
      }
      progressPrinter('setup')(e);
    },
  });
}

/** Registers `prove inclusion` (under the existing `prove` command) and `inclusion root`. */
export function registerInclusionCommands(program: Command): void {
  const prove = program.commands.find((c) => c.name() === 'prove') ?? program.command('prove').description('prove a claim about private data');
  prove
    .command('inclusion')
    .description("prove that a component is in an image's component tree without revealing the other components")
    .requiredOption('--components <file>', 'every component of the image: JSON [{"name","sha256"}] or sha256sum output')
    .requiredOption('--component <name>', 'name of the component to prove (as listed)')
    .requiredOption('--out <file>', 'where to write the proof bundle')
    .option('--sha256 <hex>', 'the digest the component must have (default: the one listed)')
    .option('--root <hex>', 'refuse unless the tree has this root (e.g. the host data of the evidence)')
    .addOption(depthOption())
    .option('--no-setup', 'fail instead of running a dev setup when keys are missing')
    .addOption(homeOption())
    .action(async (o: { components: string; component: string; out: string; sha256?: string; root?: string; depth: string; setup: boolean; home?: string }) => {
      assertWritable(o.out);
      const depth = parseDepth(o.depth);
      const components = readComponents(o.components);
      const listed = components.find((c) => c.name === o.component);
      if (!listed && o.sha256 === undefined) {
        throw new VeriteeError('INCLUSION_COMPONENT_NOT_FOUND', `component ${quoteInput(o.component)} is not in ${quoteInput(o.components, 200)} (${components.length} components)`);
      }
      const component: Component = { name: o.component, sha256: o.sha256 ?? listed!.sha256 };
      const expectedRoot = o.root === undefined ? undefined : parseInclusionRoot(o.root, '--root');
      const result = await withPool(homeOf(o), async (pool) => {
        if (o.setup) await ensureInclusionKeys(pool, depth);
        process.stderr.write(`proving 1 of ${components.length} components in a tree of depth ${depth}…\n`);
        return proveInclusion(pool, { components, component, depth, ...(expectedRoot !== undefined ? { expectedRoot } : {}) });
      });
      writeJsonFile(o.out, result.bundle);
      for (const l of summarizeClaim(result.bundle)) process.stdout.write(l + '\n');
      const t = result.timings;
      process.stdout.write(`proof written to ${o.out} (tree ${t.treeMs} ms, prove ${t.proveMs} ms, total ${t.totalMs} ms)\n`);
    });

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

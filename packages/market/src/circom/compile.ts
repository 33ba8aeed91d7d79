/**
 * @module circom/compile
 * Compiles a circom 2 circuit with the `circom2` package (the circom compiler built
 * to WebAssembly, run by Node's WASI; no native binary) into its R1CS, its witness
 * generator (wasm) and its symbol table, cached by content hash.
 *
 * The compiler runs in a child Node process (the source in a temporary
 * directory), so its `process.exit` cannot end the caller
 * and a runaway compile can be killed after `timeoutMs`. A compile error is
 * CIRCOM_COMPILE_FAILED with the compiler's first error and where it is
 * (`factor.circom:12:5: error[P1008]: Missing semicolon`).
 *
 * The cache key covers the compiler version, the options, the main source and
 * every file it includes (found by following `include "…";` from the source's
 * directory and the include directories), so editing an included template
 * recompiles.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, parse, resolve } from 'node:path';
import { quoteInput, VeriteeError } from '@veritee/core';
import { commitEntry, defaultCircomCacheDir, sha256File, sha256Text, stagingDir } from './cache.js';

/** Largest circom source file read (main or included). */
export const CIRCOM_SOURCE_MAX_BYTES = 1024 * 1024;
/** Most files a circuit may include, transitively. */
export const CIRCOM_MAX_INCLUDES = 256;

export interface CompileCircomOptions {
  /** Circuit name (file names, the key's `circuit.name`); default: the file's base name, or "circuit". */
  name?: string;
  /** Directories searched for `include` (circom's `-l`). */
  includeDirs?: string[];
  /** Cache directory (default ~/.cache/veritee/circom or $VERITEE_CIRCOM_CACHE). */
  cacheDir?: string;
  /** Kill the compiler after this long (default 300 s). */
  timeoutMs?: number;
}

/** A compiled circuit: paths into the cache, and what the compiler said about it. */
export interface CircomArtifacts {
  name: string;
  /** The cache entry (content hash of compiler, options and sources). */
  key: string;
  dir: string;
  r1cs: string;
  wasm: string;
  sym: string;
  r1csSha256: string;
  wasmSha256: string;
  /** e.g. "circom compiler 2.2.3 (circom2 0.2.23)". */
  compiler: string;
  constraints: number;
  /** Public inputs plus public outputs: the length of the public signals. */
  publicSignals: number;
  privateInputs: number;
  /** True when this call found the entry in the cache. */
  cached: boolean;
}

interface Meta {
  name: string;
  compiler: string;
  r1csSha256: string;
  wasmSha256: string;
  symSha256: string;
  constraints: number;
  publicSignals: number;
  privateInputs: number;
}

const require = createRequire(import.meta.url);

function circom2Paths(): { cli: string; version: string } {
  try {
    const pkg = require.resolve('circom2/package.json');
    const version = (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
    return { cli: join(dirname(pkg), 'cli.js'), version };
  } catch {
    throw new VeriteeError('CIRCOM_TOOL_FAILED', 'the circom compiler is not installed: `npm install circom2@0.2.23` in @veritee/market');
  }
}

const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

function readSource(file: string, what: string): string {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new VeriteeError('INPUT_FILE_UNREADABLE', `${what} ${quoteInput(file, 200)} cannot be read`);
  }
  if (size > CIRCOM_SOURCE_MAX_BYTES) throw new VeriteeError('INPUT_TOO_LARGE', `${what} ${quoteInput(file, 200)} has ${size} bytes, more than ${CIRCOM_SOURCE_MAX_BYTES}`);
  return readFileSync(file, 'utf8');
}

const INCLUDE_RE = /^\s*include\s+"([^"\n]{1,500})"\s*;/gm;

/** Every file the source includes, transitively, as [name as written, absolute path or undefined]. */
function includedFiles(source: string, fromDir: string | undefined, includeDirs: string[]): [string, string | undefined][] {
  const out: [string, string | undefined][] = [];
  const seen = new Set<string>();
  const visit = (text: string, dir: string | undefined) => {
    for (const m of text.matchAll(INCLUDE_RE)) {
      const name = m[1]!;
      const candidates = [...(dir ? [resolve(dir, name)] : []), ...includeDirs.map((d) => resolve(d, name))];
      const found = isAbsolute(name) ? (existsSync(name) ? name : undefined) : candidates.find((c) => existsSync(c));
      const id = found ?? `missing:${name}`;
      if (seen.has(id)) continue;
      seen.add(id);
      if (seen.size > CIRCOM_MAX_INCLUDES) throw new VeriteeError('CIRCOM_COMPILE_FAILED', `the circuit includes more than ${CIRCOM_MAX_INCLUDES} files`);
      out.push([name, found]);
      if (found) visit(readSource(found, 'included file'), dirname(found));
    }
  };
  visit(source, fromDir);
  return out;
}

function run(cli: string, args: string[], cwd: string, timeoutMs: number): Promise<{ code: number | null; out: string; timedOut: boolean }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const take = (b: Buffer) => {
      if (out.length < 64 * 1024) out += b.toString('utf8');
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      rej(new VeriteeError('CIRCOM_TOOL_FAILED', `cannot run the circom compiler: ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code, out: stripAnsi(out), timedOut });
    });
  });
}

let versionLine: Promise<string> | undefined;

/** "circom compiler 2.2.3", asked of the compiler once per process. */
function compilerVersion(cli: string, cwd: string): Promise<string> {
  versionLine ??= run(cli, ['--version'], cwd, 60_000).then((r) => /circom compiler [0-9.]+/.exec(r.out)?.[0] ?? 'circom compiler');
  return versionLine;
}

/**
 * The compiler's first error as "file:line:col: error[CODE]: message", from its
 * output (colours stripped), or the first lines when it printed no located error.
 */
export function describeCompileError(output: string): string {
  const lines = output.split('\n');
  const i = lines.findIndex((l) => /^\s*error(\[[A-Za-z0-9]+\])?:/.test(l));
  if (i >= 0) {
    const head = lines[i]!.trim();
    for (const l of lines.slice(i + 1, i + 6)) {
      const at = /"([^"]+)":(\d+):(\d+)/.exec(l);
      if (at) return `${basename(at[1]!)}:${at[2]}:${at[3]}: ${head}`;
    }
    return head;
  }
  const text = lines.map((l) => l.trim()).filter(Boolean).slice(0, 3).join(' / ');
  return text.slice(0, 400) || 'the compiler failed without a message';
}

/**
 * Compiles circom source text or a file (`{ file }`). Returns the artifacts, from
 * the cache when the same compiler already compiled the same sources.
 */
export async function compileCircom(input: string | { file: string }, opts: CompileCircomOptions = {}): Promise<CircomArtifacts> {
  const { cli, version } = circom2Paths();
  const includeDirs = (opts.includeDirs ?? []).map((d) => resolve(d));
  const isFile = typeof input !== 'string';
  const mainFile = isFile ? resolve(input.file) : undefined;
  if (!isFile && input.length > CIRCOM_SOURCE_MAX_BYTES) throw new VeriteeError('INPUT_TOO_LARGE', `circom source has ${input.length} characters, more than ${CIRCOM_SOURCE_MAX_BYTES}`);
  const source = isFile ? readSource(mainFile!, 'circom source') : input;
  const name = opts.name ?? (mainFile ? basename(mainFile).replace(/\.circom$/, '') : 'circuit');
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) throw new VeriteeError('INPUT_INVALID', `circuit name ${quoteInput(name, 64)}: expected letters, digits, _ . - (at most 64)`);

  const includes = includedFiles(source, mainFile ? dirname(mainFile) : undefined, includeDirs);
  const key = sha256Text(
    'veritee.circom-compile/v1',
    `circom2@${version}`,
    '--r1cs --wasm --sym --O1 --prime bn128',
    name,
    source,
    ...includes.flatMap(([n, f]) => [n, f ? readFileSync(f) : 'missing']),
  );
  const cacheDir = opts.cacheDir ?? defaultCircomCacheDir();
  const dir = join(cacheDir, 'compiled', key);
  const found = readEntry(dir, key);
  if (found) return { ...found, cached: true };

  const work = mkdtempSync(join(tmpdir(), 'veritee-circom-'));
  try {
    const src = join(work, `${name}.circom`);
    writeFileSync(src, source);
    // Includes resolve against the original file's directory first, as circom does for a file.
    const dirs = [...(mainFile ? [dirname(mainFile)] : []), ...includeDirs];
    const args = [src, '--r1cs', '--wasm', '--sym', '--O1', '--prime', 'bn128', '-o', join(work, 'out'), ...dirs.flatMap((d) => ['-l', d])];
    mkdirSync(join(work, 'out'));
    // circom2 gives the WASI compiler the working directory and its parents as
    // preopened directories and cannot reach above them: run it from the root so
    // include directories anywhere on the disk resolve.
    const r = await run(cli, args, parse(work).root, opts.timeoutMs ?? 300_000);
    if (r.timedOut) throw new VeriteeError('CIRCOM_TOOL_FAILED', `the circom compiler did not finish within ${Math.round((opts.timeoutMs ?? 300_000) / 1000)} s`);
    if (r.code !== 0 || !/Everything went okay/.test(r.out)) {
      const where = describeCompileError(r.out).replaceAll(`${name}.circom`, mainFile ? basename(mainFile) : `${name}.circom`);
      throw new VeriteeError('CIRCOM_COMPILE_FAILED', `circom: ${where}`);
    }
    const num = (label: string) => Number(new RegExp(`^${label}: (\\d+)`, 'm').exec(r.out)?.[1] ?? NaN);
    const constraints = num('non-linear constraints') + num('linear constraints');
    const publicSignals = num('public inputs') + num('public outputs');
    const privateInputs = num('private inputs');
    if (![constraints, publicSignals, privateInputs].every(Number.isInteger)) throw new VeriteeError('CIRCOM_TOOL_FAILED', 'the circom compiler did not report the circuit size');

    const staging = stagingDir(dir);
    copyFileSync(join(work, 'out', `${name}.r1cs`), join(staging, 'circuit.r1cs'));
    copyFileSync(join(work, 'out', `${name}_js`, `${name}.wasm`), join(staging, 'circuit.wasm'));
    copyFileSync(join(work, 'out', `${name}.sym`), join(staging, 'circuit.sym'));
    const compiler = `${await compilerVersion(cli, work)} (circom2 ${version})`;
    const meta: Meta = {
      name,
      compiler,
      r1csSha256: sha256File(join(staging, 'circuit.r1cs')),
      wasmSha256: sha256File(join(staging, 'circuit.wasm')),
      symSha256: sha256File(join(staging, 'circuit.sym')),
      constraints,
      publicSignals,
      privateInputs,
    };
    writeFileSync(join(staging, 'meta.json'), JSON.stringify(meta, null, 2));
    commitEntry(staging, dir);
    const entry = readEntry(dir, key);
    if (!entry) throw new VeriteeError('CIRCOM_TOOL_FAILED', `the compiled circuit could not be stored in ${dir}`);
    return { ...entry, cached: false };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A cache entry whose files still hash to what its meta.json says, or undefined (a damaged entry is dropped). */
function readEntry(dir: string, key: string): Omit<CircomArtifacts, 'cached'> | undefined {
  const metaFile = join(dir, 'meta.json');
  if (!existsSync(metaFile)) return undefined;
  try {
    const m = JSON.parse(readFileSync(metaFile, 'utf8')) as Meta;
    const r1cs = join(dir, 'circuit.r1cs');
    const wasm = join(dir, 'circuit.wasm');
    const sym = join(dir, 'circuit.sym');
    if (sha256File(r1cs) !== m.r1csSha256 || sha256File(wasm) !== m.wasmSha256 || sha256File(sym) !== m.symSha256) throw new Error('altered');
    return { name: m.name, key, dir, r1cs, wasm, sym, r1csSha256: m.r1csSha256, wasmSha256: m.wasmSha256, compiler: m.compiler, constraints: m.constraints, publicSignals: m.publicSignals, privateInputs: m.privateInputs };
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
}

/**
 * @module kafka-broker
 * TEST SUPPORT: a real Apache Kafka broker in KRaft mode (broker and controller in one
 * JVM) for the streams tests and the bench. Its jars come from Maven Central by
 * `mvn dependency:copy-dependencies` over packages/streams/kafka/pom.xml (kafka_2.13 and
 * its dependencies), cached in ~/.cache/veritee/kafka/<version>/libs (or
 * $VERITEE_KAFKA_HOME/<version>/libs), fetched when missing (a minute, once, never
 * skipped). Each broker formats its storage in a temporary directory, listens on two free
 * loopback ports with a 512 MB heap, and is stopped (and its directory removed) by stop().
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VeriteeError } from '@veritee/core';

export const KAFKA_VERSION = '4.1.1';

export function kafkaLibDir(version = KAFKA_VERSION): string {
  return join(process.env.VERITEE_KAFKA_HOME ?? join(homedir(), '.cache', 'veritee', 'kafka'), version, 'libs');
}

function pomPath(): string {
  const p = join(dirname(fileURLToPath(import.meta.url)), '..', 'kafka', 'pom.xml');
  if (!existsSync(p)) throw new VeriteeError('STREAM_BROKER_UNAVAILABLE', 'packages/streams/kafka/pom.xml not found beside the streams package');
  return p;
}

/** The broker's class path (libs/*), fetching the jars with Maven first when the cache lacks them. */
export function ensureKafkaJars(): string {
  const libs = kafkaLibDir();
  if (existsSync(libs) && readdirSync(libs).some((f) => f.startsWith('kafka_2.13-'))) return libs;
  if (spawnSync('java', ['-version'], { stdio: 'ignore' }).status !== 0) throw new VeriteeError('STREAM_BROKER_UNAVAILABLE', 'java (17 or later) is needed to run the Kafka broker');
  mkdirSync(dirname(libs), { recursive: true });
  const tmp = `${libs}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const r = spawnSync('mvn', ['-B', '-q', '-f', pomPath(), `-Dkafka.version=${KAFKA_VERSION}`, 'dependency:copy-dependencies', `-DoutputDirectory=${tmp}`, '-DincludeScope=runtime'], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 20 * 60_000 });
  if (r.status !== 0 || !existsSync(join(tmp, `kafka_2.13-${KAFKA_VERSION}.jar`))) throw new VeriteeError('STREAM_BROKER_UNAVAILABLE', `fetching the Kafka ${KAFKA_VERSION} jars with Maven failed (exit ${String(r.status)})`);
  try {
    renameSync(tmp, libs);
  } catch (e) {
    // another process fetched them at the same time
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(join(libs, `kafka_2.13-${KAFKA_VERSION}.jar`))) throw e;
  }
  return libs;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const c = createConnection({ host: '127.0.0.1', port });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });

export interface RunningKafka {
  /** host:port of the broker's listener. */
  bootstrap: string;
  dir: string;
  stop(): Promise<void>;
}

/** Starts a throw-away single-node KRaft broker on loopback. */
export async function startKafka(o: { heapMb?: number; timeoutMs?: number } = {}): Promise<RunningKafka> {
  const libs = ensureKafkaJars();
  const cp = `${libs}/*`;
  const dir = mkdtempSync(join(tmpdir(), 'veritee-kafka-'));
  const [port, ctl] = [await freePort(), await freePort()];
  const props = join(dir, 'server.properties');
  writeFileSync(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${ctl}`,
      `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${ctl}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${join(dir, 'data')}`,
      'num.partitions=1',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=false',
      '',
    ].join('\n'),
  );
  const jvm = [`-Xmx${o.heapMb ?? 512}m`, `-Xms${o.heapMb ?? 512}m`, '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true', '-cp', cp];
  const fmt = spawnSync('java', [...jvm.slice(0, 1), '-cp', cp, 'kafka.tools.StorageTool', 'format', '-t', 'veritee-streams-test0', '-c', props], { encoding: 'utf8', timeout: 120_000 });
  if (fmt.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new VeriteeError('STREAM_BROKER_UNAVAILABLE', `formatting the KRaft storage failed: ${(fmt.stdout + fmt.stderr).slice(-600)}`);
  }
  let log = '';
  const proc = spawn('java', [...jvm, 'kafka.Kafka', props], { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (b: Buffer) => {
    log = (log + b.toString()).slice(-20_000);
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        proc.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        proc.kill('SIGTERM');
      });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const end = Date.now() + (o.timeoutMs ?? 180_000);
  while (!(await portOpen(port))) {
    if (proc.exitCode !== null || proc.signalCode !== null || Date.now() > end) {
      await stop();
      throw new VeriteeError('STREAM_BROKER_UNAVAILABLE', `the Kafka broker did not start: ${log.slice(-800)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { bootstrap: `127.0.0.1:${port}`, dir, stop };
}

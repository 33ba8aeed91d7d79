/**
 * @module sink
 * Where proven records go. {@link FileResultSink}: JSON Lines, each record appended
 * and fsynced before `send` resolves; records already in the file (by id) are not
 * written again, so a restart that proves a window again leaves one line. The Kafka
 * sink is in kafka.ts.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { VeriteeError } from '@veritee/core';
import type { ResultSink } from './kafka.js';

/** A results file is at most this large. */
export const MAX_RESULTS_FILE_BYTES = 1024 * 1024 * 1024;

export class FileResultSink implements ResultSink {
  readonly kind = 'file';
  private readonly ids = new Set<string>();
  private readonly fd: number;
  /** Records not written because the file had them already. */
  duplicates = 0;

  constructor(readonly path: string) {
    if (existsSync(path)) {
      if (statSync(path).size > MAX_RESULTS_FILE_BYTES) throw new VeriteeError('INPUT_TOO_LARGE', `the results file is over ${MAX_RESULTS_FILE_BYTES} bytes`);
      const text = readFileSync(path, 'utf8');
      const lines = text.split('\n');
      // a line cut by a crash (no newline yet) is dropped: it was never acknowledged
      if (!text.endsWith('\n') && lines.length > 0) lines.pop();
      for (const line of lines) {
        if (line.trim() === '') continue;
        try {
          const id = (JSON.parse(line) as { id?: unknown }).id;
          if (typeof id === 'string') this.ids.add(id);
        } catch {
          throw new VeriteeError('STREAM_STATE_INVALID', 'the results file holds a line that is not JSON');
        }
      }
      if (!text.endsWith('\n') && text.length > 0) {
        // rewrite without the torn tail
        const keep = text.slice(0, text.lastIndexOf('\n') + 1);
        const fd = openSync(path, 'w', 0o644);
        writeSync(fd, keep);
        fsyncSync(fd);
        closeSync(fd);
      }
    }
    this.fd = openSync(path, 'a', 0o644);
  }

  async send(record: { id: string }): Promise<void> {
    if (this.ids.has(record.id)) {
      this.duplicates++;
      return;
    }
    writeSync(this.fd, JSON.stringify(record) + '\n');
    fsyncSync(this.fd);
    this.ids.add(record.id);
  }

  async close(): Promise<void> {
    closeSync(this.fd);
  }
}

/** Collects records in memory (tests, the bench). */
export class MemorySink implements ResultSink {
  readonly kind = 'memory';
  readonly records: { id: string }[] = [];
  async send(record: { id: string }): Promise<void> {
    if (!this.records.some((r) => r.id === record.id)) this.records.push(record);
  }
  async close(): Promise<void> {}
}

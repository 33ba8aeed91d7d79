/**
 * @module rotation
 * Scheduled rotation of transit keys (`auto_rotate_period`): a scheduler asks the database
 * every `intervalMs` (default 60 s) which keys are due at the clock's time and rotates
 * them, whether or not anyone uses the key. Every instance may run one: each rotation
 * re-checks the key under `SELECT … FOR UPDATE`, so a period rotates a key once however
 * many instances tick. Each rotation is appended to the audit log.
 *
 * Time is an explicit input: `tick(at?)` rotates what is due at `at` (default: the
 * KMS clock), which is what the tests drive; `start()` only adds a timer calling `tick()`.
 */
import type { Kms } from './kms.js';

export interface RotationScheduler {
  /** Rotates every key due at `at` (default the KMS clock); returns what was rotated. */
  tick(at?: number): Promise<Array<{ tenant: string; name: string; version: number }>>;
  /** Starts the timer (idempotent). */
  start(): void;
  /** Stops the timer and waits for a running tick. */
  stop(): Promise<void>;
  /** Ticks that failed (the error code), most recent last; at most 100 kept. */
  readonly errors: string[];
}

export function transitRotationScheduler(kms: Kms, opts: { intervalMs?: number } = {}): RotationScheduler {
  const intervalMs = opts.intervalMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  const errors: string[] = [];

  const tick = async (at?: number) => {
    const rotated = await kms.transit.rotateDue(at ?? kms.now);
    for (const r of rotated) {
      await kms.audit.append({ tenant: r.tenant, actor: 'system', action: 'transit.auto-rotate', decision: 'ok', resource: `${r.tenant}/transit/${r.name}`, reason: `auto_rotate_period elapsed: now version ${r.version}` });
    }
    return rotated;
  };
  return {
    tick,
    start() {
      if (timer) return;
      timer = setInterval(() => {
        running = tick().catch((e: unknown) => {
          errors.push((e as { code?: string }).code ?? 'INTERNAL');
          if (errors.length > 100) errors.shift();
        });
      }, intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
    errors,
  };
}

/**
 * @module plane/workload
 * Workloads and their scaling policies, validated at registration.
 *
 * A workload has replica bounds (min ≤ replicas ≤ max), an orchestrator target (a local
 * process pool: N copies of a command; or a Kubernetes Deployment), and rules over one
 * metric each (memory, cpu, disk, volume, gpu):
 *
 *   scale out by `step`  when the metric is ABOVE `scaleOutAbove` (strict, like the claims)
 *   scale in  by `stepIn` when the metric is AT OR BELOW `scaleInBelow`
 *
 * thresholds in basis points of capacity (memory, cpu, disk, gpu) or requests per minute
 * (volume). A decision needs the condition on every report of the last `windowMs` (an
 * evaluation window, like Kubernetes' stabilisation window) and none within the cool-down
 * since the workload was last scaled.
 *
 * INVARIANT (refused at registration, CP_WORKLOAD_INVALID): a policy can never move the
 * workload outside [min, max]: replicas within bounds, steps no larger than max − min, a
 * scale-in threshold strictly below the scale-out one, and no rule at all when min = max.
 */
import { z } from 'zod';
import { VeriteeError } from '@veritee/core';

export const METRICS = ['memory', 'cpu', 'disk', 'volume', 'gpu'] as const;
export type Metric = (typeof METRICS)[number];

/** The claim that proves a decision on each metric (gpu has none: its decisions are flagged unprovable). */
export const CLAIM_OF: Readonly<Record<Metric, string | undefined>> = { memory: 'memory', cpu: 'cpu', disk: 'disk', volume: 'volume', gpu: undefined };

export const MAX_REPLICAS_LIMIT = 10_000;
const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

const int = (min: number, max: number) => z.number().int().min(min).max(max);

export const RuleSchema = z.strictObject({
  metric: z.enum(METRICS),
  scaleOutAbove: int(0, 2 ** 32 - 1),
  scaleInBelow: int(0, 2 ** 32 - 1).optional(),
  step: int(1, MAX_REPLICAS_LIMIT).default(1),
  stepIn: int(1, MAX_REPLICAS_LIMIT).default(1),
});

export const OrchestratorTargetSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('process'),
    /** argv of one copy (no shell). */
    command: z.array(z.string().min(1).max(4096)).min(1).max(256),
  }),
  z.strictObject({
    kind: z.literal('kubernetes'),
    namespace: z.string().regex(NAME),
    deployment: z.string().regex(NAME),
  }),
]);

export const WorkloadSpecSchema = z.strictObject({
  name: z.string().regex(NAME, 'a DNS label: lower-case letters, digits and dashes, at most 63'),
  minReplicas: int(0, MAX_REPLICAS_LIMIT),
  maxReplicas: int(1, MAX_REPLICAS_LIMIT),
  replicas: int(0, MAX_REPLICAS_LIMIT).optional(),
  target: OrchestratorTargetSchema,
  rules: z.array(RuleSchema).min(1).max(16),
  cooldown: z.strictObject({ outMs: int(0, 86_400_000).default(60_000), inMs: int(0, 86_400_000).default(300_000) }).default({ outMs: 60_000, inMs: 300_000 }),
  windowMs: int(0, 86_400_000).default(0),
  proofDeadlineMs: int(1000, 86_400_000).default(600_000),
});

export type WorkloadSpecInput = z.input<typeof WorkloadSpecSchema>;
export type WorkloadSpec = z.output<typeof WorkloadSpecSchema> & { replicas: number };
export type Rule = z.output<typeof RuleSchema>;

/** Parses and validates a workload; every problem is CP_WORKLOAD_INVALID naming the field. */
export function parseWorkloadSpec(input: unknown): WorkloadSpec {
  const r = WorkloadSpecSchema.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new VeriteeError('CP_WORKLOAD_INVALID', `workload ${i.path.join('.') || '(document)'}: ${i.message}`);
  }
  const w = r.data;
  const bad = (m: string): never => {
    throw new VeriteeError('CP_WORKLOAD_INVALID', `workload ${w.name}: ${m}`);
  };
  if (w.maxReplicas < w.minReplicas) bad(`maxReplicas ${w.maxReplicas} is below minReplicas ${w.minReplicas}`);
  const replicas = w.replicas ?? w.minReplicas;
  if (replicas < w.minReplicas || replicas > w.maxReplicas) bad(`replicas ${replicas} is outside [${w.minReplicas}, ${w.maxReplicas}]`);
  const span = w.maxReplicas - w.minReplicas;
  if (span === 0) bad(`minReplicas = maxReplicas = ${w.minReplicas}: every scaling rule would scale outside the bounds`);
  const seen = new Set<string>();
  w.rules.forEach((rule, i) => {
    const at = `rules[${i}] (${rule.metric})`;
    if (seen.has(rule.metric)) bad(`${at}: a second rule for the same metric`);
    seen.add(rule.metric);
    if (rule.metric !== 'volume' && rule.scaleOutAbove > 10_000) bad(`${at}: scaleOutAbove ${rule.scaleOutAbove} bp is above 10000 (100 %)`);
    if (rule.scaleInBelow !== undefined && rule.scaleInBelow >= rule.scaleOutAbove) bad(`${at}: scaleInBelow ${rule.scaleInBelow} must be below scaleOutAbove ${rule.scaleOutAbove}`);
    if (rule.step > span) bad(`${at}: step ${rule.step} would scale above maxReplicas ${w.maxReplicas} from minReplicas ${w.minReplicas}`);
    if (rule.stepIn > span) bad(`${at}: stepIn ${rule.stepIn} would scale below minReplicas ${w.minReplicas} from maxReplicas ${w.maxReplicas}`);
    if (rule.metric === 'volume' && rule.scaleOutAbove === 0 && rule.scaleInBelow === undefined) bad(`${at}: a volume threshold of 0 requests per minute always scales out`);
  });
  return { ...w, replicas };
}

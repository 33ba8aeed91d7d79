/**
 * @module @veritee/control-plane
 * Telemetry measured inside the TEE for the autoscaling claims: per-process RSS
 * and CPU, swap and page faults (/proc), usage and inodes per mount (statfs),
 * I/O queue depth (/proc/diskstats), with processes classified as platform or
 * customer by a configurable rule list.
 *
 * @example
 * import { collectTelemetry } from '@veritee/control-plane';
 * const window = await collectTelemetry({ samples: 60, intervalMs: 1000, maxProcesses: 256 });
 */
export { collectTelemetry, COLLECT_LIMITS, type CollectOptions } from './telemetry/sampler.js';
export {
  TelemetryWindowSchema,
  TelemetrySampleSchema,
  ProcessSampleSchema,
  MountTelemetrySchema,
  TelemetryErrorSchema,
  parseTelemetryWindow,
  limitProcesses,
  type TelemetryWindow,
  type TelemetrySample,
  type ProcessSample,
  type MountTelemetry,
  type TelemetryError,
} from './telemetry/window.js';
export {
  classifyProcess,
  compileClassificationRules,
  parseClassificationRules,
  defaultClassificationRules,
  globToRegExp,
  DEFAULT_CLASSIFICATION_RULES,
  ClassificationRulesSchema,
  ClassificationRuleSchema,
  OwnerSchema,
  type Owner,
  type ClassificationRule,
  type ClassificationRules,
  type CompiledRules,
  type Classification,
  type ProcessIdentity,
} from './telemetry/classify.js';
export {
  parseProcStat,
  parseProcPidStat,
  parseProcPidStatus,
  parseProcPidCgroup,
  parseMeminfo,
  parseVmstat,
  type ProcStat,
  type ProcPidStat,
  type ProcPidStatus,
  type CgroupEntry,
  type CpuTimes,
  type Meminfo,
  type Vmstat,
} from './telemetry/proc.js';
export {
  parseMountinfo,
  parseDiskstats,
  selectMounts,
  isPseudoFs,
  usageFromStatfs,
  averageQueueDepth,
  unescapeMountField,
  PSEUDO_FS_TYPES,
  type MountinfoEntry,
  type DiskstatsEntry,
  type MountUsage,
} from './telemetry/disks.js';
export { linuxSource, type TelemetrySource, type StatfsResult } from './telemetry/source.js';
export { summarizeTelemetry, formatBytes } from './telemetry/summary.js';
export { memoryClaimInput, type MemoryClaimInput } from './autoscaling/memory.js';

// ---- the autoscaling control plane -------------------------------------------
export { parseWorkloadSpec, WorkloadSpecSchema, RuleSchema, OrchestratorTargetSchema, METRICS, CLAIM_OF, MAX_REPLICAS_LIMIT, type Metric, type Rule, type WorkloadSpec, type WorkloadSpecInput } from './plane/workload.js';
export { parseTelemetryReport, measure, TelemetryReportSchema, GpuReportSchema, type TelemetryReport, type GpuReport, type Measurement, type ClaimInput } from './plane/report.js';
export { openEmbeddedLog, openPostgresLog, type CpDb, type Querier } from './plane/db.js';
export { DecisionLog, type Decision, type DecisionClaim, type EnactState, type ProofState, type SignedCommand, type WorkloadRecord } from './plane/log.js';
export { InProcessQueue, proverWorker, checkDecisionBundle, backoffMs, isPermanent, DEFAULT_RETRY, type ProofQueue, type ProofJob, type ProofResult, type ProveFn, type RetryPolicy } from './plane/queue.js';
export { ProcessPoolOrchestrator, type Orchestrator } from './plane/orchestrator.js';
export { signCommand, verifyCommand, telemetryMessage, verifyTelemetrySignature, keyIdOf, COMMAND_DOMAIN, TELEMETRY_DOMAIN, type CommandPayload, type Signer } from './plane/command.js';
export { ControlPlane, type ControlPlaneOptions, type IngestResult } from './plane/plane.js';
export { buildControlPlaneServer, type ControlPlaneServerOptions } from './plane/server.js';
export { listenAgentsMtls, mtlsCall, pemSigner, type MtlsIdentity } from './plane/mtls.js';
export { ControlPlaneAgent, readRequestCounters, type AgentOptions, type SendResult, type RequestsPart } from './plane/agent.js';
export { collectGpu, parseNvidiaSmi } from './plane/gpu.js';
export { Metrics, quantile } from './plane/metrics.js';
export { JetStreamQueue, runJetStreamWorker, ensureTopology, JOBS_STREAM, JOBS_SUBJECT, RESULTS_STREAM, RESULTS_SUBJECT, DEAD_STREAM, DEAD_SUBJECT, WORKER_CONSUMER, type JetStreamOptions, type JetStreamWorker } from './plane/jetstream.js';
export { KubernetesOrchestrator } from './plane/kubernetes.js';
export { ensureEngine, startNats, startKubernetes, freePort, engineBinDir, waitFor, stopProcess, type RunningEngine, type RunningKubernetes } from './plane/engines.js';

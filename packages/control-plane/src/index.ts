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

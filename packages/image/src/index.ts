/**
 * @module @veritee/image
 * Measured VM images: predict the SEV-SNP launch measurement of an OVMF guest
 * (and explain it page range by page range), build an image's component
 * manifest and the attestation policy for it, and enforce the manifest inside
 * the guest against the HOST_DATA / MRCONFIGID the platform attests.
 */
export * from './firmware.js';
export { guidFromBytes } from './guid.js';
export { readBoundedFile, MAX_IMAGE_INPUT_BYTES } from './io.js';
export { measureSnp, sha256Hex, MAX_VCPUS, type SnpMeasureInput, type SnpMeasurement, type TranscriptStep } from './snp/measure.js';
export { LaunchDigest, PAGE_TYPES, VMSA_GPA } from './snp/gctx.js';
export { bootHashes, hashesTable, hashesPage, type BootHashes } from './snp/hashes.js';
export { buildVmsa, BSP_EIP } from './snp/vmsa.js';
export { cpuSignature, vcpuSignature, parseVmm, VCPU_TYPES, VMM_TYPES, type VmmType } from './snp/vcpu.js';
export * from './manifest.js';
export * from './policy.js';
export { enforceImage, type EnforceOptions, type EnforceResult } from './enforce.js';
export {
  requestTsmReport,
  parseSnpCertTable,
  tsmReportToEnvelope,
  nodeTsmFs,
  CONFIGFS_TSM_REPORT,
  SNP_CERT_GUIDS,
  type TsmFs,
  type TsmReport,
  type ConfigfsTsmOptions,
} from './evidence/configfs-tsm.js';
export { measureTdx, parseTdvfSections, TDVF_SECTION_TYPES, type TdxMeasurement, type TdvfSection, type PageAddOrder } from './tdx/mrtd.js';
export { buildImage, ensureTools, IMAGE_MODULES, IMAGE_SCOPE, PRODUCTION_REMOVED, type ImageArtifacts, type ImageBuildOptions, type ImageDigests, type ImageMode } from './build/image-build.js';
export { bootImage, type BootOptions, type BootResult } from './build/boot.js';
export {
  predictTdxRtmrs,
  patchKernelSetupHeader,
  authenticodeSha384,
  efiVariableDigest,
  tdHob,
  measuredCmdline,
  TDX_HIGH_MEMORY_THRESHOLD,
  QEMU_ACPI_DATA_SIZE,
  OVMF_BOOT0000_DIGEST_PRE_202505,
  OVMF_DXEFV_GUID,
  OVMF_UIAPP_FILE_GUID,
  fvAppLoadOption,
  type TdxRtmrInput,
  type TdxRtmrPrediction,
  type TdxAcpiTables,
  type RtmrEvent,
} from './tdx/rtmr.js';
export { parseTdxEventLog, compareTdxEventLog, type TdxEventLog, type TdxLogEvent } from './tdx/event-log.js';
export { deriveTamperedComponent, deriveFlippedRootByte, type ImageVariant } from './build/variants.js';

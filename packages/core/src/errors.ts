/**
 * @module errors
 * One error class for the whole platform, with a stable string code. Every code
 * lives in {@link ERROR_CODES}: a test fails if a code is thrown somewhere but not
 * listed here, or listed here but documented nowhere.
 *
 * The CLI maps {@link ErrorCodeInfo.exit} to its exit status and services map
 * {@link ErrorCodeInfo.http} to their HTTP status. Messages name the offending
 * input; they never carry secrets.
 */

export interface ErrorCodeInfo {
  /** What the code means, one line. */
  readonly description: string;
  /** HTTP status a service answers with. */
  readonly http: number;
  /** Exit status of the CLI. 1 = verification failed, 2 = bad input, 3 = environment. */
  readonly exit: number;
}

const input = (description: string): ErrorCodeInfo => ({ description, http: 400, exit: 2 });
const verify = (description: string, http = 422): ErrorCodeInfo => ({ description, http, exit: 1 });
const env = (description: string, http = 500): ErrorCodeInfo => ({ description, http, exit: 3 });

/** The table of every stable error code. Add new codes here, never inline. */
export const ERROR_CODES = {
  // ---- generic input ------------------------------------------------------
  INPUT_INVALID: input('an input does not have the expected shape'),
  INPUT_HEX_INVALID: input('a string is not valid hexadecimal'),
  INPUT_BASE64_INVALID: input('a string is not valid base64 / base64url'),
  INPUT_JSON_INVALID: input('a document is not valid JSON'),
  INPUT_FILE_UNREADABLE: input('a file could not be read'),
  INPUT_FILE_EMPTY: input('a file holds no records'),
  INPUT_TOO_LARGE: { description: 'an input exceeds its size limit', http: 413, exit: 2 },
  INPUT_TIME_INVALID: input('a time or period could not be parsed'),
  INPUT_FILE_UNWRITABLE: input('an output file could not be written (missing directory, no permission)'),
  ROUTE_NOT_FOUND: { description: 'no such HTTP route or method', http: 404, exit: 2 },
  CLI_USAGE_INVALID: input('the command line is malformed (unknown option, missing or extra argument)'),
  CLI_COMMAND_UNKNOWN: input('no such command'),

  // ---- records and claims --------------------------------------------------
  RECORD_FIELD_INVALID: input('a record field is missing or not a number'),
  RECORD_END_BEFORE_START: input('a record ends before it starts'),
  RECORD_OUTSIDE_PERIOD: input('a record starts outside the reporting period'),
  RECORD_VALUE_TOO_LARGE: input('a record offset does not fit the circuit range'),
  PERIOD_INVALID: input('the reporting period is empty, reversed or too long'),
  SLA_INVALID: input('the SLA expression could not be parsed'),
  CLAIM_TOO_MANY_RECORDS: input('more records than the largest circuit size class'),
  CLAIM_UNKNOWN: input('no such claim kind'),
  CLAIM_PARAMS_INVALID: input('a claim parameter (threshold, percentile, capacity) is outside its range'),

  // ---- software inclusion ----------------------------------------------------
  INCLUSION_COMPONENT_INVALID: input('a component name or SHA-256 digest is malformed'),
  INCLUSION_COMPONENT_DUPLICATE: input('a component name is listed twice'),
  INCLUSION_COMPONENT_NOT_FOUND: input('the component to prove is not in the component list (or is listed with another digest)'),
  INCLUSION_TREE_FULL: input('more components than the inclusion tree has leaves'),
  INCLUSION_ROOT_MISMATCH: verify('the proven component-tree root is not the one carried in the attestation evidence'),

  // ---- zero knowledge -------------------------------------------------------
  ZK_PROOF_INVALID: verify('the zero-knowledge proof does not verify'),
  ZK_PUBLIC_INPUT_MISMATCH: verify('a public output or parameter disagrees with the proof'),
  ZK_VK_MISMATCH: verify('the verification key does not match the bundle'),
  ZK_VK_INVALID: verify('the verification key is malformed'),
  ZK_DEV_SETUP_REFUSED: verify('the key comes from a dev trusted setup and allowDevSetup was not given'),
  ZK_BUNDLE_INVALID: input('the proof bundle is malformed'),
  ZK_BUNDLE_VERSION: input('the proof bundle version is not supported'),
  ZK_SETUP_MISSING: env('no keys for this circuit and size class: run `veritee zk setup`'),
  ZK_KEYS_STALE: env('the keys for this circuit and size class were made for another build of the circuit: run `veritee zk setup --force`'),
  ZK_PROVER_UNAVAILABLE: env('the Go prover binary is missing or failed to start'),
  ZK_PROVER_FAILED: env('the prover reported an error'),
  ZK_PROVER_TIMEOUT: env('a prover request timed out', 504),
  ZK_PROVER_CANCELLED: env('a prover request was cancelled', 499),
  ZK_WITNESS_INVALID: input('the witness does not satisfy the circuit'),
  ZK_BUNDLE_UNATTESTED: verify('the bundle carries no enclave signature or attestation evidence, and proof-only verification was not asked for'),
  ZK_EXPECTATION_MISMATCH: verify("the claim's public parameters (thresholds, SLA bounds, kind) are not the ones the verifier expects"),
  ZK_AUDIT_MISMATCH: verify('the bundle was not computed from exactly the records (and salt) given to the audit'),
  ZK_STATEMENT_SIGNATURE_INVALID: verify('the enclave signature over the claim statement does not verify'),
  ZK_BUNDLE_TIME_INVALID: verify("the bundle's creation time is after the verification time or before the end of the period it reports on"),

  // ---- trusted-setup ceremonies (@veritee/ceremony, prover/internal/ceremony) --
  CEREMONY_INVALID: verify('a ceremony contribution or transcript does not verify (hash chain, proof of knowledge, same-ratio update, re-run initialization)'),
  CEREMONY_MISMATCH: verify('keys, circuit, beacon or metadata do not match the ceremony transcript'),
  CEREMONY_STATE: { description: 'the ceremony is not in a state for this operation (sealed, not sealed, no contributions, already initialised)', http: 409, exit: 2 },
  CEREMONY_TURN: { description: 'it is not this contributor\'s turn: another contributor holds the slot, or this slot expired', http: 409, exit: 2 },
  CEREMONY_PTAU_INVALID: input('a snarkjs .ptau file is malformed, fails `snarkjs powersoftau verify`, or its powers are inconsistent'),
  ZK_CEREMONY_POLICY: verify("the key's ceremony transcript lacks a contribution or the contributors the verifier requires, or its metadata is inconsistent, or its δ/σ contribution chain does not verify"),

  // ---- attestation ----------------------------------------------------------
  ATTEST_EVIDENCE_INVALID: input('the attestation evidence is malformed'),
  ATTEST_PLATFORM_UNSUPPORTED: input('the evidence platform is not supported'),
  ATTEST_REPORT_TRUNCATED: input('a report or quote is shorter than its format requires'),
  ATTEST_REPORT_VERSION: input('a report or quote version is not supported'),
  ATTEST_TRAILING_BYTES: input('more unsigned bytes follow a signed report than its format tolerates'),
  ATTEST_SIGNATURE_INVALID: verify('a signature in the evidence does not verify'),
  ATTEST_CERT_CHAIN_INVALID: verify('a certificate chain does not lead to a trusted root'),
  ATTEST_CERT_EXPIRED: verify('a certificate is expired or not yet valid at the verification time'),
  ATTEST_CERT_REVOKED: verify('a certificate is revoked'),
  ATTEST_COLLATERAL_MISSING: verify('collateral needed for verification is missing'),
  ATTEST_COLLATERAL_EXPIRED: verify('collateral is expired at the verification time'),
  ATTEST_COLLATERAL_INVALID: verify('collateral is malformed or its signature does not verify'),
  ATTEST_TCB_MISMATCH: verify('the TCB in the certificate disagrees with the report'),
  ATTEST_TCB_OUTDATED: verify('the TCB is below the policy minimum or has no acceptable status'),
  ATTEST_MEASUREMENT_MISMATCH: verify('a measurement is not allowed by the policy'),
  ATTEST_DEBUG_REFUSED: verify('the TEE runs in debug mode and the policy does not allow it'),
  ATTEST_REPORT_DATA_MISMATCH: verify('report data does not bind the expected nonce or key'),
  ATTEST_NONCE_INVALID: verify('the nonce is unknown, expired or already used'),
  ATTEST_NONCE_LIMIT: { description: 'too many outstanding nonces for this client or in total: retry later', http: 429, exit: 3 },
  ATTEST_PCR_MISMATCH: verify('a TPM PCR value does not match the quoted digest or the policy'),
  ATTEST_POLICY_VIOLATION: verify('the evidence does not satisfy the policy'),
  ATTEST_POLICY_INVALID: input('the policy document is malformed'),
  ATTEST_POLICY_UNKNOWN: { description: 'no policy with this name is configured', http: 404, exit: 2 },
  ATTEST_SIMULATED_REFUSED: verify('the evidence is simulated and the policy does not allow simulated evidence'),
  ATTEST_TOKEN_INVALID: verify('an attestation result token is invalid', 401),
  ATTEST_TOKEN_NOT_AFFIRMING: verify('an attestation result token is valid but its verdict (ear.status) is not affirming', 403),

  // ---- attesting proxy and remote prover --------------------------------------
  PROXY_REQUEST_MALFORMED: input('the HTTP request is malformed'),
  PROXY_REQUEST_TOO_LARGE: { description: 'the request body exceeds the proxy limit', http: 413, exit: 2 },
  PROXY_HEADERS_TOO_LARGE: { description: 'the request headers exceed the proxy limit', http: 431, exit: 2 },
  PROXY_REQUEST_TIMEOUT: { description: 'the client sent its request too slowly', http: 408, exit: 2 },
  PROXY_UPSTREAM_UNAVAILABLE: env('the upstream service is down or closed the connection', 502),
  PROXY_UPSTREAM_TIMEOUT: env('the upstream service did not answer in time', 504),
  PROXY_SHUTTING_DOWN: env('the proxy is shutting down', 503),
  PROXY_UNATTESTED: verify('the server presents no attestation and legacy servers were not accepted'),
  PROXY_BINDING_INVALID: verify('the TLS session is not bound to the attested enclave key (man in the middle?)'),
  PROXY_RESPONSE_UNSIGNED: verify('a response on an attested session carries no enclave signature'),
  PROXY_RESPONSE_SIGNATURE_INVALID: verify('a response signature does not verify or does not cover what was received'),
  TLS_CREDENTIALS_INVALID: input('a TLS certificate or private key is malformed, or the two do not belong together'),
  PROXY_JOB_NOT_FOUND: { description: 'no prover job with this id', http: 404, exit: 2 },
  PROXY_JOB_NOT_READY: { description: 'the prover job has not finished yet', http: 409, exit: 3 },
  PROXY_PROVER_BUSY: env('the remote prover queue is full', 503),

  // ---- market router (one endpoint in front of many attested provers) ----------
  ROUTER_BACKEND_UNKNOWN: { description: 'the market router has no backend with this id', http: 404, exit: 2 },
  ROUTER_BACKEND_UNATTESTED: verify('a router directory entry carries no (readable) attestation of its prover'),
  ROUTER_DIRECTORY_INVALID: verify('the router directory is malformed, answers another nonce, lists a backend twice or under an id its prover does not attest'),
  ROUTER_NO_ATTESTED_BACKEND: verify("no backend in the router directory passes the client's attestation policy"),
  ROUTER_SEALED_INPUT_INVALID: verify('a sealed input does not open with this prover: sealed to another key, re-targeted to another backend or request, or altered'),
  ROUTER_REQUEST_REPLAYED: { description: 'the prover already opened a sealed input with this request id (a replay)', http: 409, exit: 1 },
  ROUTER_REQUEST_STALE: verify("a sealed input's issue time is outside the prover's replay window (a replay, or a skewed clock)"),
  ROUTER_RESULT_INVALID: verify('a routed result is not the verified prover\'s signed answer to this request (altered, swapped or from another prover)'),

  // ---- oblivious HTTP (RFC 9458 / RFC 9292) -----------------------------------
  OHTTP_KEY_CONFIG_INVALID: input('an OHTTP key configuration (application/ohttp-keys) is malformed'),
  OHTTP_KEY_UNKNOWN: input('the encapsulated request names a key ID (or KEM) the gateway does not hold or no longer accepts'),
  OHTTP_SUITE_UNSUPPORTED: input('no mutually supported HPKE KEM/KDF/AEAD combination'),
  OHTTP_REQUEST_INVALID: input('an encapsulated request (message/ohttp-req) is truncated or malformed'),
  OHTTP_DECRYPT_FAILED: { description: 'an encapsulated request or response does not decrypt (tampered, or the wrong key)', http: 400, exit: 1 },
  OHTTP_RESPONSE_INVALID: verify('an encapsulated response (message/ohttp-res) is truncated, malformed or already opened', 502),
  OHTTP_MEDIA_TYPE: { description: 'wrong media type for an OHTTP resource', http: 415, exit: 2 },
  OHTTP_BHTTP_INVALID: input('a Binary HTTP message (RFC 9292) is truncated or malformed'),
  OHTTP_TARGET_FORBIDDEN: { description: 'the gateway does not forward to this target', http: 403, exit: 1 },
  OHTTP_TARGET_UNAVAILABLE: env('the target behind the gateway could not be reached or answered too much', 502),
  OHTTP_RELAY_ERROR: env('the relay or gateway answered with an unencapsulated error', 502),
  OHTTP_REPLAY: { description: "the encapsulated request was already seen inside the gateway's replay window", http: 400, exit: 1 },
  OHTTP_REPLAY_WINDOW_FULL: env("the gateway's replay window holds its maximum number of requests: retry later", 503),
  OHTTP_KEY_BINDING_MISMATCH: verify('the gateway attestation does not bind the served key configuration'),

  // ---- telemetry collector (control plane) -----------------------------------
  TELEMETRY_OPTIONS_INVALID: input('a telemetry collector option (samples, interval, process limit) is out of range'),
  TELEMETRY_RULES_INVALID: input('the process classification rules are malformed'),
  TELEMETRY_UNAVAILABLE: env('the machine telemetry sources (/proc) cannot be read'),
  TELEMETRY_SOURCE_MALFORMED: env('a /proc source has an unexpected format (truncated read or unsupported kernel)'),
  TELEMETRY_WINDOW_INVALID: input('a telemetry window document is malformed'),
  // ---- autoscaling control plane ---------------------------------------------
  CP_TELEMETRY_INVALID: input('a telemetry report sent to the control plane is malformed (shape, ranges, sample counts)'),
  CP_WORKLOAD_INVALID: input('a workload or its scaling policy is malformed, or would scale below its minimum or above its maximum replicas'),
  CP_WORKLOAD_NOT_FOUND: { description: 'no workload of that name is registered with the control plane', http: 404, exit: 2 },
  CP_WORKLOAD_EXISTS: { description: 'a workload of that name is already registered', http: 409, exit: 2 },
  CP_DECISION_NOT_FOUND: { description: 'no scaling decision with that id is in the decision log', http: 404, exit: 2 },
  CP_AGENT_UNATTESTED: { description: 'the agent has no accepted attestation: its telemetry is refused', http: 401, exit: 1 },
  CP_AGENT_ATTESTATION_FAILED: { description: "the agent's evidence does not satisfy the control plane's policy or does not bind its key and nonce", http: 401, exit: 1 },
  CP_AGENT_ATTESTATION_LAPSED: { description: "the agent's attestation is older than its validity: it must attest again before sending telemetry", http: 401, exit: 1 },
  CP_AGENT_SIGNATURE_INVALID: { description: "a telemetry report is not signed by the attested agent's key (or replays an old sequence number)", http: 401, exit: 1 },
  CP_ORCHESTRATOR_DENIED: { description: 'the orchestrator refused the scale request (authorisation): reported, not retried', http: 403, exit: 1 },
  CP_ORCHESTRATOR_UNAVAILABLE: env('the orchestrator could not be reached or failed: the decision stays pending and is retried', 503),
  CP_STORAGE_FAILED: env('the decision log database could not be opened or answered with an error', 503),
  CP_QUEUE_UNAVAILABLE: env('the proof job queue (NATS JetStream) could not be reached or refused the job', 503),
  CP_PROOF_INVALID: verify("a decision's proof bundle does not verify, or proves other parameters or another outcome than the decision"),
  CP_COMMAND_SIGNATURE_INVALID: verify('a scaling command does not carry a valid signature of the attested control plane'),
  CP_ADMIN_UNAUTHENTICATED: { description: 'a control plane admin request (workload registration) carries no valid admin bearer token', http: 401, exit: 1 },
  CP_ENGINE_UNAVAILABLE: env('an engine binary (etcd, kube-apiserver, nats-server) is missing or did not start'),
  CP_GPU_UNAVAILABLE: env('no GPU telemetry on the node (nvidia-smi absent or failing, or no GPU): GPU rules take no decision', 503),
  CP_REQUESTS_UNAVAILABLE: env("the attesting proxy's request counters could not be read, or hold no request in the period: volume rules take no decision", 503),

  // ---- key management ---------------------------------------------------------
  KMS_NOT_ATTESTED: { description: 'the request carries no live attested KMS session (missing, unknown, expired or revoked cookie or token)', http: 401, exit: 1 },
  KMS_ATTESTATION_FAILED: { description: 'the KMS refused the evidence; the message lists every failed check', http: 401, exit: 1 },
  KMS_NONCE_USED: { description: 'the KMS session nonce was already used (replay) or the session is not awaiting evidence', http: 401, exit: 1 },
  KMS_POLICY_DENIED: { description: 'an applicable KMS policy denies this workload the resource', http: 403, exit: 1 },
  KMS_RESOURCE_NOT_FOUND: { description: 'no such secret, version or key for this tenant', http: 404, exit: 2 },
  KMS_RATE_LIMITED: { description: 'too many requests to an unauthenticated KMS endpoint, or too many open sessions', http: 429, exit: 3 },
  KMS_ADMIN_UNAUTHENTICATED: { description: 'the admin request carries no valid bearer JWT', http: 401, exit: 1 },
  KMS_ADMIN_FORBIDDEN: { description: 'the admin token has no role for this tenant or action', http: 403, exit: 1 },
  KMS_CAS_MISMATCH: { description: 'check-and-set failed: the secret is not at the expected version, or cas is required', http: 409, exit: 1 },
  KMS_POLICY_INVALID: input('a KMS policy document is malformed'),
  KMS_TEE_PUBKEY_INVALID: input('the tee-pubkey is not a public EC P-256/P-384 or RSA (2048+) JWK'),
  KMS_ROOT_KEY_INVALID: env('the KMS root key cannot be unsealed or does not match the database'),
  KMS_STORAGE_FAILED: env('the KMS database could not be opened or answered with an error', 503),
  KMS_AUDIT_CHAIN_BROKEN: verify('the KMS audit log was edited, reordered or truncated (the hash chain or its MACs do not verify)'),
  KMS_TRANSIT_KEY_REVOKED: { description: 'the transit key was revoked (incident); it refuses every operation', http: 403, exit: 1 },
  KMS_TRANSIT_CIPHERTEXT_INVALID: input('a transit ciphertext is malformed, below min_decryption_version, or does not decrypt'),
  KMS_CERTIFICATE_INVALID: verify('a workload certificate does not chain to the KMS CA, is outside its validity, or its SPIFFE ID or attestation extension is not the expected one'),
  KMS_RESPONSE_INVALID: verify('the KMS answer is malformed or its JWE does not decrypt with the workload key', 502),
  // ---- attestable builds -----------------------------------------------------
  BUILD_SOURCE_INVALID: input('the build source is not a readable git repository with a commit'),
  BUILD_SANDBOX_UNAVAILABLE: env('no network-sealing sandbox (bubblewrap or unshare as root) is available'),
  BUILD_DEPENDENCY_FETCH_FAILED: env('a declared dependency could not be fetched during the fetch phase', 502),
  BUILD_DEPENDENCY_DIGEST_MISMATCH: verify('a fetched dependency does not match the digest its lockfile declares'),
  BUILD_COMMAND_FAILED: verify('the build command exited with an error'),
  BUILD_NETWORK_IN_SEALED_PHASE: verify('the build tried to reach the network during the sealed phase'),
  BUILD_ARTIFACT_MISSING: verify('the build produced no file under the declared artifact paths'),
  BUILD_PROVENANCE_INVALID: verify('the provenance or its bundle is malformed or not SLSA v1 in an in-toto Statement'),
  BUILD_SIGNATURE_INVALID: verify('the provenance signature does not verify with the attested builder key'),
  BUILD_ARTIFACT_MISMATCH: verify('the artifact digest matches no subject of the provenance'),
  BUILD_EVIDENCE_BINDING_MISMATCH: verify('the builder evidence binds a different provenance or key'),
  BUILD_BUILDER_UNTRUSTED: verify('the builder evidence does not verify under the policy (signatures, chain, TCB, debug, simulated)'),
  BUILD_NOT_SEALED: verify('the provenance does not record a network-sealed build phase'),
  BUILD_SOURCE_MISMATCH: verify('the provenance names a different source commit, repository or builder than required'),
  BUILD_POLICY_INVALID: input('the build policy document is malformed'),
  BUILD_SERVICE_BUSY: { description: 'the build service has too many queued builds: retry later', http: 429, exit: 3 },
  BUILD_INPUTS_UNVERIFIED: verify('the build used preloaded inputs or skipped the dependency fetch check, and the policy does not accept that'),
  BUILD_BUILDER_MEASUREMENT_MISMATCH: verify("the builder's launch measurement is not one the build policy pins"),
  BUILD_SIGNER_NOT_ATTESTED: verify('the provenance is signed by a key the builder evidence does not attest (re-signed by another key)'),
  // ---- API gateway ----------------------------------------------------------
  GATEWAY_CONFIG_INVALID: input('the gateway configuration is malformed (unknown field, overlapping route, bad upstream URL, unknown pool)'),
  GATEWAY_NO_ROUTE: { description: 'no gateway route matches the request host and path', http: 404, exit: 2 },
  GATEWAY_METHOD_NOT_ALLOWED: { description: 'the route does not accept this HTTP method', http: 405, exit: 2 },
  GATEWAY_REQUEST_REJECTED: input("the request breaks the route's validation rules (headers, body length)"),
  GATEWAY_UNAUTHENTICATED: { description: 'the bearer token is missing, malformed, expired or not signed by a key of the JWKS', http: 401, exit: 1 },
  GATEWAY_RATE_LIMITED: { description: "the client exceeded its rate limit (see Retry-After)", http: 429, exit: 3 },
  GATEWAY_OVERLOADED: env('the gateway holds its maximum number of requests in flight', 503),
  GATEWAY_NO_BACKEND: env("every backend of the route's pool is unhealthy or ejected", 503),
  GATEWAY_SPOOL_CORRUPT: env('a record spool segment does not decrypt (tampered, or written under another key)'),
  GATEWAY_FORBIDDEN: { description: "the client's workload identity (SPIFFE ID of its KMS certificate) is not on the route's allow-list", http: 403, exit: 1 },
  GATEWAY_KMS_UNAVAILABLE: env('the KMS could not be reached for a certificate or a certificate status: the gateway refuses (fail closed)', 503),
  CP_BUNDLE_INVALID: verify('a proof bundle published to the control plane does not verify (proof, enclave signature or attestation evidence)'),
  // ---- measured images --------------------------------------------------------
  IMAGE_FIRMWARE_INVALID: input('the firmware file is not a usable OVMF/TDVF build (no footer GUID table, malformed SEV or TDX metadata, not whole pages)'),
  IMAGE_FIRMWARE_SECTION_MISSING: input('the firmware lacks a metadata section or table entry the requested launch needs (e.g. SNP_KERNEL_HASHES for measured direct boot)'),
  IMAGE_VCPU_TYPE_UNKNOWN: input('the vCPU type is not one whose CPUID signature is known'),
  IMAGE_MANIFEST_INVALID: input('an image manifest or image policy document is malformed'),
  IMAGE_COMPONENT_MISMATCH: verify('the components present in the image do not match the attested component-tree root'),
  IMAGE_EVIDENCE_UNAVAILABLE: env('no platform evidence interface (configfs-tsm, /dev/sev-guest, TDX guest device) is usable'),
  IMAGE_EVIDENCE_INVALID: verify('the report read from the platform is malformed or does not answer the request (wrong report data)'),
  IMAGE_MEASUREMENT_NOT_ENFORCING: verify('the attested launch measurement is not one of an image that enforces its component tree'),
  IMAGE_BUILD_FAILED: env('building the measured VM image failed (a missing tool that cannot be installed, mmdebstrap, squashfs, dm-verity, kernel or init)'),
  IMAGE_BUILD_NOT_REPRODUCIBLE: verify('two builds of the measured VM image from the same inputs gave different digests'),
  IMAGE_BOOT_FAILED: env('the image could not be booted under QEMU (missing emulator, timeout)'),
  IMAGE_KERNEL_INVALID: input('the kernel is not a Linux bzImage with an EFI (PE/COFF) header the TDX RTMR prediction can hash, or the initrd does not fit below its load limit'),
  IMAGE_ACPI_TABLES_MISSING: input('RTMR0 needs the ACPI tables the VMM hands to TDVF (fw_cfg etc/acpi/tables, etc/acpi/rsdp, etc/table-loader) and they were not given'),
  IMAGE_EVENT_LOG_INVALID: input('a TDX event log (CCEL, TCG2 crypto-agile format) is malformed, truncated, or has no SHA-384 digest'),
  IMAGE_RTMR_MISMATCH: verify('replaying the TDX event log does not give the reported RTMR values, or the log does not contain the predicted boot events'),

  // ---- web console ------------------------------------------------------------
  CONSOLE_ASSETS_MISSING: env('the web console has not been built (run npm install, or node scripts/build.mjs)'),
  CONSOLE_SERVICE_NOT_CONFIGURED: { description: 'the console was started without that service (give --kms URL or --cp URL)', http: 404, exit: 2 },
  CONSOLE_UPSTREAM_UNAVAILABLE: env('the service behind the console (KMS, control plane) could not be reached, timed out or answered too much', 502),
  CONSOLE_RELAY_REFUSED: { description: 'the console relays only GET requests to an allowlist of read-only service paths', http: 403, exit: 2 },

  // ---- verifiable streams -------------------------------------------------------
  STREAM_SENSOR_KEY_INVALID: input('a sensor key file or the sensor registry is malformed (or lists a sensor twice)'),
  STREAM_SENSOR_UNKNOWN: verify('a reading names a sensor that is not in the sensor registry'),
  STREAM_READING_INVALID: input('a signed reading is malformed (fields, ranges, sensor id)'),
  STREAM_SIGNATURE_INVALID: verify("a reading's signature does not verify under its sensor's key"),
  STREAM_DIGEST_MISMATCH: verify("a reading's timestamp, value and salt do not open its signed digest"),
  STREAM_SEQUENCE_GAP: verify("a sensor's readings skip a sequence number (a reading was dropped)"),
  STREAM_SEQUENCE_REPLAY: verify("a sensor's sequence number was already seen (a replayed or reordered reading)"),
  STREAM_READING_LATE: input('a reading belongs to a window that is already closed'),
  STREAM_WINDOW_INVALID: input('a window size is malformed or out of range, or result windows overlap or run backwards'),
  STREAM_RESULT_INVALID: verify('a window result line is malformed, or there are none'),
  STREAM_COMMITMENT_MISMATCH: verify("a window's proof is not over its signed readings, its window or the expected threshold"),
  STREAM_PROOF_INVALID: verify("a window's proof bundle does not verify"),
  STREAM_QUEUE_UNAVAILABLE: env('the readings queue (NATS JetStream or Kafka) could not be reached, refused a reading or did not deliver', 503),
  STREAM_TIME_BACKWARDS: input("a sensor's reading is timed before its previous one (a sensor's readings must be in time order)"),
  STREAM_CLOSE_INVALID: verify("a sensor's signed end marker is malformed, does not verify, or a reading arrived after it"),
  STREAM_TAIL_MISSING: verify("readings a sensor's signed end marker announces are missing from the results (dropped after the last one seen)"),
  STREAM_END_MISSING: verify('the results carry no signed end marker for a sensor the consumer requires to have closed'),
  STREAM_CHAIN_BROKEN: verify("a window result does not commit to the previous result (a result was dropped, reordered or replaced), or its id is not its content's"),
  STREAM_STATE_INVALID: input("the processor's saved state file is malformed or belongs to another pipeline"),
  STREAM_PIPELINE_INVALID: input('a pipeline file (YAML) is malformed, nested too deeply, or names an unknown source, window, aggregate or sink'),
  STREAM_BROKER_UNAVAILABLE: env('the test Kafka broker could not be fetched (Maven) or started', 503),

  // ---- bring-your-own circom circuits (@veritee/market circom, circom-groth16) ----
  CIRCOM_COMPILE_FAILED: input('the circom source does not compile (the message names the file, line and column of the first error)'),
  CIRCOM_TOOL_FAILED: env('the circom compiler (circom2) or snarkjs is missing, timed out or failed outside the circuit'),
  CIRCOM_VK_INVALID: input('a circom Groth16 verification key document is malformed: format, curve bn128, protocol groth16, point shapes, coordinates below the field modulus, points on the curve and in the subgroup'),
  CIRCOM_PUBLIC_SIGNALS_INVALID: input('circom public signals are not a list of decimal strings below the BN254 scalar field modulus, or not as many as the key expects'),
  CIRCOM_PROOF_MALFORMED: input('a circom Groth16 proof is not the snarkjs JSON shape (protocol, curve, affine points with coordinates below the field modulus)'),
  CIRCOM_WITNESS_FAILED: input('the inputs do not satisfy the circom circuit (a constraint or assertion fails), do not name its input signals, or keep its witness generator running past the time limit'),
  CIRCOM_SETUP_FAILED: env('the local powers of tau or the Groth16 setup could not be made (circuit too large for the largest power, a cached file altered)'),

  // ---- prover marketplace (core: markets, asks, ledger, matching engine) ----------
  MARKET_NOT_FOUND: { description: 'no such market, ask or generator', http: 404, exit: 2 },
  MARKET_PROOF_SYSTEM_UNKNOWN: input('the market names a proof system this marketplace has no implementation for'),
  MARKET_SAMPLE_PROOF_INVALID: verify('the sample proof given to create a market does not verify against its verification key'),
  MARKET_ASK_INVALID: input('an ask is malformed (prices, window, proving time, deadline or expiry out of order or range)'),
  MARKET_CONFLICT: { description: 'the id is already used with different content (ask, market or generator)', http: 409, exit: 2 },
  MARKET_STATE_INVALID: { description: 'the ask is not in a state that allows this (e.g. cancel when assigned, submit when not assigned to the caller)', http: 409, exit: 2 },
  MARKET_PRIVATE_INPUTS_NOT_ALLOWED: input('the market lists no allowed prover images, so it takes public inputs only'),
  MARKET_INPUT_BINDING_INVALID: verify('the encrypted private inputs do not open for this market and ask (re-targeted, tampered or for another key)'),
  MARKET_INPUT_REPLAYED: verify('the encrypted private inputs were already used by another ask'),
  MARKET_SIGNATURE_INVALID: verify('a request, assignment or verdict signature does not verify under the key it names'),
  MARKET_ATTESTATION_INVALID: verify("a generator's or the engine's key is not bound into attestation evidence that verifies (or is simulated when that is not allowed)"),
  MARKET_UNAVAILABLE: env('the market service could not be reached or did not answer in time', 503),
  MARKET_PROOF_REJECTED: verify('the submitted proof does not verify: no payout, the ask stays open until its deadline'),
  MARKET_STORAGE_FAILED: env('the order book and ledger database (PGlite or PostgreSQL) failed or could not be opened'),
  MARKET_EVENTS_UNAVAILABLE: env('the market event stream (NATS JetStream) could not be reached or refused an event', 503),

  // ---- environment ----------------------------------------------------------
  SERVICE_LISTEN_FAILED: env('a service could not listen on the address (in use, not local, or not permitted)'),
  INTERNAL: env('an unexpected internal error'),
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The one error class of veritee. `code` is stable; `message` is for humans. */
export class VeriteeError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VeriteeError';
    this.code = code;
    if (details !== undefined) this.details = details;
  }

  get info(): ErrorCodeInfo {
    return ERROR_CODES[this.code];
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/** True when `e` is a {@link VeriteeError}, optionally with the given code. */
export function isVeriteeError(e: unknown, code?: ErrorCode): e is VeriteeError {
  return e instanceof VeriteeError && (code === undefined || e.code === code);
}

/** Turns anything thrown into a VeriteeError, keeping the original as `cause`. */
export function toVeriteeError(e: unknown): VeriteeError {
  if (e instanceof VeriteeError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new VeriteeError('INTERNAL', msg, undefined, { cause: e });
}

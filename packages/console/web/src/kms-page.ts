/**
 * "KMS": the key management service by metadata only (secret paths, versions, times,
 * policies, registered TEEs, transit key versions; never a value: the console's relay
 * does not even forward a request for one), its audit log with the hash chain verified
 * here in the browser, and the attestation / re-attestation events the log records.
 */
import { parseAuditHead, verifyAuditChain, type AuditChainResult, type AuditHead, type AuditRecordJson } from '../../src/audit-chain.js';
import { getService, ServiceError } from './api.js';
import { clear, field, h } from './dom.js';

/** The KMS lists 1000 records per call; the page reads at most this many pages. */
const PAGE = 1000;
const MAX_PAGES = 200;
const SHOWN = 100;
const HEAD_KEY = 'veritee.console.kms-audit-head';

interface SecretMeta {
  current_version: number;
  oldest_version: number;
  max_versions: number;
  cas_required: boolean;
  custom_metadata: Record<string, string>;
  created_time: string;
  updated_time: string;
  versions: Record<string, { version: number; created_time: string; deletion_time: string; destroyed: boolean }>;
}

const errText = (e: unknown) => (e instanceof ServiceError ? `${e.code}: ${e.message}` : (e as Error).message);

/** Every record of the global audit log, page by page (needs the kms-admin role: the console's token). */
export async function fetchAuditLog(): Promise<AuditRecordJson[]> {
  const all: AuditRecordJson[] = [];
  let after = 0;
  for (let i = 0; i < MAX_PAGES; i++) {
    const { entries } = await getService<{ entries: AuditRecordJson[] }>('kms', `audit?after=${after}`);
    if (!Array.isArray(entries)) throw new Error('the KMS answered no entries array');
    all.push(...entries);
    if (entries.length < PAGE) return all;
    const last = entries[entries.length - 1]!.seq;
    if (!Number.isSafeInteger(last) || last <= after) throw new Error('the KMS audit pages do not advance');
    after = last;
  }
  throw new Error(`the audit log is longer than ${MAX_PAGES * PAGE} entries: verify it with veritee kms audit verify`);
}

/** This browser's record of the last head it verified, per log (keyed by the hash of entry 1). */
function storedHead(first: string | undefined): AuditHead | undefined {
  if (!first) return undefined;
  try {
    const all = JSON.parse(localStorage.getItem(HEAD_KEY) ?? '{}') as Record<string, string>;
    return all[first] ? parseAuditHead(all[first]) : undefined;
  } catch {
    return undefined;
  }
}
function storeHead(first: string, head: AuditHead): void {
  try {
    const all = JSON.parse(localStorage.getItem(HEAD_KEY) ?? '{}') as Record<string, string>;
    all[first] = `${head.seq}:${head.hash}`;
    localStorage.setItem(HEAD_KEY, JSON.stringify(all));
  } catch {
    /* storage unavailable: the user's own recorded head still works */
  }
}

export async function renderKmsPage(root: HTMLElement): Promise<void> {
  clear(root);
  const headInput = h('input', { type: 'text', id: 'audit-head', spellcheck: 'false', autocomplete: 'off', placeholder: 'SEQ:HASH, e.g. 42:3f1c…' });
  const auditOut = h('section', { id: 'audit', 'aria-live': 'polite', 'aria-labelledby': 'audit-title' });
  const eventsOut = h('section', { id: 'attest-events', 'aria-labelledby': 'events-title' });
  const tenantsOut = h('section', { id: 'tenants', 'aria-labelledby': 'tenants-title' });
  const healthOut = h('p', { id: 'kms-health', role: 'status' }, 'Asking the KMS…');
  const verifyBtn = h('button', { type: 'submit', id: 'audit-verify', class: 'primary' }, 'Read and verify the audit log');
  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Audit verification' },
    field('Recorded head (optional)', headInput, 'A head you noted earlier (veritee kms audit verify prints one). A log cut short after it is then caught; without it, only this browser’s last verified head is compared.'),
    verifyBtn,
  );
  root.append(
    h('h1', {}, 'Key management (KMS)'),
    h('p', { class: 'lead' }, 'Secrets and keys by metadata only: the console never asks the KMS for a secret’s value. The audit log’s hash chain is verified here, in your browser.'),
    healthOut,
    form,
    auditOut,
    eventsOut,
    tenantsOut,
  );
  try {
    const hz = await getService<{ ok: boolean; protocol?: string; backend?: string; rootKey?: string }>('kms', 'healthz');
    healthOut.textContent = `KMS reachable: protocol ${hz.protocol ?? '?'}, ${hz.backend ?? '?'} database, root key ${hz.rootKey ?? '?'}.`;
  } catch (e) {
    healthOut.textContent = `KMS not available: ${errText(e)}`;
    healthOut.className = 'bad';
    root.dataset.kms = e instanceof ServiceError && e.code === 'CONSOLE_SERVICE_NOT_CONFIGURED' ? 'not-configured' : 'unavailable';
    verifyBtn.disabled = true;
    return;
  }
  const run = async () => {
    verifyBtn.disabled = true;
    clear(auditOut);
    auditOut.append(h('p', { role: 'status' }, 'Reading the audit log…'));
    try {
      let given: AuditHead | undefined;
      if (headInput.value.trim()) given = parseAuditHead(headInput.value);
      const records = await fetchAuditLog();
      const first = records[0]?.hash;
      const remembered = given ? undefined : storedHead(first);
      const t0 = performance.now();
      const v = verifyAuditChain(records, { ...(given ?? remembered ? { expectHead: (given ?? remembered)! } : {}) });
      const ms = performance.now() - t0;
      showAudit(auditOut, records, v, ms, given ? 'the head you entered' : remembered ? 'the head this browser verified last time' : undefined);
      if (v.ok && v.head && first) storeHead(first, v.head);
      showEvents(eventsOut, records);
      await showTenants(tenantsOut, records);
    } catch (e) {
      clear(auditOut);
      auditOut.dataset.verdict = 'error';
      auditOut.append(h('h2', { id: 'audit-title' }, 'Audit log'), h('p', { class: 'bad' }, `Could not read the audit log: ${errText(e)}`));
    } finally {
      verifyBtn.disabled = false;
    }
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void run();
  });
  await run();
}

function showAudit(out: HTMLElement, records: AuditRecordJson[], v: AuditChainResult, ms: number, headFrom: string | undefined): void {
  clear(out);
  out.dataset.verdict = v.ok ? 'pass' : 'fail';
  out.dataset.ms = ms.toFixed(2);
  out.dataset.entries = String(v.entries);
  out.append(
    h('h2', { id: 'audit-title' }, 'Audit log'),
    h('p', { class: v.ok ? 'good' : 'bad', id: 'audit-verdict' }, v.ok ? `Hash chain VERIFIED in this browser: ${v.entries} entries, 1 to ${v.head?.seq ?? 0}, in ${ms.toFixed(1)} ms.` : `Hash chain BROKEN: ${v.problems.length} problem${v.problems.length === 1 ? '' : 's'} in ${v.entries} entries.`),
  );
  if (v.problems.length) out.append(h('ul', { id: 'audit-problems' }, ...v.problems.map((p) => h('li', { class: 'bad', 'data-kind': p.kind }, `${p.kind}: ${p.detail}`))));
  out.append(
    h(
      'div',
      { class: 'warn', role: 'note' },
      h('h3', {}, 'What this does not check'),
      h(
        'ul',
        {},
        h('li', {}, 'The entries’ MACs are NOT checked: they are keyed by the KMS root key, which never leaves the KMS. Someone able to rewrite the whole database could recompute every hash after an edit; veritee kms audit verify (with the root key) or a head recorded elsewhere catches that.'),
        h('li', {}, headFrom ? `Truncation: the log was compared with ${headFrom}.` : 'Truncation: no recorded head was given and this browser has none for this log, so a log cut short at its end would look like a younger log. Record the head below.'),
      ),
    ),
  );
  if (v.head) out.append(h('p', {}, 'Head to record: ', h('code', { id: 'audit-head-now' }, `${v.head.seq}:${v.head.hash}`)));
  const shown = records.slice(-SHOWN).reverse();
  out.append(
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        { id: 'audit-table' },
        h('caption', {}, `The last ${shown.length} of ${records.length} entries, newest first`),
        h('thead', {}, h('tr', {}, ...['Seq', 'Time', 'Tenant', 'Actor', 'Action', 'Decision', 'Resource', 'Reason'].map((t) => h('th', { scope: 'col' }, t)))),
        h(
          'tbody',
          {},
          ...shown.map((r) => {
            const e = r.entry as Record<string, unknown>;
            const s = (k: string) => (typeof e[k] === 'string' ? (e[k] as string) : '');
            return h('tr', { 'data-seq': r.seq }, h('td', {}, r.seq), h('td', {}, r.at), h('td', {}, s('tenant')), h('td', {}, s('actor')), h('td', {}, h('code', {}, s('action'))), h('td', { class: s('decision') === 'deny' || s('decision') === 'error' ? 'bad' : '' }, s('decision')), h('td', {}, s('resource')), h('td', {}, s('reason').slice(0, 200)));
          }),
        ),
      ),
    ),
  );
}

/** Attestations (kbs.attest: every later one by a workload is a re-attestation), session revocations, TEE registrations. */
function showEvents(out: HTMLElement, records: AuditRecordJson[]): void {
  clear(out);
  const ev = records.filter((r) => /^(kbs\.attest|session\.revoke|registry\.)/.test(String((r.entry as { action?: unknown }).action)));
  const attests = ev.filter((r) => r.entry['action'] === 'kbs.attest');
  const allowed = attests.filter((r) => r.entry['decision'] === 'allow').length;
  out.append(
    h('h2', { id: 'events-title' }, 'Attestation and re-attestation events'),
    h('p', { id: 'attest-summary' }, `${attests.length} attestation${attests.length === 1 ? '' : 's'} (${allowed} accepted, ${attests.length - allowed} refused); workloads re-attest for every new KBS session, so each after the first is a re-attestation. From the audit log verified above.`),
  );
  if (!ev.length) return;
  out.append(
    h(
      'div',
      { class: 'scroll' },
      h(
        'table',
        { id: 'events-table' },
        h('thead', {}, h('tr', {}, ...['Seq', 'Time', 'Event', 'Result', 'Actor', 'Evidence digest', 'Reason'].map((t) => h('th', { scope: 'col' }, t)))),
        h(
          'tbody',
          {},
          ...ev
            .slice(-SHOWN)
            .reverse()
            .map((r) => {
              const e = r.entry as Record<string, unknown>;
              const s = (k: string) => (typeof e[k] === 'string' ? (e[k] as string) : '');
              return h('tr', { 'data-action': s('action'), 'data-decision': s('decision') }, h('td', {}, r.seq), h('td', {}, r.at), h('td', {}, h('code', {}, s('action'))), h('td', { class: s('decision') === 'deny' ? 'bad' : 'good' }, s('decision')), h('td', {}, s('actor')), h('td', {}, h('code', {}, s('evidenceDigest').slice(0, 16))), h('td', {}, s('reason').slice(0, 300)));
            }),
        ),
      ),
    ),
  );
}

/** Tenants named in the log: secret metadata, policies, registered TEEs, transit keys (by metadata). */
async function showTenants(out: HTMLElement, records: AuditRecordJson[]): Promise<void> {
  clear(out);
  out.append(h('h2', { id: 'tenants-title' }, 'Tenants: secrets and keys by metadata'));
  const tenants = [...new Set(records.map((r) => r.entry['tenant']).filter((t): t is string => typeof t === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(t)))].sort().slice(0, 50);
  if (!tenants.length) {
    out.append(h('p', {}, 'No tenant appears in the audit log yet.'));
    return;
  }
  for (const t of tenants) {
    const art = h('article', { class: 'node tenant', 'data-tenant': t }, h('h3', {}, `Tenant ${t}`));
    out.append(art);
    try {
      const { keys } = await getService<{ keys: string[] }>('kms', `tenants/${t}/secrets`);
      const rows: HTMLElement[] = [];
      for (const p of keys.slice(0, 200)) {
        const { data: m } = await getService<{ data: SecretMeta }>('kms', `tenants/${t}/secrets/metadata/${p.split('/').map(encodeURIComponent).join('/')}`);
        const versions = Object.values(m.versions);
        const live = versions.filter((x) => !x.destroyed && !x.deletion_time).length;
        rows.push(
          h(
            'tr',
            { 'data-path': p },
            h('th', { scope: 'row' }, h('code', {}, p)),
            h('td', {}, `${m.current_version}`),
            h('td', {}, `${versions.length} kept (${live} live), max ${m.max_versions}`),
            h('td', {}, m.updated_time),
            h('td', {}, m.cas_required ? 'yes' : 'no'),
            h('td', {}, Object.keys(m.custom_metadata).join(', ') || '—'),
          ),
        );
      }
      art.append(
        h(
          'div',
          { class: 'scroll' },
          h(
            'table',
            { class: 'secrets' },
            h('caption', {}, `${keys.length} secret${keys.length === 1 ? '' : 's'} (values are never shown)`),
            h('thead', {}, h('tr', {}, ...['Path', 'Current version', 'Versions', 'Updated', 'Check-and-set', 'Custom metadata keys'].map((x) => h('th', { scope: 'col' }, x)))),
            h('tbody', {}, ...rows),
          ),
        ),
      );
    } catch (e) {
      art.append(h('p', { class: 'bad' }, `Secrets: ${errText(e)}`));
    }
    try {
      const { policies } = await getService<{ policies: { prefix: string; version: number; document: unknown }[] }>('kms', `tenants/${t}/policies`);
      art.append(
        h('h4', {}, `Release policies (${policies.length})`),
        h('ul', { class: 'policies' }, ...policies.map((p) => h('li', {}, h('code', {}, p.prefix || '(whole tenant)'), ` version ${p.version} `, h('details', {}, h('summary', {}, 'Rules'), h('pre', {}, JSON.stringify(p.document, null, 2)))))),
      );
    } catch (e) {
      art.append(h('p', { class: 'bad' }, `Policies: ${errText(e)}`));
    }
    try {
      const { tees } = await getService<{ tees: { teeId: string; kind: string; platform: string; measurement: string; status: string; requested: string }[] }>('kms', `tenants/${t}/registry`);
      if (tees.length)
        art.append(
          h('h4', {}, `Registered TEEs (${tees.length})`),
          h('ul', { class: 'tees' }, ...tees.map((x) => h('li', {}, `${x.status}: ${x.platform} ${x.kind} `, h('code', {}, x.teeId.slice(0, 40)), `, measurement `, h('code', {}, x.measurement.slice(0, 24)), ` (since ${x.requested})`))),
        );
    } catch (e) {
      art.append(h('p', { class: 'bad' }, `Registry: ${errText(e)}`));
    }
    const transit = [...new Set(records.map((r) => r.entry['resource']).filter((x): x is string => typeof x === 'string' && x.startsWith(`${t}/transit/`)).map((x) => x.slice(`${t}/transit/`.length)))].filter((n) => /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(n));
    const tk: HTMLElement[] = [];
    for (const n of transit.slice(0, 50)) {
      try {
        const k = await getService<{ name: string; latest_version: number; min_decryption_version: number; auto_rotate_period: number; revoked: boolean; versions: number[] }>('kms', `tenants/${t}/transit/keys/${n}`);
        tk.push(h('li', { 'data-transit': n }, h('code', {}, n), `: version ${k.latest_version} (${k.versions.length} kept, decrypts from ${k.min_decryption_version})${k.auto_rotate_period ? `, rotates every ${k.auto_rotate_period} s` : ''}${k.revoked ? ', REVOKED' : ''}`));
      } catch {
        /* deleted or not a key */
      }
    }
    if (tk.length) art.append(h('h4', {}, `Transit keys (${tk.length}, key material never leaves the KMS)`), h('ul', {}, ...tk));
  }
}

/** "Verify a bundle": drop, paste or open a bundle; choose keys, policy and switches; see every check. */
import { fetchSameOrigin, listKeys, type KeyEntry } from './api.js';
import { clear, field, h } from './dom.js';
import { MAX_BUNDLE_CHARS, parseKeyText, verifyInBrowser, type Choices, type Outcome, type TrustedKey } from './verifier.js';

const MAX_KEY_CHARS = 4 * 1024 * 1024;

export function renderVerifyPage(root: HTMLElement, params: URLSearchParams): void {
  const userKeys: TrustedKey[] = [];
  let serverKeys: TrustedKey[] = [];
  let serverKeyList: KeyEntry[] = [];

  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite', id: 'load-status' });
  const bundleText = h('textarea', { id: 'bundle-text', rows: 8, spellcheck: 'false', autocomplete: 'off', placeholder: '{"format":"veritee.proof/v2", …}' });
  const fileInput = h('input', { type: 'file', id: 'bundle-file', accept: '.json,application/json' });
  const urlInput = h('input', { type: 'text', id: 'bundle-url', inputmode: 'url', placeholder: '/api/bundles/latency.json' });
  const setBundle = (text: string, from: string) => {
    if (text.length > MAX_BUNDLE_CHARS) {
      status.textContent = `${from} is larger than ${MAX_BUNDLE_CHARS} characters: not loaded.`;
      return;
    }
    bundleText.value = text;
    status.textContent = `Loaded ${from} (${text.length} characters).`;
  };
  const readFile = (f: File | undefined) => {
    if (!f) return;
    if (f.size > MAX_BUNDLE_CHARS) {
      status.textContent = `${f.name} is ${f.size} bytes; the limit is ${MAX_BUNDLE_CHARS}.`;
      return;
    }
    void f.text().then((t) => setBundle(t, f.name));
  };
  fileInput.addEventListener('change', () => readFile(fileInput.files?.[0]));
  const drop = h(
    'div',
    { class: 'drop', id: 'drop-zone' },
    h('p', {}, 'Drop a proof bundle (JSON) here, or choose a file:'),
    field('Bundle file', fileInput),
  );
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    readFile(e.dataTransfer?.files?.[0]);
  });
  const openUrl = async () => {
    try {
      setBundle(await fetchSameOrigin(urlInput.value.trim(), MAX_BUNDLE_CHARS), urlInput.value.trim());
    } catch (e) {
      status.textContent = `Could not open the URL: ${(e as Error).message}`;
    }
  };
  const openBtn = h('button', { type: 'button', id: 'bundle-open', onclick: () => void openUrl() }, 'Open');

  // What the user trusts.
  const keyFiles = h('input', { type: 'file', id: 'key-files', multiple: true, accept: '.json,application/json' });
  const keyList = h('ul', { class: 'keys', id: 'key-list' });
  const trustServer = h('input', { type: 'checkbox', id: 'trust-server-keys' });
  const renderKeys = () => {
    clear(keyList);
    const all = [...userKeys, ...(trustServer.checked ? serverKeys : [])];
    if (!all.length) keyList.append(h('li', {}, 'No key is trusted yet: every proof will fail the key.trusted check.'));
    for (const k of all) keyList.append(h('li', {}, h('code', {}, k.hash.slice(0, 16) + '…'), ` ${k.doc.circuit} v${k.doc.circuitVersion}, ${k.doc.capacity} records, ${k.doc.setup.kind} setup — ${k.source}`));
  };
  keyFiles.addEventListener('change', () => {
    void (async () => {
      for (const f of Array.from(keyFiles.files ?? [])) {
        try {
          if (f.size > MAX_KEY_CHARS) throw new Error(`${f.size} bytes; the limit is ${MAX_KEY_CHARS}`);
          userKeys.push(parseKeyText(await f.text(), `file ${f.name}`));
        } catch (e) {
          status.textContent = `Key ${f.name} not loaded: ${(e as Error).message}`;
        }
      }
      renderKeys();
    })();
  });
  const loadServerKeys = async () => {
    const { keys } = await listKeys();
    serverKeyList = keys;
    const loaded: TrustedKey[] = [];
    for (const k of keys) {
      if (k.problem) continue;
      try {
        loaded.push(parseKeyText(await fetchSameOrigin(`/api/keys/${encodeURIComponent(k.id)}`, MAX_KEY_CHARS), `console:${k.id}`));
      } catch {
        /* listed as unreadable below */
      }
    }
    serverKeys = loaded;
    trustLabel.textContent = `Trust the ${serverKeys.length} verification key${serverKeys.length === 1 ? '' : 's'} this console serves (you then trust whoever runs it)`;
    renderKeys();
  };
  const trustLabel = h('label', { for: 'trust-server-keys' }, 'Trust the verification keys this console serves');
  trustServer.addEventListener('change', () => {
    if (trustServer.checked && !serverKeyList.length) void loadServerKeys().catch((e) => (status.textContent = `Could not list the console's keys: ${(e as Error).message}`));
    renderKeys();
  });

  const policySel = h(
    'select',
    { id: 'policy' },
    h('option', { value: 'production' }, 'Production (strict: real hardware, no debug, report data bound to the enclave key)'),
    h('option', { value: 'demo' }, 'Demo (SNP/TDX, any measurement; simulated only if you allow it below)'),
    h('option', { value: 'custom' }, 'My own policy (YAML or JSON below)'),
  );
  const policyText = h('textarea', { id: 'policy-text', rows: 6, spellcheck: 'false', placeholder: 'version: 1\nname: mine\nplatforms: [snp]\n…' });
  const allowDev = h('input', { type: 'checkbox', id: 'allow-dev' });
  const allowSim = h('input', { type: 'checkbox', id: 'allow-simulated' });
  const proofOnly = h('input', { type: 'checkbox', id: 'proof-only' });
  const expect = h('input', { type: 'text', id: 'expect', spellcheck: 'false', placeholder: 'kind=latency,sla=p95<100ms,p99<500ms' });
  const at = h('input', { type: 'text', id: 'at', spellcheck: 'false', placeholder: 'now (or RFC 3339, e.g. 2026-11-21T00:00:00Z)' });
  const check = (el: HTMLInputElement, label: string, hint: string) =>
    h('div', { class: 'check' }, el, h('label', { for: el.id }, label), h('p', { class: 'hint' }, hint));

  const result = h('section', { id: 'result', 'aria-live': 'polite', 'aria-labelledby': 'result-title', class: 'result' });
  const verifyBtn = h('button', { type: 'submit', id: 'verify', class: 'primary' }, 'Verify in this browser');
  const form = h(
    'form',
    { id: 'verify-form', novalidate: true },
    h(
      'fieldset',
      {},
      h('legend', {}, '1. The proof bundle'),
      drop,
      field('Or paste the bundle', bundleText),
      h('div', { class: 'row' }, field('Or open a URL on this console', urlInput, 'Same origin only: the page makes no request elsewhere.'), openBtn),
      status,
    ),
    h(
      'fieldset',
      {},
      h('legend', {}, '2. What you trust'),
      field('Verification key files (vk.json)', keyFiles, 'Keys you obtained yourself. A key carried by a bundle is never trusted.'),
      h('div', { class: 'check' }, trustServer, trustLabel),
      keyList,
      field('Attestation policy', policySel),
      field('Custom policy', policyText),
      check(allowDev, 'Allow keys from a DEV trusted setup', 'Whoever ran a dev setup can forge proofs.'),
      check(allowSim, 'Allow evidence from the SIMULATED TEE', 'Simulated evidence proves nothing about hardware.'),
      check(proofOnly, 'Check the proof only', 'The attestation chain (evidence, enclave signature) is then NOT checked.'),
      field('Expected claim parameters (optional)', expect, 'Pins what the prover chose, e.g. kind=memory,percentile=90,threshold=85.'),
      field('Verification time', at),
    ),
    verifyBtn,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const choices: Choices = {
      keys: [...userKeys, ...(trustServer.checked ? serverKeys : [])],
      policy: policySel.value === 'custom' ? { kind: 'custom', text: policyText.value } : { kind: policySel.value as 'production' | 'demo' },
      allowDevSetup: allowDev.checked,
      allowSimulated: allowSim.checked,
      proofOnly: proofOnly.checked,
      expect: expect.value,
      at: at.value,
    };
    verifyBtn.disabled = true;
    clear(result);
    result.append(h('p', { role: 'status' }, 'Verifying…'));
    const run = async () => {
      if (trustServer.checked && !serverKeys.length) await loadServerKeys();
      choices.keys = [...userKeys, ...(trustServer.checked ? serverKeys : [])];
      return verifyInBrowser(bundleText.value, choices);
    };
    run()
      .then((o) => showOutcome(result, o))
      .catch((err) => {
        clear(result);
        result.dataset.verdict = 'error';
        result.append(h('h2', { id: 'result-title' }, 'Could not verify'), h('p', { class: 'bad' }, (err as Error).message));
      })
      .finally(() => {
        verifyBtn.disabled = false;
        result.focus();
      });
  });
  result.tabIndex = -1;

  clear(root);
  root.append(
    h('h1', {}, 'Verify a proof bundle in your browser'),
    h('p', { class: 'lead' }, 'The whole chain is checked here, by veritee’s TypeScript verifier running in this page: evidence → enclave key → signature → proof. Nothing is sent to the server.'),
    form,
    result,
  );
  renderKeys();

  const preset = params.get('bundle');
  if (preset) {
    urlInput.value = preset;
    void openUrl();
  }
}

function showOutcome(result: HTMLElement, o: Outcome): void {
  clear(result);
  result.dataset.verdict = o.ok ? 'pass' : 'fail';
  result.dataset.ms = o.ms.toFixed(1);
  const failed = o.checks.filter((c) => !c.ok);
  const verdict = o.ok ? (o.attested ? 'VERIFIED (attested)' : 'VERIFIED (proof only)') : 'NOT VERIFIED';
  result.append(h('h2', { id: 'result-title', class: o.ok ? 'good' : 'bad' }, verdict));
  if (failed.length) result.append(h('p', { class: 'bad', id: 'first-failure' }, `First failed check: ${failed[0]!.name}${failed[0]!.code ? ` [${failed[0]!.code}]` : ''}: ${failed[0]!.detail}`));
  result.append(h('p', {}, `Policy ${o.policyName}, verification time ${o.at}. Verified in ${o.ms.toFixed(0)} ms in this browser.`));
  if (o.announcements.length) {
    result.append(h('div', { class: 'warn', role: 'note' }, h('h3', {}, 'Read this first'), h('ul', {}, ...o.announcements.map((a) => h('li', {}, a)))));
  }
  if (o.parameters) result.append(h('p', {}, 'Parameters: ', h('code', {}, o.parameters)));
  const table = h(
    'table',
    { class: 'checks', id: 'checks' },
    h('caption', {}, `${o.checks.length} checks, ${failed.length} failed`),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Result'), h('th', { scope: 'col' }, 'Check'), h('th', { scope: 'col' }, 'Detail'))),
    h(
      'tbody',
      {},
      ...o.checks.map((c) =>
        h(
          'tr',
          { class: c.ok ? 'ok' : 'failed', 'data-check': c.name },
          h('td', {}, h('span', { 'aria-hidden': 'true' }, c.ok ? '✓ ' : '✗ '), c.ok ? 'pass' : 'FAIL'),
          h('th', { scope: 'row' }, h('code', {}, c.name)),
          h('td', {}, c.detail, c.code && !c.ok ? h('code', { class: 'code' }, ` [${c.code}]`) : null),
        ),
      ),
    ),
  );
  result.append(h('div', { class: 'scroll' }, table));
  if (o.bundle) {
    result.append(
      h('details', {}, h('summary', {}, 'The claim (kind, parameters, outputs) and commitment'), h('pre', {}, JSON.stringify({ claim: o.bundle.claim, commitment: o.bundle.commitment, createdAt: o.bundle.createdAt }, null, 2))),
    );
  }
}

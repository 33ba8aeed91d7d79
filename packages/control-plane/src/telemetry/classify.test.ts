/**
 * Classification: each kind of condition, AND within a match, first match wins,
 * the default rules, and rule documents that must be refused with a clear error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVeriteeError } from '@veritee/core';
import { classifyProcess, compileClassificationRules, defaultClassificationRules, globToRegExp, parseClassificationRules, type ProcessIdentity } from './classify.js';

const proc = (over: Partial<ProcessIdentity> = {}): ProcessIdentity => ({
  pid: 4242,
  comm: 'python3',
  uid: 1000,
  cgroups: ['/user.slice/user-1000.slice/session-1.scope'],
  kernelThread: false,
  self: false,
  ...over,
});

test('default rules: collector, kernel threads, containers, system services, root, else customer', () => {
  const d = defaultClassificationRules();
  assert.deepEqual(classifyProcess(proc({ self: true, uid: 1000 }), d), { owner: 'platform', rule: 'collector' });
  assert.deepEqual(classifyProcess(proc({ kernelThread: true, comm: 'kworker/0:1', uid: 0, cgroups: ['/'] }), d), { owner: 'platform', rule: 'kernel-threads' });
  // A root process inside a Kubernetes pod is the customer's.
  const pod = proc({ uid: 0, cgroups: ['/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-ab.scope'] });
  assert.deepEqual(classifyProcess(pod, d), { owner: 'customer', rule: 'containers' });
  assert.equal(classifyProcess(proc({ uid: 0, cgroups: ['/system.slice/docker-0123abcd.scope'] }), d).owner, 'customer');
  assert.equal(classifyProcess(proc({ uid: 0, cgroups: ['/docker/0123abcd'] }), d).owner, 'customer');
  assert.deepEqual(classifyProcess(proc({ uid: 101, cgroups: ['/system.slice/systemd-resolved.service'] }), d), { owner: 'platform', rule: 'system-services' });
  assert.deepEqual(classifyProcess(proc({ uid: 0, comm: 'bash', cgroups: ['/'] }), d), { owner: 'platform', rule: 'root' });
  assert.deepEqual(classifyProcess(proc(), d), { owner: 'customer', rule: 'default' });
  // The default is used when no rules object is given.
  assert.deepEqual(classifyProcess(proc({ self: true })), { owner: 'platform', rule: 'collector' });
});

test('cgroup globs: * within a segment, ** across, trailing /** includes the directory itself', () => {
  assert.ok(globToRegExp('/system.slice/*.service').test('/system.slice/ssh.service'));
  assert.ok(!globToRegExp('/system.slice/*.service').test('/system.slice/a/b.service'));
  assert.ok(globToRegExp('/a/**/c').test('/a/x/y/c'));
  assert.ok(globToRegExp('/kubepods/**').test('/kubepods'));
  assert.ok(globToRegExp('/kubepods/**').test('/kubepods/besteffort/pod1'));
  assert.ok(!globToRegExp('/kubepods/**').test('/kubepodsX'));
  assert.ok(globToRegExp('/app-?.scope').test('/app-1.scope'));
  assert.ok(!globToRegExp('/a.b').test('/aXb')); // dots are literal
  // Any of the process's hierarchies may match (cgroup v1 + v2 hybrid).
  const rules = compileClassificationRules({ rules: [{ owner: 'platform', match: { cgroup: '/process_api/*' } }] });
  assert.equal(classifyProcess(proc({ cgroups: ['/', '/process_api/26089ddf'] }), rules).owner, 'platform');
  assert.equal(classifyProcess(proc({ cgroups: [] }), rules).owner, 'customer'); // unreadable cgroup: no match
});

test('uid: a number, a list, an inclusive range; unknown uid matches no uid rule', () => {
  const r = (uid: unknown) => compileClassificationRules({ default: 'customer', rules: [{ owner: 'platform', match: { uid } }] });
  assert.equal(classifyProcess(proc({ uid: 0 }), r(0)).owner, 'platform');
  assert.equal(classifyProcess(proc({ uid: 33 }), r([0, 33])).owner, 'platform');
  assert.equal(classifyProcess(proc({ uid: 999 }), r({ min: 1, max: 999 })).owner, 'platform');
  assert.equal(classifyProcess(proc({ uid: 1000 }), r({ min: 1, max: 999 })).owner, 'customer');
  assert.equal(classifyProcess(proc({ uid: undefined }), r({ min: 0, max: 65535 })).owner, 'customer');
});

test('comm regex, AND within a match, and rule order (first match wins)', () => {
  const rules = parseClassificationRules(`
version: 1
default: platform
rules:
  - name: customer nginx as root
    owner: customer
    match: { comm: "^nginx", uid: 0 }
  - name: sidecars
    owner: platform
    match: { comm: "^(envoy|pilot-agent)$" }
  - name: everyone else
    owner: customer
    match: { uid: { min: 0, max: 4294967295 } }
`);
  assert.deepEqual(classifyProcess(proc({ comm: 'nginx: worker', uid: 0 }), rules), { owner: 'customer', rule: 'customer nginx as root' });
  // uid 33 fails the AND of the first rule, falls to the third.
  assert.deepEqual(classifyProcess(proc({ comm: 'nginx', uid: 33 }), rules), { owner: 'customer', rule: 'everyone else' });
  assert.deepEqual(classifyProcess(proc({ comm: 'envoy', uid: 1337 }), rules), { owner: 'platform', rule: 'sidecars' });
  assert.deepEqual(classifyProcess(proc({ comm: 'envoyx', uid: undefined }), rules), { owner: 'platform', rule: 'default' });
  // Swapping the order changes the answer for a process that matches two rules.
  const a = compileClassificationRules({ rules: [{ owner: 'platform', match: { uid: 0 } }, { owner: 'customer', match: { comm: 'bash' } }] });
  const b = compileClassificationRules({ rules: [{ owner: 'customer', match: { comm: 'bash' } }, { owner: 'platform', match: { uid: 0 } }] });
  const p = proc({ uid: 0, comm: 'bash' });
  assert.deepEqual([classifyProcess(p, a), classifyProcess(p, b)], [{ owner: 'platform', rule: 'rules[0]' }, { owner: 'customer', rule: 'rules[0]' }]);
});

test('rules documents in JSON are accepted too', () => {
  const r = parseClassificationRules('{"rules":[{"owner":"platform","match":{"comm":"^sshd$"}}]}', 'rules.json');
  assert.equal(classifyProcess(proc({ comm: 'sshd' }), r).owner, 'platform');
  assert.equal(r.default, 'customer');
});

test('bad rules are refused with TELEMETRY_RULES_INVALID naming the file and the field', () => {
  const bad = (text: string, re: RegExp) =>
    assert.throws(
      () => parseClassificationRules(text, 'rules.yaml'),
      (e: unknown) => isVeriteeError(e, 'TELEMETRY_RULES_INVALID') && e.message.startsWith('rules.yaml: ') && re.test(e.message),
    );
  bad('rules: [{ owner: admin, match: { uid: 0 } }]', /rules\[0\]\.owner/);
  bad('rules: [{ owner: platform, match: {} }]', /rules\[0\]\.match: a match needs at least one/);
  bad('rules: [{ owner: platform, match: { comm: "(" } }]', /rules\[0\]\.match\.comm: "\(" is not a valid regular expression/);
  bad('rules: [{ owner: platform, match: { cgroup: "system.slice" } }]', /starts with "\/"/);
  bad('rules: [{ owner: platform, match: { uid: -1 } }]', /rules\[0\]\.match\.uid/);
  bad('rules: [{ owner: platform, match: { uid: { min: 5, max: 1 } } }]', /min > max/);
  bad('rules: [{ owner: platform, match: { uid: 0 }, colour: red }]', /colour|unrecognized/i); // typos are not ignored
  bad('rules: [{ owner: platform, match: { user: 0 } }]', /user|unrecognized/i);
  bad('version: 2\nrules: []', /version/);
  bad('rules: [', /not valid YAML or JSON/);
  bad('', /empty/);
  bad('rules: [{ owner: platform, match: { uid: 0 } }]\nrules: []', /not valid YAML or JSON/); // duplicate key
});

test('deeply nested rules are refused by name, not with a stack overflow', () => {
  assert.throws(
    () => parseClassificationRules('rules: ' + '['.repeat(5000) + ']'.repeat(5000)),
    (e: unknown) => isVeriteeError(e, 'TELEMETRY_RULES_INVALID') && /nested too deeply/.test((e as Error).message) && !/call stack/.test((e as Error).message),
  );
});

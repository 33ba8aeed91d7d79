/**
 * @module plane/kubernetes
 * Enacts decisions on Kubernetes: the `/scale` subresource of a Deployment
 * (autoscaling/v1 Scale), through `@kubernetes/client-node`. The control plane needs only
 * `get` and `update` on `deployments/scale` in the workload's namespace.
 *
 * Errors: 401/403 → CP_ORCHESTRATOR_DENIED (reported, never retried); 404 → CP_WORKLOAD_NOT_FOUND
 * (the Deployment does not exist: reported, not retried); anything else (connection refused,
 * 5xx, timeouts) → CP_ORCHESTRATOR_UNAVAILABLE (the decision stays pending and is retried).
 */
import * as k8s from '@kubernetes/client-node';
import { VeriteeError } from '@veritee/core';
import type { Orchestrator } from './orchestrator.js';
import type { WorkloadSpec } from './workload.js';

function classify(e: unknown, what: string): VeriteeError {
  if (e instanceof VeriteeError) return e;
  const code = (e as { code?: unknown }).code;
  const status = typeof code === 'number' ? code : undefined;
  const body = String((e as { body?: unknown }).body ?? (e as Error)?.message ?? e);
  let reason = body;
  try {
    reason = (JSON.parse(body) as { message?: string }).message ?? body;
  } catch {
    // not JSON
  }
  reason = reason.slice(0, 300);
  if (status === 401 || status === 403) return new VeriteeError('CP_ORCHESTRATOR_DENIED', `Kubernetes refused ${what} (${status}): ${reason}`);
  if (status === 404) return new VeriteeError('CP_ORCHESTRATOR_DENIED', `Kubernetes has no ${what} target (404): ${reason}`);
  return new VeriteeError('CP_ORCHESTRATOR_UNAVAILABLE', `Kubernetes ${what} failed${status ? ` (${status})` : ''}: ${reason}`);
}

export class KubernetesOrchestrator implements Orchestrator {
  readonly kind = 'kubernetes' as const;
  private readonly apps: k8s.AppsV1Api;

  constructor(readonly kubeconfig: k8s.KubeConfig) {
    this.apps = kubeconfig.makeApiClient(k8s.AppsV1Api);
  }

  static fromKubeconfigFile(path: string): KubernetesOrchestrator {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(path);
    return new KubernetesOrchestrator(kc);
  }

  /** A kubeconfig for one API server with a bearer token (and its CA, or insecure for loopback tests). */
  static forServer(o: { server: string; token: string; caData?: string; skipTLSVerify?: boolean }): KubernetesOrchestrator {
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: o.server, ...(o.caData ? { caData: o.caData } : {}), skipTLSVerify: o.skipTLSVerify ?? false }],
      users: [{ name: 'u', token: o.token }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    return new KubernetesOrchestrator(kc);
  }

  private target(w: WorkloadSpec): { name: string; namespace: string } {
    if (w.target.kind !== 'kubernetes') throw new VeriteeError('CP_WORKLOAD_INVALID', `workload ${w.name} is not a Kubernetes workload`);
    return { name: w.target.deployment, namespace: w.target.namespace };
  }

  async scale(w: WorkloadSpec, replicas: number): Promise<number> {
    const t = this.target(w);
    const what = `scaling deployment ${t.namespace}/${t.name}`;
    try {
      const r = await this.apps.replaceNamespacedDeploymentScale({
        ...t,
        body: { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: t.name, namespace: t.namespace }, spec: { replicas } },
      });
      return r.spec?.replicas ?? replicas;
    } catch (e) {
      throw classify(e, what);
    }
  }

  async current(w: WorkloadSpec): Promise<number | undefined> {
    const t = this.target(w);
    try {
      return (await this.apps.readNamespacedDeploymentScale(t)).spec?.replicas ?? 0;
    } catch (e) {
      throw classify(e, `reading the scale of deployment ${t.namespace}/${t.name}`);
    }
  }

  async close(): Promise<void> {}
}

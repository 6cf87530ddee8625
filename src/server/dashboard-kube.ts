// The dashboard's reads over the Kubernetes API with canaryd's own credentials, done only after
// the caller was authorized to get the release: its charts (canaryd queries Prometheus, the
// browser never does) and the Events on the policy and its Deployments.
import {
  createPrometheusProvider,
  type PrometheusCredentials,
  type PrometheusProvider,
  prometheusClientOptions,
} from '../analysis/index.ts';
import { readStatus } from '../controller/status.ts';
import type { KubeApi } from '../kube/api.ts';
import type { KubeObject } from '../kube/objects.ts';
import { KubeSecretSource } from '../kube/secrets.ts';
import { byCodeUnits } from '../order.ts';
import { canaryPolicySpec, type PrometheusSpec } from '../policy/schema.ts';
import { policyRef } from './operations.ts';
import { chartPlan, type ReleaseCharts, seriesOf } from './series.ts';

export interface EventView {
  type: string;
  reason: string;
  message: string;
  /** kind/name of the object the Event is about. */
  object: string;
  count: number;
  lastSeen: string;
}

export interface DashboardReader {
  /** undefined when the policy does not exist. */
  charts(namespace: string, name: string): Promise<ReleaseCharts | undefined>;
  events(namespace: string, name: string): Promise<EventView[]>;
}

/** The newest Events first, at most this many. */
export const MAX_EVENTS = 50;

interface KubeEvent extends KubeObject {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  involvedObject?: { kind?: string; name?: string };
  lastTimestamp?: string;
  eventTime?: string;
  firstTimestamp?: string;
}

export function kubeDashboardReader(
  kube: KubeApi,
  options: {
    /** For policies that name no Prometheus (the controller's --prometheus-url). */
    defaultPrometheus?: PrometheusSpec | undefined;
    /** Used for every policy (kubectl canary dashboard --prometheus: the cluster's address is not reachable from a laptop). */
    overridePrometheus?: PrometheusSpec | undefined;
    now?: () => Date;
  } = {},
): DashboardReader {
  const now = options.now ?? (() => new Date());
  const providers = new Map<string, PrometheusProvider>();

  // The one Secret reader (kube/secrets.ts; values kept briefly: every chart request needs the credentials).
  const secrets = new KubeSecretSource(kube);
  const secretValue = async (namespace: string, ref: { name: string; key?: string } | undefined, key: string) =>
    ref === undefined ? undefined : secrets.value({ namespace, name: ref.name, key: ref.key ?? key });

  const providerFor = async (namespace: string, spec: PrometheusSpec): Promise<PrometheusProvider> => {
    const bearerToken = await secretValue(namespace, spec.bearerTokenSecretRef, 'token');
    const basic = spec.basicAuthSecretRef;
    const username = await secretValue(namespace, basic && { name: basic.name, key: 'username' }, 'username');
    const password = await secretValue(namespace, basic && { name: basic.name, key: 'password' }, 'password');
    const ca = await secretValue(namespace, spec.caSecretRef, 'ca.crt');
    const credentials: Omit<PrometheusCredentials, 'insecureSkipVerify'> = {
      ...(bearerToken ? { bearerToken } : {}),
      ...(username !== undefined && password !== undefined ? { basicAuth: { username, password } } : {}),
      ...(ca ? { ca } : {}),
    };
    const key = JSON.stringify([spec.address, spec.timeout, spec.insecureSkipVerify, credentials]);
    let provider = providers.get(key);
    if (provider === undefined) {
      provider = createPrometheusProvider({ ...prometheusClientOptions(spec, credentials), method: 'POST' });
      providers.set(key, provider);
    }
    return provider;
  };

  return {
    async charts(namespace, name) {
      const policy = await kube.get(policyRef(namespace, name));
      if (policy === null) return undefined;
      const at = now();
      const status = readStatus(policy.status, at);
      const parsed = canaryPolicySpec.safeParse(policy.spec);
      const spec = parsed.success ? parsed.data : status.activeSpec;
      const plan = chartPlan(spec?.analysis.checks ?? [], status.analysis.measurements, status.release, at);
      const prometheus = options.overridePrometheus ?? spec?.analysis.prometheus ?? options.defaultPrometheus;
      if (prometheus === undefined) {
        return seriesOf(
          plan,
          'no Prometheus configured: set spec.analysis.prometheus.address or the controller default',
        );
      }
      let provider: PrometheusProvider;
      try {
        provider = await providerFor(namespace, prometheus);
      } catch (error) {
        return seriesOf(plan, `cannot query Prometheus: ${(error as Error).message}`);
      }
      return seriesOf(plan, (query, range) => provider.queryRange(query, range));
    },

    async events(namespace, name) {
      const policy = await kube.get(policyRef(namespace, name));
      const spec = canaryPolicySpec.safeParse(policy?.spec);
      const deployment = spec.success ? spec.data.target.deployment : undefined;
      const about = new Set([
        `CanaryPolicy/${name}`,
        ...(deployment ? [`Deployment/${deployment}`, `Deployment/${deployment}-canary`] : []),
      ]);
      const events = await kube.list<KubeEvent>('v1', 'Event', namespace);
      return events
        .map((event) => ({
          type: event.type ?? 'Normal',
          reason: event.reason ?? '',
          message: event.message ?? '',
          object: `${event.involvedObject?.kind ?? ''}/${event.involvedObject?.name ?? ''}`,
          count: event.count ?? 1,
          lastSeen: event.lastTimestamp ?? event.eventTime ?? event.firstTimestamp ?? '',
        }))
        .filter((event) => about.has(event.object))
        .sort((a, b) => byCodeUnits(b.lastSeen, a.lastSeen))
        .slice(0, MAX_EVENTS);
    },
  };
}

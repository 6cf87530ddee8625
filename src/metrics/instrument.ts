// Decorators that count what goes through a port, so the controller's Kubernetes and Prometheus
// traffic is measured without the ports knowing about metrics.
import { isMetricQueryError, type MetricProvider } from '../analysis/provider.ts';
import { type KubeApi, KubeError, type KubeErrorCode, type StatusWriter } from '../kube/api.ts';
import type { KubeObject, ObjectRef } from '../kube/objects.ts';

export interface KubeRequestCounter {
  countKubeRequest(verb: string, resource: string, code: number | string, seconds?: number): void;
}

export interface PrometheusQueryObserver {
  observePrometheusQuery(seconds: number, errorCode?: string): void;
}

/** The resource name the API server uses in URLs and RBAC: Deployment → deployments. */
export function resourceOf(kind: string): string {
  const lower = kind.toLowerCase();
  if (lower.endsWith('y')) return `${lower.slice(0, -1)}ies`;
  if (lower.endsWith('s')) return `${lower}es`;
  return `${lower}s`;
}

// The status the API server most likely answered, for errors that carry none (network errors).
const STATUS_OF: Record<KubeErrorCode, number | string> = {
  NotFound: 404,
  AlreadyExists: 409,
  Conflict: 409,
  Invalid: 422,
  Forbidden: 403,
  Unauthorized: 401,
  Unavailable: 'unavailable',
  Unknown: 'unknown',
};

const codeOf = (error: unknown): number | string =>
  error instanceof KubeError ? (error.status ?? STATUS_OF[error.code]) : 'unknown';

/** Wraps a KubeApi (and its status writer, when it has one) to count every request. */
export function instrumentKubeApi<T extends KubeApi & Partial<StatusWriter>>(
  kube: T,
  counter: KubeRequestCounter,
): KubeApi & (T extends StatusWriter ? StatusWriter : unknown) {
  const counted = async <R>(verb: string, resource: string, success: number, call: () => Promise<R>): Promise<R> => {
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    try {
      const result = await call();
      // get answers null for 404: count it as the 404 the API server sent.
      counter.countKubeRequest(verb, resource, verb === 'get' && result === null ? 404 : success, seconds());
      return result;
    } catch (error) {
      counter.countKubeRequest(verb, resource, codeOf(error), seconds());
      throw error;
    }
  };
  const wrapped: KubeApi & Partial<StatusWriter> = {
    get: <O extends KubeObject>(ref: ObjectRef) => counted('get', resourceOf(ref.kind), 200, () => kube.get<O>(ref)),
    list: <O extends KubeObject>(apiVersion: string, kind: string, namespace: string, labelSelector?: string) =>
      counted('list', resourceOf(kind), 200, () => kube.list<O>(apiVersion, kind, namespace, labelSelector)),
    create: <O extends KubeObject>(object: O) =>
      counted('create', resourceOf(object.kind), 201, () => kube.create<O>(object)),
    mergePatch: <O extends KubeObject>(ref: ObjectRef, patch: object) =>
      counted('patch', resourceOf(ref.kind), 200, () => kube.mergePatch<O>(ref, patch)),
    apply: <O extends KubeObject>(object: O) =>
      counted('apply', resourceOf(object.kind), 200, () => kube.apply<O>(object)),
    replace: <O extends KubeObject>(object: O) =>
      counted('update', resourceOf(object.kind), 200, () => kube.replace<O>(object)),
    delete: (ref: ObjectRef) => counted('delete', resourceOf(ref.kind), 200, () => kube.delete(ref)),
  };
  const replaceStatus = kube.replaceStatus?.bind(kube);
  if (replaceStatus !== undefined) {
    wrapped.replaceStatus = <O extends KubeObject>(object: O) =>
      counted('update', `${resourceOf(object.kind)}/status`, 200, () => replaceStatus<O>(object));
  }
  return wrapped as KubeApi & (T extends StatusWriter ? StatusWriter : unknown);
}

/** Wraps a MetricProvider to time every query and count failures by MetricQueryError code. */
export function instrumentMetricProvider(
  provider: MetricProvider,
  observer: PrometheusQueryObserver,
  clock: () => number = () => performance.now(),
): MetricProvider {
  return {
    async query(promql, options) {
      const start = clock();
      try {
        const result = await provider.query(promql, options);
        observer.observePrometheusQuery((clock() - start) / 1000);
        return result;
      } catch (error) {
        observer.observePrometheusQuery((clock() - start) / 1000, isMetricQueryError(error) ? error.code : 'unknown');
        throw error;
      }
    },
  };
}

// The production wiring of the server's ports over one KubeApi, so main.ts needs a single call:
// TokenReview/SubjectAccessReview for auth, the operation annotation for operations, and either
// the controller's cache or the API itself for reading releases.
import type { KubeApi } from '../kube/api.ts';
import { subjectAccessReviewAuthorizer, tokenReviewAuthenticator } from '../kube/auth.ts';
import type { PrometheusSpec } from '../policy/schema.ts';
import type { ServerDeps } from './app.ts';
import { kubeDashboardReader } from './dashboard-kube.ts';
import { kubeOperationRequester } from './operations.ts';
import type { ReleaseReader } from './ports.ts';
import { kubeReleaseReader } from './views.ts';

export interface KubeServerOptions extends Pick<ServerDeps, 'readiness' | 'registry'> {
  /** Default: read CanaryPolicies from the API on every request (no cache needed). */
  releases?: ReleaseReader;
  log?: ServerDeps['log'];
  /** TokenReview audiences (default: the API server's). */
  audiences?: string[];
  /** The controller's default Prometheus, for the dashboard's charts of policies that name none. */
  defaultPrometheus?: PrometheusSpec | undefined;
  uiDir?: ServerDeps['uiDir'];
}

export function kubeServerDeps(kube: KubeApi, options: KubeServerOptions): ServerDeps {
  return {
    releases: options.releases ?? kubeReleaseReader(kube),
    operations: kubeOperationRequester(kube),
    authenticator: tokenReviewAuthenticator(kube, options.audiences ? { audiences: options.audiences } : {}),
    authorizer: subjectAccessReviewAuthorizer(kube),
    readiness: options.readiness,
    registry: options.registry,
    dashboard: kubeDashboardReader(kube, { defaultPrometheus: options.defaultPrometheus }),
    ...(options.uiDir === undefined ? {} : { uiDir: options.uiDir }),
    ...(options.log ? { log: options.log } : {}),
  };
}

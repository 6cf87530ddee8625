// The user's kubeconfig as kubectl reads it, for `kubectl canary`: --kubeconfig, else KUBECONFIG
// (a list of files), else ~/.kube/config; --context overrides the current context; the namespace
// defaults to the context's.
import { KubeError } from './api.ts';
import { ClientKubeApi } from './client.ts';
import { PooledKubeConfig } from './pooled-config.ts';

export interface KubeconfigOptions {
  kubeconfig?: string;
  context?: string;
}

export interface UserCluster {
  kube: ClientKubeApi;
  /** The context's namespace, or "default". */
  namespace: string;
  context: string;
  /** The kubeconfig's user entry name: a fallback identity when the cluster cannot say who we are. */
  kubeconfigUser: string;
}

export function connectAsUser(options: KubeconfigOptions = {}, fieldManager = 'kubectl-canary'): UserCluster {
  const kc = new PooledKubeConfig();
  try {
    if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
    else kc.loadFromDefault();
  } catch (error) {
    const file = options.kubeconfig === undefined ? '' : ` ${options.kubeconfig}`;
    throw new KubeError('Invalid', `kubeconfig${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (options.context !== undefined) {
    if (kc.getContextObject(options.context) === null) {
      throw new KubeError('Invalid', `context "${options.context}" not found in the kubeconfig`);
    }
    kc.setCurrentContext(options.context);
  }
  const context = kc.getCurrentContext();
  return {
    kube: new ClientKubeApi(kc, fieldManager),
    namespace: kc.getContextObject(context)?.namespace || 'default',
    context,
    kubeconfigUser: kc.getCurrentUser()?.name ?? 'unknown',
  };
}

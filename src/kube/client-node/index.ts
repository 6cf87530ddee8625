// The parts of @kubernetes/client-node canaryd uses, each from its own module instead of the
// package index, which loads every generated API and model (~45 MiB of a ~140 MiB process).
// kube/ imports the library only through here; ./lean.ts keeps even these modules from loading
// the generated index.

export { ListWatch } from '@kubernetes/client-node/dist/cache.js';
export { KubeConfig } from '@kubernetes/client-node/dist/config.js';
export { ApiException } from '@kubernetes/client-node/dist/gen/apis/exception.js';
export { HttpMethod } from '@kubernetes/client-node/dist/gen/http/http.js';
export { KubernetesObjectApi } from '@kubernetes/client-node/dist/object.js';
export { PatchStrategy } from '@kubernetes/client-node/dist/patch.js';
export type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node/dist/types.js';
export { Watch } from '@kubernetes/client-node/dist/watch.js';

// client-node's generic object API with the two requests canaryd makes that it lacks: the status
// subresource, and a collection page as the server's JSON (the typed path builds model objects
// with Dates and drops a custom resource list's `continue`). Same configuration, credentials,
// middleware and errors (ApiException) as every other request of the library.
import type { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import type { ResponseContext } from '@kubernetes/client-node/dist/gen/http/http.js';
import { HttpMethod } from '@kubernetes/client-node/dist/gen/http/http.js';
import { KubernetesObjectApi } from '@kubernetes/client-node/dist/object.js';
import type { KubernetesObject } from '@kubernetes/client-node/dist/types.js';

/** The response type that asks processResponse for the JSON as it came. */
const RAW = 'canaryd:raw-json';

export class ObjectApi extends KubernetesObjectApi {
  static over(kc: KubeConfig): ObjectApi {
    const api = kc.makeApiClient(ObjectApi);
    api.setDefaultNamespace(kc);
    return api;
  }

  /** PUT <object's path>/status: the object's resourceVersion guards it, like an update. */
  async replaceStatus(object: KubernetesObject, fieldManager: string): Promise<unknown> {
    const path = `${await this.specUriPath(object, 'replace')}/status`;
    const request = this.configuration.baseServer.makeRequestContext(path, HttpMethod.PUT);
    request.setHeaderParam('Accept', 'application/json');
    request.setHeaderParam('Content-Type', 'application/json');
    request.setQueryParam('fieldManager', fieldManager);
    request.setBody(JSON.stringify(object));
    return this.requestPromise(request, RAW);
  }

  /** GET a path (a collection page), answered as the server's JSON. */
  async getJson(path: string, query: Record<string, string | undefined>): Promise<unknown> {
    const request = this.configuration.baseServer.makeRequestContext(path, HttpMethod.GET);
    request.setHeaderParam('Accept', 'application/json');
    for (const [name, value] of Object.entries(query)) if (value !== undefined) request.setQueryParam(name, value);
    return this.requestPromise(request, RAW);
  }

  protected override async processResponse<T extends KubernetesObject>(
    response: ResponseContext,
    type?: string,
  ): Promise<T> {
    const ok = response.httpStatusCode >= 200 && response.httpStatusCode <= 299;
    // Errors as the library makes them (ApiException with the body), whatever was asked.
    if (type !== RAW || !ok) return super.processResponse<T>(response, type === RAW ? 'any' : type);
    return JSON.parse(await response.body.text()) as T;
  }
}

// RestKubeApi and its transport over HTTP on loopback: the request each KubeApi call sends
// (method, path, content type, field manager), the KubeError codes of the apiserver's answers,
// discovery for a kind it does not know, bearer token, and a watch's JSON lines across chunks.
// (Against the real apiserver: e2e/kube-client.test.ts.)
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKubeError } from '../../src/kube/api.ts';
import { RestKubeApi } from '../../src/kube/rest/api.ts';
import { RestTransport } from '../../src/kube/rest/transport.ts';

interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  auth: string | undefined;
  body: unknown;
}

const seen: Seen[] = [];
let answer: (req: Seen, res: ServerResponse) => void = (_req, res) => res.end('{}');
const server = createServer(async (req: IncomingMessage, res) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString();
  const entry = {
    method: req.method ?? '',
    url: req.url ?? '',
    contentType: req.headers['content-type'],
    auth: req.headers.authorization,
    body: text ? JSON.parse(text) : undefined,
  };
  seen.push(entry);
  answer(entry, res);
});
let kube: RestKubeApi;
let transport: RestTransport;

const status = (res: ServerResponse, code: number, reason: string, message: string) => {
  res.statusCode = code;
  res.end(JSON.stringify({ kind: 'Status', reason, message, code }));
};

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  transport = new RestTransport({
    server: `http://127.0.0.1:${port}`,
    token: 'tkn',
    rejectUnauthorized: true,
    source: 'test',
  });
  kube = new RestKubeApi(transport);
});
afterAll(() => {
  transport.close();
  server.close();
});

const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop' } };
const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' };

describe('RestKubeApi', () => {
  it('sends each call as the apiserver expects, as field manager canaryd, with the bearer token', async () => {
    seen.length = 0;
    answer = (_req, res) => res.end(JSON.stringify({ ...deployment, items: [{ metadata: { name: 'x' } }] }));
    await kube.get(ref);
    const listed = await kube.list('v1', 'Service', 'shop', 'app=web');
    await kube.create(deployment);
    await kube.mergePatch(ref, { spec: { paused: true } });
    await kube.apply(deployment);
    await kube.replace(deployment);
    await kube.delete(ref);
    await kube.replaceStatus({
      apiVersion: 'canaryd.dev/v1alpha1',
      kind: 'CanaryPolicy',
      metadata: { name: 'p', namespace: 'shop' },
    });
    expect(seen.map((s) => `${s.method} ${decodeURIComponent(s.url)} ${s.contentType ?? ''}`)).toEqual([
      'GET /apis/apps/v1/namespaces/shop/deployments/web ',
      'GET /api/v1/namespaces/shop/services?labelSelector=app=web ',
      'POST /apis/apps/v1/namespaces/shop/deployments?fieldManager=canaryd application/json',
      'PATCH /apis/apps/v1/namespaces/shop/deployments/web?fieldManager=canaryd application/merge-patch+json',
      'PATCH /apis/apps/v1/namespaces/shop/deployments/web?fieldManager=canaryd&force=true application/apply-patch+yaml',
      'PUT /apis/apps/v1/namespaces/shop/deployments/web?fieldManager=canaryd application/json',
      'DELETE /apis/apps/v1/namespaces/shop/deployments/web?propagationPolicy=Background ',
      'PUT /apis/canaryd.dev/v1alpha1/namespaces/shop/canarypolicies/p/status?fieldManager=canaryd application/json',
    ]);
    expect(seen.every((s) => s.auth === 'Bearer tkn')).toBe(true);
    expect(seen[3]?.body).toEqual({ spec: { paused: true } });
    // List items get their apiVersion and kind back.
    expect(listed[0]).toMatchObject({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' } });
  });

  it('maps the apiserver’s answers to KubeError codes; a missing object reads as null and deletes quietly', async () => {
    answer = (_req, res) => status(res, 404, 'NotFound', 'deployments "web" not found');
    expect(await kube.get(ref)).toBeNull();
    await kube.delete(ref);
    answer = (_req, res) => status(res, 409, 'AlreadyExists', 'exists');
    await expect(kube.create(deployment)).rejects.toSatisfy((e) => isKubeError(e, 'AlreadyExists'));
    answer = (_req, res) => status(res, 409, 'Conflict', 'the object has been modified');
    await expect(kube.replace(deployment)).rejects.toThrow(
      expect.objectContaining({
        code: 'Conflict',
        message: 'update Deployment shop/web: the object has been modified',
      }),
    );
    answer = (_req, res) => status(res, 503, 'ServiceUnavailable', 'etcd');
    await expect(kube.get(ref)).rejects.toSatisfy((e) => isKubeError(e, 'Unavailable'));
  });

  it('finds a kind it does not know in the discovery document of its group version, once', async () => {
    seen.length = 0;
    answer = (req, res) =>
      res.end(
        JSON.stringify(
          req.url === '/apis/example.com/v1'
            ? {
                resources: [
                  { name: 'widgets', kind: 'Widget', namespaced: false },
                  { name: 'widgets/status', kind: 'Widget', namespaced: false },
                ],
              }
            : { metadata: { name: 'w' } },
        ),
      );
    await kube.get({ apiVersion: 'example.com/v1', kind: 'Widget', name: 'w' });
    await kube.get({ apiVersion: 'example.com/v1', kind: 'Widget', name: 'w' });
    expect(seen.map((s) => s.url)).toEqual([
      '/apis/example.com/v1',
      '/apis/example.com/v1/widgets/w',
      '/apis/example.com/v1/widgets/w',
    ]);
    // A kind the server does not serve: like a missing object (reads null, writes fail NotFound).
    const gadget = { apiVersion: 'example.com/v1', kind: 'Gadget', metadata: { name: 'g' } };
    expect(await kube.get({ apiVersion: 'example.com/v1', kind: 'Gadget', name: 'g' })).toBeNull();
    await expect(kube.create(gadget)).rejects.toSatisfy((e) => isKubeError(e, 'NotFound'));
  });
});

describe('RestTransport.watch', () => {
  it('hands on every JSON line, even split across chunks, and says when the server ended it', async () => {
    answer = (_req, res) => {
      res.write('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n{"type":"MOD');
      setTimeout(() => {
        res.write('IFIED","object":{"metadata":{"name":"a","resourceVersion":"2"}}}\n');
        res.end();
      }, 20);
    };
    const events: string[] = [];
    const ended = await new Promise<Error | null>((resolve) => {
      transport.watch(
        '/api/v1/pods',
        { resourceVersion: '1' },
        (type, o) => events.push(`${type} ${(o.metadata as { name: string }).name}`),
        resolve,
      );
    });
    expect(ended).toBeNull();
    expect(events).toEqual(['ADDED a', 'MODIFIED a']);
    expect(seen.at(-1)?.url).toBe('/api/v1/pods?resourceVersion=1&watch=true');
  });

  it('a refused watch ends with the status and its body', async () => {
    answer = (_req, res) => status(res, 410, 'Expired', 'too old resource version');
    const ended = await new Promise<Error | null>((resolve) => {
      transport.watch('/api/v1/pods', {}, () => {}, resolve);
    });
    expect(ended).toMatchObject({ status: 410 });
  });
});

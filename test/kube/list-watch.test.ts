// The controller's list-watch without client-node (a fake transport stands in for the apiserver):
// paged lists, watches continued from the last resourceVersion (bookmarks included), 410 Gone →
// list again with what vanished reported deleted, failures handed to the owner, stop is final.
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/kube/objects.ts';
import { type ListWatchTransport, RestListWatch } from '../../src/kube/rest/list-watch.ts';
import { HttpStatusError, type Query, type WatchEventType } from '../../src/kube/rest/transport.ts';

const obj = (name: string, rv: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'ns', resourceVersion: rv },
});

interface OpenWatch {
  query: Query;
  send(type: WatchEventType, object: object): void;
  end(error: Error | null): void;
  aborted: boolean;
}

function fakeApiserver(pages: Array<{ items: KubeObject[]; rv: string; continue?: string }>) {
  const lists: Query[] = [];
  const watches: OpenWatch[] = [];
  let listCall = 0;
  const transport: ListWatchTransport = {
    request: (async (_method: string, _path: string, options?: { query?: Query }) => {
      lists.push(options?.query ?? {});
      const page = pages[Math.min(listCall++, pages.length - 1)];
      if (!page) throw new Error('no page');
      return {
        metadata: { resourceVersion: page.rv, continue: page.continue },
        items: page.items.map((o) => ({ ...o, metadata: { ...o.metadata } })),
      };
    }) as ListWatchTransport['request'],
    watch: (_path, query, onEvent, onDone) => {
      const watch: OpenWatch = {
        query,
        aborted: false,
        send: (type, object) => onEvent(type, object as Record<string, unknown>),
        end: (error) => onDone(error),
      };
      watches.push(watch);
      return {
        abort: () => {
          watch.aborted = true;
        },
      };
    },
  };
  return { transport, lists, watches, setPages: (p: typeof pages) => pages.splice(0, pages.length, ...p) };
}

function record(lw: RestListWatch) {
  const seen: string[] = [];
  const errors: unknown[] = [];
  lw.on('add', (o) => seen.push(`add ${o.metadata.name}@${o.metadata.resourceVersion}`));
  lw.on('update', (o) => seen.push(`update ${o.metadata.name}@${o.metadata.resourceVersion}`));
  lw.on('delete', (o) => seen.push(`delete ${o.metadata.name}`));
  lw.on('error', (e) => errors.push(e));
  return { seen, errors };
}

const options = { path: '/api/v1/services', prepare: (o: KubeObject) => ({ ...o, kind: 'Service' }), random: () => 0 };

describe('RestListWatch', () => {
  it('lists every page, then watches from the list’s version with bookmarks, for minutes at a time', async () => {
    const api = fakeApiserver([
      { items: [obj('a', '1')], rv: '5', continue: 'next' },
      { items: [obj('b', '2')], rv: '6' },
    ]);
    const lw = new RestListWatch(api.transport, options);
    const { seen } = record(lw);
    await lw.start();
    expect(lw.listed).toBe(true);
    expect(api.lists.map((q) => q.continue)).toEqual([undefined, 'next']);
    expect(seen).toEqual(['add a@1', 'add b@2']);
    expect(api.watches[0]?.query).toMatchObject({
      resourceVersion: '6',
      allowWatchBookmarks: true,
      timeoutSeconds: 300,
    });
  });

  it('applies events, continues after the server ends the watch from the last version or bookmark', async () => {
    const api = fakeApiserver([{ items: [obj('a', '1')], rv: '5' }]);
    const lw = new RestListWatch(api.transport, options);
    const { seen } = record(lw);
    await lw.start();
    const first = api.watches[0] as OpenWatch;
    first.send('MODIFIED', obj('a', '7'));
    first.send('MODIFIED', obj('a', '7')); // the same version again: nothing changes
    first.send('ADDED', obj('c', '8'));
    first.send('DELETED', obj('c', '9'));
    first.send('BOOKMARK', { metadata: { resourceVersion: '12' } });
    first.end(null);
    await Promise.resolve();
    expect(seen).toEqual(['add a@1', 'update a@7', 'add c@8', 'delete c']);
    expect(api.lists).toHaveLength(1);
    expect(api.watches[1]?.query.resourceVersion).toBe('12');
  });

  it('410 Gone lists again and reports what the new list lacks as deleted', async () => {
    const api = fakeApiserver([{ items: [obj('a', '1'), obj('b', '2')], rv: '5' }]);
    const lw = new RestListWatch(api.transport, options);
    const { seen } = record(lw);
    await lw.start();
    api.setPages([{ items: [obj('b', '3')], rv: '20' }]);
    api.watches[0]?.send('ERROR', { kind: 'Status', code: 410 });
    api.watches[0]?.end(null);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(seen).toEqual(['add a@1', 'add b@2', 'delete a', 'update b@3']);
    expect(api.watches[1]?.query.resourceVersion).toBe('20');
  });

  it('a failed watch goes to the owner (who restarts it) and continues from where it was', async () => {
    const api = fakeApiserver([{ items: [obj('a', '1')], rv: '5' }]);
    const lw = new RestListWatch(api.transport, options);
    const { errors } = record(lw);
    await lw.start();
    api.watches[0]?.end(new HttpStatusError(500, { message: 'etcd' }));
    expect(errors).toHaveLength(1);
    expect(api.watches).toHaveLength(1);
    await lw.start();
    expect(api.lists).toHaveLength(1);
    expect(api.watches[1]?.query.resourceVersion).toBe('5');
  });

  it('after stop, nothing restarts and late events are ignored', async () => {
    const api = fakeApiserver([{ items: [], rv: '5' }]);
    const lw = new RestListWatch(api.transport, options);
    const { seen, errors } = record(lw);
    await lw.start();
    await lw.stop();
    expect(api.watches[0]?.aborted).toBe(true);
    api.watches[0]?.send('ADDED', obj('late', '9'));
    api.watches[0]?.end(new Error('closed'));
    await Promise.resolve();
    expect(seen).toEqual([]);
    expect(errors).toEqual([]);
    expect(api.watches).toHaveLength(1);
  });
});

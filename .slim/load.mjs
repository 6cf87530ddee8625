const D='@kubernetes/client-node/dist';
const [{KubeConfig},{Watch},{ListWatch},{KubernetesObjectApi},{CustomObjectsApiRequestFactory},{ApiException},{PatchStrategy}] = await Promise.all([
 import(`${D}/config.js`), import(`${D}/watch.js`), import(`${D}/cache.js`), import(`${D}/object.js`), import(`${D}/gen/apis/CustomObjectsApi.js`), import(`${D}/gen/apis/exception.js`), import(`${D}/patch.js`)]);
await import('fastify'); await import('prom-client'); await import('zod'); await import('yaml'); await import('node-cron');
const kc = new KubeConfig(); kc.loadFromString(`apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x`);
const o = KubernetesObjectApi.makeApiClient(kc);
const u=process.memoryUsage(); console.log(process.argv[2], (u.rss/1048576).toFixed(1),'MiB rss', (u.heapUsed/1048576).toFixed(1),'heap');

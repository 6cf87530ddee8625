// The demo app as a real container's entry point (kind path): same server the local pod runner
// runs, configured from the container's env.
import { startDemoServer } from '../cluster/demo-app.ts';

const port = Number(process.env.PORT ?? 8080);
const server = await startDemoServer('0.0.0.0', port, process.env.HOSTNAME ?? 'demo', {
  version: process.env.VERSION ?? 'unknown',
  errorRate: Number(process.env.ERROR_RATE ?? 0),
  latencyMs: Number(process.env.LATENCY_MS ?? 0),
});
console.log(`demo app listening on :${server.port}`);
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));

// canaryd's entry point (`node src/main.ts`, the image's ENTRYPOINT, bin/canaryd.js). It points
// client-node at the few generated modules it uses before anything imports it (kube/client-node/
// lean.ts: a static import graph is linked before any of it runs, hence the dynamic import), then
// runs the composition root (canaryd.ts).
import { loadClientNodeLean } from './kube/client-node/lean.ts';

/** Starts canaryd; on a start-up error prints it and exits 2 (bad settings) or 1. */
export async function run(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  loadClientNodeLean();
  const { main } = await import('./canaryd.ts');
  const { SettingsError } = await import('./settings/settings.ts');
  const { NotificationSettingsError } = await import('./settings/notifications.ts');
  await main(argv, env).catch((error: Error) => {
    const settings = error instanceof SettingsError || error instanceof NotificationSettingsError;
    console.error(settings ? error.message : `canaryd failed to start: ${error.stack ?? error.message}`);
    process.exit(settings ? 2 : 1);
  });
}

if (import.meta.url === `file://${process.argv[1]}`) await run(process.argv.slice(2), process.env);

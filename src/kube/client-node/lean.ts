// Loads @kubernetes/client-node without its generated index and models. The package's config.js
// (KubeConfig) and object.js (the generic object API) import two or four names from modules that
// re-export every generated API and model; canaryd uses none of those, and loading them costs
// ~38 MiB of resident memory (bench/memory.ts, docs/scale.md). A resolve hook points those two
// imports at modules exporting just the names they take (./gen-index.ts, ./api.ts). object.js
// and cache.js also import serializer.js, which loads every generated model (~780 modules, ~7 MiB)
// to convert JSON into model classes and back; it is pointed at ./serializer.ts, which passes the
// JSON through as it is.
//
// Without it the same modules work, heavier, and with one difference: answers come back as
// model objects (Dates for times) rather than as the server's JSON.
// A client-node release that takes another name from those modules fails at start-up with
// "does not provide an export named …", in every test that runs canaryd
// (test/kube/lean-client-node.test.ts loads them this way too).
import { registerHooks } from 'node:module';

const PACKAGE = '/node_modules/@kubernetes/client-node/dist/';
const SHIMS: ReadonlyArray<{ parent: string; specifier: string; url: string }> = [
  { parent: 'config.js', specifier: './gen/index.js', url: new URL('./gen-index.ts', import.meta.url).href },
  { parent: 'object.js', specifier: './api.js', url: new URL('./api.ts', import.meta.url).href },
  // Every generated model, loaded to convert JSON that canaryd wants as JSON (./serializer.ts).
  { parent: 'object.js', specifier: './serializer.js', url: new URL('./serializer.ts', import.meta.url).href },
  { parent: 'cache.js', specifier: './serializer.js', url: new URL('./serializer.ts', import.meta.url).href },
];

let registered = false;

/** Must run before anything imports client-node (a static import graph links before it runs). */
export function loadClientNodeLean(): void {
  if (registered) return;
  registered = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const parent = context.parentURL ?? '';
      const shim = SHIMS.find((s) => specifier === s.specifier && parent.endsWith(PACKAGE + s.parent));
      return shim === undefined ? nextResolve(specifier, context) : { url: shim.url, shortCircuit: true };
    },
  });
}

import { registerHooks } from 'node:module';
const here = new URL('./', import.meta.url).href;
registerHooks({
  resolve(specifier, context, next) {
    const parent = context.parentURL ?? '';
    if (parent.endsWith('/@kubernetes/client-node/dist/config.js') && specifier === './gen/index.js')
      return { url: here + 'gen-shim.mjs', shortCircuit: true };
    if (parent.endsWith('/@kubernetes/client-node/dist/object.js') && specifier === './api.js')
      return { url: here + 'api-shim.mjs', shortCircuit: true };
    return next(specifier, context);
  },
});

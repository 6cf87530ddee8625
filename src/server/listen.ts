// Binds a built app to its address; kept apart from build() so tests never open a port.
import type { FastifyInstance } from 'fastify';

/** Listens on "HOST:PORT" (the `listen` setting); resolves with the bound address. */
export async function listen(app: FastifyInstance, address: string): Promise<string> {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon);
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`listen address must be HOST:PORT, got ${JSON.stringify(address)}`);
  }
  return app.listen({ host, port });
}

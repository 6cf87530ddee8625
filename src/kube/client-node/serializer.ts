// What client-node's object.js and cache.js take from its serializer.js, which imports every
// generated model (~780 modules, 6 MiB of heap and 7 MiB of RSS in a bare Node 24) to turn the
// API server's JSON into model classes with Dates, and model classes back into JSON, keeping
// only the fields the library's models know (./lean.ts points serializer.js here).
//
// canaryd's objects are the API server's JSON (kube/objects.ts: times are RFC 3339 strings, as
// the watch caches hold them): a body goes out as canaryd built it, a field newer than the
// library's models included, and an answer comes back as the server wrote it. Query parameters
// are strings, numbers and booleans, which the library's serializer passes through as well.

const JSON_TYPE = /^application\/(.+\+)?json(-patch)?$/;

/** The static methods client-node calls on its ObjectSerializer, with the same names. */
export const ObjectSerializer = {
  /** As given: JSON objects and query parameter values need no conversion. */
  serialize(data: unknown, _type?: string, _format?: string): unknown {
    return data;
  },

  /** As the server answered (parsed JSON). */
  deserialize(data: unknown, _type?: string, _format?: string): unknown {
    return data;
  },

  normalizeMediaType(mediaType: string | undefined): string | undefined {
    return mediaType === undefined ? undefined : (mediaType.split(';')[0] ?? '').trim().toLowerCase();
  },

  /** JSON, as the library chooses for the empty list every generic call passes. */
  getPreferredMediaType(mediaTypes: readonly string[]): string {
    const json = mediaTypes.map(ObjectSerializer.normalizeMediaType).find((type) => type && JSON_TYPE.test(type));
    return json ?? 'application/json';
  },

  stringify(data: unknown, mediaType: string | undefined): string {
    return mediaType?.startsWith('text/') ? String(data) : JSON.stringify(data);
  },

  parse(rawData: string, mediaType: string | undefined): unknown {
    if (mediaType === undefined) throw new Error('Cannot parse content. No Content-Type defined.');
    return mediaType.startsWith('text/') ? rawData : JSON.parse(rawData);
  },
};

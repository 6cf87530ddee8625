// String order by UTF-16 code units, the order of `<` and of Array.prototype.sort's default.
// Not localeCompare: in Node built with ICU its first call loads ICU's collation data, ~3 MiB of
// the controller's RSS (pages of the node binary and malloc), and Kubernetes names, keys, paths
// and RFC 3339 times need no locale: the same order on every machine.

export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

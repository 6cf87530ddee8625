// Maps a field path to the line:column of the YAML node that holds it, so zod's and our own
// findings point into the file like a compiler's.
import { type Document, isMap, isScalar, isSeq, type LineCounter, type Node } from 'yaml';
import type { FieldPath } from './errors.ts';

export interface Position {
  line: number;
  column: number;
}

/**
 * 'value' points at the value of the field (or, if the field is missing, at the key of its
 * parent); 'key' points at the field's own key (for unknown fields).
 */
export type Locate = (path: FieldPath, target?: 'value' | 'key') => Position | undefined;

export function locatorFor(document: Document, lineCounter: LineCounter): Locate {
  const at = (node: Node | null | undefined): Position | undefined => {
    const offset = node?.range?.[0];
    if (offset === undefined) return undefined;
    const position = lineCounter.linePos(offset);
    return { line: position.line, column: position.col };
  };
  return (path, target = 'value') => {
    for (const node of candidates(document.contents as Node | null, path, target)) {
      const position = at(node);
      if (position !== undefined) return position;
    }
    return undefined;
  };
}

type MaybeNode = Node | null | undefined;

/**
 * The nodes a path could point at, best first: the node itself, else the key of the nearest
 * field on the way (a missing field points at its parent's key, an empty value at its own key).
 */
function candidates(root: Node | null, path: FieldPath, target: 'value' | 'key'): MaybeNode[] {
  let node: MaybeNode = root;
  let keyNode: Node | undefined;
  for (const [index, segment] of path.entries()) {
    const last = index === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (pair === undefined) return [keyNode, node];
      keyNode = pair.key as Node;
      if (last && target === 'key') return [keyNode];
      node = pair.value as Node | null;
      // `service:` with nothing after it has no value node: point at the key.
      if (node === null) return [keyNode];
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as Node | undefined;
      if (item === undefined) return [keyNode, node];
      node = item;
      keyNode = undefined;
    } else {
      return [node, keyNode];
    }
  }
  return [node, keyNode];
}

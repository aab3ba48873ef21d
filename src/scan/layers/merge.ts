import { DEFAULTS } from '../defaults.js';
import { whiteoutMissingHazard } from '../rules/hazards.js';
import type { Finding, LayerEntry } from '../types.js';
import { leafOf, normalizeEntryName, parentOf } from './entry.js';
import type { LayerScan } from './layer-scan.js';

/**
 * The merged filesystem of an image: its layers applied bottom first with OCI whiteout semantics
 * (a layer's `.wh.NAME` deletes NAME from the layers below, `.wh..wh..opq` hides what they had
 * in its directory, then the layer's own entries are added in tar order). For each final path it
 * knows the entry and the layer that provides it, and the retained content of the files that some
 * scanner or package parser asked to keep, with the versions lower layers had.
 */

export interface FileVersion {
  layer: string;
  layerIndex: number;
  content: Buffer;
}

interface Node {
  entry?: LayerEntry;
  children?: Map<string, Node>;
  data?: Buffer;
  /** Retained versions of this path in lower layers, bottom first (reset when it is deleted). */
  history?: FileVersion[];
}

export interface MergedFile {
  path: string;
  entry: LayerEntry;
  content: Buffer;
  history: FileVersion[];
}

export class MergedFs {
  private readonly root: Node = { children: new Map() };
  /** Every path any applied layer had (and their parents): whiteouts of anything else are hazards. */
  private readonly ever = new Set<string>(['']);
  readonly layers: string[] = [];

  /** Apply the next layer (bottom first); returns the hazards only the merge can see. */
  apply(scan: LayerScan): Finding[] {
    const layerIndex = this.layers.length;
    this.layers.push(scan.digest);
    const findings: Finding[] = [];
    for (const path of scan.whiteouts) {
      if (!this.ever.has(path)) findings.push(whiteoutMissingHazard(path, scan.digest));
      const parent = this.find(parentOf(path));
      parent?.children?.delete(leafOf(path));
    }
    for (const dir of scan.opaques) {
      const node = this.find(dir);
      if (node?.children) node.children = new Map();
    }
    const kept = new Map(scan.kept.map((k) => [k.path, k.data]));
    for (const stored of scan.table) {
      const entry: LayerEntry = { ...stored, layer: scan.digest, layerIndex };
      this.set(entry, kept.get(entry.path));
    }
    return findings;
  }

  /** The entry that provides `path` (no symlink followed), if any layer does. */
  get(path: string): LayerEntry | undefined {
    return this.find(path)?.entry;
  }

  /**
   * `path` with symlinks followed inside the image (absolute targets from the image root, `..`
   * stopping at the root, as the container sees them); undefined for a loop or a dangling link.
   */
  resolve(path: string): string | undefined {
    let parts = normalizeEntryName(path).path.split('/').filter(Boolean);
    let hops = 0;
    for (let i = 0; i < parts.length; i++) {
      const here = parts.slice(0, i + 1).join('/');
      const node = this.find(here);
      if (!node) return undefined;
      if (node.entry?.type !== 'symlink') continue;
      if (++hops > DEFAULTS.maxSymlinkHops) return undefined;
      const target = node.entry.linkname ?? '';
      const base = target.startsWith('/') ? [] : parts.slice(0, i);
      const next: string[] = [];
      for (const c of [...base, ...target.split('/'), ...parts.slice(i + 1)]) {
        if (c === '' || c === '.') continue;
        if (c === '..') next.pop();
        else next.push(c);
      }
      parts = next;
      i = -1;
    }
    return parts.join('/');
  }

  /** The retained content of the file at `path` (symlinks followed); undefined if none was kept. */
  content(path: string): Buffer | undefined {
    const real = this.resolve(path);
    return real === undefined ? undefined : this.find(real)?.data;
  }

  /** Every final entry, parents before children. */
  *entries(): Generator<LayerEntry> {
    for (const n of this.nodes()) yield n.entry!;
  }

  /** The final files whose content was retained. */
  *files(): Generator<MergedFile> {
    for (const n of this.nodes()) {
      const entry = n.entry!;
      if (n.data) yield { path: entry.path, entry, content: n.data, history: n.history ?? [] };
    }
  }

  /** The nodes that hold an entry, parents before children (each node is its entry's path). */
  private *nodes(): Generator<Node> {
    const stack: Node[] = [this.root];
    while (stack.length) {
      const n = stack.pop()!;
      if (n.entry) yield n;
      if (n.children) for (const c of [...n.children.values()].reverse()) stack.push(c);
    }
  }

  private find(path: string): Node | undefined {
    if (path === '') return this.root;
    let node: Node | undefined = this.root;
    for (const c of path.split('/')) {
      node = node.children?.get(c);
      if (!node) return undefined;
    }
    return node;
  }

  private set(entry: LayerEntry, data: Buffer | undefined): void {
    let node = this.root;
    const parts = entry.path.split('/');
    for (let i = 0; i < parts.length; i++) {
      node.children ??= new Map();
      let child = node.children.get(parts[i]);
      if (!child) {
        child = {};
        node.children.set(parts[i], child);
      } else if (i < parts.length - 1 && child.entry && child.entry.type !== 'dir') {
        // A file where this layer puts a directory's contents: it is replaced by the directory.
        node.children.set(parts[i], (child = {}));
      }
      node = child;
    }
    const old = node.entry;
    if (entry.type !== 'dir') node.children = undefined;
    const history =
      old?.type === 'file' && node.data ? [...(node.history ?? []), version(old, node.data)] : undefined;
    node.entry = entry;
    node.data = data;
    node.history = data ? history : undefined;
    for (let p = entry.path; !this.ever.has(p); p = parentOf(p)) this.ever.add(p);
  }
}

function version(e: LayerEntry, content: Buffer): FileVersion {
  return { layer: e.layer, layerIndex: e.layerIndex, content };
}

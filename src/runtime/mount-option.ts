/**
 * `--mount` (the CLI's `type=bind,source=/a,target=/b,readonly`, the Docker API's `Mounts`):
 * both become a MountSpec, and one function turns that into what `-v` and `--tmpfs` give — a
 * VolumeSpec or a TmpfsSpec — so a bind's source meets the same canonical host-path facts and
 * protected-path policy as `-v`, and a tmpfs's options the same allow-list as `--tmpfs`. What
 * moat cannot do as asked is refused, never dropped. Pure.
 */
import { RuntimeError } from './errors.js';
import { parseBytes, type TmpfsSpec, type VolumeSpec } from './options.js';
import { checkVolumeName } from './volumes/store.js';

/** A mount as asked, in the names of Docker's `Mount` (the CLI's keys map onto them). */
export interface MountSpec {
  type: string;
  source?: string;
  target?: string;
  readonly?: boolean;
  /** Docker's `Consistency`: macOS only, no effect on Linux (as under Docker). */
  consistency?: string;
  propagation?: string;
  nonRecursive?: boolean;
  createMountpoint?: boolean;
  readOnlyForceRecursive?: boolean;
  tmpfsSize?: number;
  /** Permission bits (e.g. 0o1777). */
  tmpfsMode?: number;
  /** Further tmpfs options (`noexec`, `nr_inodes=1k`), checked like `--tmpfs`'s. */
  tmpfsOptions?: string[];
  /** Options of another mount type that were given (`volume-*`, `image-*`, `tmpfs-*` on a bind). */
  foreign?: string[];
  /** type=volume: do not fill a new volume from the image (`volume-nocopy`). */
  volumeNocopy?: boolean;
  /** type=volume: its driver (only `local`). */
  volumeDriver?: string;
  /** type=volume: labels and driver options for a volume created by this mount. */
  volumeLabels?: Record<string, string>;
  volumeOptions?: Record<string, string>;
}

const refuse = (what: string, why: string, hint?: string): never => {
  throw new RuntimeError('RUNTIME_INVALID_OPTION', `--mount ${what} is not supported by moat: ${why}`, {
    hint:
      hint ??
      'use --mount type=bind,source=/host/path,target=/path[,readonly], type=volume,source=NAME,target=/path or type=tmpfs,target=/path',
  });
};
const invalid = (msg: string, hint?: string): never => {
  throw new RuntimeError('RUNTIME_INVALID_OPTION', `invalid --mount: ${msg}`, {
    hint:
      hint ?? 'use --mount type=bind,source=/host/path,target=/path[,readonly] or type=tmpfs,target=/path',
  });
};

/**
 * A mount as moat's run options: a bind or a volume (as `-v`) or a tmpfs (as `--tmpfs`). A volume
 * mount's labels and options (`volume-label`, `volume-opt`) apply when the mount creates it.
 */
export function mountToRunOptions(m: MountSpec): { volume: VolumeSpec } | { tmpfs: TmpfsSpec } {
  if (m.type !== 'bind' && m.type !== 'tmpfs' && m.type !== 'volume')
    refuse(
      `type=${String(m.type).slice(0, 20) || '(none)'}`,
      'moat mounts type=bind, type=volume and type=tmpfs',
    );
  if (!m.target) invalid('target is required');
  if (!m.target!.startsWith('/')) invalid(`target "${m.target}" must be an absolute path`);
  if (m.consistency && !['default', 'consistent', 'cached', 'delegated'].includes(m.consistency))
    invalid(`unknown consistency "${m.consistency.slice(0, 20)}"`);
  if (m.foreign?.length) invalid(`${m.foreign.join(', ')} do not apply to type=${m.type}`);
  if (m.type === 'volume') {
    if (m.volumeDriver && m.volumeDriver !== 'local')
      refuse(`volume-driver=${m.volumeDriver.slice(0, 20)}`, "moat's volumes are local directories");
    if (m.source) checkVolumeName(m.source);
    if (m.source?.startsWith('/'))
      invalid(`a volume's source is its name, not a path: ${m.source}`, 'use type=bind for a host path');
    const volume: VolumeSpec = {
      host: '',
      container: m.target!,
      readonly: Boolean(m.readonly),
      volume: m.source ?? '',
      ...(m.source ? {} : { anonymous: true }),
      ...(m.volumeNocopy ? { nocopy: true } : {}),
      ...(m.volumeLabels ? { volumeLabels: m.volumeLabels } : {}),
      ...(m.volumeOptions ? { volumeOptions: m.volumeOptions } : {}),
    };
    return { volume };
  }
  if (m.type === 'bind') {
    if (!m.source) invalid('source is required for type=bind');
    if (!m.source!.startsWith('/'))
      invalid(
        `bind source "${m.source}" must be an absolute host path`,
        'named volumes are not offered; give an absolute path',
      );
    if (m.propagation && m.propagation !== 'rprivate' && m.propagation !== 'private')
      refuse(
        `bind-propagation=${m.propagation.slice(0, 20)}`,
        'binds are always rprivate: no mount events cross in or out',
      );
    if (m.nonRecursive) refuse('bind-nonrecursive', 'binds are recursive (as -v)');
    if (m.createMountpoint) refuse('bind-create-mountpoint', 'moat does not create host directories');
    if (m.readOnlyForceRecursive)
      refuse('bind-recursive=readonly', 'read-only binds are read-only at the bind itself (as -v ...:ro)');
    return { volume: { host: m.source!, container: m.target!, readonly: Boolean(m.readonly) } };
  }
  if (m.source) invalid('type=tmpfs takes no source');
  const options: string[] = [];
  if (m.tmpfsSize !== undefined) {
    if (!Number.isSafeInteger(m.tmpfsSize) || m.tmpfsSize <= 0)
      invalid(`tmpfs-size ${m.tmpfsSize} must be positive`);
    options.push(`size=${m.tmpfsSize}`);
  }
  if (m.tmpfsMode !== undefined) {
    if (!Number.isInteger(m.tmpfsMode) || m.tmpfsMode < 0 || m.tmpfsMode > 0o7777)
      invalid(
        `tmpfs-mode ${m.tmpfsMode} is not a permission mode`,
        'octal permissions, e.g. tmpfs-mode=1777',
      );
    options.push(`mode=${m.tmpfsMode.toString(8).padStart(3, '0')}`);
  }
  if (m.readonly) options.push('ro');
  options.push(...(m.tmpfsOptions ?? []));
  // The options themselves meet --tmpfs's allow-list in checkRunOptions (suid, dev refused).
  return { tmpfs: { path: m.target!, options } };
}

const BOOL: Record<string, boolean> = { '': true, true: true, '1': true, false: false, '0': false };

/** The CLI's `--mount` text (docker's keys) as a MountSpec. */
export function parseMount(s: string): MountSpec {
  const m: MountSpec = { type: '' };
  const bool = (k: string, v: string | undefined): boolean => {
    const b = BOOL[v ?? ''];
    if (b === undefined) invalid(`${k}=${v} is not true or false`);
    return b;
  };
  for (const field of s.split(',')) {
    if (!field) continue;
    const eq = field.indexOf('=');
    const k = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const v = eq < 0 ? undefined : field.slice(eq + 1);
    const need = (): string => v ?? invalid(`${k} needs a value`);
    switch (k) {
      case 'type':
        m.type = need();
        break;
      case 'source':
      case 'src':
        m.source = need();
        break;
      case 'target':
      case 'destination':
      case 'dst':
        m.target = need();
        break;
      case 'readonly':
      case 'ro':
        m.readonly = bool(k, v);
        break;
      case 'consistency':
        m.consistency = need();
        break;
      case 'bind-propagation':
        m.propagation = need();
        break;
      case 'bind-nonrecursive':
        m.nonRecursive = bool(k, v);
        break;
      case 'bind-create-mountpoint':
        m.createMountpoint = bool(k, v);
        break;
      case 'bind-recursive': {
        const r = need();
        if (r === 'disabled') m.nonRecursive = true;
        else if (r === 'readonly') m.readOnlyForceRecursive = true;
        else if (r !== 'enabled' && r !== 'writable') invalid(`bind-recursive=${r.slice(0, 20)}`);
        break;
      }
      case 'tmpfs-size':
        m.tmpfsSize = parseBytes(need());
        break;
      case 'tmpfs-mode': {
        const mode = need();
        if (!/^[0-7]{1,4}$/.test(mode)) invalid(`tmpfs-mode "${mode}" is not octal`, 'e.g. tmpfs-mode=1777');
        m.tmpfsMode = parseInt(mode, 8);
        break;
      }
      case 'volume-nocopy':
        m.volumeNocopy = bool(k, v);
        break;
      case 'volume-driver':
        m.volumeDriver = need();
        break;
      case 'volume-label':
      case 'volume-opt': {
        const kv = need();
        const i = kv.indexOf('=');
        if (i <= 0) invalid(`${k}=${kv.slice(0, 40)} must be KEY=VALUE`);
        const o = k === 'volume-label' ? (m.volumeLabels ??= {}) : (m.volumeOptions ??= {});
        o[kv.slice(0, i)] = kv.slice(i + 1);
        break;
      }
      case 'selinux':
      case 'bind-selinux':
      case 'relabel':
        refuse(k, 'moat sets no SELinux labels', 'drop the relabel option; the files keep their labels');
        break;
      default:
        if (/^(volume|image)-/.test(k)) (m.foreign ??= []).push(k);
        else invalid(`unknown key "${k.slice(0, 30)}"`);
    }
  }
  if (!m.type) invalid('type is required (type=bind, type=volume or type=tmpfs)');
  if (
    m.type !== 'volume' &&
    (m.volumeNocopy !== undefined || m.volumeDriver || m.volumeLabels || m.volumeOptions)
  )
    (m.foreign ??= []).push('volume-*');
  if (
    m.type === 'volume' &&
    (m.propagation || m.nonRecursive || m.createMountpoint || m.readOnlyForceRecursive)
  )
    (m.foreign ??= []).push('bind-*');
  if (m.type === 'volume' && (m.tmpfsSize !== undefined || m.tmpfsMode !== undefined))
    (m.foreign ??= []).push('tmpfs-*');
  // Docker: tmpfs-* keys on a bind (or bind-* on a tmpfs) are errors, not ignored.
  if (m.type === 'bind' && (m.tmpfsSize !== undefined || m.tmpfsMode !== undefined))
    (m.foreign ??= []).push('tmpfs-*');
  if (
    m.type === 'tmpfs' &&
    (m.propagation || m.nonRecursive || m.createMountpoint || m.readOnlyForceRecursive)
  )
    (m.foreign ??= []).push('bind-*');
  return m;
}

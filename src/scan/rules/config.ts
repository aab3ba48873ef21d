import type { ImageConfig } from '../../image/types.js';
import type { Finding, Severity } from '../types.js';
import { scanText } from './secrets.js';

/**
 * Findings about the image configuration itself: who it runs as, what it exposes, how it was
 * built (history), and credentials in its environment or build commands. Pure: config in,
 * findings out.
 */

export const CONFIG_RULES = {
  'config.no-user': { severity: 'medium', description: 'no USER: the image runs as root' },
  'config.root-user': { severity: 'medium', description: 'USER is root' },
  'config.add-remote-url': { severity: 'medium', description: 'ADD of a remote URL in the history' },
  'config.privileged-port': { severity: 'low', description: 'exposed port below 1024' },
} as const satisfies Record<string, { severity: Severity; description: string }>;

type ConfigRule = keyof typeof CONFIG_RULES;

function configFinding(rule: ConfigRule, title: string, field: string, detail?: string): Finding {
  return {
    kind: 'config',
    rule,
    severity: CONFIG_RULES[rule].severity,
    title,
    field,
    ...(detail !== undefined ? { detail } : {}),
  };
}

/** `root`, `0`, `root:…`, `0:…` (any group): the user is root. */
function isRootUser(user: string): boolean {
  const name = user.split(':')[0];
  return name === 'root' || name === '0';
}

const ADD_URL = /(?:^|[\s)])ADD\s+(?:--[a-z-]+(?:=\S*)?\s+)*(?<url>(?:https?|git|ftp):\/\/\S{1,2000})/i;

export function configFindings(config: ImageConfig): Finding[] {
  const out: Finding[] = [];
  const user = config.config?.User?.trim() ?? '';
  if (user === '')
    out.push(configFinding('config.no-user', 'no USER is set: the container runs as root', 'config.User'));
  else if (isRootUser(user))
    out.push(configFinding('config.root-user', `USER is ${user}`, 'config.User', user));

  for (const key of Object.keys(config.config?.ExposedPorts ?? {})) {
    const port = Number(/^(\d{1,5})(?:\/[a-z]+)?$/i.exec(key)?.[1]);
    if (Number.isInteger(port) && port > 0 && port < 1024) {
      out.push(
        configFinding('config.privileged-port', `exposes privileged port ${key}`, 'config.ExposedPorts', key),
      );
    }
  }

  (config.history ?? []).forEach((h, i) => {
    const cmd = h.created_by ?? '';
    const url = ADD_URL.exec(cmd)?.groups?.url;
    if (url) {
      const shownUrl = url.length > 200 ? `${url.slice(0, 200)}…` : url;
      out.push(
        configFinding('config.add-remote-url', `ADD of ${shownUrl}`, `history[${i}].created_by`, shownUrl),
      );
    }
    for (const f of scanText(cmd, { path: '', reportPath: false }))
      out.push(inField(f, `history[${i}].created_by`, 'build history'));
  });

  // Each Env entry is a KEY=VALUE line: searched as a .env file, so credential-named variables count.
  (config.config?.Env ?? []).forEach((kv, i) => {
    const name = kv.split('=')[0];
    for (const f of scanText(kv, { path: '.env', reportPath: false }))
      out.push(inField(f, `config.Env[${i}]`, `Env ${name}`));
  });
  return out;
}

function inField(f: Finding, field: string, where: string): Finding {
  const { line: _line, ...rest } = f;
  return { ...rest, title: `${f.title} in the image config (${where})`, field };
}

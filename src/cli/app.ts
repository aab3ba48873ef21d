/**
 * The CLI's side of the one request path: build a request, hand it to the router, return the
 * result. The router, engine and logger are built once per process, on first use.
 */
import { userInfo } from 'node:os';
import type { ApiRequest, RequestIo, DecisionHook, Router } from '../api/router.js';
import type { Engine } from '../runtime/engine.js';
import { createLogger, DEFAULT_LOG_LEVEL, type Logger } from '../util/logger.js';
import { mark } from '../util/timing.js';
import { translateSchemaError } from './schema-errors.js';

export interface App {
  engine: Engine;
  router: Router;
  log: Logger;
}

let app: App | undefined;
/** The level before `--log-level` is parsed, and `--log-level`'s default (shown by --help). */
export function defaultLogLevel(): string {
  return process.env.MOAT_LOG_LEVEL ?? DEFAULT_LOG_LEVEL;
}

let currentLevel = defaultLogLevel();

export function setLogLevel(level: string): void {
  currentLevel = level;
}

export function logLevel(): string {
  return currentLevel;
}

export async function getApp(hook?: DecisionHook): Promise<App> {
  if (app) return app;
  const [{ openEngine }, { createRouter }, { regoHook }] = await Promise.all([
    import('../runtime/context.js'),
    import('../api/all-routes.js'),
    import('../api/policy-hook.js'),
  ]);
  mark('app modules loaded');
  const log = createLogger(currentLevel);
  const engine = openEngine();
  engine.deps.log = (msg, extra) => log.info(extra ?? {}, msg);
  // Every decision at info; a denial of an API client's request at warn as well: the service's
  // stderr is where its owner sees it (a CLI user reads the denial in the command's own error, and
  // the docker CLI shows only the status of a refused attach or exec upgrade).
  const router = createRouter(engine, hook ?? regoHook(), (e) => {
    const entry = { decision: e.decision, request: e.input, ms: Number(e.ms.toFixed(3)) };
    if (!e.decision.allow && e.input.subject.via === 'api') log.warn(entry, 'denied');
    else log.info(entry, e.decision.allow ? 'allowed' : 'denied');
  });
  app = { engine, router, log };
  mark('app ready');
  return app;
}

export function subject(): ApiRequest['subject'] {
  const uid = process.getuid?.() ?? 0;
  let user = process.env.USER ?? String(uid);
  try {
    user = userInfo().username;
  } catch {
    /* keep $USER */
  }
  return { uid, user, via: 'cli', groups: process.getgroups?.() ?? [] };
}

export async function request<T = unknown>(
  method: ApiRequest['method'],
  path: string,
  body: unknown = {},
  io?: RequestIo,
): Promise<T> {
  const a = await getApp();
  try {
    return (await a.router.handle({ subject: subject(), method, path, body, io })) as T;
  } catch (e) {
    throw translateSchemaError(e, body);
  }
}

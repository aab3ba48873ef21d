/**
 * The one request path. The CLI (in-process) and the HTTP API build the same request
 * `{subject, method, path, body}` and hand it here: match a route → validate the body against the
 * route's JSON schema → resolve facts (image, spec about to run) → ask the decision hook → log the
 * decision → only then call the handler. There is no other way to reach a handler.
 */
import type { Readable, Writable } from 'node:stream';
import { lazyValidator, type Validator } from '../util/schema.js';
import { mark } from '../util/timing.js';
import type { FromSchema } from '../util/schema-type.js';
import { ApiError } from './errors.js';
import type { ConsoleClient } from '../runtime/tty.js';

export interface Subject {
  uid: number;
  user: string;
  /** How the request arrived. */
  via: 'cli' | 'api';
  /** A peer on this host (the CLI, the unix socket); the policy sees it as `subject.local`. */
  local?: boolean;
  /** The caller's supplementary groups (they reach a container only under the single-ID mapping). */
  groups?: number[];
}

/** Streams for requests that attach (run, logs -f, exec); the CLI passes its own stdio. */
export interface RequestIo {
  stdin?: Readable;
  stdout: Writable;
  stderr: Writable;
  progress?: (msg: string) => void;
  /** The client's terminal, for a container (or exec) with one: window size, resizes, detaching. */
  console?: ConsoleClient;
  /**
   * Called once what the request streams is under way. A following read (logs): it holds the
   * container's log open, and from then on reads to the end even if the container is removed
   * (--rm), so a client may start it. An attached start (start -a) or an exec: the process runs
   * (an exec's `pid` as runc wrote it), and its terminal takes resizes from then on.
   */
  ready?: (pid?: number) => void;
}

export interface ApiRequest {
  subject: Subject;
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  body?: unknown;
  io?: RequestIo;
  /**
   * Called once the policy allowed the request, before the handler runs: an HTTP transport
   * can send its response headers for a request that then waits (Docker's wait). The handler
   * runs when what it returns resolves (Docker's exec: decided at create, run at start), and
   * not at all if it rejects.
   */
  onAllowed?: () => unknown;
}

export interface RouteContext<B = unknown> {
  req: ApiRequest;
  body: B;
  params: Record<string, string>;
  facts: Record<string, unknown>;
}

export interface Route<B = unknown> {
  method: ApiRequest['method'];
  /** `/containers/:id/start` style pattern. */
  path: string;
  /** Stable action name the policy sees, e.g. `container.run`. */
  action: string;
  /** JSON schema of the body (every route has one; `{type:'object'}` at least). */
  body: Record<string, unknown>;
  /** Resolve what the policy needs to decide (runs after validation, before the decision). */
  facts?: (ctx: RouteContext<B>) => Promise<Record<string, unknown>>;
  handler: (ctx: RouteContext<B>) => Promise<unknown>;
}

/**
 * A route as the router holds it, its body type erased. Routes are declared with `defineRoute`,
 * which types the body from the route's schema; `Route<B>` for any B is one of these, since a
 * handler is only ever given a body its schema accepted (Router.handle validates first).
 */
export type AnyRoute = Route<never>;

/**
 * Declare a route whose handler and fact resolver see the body its schema describes: the schema
 * is written `as const` (or inline), and `ctx.body` is `FromSchema` of it, properties with a
 * `default` included (the router fills them in). A handler that annotates `ctx` with its own
 * body type is checked against the schema's. Nothing happens at run time: the route is returned.
 */
export function defineRoute<const S extends Record<string, unknown>>(
  route: Route<FromSchema<S>> & { body: S },
): AnyRoute {
  return route;
}

export interface DecisionInput {
  subject: Subject;
  method: string;
  path: string;
  action: string;
  params: Record<string, string>;
  body: unknown;
  facts: Record<string, unknown>;
}

export interface Decision {
  allow: boolean;
  reasons: string[];
  /** Which policy decided (for the decision log). */
  policy: string;
}

export type DecisionHook = (input: DecisionInput) => Promise<Decision>;

export interface DecisionLogger {
  (entry: {
    decision: Decision;
    input: Omit<DecisionInput, 'facts' | 'body'> & { facts: string[] };
    ms: number;
  }): void;
}

/**
 * Deny everything: for a router that must never run a handler (the build step that only registers
 * validators). There is no allow-all default: whoever makes a router says which policy decides.
 */
export const denyAll: DecisionHook = async () => ({
  allow: false,
  reasons: ['no policy decides for this router'],
  policy: 'builtin:deny-all',
});

interface Compiled {
  route: Route;
  re: RegExp;
  keys: string[];
  validate: Validator;
}

export class Router {
  private readonly compiled: Compiled[];

  constructor(
    routes: AnyRoute[],
    /** Required: a router without a policy would run every handler unasked. */
    private hook: DecisionHook,
    private readonly logDecision?: DecisionLogger,
  ) {
    if (typeof hook !== 'function') throw new TypeError('a router needs a decision hook');
    this.compiled = routes.map((r) => {
      const keys: string[] = [];
      const re = new RegExp(
        '^' +
          r.path.replace(/:([a-zA-Z]+)/g, (_m, k: string) => {
            keys.push(k);
            return '([^/]+)';
          }) +
          '$',
      );
      const validate = lazyValidator(`api:${r.method} ${r.path}`, r.body, {
        allErrors: true,
        useDefaults: true,
        coerceTypes: false,
      });
      // The one place the body type is given back: `handle` calls the handler only with a body
      // that `validate` accepted, the value of the type defineRoute derived from this schema.
      return { route: r as Route, re, keys, validate };
    });
  }

  setDecisionHook(hook: DecisionHook): void {
    this.hook = hook;
  }

  routes(): Route[] {
    return this.compiled.map((c) => c.route);
  }

  async handle(req: ApiRequest): Promise<unknown> {
    const [pathOnly] = req.path.split('?');
    let found: { c: Compiled; params: Record<string, string> } | undefined;
    let methodMismatch = false;
    for (const c of this.compiled) {
      const m = c.re.exec(pathOnly);
      if (!m) continue;
      if (c.route.method !== req.method) {
        methodMismatch = true;
        continue;
      }
      const params: Record<string, string> = {};
      c.keys.forEach((k, i) => (params[k] = decodeURIComponent(m[i + 1])));
      found = { c, params };
      break;
    }
    if (!found) {
      throw new ApiError(
        'API_NOT_FOUND',
        methodMismatch
          ? `${req.method} is not allowed on ${pathOnly}`
          : `no such endpoint: ${req.method} ${pathOnly}`,
      );
    }
    const { c, params } = found;
    const body = structuredClone(req.body ?? {});
    if (!c.validate(body)) {
      const errs = (c.validate.errors ?? []).map(
        (e) =>
          `${e.instancePath || '(body)'} ${e.message ?? 'is invalid'}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`,
      );
      throw new ApiError('API_INVALID_REQUEST', `invalid request to ${c.route.action}: ${errs.join('; ')}`, {
        details: { errors: errs },
      });
    }
    const ctx: RouteContext = { req, body, params, facts: {} };
    if (c.route.facts) ctx.facts = await c.route.facts(ctx);
    mark('facts resolved');
    const input: DecisionInput = {
      subject: req.subject,
      method: req.method,
      path: pathOnly,
      action: c.route.action,
      params,
      body,
      facts: ctx.facts,
    };
    const t0 = performance.now();
    let decision: Decision;
    try {
      decision = await this.hook(input);
    } catch (e) {
      // Fail closed: a policy that cannot decide denies.
      throw new ApiError(
        'POLICY_ERROR',
        `the policy could not decide ${c.route.action}: ${(e as Error).message}`,
        { cause: e, hint: 'fix the policy (moat policy check) and retry' },
      );
    }
    this.logDecision?.({
      decision,
      input: {
        subject: input.subject,
        method: input.method,
        path: input.path,
        action: input.action,
        params,
        facts: Object.keys(ctx.facts),
      },
      ms: performance.now() - t0,
    });
    mark('decided');
    if (!decision.allow) {
      throw new ApiError(
        'POLICY_DENIED',
        `${c.route.action} denied by ${decision.policy}${decision.reasons.length ? `: ${decision.reasons.join('; ')}` : ''}`,
        {
          details: { reasons: decision.reasons, policy: decision.policy },
          hint: 'ask the owner of the policy, or change the request',
        },
      );
    }
    await req.onAllowed?.();
    return c.route.handler(ctx);
  }
}

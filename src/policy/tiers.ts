/**
 * A body's compiled form, and the choice between the evaluator's tiers for it: closures first
 * (fast.ts), straight-line generated code once the body is hot (jit.ts, see hotThreshold), and
 * the general path (the evaluator, through EvalHost.evalExprGeneric) for any expression neither
 * can run. The one module that knows both faster tiers, so neither has to import the other.
 */
import type { Body } from './ast.js';
import { TRAIL, type Frame } from './eval/frame.js';
import type { EvalHost, RunFn, SegFn } from './eval/host.js';
import { closureRun, closureSegment } from './fast.js';
import { generate, hotThreshold } from './jit.js';

export type BodyFn = (ev: EvalHost, f: Frame, k: () => boolean) => boolean;

/** The compiled form of a body: simple expressions run in a loop, the rest through the general path. */
export interface CompiledBody {
  /** Evaluates from expression `from`, calling k for each solution; bindings are undone after. */
  run(e: EvalHost, f: Frame, k: () => boolean, from: number): boolean;
  /**
   * For a fresh frame that is thrown away afterwards: runs the leading simple expressions, keeping
   * their bindings. Returns the body's length if they all held, -1 if one failed, or the index
   * of the first expression that needs `run` (with the bindings made so far in place).
   */
  straight(e: EvalHost, f: Frame): number;
  readonly length: number;
}

// The compiled form hangs off the body under a symbol key (faster than a WeakMap on the hot path;
// invisible to JSON, for-in and the compile cache's encoder).
const BODY_FN = Symbol('bodyFn');
type WithBody = Body & { [BODY_FN]?: CompiledBody & { fn?: BodyFn } };

export function bodyFn(body: Body, ev: EvalHost): BodyFn {
  const c = compiledBody(body, ev);
  return (c.fn ??= (e, f, k) => c.run(e, f, k, 0));
}

export function compiledBody(body: Body, ev: EvalHost): CompiledBody & { fn?: BodyFn } {
  const node = body as WithBody;
  return (node[BODY_FN] ??= compileBody(body, ev));
}

function compileBody(body: Body, ev: EvalHost): CompiledBody {
  const n = body.length;
  // expression j by the general path, the rest of the body by `run`
  const general: RunFn = (e, f, k, j) => e.evalExprGeneric(body[j], f, () => run(e, f, k, j + 1));
  // Closures first; generated code once the body is hot (see hotThreshold in jit.ts).
  let seg: SegFn;
  let runNow: RunFn;
  let uses = 0;
  const hot = hotThreshold();
  const gen = hot === 0 ? generate(body, ev, general) : undefined;
  if (gen) {
    seg = gen.seg;
    runNow = gen.run;
    uses = -1;
  } else {
    seg = closureSegment(body, ev);
    runNow = closureRun(body, ev, seg);
    if (hot === 0) uses = -1; // no code generation here: closures for good
  }
  const warm = (): void => {
    if (++uses < hot) return;
    uses = -1;
    const g = generate(body, ev, general);
    if (g) {
      seg = g.seg;
      runNow = g.run;
    }
  };
  const run: RunFn = (e, f, k, from) => {
    if (uses >= 0) warm();
    return runNow(e, f, k, from);
  };
  const straight = (e: EvalHost, f: Frame): number => {
    if (uses >= 0) warm();
    const mark = TRAIL.n;
    try {
      return seg(e, f, 0);
    } finally {
      TRAIL.n = mark; // the bindings stay: the frame is the caller's to throw away
    }
  };
  return { run, straight, length: n };
}

/**
 * Executing a parsed template over data, as Go's text/template does: dot and `$`, variables with
 * their scopes, field chains (map keys, struct fields and methods), function calls and
 * pipelines, if/with/range with Go's truth, break and continue. Errors are Go's
 * (`template: :1:2: executing "" at <.Nope>: ...`).
 *
 * Bounded: every step counts against `maxSteps` and the output against `maxOutput`, so nested
 * ranges over large lists or a growing string stop with an error instead of running on.
 */
import { FuncError, TemplateError } from './errors.js';
import type { FuncDef } from './funcs.js';
import {
  showArg,
  showCmd,
  showPipe,
  type Arg,
  type Cmd,
  type Control,
  type Node,
  type Pipe,
} from './parse.js';
import { goType, isMap, isStruct, own, printValue, sortedKeys, truth } from './values.js';

export interface ExecLimits {
  /** Characters of output (and of any one string a function makes). */
  maxOutput: number;
  /** Nodes, commands, arguments and loop iterations evaluated. */
  maxSteps: number;
}

/** No value from a previous pipeline stage (Go's missingVal): different from a missing value. */
const NO_FINAL = Symbol('no final');
type Final = unknown;

class BreakLoop {}
class ContinueLoop {}

export function execute(
  src: string,
  root: readonly Node[],
  data: unknown,
  funcs: Readonly<Record<string, FuncDef>>,
  limits: ExecLimits,
): string {
  const out: string[] = [];
  let outLen = 0;
  let steps = 0;
  const vars: { name: string; value: unknown }[] = [{ name: '$', value: data }];

  const fail = (pos: number, context: string, msg: string): never => {
    const lineStart = src.lastIndexOf('\n', pos - 1) + 1;
    const line = src.slice(0, pos).split('\n').length;
    const col = Buffer.byteLength(src.slice(lineStart, pos), 'utf8');
    const ctx = context.length > 20 ? `${context.slice(0, 20)}...` : context;
    throw new TemplateError(`template: :${line}:${col}: executing "" at <${ctx}>: ${msg}`);
  };
  const failArg = (a: Arg, msg: string): never => fail(a.pos, showArg(a), msg);
  const step = () => {
    if (++steps > limits.maxSteps)
      throw new TemplateError(`template: : execution took more than ${limits.maxSteps} steps`);
  };
  const tooLong = () => new TemplateError(`template: : output is longer than ${limits.maxOutput} characters`);
  const write = (s: string) => {
    outLen += s.length;
    if (outLen > limits.maxOutput) throw tooLong();
    out.push(s);
  };

  const lookupVar = (a: Arg & { t: 'var' }): unknown => {
    for (let i = vars.length - 1; i >= 0; i--) if (vars[i].name === a.name) return vars[i].value;
    return failArg(a, `undefined variable: ${a.name}`);
  };
  const setVar = (name: string, value: unknown) => {
    for (let i = vars.length - 1; i >= 0; i--)
      if (vars[i].name === name) {
        vars[i].value = value;
        return;
      }
  };

  function notAFunction(args: readonly Arg[], final: Final) {
    if (args.length > 1 || final !== NO_FINAL)
      failArg(args[0], `can't give argument to non-function ${showArg(args[0])}`);
  }

  function call(
    dot: unknown,
    fn: (args: unknown[]) => unknown,
    ctx: { pos: number; show: string },
    name: string,
    args: readonly Arg[],
    final: Final,
  ): unknown {
    const argv = args.slice(1).map((a) => evalArg(dot, a));
    if (final !== NO_FINAL) argv.push(final);
    let r: unknown;
    try {
      r = fn(argv);
    } catch (e) {
      if (e instanceof FuncError) fail(ctx.pos, ctx.show, `error calling ${name}: ${e.message}`);
      throw e;
    }
    if (typeof r === 'string' && r.length > limits.maxOutput) throw tooLong();
    return r;
  }

  function evalField(
    dot: unknown,
    name: string,
    node: Arg,
    args: readonly Arg[],
    final: Final,
    receiver: unknown,
  ): unknown {
    if (receiver === undefined) return undefined; // Go: a missing value's fields are missing too
    if (receiver === null) return failArg(node, `nil pointer evaluating interface {}.${name}`);
    const hasArgs = args.length > 1 || final !== NO_FINAL;
    if (isStruct(receiver)) {
      if (!Object.hasOwn(receiver, name))
        return failArg(node, `can't evaluate field ${name} in type ${goType(receiver)}`);
      const v = receiver[name];
      if (typeof v === 'function') {
        const method = v as (...a: unknown[]) => unknown;
        const n = args.length - 1 + (final !== NO_FINAL ? 1 : 0);
        if (n !== method.length)
          failArg(node, `wrong number of args for ${name}: want ${method.length} got ${n}`);
        return call(dot, (a) => method(...a), { pos: node.pos, show: showArg(node) }, name, args, final);
      }
      if (hasArgs) failArg(node, `${name} has arguments but cannot be invoked as function`);
      return v;
    }
    if (isMap(receiver)) {
      if (hasArgs) failArg(node, `${name} is not a method but has arguments`);
      return own(receiver, name);
    }
    return failArg(node, `can't evaluate field ${name} in type ${goType(receiver)}`);
  }

  function evalFieldChain(
    dot: unknown,
    receiver: unknown,
    node: Arg,
    idents: readonly string[],
    args: readonly Arg[],
    final: Final,
  ): unknown {
    let r = receiver;
    for (let i = 0; i < idents.length - 1; i++) r = evalField(dot, idents[i], node, [], NO_FINAL, r);
    return evalField(dot, idents[idents.length - 1], node, args, final, r);
  }

  function evalVariable(dot: unknown, v: Arg & { t: 'var' }, args: readonly Arg[], final: Final): unknown {
    const value = lookupVar(v);
    if (!v.idents.length) {
      notAFunction(args, final);
      return value;
    }
    return evalFieldChain(dot, value, v, v.idents, args, final);
  }

  function evalFunction(
    dot: unknown,
    ident: Arg & { t: 'ident' },
    cmd: { pos: number; show: string },
    args: readonly Arg[],
    final: Final,
  ): unknown {
    const f = funcs[ident.name];
    if (!f) return failArg(ident, `function ${JSON.stringify(ident.name)} not defined`);
    const n = args.length - 1 + (final !== NO_FINAL ? 1 : 0);
    if (n < f.min || n > f.max)
      failArg(
        ident,
        f.min === f.max
          ? `wrong number of args for ${ident.name}: want ${f.min} got ${n}`
          : `wrong number of args for ${ident.name}: want at least ${f.min} got ${n}`,
      );
    if (ident.name === 'and' || ident.name === 'or') {
      // evaluated left to right, stopping at the first value that decides
      let v: unknown;
      for (const a of args.slice(1)) {
        v = evalArg(dot, a);
        if (truth(v) === (ident.name === 'or')) return v;
      }
      return final !== NO_FINAL ? final : v;
    }
    return call(dot, f.fn, cmd, ident.name, args, final);
  }

  function evalArg(dot: unknown, a: Arg): unknown {
    step();
    switch (a.t) {
      case 'dot':
        return dot;
      case 'nil':
        return null;
      case 'bool':
      case 'number':
      case 'string':
        return a.val;
      case 'field':
        return evalFieldChain(dot, dot, a, a.idents, [a], NO_FINAL);
      case 'var':
        return evalVariable(dot, a, [a], NO_FINAL);
      case 'pipe':
        return evalPipeline(dot, a.pipe);
      case 'ident':
        return evalFunction(dot, a, { pos: a.pos, show: a.name }, [a], NO_FINAL);
      case 'chain':
        if (a.node.t === 'nil') failArg(a, `indirection through explicit nil in ${showArg(a)}`);
        return evalFieldChain(dot, evalArg(dot, a.node), a, a.idents, [a], NO_FINAL);
    }
  }

  function evalCommand(dot: unknown, cmd: Cmd, final: Final): unknown {
    step();
    const first = cmd.args[0];
    switch (first.t) {
      case 'field':
        return evalFieldChain(dot, dot, first, first.idents, cmd.args, final);
      case 'chain': {
        if (first.node.t === 'nil') failArg(first, `indirection through explicit nil in ${showArg(first)}`);
        const receiver = evalArg(dot, first.node);
        return evalFieldChain(dot, receiver, first, first.idents, cmd.args, final);
      }
      case 'ident':
        return evalFunction(dot, first, { pos: cmd.pos, show: showCmd(cmd) }, cmd.args, final);
      case 'pipe':
        notAFunction(cmd.args, final);
        return evalPipeline(dot, first.pipe);
      case 'var':
        return evalVariable(dot, first, cmd.args, final);
      case 'nil':
        return failArg(first, 'nil is not a command');
      default:
        notAFunction(cmd.args, final);
        return evalArg(dot, first);
    }
  }

  function evalPipeline(dot: unknown, pipe: Pipe): unknown {
    let value: unknown = NO_FINAL;
    for (const cmd of pipe.cmds) value = evalCommand(dot, cmd, value);
    for (const d of pipe.decl) {
      if (pipe.isAssign) setVar(d.name, value);
      else vars.push({ name: d.name, value });
    }
    return value;
  }

  function walkList(dot: unknown, list: readonly Node[]) {
    for (const n of list) walk(dot, n);
  }

  function walkRange(dot: unknown, r: Control) {
    const mark = vars.length;
    const val = evalPipeline(dot, r.pipe);
    const decl = r.pipe.decl;
    const one = (key: unknown, elem: unknown): boolean => {
      step();
      if (decl.length) {
        if (r.pipe.isAssign) setVar(decl[0].name, decl.length > 1 ? key : elem);
        else vars[vars.length - 1].value = elem;
      }
      if (decl.length > 1) {
        if (r.pipe.isAssign) setVar(decl[1].name, elem);
        else vars[vars.length - 2].value = key;
      }
      const inner = vars.length;
      try {
        walkList(elem, r.list);
      } catch (e) {
        if (e instanceof BreakLoop) return false;
        if (!(e instanceof ContinueLoop)) throw e;
      } finally {
        vars.length = inner;
      }
      return true;
    };
    let any = false;
    if (Array.isArray(val)) {
      for (let i = 0; i < val.length; i++) {
        any = true;
        if (!one(i, val[i])) break;
      }
    } else if (isMap(val)) {
      for (const k of sortedKeys(val)) {
        any = true;
        if (!one(k, val[k])) break;
      }
    } else if (typeof val === 'number' && Number.isInteger(val) && val >= 0) {
      if (decl.length > 1) fail(r.pos, 'range', `can't use ${val} to iterate over more than one variable`);
      for (let i = 0; i < val; i++) {
        any = true;
        if (!one(i, i)) break;
      }
    } else if (val !== undefined && val !== null) {
      fail(r.pipe.pos, showPipe(r.pipe), `range can't iterate over ${printValue(val)}`);
    }
    if (!any && r.elseList) walkList(dot, r.elseList);
    vars.length = mark;
  }

  function walk(dot: unknown, n: Node) {
    step();
    switch (n.t) {
      case 'text':
        write(n.text);
        return;
      case 'action': {
        const mark = vars.length;
        const v = evalPipeline(dot, n.pipe);
        if (!n.pipe.decl.length) {
          write(printValue(v));
          vars.length = mark;
        }
        return;
      }
      case 'if':
      case 'with': {
        const mark = vars.length;
        const v = evalPipeline(dot, n.pipe);
        if (truth(v)) walkList(n.t === 'with' ? v : dot, n.list);
        else if (n.elseList) walkList(dot, n.elseList);
        vars.length = mark;
        return;
      }
      case 'range':
        walkRange(dot, n);
        return;
      case 'break':
        throw new BreakLoop();
      case 'continue':
        throw new ContinueLoop();
    }
  }

  try {
    walkList(data, root);
  } catch (e) {
    if (e instanceof TemplateError) e.partial = out.join('');
    throw e;
  }
  return out.join('');
}

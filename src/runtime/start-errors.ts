/**
 * runc's reasons for not starting a command, as moat errors. runc says it in one logrus line
 * (`exec failed: unable to start container process: exec: "x": executable file not found in
 * $PATH`); the user gets a moat message, a stable code with docker's status (127 not found, 126
 * cannot execute) and a hint. Pure: unit-tested on runc's own wording.
 */
import { RuntimeError, type RuntimeErrorCode } from './errors.js';

export interface StartContext {
  /** `exec` in a running container, or the start of the container's own command. */
  kind: 'exec' | 'run';
  /** The container's name, for the message. */
  name: string;
  /** The status already recorded for this failure (a run's), if any: the CLI exits with it. */
  exitCode?: number;
}

const PREFIXES = [
  /^exec failed: /,
  /^runc run failed: /,
  /^runc create failed: /,
  /^unable to start container process: /,
  /^error during container init: /,
];

/**
 * When moat-init runs first, runc looks the command up through moat-init's createContainer hook
 * (spec/landlock.ts), which says why in runc's own words: runc wraps them in its hook error.
 */
const CHECK_EXEC_HOOK =
  /^error running hook #\d+: error running hook: exit status 12[67], stdout: , stderr: (exec: ".*)$/s;

/** runc's message without its "exec failed: unable to start container process: " preamble. */
export function runcReason(msg: string): string {
  let s = msg.trim();
  for (let changed = true; changed;) {
    changed = false;
    for (const p of PREFIXES) {
      if (p.test(s)) {
        s = s.replace(p, '');
        changed = true;
      }
    }
  }
  const hook = CHECK_EXEC_HOOK.exec(s);
  return hook ? hook[1].trim() : s;
}

/** The moat error for runc's reason `msg` (see above). */
export function startError(msg: string, ctx: StartContext): RuntimeError {
  const reason = runcReason(msg);
  const where = ctx.kind === 'exec' ? `cannot exec in ${ctx.name}` : `cannot start ${ctx.name}`;
  let code: RuntimeErrorCode = ctx.kind === 'exec' ? 'RUNTIME_EXEC_FAILED' : 'RUNTIME_START_FAILED';
  let text = reason;
  let hint: string | undefined;
  // `exec: "x": executable file not found in $PATH`, `exec: "/a/b": stat /a/b: no such file or
  // directory`, `exec: "/etc/passwd": permission denied`, `exec: "/x": exec format error`.
  const ex = /^exec: ("(?:[^"\\]|\\.)*"): (.*)$/.exec(reason);
  const cwd = /^chdir to cwd \(("(?:[^"\\]|\\.)*")\) set in config\.json failed: (.*)$/.exec(reason);
  if (/^(mount source|file) .* changed since /.test(reason)) {
    // A host path that is not what the policy allowed (host-paths.ts): refused before runc ran.
    code = 'RUNTIME_HOST_PATH_CHANGED';
  } else if (ex) {
    const why = ex[2].replace(/^stat [^:]*: /, '');
    text = `${ex[1]}: ${why}`;
    if (/executable file not found|no such file or directory|not a directory/.test(why))
      code = 'RUNTIME_COMMAND_NOT_FOUND';
    else if (/permission denied|exec format error|is a directory/.test(why))
      code = 'RUNTIME_COMMAND_NOT_EXECUTABLE';
  } else if (cwd) {
    text = `working directory ${cwd[1]}: ${cwd[2]}`;
    code = ctx.kind === 'exec' ? 'RUNTIME_EXEC_FAILED' : 'RUNTIME_START_FAILED';
    hint =
      ctx.kind === 'exec'
        ? `give an existing directory with -w, or create it first (moat exec ${ctx.name} mkdir -p DIR)`
        : 'give a directory that exists in the image with -w';
  }
  return new RuntimeError(code, `${where}: ${text}`, {
    hint,
    details: { runc: msg, ...(ctx.exitCode !== undefined ? { exitCode: ctx.exitCode } : {}) },
  });
}

/**
 * The monitor of a detached container: `node monitor-main.js <id>`. It supervises the container to
 * its end, then exits. The first line on stdout tells the starting CLI whether the start worked.
 */
import { openEngine } from './context.js';

async function main(): Promise<number> {
  const id = process.argv[2];
  if (!id || !/^[0-9a-f]{64}$/.test(id)) {
    process.stdout.write(
      JSON.stringify({
        error: { code: 'RUNTIME_INVALID_OPTION', message: 'monitor needs a container id', exitCode: 125 },
      }) + '\n',
    );
    return 2;
  }
  const engine = openEngine();
  let reported = false;
  const report = (msg: unknown) => {
    if (reported) return;
    reported = true;
    process.stdout.write(JSON.stringify(msg) + '\n');
    process.stdout.end?.();
  };
  try {
    const rec = await engine.containers.load(id);
    const out = await engine.superviseDetached(rec, (r) => report(r));
    report(
      out.started
        ? { pid: -1 }
        : {
            error: {
              code: 'RUNTIME_START_FAILED',
              message: out.error ?? 'container did not start',
              exitCode: out.exitCode,
            },
          },
    );
    return 0;
  } catch (e) {
    const err = e as { code?: string; message?: string };
    report({
      error: { code: err.code ?? 'RUNTIME_START_FAILED', message: err.message ?? String(e), exitCode: 125 },
    });
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    return 1;
  }
}

process.on('SIGPIPE', () => {});
main().then((c) => {
  process.exitCode = c;
});

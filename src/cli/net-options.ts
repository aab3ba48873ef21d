/** What the commands that reach a registry share: `--tls-verify [bool]`, and closing its connections. */
import { Option } from 'commander';
import { UsageError } from './errors.js';

function parseBool(v: string | boolean | undefined): boolean {
  if (v === undefined || v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw new UsageError(`expected true or false, got ${JSON.stringify(v)}`);
}

export const tlsOption = () =>
  new Option(
    '--tls-verify [bool]',
    'verify TLS and require HTTPS (false: allow plain HTTP and unverified TLS)',
  ).argParser(parseBool);

/** Close registry connections so keep-alive sockets do not hold the process open. */
export async function closeNet(): Promise<void> {
  await (await import('../image/registry/tls.js')).closeAgents();
}

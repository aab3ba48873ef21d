/**
 * Basic authentication (go-containerregistry's transport/basic.go): the stored user name and
 * password, sent to the registry itself when it challenges with `Basic`, and to a token service
 * by bearer.ts. An identity token cannot answer a basic challenge.
 */
import type { Credentials } from '../auth-file.js';
import { RegistryError } from '../errors.js';
import { unauthorized } from './errors.js';

export function basicHeader(creds: Pick<Credentials, 'username' | 'password'>): string {
  return 'Basic ' + Buffer.from(`${creds.username}:${creds.password}`).toString('base64');
}

/** The Authorization header answering `registry`'s basic challenge. */
export function basicAuthorization(registry: string, creds: Credentials | undefined): string {
  if (!creds) throw unauthorized(registry, false);
  if (creds.identityToken)
    throw new RegistryError(
      'REGISTRY_UNAUTHORIZED',
      `${registry} asks for basic authentication; an identity token cannot be used there`,
      { hint: `run \`moat login ${registry}\` with a user name and password` },
    );
  return basicHeader(creds);
}

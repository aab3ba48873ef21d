/** Registries: the distribution API client, pull, push, credentials, save. */
export * from './errors.js';
export * from './config.js';
export * from './endpoint.js';
export * from './challenge.js';
export * from './auth-file.js';
export * from './cred-helper.js';
export * from './client.js';
export { TokenCache } from './transport/bearer.js';
export { httpError, transportError } from './transport/errors.js';
export { discard, header, readCapped } from './transport/http.js';
export * from './manifest.js';
export * from './progress.js';
export { pull, checkLimits, type PullOptions, type PullResult } from './pull.js';
export { push, type PushOptions, type PushResult } from './push.js';
export { save, type SaveFormat, type SaveResult } from './save.js';
export { closeAgents } from './tls.js';

/**
 * What the API service is started with (`startApiServer`): where it listens, the router it hands
 * requests to, and its limits. A type of its own so that the service (server.ts) and the
 * handlers that read it (http.ts, docker/) depend on it, not on each other.
 */
import type { Router, Subject } from './router.js';
import type { ServiceLimits } from './service-limits.js';

export interface TcpListen {
  host: string;
  port: number;
  /** PEM: the server's certificate and key, and the CA that signs client certificates. */
  cert: string;
  key: string;
  ca: string;
}

export interface ApiServerOptions {
  /** A unix socket path, or TCP with mutual TLS. */
  socket?: string;
  tcp?: TcpListen;
  router: Router;
  /** The unix socket's subject (its owner); TCP subjects come from client certificates. */
  subject: Subject;
  version: string;
  log?: (msg: string, extra?: Record<string, unknown>) => void;
  /** Timeouts, sizes and the connection cap; DEFAULTS (service-limits.ts) where not given. */
  limits?: Partial<ServiceLimits>;
  /** The store's directory: an upload must leave `limits.minFreeBytes` free on its filesystem. */
  storage?: string;
}

/**
 * How error codes become exit statuses: each room's table says (src/error-table.ts). Container
 * commands follow docker: 125 when moat itself failed, 126/127 when the container's command could
 * not be run, else the container's own status.
 */
import { errorInfo } from '../error-table.js';

export { EXIT } from '../errors.js';

export function exitCodeFor(code: string | undefined): number {
  return errorInfo(code).exit;
}

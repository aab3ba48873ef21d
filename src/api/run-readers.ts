/**
 * What run and create read from the trust and scan rooms before their decision (the records'
 * facts, the scan setting in force, the trust gate), in one module: run and create pay one
 * dynamic import for all of it (each costs Node's loader 1-2 ms of CPU, measured with
 * MOAT_TIMING marks: three separate ones took ~9 ms of every run), and every other command (ps,
 * logs, stop...) starts without any of it.
 */
export { signatureFacts, signersOf } from './trust-facts.js';
export { imageScanFacts } from './scan-facts.js';
export { scanConfig } from '../scan/config.js';
export { recordedScan } from '../scan/service.js';
export { SCANNER_VERSION } from '../scan/version.js';
export { assertFactsAccepted } from '../trust/facts.js';

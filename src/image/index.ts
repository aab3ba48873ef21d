/** The image room's public face. */
export * from './errors.js';
export * from './types.js';
export * from './digest.js';
export * from './reference.js';
export * from './store.js';
export * from './archive.js';
export * from './import.js';

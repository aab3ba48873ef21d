/** Loads every builtin family (each registers its implementations by declared name). */
import './core.js';
import './extra.js';
import './crypto-families.js';
import './yaml.js';
import './rego.js';
import './graphql.js';

export { DECLARED, IMPLS, RELATIONS } from './registry.js';

/** Loads every builtin family (each registers its implementations by declared name). */
import './core.js';
import './encoding.js';
import './yaml.js';
import './time.js';
import './net.js';
import './crypto.js';
import './semver.js';
import './misc.js';
import './jwt.js';
import './x509.js';
import './aws.js';
import './rego.js';

export { DECLARED, IMPLS, RELATIONS } from './registry.js';

/** Loads every builtin family (each registers its implementations by declared name). */
import './operators.js';
import './aggregates.js';
import './strings.js';
import './typenames.js';
import './objects.js';
import './regex.js';
import './encoding.js';
import './numbers.js';
import './time.js';
import './net.js';
import './crypto.js';
import './semver.js';
import './misc.js';
import './jwt.js';
import './x509.js';
import './aws.js';

export { DECLARED, IMPLS, RELATIONS } from './registry.js';

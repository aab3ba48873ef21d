/**
 * The small families nearly every policy calls, loaded together with the evaluator: one module
 * instead of several dynamic imports (each costs ~1 ms in a fresh process).
 */
import './operators.js';
import './aggregates.js';
import './strings.js';
import './typenames.js';
import './objects.js';
import './regex.js';
import './numbers.js';
import './semver.js';

/** The families this module loads. */
export const CORE_FAMILIES = [
  'operators',
  'aggregates',
  'strings',
  'typenames',
  'objects',
  'regex',
  'numbers',
  // small, and the default policy compares runtime versions on every run
  'semver',
] as const;

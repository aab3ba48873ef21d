/** The lazily loaded families without heavy dependencies, loaded together (one chunk, one import). */
import './encoding.js';
import './time.js';
import './net.js';
import './misc.js';

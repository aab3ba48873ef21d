/** The families built on node:crypto, loaded together: hashes and HMAC, JWT, x509, AWS signing. */
import './crypto.js';
import './jwt.js';
import './x509.js';
import './aws.js';

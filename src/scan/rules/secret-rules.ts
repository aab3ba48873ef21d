import type { Severity } from '../types.js';

/**
 * The secret rules, as data. Each pattern is global and names the credential `secret`; only its
 * first four characters are ever reported. Patterns must stay linear on hostile input: quantifiers
 * are bounded, a token pattern starts with a lookbehind refusing a token character (so a long
 * run of token characters is tried from its first position only), and a value that must end at a
 * delimiter is captured inside a lookahead, which JavaScript never backtracks into (an atomic
 * group). test/unit/scan/secrets.test.ts runs every rule on adversarial megabyte lines.
 */
export interface SecretRule {
  /** Stable id (`secret.github-token`): what findings and allow-lists name. */
  id: string;
  description: string;
  severity: Severity;
  /** One of these must occur in the text (ignoring case) before `pattern` runs: the cheap filter. */
  keywords: readonly string[];
  pattern: RegExp;
  /** Only for files whose path matches one of these globs. */
  paths?: readonly string[];
  /** The text must also match this somewhere (the GCP key file's `"type": "service_account"`). */
  requires?: RegExp;
  /** Minimum Shannon entropy (bits per character) of the secret. */
  entropy?: number;
  /** Values that are placeholders or code, not credentials. */
  reject?: RegExp;
  /** Findings of these rules on the same line are dropped: this rule says it more precisely. */
  supersedes?: readonly string[];
  /**
   * Every match of `pattern` starts where one of `keywords` starts (ignoring case): the scanner
   * then tries the pattern only at those places (found with the keywords), not at every character.
   */
  anchored?: boolean;
}

const TOKEN_START = '(?<![A-Za-z0-9_-])';
const TOKEN_END = '(?![A-Za-z0-9_-])';
const GENERIC = 'secret.generic-assignment';
/** The rules that find a credential by where it is assigned: a token rule on the same line says more. */
const BY_CONTEXT = [GENERIC, 'secret.dotenv', 'secret.npmrc-auth'];
/** A value that is a reference or a placeholder, not a credential. */
const PLACEHOLDER =
  /^(?:[$<{%*]|x{4,}|(?:change|replace)[_-]?me|example|placeholder|dummy|redacted|your[_-]|null$|none$|true$|false$)/i;

export const SECRET_RULES: readonly SecretRule[] = [
  {
    id: 'secret.private-key',
    description: 'private key (PEM or OpenSSH)',
    severity: 'high',
    keywords: ['PRIVATE KEY'],
    pattern:
      /-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----[ \t]{0,8}(?:\r?\n|\\r?\\n)(?:[A-Za-z-]{1,40}:[^\n]{0,200}\n){0,4}[ \t\r\n]{0,8}(?<secret>[A-Za-z0-9+/=]{4})/g,
  },
  {
    id: 'secret.aws-access-key-id',
    description: 'AWS access key ID',
    severity: 'high',
    keywords: ['AKIA', 'ASIA', 'ABIA', 'ACCA'],
    pattern: /(?<![A-Z0-9])(?<secret>(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})(?![A-Z0-9])/g,
    supersedes: BY_CONTEXT,
    anchored: true,
  },
  {
    id: 'secret.aws-secret-access-key',
    description: 'AWS secret access key',
    severity: 'critical',
    keywords: ['aws'],
    pattern:
      /aws_?secret_?(?:access_?)?key["']?[ \t]{0,10}(?:=|:|=>)[ \t]{0,10}["']?(?<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/gi,
    supersedes: BY_CONTEXT,
    anchored: true,
  },
  {
    id: 'secret.gcp-service-account',
    description: 'GCP service account key (JSON)',
    severity: 'critical',
    keywords: ['service_account'],
    requires: /"type"\s{0,10}:\s{0,10}"service_account"/,
    pattern:
      /"private_key"\s{0,10}:\s{0,10}"(?:-----BEGIN[ A-Z]{0,40}PRIVATE KEY-----(?:\\r)?(?:\\n)?)?(?<secret>[A-Za-z0-9+/=]{4})/g,
    supersedes: ['secret.private-key', ...BY_CONTEXT],
  },
  {
    id: 'secret.azure-storage-connection-string',
    description: 'Azure storage account key in a connection string',
    severity: 'critical',
    keywords: ['AccountKey='],
    pattern: /AccountKey=(?<secret>[A-Za-z0-9+/]{86}==)/g,
    supersedes: ['secret.azure-storage-key', ...BY_CONTEXT],
    anchored: true,
  },
  {
    id: 'secret.azure-storage-key',
    description: 'Azure storage account key',
    severity: 'critical',
    keywords: ['azure'],
    pattern:
      /azure[A-Za-z0-9_.-]{0,40}key["']?[ \t]{0,10}(?:=|:|=>)[ \t]{0,10}["']?(?<secret>[A-Za-z0-9+/]{86}==)/gi,
    supersedes: BY_CONTEXT,
    anchored: true,
  },
  {
    id: 'secret.github-token',
    description: 'GitHub token',
    severity: 'critical',
    keywords: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_'],
    pattern: new RegExp(
      `${TOKEN_START}(?<secret>gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})${TOKEN_END}`,
      'g',
    ),
    supersedes: BY_CONTEXT,
    anchored: true,
  },
  {
    id: 'secret.gitlab-token',
    description: 'GitLab personal access token',
    severity: 'critical',
    keywords: ['glpat-'],
    pattern: new RegExp(`${TOKEN_START}(?<secret>glpat-[A-Za-z0-9_-]{20,64})${TOKEN_END}`, 'g'),
    supersedes: BY_CONTEXT,
    anchored: true,
  },
  {
    id: 'secret.slack-token',
    description: 'Slack token',
    severity: 'high',
    keywords: ['xoxb-', 'xoxa-', 'xoxp-', 'xoxr-', 'xoxs-'],
    pattern: new RegExp(`${TOKEN_START}(?<secret>xox[baprs]-[0-9A-Za-z-]{10,250})${TOKEN_END}`, 'g'),
    supersedes: BY_CONTEXT,
    anchored: true,
  },
  {
    id: 'secret.npm-token',
    description: 'npm access token',
    severity: 'critical',
    keywords: ['npm_'],
    pattern: new RegExp(`${TOKEN_START}(?<secret>npm_[A-Za-z0-9]{36})${TOKEN_END}`, 'g'),
    supersedes: BY_CONTEXT,
    anchored: true,
  },
  {
    id: 'secret.jwt',
    description: 'JSON Web Token',
    severity: 'medium',
    keywords: ['eyJ'],
    pattern: new RegExp(
      `${TOKEN_START}(?<secret>eyJ[A-Za-z0-9_-]{8,4096}\\.eyJ[A-Za-z0-9_-]{8,16384}\\.[A-Za-z0-9_-]{0,4096})(?![A-Za-z0-9_.-])`,
      'g',
    ),
    supersedes: BY_CONTEXT,
    anchored: true,
  },
  {
    id: 'secret.npmrc-auth',
    description: 'npm registry credential in .npmrc',
    severity: 'critical',
    keywords: ['_auth', '_password'],
    paths: ['**/.npmrc'],
    pattern: /(?:_authToken|_auth|_password)[ \t]{0,10}=[ \t]{0,10}["']?(?<secret>[^\s"'$][^\s"']{7,1024})/g,
    reject: PLACEHOLDER,
    supersedes: [GENERIC],
    anchored: true,
  },
  {
    id: 'secret.docker-config-auth',
    description: 'registry credential in a Docker config.json',
    severity: 'critical',
    keywords: ['"auth"', '"identitytoken"'],
    paths: ['**/.docker/config.json', '**/.dockercfg'],
    pattern: /"(?:auth|identitytoken)"\s{0,10}:\s{0,10}"(?<secret>[A-Za-z0-9+/=_.-]{8,8192})"/g,
    supersedes: BY_CONTEXT,
    anchored: true,
  },
  {
    id: 'secret.dotenv',
    description: 'credential assigned in a .env file',
    severity: 'high',
    keywords: ['pass', 'secret', 'token', 'key', 'credential', 'auth', 'pwd'],
    paths: ['**/.env', '**/.env.*', '**/*.env'],
    pattern:
      /^[ \t]{0,20}(?:export[ \t]{1,10})?[A-Za-z0-9_.]{0,60}(?:pass|secret|token|api_?key|private_?key|access_?key|credential|auth|pwd)[A-Za-z0-9_.]{0,60}[ \t]{0,10}=[ \t]{0,10}["']?(?<secret>[^\s"'#]{8,1024})/gim,
    reject: PLACEHOLDER,
    supersedes: [GENERIC],
  },
  {
    id: GENERIC,
    description: 'high-entropy string assigned to a password, secret or token',
    severity: 'medium',
    keywords: ['passw', 'pwd', 'secret', 'token', 'api_key', 'apikey', 'api-key'],
    // A quoted literal only: unquoted right-hand sides in source code are expressions
    // (`token = self.token`), which is where a generic rule drowns in false positives.
    pattern:
      /(?:passw(?:or)?d|pwd|secret|token|api[_-]?key)[A-Za-z0-9_.-]{0,40}["']?[ \t]{0,5}(?:=|:=|:|=>)[ \t]{0,5}(?<q>["'`])(?=(?<secret>[^\s"'`\\]{12,200}))\k<secret>\k<q>/gi,
    entropy: 3.5,
    anchored: true,
    // Placeholders, dotted names (`typing.Optional`) and URLs are not credentials.
    reject: new RegExp(
      `${PLACEHOLDER.source}|^[A-Za-z_][A-Za-z0-9_]*(?:\\.[A-Za-z_][A-Za-z0-9_]*)+$|://`,
      'i',
    ),
  },
];

/**
 * The registry side of image trust: a client for one repository, the image's manifest digest
 * (hashed here, never taken from a header), and small-document reads and writes (signature
 * manifests, payload blobs) with hard limits. Built only on the registry client's public face
 * (send, repoUrl) and the manifest checks the pull path uses.
 */
import {
  MANIFEST_ACCEPT,
  RegistryClient,
  findCredentials,
  header,
  httpError,
  judgeManifest,
  loadRegistriesConfig,
  readCapped,
  resolveTarget,
  type RegistriesConfig,
  type Target,
} from '../../image/registry/index.js';
import { sha256Digest } from '../../image/digest.js';
import { TrustError } from '../errors.js';

export interface Repo {
  client: RegistryClient;
  target: Target;
  /** `registry/repository`, for messages. */
  name: string;
}

export interface OpenOptions {
  cfg?: RegistriesConfig;
  tlsVerify?: boolean;
  push?: boolean;
}

export async function openRepo(reference: string, o: OpenOptions = {}): Promise<Repo> {
  const cfg = o.cfg ?? (await loadRegistriesConfig());
  const target = resolveTarget(reference, cfg);
  const credentials = await findCredentials([cfg.authFile, cfg.dockerConfig], target.registry);
  const client = new RegistryClient({
    cfg,
    target,
    actions: o.push ? ['pull', 'push'] : ['pull'],
    tlsVerify: o.tlsVerify,
    credentials,
  });
  await client.ping();
  return { client, target, name: `${target.registry}/${target.repository}` };
}

/** The largest manifest (image or signature) read here. */
export const MAX_MANIFEST_BYTES = 4 << 20;

export interface ManifestBytes {
  digest: string;
  bytes: Buffer;
  mediaType: string;
}

/**
 * GET a manifest by tag or digest. Its digest is the sha256 of the bytes received: a digest the
 * registry announces must agree, and one asked for must be what came. `undefined` on 404.
 */
export async function getManifest(
  repo: Repo,
  ref: string,
  accept = MANIFEST_ACCEPT,
  image = true,
): Promise<ManifestBytes | undefined> {
  const what = `manifest ${repo.name}${ref.startsWith('sha256:') ? '@' : ':'}${ref}`;
  const res = await repo.client.send('GET', repo.client.repoUrl(`manifests/${ref}`), { headers: { accept } });
  if (res.status === 404) {
    await res.body.dump();
    return undefined;
  }
  if (res.status !== 200) {
    await res.body.dump();
    throw httpError(res.status, `GET ${what}`);
  }
  const bytes = await readCapped(res, MAX_MANIFEST_BYTES, what);
  const headerDigest = header(res.headers, 'docker-content-digest');
  const contentType = header(res.headers, 'content-type');
  if (!image) {
    // A signature manifest: its layers are not image layers, so only its identity is checked here.
    const digest = sha256Digest(bytes);
    if (
      (ref.startsWith('sha256:') && digest !== ref) ||
      (headerDigest?.startsWith('sha256:') && headerDigest !== digest)
    )
      throw new TrustError(
        'TRUST_FETCH_FAILED',
        `${what} hashes to ${digest}, but the registry ${ref.startsWith('sha256:') ? 'was asked for' : 'announced'} ${ref.startsWith('sha256:') ? ref : headerDigest}`,
        { hint: 'the registry serves something other than what it names: suspect it' },
      );
    return { digest, bytes, mediaType: (contentType ?? '').split(';')[0].trim() };
  }
  const m = judgeManifest(bytes, {
    requested: ref.startsWith('sha256:') ? ref : undefined,
    headerDigest,
    contentType,
    what,
  });
  return { digest: m.digest, bytes, mediaType: m.mediaType };
}

/** The digest of the manifest `reference` names now (its tag's, or the digest it gives). */
export async function resolveDigest(repo: Repo): Promise<string> {
  const ref = repo.target.digest ?? repo.target.tag ?? 'latest';
  const m = await getManifest(repo, ref);
  if (!m)
    throw new TrustError('TRUST_FETCH_FAILED', `${repo.name}:${ref} not found in the registry`, {
      hint: 'push the image first, and check the name',
    });
  return m.digest;
}

/** A blob of at most `max` bytes whose content hashes to `digest`. */
export async function getSmallBlob(repo: Repo, digest: string, max: number): Promise<Buffer> {
  const what = `blob ${repo.name}@${digest}`;
  const res = await repo.client.send('GET', repo.client.repoUrl(`blobs/${digest}`));
  if (res.status !== 200) {
    await res.body.dump();
    throw httpError(res.status, `GET ${what}`);
  }
  const bytes = await readCapped(res, max, what);
  if (sha256Digest(bytes) !== digest)
    throw new TrustError('TRUST_FETCH_FAILED', `${what}: the content does not hash to its digest`);
  return bytes;
}

/** Uploads a small blob (monolithic), unless the registry has it. Returns its digest. */
export async function putSmallBlob(repo: Repo, bytes: Buffer): Promise<string> {
  const digest = sha256Digest(bytes);
  const head = await repo.client.send('HEAD', repo.client.repoUrl(`blobs/${digest}`));
  await head.body.dump();
  if (head.status === 200) return digest;
  const start = await repo.client.send('POST', repo.client.repoUrl('blobs/uploads/'), {
    body: Buffer.alloc(0),
  });
  await start.body.dump();
  if (start.status !== 202) throw httpError(start.status, `start upload to ${repo.name}`);
  const loc = header(start.headers, 'location');
  if (!loc) throw new TrustError('TRUST_SIGN_FAILED', `${repo.name}: upload response without a Location`);
  const url = new URL(loc, start.url);
  url.searchParams.set('digest', digest);
  const put = await repo.client.send('PUT', url.toString(), {
    headers: { 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  await put.body.dump();
  if (put.status !== 201) throw httpError(put.status, `upload ${digest} to ${repo.name}`);
  return digest;
}

/** PUTs a manifest under a tag (or digest); returns the digest of the bytes sent. */
export async function putManifest(
  repo: Repo,
  ref: string,
  bytes: Buffer,
  mediaType: string,
): Promise<string> {
  const res = await repo.client.send('PUT', repo.client.repoUrl(`manifests/${ref}`), {
    headers: { 'content-type': mediaType },
    body: bytes,
  });
  await res.body.dump();
  if (res.status !== 201) throw httpError(res.status, `PUT manifest ${repo.name}:${ref}`);
  return sha256Digest(bytes);
}

/**
 * `apparmor.generate` (POST /apparmor/generate): an AppArmor profile for a container, for an
 * administrator to review and load. It is made from an OCI spec: an existing container's (its
 * stored spec, the one runc runs: the policy sees its record and spec, as for every route that
 * acts on a container), or the spec a run with these options would get (planned as run plans it,
 * nothing made: the policy sees the image and that spec), or none (the generic `moat-default`).
 * The profile is checked by apparmor_parser (-Q -K: nothing is loaded) unless `validate` is false;
 * one that does not parse is an error, never an answer.
 */
import { ApiError } from './errors.js';
import { containerFacts } from './container-facts.js';
import { imageFacts } from './image-facts.js';
import { defineRoute, type AnyRoute } from './router.js';
import * as S from './schemas.js';
import type { Engine } from '../runtime/engine.js';
import type { OciSpec } from '../runtime/oci.js';
import type { RunOptions } from '../runtime/options.js';
import { PROFILE_NAME } from '../lsm/apparmor/profile.js';

export const apparmorGenerateBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    /** An existing container (name or ID): its stored spec. */
    container: { type: 'string', minLength: 1, maxLength: 256 },
    /** Run options (as `run` takes them): the spec such a run would get. */
    options: S.runOptions,
    /** The generic profile for any moat container (named moat-default unless `name`). */
    default: { type: 'boolean' },
    /** The profile's name; unset: moat-NAME after the container (or image), moat-default. */
    name: { type: 'string', pattern: PROFILE_NAME.source },
    /** Check it with apparmor_parser -Q -K where installed. */
    validate: { type: 'boolean', default: true },
  },
} as const;

interface GenerateBody {
  container?: string;
  options?: RunOptions;
  default?: boolean;
  name?: string;
  validate: boolean;
}

/** Which source the body names: exactly one, or API_INVALID_REQUEST. */
function sourceOf(b: GenerateBody): 'container' | 'options' | 'default' {
  const given = (['container', 'options', 'default'] as const).filter((k) =>
    k === 'default' ? b.default === true : b[k] !== undefined,
  );
  if (given.length !== 1)
    throw new ApiError(
      'API_INVALID_REQUEST',
      given.length
        ? `name one source for the profile, not ${given.join(' and ')}`
        : 'name a source for the profile: container, options (a run) or default',
      { hint: 'moat apparmor generate CONTAINER, --image IMAGE [run options], or --default' },
    );
  return given[0];
}

/** The last path part of an image reference, without tag or digest: `moat/busybox:1` → `busybox`. */
function imageBase(ref: string): string {
  const noDigest = ref.split('@')[0];
  const last = noDigest.split('/').pop() ?? noDigest;
  return last.replace(/:[^:]*$/, '') || 'image';
}

export function apparmorRoutes(engine: Engine): AnyRoute[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/apparmor/generate',
      action: 'apparmor.generate',
      body: apparmorGenerateBody,
      facts: async (ctx) => {
        const b = ctx.body as GenerateBody;
        const source = sourceOf(b);
        if (source === 'container')
          return containerFacts(engine, { ...ctx, params: { ...ctx.params, id: b.container! } });
        if (source === 'options') {
          // Planned as run plans (facts are reads: nothing is made); no file the request names is read.
          const plan = await engine.plan(b.options!, { readRequestFiles: false });
          return { image: imageFacts(plan.image, plan.opts.image), spec: plan.spec, planned: plan.opts };
        }
        return {};
      },
      handler: async (ctx) => {
        const b = ctx.body as GenerateBody;
        const source = sourceOf(b);
        const { generateProfile, profileNameFor, validateProfile, DEFAULT_PROFILE_NAME } =
          await import('../lsm/apparmor/index.js');
        let spec: OciSpec | undefined;
        let name: string;
        let from: string;
        if (source === 'container') {
          const rec = ctx.facts.container as { id: string; name: string; image: string } | undefined;
          // Not found when the facts were read: the store's own error, now that it may be told.
          if (!rec) await engine.containers.resolve(b.container!);
          spec = ctx.facts.spec as OciSpec | undefined;
          if (!rec || !spec)
            throw new ApiError(
              'API_NOT_FOUND',
              `container ${b.container} has no readable spec (config.json)`,
              {
                hint: 'moat system fsck says what is wrong with it',
              },
            );
          name = profileNameFor(rec.name);
          from = `container ${rec.name} (${rec.id.slice(0, 12)}, image ${rec.image})`;
        } else if (source === 'options') {
          const opts = ctx.facts.planned as RunOptions;
          spec = ctx.facts.spec as OciSpec;
          name = profileNameFor(opts.name ?? imageBase(opts.image));
          from = `a run of image ${opts.image}${opts.name ? ` named ${opts.name}` : ''}`;
        } else {
          name = DEFAULT_PROFILE_NAME;
          from = 'no container: the generic profile for moat containers';
        }
        if (b.name) name = b.name;
        const profile = generateProfile({ name, source: from, ...(spec ? { spec } : {}) });
        const checked = b.validate ? await validateProfile(profile) : { validated: false };
        return {
          name,
          profile,
          validated: checked.validated,
          ...('parser' in checked && checked.parser ? { parser: checked.parser } : {}),
          warnings:
            b.validate && !checked.validated
              ? ['apparmor_parser is not installed: the profile was not validated (apt-get install apparmor)']
              : [],
        };
      },
    }),
  ];
}

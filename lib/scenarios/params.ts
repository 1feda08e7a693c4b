/**
 * Typed parameter schemas of the scenarios (one per notebook), and the one
 * function that validates a notebook's parameters against them.
 *
 * Each schema is a zod object (strict: an unknown key such as a misspelt
 * `varient` is an error, never silently ignored). Every field carries a
 * description that states the allowed values and where they come from; a
 * bad value throws {@link ModelConfigError} naming the parameter (its path,
 * e.g. `syncs.rxSyncForCpu`), the value, and that description. Nothing is
 * built before validation passes, so a rejected call changes no state.
 *
 * The notebooks stay the source of truth for default values (their
 * parameters cell); the schemas give types and ranges only. Each scenario
 * module defines its own schema (`TOUR_PARAMS`, `CASE01_PARAMS`,
 * `CASE02_PARAMS`, `CASE04_PARAMS`) from the helpers here, next to the
 * lists of allowed values it owns.
 */
import { z } from "zod";
import { ModelConfigError } from "../core/errors.js";
import { NEWEST_MODELLED, OLDEST_MODELLED, compareVersions, parseKernelVersion } from "../kernel/version.js";

/** Where the allowed releases come from, quoted in errors. */
const KERNEL_RANGE = `a release name "vX.Y" from ${OLDEST_MODELLED} to ${NEWEST_MODELLED} (the releases whose kernel sources the model follows; lib/kernel/version.ts)`;

/** True iff `name` parses and lies within [OLDEST_MODELLED, NEWEST_MODELLED]. */
export function isModelledKernel(name: unknown): boolean {
  if (typeof name !== "string") return false;
  try {
    const v = parseKernelVersion(name);
    return compareVersions(v, OLDEST_MODELLED) >= 0 && compareVersions(v, NEWEST_MODELLED) <= 0;
  } catch {
    return false;
  }
}

/**
 * Check a release a scenario is asked to run: parseable and within the
 * modelled range (releases outside it are rejected, never answered with the
 * nearest release's behaviour).
 * @returns the canonical name ("v5.4" for "5.4.6").
 * @throws ModelConfigError naming `field` and the range.
 */
export function checkModelledKernel(name: unknown, field = "kernel"): string {
  if (!isModelledKernel(name)) throw new ModelConfigError(field, name, KERNEL_RANGE);
  return parseKernelVersion(name as string).name;
}

/** The last minor release of each major line before the next major (v4.20, v5.19; kernel.org release history). */
const LAST_MINOR: Record<number, number> = { 4: 20, 5: 19 };

/**
 * Every mainline release name "vX.Y" from OLDEST_MODELLED to NEWEST_MODELLED,
 * oldest first (v4.4 .. v4.20, v5.0 .. v5.19, v6.0 ..): the choices a live
 * page offers for a release parameter.
 */
export function modelledReleases(): string[] {
  const lo = parseKernelVersion(OLDEST_MODELLED);
  const hi = parseKernelVersion(NEWEST_MODELLED);
  const out: string[] = [];
  for (let major = lo.major; major <= hi.major; major++) {
    const first = major === lo.major ? lo.minor : 0;
    const last = major === hi.major ? hi.minor : (LAST_MINOR[major] ?? 0);
    for (let minor = first; minor <= last; minor++) out.push(`v${major}.${minor}`);
  }
  return out;
}

/** A kernel release within the modelled range. */
export const zKernel = z.string().refine(isModelledKernel).describe(KERNEL_RANGE);

/** An integer in [min, max], described with its unit and source. */
export function zInt(min: number, max: number, what: string): z.ZodNumber {
  return z.number().int().min(min).max(max).describe(`${what}: an integer in [${min}, ${max}]`);
}

/** A seed of the model's PRNG (lib/core/prng.ts): a 32-bit unsigned integer. */
export const zSeed = zInt(0, 0xffffffff, "seed of the model's PRNG (lib/core/prng.ts)");

export function zBool(what: string): z.ZodBoolean {
  return z.boolean().describe(`${what}: true or false (a boolean, not a string)`);
}

export function zOneOf<T extends string>(values: readonly [T, ...T[]], source: string): z.ZodEnum<[T, ...T[]]> {
  return z.enum(values as [T, ...T[]]).describe(`one of ${values.join(", ")} (${source})`);
}

/** Peel optional/nullable/default/effects wrappers off a zod schema. */
function unwrap(s: z.ZodTypeAny): z.ZodTypeAny {
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap();
    else if (s instanceof z.ZodDefault) s = s._def.innerType;
    else if (s instanceof z.ZodEffects) s = s.innerType();
    else return s;
  }
}

/** The description of the field at `path` in `schema` (descriptions sit on the field or on its inner type). */
function describeAt(schema: z.ZodTypeAny, path: ReadonlyArray<string | number>): string | undefined {
  let s: z.ZodTypeAny = schema;
  let desc: string | undefined = schema.description;
  for (const key of path) {
    const u = unwrap(s);
    if (u instanceof z.ZodObject) s = (u.shape as Record<string, z.ZodTypeAny>)[String(key)] ?? s;
    else if (u instanceof z.ZodArray) s = u.element;
    else break;
    desc = s.description ?? unwrap(s).description ?? desc;
  }
  return desc;
}

function valueAt(input: unknown, path: ReadonlyArray<string | number>): unknown {
  let v: unknown = input;
  for (const k of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[k];
  }
  return v;
}

/**
 * Validate a scenario's parameters against its schema.
 * @param scenario the function validated for, used in the message when the
 *   input is not an object (e.g. "runCase02").
 * @returns the input, typed (no defaults filled in: the scenario does that).
 * @throws ModelConfigError naming the first bad parameter (dotted path), its
 *   value, and the allowed values with their source; an unknown key is named
 *   with the list of known ones.
 */
export function parseScenarioParams<S extends z.ZodTypeAny>(schema: S, input: unknown, scenario: string): z.infer<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  if (issue.code === "unrecognized_keys") {
    const parentPath = issue.path;
    const parent = unwrap(parentPath.reduce<z.ZodTypeAny>((s, k) => {
      const u = unwrap(s);
      return u instanceof z.ZodObject ? ((u.shape as Record<string, z.ZodTypeAny>)[String(k)] ?? s) : s;
    }, schema));
    const known = parent instanceof z.ZodObject ? Object.keys(parent.shape as object).join(", ") : "";
    const key = issue.keys[0]!;
    const field = [...parentPath, key].join(".");
    throw new ModelConfigError(field, valueAt(input, [...parentPath, key]), `no such parameter of ${scenario}; known parameters: ${known}`);
  }
  const field = issue.path.length > 0 ? issue.path.join(".") : scenario;
  const allowed = describeAt(schema, issue.path) ?? issue.message;
  throw new ModelConfigError(field, issue.path.length > 0 ? valueAt(input, issue.path) : input, allowed);
}

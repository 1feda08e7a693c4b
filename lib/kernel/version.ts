/**
 * Kernel release names and the table of behaviour changes.
 *
 * A machine runs one kernel release, named as upstream tags name it ("v4.4",
 * "v5.10", "v6.19"). Any "vX.Y" is accepted; a behaviour is in force at a
 * release when the release is at or after the one that introduced it. Every
 * entry in {@link KERNEL_CHANGES} cites the upstream commit that made the change.
 */
import { ModelConfigError } from "../core/errors.js";

/** A parsed release: v5.10 -> { major: 5, minor: 10 }. */
export interface KernelVersion {
  readonly major: number;
  readonly minor: number;
  /** The canonical name, "v5.10". */
  readonly name: string;
}

const RE = /^v?(\d+)\.(\d+)(?:\.\d+)?$/;
/** Release names parsed so far (every switch of the model parses `dev.kernel`; the answer never changes). */
const parsed = new Map<string, KernelVersion>();

/** Oldest and newest releases the model knows behaviour for; others are accepted and clamped in meaning. */
export const OLDEST_MODELLED = "v4.4";
export const NEWEST_MODELLED = "v6.19";

/**
 * Parse a release name: "v4.4", "4.4", "v5.4.6" (the stable suffix is
 * accepted and ignored: behaviour is modelled per mainline release).
 * @returns a frozen { major, minor, name }, the same object for the same
 * string (names are remembered: every release switch parses `dev.kernel`).
 * @throws ModelConfigError naming `field` for anything else, or a release
 * before v2.6 / after v9.99.
 */
export function parseKernelVersion(name: string | KernelVersion, field = "kernel"): KernelVersion {
  if (typeof name === "object" && name !== null && "major" in name) return name;
  if (typeof name === "string") {
    const known = parsed.get(name);
    if (known !== undefined) return known;
  }
  const m = typeof name === "string" ? RE.exec(name.trim()) : null;
  if (!m) throw new ModelConfigError(field, name, 'a release name "vX.Y" such as "v4.4" or "v6.19"');
  const major = Number(m[1]);
  const minor = Number(m[2]);
  if (major < 2 || major > 9 || minor > 99 || (major === 2 && minor < 6)) {
    throw new ModelConfigError(field, name, "a release between v2.6 and v9.99");
  }
  const v: KernelVersion = Object.freeze({ major, minor, name: `v${major}.${minor}` });
  if (parsed.size < 1024) parsed.set(name as string, v);
  return v;
}

/** Negative if a < b, 0 if equal, positive if a > b. */
export function compareVersions(a: string | KernelVersion, b: string | KernelVersion): number {
  const x = parseKernelVersion(a);
  const y = parseKernelVersion(b);
  return x.major !== y.major ? x.major - y.major : x.minor - y.minor;
}

/**
 * True iff `change` is in force at release `v` (v is change.since or later).
 * Every release switch of the model goes through a registered change: a bare
 * "vX.Y" is not accepted, so each switch names its commit and its bracketing
 * trees (see {@link KernelChange.bracket}).
 * @throws ModelConfigError for an unparseable release or an unregistered change.
 */
export function atLeast(v: string | KernelVersion, change: KernelChange): boolean {
  // the registered change's parsed release (only the object registered under its id has one)
  const e = sinceOf.get(change);
  if (e === undefined) {
    throw new ModelConfigError("atLeast(change)", change, "a change registered with defineChange()");
  }
  // a model runs one release: the last answer per change for a release is the next one's (a name, or a parsed
  // release, which parseKernelVersion freezes: neither can change)
  if (v === e.lastV) return e.lastR;
  const r = compareVersions(v, e.since) >= 0;
  if (typeof v === "string" || Object.isFrozen(v)) {
    e.lastV = v;
    e.lastR = r;
  }
  return r;
}

/** One behaviour change of the DMA layer, with the commit that made it. */
export interface KernelChange {
  /** Stable id used by the model, e.g. "iommu-dma-sg-merging". */
  readonly id: string;
  /** First mainline release with the change. */
  readonly since: string;
  /** Upstream commit (abbreviated hash) and subject. */
  readonly commit: string;
  readonly subject: string;
  /** Files it touched that the model follows. */
  readonly files: readonly string[];
  /** What the model does differently from this release on. */
  readonly effect: string;
  /**
   * The release trees that bracket the change, read with `fetch` (each
   * tree's Makefile checked): "absent in vX.Y.Z (<repo>, <file>:<function>),
   * present in vA.B.C (<repo>, ...)"; or "unbracketed: <why>" when no pair
   * of trees was available. test/kernel/registry.test.ts requires one of
   * the two forms ({@link BRACKET_FORMS}).
   */
  readonly bracket: string;
}

/**
 * The two accepted forms of {@link KernelChange.bracket}: a tree pair
 * "absent in vX.Y[.Z][-rcN] (<owner>/<repo>, <file>...), present in
 * vA.B[.C][-rcN] (<owner>/<repo>, <file>...)" (anything may follow), or
 * "unbracketed: <why>" with a reason of at least a few words.
 */
export const BRACKET_FORMS = {
  pair: /^absent in v\d+\.\d+(?:\.\d+)?(?:-rc\d+)? \([\w.-]+\/[\w.-]+, [^)]*\S[^)]*\)[^]*?, present in v\d+\.\d+(?:\.\d+)?(?:-rc\d+)? \([\w.-]+\/[\w.-]+, [^)]*\S/,
  unbracketed: /^unbracketed: \S.{15,}/,
} as const;

/** True iff `bracket` has one of the two {@link BRACKET_FORMS}. */
export function isWellFormedBracket(bracket: unknown): boolean {
  return typeof bracket === "string" && (BRACKET_FORMS.pair.test(bracket) || BRACKET_FORMS.unbracketed.test(bracket));
}

const changes = new Map<string, KernelChange>();
/**
 * The parsed `since` of each registered change, keyed by the change object
 * registered under its id (atLeast's one lookup), with the last release
 * (a name or a frozen parsed release) atLeast was asked about and its
 * answer (none yet: lastV undefined).
 */
const sinceOf = new Map<KernelChange, { since: KernelVersion; lastV: string | KernelVersion | undefined; lastR: boolean }>();

/**
 * Register a behaviour change. Each model area declares its own changes next
 * to the code that switches on them.
 * @throws ModelConfigError on a duplicate id or a bad `since`.
 */
export function defineChange(c: KernelChange): KernelChange {
  parseKernelVersion(c.since, `KernelChange(${c.id}).since`);
  const prev = changes.get(c.id);
  if (prev && prev !== c && JSON.stringify(prev) !== JSON.stringify(c)) {
    throw new ModelConfigError("KernelChange.id", c.id, "an id not already defined");
  }
  if (prev && prev !== c) sinceOf.delete(prev);
  changes.set(c.id, c);
  sinceOf.set(c, { since: parseKernelVersion(c.since), lastV: undefined, lastR: false });
  return c;
}

/** Every registered change, oldest release first. */
export function kernelChanges(): KernelChange[] {
  return [...changes.values()].sort((a, b) => compareVersions(a.since, b.since) || a.id.localeCompare(b.id));
}

/** True iff `change` is in force at release `v` (the same as {@link atLeast}). */
export function inForce(v: string | KernelVersion, change: KernelChange): boolean {
  return atLeast(v, change);
}

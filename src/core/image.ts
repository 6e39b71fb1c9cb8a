// An image of the catalog, declared once: the sidecar `vgrid image build` writes beside an image and a
// server.toml `[[images]]` entry are this shape (with these defaults); the store's row, the API's image
// object and the node protocol's boot description are derived from it.

import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { Type, type Static } from "typebox";
import { Value } from "typebox/value";
import { ConfigError } from "./errors.js";
import { FILE_NAME_PATTERN, IMAGE_TAG_PATTERN } from "./names.js";

/** The longest description of an image: a paragraph, not a manual. */
export const MAX_DESCRIPTION_LENGTH = 1000;

const FileName = Type.String({ pattern: FILE_NAME_PATTERN, maxLength: 255 });
const OptionalFileName = Type.Union([FileName, Type.Null()], { default: null });

export const ImageEntrySchema = Type.Object(
  {
    tag: Type.String({ pattern: IMAGE_TAG_PATTERN }),
    /** The display name users pick it by. */
    name: Type.String({ minLength: 1, maxLength: 200 }),
    /** What it is for, in a sentence or a few: what a portal shows beside the name. Null when none. */
    description: Type.Optional(Type.Union([Type.String({ maxLength: MAX_DESCRIPTION_LENGTH }), Type.Null()], { default: null })),
    /** `direct`: QEMU boots `kernel` and `initrd` with `cmdline`; `disk`: the disk's own bootloader. */
    boot: Type.Union([Type.Literal("direct"), Type.Literal("disk")], { default: "disk" }),
    /** File names in the node's image directory, never paths. */
    disk: FileName,
    kernel: OptionalFileName,
    initrd: OptionalFileName,
    /** The kernel command line's template, with the seed's variables such as ${username}. */
    cmdline: Type.Union([Type.String({ maxLength: 4096 }), Type.Null()], { default: null }),
    minMemoryMiB: Type.Integer({ minimum: 16, default: 128 }),
    defaultMemoryMiB: Type.Integer({ minimum: 16, default: 512 }),
    maxMemoryMiB: Type.Integer({ minimum: 16, default: 4096 }),
    maxCpus: Type.Integer({ minimum: 1, maximum: 256, default: 4 }),
    /**
     * The seed's `on_crash = 'restart'`: a VM whose QEMU died without vgrid stopping it is started
     * again by its node (a bounded number of times an hour) instead of being failed.
     */
    restartOnCrash: Type.Optional(Type.Boolean({ default: false })),
    /** How long its VMs live unless asked, and the furthest an owner may push their expiry, from now: */
    /** each bounded by [expiry] as well (the smaller maximum wins). Null: [expiry]'s. */
    defaultHours: Type.Optional(Type.Union([Type.Number({ exclusiveMinimum: 0 }), Type.Null()], { default: null })),
    maxHours: Type.Optional(Type.Union([Type.Number({ exclusiveMinimum: 0 }), Type.Null()], { default: null })),
  },
  { additionalProperties: false },
);
export type ImageEntry = Static<typeof ImageEntrySchema>;

/** How a node boots an image: what of the entry travels to the node (file names, never paths). */
export const ImageBootSchema = Type.Pick(ImageEntrySchema, ["tag", "disk", "kernel", "initrd", "cmdline", "restartOnCrash"]);
export type ImageBoot = Static<typeof ImageBootSchema>;

/** The image object of the public API (`GET /images`): its description always there, null when none. */
export const ImageSchema = Type.Object(
  {
    ...Type.Pick(ImageEntrySchema, ["tag", "name", "boot", "minMemoryMiB", "defaultMemoryMiB", "maxMemoryMiB", "maxCpus"]).properties,
    description: Type.Union([Type.String(), Type.Null()]),
    /** Its own lifetime bounds, null where [expiry]'s apply (always in the server's answers). */
    defaultHours: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
    maxHours: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
  },
  { $id: "Image" },
);
export type Image = Static<typeof ImageSchema>;

/** The image object of an entry. */
export function publicImage(entry: ImageEntry): Image {
  const { tag, name, boot, minMemoryMiB, defaultMemoryMiB, maxMemoryMiB, maxCpus } = entry;
  return {
    tag, name, description: entry.description ?? null, boot, minMemoryMiB, defaultMemoryMiB, maxMemoryMiB, maxCpus,
    defaultHours: entry.defaultHours ?? null, maxHours: entry.maxHours ?? null,
  };
}

/** The rules between an entry's fields that a schema cannot say: `key` and why, or undefined. */
export function imageEntryProblem(image: ImageEntry): { key: string; reason: string } | undefined {
  if (image.boot === "direct" && (image.kernel === null || image.initrd === null)) {
    return { key: "kernel", reason: "an image that boots directly needs both kernel and initrd" };
  }
  if (image.minMemoryMiB > image.defaultMemoryMiB || image.defaultMemoryMiB > image.maxMemoryMiB) {
    return {
      key: "defaultMemoryMiB",
      reason: `memory must be minMemoryMiB <= defaultMemoryMiB <= maxMemoryMiB, not ${image.minMemoryMiB}, ${image.defaultMemoryMiB}, ${image.maxMemoryMiB}`,
    };
  }
  if (image.defaultHours != null && image.maxHours != null && image.defaultHours > image.maxHours) {
    return { key: "defaultHours", reason: `defaultHours ${image.defaultHours} is more than maxHours ${image.maxHours}: give defaultHours <= maxHours` };
  }
  return undefined;
}

/** A deploy's and an extension's bounds for VMs of `image`: its own where it sets them, within [expiry]'s. */
export function lifetimeLimits(
  image: Pick<ImageEntry, "defaultHours" | "maxHours"> | undefined,
  expiry: { defaultHours: number; maxHours: number },
): { defaultHours: number; maxHours: number } {
  const maxHours = Math.min(expiry.maxHours, image?.maxHours ?? Infinity);
  return { defaultHours: Math.min(image?.defaultHours ?? expiry.defaultHours, maxHours), maxHours };
}

/** A sidecar file's text as a catalog entry, its defaults filled in; refused naming the file and key. */
export function parseImageSidecar(file: string, text: string): ImageEntry {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(file, "(file)", `not valid JSON: ${(err as Error).message}`);
  }
  const image = Value.Default(ImageEntrySchema, Value.Clone(json));
  const first = Value.Errors(ImageEntrySchema, image)[0];
  if (first) throw new ConfigError(file, first.instancePath.slice(1).replaceAll("/", ".") || "(root)", first.message);
  const problem = imageEntryProblem(image as ImageEntry);
  if (problem) throw new ConfigError(file, problem.key, problem.reason);
  return image as ImageEntry;
}

/** Every image described by a `*.json` sidecar in the directory (none if there is no directory). */
export async function readImageSidecars(dir: string): Promise<ImageEntry[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const images: ImageEntry[] = [];
  for (const name of names.filter((n) => n.endsWith(".json")).sort()) {
    const file = join(dir, name);
    images.push(parseImageSidecar(file, await readFile(file, "utf8")));
  }
  return images;
}

// The sidecar JSON that `vgrid image build` writes beside an image: how the catalog learns to boot it.

import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { Type, type Static } from "typebox";
import { Value } from "typebox/value";
import { ConfigError } from "./errors.js";

export const ImageSidecarSchema = Type.Object(
  {
    tag: Type.String({ pattern: "^[a-z0-9][a-z0-9._-]{0,63}$" }),
    name: Type.String({ minLength: 1 }),
    boot: Type.Union([Type.Literal("direct"), Type.Literal("disk")]),
    disk: Type.String({ pattern: "^[^/]+$" }),
    kernel: Type.Optional(Type.String({ pattern: "^[^/]+$" })),
    initrd: Type.Optional(Type.String({ pattern: "^[^/]+$" })),
    cmdline: Type.Optional(Type.String()),
    minMemoryMiB: Type.Integer({ minimum: 16 }),
    defaultMemoryMiB: Type.Integer({ minimum: 16 }),
    maxMemoryMiB: Type.Integer({ minimum: 16 }),
    maxCpus: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
);
export type ImageSidecar = Static<typeof ImageSidecarSchema>;

export function parseImageSidecar(file: string, text: string): ImageSidecar {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(file, "(file)", `not valid JSON: ${(err as Error).message}`);
  }
  const first = Value.Errors(ImageSidecarSchema, json)[0];
  if (first) throw new ConfigError(file, first.instancePath || "(root)", first.message);
  const image = json as ImageSidecar;
  if (image.boot === "direct" && (image.kernel === undefined || image.initrd === undefined)) {
    throw new ConfigError(file, "kernel", "an image that boots directly needs both kernel and initrd");
  }
  return image;
}

/** Every image described by a `*.json` sidecar in the directory. */
export async function readImageSidecars(dir: string): Promise<ImageSidecar[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const images: ImageSidecar[] = [];
  for (const name of names.filter((n) => n.endsWith(".json")).sort()) {
    const file = join(dir, name);
    images.push(parseImageSidecar(file, await readFile(file, "utf8")));
  }
  return images;
}

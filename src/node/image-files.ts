// An image's files on a node: plain file names in the node's image directory, never paths, so that
// no driver (qemu today, libvirt later) ever boots a file that a user or a catalog entry named by path.

import { stat } from "node:fs/promises";
import path from "node:path";

import { Invalid } from "../core/errors.js";
import { printable } from "../core/names.js";

export type ImageFileKind = "disk" | "kernel" | "initrd";

/** An image file the node cannot use: the message is for the VM's owner, `detail` names the node's paths. */
export class ImageFileProblem extends Invalid {
  constructor(
    kind: ImageFileKind,
    reason: string,
    readonly detail: string,
  ) {
    super(`image.${kind}`, reason);
  }
}

/** The absolute path of an image's file in `imageDirectory`; its name must be a plain file name. */
export function imageFile(imageDirectory: string, kind: ImageFileKind, name: string): string {
  if (name.length === 0 || name.includes("/") || name.includes("\\") || name.includes("..") || /\p{Cc}/u.test(name)) {
    throw new ImageFileProblem(
      kind,
      `the image's ${kind} '${printable(name)}' must be a plain file name in the image directory, without '/' or '..': ` +
        "an administrator must correct the image in the catalog",
      `image ${kind} '${printable(name)}' is not a plain file name`,
    );
  }
  return path.join(path.resolve(imageDirectory), name);
}

/** The path of an image's file that is there; rejects, naming the file, when it is not. */
export async function requireImageFile(imageDirectory: string, kind: ImageFileKind, name: string): Promise<string> {
  const file = imageFile(imageDirectory, kind, name);
  const found = await stat(file).catch(() => undefined);
  if (found?.isFile() !== true) {
    throw new ImageFileProblem(
      kind,
      `the image's ${kind} ${printable(name)} is not in the image directory of this node: an administrator must copy it there`,
      `image ${kind} '${printable(name, 255)}' is not in the image directory ${path.dirname(file)}`,
    );
  }
  return file;
}

// Where this checkout is: the folder that holds vgrid's package.json, found from the running module.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find vgrid's package.json above the running module");
    dir = parent;
  }
  return dir;
}

/** Where `make build` puts the images it builds (the tiny one) with their sidecars. */
export function builtImagesDir(): string {
  return join(repoRoot(), "images", "build");
}

/** vgrid's version, as its package.json says. */
export function vgridVersion(): string {
  const pkg = JSON.parse(readFileSync(join(repoRoot(), "package.json"), "utf8")) as { version?: string };
  return pkg.version ?? "unknown";
}

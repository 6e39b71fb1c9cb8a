// Which kernel modules an initramfs must carry and in what order its /init loads them:
// pure functions over the `depends` field that `modinfo -F depends` prints for each module.

/** A module's name as the kernel knows it: file names may spell '-' where the kernel has '_'. */
export function moduleName(fileOrName: string): string {
  const base = fileOrName.slice(fileOrName.lastIndexOf("/") + 1);
  return base.replace(/\.ko(\.(xz|zst|gz))?$/, "").replace(/-/g, "_");
}

/** The module names in one line of `modinfo -F depends` output ("a,b,c", or empty). */
export function parseModinfoDepends(output: string): string[] {
  return output
    .trim()
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name.length > 0)
    .map(moduleName);
}

/**
 * Every module the roots need, dependencies before the modules that use them, each once.
 * Roots keep their given order where dependencies allow it, so the result is stable.
 * `depends` must hold an entry for every module reached; a missing one or a cycle is an error
 * (a cycle cannot be loaded with insmod, and a missing entry means the module was never found).
 */
export function orderModules(roots: readonly string[], depends: ReadonlyMap<string, readonly string[]>): string[] {
  const ordered: string[] = [];
  const done = new Set<string>();
  const visiting: string[] = [];

  const visit = (name: string): void => {
    if (done.has(name)) return;
    if (visiting.includes(name)) {
      throw new Error(`kernel modules depend on each other in a cycle: ${[...visiting, name].join(" -> ")}`);
    }
    const deps = depends.get(name);
    if (deps === undefined) {
      const via = visiting.length > 0 ? ` (needed by ${visiting[visiting.length - 1]})` : "";
      throw new Error(`kernel module '${name}'${via} is not in the kernel package`);
    }
    visiting.push(name);
    for (const dep of deps) visit(dep);
    visiting.pop();
    done.add(name);
    ordered.push(name);
  };

  for (const root of roots) visit(moduleName(root));
  return ordered;
}

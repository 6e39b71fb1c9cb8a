// `vgrid image build RECIPE --out FILE`: builds a bootable image from Debian packages (recipes in src/images/).

import path from "node:path";
import { parseCommand } from "../args.js";
import { Failure, UsageError } from "../errors.js";
import type { CliIo } from "../output.js";
import { repoRoot } from "../../core/repo.js";

const RECIPES = ["tiny", "debian"] as const;

/** Receives what follows `vgrid image build`. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand(argv, { out: { type: "string" } }, ["RECIPE"]);
  const recipe = positionals[0] ?? "";
  if (!(RECIPES as readonly string[]).includes(recipe)) {
    throw new UsageError(`unknown recipe '${recipe}'; known recipes: ${RECIPES.join(", ")}`);
  }
  if (!values.out) throw new UsageError("--out FILE is required");
  if (recipe === "debian") throw new Failure("recipe 'debian' is not built yet; use 'tiny'");

  const out = path.resolve(values.out);
  // Downloaded packages are kept in the checkout, so that a rebuild works offline and fast.
  const cacheDir = path.join(repoRoot(), ".cache", "debs");
  const { buildTinyImage } = await import("../../images/tiny.js");
  await buildTinyImage({ out, cacheDir, log: (line) => io.err(line) });
  io.out(out);
  return 0;
}

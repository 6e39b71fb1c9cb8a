// `vgrid config import-legacy`: reads a VGrid installation's three .cfg files and writes server.toml and
// node.toml beside each other, never over existing ones (they hold node tokens, hence mode 0600).

import { existsSync } from "node:fs";
import { access, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readImageSidecars, type ImageEntry } from "../../core/image.js";
import { parseLegacyIni, type IniFile } from "../../core/legacy-ini.js";
import { parseCommand } from "../args.js";
import { Failure, UsageError } from "../errors.js";
import { importLegacyConfig } from "../legacy-import.js";
import type { CliIo } from "../output.js";

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommand(argv, {
    common: { type: "string" },
    server: { type: "string" },
    node: { type: "string" },
    out: { type: "string" },
    "node-name": { type: "string" },
  });
  const common = required("--common", "common.cfg", values.common);
  const server = required("--server", "server.cfg", values.server);
  const node = required("--node", "node.cfg", values.node);
  const out = required("--out", "DIR", values.out);

  const nodeIni = await readIni(node);
  const imported = importLegacyConfig({
    common: await readIni(common),
    server: await readIni(server),
    node: nodeIni,
    nodeName: values["node-name"],
    sidecars: await imageDirectorySidecars(nodeIni),
  });

  await mkdir(out, { recursive: true });
  const serverFile = join(out, "server.toml");
  const nodeFile = join(out, "node.toml");
  // Both files are checked before either is written, so a refusal leaves DIR as it was.
  await writeNew(serverFile, imported.serverToml, [serverFile, nodeFile]);
  await writeNew(nodeFile, imported.nodeToml, [nodeFile]);
  for (const warning of imported.warnings) io.err(`vgrid: warning: ${warning}`);
  io.out(serverFile);
  io.out(nodeFile);
  return 0;
}

/** The sidecars in node.cfg's imageDirectory when that directory is on this machine, else undefined. */
async function imageDirectorySidecars(node: IniFile): Promise<ImageEntry[] | undefined> {
  const dir = node.sections.get("General")?.entries.find((e) => e.key === "imagedirectory")?.value;
  if (dir === undefined || dir === "" || !existsSync(dir)) return undefined;
  return readImageSidecars(dir);
}

function required(flag: string, what: string, value: string | undefined): string {
  if (value === undefined || value === "") throw new UsageError(`missing ${flag} ${what}`);
  return value;
}

async function readIni(file: string): Promise<IniFile> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new Failure(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return parseLegacyIni(file, text);
}

/** Writes FILE only if none of MUSTNOTEXIST exists: flag 'wx' makes the check and the create one step. */
async function writeNew(file: string, text: string, mustNotExist: string[]): Promise<void> {
  for (const other of mustNotExist) {
    if (await exists(other)) throw new Failure(`${other} already exists; not overwriting it: choose another --out`);
  }
  try {
    await writeFile(file, text, { mode: 0o600, flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      throw new Failure(`${file} already exists; not overwriting it: choose another --out`);
    }
    throw new Failure(`cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "ENOENT";
  }
}

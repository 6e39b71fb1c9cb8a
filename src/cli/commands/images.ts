// `vgrid images`: the catalog a user can deploy from, with each image's size limits.

import { parseCommand } from "../args.js";
import { ApiClient, type Image } from "../client.js";
import { formatTable, json, type CliIo } from "../output.js";

export async function run(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommand(argv, { json: { type: "boolean" } });
  const images = await ApiClient.fromEnv().images();
  if (values.json) io.out(json(images));
  else if (images.length === 0) io.out("the catalog has no images yet");
  else io.out(formatImageTable(images));
  return 0;
}

export function formatImageTable(images: Image[]): string {
  return formatTable(
    ["TAG", "NAME", "MEMORY MiB (default, range)", "MAX CPUS", "BOOT"],
    images.map((image) => [
      image.tag,
      image.name,
      `${image.defaultMemoryMiB} (${image.minMemoryMiB}-${image.maxMemoryMiB})`,
      String(image.maxCpus),
      image.boot,
    ]),
  );
}

// `vgrid keys add FILE | ls | rm N`: the caller's ssh public keys, given to root on their new VMs.

import { sshFingerprint } from "../../core/ssh-keys.js";
import { parseCommand, positiveInteger } from "../args.js";
import { ApiClient } from "../client.js";
import { Failure, UsageError } from "../errors.js";
import { readKeyFile, rememberIdentity } from "../local-keys.js";
import { formatTable, json, type CliIo } from "../output.js";

export async function run(argv: string[], io: CliIo): Promise<number> {
  const [verb, ...rest] = argv;
  const client = () => ApiClient.fromEnv();
  switch (verb) {
    case "add": {
      const { positionals } = parseCommand(rest, {}, ["FILE"]);
      const key = await readKeyFile(positionals[0]!);
      const api = client();
      const { sshKeys } = await api.me();
      const blob = (k: string) => k.split(/ +/).slice(0, 2).join(" ");
      if (sshKeys.some((k) => blob(k) === blob(key.publicKey))) {
        io.err(`vgrid: that key is already yours (${sshFingerprint(key.publicKey)})`);
      } else {
        await api.setSshKeys([...sshKeys, key.publicKey]);
        io.err(`added ${sshFingerprint(key.publicKey)}: root on your new VMs accepts it`);
      }
      await rememberIdentity(key);
      return 0;
    }
    case "ls": {
      const { values } = parseCommand(rest, { json: { type: "boolean" } });
      const { sshKeys } = await client().me();
      if (values.json) io.out(json(sshKeys));
      else if (sshKeys.length === 0) io.out("no ssh keys; add one with `vgrid keys add ~/.ssh/id_ed25519.pub`");
      else io.out(formatKeyTable(sshKeys));
      return 0;
    }
    case "rm": {
      const { positionals } = parseCommand(rest, {}, ["N"]);
      const n = positiveInteger("N", positionals[0], "a key's number in `vgrid keys ls`")!;
      const api = client();
      const { sshKeys } = await api.me();
      if (n > sshKeys.length) throw new Failure(`you have ${sshKeys.length} key${sshKeys.length === 1 ? "" : "s"}; \`vgrid keys ls\` numbers them`);
      await api.setSshKeys(sshKeys.filter((_, i) => i !== n - 1));
      io.err(`removed key ${n} (${sshFingerprint(sshKeys[n - 1]!)}); VMs that have it keep it`);
      return 0;
    }
    default:
      throw new UsageError(verb === undefined ? "vgrid keys needs add, ls or rm" : `vgrid keys has no '${verb}': use add, ls or rm`);
  }
}

export function formatKeyTable(keys: string[]): string {
  return formatTable(
    ["N", "TYPE", "FINGERPRINT", "COMMENT"],
    keys.map((key, i) => {
      const [type = "", , ...comment] = key.split(/ +/);
      return [String(i + 1), type, sshFingerprint(key), comment.join(" ")];
    }),
  );
}

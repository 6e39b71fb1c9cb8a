// `vgrid stop|start|reboot ID [--force]`: asks the server to stop, start or reboot the VM; its node does
// it shortly after (stop keeps the disk, slot and hostname; start boots the VM again from its disk).

import type { PowerAction } from "../../core/vm-state.js";
import { parseCommand } from "../args.js";
import { ApiClient } from "../client.js";
import { resolveVm } from "../resolve-vm.js";
import { json, vmLabel, type CliIo } from "../output.js";

const SAID: Readonly<Record<PowerAction, string>> = {
  stop: "its node stops it and keeps its disk; `vgrid start` boots it again",
  start: "its node boots it again from its own disk",
  reboot: "its node reboots it; ssh answers again once it has booted",
};

/** The command of one power action. */
export function powerCommand(action: PowerAction) {
  return {
    async run(argv: string[], io: CliIo): Promise<number> {
      const { values, positionals } = parseCommand(argv, { force: { type: "boolean" }, json: { type: "boolean" } }, ["ID"]);
      const client = ApiClient.fromEnv();
      const { id } = await resolveVm(client, positionals[0] ?? "");
      const vm = await client.powerVm(id, action, values.force === true);
      if (values.json) io.out(json(vm));
      else io.out(`${vmLabel(vm)} is ${vm.state}: ${SAID[action]}`);
      return 0;
    },
  };
}

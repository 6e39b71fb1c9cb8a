// The mail to a VM's owner when an administrator terminates it: who did it, which VM, when, and the
// reason the administrator gave (issue 17: "admin X terminated your VM because ...").

import type { Vm } from "../../core/api.js";
import type { ServerConfig } from "../config.js";
import type { OutgoingMail } from "../store/outbox.js";
import { composeHtml, composeText, mailTime, userAddress, type MailBody } from "./compose.js";

/**
 * Where the owner's mail goes without [mail]: the address [mail] gives when it sets no userAddress.
 * The mail is queued all the same (the decision is recorded whatever the settings), and goes out once
 * [mail] is set.
 */
const LOCAL_USER_ADDRESS = "${username}@localhost";

/** The owner's mail for `vm`, terminated at `now` by the administrator `admin` because of `reason`; once per VM. */
export function adminTerminatedMail(config: Pick<ServerConfig, "mail" | "publicUrl">, vm: Vm, admin: string, reason: string, now: Date): OutgoingMail {
  const body: MailBody = {
    title: `${admin} terminated your VM ${vm.name}`,
    paragraphs: [
      `The administrator ${admin} terminated your VM ${vm.name} (image ${vm.image}) at ${mailTime(now)}, because: ${reason}`,
      "Its disks are deleted with it: nothing of it can be recovered. You can deploy a new VM at any time.",
    ],
    ...(config.publicUrl === undefined ? {} : { action: { label: `See ${vm.name}`, url: `${config.publicUrl}/vms/${vm.id}` } }),
    command: `vgrid show ${vm.id}`,
    footer: `You get this mail because ${vm.name} was yours. Ask ${admin} if the reason is not clear.`,
  };
  return {
    key: `admin-terminated:${vm.id}`,
    kind: "admin-terminated",
    vmId: vm.id,
    to: userAddress(config, vm.owner) ?? LOCAL_USER_ADDRESS.replaceAll("${username}", vm.owner),
    subject: `Your VM ${vm.name} was terminated by ${admin}`,
    text: composeText(body),
    html: composeHtml(body),
  };
}

// VMs as a table: one row per VM with its name (a link to its page) and its state as text. On a phone
// the rows become cards (CSS), keeping their table roles.

import type { ReactNode } from "react";
import { Link } from "wouter";
import type { Vm } from "../../../src/core/api.ts";
import { expiresIn } from "../../../src/portal/rules.ts";
import { ConnectLine, ImageName } from "./vm.tsx";
import { Responding, StateBadge, When } from "./ui.tsx";
import { useNow } from "./useNow.ts";

export function VmTable({ vms, caption, owner = false, actions }: { vms: Vm[]; caption: string; owner?: boolean; actions?: (vm: Vm) => ReactNode }) {
  const now = useNow();
  return (
    <div className="table-wrap cards-wrap" tabIndex={0} role="region" aria-label={caption}>
      <table className="vms cards" role="table">
        <caption className="visually-hidden">{caption}</caption>
        <thead role="rowgroup">
          <tr role="row">
            <th scope="col" role="columnheader">Name</th>
            {owner && <th scope="col" role="columnheader">Owner</th>}
            <th scope="col" role="columnheader">Image</th>
            <th scope="col" role="columnheader">State</th>
            <th scope="col" role="columnheader">Responding</th>
            <th scope="col" role="columnheader">Host</th>
            <th scope="col" role="columnheader">Created</th>
            <th scope="col" role="columnheader">Expires</th>
            <th scope="col" role="columnheader">Connect</th>
            {actions && <th scope="col" role="columnheader">Actions</th>}
          </tr>
        </thead>
        <tbody role="rowgroup">
          {vms.map((vm) => (
            <tr key={vm.id} role="row">
              <th scope="row" role="rowheader" data-label="Name">
                <Link href={`/vms/${vm.id}`}>{vm.name}</Link>
              </th>
              {owner && <td role="cell" data-label="Owner">{vm.owner}</td>}
              <td role="cell" data-label="Image">
                <ImageName tag={vm.image} />
              </td>
              <td role="cell" data-label="State">
                <StateBadge vm={vm} />
                {vm.state === "failed" && vm.error && <span className="row-error">{vm.error}</span>}
              </td>
              <td role="cell" data-label="Responding">
                <Responding vm={vm} />
              </td>
              <td role="cell" data-label="Host">{vm.host}</td>
              <td role="cell" data-label="Created">
                <When at={vm.createdAt} />
              </td>
              <td role="cell" data-label="Expires">
                <When at={vm.expiresAt}>{expiresIn(vm.expiresAt, now)}</When>
              </td>
              <td role="cell" data-label="Connect">
                <ConnectLine vm={vm} />
              </td>
              {actions && <td role="cell" data-label="Actions">{actions(vm)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

// Admin: the hosts with their capacity, online or not and their last heartbeat; the hostname pool's use.

import { ago, formatMiB, hostBars } from "../../../../src/portal/rules.ts";
import { Bar, Empty, ErrorNote, Loading, PageTitle } from "../../components/ui.tsx";
import { useNow } from "../../components/useNow.ts";
import { useHostnames, useHosts } from "../../queries/catalog.ts";
import { AdminTabs } from "./AdminOnly.tsx";
import { Link } from "wouter";

export function HostsPage() {
  const hosts = useHosts(true);
  const names = useHostnames();
  const now = useNow(10_000);
  const used = names.data?.filter((n) => n.vmId !== null) ?? [];
  return (
    <>
      <PageTitle title="Hosts">Hosts</PageTitle>
      <AdminTabs />
      {hosts.isPending && <Loading what="the hosts" />}
      <ErrorNote error={hosts.error} what="The hosts could not be read" />
      {hosts.data && hosts.data.items.length === 0 && (
        <Empty title="There is no host.">
          <p>
            Add one to server.toml's <code>[[hosts]]</code> and start <code>vgrid node</code> on it.
          </p>
        </Empty>
      )}
      <ul className="hosts">
        {hosts.data?.items.map((h) => (
          <li key={h.name} className="host-card">
            <h2>
              {h.name}{" "}
              <span className={`badge ${h.online ? "badge-ok" : "badge-bad"}`}>{h.online ? "online" : "offline"}</span>
              {h.removed && <span className="badge badge-idle">removed</span>}
            </h2>
            <p className="muted">
              Last heartbeat: {ago(h.lastSeenAt, now)}
              {h.node && ` · the machine has ${formatMiB(h.node.memoryMiB)} and ${h.node.cpus} cpus`}
            </p>
            {hostBars(h).map((b) => (
              <Bar key={b.label} label={b.label} used={b.used} max={b.max} words={b.words} />
            ))}
          </li>
        ))}
      </ul>
      <p className="muted">Memory and cpus are what the scheduler may hand out: the machine's, times the overcommit ratios of server.toml.</p>
      <section aria-labelledby="pool-title">
        <h2 id="pool-title">Hostname pool</h2>
        {names.isPending && <Loading what="the hostname pool" />}
        <ErrorNote error={names.error} what="The hostname pool could not be read" />
        {names.data && (
          <>
            <Bar label="In use" used={used.length} max={names.data.length} words={`${used.length} of ${names.data.length} names in use; ${names.data.length - used.length} free`} />
            {used.length > 0 && (
              <details>
                <summary>The names in use</summary>
                <ul className="names">
                  {used.map((n) => (
                    <li key={n.name}>
                      <Link href={`/vms/${n.vmId}`}>{n.name}</Link> <span className="muted">{n.mac}</span>
                    </li>
                  ))}
                </ul>
              </details>
            )}
          </>
        )}
      </section>
    </>
  );
}

// The server's Prometheus metrics (prom-client), served at /metrics: VMs by state and image, deploy
// latency, placement failures by reason, nodes online, node syncs and open long-polls, store query
// time. No label ever holds a username, a VM's name or id, or a secret: only states, image tags and reasons.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { DbOrTx } from "./store/db.js";
import { countOnlineHosts } from "./store/hosts.js";
import { countVmsByStateAndImage } from "./store/vms.js";

export interface Metrics {
  registry: Registry;
  deployDuration: Histogram;
  placementFailures: Counter<"reason">;
  nodeSyncs: Counter;
  nodeSyncsLimited: Counter;
  storeQueryDuration: Histogram;
}

/**
 * The metrics of one server; the gauges read the store when scraped (`db` is read then, not now), and
 * `openWatches` the long-polls this server holds open.
 */
export function createMetrics(db: () => DbOrTx, onlineSince: () => string, openWatches: () => number): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "vgrid_" });
  new Gauge({
    name: "vgrid_vms",
    help: "VMs by state and image",
    labelNames: ["state", "image"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await countVmsByStateAndImage(db())) this.set({ state: r.state, image: r.image }, r.count);
    },
  });
  new Gauge({
    name: "vgrid_nodes_online",
    help: "Nodes that synced within nodeOfflineAfterSeconds",
    registers: [registry],
    async collect() {
      this.set(await countOnlineHosts(db(), onlineSince()));
    },
  });
  new Gauge({
    name: "vgrid_node_long_polls",
    help: "Node long-polls this server holds open, waiting for a change of what should run on their host",
    registers: [registry],
    collect() {
      this.set(openWatches());
    },
  });
  return {
    registry,
    deployDuration: new Histogram({
      name: "vgrid_deploy_duration_seconds",
      help: "From POST /vms to the VM stored as pending (validation, placement, commit)",
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
      registers: [registry],
    }),
    placementFailures: new Counter({
      name: "vgrid_placement_failures_total",
      help: "Deploys refused for want of room: no-capacity, pool-exhausted, quota-exceeded, no-node",
      labelNames: ["reason"],
      registers: [registry],
    }),
    nodeSyncs: new Counter({ name: "vgrid_node_syncs_total", help: "Node protocol syncs received", registers: [registry] }),
    nodeSyncsLimited: new Counter({
      name: "vgrid_node_syncs_limited_total",
      help: "Node protocol syncs refused with a 429 for coming faster than a node ever syncs",
      registers: [registry],
    }),
    storeQueryDuration: new Histogram({
      name: "vgrid_store_query_duration_seconds",
      help: "Time of each store query",
      buckets: [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
      registers: [registry],
    }),
  };
}

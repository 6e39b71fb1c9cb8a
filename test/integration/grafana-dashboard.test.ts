// The Grafana dashboard in deploy/grafana reads only series the server exports: every metric name its
// queries use is in a real /metrics scrape.

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../../src/core/repo.js";
import { startTestServer } from "../support/server.js";

test("every series the dashboard queries is one the server exports", async (t) => {
  const dashboard = JSON.parse(await readFile(join(repoRoot(), "deploy", "grafana", "vgrid-dashboard.json"), "utf8")) as {
    panels: Array<{ targets: Array<{ expr: string }> }>;
  };
  const used = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((q) => q.expr.match(/vgrid_[a-z_]+/g) ?? [])));
  assert.ok(used.size >= 7, [...used].join(", "));
  const server = await startTestServer();
  t.after(() => server.close());
  await server.bringNodeOnline();
  const scrape = (await server.app.inject({ method: "GET", url: "/metrics" })).body;
  const exported = new Set([...scrape.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) =>
    type === "histogram" ? [`${name}_bucket`, `${name}_count`, `${name}_sum`] : [name!],
  ));
  for (const name of used) assert.ok(exported.has(name), `the dashboard's ${name} is exported`);
});

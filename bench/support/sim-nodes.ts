// Many simulated nodes in one process, for the benchmarks: each a real agent with the sim driver,
// authenticating as its own host (sim00000, sim00001, ...) over the real HTTP protocol.
// Run: node dist/bench/support/sim-nodes.js SERVER_URL COUNT; prints "online" once every node is.

import { Agent } from "../../src/node/agent.js";
import { SimDriver } from "../../src/node/drivers/sim/driver.js";
import { hostName, secret } from "./sim-cluster.js";

const [url, count] = [process.argv[2]!, Number(process.argv[3])];
const agents: Agent[] = [];
for (let i = 0; i < count; i++) {
  const agent = new Agent({
    serverUrl: url,
    nodeName: hostName(i),
    token: secret(i),
    driver: new SimDriver({ bootSeconds: 1 }),
    sshHost: "127.0.0.1",
    probeHost: "127.0.0.1",
    facts: { memoryMiB: 1048576, cpus: 4096 },
    log: () => {},
  });
  agent.start();
  agents.push(agent);
}
await Promise.all(agents.map((a) => a.online()));
process.stdout.write(`online: ${count} simulated nodes\n`);
process.once("SIGTERM", () => void Promise.all(agents.map((a) => a.shutdown(false))).then(() => process.exit(0)));

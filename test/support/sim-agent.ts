// A node agent in the test's own process, on the sim driver, as host h1 of startTestServer: started,
// and resolved once the server has heard its first look at every VM. The caller shuts it down.

import { Agent } from "../../src/node/agent.js";
import type { SimDriver } from "../../src/node/drivers/sim/driver.js";
import { NODE_TOKEN } from "./server.js";

export async function startSimAgent(serverUrl: string, driver: SimDriver, log: (line: string) => void): Promise<Agent> {
  const agent = new Agent({
    serverUrl,
    nodeName: "h1",
    token: NODE_TOKEN,
    driver,
    sshHost: "127.0.0.1",
    probeHost: "127.0.0.1",
    facts: { memoryMiB: 8192, cpus: 8 },
    log: (msg, fields) => log(`${msg} ${JSON.stringify(fields ?? {})}`),
  });
  agent.start();
  await agent.online();
  return agent;
}

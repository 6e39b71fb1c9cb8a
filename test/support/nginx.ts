// Debian's nginx in front of a vgrid, as a lab runs it: started by the test on loopback with a config
// of its own (no system service, no port 80), stopped and removed afterwards.

import { spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pickFreePort } from "../../src/node/drivers/qemu/ports.js";
import { VgridProcess } from "./vgrid.js";
import { eventually } from "./processes.js";

export interface Nginx {
  url: string;
  dir: string;
  stop(): Promise<void>;
}

/** nginx listening on 127.0.0.1 with `server` (the lines inside its server block) in front of `upstream`. */
export async function startNginx(serverBlock: (dir: string) => string): Promise<Nginx> {
  const dir = await mkdtemp(join(tmpdir(), "vgrid-nginx-"));
  // nginx's workers run as nobody: they read the password file in here.
  await chmod(dir, 0o755);
  await mkdir(join(dir, "temp"));
  const port = await pickFreePort("127.0.0.1");
  const conf = join(dir, "nginx.conf");
  await writeFile(
    conf,
    `worker_processes 1;
pid ${join(dir, "nginx.pid")};
error_log stderr warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${join(dir, "temp")};
  proxy_temp_path ${join(dir, "temp")};
  fastcgi_temp_path ${join(dir, "temp")};
  uwsgi_temp_path ${join(dir, "temp")};
  scgi_temp_path ${join(dir, "temp")};
  server {
    listen 127.0.0.1:${port};
${serverBlock(dir)}
  }
}
`,
  );
  const proc = new VgridProcess(spawn("/usr/sbin/nginx", ["-p", dir, "-c", conf, "-g", "daemon off;"], { stdio: ["ignore", "pipe", "pipe"] }));
  const url = `http://127.0.0.1:${port}`;
  try {
    await eventually("nginx to listen", 20_000, async () => {
      if (!proc.running) throw new Error(`nginx exited: ${proc.output}`);
      return (await fetch(url).catch(() => undefined)) ? true : undefined;
    }, 100);
  } catch (err) {
    await proc.stop("SIGQUIT");
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url,
    dir,
    async stop() {
      await proc.stop("SIGQUIT");
      await rm(dir, { recursive: true, force: true });
    },
  };
}

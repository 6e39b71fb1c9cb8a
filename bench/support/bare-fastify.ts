// The ceiling a figure of the API is compared with, in a process of its own as the vgrid server runs:
// a bare Fastify POST handler that parses the JSON body and answers 201 with a small JSON object, and
// a bare GET that answers a page of 500 vm objects held in memory (what GET /vms answers, unread).
// Run: node dist/bench/support/bare-fastify.js PORT

import Fastify from "fastify";
import { DEFAULT_PAGE } from "../../src/core/api.js";
import { sampleVm } from "../../test/support/fixtures.js";

const page = {
  items: Array.from({ length: DEFAULT_PAGE }, (_, i) => sampleVm({ id: `7f3c0000-0000-4000-8000-${String(i).padStart(12, "0")}`, name: `vm-${i}` })),
  next: "eyJhZnRlciI6WyIyMDMwLTAxLTAxVDEyOjAwOjAwWiIsIjdmM2MwMDAwIl19",
};
const app = Fastify({ logger: false });
app.post("/api/v1/vms", async (request, reply) => reply.code(201).send({ ok: true, got: request.body }));
app.get("/api/v1/vms", async () => page);
await app.listen({ host: "127.0.0.1", port: Number(process.argv[2]) });
process.stdout.write("listening\n");
process.on("SIGTERM", () => void app.close().then(() => process.exit(0)));

// The ceiling a figure of the API is compared with: a bare Fastify POST handler that parses the JSON
// body and answers 201 with a small JSON object, in a process of its own, as the vgrid server runs.
// Run: node dist/bench/support/bare-fastify.js PORT

import Fastify from "fastify";

const app = Fastify({ logger: false });
app.post("/api/v1/vms", async (request, reply) => reply.code(201).send({ ok: true, got: request.body }));
await app.listen({ host: "127.0.0.1", port: Number(process.argv[2]) });
process.stdout.write("listening\n");
process.on("SIGTERM", () => void app.close().then(() => process.exit(0)));

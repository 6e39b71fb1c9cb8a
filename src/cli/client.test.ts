import { test } from "node:test";
import assert from "node:assert/strict";
import { ApiClient, ApiError, ClientConfigError, normalizeBaseUrl, problemError, problemSlug } from "./client.js";

for (const [raw, expected] of [
  ["http://127.0.0.1:8080", "http://127.0.0.1:8080"],
  ["http://127.0.0.1:8080/", "http://127.0.0.1:8080"],
  ["https://vgrid.example.org/api/v1/", "https://vgrid.example.org"],
  ["https://example.org/vgrid/", "https://example.org/vgrid"],
] as const) {
  test(`normalizeBaseUrl('${raw}') is '${expected}'`, () => {
    assert.equal(normalizeBaseUrl(raw), expected);
  });
}

test("a VGRID_URL that is not an http URL is refused with an example", () => {
  assert.throws(() => normalizeBaseUrl("localhost:8080"), /VGRID_URL 'localhost:8080'.*http:\/\/127\.0\.0\.1:8080/);
  assert.throws(() => normalizeBaseUrl("nonsense"), ClientConfigError);
});

test("a missing VGRID_TOKEN says how to get one", () => {
  assert.throws(
    () => ApiClient.fromEnv({}),
    (err: unknown) => err instanceof ClientConfigError && /VGRID_TOKEN/.test(err.message) && /vgrid token create/.test(err.message),
  );
});

test("fromEnv defaults the URL", () => {
  assert.equal(ApiClient.fromEnv({ VGRID_TOKEN: "t" }).baseUrl, "http://127.0.0.1:8080");
});

test("problemSlug keeps the last segment of the type", () => {
  assert.equal(problemSlug("/problems/no-capacity"), "no-capacity");
  assert.equal(problemSlug("https://vgrid.example.org/problems/wrong-state"), "wrong-state");
  assert.equal(problemSlug("about:blank"), "about:blank");
});

test("a problem+json answer becomes an ApiError whose message is the detail, on one line", () => {
  const body = JSON.stringify({ type: "/problems/no-capacity", title: "No host has room", status: 409, detail: "no host\n has room" });
  const err = problemError(409, "Conflict", body, "http://x/api/v1/vms");
  assert.ok(err instanceof ApiError);
  assert.equal(err.status, 409);
  assert.equal(err.slug, "no-capacity");
  assert.equal(err.message, "no host has room");
});

test("an answer that is not problem+json still gives a line naming the URL and status", () => {
  const err = problemError(502, "Bad Gateway", "<html>oops</html>", "http://x/api/v1/vms");
  assert.equal(err.status, 502);
  assert.match(err.message, /http:\/\/x\/api\/v1\/vms answered 502 Bad Gateway/);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { composeHtml, composeText, userAddress } from "./compose.js";

const body = {
  title: "Your VM vm-001 expires in 24 hours",
  paragraphs: ["It expires at 2030-01-02 12:00 UTC.", "A reason with <b>tags</b> & \"quotes\""],
  action: { label: "Extend vm-001", url: "https://vgrid.example.org/extend/abc?x=1&y=2" },
  command: "vgrid extend vm-001 --hours 24",
  footer: "You get this because you own vm-001.",
};

test("a mail's text says everything its HTML does, and the HTML escapes every value", () => {
  const text = composeText(body);
  for (const part of [body.title, ...body.paragraphs, body.action.url, body.command, body.footer]) assert.ok(text.includes(part), part);
  const html = composeHtml(body);
  assert.ok(html.includes("A reason with &lt;b&gt;tags&lt;/b&gt; &amp; &quot;quotes&quot;"));
  assert.ok(html.includes('href="https://vgrid.example.org/extend/abc?x=1&amp;y=2"'));
  assert.ok(!html.includes("<b>tags"));
});

test("a user's address comes from [mail] userAddress", () => {
  assert.equal(userAddress({ mail: { host: "h", port: 25, security: "none", from: "v@x", userAddress: "${username}@lab.example.org", admins: [] } }, "ada"), "ada@lab.example.org");
  assert.equal(userAddress({}, "ada"), null);
});

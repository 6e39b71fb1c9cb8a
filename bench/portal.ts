// The web portal's first load, on a real `vgrid up` (its local node online, no VM):
//   bundle  the JavaScript and CSS of the first paint (what index.html loads), raw and as the gzip
//           files the server sends, beside the budget of 150 KB of compressed JavaScript;
//   load    in Debian's Chromium, from navigation to the first contentful paint and to interactive (the
//           My VMs page drawn from the API's answers, with the event stream open), cold (empty cache)
//           and warm (assets cached), beside the server-rendered /login page (no script), cold too.
// Run: make build && .node/bin/node dist/bench/portal.js [--rounds 10]
// Figures go to stdout as Markdown rows.

import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Browser, Page } from "playwright-core";
import { portalDirectory } from "../src/server/api/routes/portal.js";
import { launchBrowser } from "../test/support/browser.js";
import { cleanUp, startUp } from "../test/support/vgrid.js";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "10" } } });
const rounds = Number(values.rounds);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

async function bundle(): Promise<void> {
  const dir = portalDirectory();
  const index = await readFile(join(dir, "index.html"), "utf8");
  const files = [...index.matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)].map((m) => m[1]!);
  const size = async (f: string) => (await stat(join(dir, f))).size;
  let js = 0;
  let jsGz = 0;
  let css = 0;
  let cssGz = 0;
  for (const f of files) {
    if (f.endsWith(".js")) {
      js += await size(f);
      jsGz += await size(`${f}.gz`);
    } else if (f.endsWith(".css")) {
      css += await size(f);
      cssGz += await size(`${f}.gz`);
    }
  }
  console.log("| what the first paint loads | raw | gzip (as sent) | budget |");
  console.log("|---|---|---|---|");
  console.log(`| JavaScript (${files.filter((f) => f.endsWith(".js")).length} file) | ${kb(js)} | ${kb(jsGz)} | 150 KB compressed |`);
  console.log(`| CSS | ${kb(css)} | ${kb(cssGz)} | |`);
}

interface Timing {
  fcp: number;
  interactive: number;
}

/** Navigates and returns, in the page's own clock, its first contentful paint and when `ready` held. */
async function timed(page: Page, url: string, ready: "portal" | "login"): Promise<Timing> {
  await page.goto(url, { waitUntil: "commit" });
  const handle = await page.waitForFunction(
    (what) => {
      const doc = (globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } }).document;
      const done = what === "portal" ? doc.querySelector("h1")?.textContent === "My VMs" && doc.querySelector(".live-live") !== null : doc.querySelector("h1") !== null;
      return done ? performance.now() : undefined;
    },
    ready,
    { polling: "raf", timeout: 30_000 },
  );
  const interactive = await handle.jsonValue();
  const fcp = await page.evaluate(() => performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? NaN);
  return { fcp, interactive: interactive! };
}

async function load(browser: Browser, url: string, link: string): Promise<void> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(link);
  const rows: [string, Timing[]][] = [
    ["portal, cold (no cache)", []],
    ["portal, warm (assets cached)", []],
    ["/login page (server-rendered, no script), cold, for comparison", []],
  ];
  const cdp = await context.newCDPSession(page);
  // The login page of a logged-in browser redirects: it is timed in a second context, logged out.
  const outside = await browser.newContext();
  const login = await outside.newPage();
  const loginCdp = await outside.newCDPSession(login);
  for (let i = 0; i < rounds; i++) {
    await cdp.send("Network.clearBrowserCache");
    rows[0]![1].push(await timed(page, `${url}/`, "portal"));
    rows[1]![1].push(await timed(page, `${url}/`, "portal"));
    await loginCdp.send("Network.clearBrowserCache");
    rows[2]![1].push(await timed(login, `${url}/login`, "login"));
  }
  console.log("");
  console.log(`| load, median of ${rounds} | first contentful paint | interactive |`);
  console.log("|---|---|---|");
  for (const [what, ts] of rows) console.log(`| ${what} | ${median(ts.map((t) => t.fcp)).toFixed(0)} ms | ${median(ts.map((t) => t.interactive)).toFixed(0)} ms |`);
  await context.close();
  await outside.close();
}

await bundle();
const up = await startUp({ maxVms: 1 });
const browser = await launchBrowser();
try {
  const link = /^\s*(http:\/\/\S+\/auth\/link\/\S+)$/m.exec(up.proc.output)?.[1];
  if (!link) throw new Error(`vgrid up printed no login link: ${up.proc.output}`);
  await load(browser, up.url, link);
} finally {
  await browser.close();
  await cleanUp(up.proc, up.dataDir);
}

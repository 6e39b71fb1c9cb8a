// Debian's Chromium, driven by playwright-core (never a downloaded browser), for the browser tests.
// Screenshots go to test-results/screenshots/, to be looked at; every page looked at is also checked
// with axe-core, at desktop and at phone size.

import { mkdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { repoRoot } from "../../src/core/repo.js";

export const SCREENSHOTS = join(repoRoot(), "test-results", "screenshots");

export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 390, height: 844 };

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

/** Saves a screenshot of `page` as NAME.png; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const file = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

let axeSource: Promise<string> | undefined;

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/**
 * The serious and critical accessibility violations axe-core finds on the page as it is now, as lines
 * (rule, help, where). axe is evaluated through the DevTools protocol, so the page's CSP stays on.
 */
export async function accessibilityProblems(page: Page): Promise<string[]> {
  axeSource ??= readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
  const source = await axeSource;
  await page.evaluate(source);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (context: unknown, options: unknown) => Promise<{ violations: AxeViolation[] }> } }).axe;
    return (await axe.run((globalThis as unknown as { document: unknown }).document, { resultTypes: ["violations"] })).violations;
  });
  return violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
}

/**
 * Looks at the page as a person would at both sizes: a screenshot at desktop and at phone size
 * (NAME-desktop.png, NAME-phone.png) and the accessibility check at each; returns the problems found.
 */
export async function lookAt(page: Page, name: string): Promise<string[]> {
  const problems: string[] = [];
  const size = page.viewportSize() ?? DESKTOP;
  for (const [label, viewport] of [["desktop", DESKTOP], ["phone", PHONE]] as const) {
    await page.setViewportSize(viewport);
    await screenshot(page, `${name}-${label}`);
    problems.push(...(await accessibilityProblems(page)).map((p) => `${name} (${label}): ${p}`));
  }
  await page.setViewportSize(size);
  return problems;
}

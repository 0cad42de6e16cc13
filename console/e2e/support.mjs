// What the console's browser tests share: the context the Rust harness wrote
// (query-api/tests/console.rs), Chromium launched from Debian's package, screenshots,
// downloads, and a small reader of ZIP entry names.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const contextPath = process.env.SYNCTEL_E2E_CONTEXT;
if (!contextPath) {
  throw new Error(
    "SYNCTEL_E2E_CONTEXT is not set: run these tests through `cargo nextest run -p query-api --test console`",
  );
}

/** base_url, admin_token, viewer_token, tenant, cards, users, out_dir. */
export const ctx = JSON.parse(readFileSync(contextPath, "utf8"));
export const shotsDir = join(ctx.out_dir, "screenshots");
export const downloadsDir = join(ctx.out_dir, "downloads");
mkdirSync(shotsDir, { recursive: true });
mkdirSync(downloadsDir, { recursive: true });

// The flags this machine needs: no sandbox as root, no GPU, and no background traffic to
// hosts a closed network refuses.
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function launch() {
  return chromium.launch({ executablePath: process.env.SYNCTEL_CHROMIUM ?? "/usr/bin/chromium", args: FLAGS });
}

/** A fresh browser context (own cookies) and page at `viewport`. */
export async function newPage(browser, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({
    viewport,
    hasTouch: viewport.width < 600,
    acceptDownloads: true,
    baseURL: ctx.base_url,
  });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: ctx.base_url });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !/status of 40[14]/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.problems = problems;
  return page;
}

export async function shot(page, name) {
  await page.screenshot({ path: join(shotsDir, `${name}.png`), fullPage: true });
}

/** Signs in by the keyboard only: the token field has focus, Enter submits. */
export async function signIn(page, token) {
  await page.goto("/");
  await page.getByLabel("API token").waitFor();
  // The field has focus on its own (no click): typing then goes into it.
  await page.waitForFunction(() => document.activeElement?.getAttribute("type") === "password");
  await page.keyboard.type(token);
  await page.keyboard.press("Enter");
  try {
    await page.getByRole("button", { name: "Sign out" }).waitFor();
  } catch (e) {
    // Say what the page shows instead, for a failure seen only in CI.
    const shown = await page
      .locator("body")
      .innerText()
      .catch(() => "(unreadable)");
    throw new Error(
      `not signed in: the page shows ${JSON.stringify(shown.slice(0, 500))}; ${page.problems.join("; ")}`,
      { cause: e },
    );
  }
}

/** Clicks `locator` and saves the download it starts; answers its path and bytes. */
export async function download(page, locator, name) {
  const [d] = await Promise.all([page.waitForEvent("download"), locator.click()]);
  const path = join(downloadsDir, name);
  await d.saveAs(path);
  return { path, bytes: readFileSync(path), suggested: d.suggestedFilename() };
}

/** Entry names of a ZIP, from its local file headers (enough for our stream writer). */
export function zipEntries(bytes) {
  const names = [];
  for (let i = 0; i + 30 <= bytes.length;) {
    if (bytes.readUInt32LE(i) !== 0x04034b50) break;
    const flags = bytes.readUInt16LE(i + 6);
    const nameLen = bytes.readUInt16LE(i + 26);
    const extraLen = bytes.readUInt16LE(i + 28);
    names.push(bytes.subarray(i + 30, i + 30 + nameLen).toString("utf8"));
    // Streamed entries (flag bit 3) give their size in the data descriptor after the data:
    // find the next local header or the central directory.
    let next = i + 30 + nameLen + extraLen;
    if (flags & 8) {
      const sig = [0x50, 0x4b];
      let j = next;
      for (; j + 4 <= bytes.length; j++) {
        if (bytes[j] === sig[0] && bytes[j + 1] === sig[1]) {
          const k = bytes.readUInt32LE(j);
          if (k === 0x04034b50 || k === 0x02014b50) break;
        }
      }
      next = j;
    } else {
      next += bytes.readUInt32LE(i + 18);
    }
    i = next;
  }
  return names;
}

/** RFC 4180 CSV (quotes, doubled quotes, CRLF) into rows of cells; a BOM is dropped. */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = "";
  let quoted = false;
  const s = text.replace(/^\uFEFF/, "");
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c === '"' && s[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(cell);
      cell = "";
    } else if (c === "\n") {
      row.push(cell.replace(/\r$/, ""));
      rows.push(row);
      row = [];
      cell = "";
    } else cell += c;
  }
  if (cell !== "" || row.length > 0) rows.push([...row, cell]);
  return rows;
}

const axeSource = readFileSync(new URL("../node_modules/axe-core/axe.min.js", import.meta.url), "utf8");

/** axe-core's WCAG 2 A/AA violations of serious or critical impact on the page as it is
 * (run through the DevTools protocol, so the page's CSP does not stop it). */
export async function accessibilityProblems(page) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }),
  );
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help}; e.g. ${v.nodes[0]?.target?.join(" ")}`);
}

/** The cards' number format (en-US grouping). */
export const count = (n) => Number(n).toLocaleString("en-US");

/** A user of the context whose display name no other user shares, with `want` true. */
export function uniqueUser(want) {
  const names = new Map();
  for (const u of ctx.users) names.set(u.display_name, (names.get(u.display_name) ?? 0) + 1);
  const found = ctx.users.find((u) => names.get(u.display_name) === 1 && want(u));
  if (!found) throw new Error("the simulated fleet has no such user; change the seed in query-api/tests/console.rs");
  return found;
}

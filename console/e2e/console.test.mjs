// The console in headless Chromium against the pipeline the Rust harness started
// (query-api/tests/console.rs): each test reads what the simulator's manifest says and
// checks the page shows it. Tests run in order and share one signed-in admin page.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  accessibilityProblems,
  count,
  ctx,
  download,
  launch,
  newPage,
  parseCsv,
  shot,
  signIn,
  uniqueUser,
  zipEntries,
} from "./support.mjs";

let browser;
let page;

before(async () => {
  browser = await launch();
  page = await newPage(browser);
});

after(async () => {
  await browser?.close();
});

const CARD_TITLES = {
  NeverSynced: "Never synced",
  InProgress: "Sync in progress",
  LastSyncFailed: "Last sync failed",
  LastSyncSucceeded: "Last sync succeeded",
  Stalled: "Stalled",
};

const rowsOf = (title) => page.getByRole("region", { name: `${title} table` }).locator("tbody tr");

/** The header texts of a table (the selection column's is empty, sort arrows dropped). */
async function headersOf(title) {
  const texts = await page
    .getByRole("region", { name: `${title} table` })
    .locator("thead tr:first-child th")
    .allInnerTexts();
  return texts.map((t) => t.replace(/[▲▼]/g, "").trim());
}

/** The cells of one column, found by its header. */
async function columnOf(title, header) {
  const index = (await headersOf(title)).indexOf(header);
  assert.ok(index >= 0, `${title}: no column ${header}`);
  return rowsOf(title)
    .locator(`td:nth-child(${index + 1})`)
    .allInnerTexts();
}

/** Waits until the table's rows satisfy `check` (the list reloads after typing settles). */
async function until(check, what) {
  const deadline = Date.now() + 20_000;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await check();
      if (last === true) return;
    } catch (e) {
      last = e;
    }
    await page.waitForTimeout(200);
  }
  assert.fail(`${what}: ${last}`);
}

test("a wrong token is refused in plain words", async () => {
  await page.goto("/");
  await page.getByLabel("API token").fill("sqa_" + "0".repeat(64));
  await page.getByRole("button", { name: "Sign in" }).click();
  await assert.doesNotReject(page.getByRole("alert").filter({ hasText: "not valid" }).waitFor());
  await page.getByLabel("API token").fill("hello");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").filter({ hasText: "64 hexadecimal" }).waitFor();
  await shot(page, "01-sign-in-refused");
});

test("signing in by keyboard shows the monitor with the simulator's numbers", async () => {
  await signIn(page, ctx.admin_token);
  await page.getByText(`${ctx.tenant} · admin`).waitFor();
  for (const [state, users] of Object.entries(ctx.cards)) {
    assert.equal(await page.getByTestId(`card-${state}`).innerText(), count(users), `card ${state}`);
  }
  await page.getByTestId("as-of").waitFor();
  assert.match(await page.getByTestId("as-of").innerText(), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  // The trend chart is drawn (uPlot's canvas) and its totals are there as text.
  await page.locator(".chart canvas").first().waitFor();
  await page.getByText(/^Totals: Success [\d,]+/).waitFor();
  // Below the cards, the users of Last sync failed, as the seeds' monitor opens.
  const failed = Math.min(ctx.cards.LastSyncFailed, 50);
  await until(async () => {
    const n = await rowsOf("Users: Last sync failed").count();
    return n === failed ? true : `${n} rows, expected ${failed}`;
  }, "Last sync failed users under the cards");
  await shot(page, "02-monitor");
});

test("a card opens the users behind it", async () => {
  const state = Object.entries(ctx.cards).sort((a, b) => b[1] - a[1])[0][0];
  const card = page.locator(`a.card[data-state="${state}"]`);
  await card.focus();
  await page.keyboard.press("Enter");
  await page.waitForURL(`**/#/monitor/${state}`);
  const title = `Users: ${CARD_TITLES[state]}`;
  const expected = Math.min(ctx.cards[state], 50);
  await until(async () => {
    const n = await rowsOf(title).count();
    return n === expected ? true : `${n} rows, expected ${expected}`;
  }, "card rows");
  const ids = await rowsOf(title).locator("td a").allInnerTexts();
  const inState = new Set(ctx.users.filter((u) => u.sync_state === state).map((u) => u.user_id));
  assert.ok(ids.length > 0 && ids.every((id) => inState.has(id)), `every row is a ${state} user: ${ids}`);
  await shot(page, "03-card-users");
});

test("item 4: the monitor's rows show what put the user on the card", async () => {
  // Last sync failed: the outcome that decided it (never a Skipped session) and its error.
  const checks = {
    LastSyncFailed: (outcome) => outcome === "Error" || outcome === "Canceled",
    LastSyncSucceeded: (outcome) => outcome === "Success",
    NeverSynced: (outcome) => outcome !== "Success",
  };
  for (const [state, ok] of Object.entries(checks)) {
    if (ctx.cards[state] === 0) continue;
    await page.goto(`/#/monitor/${state}`);
    const title = `Users: ${CARD_TITLES[state]}`;
    await until(async () => (await rowsOf(title).count()) === Math.min(ctx.cards[state], 50), `${state} rows`);
    await page.getByTestId("card-why").waitFor();
    const headers = await headersOf(title);
    assert.ok(headers.includes("Last outcome"), `${state}: ${headers}`);
    const outcomes = await columnOf(title, "Last outcome");
    assert.ok(outcomes.every(ok), `${state} outcomes: ${outcomes}`);
    if (state === "LastSyncFailed") {
      assert.ok(headers.includes("Last error message") && headers.includes("Last error category"), `${headers}`);
      assert.ok(!headers.includes("Last session status"), "not the latest (maybe Skipped) session's status");
      // When the failed sync ran, and when the error shown happened: the same session for
      // an Error, an earlier one (or none) for a Canceled sync.
      assert.ok(headers.includes("Last outcome started") && headers.includes("Last error started"), `${headers}`);
      const outcomeAt = await columnOf(title, "Last outcome started");
      const errorAt = await columnOf(title, "Last error started");
      outcomes.forEach((o, i) => {
        assert.ok(outcomeAt[i], `row ${i}: the failed sync's start`);
        if (o === "Error") assert.equal(errorAt[i], outcomeAt[i], `row ${i}: an Error outcome is its own error`);
        else assert.notEqual(errorAt[i], outcomeAt[i], `row ${i}: a Canceled sync's error is an earlier one`);
      });
    }
    if (state === "LastSyncSucceeded") {
      assert.ok(!headers.includes("Last error message"), "no old error messages on the succeeded card");
      assert.ok(headers.includes("Last session duration"), `${headers}`);
    }
    if (state === "NeverSynced") assert.ok(headers.includes("Failed syncs in a row"), `${headers}`);
    await shot(page, `03-card-${state}`);
  }
});

test("item 7: labels are words, error codes explained, durations filtered in human units", async () => {
  await page.goto("/#/users");
  await until(async () => (await rowsOf("All users").count()) > 0, "users listed");
  const states = await columnOf("All users", "Sync state");
  assert.ok(states.length > 0 && states.every((s) => !/[a-z][A-Z]/.test(s)), `words: ${states}`);
  const options = await page.getByRole("combobox", { name: "Effective status" }).locator("option").allInnerTexts();
  assert.ok(options.includes("Disabled due to an error"), `${options}`);
  // A duration filter in the units the cells show.
  await page.getByLabel("Search Last session duration").fill("> 1 min");
  await until(async () => {
    const cells = await columnOf("All users", "Last session duration");
    return cells.length > 0 && cells.every((c) => /min|h/.test(c)) ? true : `${cells}`;
  }, "users whose last session took over a minute");
  assert.equal(await page.getByRole("alert").count(), 0);
  await page.getByLabel("Search Last session duration").fill("");
  // Issues: words for direction, error codes with their meaning and a legend.
  const user = uniqueUser((u) => (u.sessions_ended.Error ?? 0) > 2);
  await page.goto(`/#/users/${user.user_id}`);
  await page.getByRole("heading", { name: "Sync issues (last 3 days)" }).waitFor();
  await until(async () => (await rowsOf("Sync issues (last 3 days)").count()) > 0, "issues listed");
  const codes = await columnOf("Sync issues (last 3 days)", "Error code");
  assert.ok(
    codes.every((c) => /^[0-3] · \w/.test(c)),
    `codes: ${codes}`,
  );
  const directions = await columnOf("Sync issues (last 3 days)", "Direction");
  assert.ok(
    directions.every((d) => d === "Mail → CRM" || d === "CRM → mail"),
    `${directions}`,
  );
  await page.getByText("What the error codes mean").click();
  await page.getByText("object locked / operation error").first().waitFor();
});

test("users: a search box per column, the status menu, colours", async () => {
  await page.getByRole("link", { name: "Users", exact: true }).click();
  const user = uniqueUser((u) => u.sessions_started > 0);
  const word = user.display_name.split(" ").pop();
  const matching = ctx.users.filter((u) => u.display_name.toLowerCase().includes(word.toLowerCase()));
  await page.getByLabel("Search Display name").fill(word);
  await until(async () => {
    const names = await columnOf("All users", "Display name");
    return names.length === matching.length && names.every((n) => n.includes(word)) ? true : `${names}`;
  }, `users named *${word}*`);

  // A bad number says what to type instead of failing silently.
  await page.getByLabel("Search Last session duration").fill("abc");
  await page.getByRole("alert").filter({ hasText: "type a duration like 2 min 40 s" }).waitFor();
  // Item 10: no rows of the old view under the error, and no export of a view it cannot show.
  assert.equal(await rowsOf("All users").count(), 0, "rows under a bad filter");
  await page.getByLabel("Search Last session duration").fill("");
  await page.getByLabel("Search Display name").fill("");

  await page.getByRole("combobox", { name: "Effective status" }).selectOption("DisabledDueToError");
  const red = ctx.users.filter((u) => u.effective_status === "DisabledDueToError").length;
  await until(async () => {
    const n = await rowsOf("All users").count();
    const tones = await rowsOf("All users").evaluateAll((rows) => rows.map((r) => r.className));
    return n === Math.min(red, 50) && tones.every((t) => t === "tone-bad") ? true : `${n} rows, ${tones}`;
  }, "DisabledDueToError users, in red");
  await page.getByRole("combobox", { name: "Effective status" }).selectOption("Enabled");
  await until(async () => {
    const tones = await rowsOf("All users").evaluateAll((rows) => rows.map((r) => r.className));
    return tones.length > 0 && tones.every((t) => t === "tone-good") ? true : `${tones}`;
  }, "Enabled users, in green");
  await shot(page, "04-users-enabled");
});

test("export CSV gives exactly the current view", async () => {
  // Hide a column, keep the status filter (Enabled) from the previous test, sort by name.
  await page.getByText("Columns", { exact: true }).click();
  await page.getByLabel("Mail account", { exact: true }).uncheck();
  await page.getByLabel("Profile status", { exact: true }).uncheck();
  await page.getByText("Columns", { exact: true }).click();
  await page.getByRole("button", { name: "Display name" }).click();
  const headers = (await headersOf("All users")).filter((h) => h !== "");
  assert.ok(!headers.includes("Mail account"), `${headers}`);
  const csv = await download(page, page.getByRole("link", { name: "Export CSV (raw)" }), "users.csv");
  const rows = parseCsv(csv.bytes.toString("utf8"));
  const [head, ...body] = rows;
  assert.equal(head.length, headers.length, `CSV columns ${head} vs the table's ${headers}`);
  assert.ok(!head.includes("mail_account") && !head.includes("profile_status"), `${head}`);
  const enabled = ctx.users.filter((u) => u.effective_status === "Enabled");
  assert.equal(body.length, enabled.length, "one CSV row per Enabled user (every page)");
  const status = head.indexOf("effective_status");
  assert.ok(
    body.every((r) => r[status] === "Enabled"),
    "only Enabled users",
  );
  const names = body.map((r) => r[head.indexOf("display_name")]);
  assert.deepEqual(
    names,
    [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    "sorted by name as on screen",
  );
  assert.deepEqual(new Set(body.map((r) => r[head.indexOf("user_id")])), new Set(enabled.map((u) => u.user_id)));

  // Item 9: the same view for a spreadsheet: headers as on screen (times say UTC), times a
  // spreadsheet reads, durations h:mm:ss, yes/no, words for codes, a file name that says what.
  const excel = await download(page, page.getByRole("link", { name: "Export CSV for Excel" }), "users-excel.csv");
  assert.match(excel.suggested, new RegExp(`^users-${ctx.tenant}-\\d{4}-\\d\\d-\\d\\d\\.csv$`));
  assert.equal(excel.bytes[0], 0xef, "a BOM for Excel");
  const [xhead, ...xbody] = parseCsv(excel.bytes.toString("utf8"));
  assert.equal(xbody.length, body.length, "the same rows");
  assert.ok(xhead.includes("User ID") && xhead.includes("Display name"), `${xhead}`);
  assert.ok(xhead.includes("Last session started (UTC)"), `${xhead}`);
  assert.ok(xhead.includes("Last session duration (h:mm:ss)"), `${xhead}`);
  const at = (name) => xbody.map((r) => r[xhead.indexOf(name)]);
  assert.ok(at("Last session started (UTC)").every((t) => t === "" || /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(t)));
  assert.ok(at("Last session duration (h:mm:ss)").every((t) => t === "" || /^\d+:\d\d:\d\d$/.test(t)));
  assert.ok(at("CRM token active").every((t) => t === "yes" || t === "no"));
  assert.ok(
    at("Sync state").every((t) => !/^[A-Z][a-z]+[A-Z]/.test(t)),
    `words: ${at("Sync state")}`,
  );
});

test("a user's page: status triple, connectivity, scope, history, issues", async () => {
  const user = uniqueUser((u) => (u.sessions_ended.Error ?? 0) > 0 && u.effective_status === "Enabled");
  await page.goto(`/#/users/${user.user_id}`);
  await page.getByRole("heading", { level: 1, name: user.display_name }).waitFor();
  assert.equal(await page.getByTestId("effective-status").innerText(), user.effective_status);
  for (const h of [
    "Status",
    "Connectivity",
    "Scope settings",
    "Actions",
    "Sync history (latest 20)",
    "Sync issues (last 3 days)",
  ]) {
    await page.getByRole("heading", { name: h, exact: true }).waitFor();
  }
  await page.locator(".triples .triple").nth(2).waitFor();
  await shot(page, "05-user");
  ctx.errorUser = user;
});

test("session statistics: 3-day window, errors first, details, log ZIPs", async () => {
  const user = ctx.errorUser;
  await page.getByRole("link", { name: "Session statistics" }).click();
  const from = await page.getByLabel("From", { exact: true }).inputValue();
  const to = await page.getByLabel("To", { exact: true }).inputValue();
  const days = (Date.parse(to) - Date.parse(from)) / 86_400_000;
  assert.ok(days > 2.99 && days < 3.01, `From/To span ${days} days`);
  const table = "Sessions (errors first)";
  await until(async () => (await rowsOf(table).count()) > 0, "sessions listed");
  const statuses = await rowsOf(table).evaluateAll((rows) => rows.map((r) => r.className));
  const firstOther = statuses.findIndex((c) => c !== "tone-bad");
  assert.ok(statuses[0] === "tone-bad", "an Error session first");
  assert.ok(
    firstOther === -1 || statuses.slice(firstOther).every((c) => c !== "tone-bad"),
    `errors first: ${statuses}`,
  );

  // Item 5: the reason of an error is on screen at 1280 px without scrolling sideways.
  const headers = await headersOf(table);
  for (const h of ["Error category", "Error source", "Message"]) {
    const i = headers.indexOf(h);
    assert.ok(i >= 0 && i <= 8, `${h} is column ${i + 1}: ${headers}`);
  }
  const region = page.getByRole("region", { name: `${table} table` });
  assert.equal(await region.evaluate((e) => e.scrollLeft), 0);
  const reason = await rowsOf(table).first().locator("td.message").boundingBox();
  const box = await region.boundingBox();
  assert.ok(
    reason && reason.x + 40 < box.x + box.width,
    `message cell at x=${reason?.x}, table box ends at ${box.x + box.width}`,
  );
  await shot(page, "06-sessions");

  // The details panel of the first (failed) session, its exception copied.
  const first = rowsOf(table).first().getByRole("button");
  const sessionId = await first.innerText();
  await first.click();
  await page.getByRole("heading", { name: `Session ${sessionId}` }).waitFor();
  await page.getByRole("heading", { name: "Objects report" }).waitFor();
  const exception = page.locator("pre.exception");
  await exception.waitFor();
  await page.getByRole("button", { name: "Copy the exception to the clipboard" }).click();
  await page.getByRole("status").filter({ hasText: "Copied" }).waitFor();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, await exception.innerText());
  await shot(page, "06-sessions-details");

  const one = await download(page, page.getByRole("link", { name: "Log (ZIP)" }), "session.zip");
  assert.deepEqual(zipEntries(one.bytes), [`${sessionId}.log`]);

  const ids = (await rowsOf(table).getByRole("button").allInnerTexts()).slice(0, 2);
  for (const id of ids) await page.getByLabel(`Select ${id}`, { exact: true }).check();
  const chosen = await download(page, page.getByRole("button", { name: "Logs of 2 selected (ZIP)" }), "chosen.zip");
  assert.deepEqual(zipEntries(chosen.bytes).sort(), ["index.csv", ...ids.map((i) => `${i}.log`)].sort());
  const all = await download(page, page.getByRole("button", { name: "Logs of the window (ZIP)" }), "window.zip");
  const entries = zipEntries(all.bytes);
  assert.equal(entries[0], "index.csv");
  assert.ok(entries.length - 1 >= Math.min(user.sessions_started, 1), `${entries.length - 1} session logs`);
  // The same window as one CSV of every line.
  await page.getByRole("combobox", { name: "Logs as" }).selectOption("csv");
  const csv = await download(page, page.getByRole("button", { name: "Logs of the window (CSV)" }), "window.csv");
  const lines = parseCsv(csv.bytes.toString("utf8"));
  assert.deepEqual(lines[0], ["session_id", "time", "level", "text"]);
  const logged = new Set(lines.slice(1).map((l) => l[0]));
  assert.ok(
    logged.size > 0 && [...logged].every((id) => entries.includes(`${id}.log`)),
    "the lines of the window's sessions",
  );
});

test("item 6: Back restores a filtered view and a link opens it", async () => {
  await page.goto("/#/users");
  await until(async () => (await rowsOf("All users").count()) > 0, "users listed");
  const user = uniqueUser((u) => u.effective_status === "Enabled" && u.sessions_started > 0);
  const word = user.display_name.split(" ").pop();
  await page.getByLabel("Search Display name").fill(word);
  await page.getByRole("combobox", { name: "Effective status" }).selectOption("Enabled");
  await page.getByRole("button", { name: "User ID" }).click();
  const expected = ctx.users
    .filter((u) => u.effective_status === "Enabled" && u.display_name.toLowerCase().includes(word.toLowerCase()))
    .map((u) => u.user_id)
    .sort();
  const ids = async (p) => p.getByRole("region", { name: "All users table" }).locator("tbody tr td a").allInnerTexts();
  await until(async () => {
    const got = await ids(page);
    return JSON.stringify(got) === JSON.stringify(expected) ? true : `${got} vs ${expected}`;
  }, "the filtered, sorted view");
  await until(
    async () => (page.url().includes("f.display_name=") && page.url().includes("sort=user_id") ? true : page.url()),
    "the view in the address",
  );
  const link = page.url();
  await page.getByRole("link", { name: user.user_id, exact: true }).click();
  await page.getByRole("heading", { level: 1, name: user.display_name }).waitFor();
  await page.goBack();
  await page.getByLabel("Search Display name").waitFor();
  assert.equal(await page.getByLabel("Search Display name").inputValue(), word);
  assert.equal(await page.getByRole("combobox", { name: "Effective status" }).inputValue(), "Enabled");
  await until(async () => {
    const got = await ids(page);
    return JSON.stringify(got) === JSON.stringify(expected) ? true : `${got}`;
  }, "Back restores the view");
  // The address opened in another tab shows the same view.
  const other = await page.context().newPage();
  await other.goto(link);
  await until(async () => {
    const got = await ids(other);
    return JSON.stringify(got) === JSON.stringify(expected) ? true : `${got}`;
  }, "a link opens the view");
  await other.close();

  // Session statistics: From/To, the status menu and the open session come back too.
  await page.goto(`/#/users/${ctx.errorUser.user_id}/sessions`);
  const table = "Sessions (errors first)";
  await until(async () => (await rowsOf(table).count()) > 0, "sessions listed");
  const from = await page.getByLabel("From", { exact: true }).inputValue();
  const earlier = from.replace(/T\d\d:\d\d$/, "T00:00");
  await page.getByLabel("From", { exact: true }).fill(earlier);
  await page.getByRole("combobox", { name: "Status" }).selectOption("Error");
  const first = rowsOf(table).first().getByRole("button");
  const id = await first.innerText();
  await first.click();
  await page.getByRole("heading", { name: `Session ${id}` }).waitFor();
  await until(
    async () => (page.url().includes(`session=${id}`) ? true : page.url()),
    "the open session in the address",
  );
  await page.getByRole("link", { name: "User", exact: true }).click();
  await page.getByRole("heading", { name: "Sync history (latest 20)" }).waitFor();
  await page.goBack();
  await page.getByRole("heading", { name: `Session ${id}` }).waitFor();
  assert.equal(await page.getByLabel("From", { exact: true }).inputValue(), earlier);
  assert.equal(await page.getByRole("combobox", { name: "Status" }).inputValue(), "Error");
  // Item 10: a reversed window says so and shows no rows.
  await page.getByLabel("From", { exact: true }).fill("2030-01-01T00:00");
  await page.getByRole("alert").filter({ hasText: "From must be before To" }).waitFor();
  assert.equal(await rowsOf(table).count(), 0);
});

test("an action asks for confirmation and lands in the audit trail", async () => {
  const user = ctx.errorUser;
  await page.goto(`/#/users/${user.user_id}`);
  await page.getByRole("button", { name: "Force sync" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.waitFor();
  await shot(page, "07-action-confirm");
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  await page.getByRole("button", { name: "Force sync" }).click();
  await dialog.getByRole("button", { name: "Force sync" }).click();
  const status = page.getByRole("status").filter({ hasText: "Force sync: sent to the sync engines" });
  await status.waitFor();
  await page.getByRole("link", { name: "audit trail" }).click();
  await until(async () => {
    const first = await rowsOf("Admin actions").first().innerText();
    return first.includes(user.user_id) && /force[_ ]?sync/i.test(first) && first.includes("published") ? true : first;
  }, "the action first in the audit trail");
  await shot(page, "08-audit");

  // Several users at once from the monitor's table: one confirmation, a request each.
  await page.getByRole("link", { name: "Monitor", exact: true }).click();
  const table = "Users: Last sync failed";
  await until(async () => (await rowsOf(table).count()) >= 2, "two failed users");
  const two = (await rowsOf(table).locator("td a").allInnerTexts()).slice(0, 2);
  for (const id of two) await page.getByLabel(`Select ${id}`, { exact: true }).check();
  await page.getByRole("combobox", { name: "Action" }).selectOption("pause");
  await page.getByRole("button", { name: "Apply to 2 selected" }).click();
  const dialogText = await page.getByRole("dialog").innerText();
  assert.ok(!dialogText.includes("this user"), `the bulk dialog speaks of several users: ${dialogText}`);
  await page.getByRole("dialog").getByRole("button", { name: "Pause 2 users" }).click();
  await page.getByRole("status").filter({ hasText: "Pause: sent for 2 of 2 users" }).waitFor();
  // Item 10: the selection is cleared after sending.
  await until(
    async () => (await page.getByRole("button", { name: "Apply to 0 selected" }).count()) === 1,
    "selection cleared",
  );
  await page.goto("/#/audit");
  await until(async () => {
    const rows = await rowsOf("Admin actions").allInnerTexts();
    const paused = rows.filter((r) => /pause/i.test(r) && /published/.test(r));
    return two.every((id) => paused.some((r) => r.includes(id))) ? true : `${paused}`;
  }, "both pauses in the audit trail");
});

test("item 8: an action shows pending, then the state the engine reports", async () => {
  const user = ctx.errorUser;
  await page.goto(`/#/users/${user.user_id}`);
  await page.getByRole("heading", { name: "Actions", exact: true }).waitFor();
  const setting = page.locator("dt:text-is('Setting') + dd");
  assert.equal(await setting.innerText(), "Enabled");
  await page.getByRole("button", { name: "Disable", exact: true }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Disable" }).click();
  const pending = page.getByTestId("pending-actions");
  await pending.filter({ hasText: "Disable" }).filter({ hasText: "pending" }).waitFor();
  await shot(page, "20-action-pending");
  // The simulated engine answers with a user state; the page follows it.
  await pending.filter({ hasText: "Disable: took effect" }).waitFor({ timeout: 30_000 });
  await until(
    async () => ((await setting.innerText()) === "Disabled by admin" ? true : await setting.innerText()),
    "the new setting",
  );
  await until(
    async () => ((await page.getByTestId("effective-status").innerText()) === "Disabled" ? true : "still enabled"),
    "the new effective status",
  );
  await shot(page, "21-action-took-effect");
  // And back.
  await page.getByRole("button", { name: "Enable", exact: true }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Enable" }).click();
  await until(
    async () => ((await setting.innerText()) === "Enabled" ? true : await setting.innerText()),
    "enabled again",
  );
  // The audit trail names actions in words and hides token ids and offsets by default.
  await page.goto("/#/audit");
  await until(async () => (await rowsOf("Admin actions").count()) > 0, "audit rows");
  const headers = await headersOf("Admin actions");
  assert.ok(!headers.includes("Issued by") && !headers.includes("Detail"), `${headers}`);
  const actions = await columnOf("Admin actions", "Action");
  assert.ok(actions.includes("Disable") && actions.every((a) => !/^[A-Z][a-z]+[A-Z]/.test(a)), `${actions}`);
});

test("profiles list and a profile's session statistics", async () => {
  await page.getByRole("link", { name: "Profiles", exact: true }).click();
  await until(async () => (await rowsOf("Profiles").count()) > 0, "profiles listed");
  await shot(page, "09-profiles");
  const profileName = (await columnOf("Profiles", "Name"))[0];
  await rowsOf("Profiles").first().getByRole("link").click();
  await until(async () => (await rowsOf("Users of this profile").count()) > 0, "profile users");
  // Item 10: the heading names the profile.
  await page.getByRole("heading", { level: 1, name: `Profile ${profileName}` }).waitFor();
  await shot(page, "10-profile-users");
  const profile = decodeURIComponent(page.url().split("#/profiles/")[1]);
  // A profile's sync issues: a page with From/To whose exports are the window's CSV.
  await page.getByRole("link", { name: "Sync issues", exact: true }).click();
  await page.getByRole("heading", { level: 1, name: `Sync issues: profile ${profile}` }).waitFor();
  await page.getByLabel("From", { exact: true }).waitFor();
  await shot(page, "23-profile-issues");
  const issues = await download(page, page.getByRole("link", { name: "Export CSV (raw)" }), "profile-issues.csv");
  const [head, ...issueRows] = parseCsv(issues.bytes.toString("utf8"));
  assert.equal(head[0], "issue_id");
  // Item 10: the names the seeds list beside each issue (every issue happened in this profile).
  const nameCol = head.indexOf("display_name");
  const profileCol = head.indexOf("profile_name");
  assert.ok(nameCol >= 0 && profileCol >= 0, `${head}`);
  assert.ok(
    issueRows.every((r) => r[nameCol] !== "" && r[profileCol] === profileName),
    "every issue names its user and the profile",
  );
  const excel = await download(page, page.getByRole("link", { name: "Export CSV for Excel" }), "profile-issues-x.csv");
  const excelHead = parseCsv(excel.bytes.toString("utf8"))[0];
  assert.ok(excelHead.includes("Display name") && excelHead.includes("Profile name"), `${excelHead}`);
  await page.getByRole("navigation", { name: "Profile views" }).getByRole("link", { name: "Users" }).click();
  await until(async () => (await rowsOf("Users of this profile").count()) > 0, "profile users again");
  // (Issues keep the profile they happened in, so a user moved since may be listed.)
  const userCol = head.indexOf("user_id");
  assert.ok(issueRows.length > 0, `${profile} has sync issues`);
  assert.ok(
    issueRows.every((r) => r[userCol].startsWith(`${ctx.tenant}-`)),
    "only the tenant's users",
  );
  await page.getByRole("link", { name: "Session statistics" }).click();
  const table = "Sessions (errors first)";
  await until(async () => (await rowsOf(table).count()) > 1, "profile sessions");
  // A profile's sessions come from the aggregator's table: the page says as of when.
  assert.match(await page.getByTestId("as-of").innerText(), /\d/);
  await shot(page, "11-profile-sessions");
  // Logs of sessions of several users of the profile, chosen on the page.
  const rows = rowsOf(table);
  const ids = [];
  for (let i = 0; i < (await rows.count()) && ids.length < 3; i++) {
    ids.push((await rows.nth(i).locator("td").allInnerTexts())[1]);
  }
  for (const id of ids) await page.getByLabel(`Select ${id}`, { exact: true }).check();
  const zip = await download(
    page,
    page.getByRole("button", { name: `Logs of ${ids.length} selected (ZIP)` }),
    "profile.zip",
  );
  assert.deepEqual(zipEntries(zip.bytes).sort(), ["index.csv", ...ids.map((i) => `${i}.log`)].sort());
});

test("item 1: a profile's default window of 1,000+ sessions downloads as ZIP and CSV", async () => {
  const [profile, started] = Object.entries(ctx.profile_sessions).sort((a, b) => b[1] - a[1])[0];
  assert.ok(started >= 1000, `the fleet's largest profile started ${started} sessions`);
  await page.goto(`/#/profiles/${profile}/sessions`);
  const table = "Sessions (errors first)";
  await until(async () => (await rowsOf(table).count()) > 1, "profile sessions");
  const zip = await download(
    page,
    page.getByRole("button", { name: "Logs of the window (ZIP)" }),
    "profile-window.zip",
  );
  // The page said what was coming: the window's session count, as the API counted it.
  const note = await page.locator(".log-download [role=status]").last().innerText();
  const announced = Number(/of ([\d,]+) sessions/.exec(note)?.[1].replace(/,/g, ""));
  assert.ok(announced >= 1000, `announced: ${note}`);
  const entries = zipEntries(zip.bytes);
  assert.equal(entries[0], "index.csv");
  assert.equal(entries.length - 1, announced, "a log entry per session of the window");
  assert.ok(entries.length - 1 >= 1000, `${entries.length - 1} session logs`);
  await page.getByRole("combobox", { name: "Logs as" }).selectOption("csv");
  const csv = await download(
    page,
    page.getByRole("button", { name: "Logs of the window (CSV)" }),
    "profile-window.csv",
  );
  const lines = parseCsv(csv.bytes.toString("utf8"));
  assert.deepEqual(lines[0], ["session_id", "time", "level", "text"]);
  const logged = new Set(lines.slice(1).map((l) => l[0]));
  assert.ok(logged.size >= 500, `${logged.size} sessions with lines in the CSV`);
  assert.ok(
    [...logged].every((id) => entries.includes(`${id}.log`)),
    "the CSV holds the window's sessions",
  );
  await page.getByRole("combobox", { name: "Logs as" }).selectOption("zip");
});

/** The pager's words under a table. */
const pagerOf = (title) => page.getByRole("navigation", { name: `${title} pages` }).getByTestId("pager-text");

test("item 10: the pager shows the total of the view", async () => {
  await page.goto("/#/users");
  await until(async () => (await rowsOf("All users").count()) > 0, "users listed");
  const users = ctx.users.length;
  const first = `Rows 1–${Math.min(50, users)} of ${count(users)}`;
  await until(
    async () => ((await pagerOf("All users").innerText()) === first ? true : await pagerOf("All users").innerText()),
    first,
  );
  // A profile's window of 1,000+ sessions: the total on the first and the second page.
  const [profile, started] = Object.entries(ctx.profile_sessions).sort((a, b) => b[1] - a[1])[0];
  await page.goto(`/#/profiles/${profile}/sessions`);
  const table = "Sessions (errors first)";
  await until(async () => (await rowsOf(table).count()) > 1, "profile sessions");
  let total = 0;
  await until(async () => {
    const m = /^Rows 1–50 of ([\d,]+)$/.exec(await pagerOf(table).innerText());
    total = m ? Number(m[1].replace(/,/g, "")) : 0;
    return total >= 1000 ? true : `${await pagerOf(table).innerText()} (the profile started ${started})`;
  }, "the window's total");
  await page.getByRole("button", { name: "Next →" }).click();
  await until(async () => {
    const text = await pagerOf(table).innerText();
    return text === `Rows 51–100 of ${count(total)}` ? true : text;
  }, "the second page keeps the total");
  // A filter changes the total.
  await page.getByRole("combobox", { name: "Status" }).selectOption("Error");
  await until(async () => {
    const m = /^Rows 1–\d+ of ([\d,]+)$/.exec(await pagerOf(table).innerText());
    const errors = m ? Number(m[1].replace(/,/g, "")) : -1;
    return errors > 0 && errors < total ? true : await pagerOf(table).innerText();
  }, "the total of the filtered view");
  await shot(page, "24-pager-total");
});

test("item 10: a user's sync issues name the user and the profile, in a From/To window", async () => {
  const user = uniqueUser((u) => u.issues >= 2 && u.profile_name);
  await page.goto(`/#/users/${user.user_id}`);
  await page.getByRole("heading", { level: 1, name: user.display_name }).waitFor();
  await page.getByRole("navigation", { name: "User views" }).getByRole("link", { name: "Sync issues" }).click();
  await page.getByRole("heading", { level: 1, name: `Sync issues: user ${user.user_id}` }).waitFor();
  const table = "Sync issues (newest first)";
  await until(async () => (await rowsOf(table).count()) > 0, "issues listed");
  const names = await columnOf(table, "Display name");
  assert.ok(
    names.every((n) => n === user.display_name),
    `display names: ${names}`,
  );
  const profiles = await columnOf(table, "Profile name");
  assert.ok(profiles.length > 0 && profiles.every((n) => n !== ""), `profile names: ${profiles}`);
  assert.ok(profiles.includes(user.profile_name), `${user.profile_name} among ${profiles}`);
  // The default window holds every issue the simulator reported (six hours of the fleet).
  await until(async () => {
    const text = await pagerOf(table).innerText();
    return new RegExp(`of ${count(user.issues)}$`).test(text) ? true : `${text} (expected ${user.issues})`;
  }, "the window's issues");
  await shot(page, "22-user-issues");
  // A From after the oldest issue on the page: fewer issues, none before it, and the window
  // in the address.
  const times = (await columnOf(table, "Occurred")).sort();
  const from = times[times.length - 1].slice(0, 16).replace(" ", "T");
  assert.ok(times[0].slice(0, 16) < from.replace("T", " "), `issues in more than one minute: ${times}`);
  await page.getByLabel("From", { exact: true }).fill(from);
  await until(async () => {
    const shown = await columnOf(table, "Occurred");
    const m = / of ([\d,]+)$/.exec(await pagerOf(table).innerText());
    const total = m ? Number(m[1].replace(/,/g, "")) : -1;
    return shown.length > 0 &&
      total > 0 &&
      total < user.issues &&
      shown.every((t) => t.slice(0, 16) >= from.replace("T", " "))
      ? true
      : `${total}: ${shown}`;
  }, "the issues from the picked time on");
  await until(
    async () => (page.url().includes(`from=${encodeURIComponent(from)}`) ? true : page.url()),
    "From in the address",
  );
  await page.getByLabel("To", { exact: true }).fill(from);
  await page.getByRole("alert").filter({ hasText: "From must be before To" }).waitFor();
  await page.getByRole("button", { name: "To now" }).click();
  await until(async () => (await rowsOf(table).count()) > 0, "issues again");
});

test("item 10: a To left at now follows the clock on refresh; a picked To stays", async () => {
  const p = await newPage(browser);
  await p.clock.install();
  await signIn(p, ctx.admin_token);
  await p.goto(`/#/users/${ctx.errorUser.user_id}/sessions`);
  await p.locator("tbody tr").first().waitFor();
  const to = p.getByLabel("To", { exact: true });
  const before = await to.inputValue();
  assert.equal(await p.getByTestId("to-follows").innerText(), "To: now (follows the clock)");
  const asked = [];
  p.on("request", (r) => {
    if (/\/api\/v1\/users\/[^/]+\/sessions\?/.test(r.url())) asked.push(new URL(r.url()).searchParams);
  });
  await p.clock.fastForward("20:00");
  const moved = async () => Date.parse(await to.inputValue()) - Date.parse(before);
  const deadline = Date.now() + 10_000;
  while ((await moved()) < 19 * 60_000 && Date.now() < deadline) await p.waitForTimeout(100);
  assert.ok((await moved()) >= 19 * 60_000, `To moved by ${(await moved()) / 60_000} min`);
  while (asked.length === 0 && Date.now() < deadline) await p.waitForTimeout(100);
  assert.ok(asked.length > 0, "the list was asked again");
  assert.ok(
    asked.every((q) => !q.has("to")),
    "a following To is the API's now (no to= sent)",
  );
  await p.screenshot({ path: `${ctx.out_dir}/screenshots/25-sessions-to-follows.png`, fullPage: true });
  // A picked To stays put through refreshes, and is sent.
  const picked = (await to.inputValue()).replace(/T\d\d:\d\d$/, "T00:00");
  await to.fill(picked);
  await p.getByTestId("to-follows").filter({ hasText: "To: as picked" }).waitFor();
  asked.length = 0;
  await p.clock.fastForward("20:00");
  const until2 = Date.now() + 10_000;
  while (asked.length === 0 && Date.now() < until2) await p.waitForTimeout(100);
  assert.ok(asked.length > 0, "the list was asked again");
  assert.equal(await to.inputValue(), picked);
  assert.ok(
    asked.every((q) => q.get("to") === String(Date.parse(picked))),
    "a picked To is sent as picked",
  );
  assert.ok(p.url().includes(`to=${encodeURIComponent(picked)}`), p.url());
  // "To now" follows the clock again.
  await p.getByRole("button", { name: "To now" }).click();
  await p.getByTestId("to-follows").filter({ hasText: "To: now (follows the clock)" }).waitFor();
  const gone = Date.now() + 10_000;
  while (/[?&]to=/.test(p.url()) && Date.now() < gone) await p.waitForTimeout(100);
  assert.ok(!/[?&]to=/.test(p.url()), `no To in the address: ${p.url()}`);
  await p.context().close();
});

test("item 3: the pages refresh by themselves and say when events stopped arriving", async () => {
  const p = await newPage(browser);
  await p.clock.install();
  await signIn(p, ctx.admin_token);
  await p.getByTestId("as-of").waitFor();
  assert.equal(await p.getByTestId("stale").count(), 0, "fresh events: no warning");
  let asked = 0;
  p.on("request", (r) => {
    if (/\/api\/v1\/(monitor\/cards|freshness)/.test(r.url())) asked++;
  });
  await p.clock.fastForward("00:31");
  const deadline = Date.now() + 10_000;
  while (asked < 2 && Date.now() < deadline) await p.waitForTimeout(100);
  assert.ok(asked >= 2, `asked again ${asked} times after 31 s`);
  // Twenty minutes later, no new event has arrived (the simulator published its fleet once).
  await p.clock.fastForward("20:00");
  const stale = p.getByTestId("stale");
  await stale.waitFor();
  assert.match(await stale.innerText(), /No new events for \d+ min/);
  await shot(p, "19-monitor-stale");
  await p.context().close();
});

test("item 10: an unknown profile, the favicon, the column chooser keeps the order", async () => {
  await page.goto("/#/profiles/no-such-profile");
  await page.getByRole("alert").filter({ hasText: "No profile “no-such-profile”" }).waitFor();
  assert.equal(await page.locator("table").count(), 0, "no page for an unknown profile");
  const icon = await page.evaluate(async () => {
    const link = document.querySelector("link[rel=icon]");
    return link ? (await fetch(link.getAttribute("href"))).status : 0;
  });
  assert.equal(icon, 200, "a favicon");
  await page.goto("/#/users");
  await until(async () => (await rowsOf("All users").count()) > 0, "users listed");
  const before = (await headersOf("All users")).filter((h) => h !== "");
  await page.getByText("Columns", { exact: true }).click();
  await page.getByLabel("CRM user", { exact: true }).check();
  await page.getByText("Columns", { exact: true }).click();
  const after = (await headersOf("All users")).filter((h) => h !== "");
  assert.deepEqual(after, [...before, "CRM user"], "an added column comes last, the others keep their order");
  await page.getByText("Columns", { exact: true }).click();
  await page.getByLabel("CRM user", { exact: true }).uncheck();
  await page.getByText("Columns", { exact: true }).click();
});

test("a viewer sees no actions", async () => {
  const viewer = await newPage(browser);
  await signIn(viewer, ctx.viewer_token);
  await viewer.goto(`/#/users/${ctx.errorUser.user_id}`);
  await viewer.getByText("Actions are for admins").waitFor();
  assert.equal(await viewer.getByRole("button", { name: "Force sync" }).count(), 0);
  await viewer.screenshot({ path: `${ctx.out_dir}/screenshots/12-user-as-viewer.png`, fullPage: true });
  await viewer.context().close();
});

test("usable at a phone's width", async () => {
  const phone = await newPage(browser, { width: 390, height: 844 });
  // Every page at 390 px, the sign-in first (with a refused token, as at 1280 px).
  await phone.goto("/");
  await phone.getByLabel("API token").fill("hello");
  await phone.getByRole("button", { name: "Sign in" }).click();
  await phone.getByRole("alert").filter({ hasText: "64 hexadecimal" }).waitFor();
  await phone.screenshot({ path: `${ctx.out_dir}/screenshots/13a-phone-sign-in.png`, fullPage: true });
  await phone.getByLabel("API token").fill("");
  await signIn(phone, ctx.admin_token);
  const profile = ctx.errorUser.profile_id;
  const pages = [
    ["#/", "13-phone-monitor", () => phone.getByTestId("card-LastSyncSucceeded")],
    ["#/users", "14-phone-users", () => phone.locator("tbody tr").first()],
    [
      `#/users/${ctx.errorUser.user_id}`,
      "15-phone-user",
      () => phone.getByRole("heading", { name: "Sync history (latest 20)" }),
    ],
    [`#/users/${ctx.errorUser.user_id}/sessions`, "16-phone-sessions", () => phone.locator("tbody tr").first()],
    ["#/profiles", "17-phone-profiles", () => phone.locator("tbody tr").first()],
    ["#/audit", "18-phone-audit", () => phone.locator("tbody tr").first()],
    ["#/monitor/LastSyncFailed", "13b-phone-card-users", () => phone.locator("tbody tr").first()],
    [`#/users/${ctx.errorUser.user_id}/issues`, "16c-phone-user-issues", () => phone.locator("tbody tr").first()],
    [`#/profiles/${profile}`, "17b-phone-profile-users", () => phone.locator("tbody tr").first()],
    [`#/profiles/${profile}/sessions`, "17c-phone-profile-sessions", () => phone.locator("tbody tr").first()],
    [
      `#/profiles/${profile}/issues`,
      "17d-phone-profile-issues",
      () => phone.getByRole("link", { name: "Export CSV (raw)" }),
    ],
  ];
  for (const [hash, name, ready] of pages) {
    await phone.goto(`/${hash}`);
    await ready().waitFor();
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `${hash}: the page scrolls sideways by ${overflow}px (tables scroll in their own box)`);
    await phone.screenshot({ path: `${ctx.out_dir}/screenshots/${name}.png`, fullPage: true });
  }
  // Item 10: the column chooser opens within the screen.
  await phone.goto("/#/users");
  await phone.locator("tbody tr").first().waitFor();
  await phone.getByText("Columns", { exact: true }).click();
  const menu = await phone.locator("details.menu fieldset").boundingBox();
  assert.ok(menu && menu.x >= 0 && menu.x + menu.width <= 390, `the column chooser at ${JSON.stringify(menu)}`);
  await phone.screenshot({ path: `${ctx.out_dir}/screenshots/14b-phone-columns.png` });
  await phone.getByText("Columns", { exact: true }).click();
  // Item 2: a tap on a session shows its details in view, without sideways scrolling.
  await phone.goto(`/#/users/${ctx.errorUser.user_id}/sessions`);
  const first = phone.locator("tbody tr").first().getByRole("button");
  const id = await first.innerText();
  await first.tap();
  const heading = phone.getByRole("heading", { name: `Session ${id}` });
  await heading.waitFor();
  await phone.getByRole("heading", { name: "Objects report" }).waitFor();
  const box = await heading.boundingBox();
  assert.ok(
    box && box.y >= 0 && box.y + box.height <= 844 && box.x >= 0 && box.x + 10 < 390,
    `heading at ${JSON.stringify(box)}`,
  );
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `with the details open the page scrolls sideways by ${overflow}px`);
  await phone.screenshot({ path: `${ctx.out_dir}/screenshots/16b-phone-session-details.png` });
  await phone.getByRole("button", { name: "Close the session details" }).tap();
  await heading.waitFor({ state: "detached" });
  await phone.context().close();
});

test("pages pass axe-core's WCAG 2.1 A/AA checks (serious and critical)", async () => {
  const user = ctx.errorUser.user_id;
  const pages = [
    ["#/", () => page.getByTestId("card-LastSyncSucceeded")],
    ["#/monitor/LastSyncSucceeded", () => page.locator("tbody tr").first()],
    ["#/profiles", () => page.locator("tbody tr").first()],
    ["#/users", () => page.locator("tbody tr").first()],
    [`#/users/${user}`, () => page.getByRole("heading", { name: "Sync history (latest 20)" })],
    [`#/users/${user}/sessions`, () => page.locator("tbody tr").first()],
    [`#/users/${user}/issues`, () => page.locator("tbody tr").first()],
    [`#/profiles/${ctx.errorUser.profile_id}/issues`, () => page.getByRole("link", { name: "Export CSV (raw)" })],
    ["#/audit", () => page.locator("tbody tr").first()],
  ];
  const problems = [];
  for (const [hash, ready] of pages) {
    await page.goto(`/${hash}`);
    await ready().waitFor();
    if (hash.endsWith("/sessions")) {
      await page.locator("tbody tr").first().getByRole("button").click();
      await page.getByRole("heading", { name: "Objects report" }).waitFor();
    }
    for (const p of await accessibilityProblems(page)) problems.push(`${hash}: ${p}`);
  }
  assert.deepEqual(problems, []);
});

test("signing out ends the session", async () => {
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByLabel("API token").waitFor();
  const status = await page.evaluate(async () => (await fetch("/api/v1/me")).status);
  assert.equal(status, 401);
  assert.deepEqual(page.problems, [], "no script errors on any page");
});

// Browser tests of the Cairn portal in real headless Chromium.
//
// Expects a running `cairn demo` (see .ci/suites/50-browser.sh) and these variables:
//   CAIRN_URL        the portal, e.g. http://127.0.0.1:41721
//   ADMIN_EMAIL      the demo administrator (printed by `cairn demo`)
//   ADMIN_PASSWORD
//   CHROMIUM         the Chromium binary (default /usr/bin/chromium)
//   ARTIFACTS        where screenshots go (default ../.ci/artifacts)
//
// Each flow is a function; later features add theirs to FLOWS. A failing step throws,
// and the run exits non-zero after saving a screenshot of the page it failed on.

import { chromium } from "playwright-core";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const BASE = required("CAIRN_URL").replace(/\/$/, "");
const ADMIN_EMAIL = required("ADMIN_EMAIL");
const ADMIN_PASSWORD = required("ADMIN_PASSWORD");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const ARTIFACTS = resolve(process.env.ARTIFACTS || new URL("../.ci/artifacts", import.meta.url).pathname);
const STEP_TIMEOUT_MS = 15_000;

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} must be set`);
    process.exit(2);
  }
  return value;
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function expectPath(page, path) {
  await page.waitForURL((url) => url.pathname + url.search === path, { timeout: STEP_TIMEOUT_MS });
}

async function expectText(page, text) {
  await page.getByText(text, { exact: false }).first().waitFor({ timeout: STEP_TIMEOUT_MS });
}

async function signIn(page, email, password) {
  await page.goto(`${BASE}/sign-in`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

async function signOut(page) {
  await page.locator("details.menu > summary").click();
  await page.getByRole("button", { name: "Sign out" }).click();
  await expectPath(page, "/sign-in?notice=signed_out");
  await expectText(page, "You have been signed out.");
}

/** A new user signs up, activates through the demo mailbox, signs in, sees the Homepage, signs out. */
async function signUpActivateSignInSignOut(page) {
  const email = `browser-${Date.now()}@example.com`;
  const password = "Browser-Test-2025";

  await page.goto(`${BASE}/sign-up`);
  await page.getByLabel("Full name").fill("Grace Hopper");
  await page.getByLabel("Work email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByLabel("Confirm password").fill(password);
  await page.getByLabel("Data-center location").selectOption("local");
  await page.screenshot({ path: join(ARTIFACTS, "sign-up.png"), fullPage: true });
  await page.getByRole("button", { name: "Sign up" }).click();
  await expectPath(page, "/sign-up/check-email");
  await expectText(page, "Check your inbox");
  console.log("ok: signed up");

  await page.goto(`${BASE}/dev/mailbox`);
  const row = page.locator("tr", { hasText: email }).filter({ hasText: "Activate your Cairn account" });
  await row.getByRole("link").first().click();
  await expectText(page, "Thank you for signing up");
  await page.locator('a[href*="/activate?token="]').first().click();
  await expectPath(page, "/sign-in?notice=activated");
  await expectText(page, "Your account is activated");
  console.log("ok: activated from the demo mailbox");

  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expectPath(page, "/");
  await page.getByRole("heading", { name: "Homepage" }).waitFor({ timeout: STEP_TIMEOUT_MS });
  await expectText(page, "No backup tasks yet");
  const nav = await page.locator(".nav a").allTextContents();
  check(nav.map((t) => t.trim()).join(",") === "Homepage,Activity", `navigation shows ${nav}`);
  await page.screenshot({ path: join(ARTIFACTS, "homepage.png"), fullPage: true });
  console.log("ok: signed in; Homepage screenshot saved");

  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload();
  check(!(await page.locator(".nav").isVisible()), "the phone layout starts with the menu closed");
  await page.locator(".nav-toggle-label").click();
  check(await page.locator(".nav").isVisible(), "the menu button opens the navigation on a phone");
  await page.screenshot({ path: join(ARTIFACTS, "homepage-phone.png"), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.reload();
  console.log("ok: phone layout");

  await signOut(page);
  await page.goto(`${BASE}/`);
  await expectPath(page, "/sign-in");
  console.log("ok: signed out");
}

/** The demo administrator printed by `cairn demo` can sign in and sees the Homepage and Activity. */
async function demoAdminSignsIn(page) {
  await signIn(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  await expectPath(page, "/");
  await expectText(page, "Demo Company");
  await page.getByRole("link", { name: "Activity" }).click();
  await expectPath(page, "/activity");
  await expectText(page, "Sign-in");
  await page.screenshot({ path: join(ARTIFACTS, "activity.png"), fullPage: true });
  await signOut(page);
  console.log("ok: demo administrator signed in and out");
}

/** A wrong password gets a clear message and no session. */
async function wrongPasswordIsRefused(page) {
  await signIn(page, ADMIN_EMAIL, "not-the-password");
  await expectText(page, "The email address or password is not correct.");
  await page.screenshot({ path: join(ARTIFACTS, "sign-in-refused.png"), fullPage: true });
  await page.goto(`${BASE}/`);
  await expectPath(page, "/sign-in");
  console.log("ok: wrong password refused");
}

/** "+ Add backup task" opens the form; submitting it without a service or name shows the messages. */
async function addTaskFormValidates(page) {
  await signIn(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  await expectPath(page, "/");
  await page.getByRole("link", { name: "+ Add backup task" }).first().click();
  await expectPath(page, "/tasks/new");
  await page.getByRole("button", { name: "Authenticate and create task" }).click();
  await expectText(page, "Choose Salesforce or Dropbox.");
  await expectText(page, "Enter");
  check(new URL(page.url()).pathname === "/tasks", `unexpected address ${page.url()}`);
  await page.screenshot({ path: join(ARTIFACTS, "add-task-errors.png"), fullPage: true });
  await page.goto(`${BASE}/`);
  await signOut(page);
  console.log("ok: add-task form validates");
}

const FLOWS = [signUpActivateSignInSignOut, demoAdminSignsIn, wrongPasswordIsRefused, addTaskFormValidates];

async function main() {
  mkdirSync(ARTIFACTS, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), "cairn-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const errors = [];
  let failed = false;
  try {
    for (const flow of FLOWS) {
      const page = await context.newPage();
      page.setDefaultTimeout(STEP_TIMEOUT_MS);
      page.on("pageerror", (error) => errors.push(`${flow.name}: ${error.message}`));
      page.on("console", (message) => {
        // Error statuses the flow expects (a refused sign-in is a 401) are logged by the
        // browser as failed loads; anything else (script errors, CSP violations) counts.
        const text = message.text();
        if (message.type() === "error" && !text.startsWith("Failed to load resource: the server responded with a status of")) {
          errors.push(`${flow.name}: console: ${text}`);
        }
      });
      try {
        await flow(page);
      } catch (error) {
        failed = true;
        console.error(`FAIL ${flow.name}: ${error.message}`);
        await page.screenshot({ path: join(ARTIFACTS, `failed-${flow.name}.png`), fullPage: true }).catch(() => {});
      } finally {
        await page.close();
      }
    }
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  if (errors.length > 0) {
    failed = true;
    console.error("JavaScript errors in the portal:\n" + errors.join("\n"));
  }
  if (failed) process.exit(1);
  console.log(`browser tests passed; screenshots in ${ARTIFACTS}`);
}

await main();

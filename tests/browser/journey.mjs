// The self-service web UI in a real browser: Debian's Chromium driven by playwright-core, against the app served by
// mfa-host (the repository's spin.toml) on each storage backend. A new user signs up, adds an authenticator app
// (TOTP codes computed here from the key the page shows, by this file's own RFC 6238), saves the backup codes,
// signs out and in again with a code, signs in on a second browser with a backup code, signs the other session
// out, renames the authenticator, adds a phone (codes through a fake Twilio), signs in by SMS on a remembered
// device and stops trusting it, reads the security activity page by page, changes the password, downloads their
// data, removes the phone and deletes the account. Another user adds a passkey on Chromium's virtual authenticator
// (CDP WebAuthn domain) and signs in with it as the second factor and alone. Every page is checked with axe-core
// (no serious or critical violation) and for CSP violations, and photographed at desktop and phone sizes into
// target/browser-artifacts/; each screenshot docs/user-guide.md shows must be one this run took.
//
// Usage: node tests/browser/journey.mjs (from the repository; mfa-host from MFA_HOST or target/debug/mfa-host,
// Chromium from CHROMIUM or /usr/bin/chromium; DATABASE_URL / REDIS_URL as the Rust suite reads them).

import { spawn, execFileSync } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { createServer } from "node:http";

import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "..", "..");
const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const artifacts = join(repo, "target", "browser-artifacts");
mkdirSync(artifacts, { recursive: true });

const PASSWORD = "correct horse battery staple";
let passed = 0;
const started = Date.now();

function ok(what) {
  passed += 1;
  console.log(`ok - ${what}`);
}

function check(condition, what) {
  if (!condition) throw new Error(`not ok - ${what}`);
  ok(what);
}

// --- RFC 6238 (HMAC-SHA-1, 6 digits, 30-second steps), written here from the RFC.

function base32(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const char of text.replace(/[\s=]/g, "").toUpperCase()) bits += alphabet.indexOf(char).toString(2).padStart(5, "0");
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

function totp(key, unixSeconds) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const digest = createHmac("sha1", key).update(counter).digest();
  const offset = digest[19] & 0x0f;
  const binary = digest.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 1_000_000).padStart(6, "0");
}

// --- A fake of Twilio's Messages API on loopback: accepts every message as Twilio does (201 with a SID).

async function fakeTwilio() {
  const messages = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => { body += chunk; });
    request.on("end", () => {
      messages.push(Object.fromEntries(new URLSearchParams(body)));
      response.writeHead(201, { "content-type": "application/json" });
      response.end(JSON.stringify({ sid: `SM${randomBytes(16).toString("hex")}`, status: "queued" }));
    });
  });
  await new Promise((listening) => server.listen(0, "127.0.0.1", listening));
  const lastCode = (to) => {
    const message = [...messages].reverse().find((sent) => sent.To === to);
    if (!message) throw new Error(`no message to ${to}`);
    return message.Body.match(/\b(\d{6})\b/)[1];
  };
  return { url: `http://127.0.0.1:${server.address().port}`, lastCode, close: () => server.close() };
}

// --- The app under test.

function adminUrl() {
  return process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";
}

async function serve(backend, twilio) {
  const work = mkdtempSync(join(tmpdir(), "mfa-ui-"));
  const env = {
    ...process.env,
    SPIN_VARIABLE_TWILIO_API_BASE: twilio.url,
    SPIN_VARIABLE_TWILIO_ACCOUNT_SID: "AC00000000000000000000000000000001",
    SPIN_VARIABLE_TWILIO_AUTH_TOKEN: "fake-auth-token",
    SPIN_VARIABLE_TWILIO_FROM: "+15005550006",
    SPIN_VARIABLE_API_KEY: randomBytes(24).toString("base64url"),
    SPIN_VARIABLE_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString("base64")}`,
    SPIN_VARIABLE_CODE_PEPPER: randomBytes(24).toString("base64url"),
    SPIN_VARIABLE_STORAGE: backend,
  };
  let database = null;
  if (backend === "redis-postgres") {
    database = `mfa_ui_${randomBytes(6).toString("hex")}`;
    execFileSync("psql", [adminUrl(), "-qc", `CREATE DATABASE ${database}`]);
    const postgres = new URL(adminUrl());
    const redis = new URL(process.env.REDIS_URL || "redis://127.0.0.1:6379");
    Object.assign(env, {
      SPIN_VARIABLE_POSTGRES_HOST: postgres.hostname,
      SPIN_VARIABLE_POSTGRES_PORT: postgres.port || "5432",
      SPIN_VARIABLE_POSTGRES_USER: decodeURIComponent(postgres.username || "postgres"),
      SPIN_VARIABLE_POSTGRES_PASSWORD: decodeURIComponent(postgres.password || ""),
      SPIN_VARIABLE_POSTGRES_DATABASE: database,
      SPIN_VARIABLE_POSTGRES_SSLMODE: "disable",
      SPIN_VARIABLE_REDIS_HOST: redis.hostname,
      SPIN_VARIABLE_REDIS_PORT: redis.port || "6379",
      SPIN_VARIABLE_REDIS_PASSWORD: decodeURIComponent(redis.password || ""),
      SPIN_VARIABLE_REDIS_KEY_PREFIX: `mfa-ui-${database}:`,
    });
  }
  writeFileSync(join(work, "runtime-config.toml"), `[sqlite_database.default]\ntype = "spin"\npath = "${join(work, "mfa.db")}"\n`);
  const host = process.env.MFA_HOST || join(repo, "target", "debug", "mfa-host");
  const child = spawn(host, [
    "up", "--from", join(repo, "spin.toml"), "--listen", "127.0.0.1:0",
    "--runtime-config-file", join(work, "runtime-config.toml"),
    "--startup-request", "POST", "/v1/admin/migrate", "--startup-bearer-variable", "api_key",
    "--cache-dir", join(repo, "target", "mfa-host-cache"),
  ], { cwd: repo, env, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stderr.on("data", (chunk) => { log += chunk; });
  const base = await new Promise((resolveBase, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`mfa-host did not announce itself:\n${log}`)), 120_000);
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const found = out.match(/^Serving (http:\S+)$/m);
      if (found) { clearTimeout(timer); resolveBase(found[1]); }
    });
    child.on("exit", (code) => reject(new Error(`mfa-host stopped (${code}):\n${log}`)));
  });
  const stop = () => {
    child.kill();
    rmSync(work, { recursive: true, force: true });
    if (database) execFileSync("psql", [adminUrl(), "-qc", `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`]);
  };
  // Ages every session's last authentication by an hour (SQLite only: there the database is the live store), so
  // that the next sensitive change asks for a step-up.
  const ageSessions = () => execFileSync("python3", ["-c",
    "import sqlite3, sys\nwith sqlite3.connect(sys.argv[1]) as db: db.execute('UPDATE user_sessions SET auth_time = auth_time - 3600')",
    join(work, "mfa.db")]);
  return { base, stop, log: () => log, ageSessions };
}

// --- Checks every page goes through.

const SIZES = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };

async function audit(page, name, backend) {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const results = await globalThis.axe.run(document, { resultTypes: ["violations"] });
    return results.violations
      .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
      .map((violation) => `${violation.id}: ${violation.help} (${violation.nodes.map((node) => node.target).join(", ")})`);
  });
  check(violations.length === 0, `${backend}: "${name}" has no serious or critical accessibility violation ${violations.join("; ")}`);
  for (const [size, viewport] of Object.entries(SIZES)) {
    await page.setViewportSize(viewport);
    await page.screenshot({ path: join(artifacts, `${name}-${size}.png`), fullPage: true });
  }
  await page.setViewportSize(SIZES.desktop);
}

/** Fills the sign-in form of `page` with `email` and `password` and sends it. */
async function signIn(page, email, password) {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

async function heading(page, name) {
  await page.getByRole("heading", { level: 1, name }).waitFor({ timeout: 10_000 });
}

async function newPage(browser, cspViolations, locale = "en-GB") {
  const context = await browser.newContext({ viewport: SIZES.desktop, locale });
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  const page = await context.newPage();
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  page.on("pageerror", (error) => cspViolations.push(`page error: ${error.message}`));
  return page;
}

// --- Passkeys, with Chromium's virtual authenticator (CDP WebAuthn domain): a platform authenticator with
// resident keys and user verification, which answers every ceremony as a real one would. The RP ID is
// `localhost` (the default), so these pages are served from http://localhost, not 127.0.0.1.

async function passkeyJourney(browser, app, backend, problems) {
  const page = await newPage(browser, problems);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  const base = app.base.replace("127.0.0.1", "localhost");
  await page.goto(base);
  await heading(page, "Sign in");
  await page.getByRole("link", { name: "Create one" }).click();
  await heading(page, "Create an account");
  const email = `passkey-${backend}-${randomBytes(3).toString("hex")}@example.com`;
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await heading(page, "Sign in");
  await signIn(page, email, PASSWORD);
  await heading(page, "Your account security");

  // Add a passkey: consent, a name, the browser's ceremony, the backup codes of a first factor.
  await page.getByRole("button", { name: "Add a passkey" }).click();
  await heading(page, "Add a passkey");
  check((await page.locator("#consent-text").textContent()).includes("passkey"), `${backend}: the passkey consent text is shown`);
  await audit(page, "add-passkey", backend);
  await page.getByLabel("Name").fill("This laptop");
  await page.getByLabel("I agree").check();
  await page.getByRole("button", { name: "Continue" }).click();
  await heading(page, "Save your backup codes");
  await page.getByLabel("I saved my backup codes").check();
  await page.getByRole("button", { name: "Done" }).click();
  await heading(page, "Your account security");
  check(await page.getByRole("button", { name: "Remove This laptop" }).isVisible()
    && await page.getByText("Passkey", { exact: true }).isVisible(), `${backend}: the passkey is listed under its name`);
  const stored = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  check(stored.credentials.length === 1 && stored.credentials[0].isResidentCredential,
    `${backend}: the authenticator holds one discoverable passkey`);

  // Sign in with the password and the passkey as the second factor.
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await heading(page, "Sign in");
  await signIn(page, email, PASSWORD);
  await heading(page, "Two-step verification");
  await audit(page, "second-factor-passkey", backend);
  check(!(await page.getByRole("button", { name: "Send me a code" }).isVisible()),
    `${backend}: "Send me a code" is shown only for SMS`);
  await page.getByRole("button", { name: "Use your passkey" }).click();
  await heading(page, "Your account security");
  ok(`${backend}: signed in with the password and the passkey`);

  // Passwordless: the passkey alone.
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await heading(page, "Sign in");
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await heading(page, "Your account security");
  ok(`${backend}: signed in with the passkey alone`);
  const counted = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  check(counted.credentials[0].signCount >= 2, `${backend}: each sign-in used the passkey (its counter advanced)`);

  await page.context().close();
}

// --- The journey.

async function journey(browser, backend, twilio) {
  const app = await serve(backend, twilio);
  const problems = [];
  try {
    const page = await newPage(browser, problems);
    await page.goto(app.base);
    await heading(page, "Sign in");
    await audit(page, "sign-in", backend);

    // Sign up, then sign in: no second factor yet.
    await page.getByRole("link", { name: "Create one" }).click();
    await heading(page, "Create an account");
    await audit(page, "sign-up", backend);
    const email = `ui-${backend}-${randomBytes(3).toString("hex")}@example.com`;
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("aaaaaaaaaaaa");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByRole("alert").waitFor();
    check((await page.getByRole("alert").textContent()).length > 0, `${backend}: a weak password is explained, not shown as JSON`);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Create account" }).click();
    await heading(page, "Sign in");
    await signIn(page, email, "wrong password here");
    await page.getByText("That email and password do not match an account.").waitFor();
    ok(`${backend}: a wrong password gets a plain message`);
    // With the keyboard only: Tab to each field from the page's start, Enter to send.
    await page.getByLabel("Email").fill("");
    await page.getByLabel("Password").fill("");
    await page.locator("#main").focus();
    await page.keyboard.press("Tab");
    check(await page.evaluate(() => document.activeElement.name) === "email", `${backend}: Tab reaches the email field first`);
    await page.keyboard.type(email);
    await page.keyboard.press("Tab");
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press("Enter");
    await heading(page, "Your account security");
    check(await page.getByText("Two-step verification is off").isVisible(), `${backend}: signed in with the keyboard, without a second factor`);
    await audit(page, "home-without-factor", backend);

    // Add an authenticator app: consent, the QR code and the key, a code from the key, the backup codes.
    await page.getByRole("button", { name: "Add an authenticator app" }).click();
    await heading(page, "Add an authenticator app");
    check((await page.locator("#consent-text").textContent()).includes("authenticator"), `${backend}: the consent text is shown`);
    await audit(page, "consent", backend);
    await page.getByLabel("I agree").check();
    await page.getByRole("button", { name: "Continue" }).click();
    await heading(page, "Scan this code with your authenticator app");
    check(await page.getByRole("img", { name: "QR code for your authenticator app" }).isVisible(), `${backend}: the QR code is shown`);
    await audit(page, "scan", backend);
    const key = base32(await page.locator("#secret").textContent());
    check(key.length === 20, `${backend}: the key on the page is 160 bits`);
    await page.getByLabel("Code from the app").fill(totp(key, Date.now() / 1000) === "000000" ? "111111" : "000000");
    await page.getByRole("button", { name: "Confirm" }).click();
    await page.getByText("That code did not work").waitFor();
    ok(`${backend}: a wrong code is explained`);
    await page.getByLabel("Code from the app").fill(totp(key, Date.now() / 1000));
    await page.getByRole("button", { name: "Confirm" }).click();
    await heading(page, "Save your backup codes");
    const codes = await page.locator("#backup-codes li").allTextContents();
    check(codes.length === 10, `${backend}: ten backup codes are shown once`);
    await audit(page, "backup-codes", backend);
    await page.getByRole("button", { name: "Done" }).click();
    await page.getByText("Confirm that you saved your backup codes first.").waitFor();
    await page.getByLabel("I saved my backup codes").check();
    await page.getByRole("button", { name: "Done" }).click();
    await heading(page, "Your account security");
    check(await page.getByText("10 backup codes left.").isVisible(), `${backend}: the authenticator is listed with the codes left`);
    await audit(page, "home", backend);

    // Sign out, then in again with the next code from the app.
    await page.getByRole("button", { name: "Sign out", exact: true }).click();
    await heading(page, "Sign in");
    await signIn(page, email, PASSWORD);
    await heading(page, "Two-step verification");
    await audit(page, "second-factor", backend);
    await page.getByRole("textbox", { name: "Code" }).fill(totp(key, Date.now() / 1000 + 30));
    await page.getByRole("button", { name: "Verify" }).click();
    await heading(page, "Your account security");
    ok(`${backend}: signed in with the authenticator app`);

    // A second browser signs in with a backup code; the first signs it out.
    // (A browser set to German: dates follow the user's language.)
    const other = await newPage(browser, problems, "de-DE");
    const signInOther = async () => {
      await other.goto(app.base);
      await heading(other, "Sign in");
      await signIn(other, email, PASSWORD);
      await heading(other, "Two-step verification");
    };
    await signInOther();
    // A challenge allows five codes; after them it is used up, and the page says to sign in again.
    for (let attempt = 0; attempt < 5; attempt += 1) {
      await other.getByRole("textbox", { name: "Code" }).fill("000000" === totp(key, Date.now() / 1000) ? "111111" : "000000");
      await other.getByRole("button", { name: "Verify" }).click();
      await other.getByRole("alert").waitFor();
    }
    await other.getByRole("button", { name: "Verify" }).click();
    await other.getByText("This sign-in took too long or was used up. Please sign in again.").waitFor();
    ok(`${backend}: a used-up challenge is explained`);
    await signInOther();
    await other.getByRole("radio", { name: "Backup code" }).check();
    await other.getByRole("textbox", { name: "Backup code" }).fill(codes[0]);
    await other.getByRole("button", { name: "Verify" }).click();
    await heading(other, "Your account security");
    ok(`${backend}: signed in with a backup code in a second browser`);
    const lastActive = await other.locator("ul.cards").nth(1).locator(".muted").last().textContent();
    // German writes 06.12.2026 where the en-GB browser above reads 6 Dec 2026.
    check(/\d{2}\.\d{2}\.\d{4}/.test(lastActive), `${backend}: dates follow the browser's language (${lastActive})`);
    await page.reload();
    await heading(page, "Your account security");
    check((await page.locator("ul.cards").last().locator("li").count()) === 2, `${backend}: both sessions are listed`);
    await audit(page, "sessions", backend);
    await page.getByRole("button", { name: "Sign out all other sessions" }).click();
    await page.getByText("Signed out 1 other session.").waitFor();
    await other.reload();
    await heading(other, "Sign in");
    ok(`${backend}: the other browser is signed out`);

    // One session signed out by name; then "sign out everywhere" from the other browser ends this one too.
    const backupSignIn = async (browserPage, code) => {
      await signIn(browserPage, email, PASSWORD);
      await heading(browserPage, "Two-step verification");
      await browserPage.getByRole("radio", { name: "Backup code" }).check();
      await browserPage.getByRole("textbox", { name: "Backup code" }).fill(code);
      await browserPage.getByRole("button", { name: "Verify" }).click();
      await heading(browserPage, "Your account security");
    };
    await backupSignIn(other, codes[2]);
    await page.reload();
    await heading(page, "Your account security");
    await page.getByRole("button", { name: "Sign out Chrome on Linux" }).click();
    await page.getByText("Signed out Chrome on Linux.").waitFor();
    await other.reload();
    await heading(other, "Sign in");
    ok(`${backend}: one session is signed out by name`);
    await backupSignIn(other, codes[3]);
    await other.getByRole("button", { name: "Sign out everywhere" }).click();
    await heading(other, "Sign in");
    await page.reload();
    await heading(page, "Sign in");
    ok(`${backend}: "sign out everywhere" ends every session`);
    await backupSignIn(page, codes[4]);

    // Rename the authenticator; add a phone (consent, a code by SMS).
    await page.getByRole("button", { name: "Rename Authenticator app" }).click();
    await heading(page, "Rename your authenticator");
    await audit(page, "rename", backend);
    await page.getByLabel("Name").fill("Work phone");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("The authenticator was renamed.").waitFor();
    check(await page.getByText("Authenticator app: Work phone").isVisible(), `${backend}: the authenticator was renamed`);
    await page.getByRole("button", { name: "Add a phone for text messages" }).click();
    await heading(page, "Add a phone");
    check((await page.locator("#consent-text").textContent()).includes("Twilio"), `${backend}: the SMS consent text is shown`);
    await audit(page, "add-phone", backend);
    await page.getByLabel("Phone number, with the country code").fill("+44 7700 900123");
    await page.getByLabel("I agree").check();
    await page.getByRole("button", { name: "Send a code" }).click();
    await heading(page, "Confirm your phone");
    await audit(page, "confirm-phone", backend);
    await page.getByLabel("Code from the text message").fill(twilio.lastCode("+447700900123"));
    await page.getByRole("button", { name: "Confirm" }).click();
    await page.getByText("Your phone is set up.").waitFor();
    check(await page.getByText(/Text message \(SMS\): \+44/).isVisible(), `${backend}: the phone is listed`);

    // Sign in again with a code by SMS, remembering this device: it is listed as trusted, then not.
    await page.getByRole("button", { name: "Sign out", exact: true }).click();
    await heading(page, "Sign in");
    await signIn(page, email, PASSWORD);
    await heading(page, "Two-step verification");
    await page.getByRole("radio", { name: "Text message (SMS)" }).check();
    await page.getByRole("button", { name: "Send me a code" }).click();
    await page.getByText(/A code was sent to \+44.* 1 more can be sent\./).waitFor();
    ok(`${backend}: the SMS page says how many more codes can be sent`);
    await page.getByRole("button", { name: "Send me a code" }).click();
    await page.getByText("No more can be sent for a while.").waitFor();
    await page.getByRole("button", { name: "Send me a code" }).click();
    await page.getByRole("alert").getByText(/^Too many attempts\. Try again in \d+ minutes\.$/).waitFor();
    ok(`${backend}: a refused send says when to try again, not a status code`);
    await page.getByRole("textbox", { name: "Code" }).fill(twilio.lastCode("+447700900123"));
    await page.getByLabel("Remember this device for 30 days").check();
    await page.getByRole("button", { name: "Verify" }).click();
    await heading(page, "Your account security");
    check(await page.getByRole("button", { name: "Stop trusting Chrome on Linux" }).isVisible(), `${backend}: this browser is trusted`);
    await audit(page, "trusted-device", backend);
    await page.getByRole("button", { name: "Stop trusting Chrome on Linux" }).click();
    await page.getByText("Chrome on Linux is no longer trusted.").waitFor();
    ok(`${backend}: the browser is no longer trusted`);

    // The security activity, in plain words, newest first, with older pages.
    await page.getByRole("link", { name: "Security activity" }).click();
    await heading(page, "Security activity");
    const activity = await page.locator("#activity li strong").allTextContents();
    check(activity.includes("Phone added") && activity.includes("Signed in"), `${backend}: the activity reads as sentences`);
    check(activity.length === 20 && await page.getByRole("button", { name: "Older events" }).isVisible(), `${backend}: the activity is paged`);
    await audit(page, "activity", backend);
    await page.getByRole("button", { name: "Older events" }).click();
    await page.getByRole("button", { name: "Back" }).click();
    await heading(page, "Your account security");

    // Change the password; download the data; remove the phone; delete the account.
    await page.getByRole("button", { name: "Change password" }).click();
    await heading(page, "Change your password");
    await audit(page, "change-password", backend);
    await page.getByLabel("Current password").fill(PASSWORD);
    await page.getByLabel("New password").fill(`${PASSWORD} again`);
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByText("Your password was changed").waitFor();
    ok(`${backend}: the password was changed`);
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download my data" }).click()]);
    const exported = JSON.parse(readFileSync(await download.path(), "utf8"));
    check(exported.account.email === email, `${backend}: the data downloads as a JSON file`);
    if (backend === "sqlite") {
      // An hour later, removing a factor asks to confirm it is them (here with a backup code), then goes on.
      app.ageSessions();
      await page.getByRole("button", { name: /^Remove \+44/ }).click();
      await heading(page, "Confirm it is you");
      await audit(page, "step-up", backend);
      await page.getByRole("radio", { name: "Backup code" }).check();
      await page.getByRole("textbox", { name: "Code" }).fill(codes[1]);
      await page.getByRole("button", { name: "Confirm" }).click();
      await heading(page, "Your account security");
      ok(`${backend}: a stale session steps up with a backup code and the removal goes on`);
    } else {
      await page.getByRole("button", { name: /^Remove \+44/ }).click();
    }
    await page.getByText(/was removed/).waitFor();
    check(!(await page.getByText(/Text message \(SMS\): \+44/).isVisible()), `${backend}: the phone was removed`);
    await page.getByRole("button", { name: "Delete my account" }).click();
    await heading(page, "Delete your account");
    await audit(page, "delete-account", backend);
    await page.getByLabel('Type "delete" to confirm').fill("delete");
    await page.getByRole("button", { name: "Delete my account" }).click();
    await heading(page, "Sign in");
    check(await page.getByText("Your account was deleted.").isVisible(), `${backend}: the account was deleted`);
    await signIn(page, email, `${PASSWORD} again`);
    await page.getByText("That email and password do not match an account.").waitFor();
    ok(`${backend}: nobody signs in to a deleted account`);

    // Ten wrong codes lock the checks: a new user with an authenticator sees the pause explained.
    const locked = `locked-${backend}-${randomBytes(3).toString("hex")}@example.com`;
    await page.getByRole("link", { name: "Create one" }).click();
    await heading(page, "Create an account");
    await page.getByLabel("Email").fill(locked);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Create account" }).click();
    await heading(page, "Sign in");
    await signIn(page, locked, PASSWORD);
    await heading(page, "Your account security");
    await page.getByRole("button", { name: "Add an authenticator app" }).click();
    await page.getByLabel("I agree").check();
    await page.getByRole("button", { name: "Continue" }).click();
    await heading(page, "Scan this code with your authenticator app");
    const lockedKey = base32(await page.locator("#secret").textContent());
    await page.getByLabel("Code from the app").fill(totp(lockedKey, Date.now() / 1000));
    await page.getByRole("button", { name: "Confirm" }).click();
    await heading(page, "Save your backup codes");
    await page.getByLabel("I saved my backup codes").check();
    await page.getByRole("button", { name: "Done" }).click();
    await heading(page, "Your account security");
    await page.getByRole("button", { name: "Sign out", exact: true }).click();
    await heading(page, "Sign in");
    const wrongCode = () => (totp(lockedKey, Date.now() / 1000) === "000000" ? "111111" : "000000");
    for (let challenge = 0; challenge < 2; challenge += 1) {
      await signIn(page, locked, PASSWORD);
      await heading(page, "Two-step verification");
      for (let attempt = 0; attempt < 5; attempt += 1) {
        await page.getByRole("textbox", { name: "Code" }).fill(wrongCode());
        await page.getByRole("button", { name: "Verify" }).click();
        await page.getByRole("alert").waitFor();
      }
      await page.goto(app.base);
      await heading(page, "Sign in");
    }
    await signIn(page, locked, PASSWORD);
    await heading(page, "Two-step verification");
    await page.getByRole("textbox", { name: "Code" }).fill(totp(lockedKey, Date.now() / 1000 + 30));
    await page.getByRole("button", { name: "Verify" }).click();
    await page.getByRole("alert").getByText(/^Too many wrong codes: checking is paused\. Try again in \d+ minutes\.$/).waitFor();
    ok(`${backend}: a second-factor lock is explained with its wait, even for the right code`);

    await passkeyJourney(browser, app, backend, problems);

    check(problems.length === 0, `${backend}: no CSP violation or script error ${problems.join("; ")}`);
  } catch (error) {
    console.error(app.log().slice(-3000));
    throw error;
  } finally {
    app.stop();
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const twilio = await fakeTwilio();
try {
  for (const backend of ["sqlite", "redis-postgres"]) await journey(browser, backend, twilio);
} finally {
  await browser.close();
  twilio.close();
}

// --- The user guide shows only screens this run reached: every image docs/user-guide.md references is
// docs/images/<name>.png, that file exists, and this run's audit(...) took target/browser-artifacts/<name>-desktop.png.

const guide = readFileSync(join(repo, "docs", "user-guide.md"), "utf8");
const references = [...guide.matchAll(/!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)|<img\b[^>]*\bsrc="([^"]+)"/g)]
  .map((found) => found[1] || found[2]);
check(references.length > 0, `docs/user-guide.md shows screenshots (${references.length})`);
for (const reference of references) {
  const name = reference.match(/^images\/([a-z0-9-]+)\.png$/)?.[1];
  check(name !== undefined, `docs/user-guide.md's image ${reference} is docs/images/<name>.png`);
  check(existsSync(join(repo, "docs", "images", `${name}.png`)), `docs/images/${name}.png exists`);
  const shot = join(artifacts, `${name}-desktop.png`);
  check(existsSync(shot) && statSync(shot).mtimeMs >= started,
    `"${name}" is a screen this run photographed (target/browser-artifacts/${name}-desktop.png)`);
}
console.log(`${passed} passed in ${((Date.now() - started) / 1000).toFixed(2)}s`);

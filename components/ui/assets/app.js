// The self-service UI: plain DOM, no framework and no build step. It talks to the API of the same origin with the
// session cookie (HttpOnly) and sends the session's CSRF token on every change; the token a login answer also
// carries is never kept. Nothing is kept in the browser's web storage; nothing secret goes into a URL. Every text from the API is set
// with textContent, never as HTML.

const view = document.getElementById("view");
const status = document.getElementById("status");
const dates = new Intl.DateTimeFormat(navigator.languages, { dateStyle: "medium", timeStyle: "short" });

/** The CSRF token of the current session (from the login answer or GET /v1/session). */
let csrf = null;

// ---------------------------------------------------------------------------------------------------------------
// The API
// ---------------------------------------------------------------------------------------------------------------

/** An API refusal: the HTTP status, the stable code, the API's message and the wait it asks for (seconds). */
class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** Calls the API: the JSON answer, or an ApiError. */
async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && csrf) headers["x-csrf-token"] = csrf;
  let answer;
  try {
    answer = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError(0, "network", "The service cannot be reached. Check your connection and try again.");
  }
  const json = await answer.json().catch(() => ({}));
  if (!answer.ok) {
    const error = json.error || {};
    const wait = Number(answer.headers.get("retry-after")) || null;
    throw new ApiError(answer.status, error.code || "unexpected", error.message || "Something went wrong.", wait);
  }
  return json;
}

/** What a person should read for an API refusal. */
function explain(error) {
  const wait = error.retryAfter ? ` Try again in ${duration(error.retryAfter)}.` : "";
  switch (error.code) {
    case "invalid_credentials":
      return "That email and password do not match an account.";
    case "too_many_attempts":
      return `Too many attempts.${wait || " Try again later."}`;
    case "invalid_code":
      return "That code did not work. Check it and try again.";
    case "code_already_used":
      return "That code was already used. Wait for the next one in your app.";
    case "challenge_invalid":
    case "challenge_expired":
      return "This sign-in took too long or was used up. Please sign in again.";
    case "second_factor_locked":
      return `Too many wrong codes: checking is paused.${wait}`;
    case "second_factor_disabled":
      return "Too many wrong codes in a row: ask support to unlock your account.";
    case "password_too_weak":
      return "Choose a stronger password: a few unrelated words work well.";
    case "password_contains_email":
      return "Your password must not contain your email address.";
    case "registration_disabled":
      return "New accounts cannot be created here.";
    case "unauthenticated":
      return "You are signed out. Please sign in again.";
    case "passkey_refused":
      return "That passkey did not work here. Try again, or use another way.";
    case "passkey_cancelled":
      return "The passkey was not used. Try again when you are ready.";
    case "passkey_already_registered":
      return "That passkey is already added.";
    default:
      return error.message;
  }
}

/** "2 minutes", "45 seconds". */
function duration(seconds) {
  if (seconds >= 120) return `${Math.ceil(seconds / 60)} minutes`;
  return seconds === 1 ? "1 second" : `${seconds} seconds`;
}

// ---------------------------------------------------------------------------------------------------------------
// Building pages
// ---------------------------------------------------------------------------------------------------------------

/** An element: `h("button", { type: "submit", onclick }, "Save")`. Text children become text nodes. */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

let fieldCount = 0;

/** A labelled input. */
function field(label, attributes) {
  const id = `field-${++fieldCount}`;
  return [h("label", { for: id }, label), h("input", { id, ...attributes })];
}

/** Shows `elements` as the page titled `title`, and moves focus to it (for keyboards and screen readers). */
function show(title, ...elements) {
  document.title = `${title} – Account security`;
  view.replaceChildren(h("h1", {}, title), ...elements.flat().filter((element) => element instanceof Node));
  status.textContent = "";
  document.getElementById("main").focus();
}

/** Shows `message` as an error above the page's content. */
function fail(message) {
  for (const old of view.querySelectorAll(".error")) old.remove();
  const box = h("p", { class: "error", role: "alert" }, message);
  view.querySelector("h1").after(box);
}

/** Shows a passing notice. */
function notify(message) {
  status.textContent = message;
}

/** A form whose submit runs `action(form)` with the button disabled meanwhile; refusals are shown on the page. */
function form(children, submitLabel, action) {
  const submit = h("button", { type: "submit" }, submitLabel);
  const element = h("form", { novalidate: false }, ...children, submit);
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      await action(element);
    } catch (error) {
      if (error instanceof ApiError) fail(explain(error));
      else throw error;
    } finally {
      submit.disabled = false;
    }
  });
  return element;
}

/** Runs `action` (a button's); a refusal from the API is shown on the page, as `form` does for a form. */
async function attempt(action) {
  try {
    await action();
  } catch (error) {
    if (error instanceof ApiError) fail(explain(error));
    else throw error;
  }
}

/** A labelled one-time-code input named `code`. */
function codeField(label) {
  return field(label, { type: "text", name: "code", inputmode: "numeric", autocomplete: "one-time-code", required: true });
}

// ---------------------------------------------------------------------------------------------------------------
// Passkeys (WebAuthn): the API's options and answers are JSON with base64url for binary fields
// ---------------------------------------------------------------------------------------------------------------

function fromBase64url(text) {
  return Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (char) => char.charCodeAt(0));
}

function toBase64url(buffer) {
  return btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A credential (what the browser answered) as the API reads it. */
function credentialJson(credential) {
  const answer = credential.response;
  const response = { clientDataJSON: toBase64url(answer.clientDataJSON) };
  if (answer.attestationObject) {
    response.attestationObject = toBase64url(answer.attestationObject);
    response.transports = answer.getTransports ? answer.getTransports() : [];
  } else {
    response.authenticatorData = toBase64url(answer.authenticatorData);
    response.signature = toBase64url(answer.signature);
    response.userHandle = answer.userHandle ? toBase64url(answer.userHandle) : null;
  }
  return { id: credential.id, rawId: toBase64url(credential.rawId), type: credential.type, response };
}

/** Asks the browser for a passkey (`create` with creation options, else `get`): the answer as JSON. A cancelled or
 * failed ceremony is an ApiError `passkey_cancelled`. */
async function passkeyCeremony(options, create) {
  const publicKey = { ...options, challenge: fromBase64url(options.challenge) };
  const ids = (list) => (list || []).map((credential) => ({ ...credential, id: fromBase64url(credential.id) }));
  if (create) {
    publicKey.user = { ...options.user, id: fromBase64url(options.user.id) };
    publicKey.excludeCredentials = ids(options.excludeCredentials);
  } else {
    publicKey.allowCredentials = ids(options.allowCredentials);
  }
  try {
    const credential = create ? await navigator.credentials.create({ publicKey }) : await navigator.credentials.get({ publicKey });
    return credentialJson(credential);
  } catch (error) {
    if (error.name === "InvalidStateError") throw new ApiError(0, "passkey_already_registered", error.message);
    throw new ApiError(0, "passkey_cancelled", error.message);
  }
}

/** Whether this browser can use passkeys. */
function passkeysAvailable() {
  return Boolean(window.PublicKeyCredential && navigator.credentials);
}

function when(seconds) {
  return dates.format(new Date(seconds * 1000));
}

// ---------------------------------------------------------------------------------------------------------------
// Signing up and in
// ---------------------------------------------------------------------------------------------------------------

function signInPage(notice) {
  const page = form(
    [
      ...field("Email", { type: "email", name: "email", autocomplete: "username", required: true }),
      ...field("Password", { type: "password", name: "password", autocomplete: "current-password", required: true }),
    ],
    "Sign in",
    async (element) => {
      const answer = await api("POST", "/v1/login", {
        email: element.email.value,
        password: element.password.value,
      });
      if (answer.mfa_required) return secondFactorPage(answer);
      csrf = answer.csrf_token;
      return homePage();
    },
  );
  const passkey = passkeysAvailable()
    ? h("button", { type: "button", class: "secondary", onclick: () => attempt(signInWithPasskey) }, "Sign in with a passkey")
    : null;
  show("Sign in", notice ? h("p", { class: "notice" }, notice) : null, page, passkey,
    h("p", {}, "No account yet? ", h("a", { href: "#sign-up", onclick: (event) => { event.preventDefault(); signUpPage(); } }, "Create one")));
}

async function signInWithPasskey() {
  const options = await api("POST", "/v1/login/passkey/options");
  const credential = await passkeyCeremony(options.publicKey, false);
  const answer = await api("POST", "/v1/login/passkey", { credential });
  csrf = answer.csrf_token;
  return homePage();
}

function signUpPage() {
  const page = form(
    [
      ...field("Email", { type: "email", name: "email", autocomplete: "username", required: true }),
      ...field("Password", { type: "password", name: "password", autocomplete: "new-password", required: true, minlength: 8 }),
      h("p", { class: "muted" }, "At least 8 characters; a few unrelated words make a strong password."),
    ],
    "Create account",
    async (element) => {
      await api("POST", "/v1/register", { email: element.email.value, password: element.password.value });
      signInPage("Your account is ready: sign in.");
    },
  );
  show("Create an account", page,
    h("p", {}, "Have an account? ", h("a", { href: "#sign-in", onclick: (event) => { event.preventDefault(); signInPage(); } }, "Sign in")));
}

const METHOD_NAMES = { totp: "Authenticator app", sms: "Text message (SMS)", webauthn: "Passkey", backup_code: "Backup code" };

function secondFactorPage(challenge) {
  const codeMethods = challenge.methods.filter((name) => name !== "webauthn");
  let method = codeMethods[0];
  const choices = h("fieldset", {}, h("legend", {}, "Verify with"),
    codeMethods.map((name) =>
      h("label", { class: "inline" },
        h("input", { type: "radio", name: "method", value: name, checked: name === method, onchange: () => { method = name; update(); } }),
        METHOD_NAMES[name] || name)));
  const send = h("button", { type: "button", class: "secondary", onclick: sendCode }, "Send me a code");
  const codeFields = codeField("Code");
  const page = form(
    [
      choices,
      send,
      ...codeFields,
      h("label", { class: "inline" }, h("input", { type: "checkbox", name: "remember" }), "Remember this device for 30 days"),
    ],
    "Verify",
    async (element) => {
      const answer = await api("POST", "/v1/login/verify", {
        challenge_id: challenge.challenge_id,
        method,
        code: element.code.value.trim(),
        remember_device: element.remember.checked,
      });
      csrf = answer.csrf_token;
      return homePage();
    },
  );
  async function sendCode() {
    send.disabled = true;
    await attempt(async () => {
      const sent = await api("POST", "/v1/login/sms", { challenge_id: challenge.challenge_id });
      const more = sent.sends_left === 0 ? " No more can be sent for a while." : ` ${sent.sends_left} more can be sent.`;
      notify(`A code was sent to ${sent.phone}.${more}`);
    }).finally(() => {
      send.disabled = false;
    });
  }
  function update() {
    send.hidden = method !== "sms";
    codeFields[0].textContent = method === "backup_code" ? "Backup code" : "Code";
  }
  const remember = () => view.querySelector("input[name=remember]")?.checked ?? false;
  const passkey = challenge.methods.includes("webauthn")
    ? h("button", { type: "button", onclick: () => attempt(async () => {
        const options = await api("POST", "/v1/login/webauthn/options", { challenge_id: challenge.challenge_id });
        const credential = await passkeyCeremony(options.publicKey, false);
        const answer = await api("POST", "/v1/login/verify", {
          challenge_id: challenge.challenge_id, method: "webauthn", credential, remember_device: remember(),
        });
        csrf = answer.csrf_token;
        return homePage();
      }) }, "Use your passkey")
    : null;
  show("Two-step verification", h("p", {}, "Confirm it is you with your second factor."), passkey,
    codeMethods.length ? page : null);
  update();
}

// ---------------------------------------------------------------------------------------------------------------
// The signed-in user's page
// ---------------------------------------------------------------------------------------------------------------

async function homePage() {
  let current;
  try {
    current = await api("GET", "/v1/session");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return signInPage();
    throw error;
  }
  csrf = current.csrf_token;
  const [factors, sessions, devices] = await Promise.all([
    api("GET", "/v1/mfa/factors"),
    api("GET", "/v1/sessions"),
    api("GET", "/v1/trusted-devices"),
  ]);
  show(
    "Your account security",
    h("h2", {}, "Two-step verification"),
    factorsSection(factors),
    h("h2", {}, "Where you are signed in"),
    sessionsSection(sessions.sessions),
    h("h2", {}, "Trusted devices"),
    devicesSection(devices.trusted_devices),
    h("h2", {}, "Your account"),
    h("p", {}, h("a", { href: "#activity", onclick: (event) => { event.preventDefault(); activityPage(); } }, "Security activity")),
    h("div", {},
      h("button", { type: "button", class: "secondary", onclick: changePasswordPage }, "Change password"),
      h("button", { type: "button", class: "secondary", onclick: downloadData }, "Download my data"),
      h("button", { type: "button", class: "danger", onclick: deleteAccountPage }, "Delete my account")),
    h("button", { type: "button", class: "secondary", onclick: signOut }, "Sign out"),
  );
}

function factorsSection(factors) {
  const enabled = factors.factors.filter((factor) => factor.enabled);
  const list = enabled.length
    ? h("ul", { class: "cards" }, enabled.map((factor) =>
        h("li", {}, h("strong", {}, METHOD_NAMES[factor.kind] || factor.kind), ": ", factor.name,
          h("br"), h("span", { class: "muted" }, `Added ${when(factor.confirmed_at || factor.created_at)}`),
          h("div", {},
            factor.kind !== "sms"
              ? h("button", { type: "button", class: "secondary", onclick: () => renamePage(factor) }, `Rename ${factor.name}`)
              : null,
            h("button", { type: "button", class: "secondary", onclick: () => removeFactor(factor) }, `Remove ${factor.name}`)))))
    : h("p", { class: "notice" }, "Two-step verification is off. Add a passkey or an authenticator app to protect your account.");
  const codes = enabled.length
    ? h("p", { class: factors.backup_codes.warning ? "error" : "muted" }, `${factors.backup_codes.remaining} backup codes left.`)
    : null;
  return [
    list,
    codes,
    h("button", { type: "button", onclick: () => setUpAuthenticator() }, "Add an authenticator app"),
    passkeysAvailable() ? h("button", { type: "button", onclick: () => addPasskeyPage() }, "Add a passkey") : null,
    h("button", { type: "button", class: "secondary", onclick: () => addPhonePage() }, "Add a phone for text messages"),
    enabled.length ? h("button", { type: "button", class: "secondary", onclick: newBackupCodes }, "Get new backup codes") : null,
  ];
}

/** Where each kind of factor lives in the API. */
const FACTOR_PATHS = { totp: "/v1/mfa/totp/", sms: "/v1/mfa/sms/", webauthn: "/v1/mfa/webauthn/" };

function renamePage(factor) {
  const page = form(
    field("Name", { type: "text", name: "name", value: factor.name, maxlength: 64, required: true }),
    "Save",
    async (element) => {
      await api("PATCH", `${FACTOR_PATHS[factor.kind]}${encodeURIComponent(factor.id)}`, { name: element.name.value });
      await homePage();
      notify(`The ${factor.kind === "webauthn" ? "passkey" : "authenticator"} was renamed.`);
    },
  );
  show(`Rename your ${factor.kind === "webauthn" ? "passkey" : "authenticator"}`, page, h("button", { type: "button", class: "secondary", onclick: homePage }, "Cancel"));
}

function removeFactor(factor) {
  return attempt(async () => {
    await withStepUp(() => api("DELETE", `${FACTOR_PATHS[factor.kind]}${encodeURIComponent(factor.id)}`));
    await homePage();
    notify(`${factor.name} was removed.`);
  });
}

function newBackupCodes() {
  return attempt(async () => {
    const answer = await withStepUp(() => api("POST", "/v1/mfa/backup-codes"));
    backupCodesPage(answer.codes);
  });
}

function devicesSection(devices) {
  if (!devices.length) return h("p", { class: "muted" }, "No device skips two-step verification.");
  return h("ul", { class: "cards" }, devices.map((device) =>
    h("li", {}, h("strong", {}, device.label), device.current ? h("span", { class: "muted" }, " (this device)") : null,
      h("br"), h("span", { class: "muted" }, `Trusted until ${when(device.expires_at)}`),
      h("div", {}, h("button", { type: "button", class: "secondary", onclick: () => attempt(async () => {
        await api("DELETE", `/v1/trusted-devices/${encodeURIComponent(device.id)}`);
        await homePage();
        notify(`${device.label} is no longer trusted.`);
      }) }, `Stop trusting ${device.label}`)))));
}

function sessionsSection(sessions) {
  const items = sessions.map((session) => {
    const place = session.location ? [session.location.city, session.location.country].filter(Boolean).join(", ") : null;
    return h("li", {},
      h("strong", {}, session.device_label), session.current ? h("span", { class: "muted" }, " (this device)") : null,
      h("br"),
      h("span", { class: "muted" }, [session.ip, place, `last active ${when(session.last_seen_at)}`].filter(Boolean).join(" · ")),
      session.current ? null : h("div", {}, h("button", { type: "button", class: "secondary", onclick: () => revoke(session) }, `Sign out ${session.device_label}`)));
  });
  const others = sessions.some((session) => !session.current)
    ? h("button", { type: "button", class: "secondary", onclick: revokeOthers }, "Sign out all other sessions")
    : null;
  const everywhere = h("button", { type: "button", class: "secondary", onclick: signOutEverywhere }, "Sign out everywhere");
  return [h("ul", { class: "cards" }, items), others, everywhere];
}

function revoke(session) {
  return attempt(async () => {
    await api("DELETE", `/v1/sessions/${encodeURIComponent(session.id)}`);
    await homePage();
    notify(`Signed out ${session.device_label}.`);
  });
}

function revokeOthers() {
  return attempt(async () => {
    const answer = await api("POST", "/v1/sessions/revoke-others");
    await homePage();
    notify(`Signed out ${answer.revoked.length} other session${answer.revoked.length === 1 ? "" : "s"}.`);
  });
}

/** Ends sessions with `method` `path`, then shows the sign-in page with `notice` (whatever the answer). */
async function endSessions(method, path, notice) {
  try {
    await api(method, path);
  } finally {
    csrf = null;
    signInPage(notice);
  }
}

function signOutEverywhere() {
  return endSessions("POST", "/v1/sessions/revoke-all", "You are signed out everywhere.");
}

function signOut() {
  return endSessions("DELETE", "/v1/session", "You are signed out.");
}

// ---------------------------------------------------------------------------------------------------------------
// Adding an authenticator app
// ---------------------------------------------------------------------------------------------------------------

/** Runs `step`; when the API asks for a recent sign-in first, asks the user to confirm it is them (a second factor
 * when they have one, else the password), steps up, and runs it again. */
async function withStepUp(step) {
  try {
    return await step();
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== "step_up_required") throw error;
    const factors = await api("GET", "/v1/mfa/factors");
    const methods = [...new Set(factors.factors.filter((factor) => factor.enabled).map((factor) => factor.kind))];
    if (methods.length && factors.backup_codes.remaining > 0) methods.push("backup_code");
    return new Promise((resolve, reject) => stepUpPage(methods, async (body) => {
      const answer = await api("POST", "/v1/session/step-up", body);
      csrf = answer.csrf_token;
      step().then(resolve, reject);
    }));
  }
}

function stepUpPage(methods, confirm) {
  if (!methods.length) {
    const page = form(
      field("Password", { type: "password", name: "password", autocomplete: "current-password", required: true }),
      "Confirm",
      (element) => confirm({ method: "password", password: element.password.value }),
    );
    return show("Confirm it is you", h("p", {}, "For this change, enter your password again."), page);
  }
  const passkeyMethod = methods.includes("webauthn");
  methods = methods.filter((name) => name !== "webauthn");
  let method = methods[0];
  const choices = h("fieldset", {}, h("legend", {}, "Confirm with"),
    methods.map((name) =>
      h("label", { class: "inline" },
        h("input", { type: "radio", name: "method", value: name, checked: name === method, onchange: () => { method = name; send.hidden = method !== "sms"; } }),
        METHOD_NAMES[name] || name)));
  const send = h("button", { type: "button", class: "secondary", hidden: method !== "sms", onclick: () => attempt(async () => {
    const sent = await api("POST", "/v1/session/step-up/sms", {});
    notify(`A code was sent to ${sent.phone}.`);
  }) }, "Send me a code");
  const page = form(
    [choices, send, ...codeField("Code")],
    "Confirm",
    (element) => confirm({ method, code: element.code.value.trim() }),
  );
  const passkey = passkeyMethod
    ? h("button", { type: "button", onclick: () => attempt(async () => {
        const options = await api("POST", "/v1/session/step-up/webauthn/options");
        await confirm({ method: "webauthn", credential: await passkeyCeremony(options.publicKey, false) });
      }) }, "Use your passkey")
    : null;
  show("Confirm it is you", h("p", {}, "For this change, confirm with your second factor."), passkey,
    methods.length ? page : null);
}

async function setUpAuthenticator() {
  const texts = await api("GET", "/v1/consent-texts");
  const consent = texts.texts.find((text) => text.purpose === "totp");
  const page = form(
    [
      h("p", { id: "consent-text" }, consent.text),
      h("label", { class: "inline" }, h("input", { type: "checkbox", name: "agree", required: true }), "I agree"),
    ],
    "Continue",
    async (element) => {
      if (!element.agree.checked) return fail("Agree to the text above to continue.");
      const started = await withStepUp(() => api("POST", "/v1/mfa/totp", { name: "Authenticator app", consent: consent.version }));
      scanPage(started);
    },
  );
  show("Add an authenticator app", page, h("button", { type: "button", class: "secondary", onclick: homePage }, "Cancel"));
}

async function addPasskeyPage() {
  const texts = await api("GET", "/v1/consent-texts");
  const consent = texts.texts.find((text) => text.purpose === "webauthn");
  const page = form(
    [
      ...field("Name", { type: "text", name: "name", value: "Passkey", maxlength: 64, required: true }),
      h("p", { id: "consent-text" }, consent.text),
      h("label", { class: "inline" }, h("input", { type: "checkbox", name: "agree", required: true }), "I agree"),
    ],
    "Continue",
    async (element) => {
      if (!element.agree.checked) return fail("Agree to the text above to continue.");
      const body = { name: element.name.value, consent: consent.version };
      const options = await withStepUp(() => api("POST", "/v1/mfa/webauthn/options", body));
      const credential = await passkeyCeremony(options.publicKey, true);
      const added = await api("POST", "/v1/mfa/webauthn", { credential });
      if (added.session) csrf = added.session.csrf_token;
      if (added.backup_codes) return backupCodesPage(added.backup_codes);
      await homePage();
      notify(`${added.name} was added.`);
    },
  );
  show("Add a passkey", h("p", {}, "A passkey lets you sign in with your device's lock (fingerprint, face or PIN) instead of a code."),
    page, h("button", { type: "button", class: "secondary", onclick: homePage }, "Cancel"));
}

/** The form that confirms an enrollment at `path` with a code: then the backup codes of a first factor, or the
 * home page with `done`. A restricted session's new CSRF token is taken from the answer. */
function confirmForm(label, path, done) {
  return form(codeField(label), "Confirm", async (element) => {
    const confirmed = await api("POST", path, { code: element.code.value.trim() });
    if (confirmed.session) csrf = confirmed.session.csrf_token;
    if (confirmed.backup_codes) return backupCodesPage(confirmed.backup_codes);
    await homePage();
    notify(done);
  });
}

function grouped(secret) {
  return secret.replace(/=+$/, "").match(/.{1,4}/g).join(" ");
}

function scanPage(started) {
  const secret = grouped(started.secret);
  const copy = h("button", { type: "button", class: "secondary", onclick: async () => {
    await navigator.clipboard.writeText(started.secret.replace(/=+$/, ""));
    notify("The key was copied.");
  } }, "Copy the key");
  const page = confirmForm("Code from the app", `/v1/mfa/totp/${encodeURIComponent(started.id)}/confirm`,
    "Your authenticator app is set up.");
  show("Scan this code with your authenticator app",
    h("img", { class: "qr", src: `data:image/png;base64,${started.qr_png}`, alt: "QR code for your authenticator app" }),
    h("p", {}, "Or type this key into the app:"),
    h("p", { class: "secret", id: "secret" }, secret),
    copy,
    page);
}

function backupCodesPage(codes) {
  const text = `Backup codes (each works once):\n${codes.join("\n")}\n`;
  const download = h("a", { class: "button", download: "backup-codes.txt", href: URL.createObjectURL(new Blob([text], { type: "text/plain" })) }, "Download");
  const saved = h("input", { type: "checkbox", id: "saved" });
  const done = h("button", { type: "button", onclick: async () => {
    if (!saved.checked) return fail("Confirm that you saved your backup codes first.");
    await homePage();
    notify("Two-step verification is set up.");
  } }, "Done");
  show("Save your backup codes",
    h("p", {}, "If you lose your phone, each of these codes signs you in once. They are shown only now."),
    h("ol", { class: "codes", id: "backup-codes" }, codes.map((code) => h("li", {}, code))),
    h("button", { type: "button", class: "secondary", onclick: async () => { await navigator.clipboard.writeText(text); notify("The codes were copied."); } }, "Copy"),
    download,
    h("button", { type: "button", class: "secondary", onclick: () => window.print() }, "Print"),
    h("label", { class: "inline", for: "saved" }, saved, "I saved my backup codes"),
    done);
}

// ---------------------------------------------------------------------------------------------------------------
// A phone for text messages
// ---------------------------------------------------------------------------------------------------------------

async function addPhonePage() {
  const texts = await api("GET", "/v1/consent-texts");
  const consent = texts.texts.find((text) => text.purpose === "sms");
  const page = form(
    [
      ...field("Phone number, with the country code", { type: "tel", name: "phone", autocomplete: "tel", placeholder: "+44 7700 900123", required: true }),
      h("p", { id: "consent-text" }, consent.text),
      h("label", { class: "inline" }, h("input", { type: "checkbox", name: "agree", required: true }), "I agree"),
    ],
    "Send a code",
    async (element) => {
      if (!element.agree.checked) return fail("Agree to the text above to continue.");
      const added = await withStepUp(() => api("POST", "/v1/mfa/sms", { phone: element.phone.value, consent: consent.version }));
      confirmPhonePage(added);
    },
  );
  show("Add a phone", page, h("button", { type: "button", class: "secondary", onclick: homePage }, "Cancel"));
}

function confirmPhonePage(added) {
  const page = confirmForm("Code from the text message", `/v1/mfa/sms/${encodeURIComponent(added.id)}/confirm`,
    "Your phone is set up.");
  show("Confirm your phone", h("p", {}, `We sent a code to ${added.phone}.`), page);
}

// ---------------------------------------------------------------------------------------------------------------
// Security activity
// ---------------------------------------------------------------------------------------------------------------

const EVENT_TEXTS = {
  registered: "Account created",
  login_succeeded: "Signed in",
  login_failed: "A sign-in failed (wrong password)",
  login_throttled: "Sign-in attempts were paused after too many failures",
  login_risk: "A sign-in looked unusual",
  login_challenge_issued: "Two-step verification was asked for",
  second_factor_succeeded: "Two-step verification succeeded",
  second_factor_failed: "A wrong verification code was entered",
  second_factor_locked: "Verification was paused after too many wrong codes",
  second_factor_skipped: "A trusted device skipped two-step verification",
  session_created: "A session started",
  session_revoked: "A session was signed out",
  session_expired: "A session expired",
  session_evicted: "An old session was signed out to make room",
  session_rotated: "A session was renewed",
  step_up_succeeded: "You confirmed it was you",
  password_changed: "Password changed",
  password_change_failed: "A password change failed (wrong current password)",
  mfa_totp_enabled: "Authenticator app added",
  mfa_totp_removed: "Authenticator app removed",
  mfa_sms_enabled: "Phone added",
  mfa_sms_removed: "Phone removed",
  sms_sent: "A code was sent by text message",
  backup_codes_created: "Backup codes created",
  backup_codes_regenerated: "New backup codes created",
  device_trusted: "A device was trusted",
  trusted_device_revoked: "A device is no longer trusted",
  trusted_devices_voided: "Trusted devices were reset",
  consent_given: "You gave consent",
  consent_withdrawn: "You withdrew consent",
  data_exported: "Your data was downloaded",
  second_factor_recovered: "Support removed your second factors",
  registration_for_existing_email: "Someone tried to create an account with your email",
  registration_throttled: "Account creation was paused after too many attempts",
  user_created: "Account created by the service",
  external_id_linked: "Your account was linked to the product",
  external_id_unlinked: "Your account was unlinked from the product",
  login_refused: "A sign-in was refused: too many sessions",
  login_challenge_refused: "An expired or used sign-in step was refused",
  second_factor_refused: "A verification code was refused while verification was paused",
  second_factor_disabled: "Verification was switched off after too many wrong codes",
  second_factor_reset: "Support reset your verification pause",
  totp_replay_refused: "An authenticator code was used twice and refused",
  sessions_revoked: "Sessions made with a removed method were signed out",
  step_up_failed: "A confirmation failed (wrong password)",
  step_up_throttled: "Confirmations were paused after too many failures",
  password_change_throttled: "Password changes were paused after too many failures",
  mfa_totp_enrollment_started: "Adding an authenticator app started",
  mfa_totp_confirmation_failed: "A wrong code was entered while adding an authenticator app",
  mfa_sms_enrollment_started: "Adding a phone started",
  mfa_sms_confirmation_failed: "A wrong code was entered while adding a phone",
  mfa_passkey_registration_failed: "Adding a passkey failed",
  mfa_passkey_enabled: "Passkey added",
  mfa_passkey_removed: "Passkey removed",
  passkey_counter_regressed: "A passkey may have been copied (its counter went back)",
  passkey_backup_eligibility_changed: "A passkey's backup status changed",
  passkey_sign_in_failed: "A sign-in with a passkey failed",
  sms_send_failed: "A text message could not be sent",
  sms_throttled: "Text messages were paused after too many",
  account_erased: "Account deleted",
  service_api_key_refused: "A service request with a wrong key was refused",
  csrf_refused: "A request from another site was refused",
};

function describe(event) {
  return EVENT_TEXTS[event.kind] || event.kind.replaceAll("_", " ").replace(/^./, (first) => first.toUpperCase());
}

async function activityPage(before) {
  const query = before ? `?before=${before}&limit=20` : "?limit=20";
  const page = await api("GET", `/v1/activity${query}`);
  const items = page.events.map((event) => {
    const place = event.location ? [event.location.city, event.location.country].filter(Boolean).join(", ") : null;
    return h("li", {}, h("strong", {}, describe(event)), h("br"),
      h("span", { class: "muted" }, [when(event.at), event.ip, place].filter(Boolean).join(" · ")));
  });
  show(
    "Security activity",
    items.length ? h("ul", { class: "cards", id: "activity" }, items) : h("p", {}, "Nothing yet."),
    page.next_before ? h("button", { type: "button", class: "secondary", onclick: () => activityPage(page.next_before) }, "Older events") : null,
    h("button", { type: "button", class: "secondary", onclick: homePage }, "Back"),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Password, data, deletion
// ---------------------------------------------------------------------------------------------------------------

function changePasswordPage() {
  const page = form(
    [
      ...field("Current password", { type: "password", name: "current", autocomplete: "current-password", required: true }),
      ...field("New password", { type: "password", name: "next", autocomplete: "new-password", required: true, minlength: 8 }),
    ],
    "Change password",
    async (element) => {
      const answer = await api("POST", "/v1/password", { current_password: element.current.value, new_password: element.next.value });
      await homePage();
      notify(`Your password was changed; ${answer.revoked.length} other session${answer.revoked.length === 1 ? " was" : "s were"} signed out.`);
    },
  );
  show("Change your password", page, h("button", { type: "button", class: "secondary", onclick: homePage }, "Cancel"));
}

function downloadData() {
  return attempt(async () => {
    const data = await withStepUp(() => api("GET", "/v1/account/export"));
    const link = h("a", { href: URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" })), download: "my-account-data.json" });
    document.body.append(link);
    link.click();
    link.remove();
    await homePage();
    notify("Your data was downloaded.");
  });
}

function deleteAccountPage() {
  const page = form(
    [
      h("p", {}, "This deletes your account, your second factors and your sessions. It cannot be undone."),
      ...field('Type "delete" to confirm', { type: "text", name: "confirm", autocomplete: "off", required: true }),
    ],
    "Delete my account",
    async (element) => {
      if (element.confirm.value.trim().toLowerCase() !== "delete") return fail('Type "delete" to confirm.');
      await withStepUp(() => api("DELETE", "/v1/account"));
      csrf = null;
      signInPage("Your account was deleted.");
    },
  );
  show("Delete your account", page, h("button", { type: "button", class: "secondary", onclick: homePage }, "Cancel"));
}

homePage().catch((error) => {
  view.replaceChildren(h("p", { class: "error", role: "alert" }, error instanceof ApiError ? explain(error) : "The page could not start."));
});

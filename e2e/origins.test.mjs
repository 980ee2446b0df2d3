// Two deployed apps and the gateway, in headless Chromium: each app is its own origin
// (`<slug>.apps.localhost`), so app A's page cannot read the gateway origin's
// localStorage, its service worker does not control the gateway's pages, its fetch to
// the gateway carries no credentials and is refused by CORS, and its cookie reaches
// neither app B nor the gateway. Every request outside loopback is refused.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { API_BIN, CHROMIUM, freePort, waitUntilReady } from "./gateway.mjs";

// App A's page: its checks run on load and land in `window.results`.
const ATTACKER = `<!doctype html><html><body><script>
window.results = (async () => {
  const out = {};
  out.gatewayStorage = localStorage.getItem("gateway-secret");
  document.cookie = "stolen=1; path=/";
  document.cookie = "wide=1; path=/; domain=apps.localhost";
  try {
    const r = await fetch(GATEWAY + "/graphql", {
      method: "POST", credentials: "include",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "{ me { email } }" }),
    });
    out.fetch = "answered " + r.status;
  } catch (e) { out.fetch = "refused"; }
  try {
    await navigator.serviceWorker.register("/sw.js", { scope: "/" });
    out.worker = "registered";
  } catch (e) { out.worker = "refused: " + e; }
  return out;
})();
</script></body></html>`;

function repo(dir, files) {
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const git = (...args) => execFileSync("git", ["-c", "user.name=S", "-c", "user.email=s@uni.edu", ...args], { cwd: dir });
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git("commit", "-q", "-m", "first");
}

async function graphql(base, token, query, variables = {}) {
  const response = await fetch(`${base}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data;
}

async function deploy(base, token, slug, dir, courseId) {
  const { createProject } = await graphql(base, token,
    "mutation($i: CreateProjectInput!) { createProject(input: $i) { id } }",
    { i: { name: `Project ${slug}`, slug, repositoryUrl: dir, containerPort: 8080, courseIds: [courseId] } });
  const { deployProject } = await graphql(base, token,
    "mutation($p: ID!) { deployProject(projectId: $p) { id } }", { p: createProject.id });
  for (let i = 0; i < 600; i++) {
    const { job } = await graphql(base, token, "query($j: ID!) { job(id: $j) { status message } }", { j: deployProject.id });
    if (job.status === "SUCCEEDED") return;
    if (job.status !== "PENDING" && job.status !== "RUNNING") throw new Error(`${slug}: ${job.status} ${job.message}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${slug} never deployed`);
}

test("an app's page reaches neither the gateway's storage, credentials and pages nor another app's cookies", async () => {
  const root = mkdtempSync(join(tmpdir(), "e2e-origins-"));
  chmodSync(root, 0o755);
  const dataDir = join(root, "data");
  const port = await freePort();
  const base = `http://localhost:${port}`;
  const env = {
    ...process.env, BIND_ADDR: `127.0.0.1:${port}`, DATA_DIR: dataDir, DEPLOY_DIR: join(root, "deployments"),
    ALLOW_LOCAL_REPOSITORIES: "true", RUST_LOG: "warn", CORS_ALLOWED_ORIGINS: base,
    // No loop-mounted disk per project: the folder is removed at the end.
    DEPLOY_DISK_MB: "0",
    // Origins do not depend on the sandbox; without root only `none` deploys.
    ...(process.getuid() === 0 ? {} : { DEPLOY_SANDBOX: "none" }),
  };
  execFileSync(API_BIN, ["user", "create", "--email", "admin@uni.edu", "--role", "ADMIN"], { env });
  execFileSync(API_BIN, ["user", "create", "--email", "teacher@uni.edu", "--role", "TEACHER"], { env });
  const token = execFileSync(API_BIN, ["token", "--email", "admin@uni.edu"], { env }).toString().trim();
  const serve = "start = \"exec python3 -m http.server $PORT --bind 127.0.0.1\"\n";
  repo(join(root, "a"), {
    "deploy.toml": serve,
    "index.html": ATTACKER.replace("GATEWAY", JSON.stringify(base)),
    "sw.js": "self.addEventListener('fetch', () => {});",
  });
  repo(join(root, "b"), { "deploy.toml": serve, "index.html": "<!doctype html><p>b</p>" });
  const gateway = spawn(API_BIN, [], { env, stdio: ["ignore", "inherit", "inherit"] });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    await waitUntilReady(`http://127.0.0.1:${port}`, gateway);
    await graphql(base, token, 'mutation { createSubjects(subjects: [{code: "E2E1", name: "Origins"}]) { id } }');
    const teacherToken = execFileSync(API_BIN, ["token", "--email", "teacher@uni.edu"], { env }).toString().trim();
    const teacher = await graphql(base, teacherToken, "{ me { id } }");
    const { createCourses } = await graphql(base, token,
      'mutation($t: ID!) { createCourses(courses: [{subjectCode: "E2E1", teacherId: $t, group: "A"}]) { id } }', { t: teacher.me.id });
    await deploy(base, token, "app-aaaa", join(root, "a"), createCourses[0].id);
    await deploy(base, token, "app-bbbb", join(root, "b"), createCourses[0].id);

    const context = await browser.newContext();
    const outside = [];
    await context.route("**/*", (route) => {
      const { hostname } = new URL(route.request().url());
      if (hostname === "127.0.0.1" || hostname === "localhost" || hostname.endsWith(".localhost")) return route.continue();
      outside.push(route.request().url());
      return route.abort();
    });
    // The gateway's origin holds a secret in localStorage and a cookie, as GraphiQL's
    // history holds a token.
    const gatewayPage = await context.newPage();
    await gatewayPage.goto(`${base}/livez`);
    await gatewayPage.evaluate(() => {
      localStorage.setItem("gateway-secret", "admin-token");
      document.cookie = "gateway-session=1; path=/";
    });

    const a = await context.newPage();
    await a.goto(`http://app-aaaa.apps.localhost:${port}/`);
    const results = await a.evaluate(() => window.results);
    assert.equal(results.gatewayStorage, null, "app A cannot read the gateway's localStorage");
    assert.equal(results.fetch, "refused", "CORS refuses app A's credentialed fetch to the gateway");
    assert.equal(results.worker, "registered");
    const workers = await a.evaluate(async () => (await navigator.serviceWorker.getRegistrations()).map((r) => r.scope));
    assert.deepEqual(workers, [`http://app-aaaa.apps.localhost:${port}/`], "its worker's scope is its own origin");

    const cookies = await context.cookies();
    const named = (name) => cookies.filter((c) => c.name === name).map((c) => c.domain);
    assert.deepEqual(named("stolen"), ["app-aaaa.apps.localhost"], "app A's cookie is its host's only");
    const b = await context.newPage();
    await b.goto(`http://app-bbbb.apps.localhost:${port}/`);
    const bCookies = await b.evaluate(() => document.cookie);
    assert.ok(!bCookies.includes("stolen"), `app B sees no cookie of app A: ${bCookies}`);
    assert.ok(!bCookies.includes("gateway-session"), `app B sees no cookie of the gateway: ${bCookies}`);
    const gatewayCookies = await gatewayPage.evaluate(() => document.cookie);
    assert.ok(!gatewayCookies.includes("stolen"), `the gateway sees no cookie of app A: ${gatewayCookies}`);
    const controlled = await gatewayPage.evaluate(() => navigator.serviceWorker.controller);
    assert.equal(controlled, null, "no worker controls the gateway's pages");
    assert.deepEqual(outside, [], "no request leaves loopback");
  } finally {
    await browser.close();
    gateway.kill("SIGTERM");
    await new Promise((resolve) => gateway.once("exit", resolve));
    rmSync(root, { recursive: true, force: true });
  }
});

// Opens GraphiQL on a running gateway in headless Chromium, runs `{ __typename }` and
// sees the answer on the page, with every request outside loopback refused.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { API_BIN, CHROMIUM, freePort, waitUntilReady } from "./gateway.mjs";

test("GraphiQL runs { __typename } against the gateway with no network beyond loopback", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "e2e-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const gateway = spawn(API_BIN, [], {
    env: { ...process.env, BIND_ADDR: `127.0.0.1:${port}`, DATA_DIR: dataDir, RUST_LOG: "warn" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
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
  try {
    await waitUntilReady(base, gateway);
    const page = await browser.newPage();
    const outside = [];
    await page.route("**/*", (route) => {
      const { hostname } = new URL(route.request().url());
      if (hostname === "127.0.0.1" || hostname === "localhost") return route.continue();
      outside.push(route.request().url());
      return route.abort();
    });
    const pageErrors = [];
    page.on("pageerror", (error) => pageErrors.push(String(error)));

    await page.goto(`${base}/`);
    const editor = page.locator(".graphiql-query-editor .CodeMirror").first();
    await editor.waitFor({ state: "visible", timeout: 30_000 });
    await editor.click();
    await page.keyboard.press("Control+A");
    await page.keyboard.press("Delete");
    // insertText bypasses the editor's bracket auto-closing.
    await page.keyboard.insertText("{ __typename }");
    await page.locator(".graphiql-execute-button").click();

    const result = page.locator(".graphiql-response .CodeMirror").first();
    await result.getByText('"Query"').waitFor({ timeout: 30_000 });
    const text = await result.innerText();
    assert.match(text, /"__typename":\s*"Query"/);

    // The schema loaded despite the limits: the documentation explorer lists Query.
    await page.locator('button[aria-label="Show Documentation Explorer"]').click();
    await page.locator(".graphiql-doc-explorer").getByText("Query").first().waitFor({ timeout: 30_000 });

    assert.deepEqual(outside, [], "no request leaves loopback");
    assert.deepEqual(pageErrors, [], "the page raised no errors");
  } finally {
    await browser.close();
    gateway.kill("SIGTERM");
    await new Promise((resolve) => gateway.once("exit", resolve));
    rmSync(dataDir, { recursive: true, force: true });
  }
});

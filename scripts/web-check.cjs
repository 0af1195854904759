// Plays the web build of the `modding` example in headless Chromium and judges it.
//
//   node scripts/web-check.cjs URL CHROMIUM SCREENSHOT.png
//
// Run by `bash scripts/web.sh --check`, which installs playwright-core and serves the
// page. Waits for the game's verdict on the console (`web check: ...` lines, written by
// examples/modding/web.rs), saves a screenshot, and exits 0 only if every mod did its
// job and the console showed no panic and no uncaught exception.
"use strict";

const { chromium } = require("playwright-core");

const [url, executablePath, screenshot] = process.argv.slice(2);
// Loading, compiling the mods and 10-40 s of game time on a software renderer.
const TIMEOUT_MS = 300_000;

async function main() {
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--no-sandbox",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-quic",
      // WebGL2 without a GPU: ANGLE on SwiftShader.
      "--use-angle=swiftshader",
      "--enable-unsafe-swiftshader",
      "--ignore-gpu-blocklist",
    ],
  });
  const problems = [];
  let verdict = null;
  let resolveVerdict;
  const judged = new Promise((resolve) => (resolveVerdict = resolve));
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    page.on("console", (message) => {
      const text = message.text();
      const line = `[console.${message.type()}] ${text}`;
      if (text.includes("web check:") || message.type() === "error" || /panick/i.test(text)) {
        console.log(line);
      }
      // A mod's errors are logged as errors on purpose (the rogue mod is stopped);
      // a panic of the game is not.
      if (/panicked at/.test(text)) {
        problems.push(line);
        resolveVerdict();
      }
      if (text.includes("web check: every mod did its job")) {
        verdict = true;
        resolveVerdict();
      } else if (text.includes("web check: some mods did not do their job")) {
        verdict = false;
        resolveVerdict();
      }
    });
    page.on("pageerror", (error) => {
      // winit leaves the browser's event loop by throwing this on purpose.
      if (String(error).includes("Using exceptions for control flow")) return;
      const line = `[uncaught] ${error.stack || error}`;
      console.log(line);
      problems.push(line);
      resolveVerdict();
    });
    page.on("crash", () => {
      problems.push("[page crashed]");
      resolveVerdict();
    });
    await page.goto(url);
    const timeout = new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS, "timeout"));
    if ((await Promise.race([judged, timeout])) === "timeout") {
      problems.push(`no verdict on the console after ${TIMEOUT_MS / 1000} s`);
    }
    await page.screenshot({ path: screenshot });
    console.log(`screenshot: ${screenshot}`);
  } finally {
    await browser.close();
  }
  if (verdict === true && problems.length === 0) {
    console.log("web check passed: every mod did its job, no panic, no uncaught error");
    return 0;
  }
  if (verdict !== true) console.log("web check failed: the game did not report every mod ok");
  for (const problem of problems) console.log(`problem: ${problem}`);
  return 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);

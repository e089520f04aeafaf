// Runs the demo's workload (web-demo's `run`) and shows its summary and how
// long each part took. `document.body.dataset.status` says where it is,
// for a person and a headless test alike: "loading", "running", "done", or
// "error" with the message in #error.
import init, { run } from "./pkg/web_demo.js";

const byId = (id) => document.getElementById(id);

function fail(error) {
  const message =
    error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  byId("error").textContent = message;
  byId("error").hidden = false;
  document.body.dataset.status = "error";
}

// A Rust panic aborts: the module traps inside a promise's task, so the
// trap reaches the page here rather than as a rejection of `run`.
addEventListener("error", (event) => fail(event.error ?? event.message));
addEventListener("unhandledrejection", (event) => fail(event.reason));

async function main() {
  await init();
  document.body.dataset.status = "running";
  const parts = [];
  const start = performance.now();
  let last = start;
  const summary = await run((part) => {
    const now = performance.now();
    parts.push([part, now - last]);
    last = now;
  });
  parts.push(["total", performance.now() - start]);
  byId("summary").textContent = summary;
  byId("timings").textContent = parts
    .map(([part, ms]) => `${part.padEnd(12)} ${ms.toFixed(1).padStart(7)} ms\n`)
    .join("");
  document.body.dataset.status = "done";
}

main().catch(fail);

// bench-runtime's browser column: web-demo built with its `bench` feature
// runs every workload (`run_benchmarks`) and the page shows the JSON lines
// in #results. All of it runs synchronously, before the `load` event, so
// headless Chromium's DOM dump (taken after `load`, in real time) holds
// the results: the module is fetched with a synchronous request and
// instantiated with `initSync`. `document.body.dataset.status` ends in
// "done", or "error" with the message in #error. `?samples=N` (default 10).
import { initSync, run_benchmarks } from "./pkg/web_demo.js";

const byId = (id) => document.getElementById(id);

try {
  // Without isolation performance.now() is coarsened to 100 µs.
  if (!crossOriginIsolated) {
    throw new Error("the page is not cross-origin isolated: serve it with COOP and COEP");
  }
  const samples = Number(new URLSearchParams(location.search).get("samples") ?? "10");
  const request = new XMLHttpRequest();
  request.open("GET", new URL("pkg/web_demo_bg.wasm", import.meta.url), false);
  // The bytes as they are, one per character.
  request.overrideMimeType("text/plain; charset=x-user-defined");
  request.send();
  if (request.status !== 200) {
    throw new Error(`pkg/web_demo_bg.wasm: ${request.status} ${request.statusText}`);
  }
  const text = request.responseText;
  const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
  initSync({ module: bytes });
  byId("results").textContent = run_benchmarks(samples);
  document.body.dataset.status = "done";
} catch (error) {
  byId("error").textContent =
    error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  byId("error").hidden = false;
  document.body.dataset.status = "error";
}

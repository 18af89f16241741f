// Loads a module built by `specformer build` and generates text with it, in the page.
// Query parameters: module (URL of the built index.js), weights (URL of a .safetensors),
// prompt (text, for byte-tokenizer models) or tokens (comma-separated ids), max (tokens).
const params = new URLSearchParams(location.search);
const moduleUrl = params.get("module") ?? "../../out/demo-fortune-wasm/index.js";
const weightsUrl = new URL(params.get("weights") ?? "../../models/demo-fortune.safetensors", location.href);
const maxTokens = Number(params.get("max") ?? "48");
const $ = (id) => document.getElementById(id);

async function main() {
  const mod = await import(moduleUrl);
  $("model").textContent = mod.config.name;
  $("target").textContent = mod.config.target;
  $("weights").textContent = weightsUrl.pathname;
  const map = params.get("map");
  const model = await mod.load(weightsUrl, {
    ...(map ? { map } : {}),
    onProgress: (p) => ($("status").textContent = `${p.phase}: ${Math.round((100 * p.loaded) / Math.max(1, p.total))}%`),
  });
  const text = params.get("prompt");
  const prompt = text !== null && mod.encode ? mod.encode(text) : Int32Array.from((params.get("tokens") ?? "1").split(",").map(Number));
  $("prompt").textContent = text ?? `[${[...prompt].join(", ")}] → `;
  const ids = [];
  const t0 = performance.now();
  for await (const id of model.generate(prompt, { maxTokens, ...(mod.stop ? { stop: mod.stop } : {}) })) {
    ids.push(id);
    $("generated").textContent = mod.decode ? mod.decode(ids) : ids.join(", ");
  }
  const secs = (performance.now() - t0) / 1000;
  model.dispose();
  $("status").textContent = `done: ${ids.length} tokens in ${secs.toFixed(2)} s (${(ids.length / secs).toFixed(1)} tokens/s)`;
  window.__result = { ids, text: $("generated").textContent };
}

main().catch((err) => {
  $("status").textContent = `error: ${err.message}`;
  window.__result = { error: String(err && err.stack ? err.stack : err) };
});

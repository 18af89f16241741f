import { closeSync, openSync, readSync, statSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { diagnostic, MAX_DIAGNOSTICS_PER_FILE, sortDiagnostics, type Diagnostic } from "../diagnostics/diagnostic.ts";
import type { ModelInfo } from "../model/model.ts";
import type { ModelDecl } from "../syntax/ast.ts";
import { parseSpec } from "../syntax/parse.ts";
import { SourceFile } from "../syntax/source.ts";
import { checkModel } from "./model-check.ts";
import { Sink } from "./sink.ts";
import { didYouMean } from "./suggest.ts";

export interface CheckResult {
  diagnostics: Diagnostic[];
  sources: Map<string, SourceFile>;
  /**
   * Every model of the root file that checked without an error of its own, by name: one
   * broken model does not take its healthy neighbours down with it.
   */
  models: Map<string, ModelInfo>;
  /** The model to compile: `--model`, else the last model in the root file; absent when it has errors. */
  entry?: ModelInfo;
  /** The root file itself could not be read (reported as SF0009): an I/O failure, exit 2 in the CLI. */
  unreadable?: true;
  /** Diagnostics left out by the per-file cap (the last one shown says how many). */
  omitted: number;
}

/** Why a file could not be read, in words that finish "cannot read FILE: ...". */
export interface ReadFailure {
  error: string;
}

export interface CheckOptions {
  /** Returns the file's text, or undefined (or why) when it cannot be read. */
  read?: (path: string) => string | undefined | ReadFailure;
  model?: string;
}

/**
 * The largest spec file read: 1 MiB. Real specs are a few KB; the cap keeps `check
 * /dev/zero` or a log file passed by mistake from being read (and parsed) forever.
 */
export const MAX_SPEC_BYTES = 1 << 20;


const bytes = (n: number) => `${n.toLocaleString("en-US")} bytes`;

/**
 * A spec file's text, read with a bounded read: a device or a pipe that never ends stops at
 * MAX_SPEC_BYTES + 1 bytes. Decoding with replacement lets the parser report invalid UTF-8
 * as SF0008.
 */
export function readSpec(path: string): string | ReadFailure {
  let fd: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) return { error: `it is a directory (try ${path.replace(/\/+$/, "")}/*.sf)` };
    if (st.isFile() && st.size > MAX_SPEC_BYTES) return { error: `it is ${bytes(st.size)}, larger than the 1 MiB (${bytes(MAX_SPEC_BYTES)}) a spec file may be` };
    fd = openSync(path, "r");
  } catch (e) {
    return { error: ioReason(e) };
  }
  try {
    const buf = Buffer.alloc(MAX_SPEC_BYTES + 1);
    let n = 0;
    while (n < buf.length) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    if (n > MAX_SPEC_BYTES) return { error: `it is larger than the 1 MiB (${bytes(MAX_SPEC_BYTES)}) a spec file may be` };
    return new TextDecoder("utf-8").decode(buf.subarray(0, n));
  } catch (e) {
    return { error: ioReason(e) };
  } finally {
    closeSync(fd);
  }
}

function ioReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EISDIR") return "it is a directory";
  return e instanceof Error ? e.message : String(e);
}

/** readSpec for callers that only need the text: undefined when the file cannot be read. */
export function readText(path: string): string | undefined {
  const r = readSpec(path);
  return typeof r === "string" ? r : undefined;
}

/** Check a spec file and everything it imports. Never throws for bad input; an unreadable file is an SF0009. */
export function checkFile(path: string, opts: CheckOptions = {}): CheckResult {
  const read = opts.read ?? readSpec;
  const text = read(path);
  if (typeof text !== "string") {
    const reason = text?.error ?? "no such file";
    const d = diagnostic({ code: "SF0009", message: `cannot read \`${path}\`: ${reason}`, file: path, span: { start: 0, end: 0 } });
    return { diagnostics: [d], sources: new Map(), models: new Map(), unreadable: true, omitted: 0 };
  }
  return checkSource(text, path, { ...opts, read });
}

export function checkSource(text: string, path: string, opts: CheckOptions = {}): CheckResult {
  const read = opts.read ?? readSpec;
  // The file cap applies to text handed in directly too: the parser's cost grows with it.
  if (text.length > MAX_SPEC_BYTES) {
    const d = diagnostic({ code: "SF0009", message: `cannot check \`${path}\`: it is ${text.length.toLocaleString("en-US")} characters, more than the 1 MiB a spec may be`, file: path, span: { start: 0, end: 0 } });
    return { diagnostics: [d], sources: new Map(), models: new Map(), omitted: 0 };
  }
  const diagnostics: Diagnostic[] = [];
  const sources = new Map<string, SourceFile>();
  const sinks = new Map<string, Sink>();
  const decls = new Map<string, ModelDecl>();
  /** Names declared more than once: which declaration was meant is unknown, so neither is compiled. */
  const duplicated = new Set<string>();
  const rootModels: ModelDecl[] = [];
  /** An import that could not be read: a base model it declared is unknown, but not a new error. */
  let unreadableImport = false;

  const load = (file: string, content: string, importChain: string[]): void => {
    sources.set(file, new SourceFile(file, content));
    const sink = new Sink(file, content, diagnostics);
    sinks.set(file, sink);
    const parsed = parseSpec(content, file);
    diagnostics.push(...parsed.diagnostics);
    for (const imp of parsed.ast.imports) {
      const target = normalize(join(dirname(file), imp.path));
      if (importChain.includes(target) || target === file) {
        sink.report("SF0118", imp.span, `importing \`${imp.path}\` makes a cycle`, { label: "cyclic import", notes: [`import chain: ${[...importChain, file, target].join(" → ")}`] });
        continue;
      }
      if (sources.has(target)) continue;
      const t = read(target);
      if (typeof t !== "string") {
        sink.report("SF0009", imp.span, `cannot read \`${imp.path}\``, { label: t?.error ?? `no file at ${target}`, hint: "import paths are relative to this file" });
        unreadableImport = true;
        continue;
      }
      load(target, t, [...importChain, file]);
    }
    for (const m of parsed.ast.models) {
      const prev = decls.get(m.name.name);
      if (prev) {
        sink.report("SF0103", m.name.span, `model \`${m.name.name}\` is declared twice`, {
          label: "second declaration",
          secondary: [{ file: prev.file, span: prev.name.span, message: "first declaration" }],
        });
        duplicated.add(m.name.name);
        continue;
      }
      decls.set(m.name.name, m);
      if (file === path) rootModels.push(m);
    }
  };
  load(path, text, []);

  // Past a syntax error the AST is recovery's guess: checking it would report the guess's
  // problems (a dropped statement is "missing", a half-read argument "unknown"), so stop
  // at the syntax errors, which recovery has already reported in full.
  if (diagnostics.some((d) => SYNTAX_CODES.has(d.code))) {
    return { ...capPerFile(sortDiagnostics(dedupe(diagnostics))), sources, models: new Map() };
  }

  const sinkOf = (file: string): Sink => sinks.get(file)!;
  const models = new Map<string, ModelInfo>();
  const used = new Set<unknown>();
  const allDims: Array<{ def: import("../syntax/ast.ts").DimDef; sink: Sink }> = [];
  let entryDecl: ModelDecl | undefined = rootModels[rootModels.length - 1];
  if (opts.model !== undefined) {
    entryDecl = decls.get(opts.model);
    if (!entryDecl) {
      const hint = didYouMean(opts.model, decls.keys());
      throw new UsageError(`no model named \`${opts.model}\` in ${path}${hint ? `; ${hint}` : ""}`);
    }
  }
  const toCheck = new Set<ModelDecl>([...decls.values()]);
  for (const decl of toCheck) {
    // What this model's check reports is its own: errors here keep it from compiling.
    const before = diagnostics.length;
    const chain = resolveChain(decl, decls, sinkOf, unreadableImport);
    if (!chain) continue;
    const checked = checkModel(chain, sinkOf, { isEntry: decl === entryDecl });
    for (const d of checked.env.used) used.add(d);
    for (const d of checked.env.defs()) allDims.push(d);
    if (decl === entryDecl) {
      for (const m of checked.missing) {
        m.sink.report("SF0107", m.span, `dim \`${m.name}\` has no value in model \`${decl.name.name}\``, {
          label: "declared without a value",
          secondary: [{ file: decl.file, span: decl.name.span, message: "the model being compiled" }],
          hint: `set it in \`${decl.name.name}\`: \`dims { ${m.name} = ... }\``,
        });
      }
    }
    const broken = diagnostics.slice(before).some((d) => d.severity === "error") || duplicated.has(decl.name.name);
    if (checked.info && decl.file === path && !broken) models.set(decl.name.name, checked.info);
  }
  for (const { def, sink } of allDims) {
    if (!used.has(def) && sink.file === path) {
      sink.warn("SF2003", def.name.span, `dim \`${def.name.name}\` is never used`, { label: "unused", hint: "remove it, or check for a typo where it should be used" });
    }
  }
  const entry = entryDecl ? models.get(entryDecl.name.name) : undefined;
  return { ...capPerFile(sortDiagnostics(dedupe(diagnostics))), sources, models, ...(entry ? { entry } : {}) };
}

/**
 * Keeps at most MAX_DIAGNOSTICS_PER_FILE diagnostics per file, errors before warnings, in
 * their order; the last one kept says how many were left out. A generated file with
 * thousands of problems then costs a screenful, not megabytes, in every output format.
 */
function capPerFile(ds: Diagnostic[]): { diagnostics: Diagnostic[]; omitted: number } {
  const byFile = new Map<string, Diagnostic[]>();
  for (const d of ds) {
    const list = byFile.get(d.primary.file);
    if (list) list.push(d);
    else byFile.set(d.primary.file, [d]);
  }
  const drop = new Set<Diagnostic>();
  const noted = new Map<Diagnostic, Diagnostic>();
  for (const list of byFile.values()) {
    if (list.length <= MAX_DIAGNOSTICS_PER_FILE) continue;
    const ranked = [...list.filter((d) => d.severity === "error"), ...list.filter((d) => d.severity !== "error")];
    const keep = new Set(ranked.slice(0, MAX_DIAGNOSTICS_PER_FILE));
    const left = ranked.slice(MAX_DIAGNOSTICS_PER_FILE);
    for (const d of left) drop.add(d);
    const last = list.filter((d) => keep.has(d)).pop()!;
    const errors = left.filter((d) => d.severity === "error").length;
    const others = left.length - errors;
    const parts = [errors > 0 ? `${errors} more error${errors === 1 ? "" : "s"}` : "", others > 0 ? `${others} more warning${others === 1 ? "" : "s"}` : ""].filter((p) => p);
    noted.set(last, { ...last, notes: [...last.notes, `and ${parts.join(" and ")} in this file, not shown`] });
  }
  return { diagnostics: ds.filter((d) => !drop.has(d)).map((d) => noted.get(d) ?? d), omitted: drop.size };
}

/** Thrown for caller mistakes (a `--model` that does not exist), not for spec problems. */
export class UsageError extends Error {}

/** Syntax-level codes: after any of these the AST is incomplete. */
const SYNTAX_CODES = new Set(["SF0001", "SF0002", "SF0003", "SF0004", "SF0005", "SF0006", "SF0007", "SF0008"]);

/** The model and its bases, root first; undefined (reported) when a base is unknown or the bases cycle. */
function resolveChain(decl: ModelDecl, decls: Map<string, ModelDecl>, sinkOf: (f: string) => Sink, unreadableImport: boolean): ModelDecl[] | undefined {
  const path: ModelDecl[] = [decl]; // decl, its base, its base's base, ...
  const onPath = new Set(path);
  let cur = decl;
  while (cur.base) {
    const base = decls.get(cur.base.name);
    if (!base) {
      // Reported once, by the model that names it, and not at all when an unreadable import may declare it.
      if (cur === decl && !unreadableImport) {
        const hint = didYouMean(cur.base.name, decls.keys());
        sinkOf(cur.file).report("SF0104", cur.base.span, `no model named \`${cur.base.name}\` to extend`, { label: "unknown base model", ...(hint ? { hint } : {}) });
      }
      return undefined;
    }
    if (onPath.has(base)) {
      const at = path.indexOf(base);
      // One report per cycle, at the first-declared model in it; models that merely
      // extend a model in a cycle are not reported again.
      const cycle = path.slice(at);
      const order = [...decls.values()];
      const first = cycle.reduce((a, b) => (order.indexOf(b) < order.indexOf(a) ? b : a));
      if (at === 0 && decl === first) {
        sinkOf(decl.file).report("SF0105", decl.base!.span, `model \`${decl.name.name}\` extends itself`, {
          label: cycle.length === 1 ? "extends itself here" : "the cycle starts here",
          notes: [`chain: ${[...cycle, base].map((m) => m.name.name).join(" → ")}`],
        });
      }
      return undefined;
    }
    path.push(base);
    onPath.add(base);
    cur = base;
  }
  return path.reverse();
}

/** A family body checked once per descendant reports the same problem each time. */
function dedupe(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const k = `${d.code}|${d.primary.file}|${d.primary.span.start}|${d.primary.span.end}|${d.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

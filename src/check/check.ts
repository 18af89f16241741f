import { readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { sortDiagnostics, type Diagnostic } from "../diagnostics/diagnostic.ts";
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
  /** Every model of the root file that checked completely, by name. */
  models: Map<string, ModelInfo>;
  /** The model to compile: `--model`, else the last model in the root file. */
  entry?: ModelInfo;
}

export interface CheckOptions {
  /** Returns the file's text, or undefined when it cannot be read. */
  read?: (path: string) => string | undefined;
  model?: string;
}

export function readText(path: string): string | undefined {
  try {
    // Decoding with replacement lets the parser report invalid UTF-8 as SF0008.
    return new TextDecoder("utf-8").decode(readFileSync(path));
  } catch {
    return undefined;
  }
}

/** Check a spec file and everything it imports. Never throws for bad input. */
export function checkFile(path: string, opts: CheckOptions = {}): CheckResult {
  const read = opts.read ?? readText;
  const text = read(path);
  if (text === undefined) throw new Error(`cannot read ${path}`);
  return checkSource(text, path, { ...opts, read });
}

export function checkSource(text: string, path: string, opts: CheckOptions = {}): CheckResult {
  const read = opts.read ?? readText;
  const diagnostics: Diagnostic[] = [];
  const sources = new Map<string, SourceFile>();
  const sinks = new Map<string, Sink>();
  const decls = new Map<string, ModelDecl>();
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
      if (t === undefined) {
        sink.report("SF0009", imp.span, `cannot read \`${imp.path}\``, { label: `no file at ${target}`, hint: "import paths are relative to this file" });
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
    return { diagnostics: sortDiagnostics(dedupe(diagnostics)), sources, models: new Map() };
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
    if (checked.info && decl.file === path) models.set(decl.name.name, checked.info);
  }
  for (const { def, sink } of allDims) {
    if (!used.has(def) && sink.file === path) {
      sink.warn("SF2003", def.name.span, `dim \`${def.name.name}\` is never used`, { label: "unused", hint: "remove it, or check for a typo where it should be used" });
    }
  }
  const entry = entryDecl ? models.get(entryDecl.name.name) : undefined;
  return { diagnostics: sortDiagnostics(dedupe(diagnostics)), sources, models, ...(entry ? { entry } : {}) };
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

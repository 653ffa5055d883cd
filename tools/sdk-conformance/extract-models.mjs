// Reads the request models of the official Tencent Cloud Node SDKs installed in ./node_modules
// (pinned by package-lock.json) and prints one normalized JSON model of the actions the
// reconciler sends, per site:
//
//   china: tencentcloud-sdk-nodejs, TypeScript declarations
//          (tencentcloud/services/<svc>/<ver>/<svc>_models.d.ts: `Field?: Type;`)
//   intl:  tencentcloud-sdk-nodejs-intl-en, JavaScript classes
//          (tencentcloud/<svc>/<ver>/models.js: `@type {Type || null}` then `this.Field = null;`)
//
//   node extract-models.mjs            prints the model (one line, sorted keys) and writes
//                                      models.json beside this file (pretty, sorted keys)
//   node extract-models.mjs --stdout   prints only; writes nothing
//   node extract-models.mjs --check    writes nothing; exits 1 with a diff when models.json
//                                      is not what the installed packages give
//
// Output:
//   {"generatedBy": "tools/sdk-conformance/extract-models.mjs",
//    "sources": {SITE: {"postgres": PKG@V, "postgres-serverless": PKG@V,
//                       "postgres-serverless-delete": PKG@V, "tag": PKG@V}},
//    "sites":   {SITE: {SERVICE: {ACTION: {"from": PKG@V, "params": {FIELD: TYPE}}}}},
//    "structs": {SITE: {STRUCT: {FIELD: TYPE}}}}
// TYPE is "string", "number", "boolean" or a struct name, each possibly followed by "[]".
// Postgres structs keep their SDK names ("Tag", "Filter"); structs of the tag service are
// qualified "tag.<Name>" because its `Tag` (with Category) differs from postgres's `Tag`.
// An action no installed package defines gets {"from": null, "params": null, "missing": WHY}.
// Packages are searched newest first, so each action's model is the newest one installed;
// the serverless actions, deleted from the China SDK in 2025, come from older versions
// installed under npm aliases.

import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const here = dirname(fileURLToPath(import.meta.url));
const modelsPath = join(here, "models.json");

const POSTGRES_ACTIONS = [
  "CreateReadOnlyDBInstance", "CreateServerlessDBInstance", "CreateReadOnlyGroup",
  "DescribeDBInstances", "DescribeDBInstanceAttribute", "DescribeServerlessDBInstances",
  "DescribeOrders", "DescribeReadOnlyGroups", "DescribeZones", "DescribeClasses",
  "DescribeRegions", "InquiryPriceCreateDBInstances",
  "ModifyDBInstanceName", "ModifyDBInstanceDeletionProtection", "ModifyDBInstanceSpec",
  "ModifyDBInstanceSecurityGroups", "ModifyDBInstanceReadOnlyGroup", "ModifyReadOnlyGroupConfig",
  "IsolateDBInstances", "DisIsolateDBInstances", "DestroyDBInstance",
  "DeleteServerlessDBInstance", "DeleteReadOnlyGroup",
];
const TAG_ACTIONS = ["TagResources", "UnTagResources", "ModifyResourceTags"];

const SERVICES = {
  postgres: { version: "v20170312", actions: POSTGRES_ACTIONS, structPrefix: "" },
  tag: { version: "v20180813", actions: TAG_ACTIONS, structPrefix: "tag." },
};

// Per site and service, the installed packages (node_modules folder names) to search,
// newest first. `layout` says how the package lays out its models.
const SITES = {
  china: {
    layout: "dts",
    services: {
      postgres: ["tencentcloud-sdk-nodejs", "sdk-china-serverless", "sdk-china-serverless-delete"],
      tag: ["tencentcloud-sdk-nodejs"],
    },
  },
  intl: {
    layout: "js",
    services: {
      postgres: ["tencentcloud-sdk-nodejs-intl-en"],
      tag: ["tencentcloud-sdk-nodejs-intl-en"],
    },
  },
};

// Why an action is absent, where more can be said than "no installed package defines it".
const MISSING_NOTES = {
  intl: {
    ModifyDBInstanceDeletionProtection:
      "the npm registry serves only this version of tencentcloud-sdk-nodejs-intl-en, and it predates the action " +
      "(added to the China SDK in 2025-11)",
  },
};

class ExtractError extends Error {}

function packageInfo(folder) {
  const file = join(here, "node_modules", folder, "package.json");
  if (!existsSync(file)) {
    throw new ExtractError(`${folder} is not installed; run: (cd tools/sdk-conformance && npm ci)`);
  }
  const pkg = JSON.parse(readFileSync(file, "utf8"));
  return { folder, id: `${pkg.name}@${pkg.version}`, root: join(here, "node_modules", folder) };
}

// "Array<Array<Tag>>" / "Array.<Tag>" -> "Tag[][]"; primitives stay; anything else must be a
// plain identifier (a struct name).
function normalizeType(raw, where) {
  let t = raw.trim();
  let suffix = "";
  for (;;) {
    const m = /^Array\.?<(.*)>$/.exec(t);
    if (!m) break;
    t = m[1].trim();
    suffix += "[]";
  }
  const list = /^(.*)\[\]$/.exec(t);
  if (list) {
    const inner = normalizeType(list[1], where);
    return { type: inner.type + "[]" + suffix, struct: inner.struct };
  }
  if (t === "string" || t === "number" || t === "boolean") return { type: t + suffix, struct: null };
  if (/^[A-Z][A-Za-z0-9_]*$/.test(t)) return { type: t + suffix, struct: t };
  throw new ExtractError(`${where}: unsupported type \`${raw}\``);
}

// China: every `export interface Name { Field?: Type; ... }` and every
// `export [declare] type Name = null;` (a request with no parameters) of a .d.ts file.
function parseDts(text, file) {
  const models = new Map();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const empty = /^export (?:declare )?type (\w+) = null;/.exec(lines[i]);
    if (empty) {
      models.set(empty[1], []);
      continue;
    }
    const head = /^export interface (\w+) \{\s*$/.exec(lines[i]);
    if (!head) continue;
    const fields = [];
    let inComment = false;
    for (i++; i < lines.length && lines[i] !== "}"; i++) {
      const line = lines[i];
      if (inComment) {
        if (line.includes("*/")) inComment = false;
        continue;
      }
      if (/^\s*\/\*/.test(line)) {
        if (!line.includes("*/")) inComment = true;
        continue;
      }
      if (/^\s*$/.test(line)) continue;
      const f = /^\s+(\w+)(\??): (.+);\s*$/.exec(line);
      if (!f) throw new ExtractError(`${file}: cannot read line ${i + 1} of ${head[1]}: ${line.trim()}`);
      fields.push({ name: f[1], rawType: f[3] });
    }
    models.set(head[1], fields);
  }
  return models;
}

// Intl: every `class Name extends AbstractModel` of models.js, with the fields its
// constructor sets to null, typed by the JSDoc `@type {T || null}` just above each.
function parseJs(text, file) {
  const models = new Map();
  const classRe = /^class (\w+) extends\s+AbstractModel \{$/gm;
  const starts = [];
  for (let m; (m = classRe.exec(text));) starts.push({ name: m[1], at: m.index });
  for (let k = 0; k < starts.length; k++) {
    const body = text.slice(starts[k].at, k + 1 < starts.length ? starts[k + 1].at : text.length);
    const ctor = body.slice(0, body.search(/\n\s+deserialize\(/) >>> 0);
    const fields = [];
    const fieldRe = /@type \{([^}]*)\}\s*\n\s*\*\/\s*\n\s*this\.(\w+) = null;/g;
    for (let f; (f = fieldRe.exec(ctor));) {
      const alternatives = f[1].split("||").map((s) => s.trim()).filter((s) => s !== "null");
      if (alternatives.length !== 1) throw new ExtractError(`${file}: ${starts[k].name}.${f[2]} has type {${f[1]}}`);
      fields.push({ name: f[2], rawType: alternatives[0] });
    }
    // Every `this.X = null;` of the constructor must have been typed.
    const assigned = [...ctor.matchAll(/^\s+this\.(\w+) = null;/gm)].map((m) => m[1]);
    const typed = fields.map((f) => f.name);
    const untyped = assigned.filter((n) => !typed.includes(n));
    if (untyped.length) throw new ExtractError(`${file}: ${starts[k].name} has untyped fields ${untyped.join(", ")}`);
    models.set(starts[k].name, fields);
  }
  return models;
}

const parsedCache = new Map();
function modelsOf(pkg, layout, service) {
  const key = `${pkg.folder}/${service}`;
  if (parsedCache.has(key)) return parsedCache.get(key);
  const v = SERVICES[service].version;
  const file =
    layout === "dts"
      ? join(pkg.root, "tencentcloud", "services", service, v, `${service}_models.d.ts`)
      : join(pkg.root, "tencentcloud", service, v, "models.js");
  if (!existsSync(file)) throw new ExtractError(`${pkg.id} has no ${file}`);
  const text = readFileSync(file, "utf8");
  const models = layout === "dts" ? parseDts(text, file) : parseJs(text, file);
  if (layout === "js") {
    // The text was read with regular expressions; the classes themselves must agree.
    const loaded = createRequire(import.meta.url)(file);
    for (const [name, fields] of models) {
      if (typeof loaded[name] !== "function") continue;
      const own = Object.keys(new loaded[name]()).sort().join(",");
      const read = fields.map((f) => f.name).sort().join(",");
      if (own !== read) throw new ExtractError(`${file}: ${name} has fields {${own}} but the text gave {${read}}`);
    }
  }
  parsedCache.set(key, models);
  return models;
}

function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    const out = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeys(value[k]);
    return out;
  }
  return value;
}

function extract() {
  const out = { generatedBy: "tools/sdk-conformance/extract-models.mjs", sources: {}, sites: {}, structs: {} };
  for (const [site, conf] of Object.entries(SITES)) {
    const sources = (out.sources[site] = {});
    const structs = (out.structs[site] = {});
    const structOrigin = {}; // qualified name -> package id
    out.sites[site] = {};
    for (const [service, folders] of Object.entries(conf.services)) {
      const svc = SERVICES[service];
      const packages = folders.map(packageInfo);
      sources[service] = packages[0].id;
      const actions = (out.sites[site][service] = {});

      // Adds `name` (and what it reaches) from `pkg` to the site's structs.
      const addStruct = (name, pkg, models, where) => {
        const qualified = svc.structPrefix + name;
        const fields = models.get(name);
        if (!fields) throw new ExtractError(`${where}: struct ${name} is not defined in ${pkg.id}`);
        const typed = {};
        const reached = [];
        for (const f of fields) {
          const t = normalizeType(f.rawType, `${pkg.id} ${service} ${name}.${f.name}`);
          typed[f.name] = t.struct ? svc.structPrefix + t.type : t.type;
          if (t.struct) reached.push(t.struct);
        }
        if (qualified in structs) {
          if (JSON.stringify(sortKeys(structs[qualified])) !== JSON.stringify(sortKeys(typed))) {
            throw new ExtractError(
              `struct ${qualified} differs between ${structOrigin[qualified]} and ${pkg.id}; ` +
                `extract-models.mjs needs a naming rule for this`,
            );
          }
          return;
        }
        structs[qualified] = typed;
        structOrigin[qualified] = pkg.id;
        for (const r of reached) addStruct(r, pkg, models, `${where} > ${name}`);
      };

      for (const action of svc.actions) {
        const pkg = packages.find((p) => modelsOf(p, conf.layout, service).has(`${action}Request`));
        if (!pkg) {
          const searched = packages.map((p) => p.id).join(", ");
          const note = MISSING_NOTES[site]?.[action];
          actions[action] = {
            from: null,
            params: null,
            missing: `no ${action}Request model in ${searched}` + (note ? `: ${note}` : ""),
          };
          continue;
        }
        const models = modelsOf(pkg, conf.layout, service);
        const params = {};
        for (const f of models.get(`${action}Request`)) {
          const t = normalizeType(f.rawType, `${pkg.id} ${action}Request.${f.name}`);
          params[f.name] = t.struct ? svc.structPrefix + t.type : t.type;
          if (t.struct) addStruct(t.struct, pkg, models, `${action}Request.${f.name}`);
        }
        actions[action] = { from: pkg.id, params };
        if (service === "postgres" && action === "CreateServerlessDBInstance") sources["postgres-serverless"] = pkg.id;
        if (service === "postgres" && action === "DeleteServerlessDBInstance") {
          sources["postgres-serverless-delete"] = pkg.id;
        }
      }
    }
  }
  return sortKeys(out);
}

// A line diff of two texts: the lines only in `a` with "-", only in `b` with "+", each with its
// line number in its own file (longest-common-subsequence alignment).
function lineDiff(a, b, aName, bName) {
  const x = a.split("\n");
  const y = b.split("\n");
  const n = x.length;
  const m = y.length;
  const out = [`--- ${aName}`, `+++ ${bName}`];
  if (n * m > 4e7) return out.concat(["(too different to align line by line)"]).join("\n");
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      i++;
      j++;
    } else if (i < n && (j === m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      out.push(`-${i + 1}: ${x[i]}`);
      i++;
    } else {
      out.push(`+${j + 1}: ${y[j]}`);
      j++;
    }
  }
  return out.join("\n");
}

// The JSON paths whose values differ between `a` (checked in) and `b` (from the packages).
function pathDiff(a, b, path = "", out = []) {
  const show = (v) => {
    const t = JSON.stringify(v);
    return t.length > 100 ? t.slice(0, 97) + "..." : t;
  };
  const isObj = (v) => v && typeof v === "object" && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      const p = path ? `${path}.${k}` : k;
      if (!(k in b)) out.push(`only in models.json: ${p}`);
      else if (!(k in a)) out.push(`missing from models.json: ${p} = ${show(b[k])}`);
      else pathDiff(a[k], b[k], p, out);
    }
  } else if (JSON.stringify(a) !== JSON.stringify(b)) {
    out.push(`changed ${path || "(whole file)"}: ${show(a)} -> ${show(b)}`);
  }
  return out;
}

function pretty(model) {
  return JSON.stringify(model, null, 2) + "\n";
}

function main(argv) {
  const check = argv.includes("--check");
  const stdoutOnly = argv.includes("--stdout");
  const unknown = argv.filter((a) => !["--check", "--stdout"].includes(a));
  if (unknown.length) {
    console.error(`extract-models.mjs: unknown argument ${unknown[0]} (known: --check, --stdout)`);
    return 2;
  }
  let model;
  try {
    model = extract();
  } catch (e) {
    if (!(e instanceof ExtractError)) throw e;
    console.error(`extract-models.mjs: ${e.message}`);
    return 2;
  }
  const text = pretty(model);
  if (check) {
    const current = existsSync(modelsPath) ? readFileSync(modelsPath, "utf8") : "";
    if (current === text) return 0;
    let paths = [];
    try {
      paths = pathDiff(JSON.parse(current), model);
    } catch {
      paths = ["models.json is missing or is not JSON"];
    }
    if (paths.length === 0) paths = ["same content, different formatting (not written by this script)"];
    console.error(
      "tools/sdk-conformance/models.json differs from the models of the installed SDK packages.\n" +
        "Regenerate it with `node tools/sdk-conformance/extract-models.mjs` (never edit it by hand);\n" +
        "if the packages changed, run `npm ci` there first.\n" +
        paths.slice(0, 40).join("\n") +
        (paths.length > 40 ? `\n... and ${paths.length - 40} more` : "") +
        "\n" +
        lineDiff(current, text, "tools/sdk-conformance/models.json (checked in)", "installed SDK packages"),
    );
    return 1;
  }
  process.stdout.write(JSON.stringify(model) + "\n");
  if (!stdoutOnly) writeFileSync(modelsPath, text);
  return 0;
}

process.exitCode = main(process.argv.slice(2));

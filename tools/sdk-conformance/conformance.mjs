// Runs each case twice against the emulator, once through the official Node SDK's
// CommonClient (tencentcloud-sdk-nodejs-common, pinned in package-lock.json) and once through
// `reconciler api`, and checks that both got the same answer: the same success or failure,
// the same error Code (and the expected one, where the case names it), and on success the
// same Response once volatile values (RequestId, generated ids, deal names, bill ids, times,
// passwords) are normalised. Every case starts from POST /_admin/reset, for each client.
//
//   node conformance.mjs [options] RECONCILER_BINARY
//     --site intl|china   the site whose SDK host name is CommonClient's first argument
//                         (postgres.intl.tencentcloudapi.com or postgres.tencentcloudapi.com),
//                         and whose SDK model (models.json) each request is checked against.
//                         It must be the emulator's (its world's `site`, which GET
//                         /_admin/model reports); by default it is that one, or intl, the
//                         seed pages' site, for an emulator that does not say
//     --endpoint URL      the emulator (default TENCENTCLOUD_ENDPOINT)
//     --client common|intl-en
//                         which CommonClient: tencentcloud-sdk-nodejs-common (default), or the
//                         copy bundled in tencentcloud-sdk-nodejs-intl-en
//     --via-hostname      diagnostic: the SDK addresses the real site host name (no
//                         httpProfile.endpoint) and its connections are routed to the emulator,
//                         so it signs exactly as it would against the cloud
//     --only TEXT         runs only the cases whose name contains TEXT
//     --list              prints the case names of the site and exits
//     --verbose           prints both answers of every step
// Credentials: TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY; region ap-beijing unless a
// case says otherwise. Prints one line per case, then `N passed, M failed`; exits 1 when a
// case failed, 2 on bad usage.

import http from "node:http";
import net from "node:net";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

// ---------------------------------------------------------------------------------------------
// The cases.

// The seed page's CreateReadOnlyDBInstance example request, verbatim
// (shared/docs/seeds/CreateReadOnlyDBInstance.txt, examples 1 and 2).
const SEED_READONLY = {
  DBVersion: "12.22",
  InstanceChargeType: "POSTPAID_BY_HOUR",
  InstanceCount: 1,
  MasterDBInstanceId: "postgres-abcdef",
  Period: 1,
  ProjectId: 1,
  ReadOnlyGroupId: "",
  SecurityGroupIds: ["sg-iwnfp51z"],
  SpecCode: "pg.it.small2",
  Storage: 100,
  SubnetId: "subnet-1i9huswn",
  VpcId: "vpc-8btfafeo",
  Zone: "ap-beijing-4",
};
// The seed page's CreateServerlessDBInstance example (shared/docs/seeds/CreateServerlessDBInstance.txt).
const SEED_SERVERLESS = { Zone: "ap-shanghai-2", DBInstanceName: "serverlessdb-test", DBVersion: "10.4", DBCharset: "UTF8" };
const SHANGHAI = "ap-shanghai";
// An instance of worlds/default.yaml, as the tag service names it.
const MASTER = "postgres-abcdef";
const MASTER_RESOURCE = `qcs::postgres:ap-beijing:uin/100000000001:DBInstanceId/${MASTER}`;

const without = (obj, key) => Object.fromEntries(Object.entries(obj).filter(([k]) => k !== key));

// A step is {action, params, service?, region?, auth?, expect?, model?} or {advance: seconds}.
// `params` may be a function of the earlier answers of the same client (an array, one per
// step). `expect` is the error code both clients must get; without it both must succeed. `model: false` skips the check
// against the site's SDK model (for requests that are wrong on purpose); `extra` names
// parameters the SDK model lacks but the project accepts (DryRun).
const CASES = [
  {
    name: "seed CreateReadOnlyDBInstance example 1",
    steps: [{ action: "CreateReadOnlyDBInstance", params: SEED_READONLY }],
  },
  {
    name: "seed CreateReadOnlyDBInstance example 2 with DryRun",
    steps: [{ action: "CreateReadOnlyDBInstance", params: { ...SEED_READONLY, DryRun: true }, extra: ["DryRun"] }],
  },
  {
    name: "seed CreateServerlessDBInstance example",
    steps: [{ action: "CreateServerlessDBInstance", params: SEED_SERVERLESS, region: SHANGHAI }],
  },
  {
    name: "CreateServerlessDBInstance with DryRun",
    steps: [
      { action: "CreateServerlessDBInstance", params: { ...SEED_SERVERLESS, DryRun: true }, region: SHANGHAI, extra: ["DryRun"] },
    ],
  },
  {
    name: "DescribeServerlessDBInstances after the seed purchase",
    steps: [
      { action: "CreateServerlessDBInstance", params: SEED_SERVERLESS, region: SHANGHAI },
      { advance: 3600 },
      {
        action: "DescribeServerlessDBInstances",
        params: { Filter: [{ Name: "db-instance-name", Values: ["serverlessdb-test"] }], Limit: 10 },
        region: SHANGHAI,
      },
    ],
  },
  {
    name: "DeleteServerlessDBInstance by name",
    steps: [
      { action: "CreateServerlessDBInstance", params: SEED_SERVERLESS, region: SHANGHAI },
      { advance: 3600 },
      { action: "DeleteServerlessDBInstance", params: { DBInstanceName: "serverlessdb-test" }, region: SHANGHAI },
    ],
  },
  {
    name: "auth wrong secret key",
    steps: [{ action: "DescribeDBInstances", params: {}, auth: "wrong-key", expect: "AuthFailure.SignatureFailure" }],
  },
  {
    name: "auth unknown secret id",
    steps: [{ action: "DescribeDBInstances", params: {}, auth: "unknown-id", expect: "AuthFailure.SecretIdNotFound" }],
  },
  {
    name: "auth clock skew",
    skip: "the SDK signs with the machine's clock and has no setting to skew it; covered by the C++ tests",
  },
  {
    name: "validation Storage 105",
    steps: [
      {
        action: "CreateReadOnlyDBInstance",
        params: { ...SEED_READONLY, Storage: 105 },
        expect: "InvalidParameterValue.InvalidParameterValueError",
      },
    ],
  },
  {
    name: "validation InstanceCount 7",
    steps: [
      {
        action: "CreateReadOnlyDBInstance",
        params: { ...SEED_READONLY, InstanceCount: 7 },
        expect: "InvalidParameterValue.InvalidInstanceNum",
      },
    ],
  },
  {
    name: "validation unknown parameter",
    steps: [
      { action: "CreateReadOnlyDBInstance", params: { ...SEED_READONLY, StorageGB: 100 }, expect: "UnknownParameter", model: false },
    ],
  },
  {
    name: "validation string where a number is expected",
    steps: [
      { action: "CreateReadOnlyDBInstance", params: { ...SEED_READONLY, Storage: "100" }, expect: "InvalidParameter", model: false },
    ],
  },
  {
    name: "validation missing required parameter",
    steps: [{ action: "CreateReadOnlyDBInstance", params: without(SEED_READONLY, "SpecCode"), expect: "MissingParameter" }],
  },
  {
    name: "validation DescribeOrders with no deal names",
    steps: [{ action: "DescribeOrders", params: { DealNames: [] }, expect: "InvalidParameterValue.NullDealNames" }],
  },
  {
    name: "validation CreateReadOnlyGroup refuses DryRun",
    steps: [
      {
        action: "CreateReadOnlyGroup",
        params: { MasterDBInstanceId: MASTER, Name: "reports", VpcId: "vpc-8btfafeo", SubnetId: "subnet-1i9huswn", DryRun: true },
        expect: "UnknownParameter",
        model: false,
      },
    ],
  },
  {
    name: "CreateReadOnlyDBInstance with a TagList tag",
    steps: [
      { action: "CreateReadOnlyDBInstance", params: { ...SEED_READONLY, DryRun: true, TagList: { TagKey: "team", TagValue: "data" } }, extra: ["DryRun"] },
    ],
  },
  {
    name: "CreateReadOnlyDBInstance with a Tags list",
    sites: ["china"], // the intl SDK model has no Tags
    steps: [
      {
        action: "CreateReadOnlyDBInstance",
        params: { ...SEED_READONLY, DryRun: true, Tags: [{ TagKey: "team", TagValue: "data" }] },
        extra: ["DryRun"],
      },
    ],
  },
  {
    name: "CreateReadOnlyDBInstance with a Tags list is refused",
    sites: ["intl"], // Tags exists only in the China SDK model
    steps: [
      {
        action: "CreateReadOnlyDBInstance",
        params: { ...SEED_READONLY, DryRun: true, Tags: [{ TagKey: "team", TagValue: "data" }] },
        expect: "UnknownParameter",
        model: false,
      },
    ],
  },
  {
    name: "tag TagResources on the seed master",
    steps: [
      {
        service: "tag",
        action: "TagResources",
        params: { ResourceList: [MASTER_RESOURCE], Tags: [{ TagKey: "team", TagValue: "data" }] },
      },
      { action: "DescribeDBInstanceAttribute", params: { DBInstanceId: MASTER } },
    ],
  },
  {
    name: "tag UnTagResources on the seed master",
    steps: [
      {
        service: "tag",
        action: "TagResources",
        params: { ResourceList: [MASTER_RESOURCE], Tags: [{ TagKey: "team", TagValue: "data" }, { TagKey: "env", TagValue: "prod" }] },
      },
      { service: "tag", action: "UnTagResources", params: { ResourceList: [MASTER_RESOURCE], TagKeys: ["team"] } },
      { action: "DescribeDBInstanceAttribute", params: { DBInstanceId: MASTER } },
    ],
  },
  {
    name: "tag ModifyResourceTags on the seed master",
    steps: [
      {
        service: "tag",
        action: "TagResources",
        params: { ResourceList: [MASTER_RESOURCE], Tags: [{ TagKey: "team", TagValue: "data" }, { TagKey: "env", TagValue: "prod" }] },
      },
      {
        service: "tag",
        action: "ModifyResourceTags",
        params: { Resource: MASTER_RESOURCE, ReplaceTags: [{ TagKey: "team", TagValue: "ops" }], DeleteTags: [{ TagKey: "env" }] },
      },
      { action: "DescribeDBInstanceAttribute", params: { DBInstanceId: MASTER } },
    ],
  },
  {
    name: "tag ModifyResourceTags with neither list",
    steps: [{ service: "tag", action: "ModifyResourceTags", params: { Resource: MASTER_RESOURCE }, expect: "MissingParameter" }],
  },
  {
    name: "DescribeDBInstances of the whole region",
    steps: [{ action: "DescribeDBInstances", params: {} }],
  },
  {
    name: "DescribeDBInstances filtered and paged",
    steps: [
      {
        action: "DescribeDBInstances",
        params: { Filters: [{ Name: "db-instance-id", Values: [MASTER] }], Limit: 10, Offset: 0, OrderBy: "CreateTime", OrderByType: "asc" },
      },
    ],
  },
  {
    name: "DescribeOrders after the seed purchase",
    steps: [
      { action: "CreateReadOnlyDBInstance", params: SEED_READONLY },
      { advance: 3600 },
      { action: "DescribeOrders", params: (answers) => ({ DealNames: answers[0].DealNames ?? [] }) },
      { action: "DescribeDBInstances", params: { Filters: [{ Name: "db-instance-id", Values: [MASTER] }] } },
    ],
  },
  {
    name: "ModifyReadOnlyGroupConfig on a new group, then DescribeReadOnlyGroups",
    steps: [
      { action: "CreateReadOnlyGroup", params: { MasterDBInstanceId: MASTER, Name: "reports", VpcId: "vpc-8btfafeo", SubnetId: "subnet-1i9huswn" } },
      { advance: 3600 },
      {
        action: "ModifyReadOnlyGroupConfig",
        params: (answers) => ({
          ReadOnlyGroupId: answers[0].ReadOnlyGroupId ?? "",
          ReadOnlyGroupName: "reports-renamed",
          ReplayLagEliminate: 1,
          ReplayLatencyEliminate: 1,
          MaxReplayLag: 30,
          MaxReplayLatency: 512,
          Rebalance: 1,
          MinDelayEliminateReserve: 2,
        }),
      },
      { action: "DescribeReadOnlyGroups", params: { Filters: [{ Name: "db-master-instance-id", Values: [MASTER] }] } },
    ],
  },
  {
    name: "validation ModifyReadOnlyGroupConfig MinDelayEliminateReserve 101",
    steps: [
      { action: "CreateReadOnlyGroup", params: { MasterDBInstanceId: MASTER, Name: "reports", VpcId: "vpc-8btfafeo", SubnetId: "subnet-1i9huswn" } },
      { advance: 3600 },
      {
        action: "ModifyReadOnlyGroupConfig",
        params: (answers) => ({ ReadOnlyGroupId: answers[0].ReadOnlyGroupId ?? "", MinDelayEliminateReserve: 101 }),
        expect: "InvalidParameterValue.InvalidParameterValueError",
      },
    ],
  },
  {
    name: "validation ModifyReadOnlyGroupConfig of an unknown group",
    steps: [
      {
        action: "ModifyReadOnlyGroupConfig",
        params: { ReadOnlyGroupId: "pgrogrp-nothere1", MaxReplayLag: 10 },
        expect: "FailedOperation.ROGroupNotFoundError",
      },
    ],
  },
  {
    name: "DescribeRegions",
    steps: [{ action: "DescribeRegions", params: {} }],
  },
  {
    name: "DescribeZones",
    steps: [{ action: "DescribeZones", params: {} }],
  },
];

// ---------------------------------------------------------------------------------------------
// Options.

function usage(message) {
  if (message) console.error(`conformance.mjs: ${message}`);
  console.error(
    "usage: node conformance.mjs [--site intl|china] [--endpoint URL] [--client common|intl-en] " +
      "[--via-hostname] [--only TEXT] [--list] [--verbose] RECONCILER_BINARY",
  );
  process.exit(2);
}

function parseArgs(argv) {
  const o = { site: undefined, client: "common", endpoint: process.env.TENCENTCLOUD_ENDPOINT, viaHostname: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`));
    if (a === "--site") o.site = value();
    else if (a === "--endpoint") o.endpoint = value();
    else if (a === "--client") o.client = value();
    else if (a === "--only") o.only = value();
    else if (a === "--via-hostname") o.viaHostname = true;
    else if (a === "--list") o.list = true;
    else if (a === "--verbose") o.verbose = true;
    else if (a.startsWith("--")) usage(`unknown option ${a}`);
    else if (!o.reconciler) o.reconciler = a;
    else usage(`unexpected argument ${a}`);
  }
  if (o.site !== undefined && !["intl", "china"].includes(o.site)) usage(`--site must be intl or china, got ${o.site}`);
  if (!["common", "intl-en"].includes(o.client)) usage(`--client must be common or intl-en, got ${o.client}`);
  if (o.list) {
    o.site ??= "intl";
    return o;
  }
  if (!o.reconciler) usage("the reconciler binary is required");
  if (!o.endpoint) usage("no endpoint: pass --endpoint or set TENCENTCLOUD_ENDPOINT");
  o.secretId = process.env.TENCENTCLOUD_SECRET_ID;
  o.secretKey = process.env.TENCENTCLOUD_SECRET_KEY;
  if (!o.secretId || !o.secretKey) usage("TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY must be set");
  o.url = new URL(o.endpoint);
  if (o.url.protocol !== "http:") usage(`the emulator endpoint must be http://, got ${o.endpoint}`);
  return o;
}

// The SDK host name of a service on a site: only CommonClient's first argument.
function siteHost(site, service) {
  return site === "intl" ? `${service}.intl.tencentcloudapi.com` : `${service}.tencentcloudapi.com`;
}
const VERSIONS = { postgres: "2017-03-12", tag: "2018-08-13" };

function credentialsFor(o, auth) {
  if (auth === "wrong-key") return { secretId: o.secretId, secretKey: o.secretKey + "-wrong" };
  if (auth === "unknown-id") return { secretId: "AKIDCONFORMANCEUNKNOWN0000000000000", secretKey: o.secretKey };
  return { secretId: o.secretId, secretKey: o.secretKey };
}

// ---------------------------------------------------------------------------------------------
// The two clients. Each returns {ok: true, response} or {ok: false, code, message, requestId}.

function sdkCaller(o) {
  const httpProfile = { protocol: "http://", reqTimeout: 30 };
  if (o.viaHostname) {
    // Every connection node opens goes to the emulator, whatever host the URL names.
    const agent = new http.Agent({ keepAlive: false });
    agent.createConnection = (opts, cb) => net.createConnection({ host: o.url.hostname, port: Number(o.url.port) || 80 }, cb);
    http.globalAgent = agent;
  } else {
    httpProfile.endpoint = o.url.host; // host:port; the SDK adds the protocol and the path "/"
  }
  if (o.client === "common") {
    const { CommonClient } = require("tencentcloud-sdk-nodejs-common");
    return async (step, credential) => {
      const client = new CommonClient(siteHost(o.site, step.service), VERSIONS[step.service], {
        credential,
        region: step.region,
        profile: { httpProfile },
      });
      return settle(() => client.request(step.action, step.params));
    };
  }
  const intl = require("tencentcloud-sdk-nodejs-intl-en/tencentcloud/common");
  return async (step, credential) => {
    const profile = new intl.ClientProfile("TC3-HMAC-SHA256", new intl.HttpProfile("http://", httpProfile.endpoint, "POST", 30));
    const client = new intl.CommonClient(
      siteHost(o.site, step.service),
      VERSIONS[step.service],
      new intl.Credential(credential.secretId, credential.secretKey),
      step.region,
      profile,
    );
    return settle(
      () =>
        new Promise((resolve, reject) => client.request(step.action, step.params, (err, data) => (err ? reject(err) : resolve(data)))),
    );
  };
}

async function settle(call) {
  try {
    const response = await call();
    return { ok: true, response: JSON.parse(JSON.stringify(response)) };
  } catch (e) {
    if (e && e.code) return { ok: false, code: e.code, message: e.message, requestId: e.requestId };
    if (e && e.httpCode) return { ok: false, code: `HTTP ${e.httpCode}`, message: e.message };
    return { ok: false, code: "ClientError", message: String(e && e.message ? e.message : e) };
  }
}

function reconcilerCaller(o) {
  return (step, credential) =>
    new Promise((resolve) => {
      const env = { ...process.env };
      for (const k of ["TENCENTCLOUD_SESSION_TOKEN", "TCCLI_PROFILE"]) delete env[k];
      Object.assign(env, {
        TENCENTCLOUD_ENDPOINT: o.endpoint,
        TENCENTCLOUD_SECRET_ID: credential.secretId,
        TENCENTCLOUD_SECRET_KEY: credential.secretKey,
        TENCENTCLOUD_REGION: step.region,
        no_proxy: "127.0.0.1,localhost,::1",
        NO_PROXY: "127.0.0.1,localhost,::1",
      });
      const args = ["api", step.action, "--service", step.service, "--region", step.region, "--data", JSON.stringify(step.params)];
      const child = spawn(o.reconciler, args, { env, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (err += d));
      const timer = setTimeout(() => child.kill("SIGKILL"), 60000);
      child.on("error", (e) => {
        clearTimeout(timer);
        resolve({ ok: false, code: "HarnessError", message: `cannot run ${o.reconciler}: ${e.message}` });
      });
      child.on("close", (status, signal) => {
        clearTimeout(timer);
        if (status === 0) {
          try {
            resolve({ ok: true, response: JSON.parse(out) });
          } catch {
            resolve({ ok: false, code: "HarnessError", message: `unparseable stdout: ${out.slice(0, 200)}` });
          }
          return;
        }
        const field = (name) => (new RegExp(`^\\s*${name}: (.*)$`, "m").exec(err) || [])[1];
        const code = status === 1 ? field("Code") : undefined;
        if (code) {
          resolve({ ok: false, code, message: field("Message") ?? "", requestId: field("RequestId") });
        } else {
          resolve({
            ok: false,
            code: "HarnessError",
            message: `reconciler api exited ${signal ?? status}: ${err.trim().slice(0, 300)}`,
          });
        }
      });
    });
}

// ---------------------------------------------------------------------------------------------
// The emulator's admin API.

async function admin(o, method, path, body) {
  const res = await fetch(new URL(path, o.url), {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return JSON.parse(text);
}
// The site the emulator serves, from GET /_admin/model; undefined if it does not say.
async function emulatorSite(o) {
  try {
    const res = await fetch(new URL("/_admin/model", o.url));
    if (!res.ok) return undefined;
    const site = (await res.json()).site;
    return ["intl", "china"].includes(site) ? site : undefined;
  } catch (e) {
    console.error(`conformance.mjs: cannot reach the emulator at ${o.endpoint}: ${e.cause?.message ?? e.message}`);
    process.exit(2);
  }
}
const reset = (o) => admin(o, "POST", "/_admin/reset", "{}");
const advance = (o, seconds) => admin(o, "POST", `/_admin/advance?seconds=${seconds}`, "{}");

// Every string of the world file's state, so that ids the world holds are kept verbatim.
function stringsOf(value, into = new Set()) {
  if (typeof value === "string") into.add(value);
  else if (value && typeof value === "object") for (const v of Object.values(value)) stringsOf(v, into);
  return into;
}

// ---------------------------------------------------------------------------------------------
// Normalisation and comparison.

const TIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;
const DEAL = /^\d{20,}$/;
const GENERATED_ID = /\b(?:postgres|pgro|pgrogrp)-[a-z0-9]{8}(?![a-z0-9])/g; // instances, replicas, RO groups

// Replaces volatile values (generated ids, deal names, bill ids, flow ids, times, passwords)
// by placeholders numbered in order of first appearance, so that
// the same value in two places stays the same placeholder. `seen` spans the steps of a case.
function normalise(value, key, world, seen) {
  const placeholder = (kind, v) => {
    const k = `${kind}:${v}`;
    if (!seen.has(k)) seen.set(k, `<${kind}#${[...seen.keys()].filter((x) => x.startsWith(kind + ":")).length + 1}>`);
    return seen.get(k);
  };
  if (Array.isArray(value)) return value.map((v) => normalise(v, key, world, seen));
  if (value && typeof value === "object") {
    const out = {};
    for (const k of Object.keys(value).sort()) {
      if (k === "RequestId") continue;
      out[k] = normalise(value[k], k, world, seen);
    }
    return out;
  }
  // Async flow ids are counters of the emulator (FlowId == TaskId where both are answered).
  if ((key === "FlowId" || key === "TaskId") && typeof value === "number") return placeholder("flow", value);
  if (typeof value !== "string") return value;
  if (/Password/.test(key ?? "")) return "<password>"; // `reconciler api` redacts these
  if (TIME.test(value) && value !== "0000-00-00 00:00:00") return "<time>";
  if (DEAL.test(value)) return placeholder("deal", value);
  if (key === "BillId" && value !== "") return placeholder("bill", value);
  // Generated ids, alone or inside a value (an address such as postgres-xxxxxxxx.sl.pg...).
  return value.replace(GENERATED_ID, (id) => (world.has(id) ? id : placeholder("id", id)));
}

// The first JSON path where `a` and `b` differ, with both values.
function firstDifference(a, b, path = "") {
  if (JSON.stringify(a) === JSON.stringify(b)) return null;
  const isObj = (v) => v && typeof v === "object";
  if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
    if (Array.isArray(a) && a.length !== b.length) return `${path || "."}: ${a.length} items vs ${b.length}`;
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])]) {
      const p = Array.isArray(a) ? `${path}[${k}]` : `${path}.${k}`;
      if (!(k in a)) return `${p}: only the reconciler has it`;
      if (!(k in b)) return `${p}: only the SDK has it`;
      const d = firstDifference(a[k], b[k], p);
      if (d) return d;
    }
  }
  const show = (v) => {
    const t = JSON.stringify(v);
    return t && t.length > 120 ? t.slice(0, 117) + "..." : t;
  };
  return `${path || "."}: SDK ${show(a)} vs reconciler ${show(b)}`;
}

function describe(r) {
  return r.ok ? "success" : `${r.code}${r.message ? ` (${r.message})` : ""}`;
}

// ---------------------------------------------------------------------------------------------
// The site's SDK model (models.json): a request must carry only parameters the model defines,
// each of its type.

function typeProblem(type, value, structs, path) {
  if (type.endsWith("[]")) {
    if (!Array.isArray(value)) return `${path} should be ${type}`;
    for (let i = 0; i < value.length; i++) {
      const p = typeProblem(type.slice(0, -2), value[i], structs, `${path}[${i}]`);
      if (p) return p;
    }
    return null;
  }
  if (type === "string" || type === "boolean") return typeof value === type ? null : `${path} should be ${type}`;
  if (type === "number") return typeof value === "number" && Number.isFinite(value) ? null : `${path} should be a number`;
  const fields = structs[type];
  if (!fields) return `${path}: the model has no struct ${type}`;
  if (!value || typeof value !== "object" || Array.isArray(value)) return `${path} should be a ${type} object`;
  for (const [k, v] of Object.entries(value)) {
    if (!(k in fields)) return `${path}.${k} is not a field of ${type}`;
    const p = typeProblem(fields[k], v, structs, `${path}.${k}`);
    if (p) return p;
  }
  return null;
}

function modelProblem(models, site, step) {
  const action = models.sites[site]?.[step.service]?.[step.action];
  if (!action) return `${step.service} ${step.action} is not in models.json`;
  if (!action.params) return `the ${site} SDK has no ${step.action}: ${action.missing}`;
  for (const [k, v] of Object.entries(step.params)) {
    if ((step.extra ?? []).includes(k)) continue;
    if (!(k in action.params)) return `${k} is not a parameter of ${step.action} in ${action.from}`;
    const p = typeProblem(action.params[k], v, models.structs[site], k);
    if (p) return `${p} (${action.from})`;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Running.

async function runSide(o, call, c, world) {
  await reset(o);
  const answers = [];
  const results = [];
  const seen = new Map();
  for (const s of c.steps) {
    if (s.advance !== undefined) {
      await advance(o, s.advance);
      continue;
    }
    const step = {
      service: s.service ?? "postgres",
      action: s.action,
      region: s.region ?? "ap-beijing",
      params: typeof s.params === "function" ? s.params(answers) : s.params,
    };
    const r = await call(step, credentialsFor(o, s.auth));
    answers.push(r.ok ? r.response : {});
    if (r.ok) r.normalised = normalise(r.response, undefined, world, seen);
    results.push({ step, r });
  }
  return results;
}

async function runCase(o, c, callers, models, world) {
  const problems = [];
  const sdk = await runSide(o, callers.sdk, c, world);
  const ours = await runSide(o, callers.reconciler, c, world);
  const real = c.steps.filter((s) => s.action);
  for (let i = 0; i < real.length; i++) {
    if (real[i].model === false) continue;
    const p = modelProblem(models, o.site, { ...sdk[i].step, extra: real[i].extra });
    if (p) problems.push(`request off the ${o.site} SDK model: ${p}`);
  }
  for (let i = 0; i < real.length; i++) {
    const a = sdk[i].r;
    const b = ours[i].r;
    const where = real.length > 1 ? `step ${i + 1} ${real[i].action}: ` : "";
    if (o.verbose) {
      console.log(`    ${where}SDK: ${JSON.stringify(a.ok ? a.normalised : a)}`);
      console.log(`    ${where}reconciler: ${JSON.stringify(b.ok ? b.normalised : b)}`);
    }
    if (a.ok !== b.ok) {
      problems.push(`${where}SDK got ${describe(a)} but reconciler got ${describe(b)}`);
      break;
    }
    if (!a.ok && !real[i].expect) {
      problems.push(`${where}both got ${describe(a)}, expected success`);
      break;
    }
    if (!a.ok) {
      if (a.code !== b.code) problems.push(`${where}SDK got ${describe(a)} but reconciler got ${describe(b)}`);
      else if (real[i].expect && a.code !== real[i].expect) problems.push(`${where}both got ${describe(a)}, expected ${real[i].expect}`);
      if (problems.length) break;
      continue;
    }
    if (real[i].expect) {
      problems.push(`${where}both succeeded, expected ${real[i].expect}`);
      break;
    }
    const d = firstDifference(a.normalised, b.normalised);
    if (d) {
      problems.push(`${where}answers differ at ${d}`);
      break;
    }
  }
  return problems;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!o.list) {
    const served = await emulatorSite(o);
    if (o.site && served && o.site !== served) {
      usage(`--site ${o.site}, but the emulator at ${o.endpoint} serves the ${served} site (its world's \`site\`)`);
    }
    o.site ??= served ?? "intl";
  }
  const cases = CASES.filter((c) => !c.sites || c.sites.includes(o.site)).filter((c) => !o.only || c.name.includes(o.only));
  if (o.list) {
    for (const c of cases) console.log(c.skip ? `${c.name} (skipped: ${c.skip})` : c.name);
    return 0;
  }
  // The runner talks to loopback only: no proxy may take the SDK's requests elsewhere.
  for (const k of ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"]) delete process.env[k];
  const models = JSON.parse(readFileSync(join(here, "models.json"), "utf8"));
  const callers = { sdk: sdkCaller(o), reconciler: reconcilerCaller(o) };
  await reset(o);
  const world = stringsOf(await admin(o, "GET", "/_admin/state"));
  let passed = 0;
  let failed = 0;
  for (const c of cases) {
    if (c.skip) {
      console.log(`skip ${c.name}: ${c.skip}`);
      continue;
    }
    let problems;
    try {
      problems = await runCase(o, c, callers, models, world);
    } catch (e) {
      problems = [`harness error: ${e.message}`];
    }
    if (problems.length === 0) {
      passed++;
      console.log(`ok   ${c.name}`);
    } else {
      failed++;
      console.log(`FAIL ${c.name}: ${problems.join("; ")}`);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

process.exitCode = await main();

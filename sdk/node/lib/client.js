'use strict';
// connect() and Client: the k8intel services over gRPC (grpc-js), with definitions loaded at
// run time from the package's copy of proto/ (placed by sdk/generate.sh, i.e. `tools/dev sdk`).

const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const { K8iError } = require('./errors');
const { BINARIES, ConfigError, Settings } = require('./settings');

const PROTO_DIR = path.join(__dirname, '..', 'proto');
// Messages as plain objects with lowerCamelCase fields; int64 as strings, enums as names,
// unset fields with their defaults (repeated: []), the set oneof member named.
const LOADER_OPTIONS = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  arrays: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

// Client property -> [service, the binary that serves it (K8I_<BINARY>_ENDPOINT)].
const SERVICES = {
  admin: ['AdminService', 'inventory'],
  clusters: ['ClusterService', 'inventory'],
  resources: ['ResourceService', 'inventory'],
  metrics: ['MetricsService', 'inventory'],
  ingest: ['IngestService', 'ingest'],
  incidents: ['IncidentService', 'correlation'],
  recommendations: ['RecommendationService', 'recommendation'],
  simulation: ['SimulationService', 'recommendation'],
  costs: ['CostService', 'cost'],
  notifications: ['NotificationService', 'notification'],
};

let loaded = null;
// loadDefinitions returns grpc.loadPackageDefinition over k8intel/v1 and grpc.health.v1, loaded
// once; e.g. loadDefinitions().k8intel.v1.ClusterService is the generic client constructor.
function loadDefinitions() {
  if (!loaded) {
    const v1 = path.join(PROTO_DIR, 'k8intel', 'v1');
    if (!fs.existsSync(v1)) {
      throw new Error(`k8intel-sdk: ${PROTO_DIR} is missing: run \`tools/dev sdk\``);
    }
    const files = fs.readdirSync(v1).filter((f) => f.endsWith('.proto')).sort()
      .map((f) => `k8intel/v1/${f}`);
    files.push('grpc/health/v1/health.proto');
    loaded = grpc.loadPackageDefinition(protoLoader.loadSync(files, LOADER_OPTIONS));
  }
  return loaded;
}

// bearer: an interceptor adding `authorization: Bearer <token>` to calls that carry none.
function bearer(token) {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        if (token && metadata.get('authorization').length === 0) {
          metadata.set('authorization', `Bearer ${token}`);
        }
        next(metadata, listener);
      },
    });
}

function toMetadata(value) {
  if (value instanceof grpc.Metadata) return value;
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(value || {})) md.set(k, v);
  return md;
}

// callOptions: {timeout (s), deadline (Date), metadata (object or Metadata)} -> grpc-js args.
function callArgs(options, defaultTimeout, unary) {
  const opts = options || {};
  const callOpts = {};
  if (opts.deadline) callOpts.deadline = opts.deadline;
  else if (opts.timeout || unary) {
    callOpts.deadline = new Date(Date.now() + 1000 * (opts.timeout || defaultTimeout));
  }
  return [toMetadata(opts.metadata), callOpts];
}

async function* mapStreamErrors(call) {
  try {
    for await (const message of call) yield message;
  } catch (err) {
    throw K8iError.fromServiceError(err);
  }
}

// Service: one gRPC service's RPCs as methods named as in the proto (ListPods, Push, ...) and
// in lowerCamelCase (listPods, push). A unary method returns a Promise that rejects with a
// K8iError; a server-streaming one an async iterable of responses (throwing K8iError); a
// client- or bidi-streaming one the grpc-js call. `client` is the grpc-js client.
class Service {
  constructor(client, definition, timeout) {
    this.client = client;
    for (const [name, m] of Object.entries(definition)) {
      let fn;
      if (!m.requestStream && !m.responseStream) {
        fn = (request, options) =>
          new Promise((resolve, reject) => {
            const [md, opts] = callArgs(options, timeout, true);
            client[name](request, md, opts, (err, resp) =>
              err ? reject(K8iError.fromServiceError(err)) : resolve(resp));
          });
      } else if (!m.requestStream) {
        fn = (request, options) => mapStreamErrors(client[name](request, ...callArgs(options, timeout, false)));
      } else {
        fn = (options) => client[name](...callArgs(options, timeout, false));
      }
      Object.defineProperty(fn, 'name', { value: name });
      this[name] = fn;
      if (m.originalName && m.originalName !== name) this[m.originalName] = fn;
    }
  }
}

// Client: one Service per gRPC service — admin, clusters, resources, metrics (inventory),
// ingest, incidents (correlation), recommendations and simulation (recommendation), costs,
// notifications. Create it with connect(); close() closes the channels.
class Client {
  constructor(settings) {
    this.settings = settings;
    this.grpcClients = [];
    for (const binary of BINARIES) settings.validate(settings.endpointOf(binary));
    const v1 = loadDefinitions().k8intel.v1;
    for (const [prop, [name, binary]] of Object.entries(SERVICES)) {
      const token = prop === 'ingest' ? settings.agentToken || settings.apiKey : settings.apiKey;
      const client = this.grpcClient(v1[name], binary, token);
      this[prop] = new Service(client, v1[name].service, settings.timeout);
    }
  }

  credentials() {
    const s = this.settings;
    if (!s.tls) return grpc.credentials.createInsecure();
    const read = (f) => (f ? fs.readFileSync(f) : null);
    return grpc.credentials.createSsl(read(s.caFile), read(s.keyFile), read(s.certFile));
  }

  // grpcClient: a grpc-js client of `ctor` (e.g. loadDefinitions().k8intel.v1.CostService) to
  // `binary`'s endpoint, sending `token` (the API key when undefined) as a bearer credential.
  grpcClient(ctor, binary, token = undefined) {
    const s = this.settings;
    const options = { interceptors: [bearer(token === undefined ? s.apiKey : token)] };
    if (s.serverName) options['grpc.ssl_target_name_override'] = s.serverName;
    const client = new ctor(s.endpointOf(binary), this.credentials(), options);
    this.grpcClients.push(client);
    return client;
  }

  // checkHealth: gRPC health of `service` (e.g. 'k8intel.v1.IngestService'; '' = the server) at
  // the endpoint of the binary that serves it; resolves to SERVING, NOT_SERVING, ...
  checkHealth(service = '', options = undefined) {
    let binary = 'inventory';
    for (const [name, owner] of Object.values(SERVICES)) {
      if (service === `k8intel.v1.${name}`) binary = owner;
    }
    const health = this.grpcClient(loadDefinitions().grpc.health.v1.Health, binary, '');
    return new Promise((resolve, reject) => {
      health.Check({ service }, ...callArgs(options, this.settings.timeout, true), (err, resp) => {
        health.close();
        err ? reject(K8iError.fromServiceError(err)) : resolve(resp.status);
      });
    });
  }

  close() {
    for (const c of this.grpcClients) c.close();
    this.grpcClients = [];
  }
}

// connect returns a Client configured from the environment (`options.env`, default
// process.env), with any of these options overriding it: endpoint, endpoints ({ingest:
// 'host:port', ...}), apiKey, agentToken, timeout (seconds, unary calls), and the TLS settings
// tls, caFile, certFile, keyFile, serverName, insecurePlaintext. Throws ConfigError on bad
// settings; nothing is sent until the first call.
function connect(options = {}) {
  const { env, endpoints, ...rest } = options;
  const settings = Settings.fromEnv(env || process.env);
  const known = new Set(Object.keys(new Settings()));
  for (const [k, v] of Object.entries(rest)) {
    if (!known.has(k)) throw new TypeError(`connect: unknown option ${k}`);
    if (v !== undefined) settings[k] = v;
  }
  if (endpoints) Object.assign(settings.endpoints, endpoints);
  if (rest.tls === undefined && (rest.caFile || rest.certFile)) settings.tls = true;
  return new Client(settings);
}

module.exports = { Client, ConfigError, SERVICES, Service, connect, loadDefinitions };

'use strict';
// K8iError: a failed k8intel RPC with its google.rpc.Status details decoded. Every k8intel
// service attaches a google.rpc.Status to a failure in the `grpc-status-details-bin` trailer
// (AIP-193): an ErrorInfo always, BadRequest field violations when the request was invalid,
// RetryInfo when the same call may be retried later.

const path = require('path');
const grpc = require('@grpc/grpc-js');
const protobuf = require('protobufjs');

const STATUS_DETAILS_KEY = 'grpc-status-details-bin';
const PROTO_DIR = path.join(__dirname, '..', 'proto');

const CODE_NAMES = Object.fromEntries(Object.entries(grpc.status).map(([k, v]) => [v, k]));

let rpcTypes = null;
// The google.rpc types, loaded once from the package's proto copy (google/protobuf/* are
// protobufjs's bundled well-known types).
function rpcRoot() {
  if (!rpcTypes) {
    const root = new protobuf.Root();
    root.resolvePath = (origin, target) =>
      protobuf.common[target] ? target : path.join(PROTO_DIR, target);
    root.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto'], { keepCase: true });
    rpcTypes = {
      root,
      Status: root.lookupType('google.rpc.Status'),
      BadRequest: root.lookupType('google.rpc.BadRequest'),
      ErrorInfo: root.lookupType('google.rpc.ErrorInfo'),
      RetryInfo: root.lookupType('google.rpc.RetryInfo'),
    };
  }
  return rpcTypes;
}

// decodeStatus returns the google.rpc.Status in `metadata` (the call's trailers) as a plain
// object {code, message, details: [{type_url, value}]}, or null when there is none.
function decodeStatus(metadata) {
  if (!metadata || typeof metadata.get !== 'function') return null;
  const values = metadata.get(STATUS_DETAILS_KEY);
  if (!values.length) return null;
  const { Status } = rpcRoot();
  const buf = Buffer.isBuffer(values[0]) ? values[0] : Buffer.from(String(values[0]), 'base64');
  return Status.toObject(Status.decode(buf), { defaults: true, longs: Number });
}

function durationSeconds(d) {
  return d ? Number(d.seconds || 0) + (d.nanos || 0) / 1e9 : 0;
}

class K8iError extends Error {
  // code: the numeric gRPC status code; codeName: its name (INVALID_ARGUMENT, ...);
  // fieldViolations: [{field, description}]; errorInfo: {reason, domain, metadata} or null;
  // retryDelay: seconds or null; status: the decoded google.rpc.Status or null.
  constructor(code, message, status = null, cause = undefined) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'K8iError';
    this.code = code;
    this.codeName = CODE_NAMES[code] || `CODE_${code}`;
    this.details = message;
    this.status = status;
    this.fieldViolations = [];
    this.errorInfo = null;
    this.retryDelay = null;
    const types = status ? rpcRoot() : null;
    for (const any of status ? status.details : []) {
      const typeName = String(any.type_url).slice(String(any.type_url).lastIndexOf('/') + 1);
      const value = Buffer.from(any.value);
      if (typeName === 'google.rpc.BadRequest') {
        const bad = types.BadRequest.toObject(types.BadRequest.decode(value), { defaults: true });
        for (const v of bad.field_violations) {
          this.fieldViolations.push({ field: v.field, description: v.description });
        }
      } else if (typeName === 'google.rpc.ErrorInfo') {
        const info = types.ErrorInfo.toObject(types.ErrorInfo.decode(value), { defaults: true });
        this.errorInfo = { reason: info.reason, domain: info.domain, metadata: info.metadata || {} };
      } else if (typeName === 'google.rpc.RetryInfo') {
        const retry = types.RetryInfo.toObject(types.RetryInfo.decode(value), { longs: Number });
        this.retryDelay = durationSeconds(retry.retry_delay);
      }
    }
  }

  // fromServiceError decodes the error a grpc-js call fails with.
  static fromServiceError(err) {
    if (err instanceof K8iError) return err;
    const status = decodeStatus(err && err.metadata);
    const code = err && typeof err.code === 'number' ? err.code : grpc.status.UNKNOWN;
    const message = (status && status.message) || (err && err.details) || String(err);
    return new K8iError(code, message, status, err);
  }

  toString() {
    const lines = [`${this.codeName}: ${this.details}`];
    for (const v of this.fieldViolations) lines.push(`  ${v.field}: ${v.description}`);
    if (this.retryDelay !== null) lines.push(`  retry after ${this.retryDelay}s`);
    return lines.join('\n');
  }
}

module.exports = { K8iError, STATUS_DETAILS_KEY, decodeStatus };

'use strict';
// Settings: where the k8intel services are and how to authenticate, read from the environment
// as the `k8i` CLI reads it (docs/sdk.md lists the variables); validate() refuses what the CLI
// refuses (TLS files with TLS off, plaintext to a remote host, a certificate without its key).

const fs = require('fs');
const net = require('net');

const DEFAULT_ENDPOINT = '127.0.0.1:7000';
const DEFAULT_TIMEOUT = 30; // seconds, unary calls
// The binaries whose services a K8I_<BINARY>_ENDPOINT points at.
const BINARIES = ['inventory', 'ingest', 'correlation', 'recommendation', 'cost', 'notification'];

class ConfigError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ConfigError';
  }
}

function envBool(env, name, fallback) {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  const v = value.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(`${name}: "${value}" is not a boolean (true/false)`);
}

// isLoopback: a unix socket, localhost, 127.0.0.0/8 or ::1.
function isLoopback(target) {
  if (target.startsWith('unix:') || target.startsWith('unix-abstract:')) return true;
  for (const scheme of ['dns:///', 'dns:', 'ipv4:', 'ipv6:']) {
    if (target.startsWith(scheme)) {
      target = target.slice(scheme.length);
      break;
    }
  }
  let host = target;
  if (target.startsWith('[')) {
    const end = target.indexOf(']');
    host = end >= 0 ? target.slice(1, end) : target.slice(1);
  } else if (target.split(':').length === 2) {
    host = target.slice(0, target.lastIndexOf(':'));
  }
  if (host.toLowerCase() === 'localhost') return true;
  if (net.isIPv4(host)) return host.split('.')[0] === '127';
  if (net.isIPv6(host)) return host === '::1' || /^(0{0,4}:){7}0{0,3}1$/.test(host);
  return false;
}

class Settings {
  constructor(fields = {}) {
    this.endpoint = DEFAULT_ENDPOINT;
    this.endpoints = {}; // binary -> endpoint
    this.apiKey = '';
    this.agentToken = '';
    this.tls = false;
    this.caFile = '';
    this.certFile = '';
    this.keyFile = '';
    this.serverName = '';
    this.insecurePlaintext = false;
    this.timeout = DEFAULT_TIMEOUT;
    Object.assign(this, fields);
  }

  static fromEnv(env = process.env) {
    const s = new Settings({
      endpoint: env.K8I_ENDPOINT || DEFAULT_ENDPOINT,
      apiKey: env.K8I_API_KEY || '',
      agentToken: env.K8I_AGENT_TOKEN || '',
      caFile: env.K8I_CLIENT_TLS_CA_FILE || '',
      certFile: env.K8I_CLIENT_TLS_CERT_FILE || '',
      keyFile: env.K8I_CLIENT_TLS_KEY_FILE || '',
      serverName: env.K8I_CLIENT_TLS_SERVER_NAME || '',
    });
    for (const binary of BINARIES) {
      const value = env[`K8I_${binary.toUpperCase()}_ENDPOINT`];
      if (value) s.endpoints[binary] = value;
    }
    s.tls = envBool(env, 'K8I_CLIENT_TLS', Boolean(s.caFile || s.certFile || s.keyFile));
    s.insecurePlaintext = envBool(env, 'K8I_CLIENT_INSECURE_PLAINTEXT', false);
    return s;
  }

  endpointOf(binary) {
    return this.endpoints[binary] || this.endpoint;
  }

  validate(target) {
    const files = [['CA_FILE', this.caFile], ['CERT_FILE', this.certFile], ['KEY_FILE', this.keyFile]];
    if (!this.tls) {
      for (const [name, value] of files) {
        if (value) throw new ConfigError(`K8I_CLIENT_TLS_${name}: set while K8I_CLIENT_TLS is false`);
      }
      if (!this.insecurePlaintext && !isLoopback(target)) {
        throw new ConfigError(
          `K8I_CLIENT_TLS: plaintext to "${target}", which is not a loopback address: set ` +
            'K8I_CLIENT_TLS_CA_FILE (or K8I_CLIENT_TLS=true for the system CAs); ' +
            'K8I_CLIENT_INSECURE_PLAINTEXT=true allows plaintext for development');
      }
      return;
    }
    if (Boolean(this.certFile) !== Boolean(this.keyFile)) {
      const [missing, given] = this.certFile ? ['KEY_FILE', 'CERT_FILE'] : ['CERT_FILE', 'KEY_FILE'];
      throw new ConfigError(`K8I_CLIENT_TLS_${missing}: required with K8I_CLIENT_TLS_${given}`);
    }
    for (const [name, value] of files) {
      if (!value) continue;
      try {
        fs.accessSync(value, fs.constants.R_OK);
      } catch {
        throw new ConfigError(`K8I_CLIENT_TLS_${name}: cannot read "${value}"`);
      }
    }
  }
}

module.exports = { BINARIES, ConfigError, DEFAULT_ENDPOINT, DEFAULT_TIMEOUT, Settings, isLoopback };

'use strict';
// k8intel-sdk: a Node client of the k8intel gRPC API (docs/sdk.md).
//
//   const k8i = require('k8intel-sdk');
//   const client = k8i.connect(); // K8I_ENDPOINT, K8I_API_KEY, ... (lib/settings.js)
//   for await (const pod of k8i.paginate(client.resources.ListPods,
//                                        { parent: 'clusters/-/namespaces/-' })) {
//     console.log(pod.name);
//   }

const { Client, SERVICES, Service, connect, loadDefinitions } = require('./client');
const { K8iError, STATUS_DETAILS_KEY, decodeStatus } = require('./errors');
const { pages, paginate } = require('./paging');
const { ConfigError, Settings, isLoopback } = require('./settings');

module.exports = {
  Client,
  ConfigError,
  K8iError,
  SERVICES,
  STATUS_DETAILS_KEY,
  Service,
  Settings,
  connect,
  decodeStatus,
  isLoopback,
  loadDefinitions,
  pages,
  paginate,
};

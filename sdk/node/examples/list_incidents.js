#!/usr/bin/env node
// Lists incidents (IncidentService.ListIncidents on the correlation service), every page.
//
//   eval "$(tools/dev env)"; node sdk/node/examples/list_incidents.js [CLUSTER]
'use strict';
const k8i = require('..');

async function main() {
  const cluster = process.argv[2] || '-';
  const client = k8i.connect(); // K8I_CORRELATION_ENDPOINT or K8I_ENDPOINT, K8I_API_KEY
  const request = { parent: `clusters/${cluster}`, pageSize: 50 };
  let n = 0;
  for await (const incident of k8i.paginate(client.incidents.ListIncidents, request)) {
    const state = incident.state.replace(/^INCIDENT_STATE_/, '');
    const severity = incident.severity.replace(/^SEVERITY_/, '');
    console.log(`incident ${incident.name} ${state} ${severity} ${incident.title}`);
    n++;
  }
  console.log(`${n} incidents`);
  client.close();
}

main().catch((err) => {
  console.error(`error: ${err}`);
  process.exit(1);
});

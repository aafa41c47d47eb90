#!/usr/bin/env node
// Lists the tenant's clusters (ClusterService.ListClusters, every page).
//
//   eval "$(tools/dev env)"; node sdk/node/examples/list_clusters.js
'use strict';
const k8i = require('..');

async function main() {
  const client = k8i.connect(); // K8I_ENDPOINT (or K8I_INVENTORY_ENDPOINT), K8I_API_KEY
  let n = 0;
  for await (const cluster of k8i.paginate(client.clusters.ListClusters, {})) {
    console.log(`cluster ${cluster.name} ${cluster.displayName}`);
    n++;
  }
  console.log(`${n} clusters`);
  client.close();
}

main().catch((err) => {
  console.error(`error: ${err}`);
  process.exit(1);
});

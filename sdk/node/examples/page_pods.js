#!/usr/bin/env node
// Pages through pods (ResourceService.ListPods) with a small page size.
//
//   eval "$(tools/dev env)"; node sdk/node/examples/page_pods.js [PARENT] [PAGE_SIZE]
//
// PARENT defaults to clusters/-/namespaces/- (every pod), PAGE_SIZE to 2.
'use strict';
const k8i = require('..');

async function main() {
  const parent = process.argv[2] || 'clusters/-/namespaces/-';
  const pageSize = Number(process.argv[3] || 2);
  const client = k8i.connect();
  // k8i.paginate(client.resources.ListPods, request) yields the pods alone; pages() shows the
  // pages too.
  let pods = 0;
  let pages = 0;
  for await (const page of k8i.pages(client.resources.ListPods, { parent, pageSize })) {
    pages++;
    console.log(`page ${pages}: ${page.pods.length} pods`);
    for (const pod of page.pods) {
      console.log(`pod ${pod.name} ${pod.pod.phase}`);
      pods++;
    }
  }
  console.log(`${pods} pods in ${pages} pages`);
  client.close();
}

main().catch((err) => {
  console.error(`error: ${err}`);
  process.exit(1);
});

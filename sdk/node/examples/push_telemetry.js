#!/usr/bin/env node
// Pushes one TelemetryBatch with one metric series (IngestService.Push, agent token).
//
//   eval "$(tools/dev env)"; node sdk/node/examples/push_telemetry.js [NODE]
//
// The token's cluster is the batch's cluster. A batch re-sent with the same batchId is stored
// once: the second answer says "duplicate".
'use strict';
const k8i = require('..');

async function main() {
  const node = process.argv[2] || 'node-1';
  const client = k8i.connect(); // K8I_INGEST_ENDPOINT or K8I_ENDPOINT, K8I_AGENT_TOKEN
  const nowMs = Date.now();
  const batch = {
    batchId: `sdk-node-${nowMs}`,
    metrics: [{
      name: 'k8s_node_cpu_utilization',
      type: 'METRIC_TYPE_GAUGE',
      unit: '1',
      resource: { nodeName: node },
      samples: [{ timeUnixMs: String(nowMs), value: 0.42 }],
    }],
  };
  const resp = await client.ingest.Push({ batch });
  const state = resp.duplicate ? 'duplicate' : 'stored';
  console.log(`batch ${resp.batchId}: ${state}, ${resp.acceptedSamples} samples`);
  client.close();
}

main().catch((err) => {
  console.error(`error: ${err}`);
  process.exit(1);
});

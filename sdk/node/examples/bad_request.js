#!/usr/bin/env node
// Sends two invalid requests and prints what the error details say: a ListPods filter on a
// field that does not exist, and a Push of a metric with an invalid name. Both come back as
// INVALID_ARGUMENT with google.rpc.BadRequest field violations and an ErrorInfo, decoded from
// the grpc-status-details-bin trailer into k8i.K8iError.
//
//   eval "$(tools/dev env)"; node sdk/node/examples/bad_request.js
'use strict';
const k8i = require('..');

// show awaits `call` and prints the decoded error; true when it was rejected with violations.
async function show(rpc, call) {
  try {
    await call();
  } catch (err) {
    if (!(err instanceof k8i.K8iError)) throw err;
    console.log(`${rpc}: ${err.codeName}: ${err.details}`);
    for (const v of err.fieldViolations) console.log(`  field violation: ${v.field}: ${v.description}`);
    if (err.errorInfo) {
      console.log(`  error info: reason=${err.errorInfo.reason} domain=${err.errorInfo.domain}`);
    }
    return err.fieldViolations.length > 0;
  }
  console.log(`${rpc}: unexpectedly accepted`);
  return false;
}

async function main() {
  const client = k8i.connect();
  const nowMs = Date.now();
  const badFilter = { parent: 'clusters/-/namespaces/-', filter: 'no_such_field = "x"' };
  const badMetric = {
    batch: {
      batchId: `sdk-node-bad-${nowMs}`,
      metrics: [{ name: '9-not-a-metric', type: 'METRIC_TYPE_GAUGE',
                  samples: [{ timeUnixMs: String(nowMs), value: 1 }] }],
    },
  };
  let ok = await show('ListPods', () => client.resources.ListPods(badFilter));
  ok = (await show('Push', () => client.ingest.Push(badMetric))) && ok;
  client.close();
  process.exitCode = ok ? 0 : 1;
}

main().catch((err) => {
  console.error(`error: ${err}`);
  process.exit(1);
});

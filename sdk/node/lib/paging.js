'use strict';
// Iterating every page of an AIP-158 List method (pageToken / nextPageToken).

// pages yields each response of `method` (e.g. client.resources.ListPods), following
// nextPageToken until it is empty. `request` is not modified; `options` go to every call.
async function* pages(method, request = {}, options = undefined) {
  const req = { ...request };
  const seen = new Set();
  for (;;) {
    const resp = await method(req, options);
    yield resp;
    const token = resp.nextPageToken;
    if (!token) return;
    if (seen.has(token)) throw new Error('the server repeated a page token');
    seen.add(token);
    req.pageToken = token;
  }
}

// itemsField: the one repeated field of a List response (every k8intel List response has one).
function itemsField(resp) {
  const arrays = Object.keys(resp).filter((k) => Array.isArray(resp[k]));
  if (arrays.length !== 1) {
    throw new Error(`the response has ${arrays.length} repeated fields (${arrays}): name one`);
  }
  return arrays[0];
}

// paginate yields every item of every page:
//   for await (const pod of paginate(client.resources.ListPods, { pageSize: 50 })) ...
// `field` names the repeated field (found automatically when there is just one).
async function* paginate(method, request = {}, field = undefined, options = undefined) {
  for await (const resp of pages(method, request, options)) {
    yield* resp[field || itemsField(resp)];
  }
}

module.exports = { itemsField, pages, paginate };

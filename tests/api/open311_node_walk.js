// Drives the published node `open311` client against a running cogov, every call
// through the client's own API, and prints what each call gave back as one JSON object.
// Run by tests/api/test_open311_clients.py with NODE_PATH set to where the test
// installed the client; argv[2] is a JSON object:
//   {endpoint, apiKey, jurisdiction, serviceCode, request}
'use strict';

var Open311 = require('open311');

var config = JSON.parse(process.argv[2]);

function client(overrides) {
  var options = {
    endpoint: config.endpoint,
    apiKey: config.apiKey,
    jurisdiction: config.jurisdiction,
    format: 'json'
  };
  Object.keys(overrides || {}).forEach(function (key) { options[key] = overrides[key]; });
  return new Open311(options);
}

// The client's methods take a node-style callback last: (error, data).
function call(open311, method, args) {
  return new Promise(function (resolve) {
    open311[method].apply(open311, args.concat([function (error, data) {
      resolve({error: error || null, data: data === undefined ? null : data});
    }]));
  });
}

async function walk() {
  var seen = {};
  // Service discovery: the client finds the GeoReport v2 endpoint and keeps it.
  var discovered = client({endpoint: undefined, discovery: config.endpoint + 'discovery.json'});
  seen.discovery = await call(discovered, 'serviceDiscovery', [{cache: true}]);
  seen.discoveredEndpoint = discovered.endpoint;
  seen.discoveredServices = await call(discovered, 'serviceList', []);

  var open311 = client();
  seen.services = await call(open311, 'serviceList', []);
  seen.definition = await call(open311, 'serviceDefinition', [config.serviceCode]);
  seen.posted = await call(open311, 'submitRequest', [config.request]);
  var answer = seen.posted.error ? null : seen.posted.data[0];
  if (answer && answer.service_request_id) {
    var id = answer.service_request_id;
    seen.byId = await call(open311, 'serviceRequest', [id]);
    seen.byIds = await call(open311, 'serviceRequests', [[id], {}]);
    seen.byFilter = await call(
      open311, 'serviceRequests', [{service_code: config.serviceCode, status: 'open'}]
    );
    seen.token = await call(open311, 'token', [answer.cogov.citizen_token]);
  }
  // Refusals the client passes on as (HTTP status, message).
  seen.otherJurisdiction = await call(
    client({jurisdiction: 'elsewhere'}), 'submitRequest', [config.request]
  );
  seen.wrongKey = await call(client({apiKey: 'cgv_not_a_key'}), 'submitRequest', [config.request]);
  seen.unknownRequest = await call(open311, 'serviceRequest', ['no-such-request']);
  return seen;
}

walk().then(function (seen) {
  process.stdout.write(JSON.stringify(seen));
});

'use strict';
// test/helpers/postgraphile_driver.js: drives deploy/postgraphile/server.js
// over HTTP GraphQL as test/scripts/postgraphile.sh started it (env
// GRAPHQL_URL, SEGEXT_JWT_SECRET, COMPANY_A, COMPANY_B).  Tokens are signed
// here with node's crypto (HS256).  Prints "ok - ..." per check; exits 1 at
// the first failure.

const crypto = require('crypto');
const assert = require('assert/strict');

const url = process.env.GRAPHQL_URL;
const secret = process.env.SEGEXT_JWT_SECRET;
const companyA = process.env.COMPANY_A;
const companyB = process.env.COMPANY_B;

// sign returns an HS256 JWT with the given claims.
function sign(claims, key = secret) {
  const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const unsigned = part({ alg: 'HS256', typ: 'JWT' }) + '.' + part(claims);
  return unsigned + '.' + crypto.createHmac('sha256', key).update(unsigned).digest('base64url');
}

const writerA = sign({ role: 'segext_writer', company_id: companyA, exp: Math.floor(Date.now() / 1000) + 600 });
const readerA = sign({ role: 'segext_reader', company_id: companyA });
const writerB = sign({ role: 'segext_writer', company_id: companyB });

// post sends one GraphQL request and returns the HTTP status and the parsed body.
async function post(token, query, variables = {}) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = 'Bearer ' + token;
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw new Error(`HTTP ${response.status}, not JSON: ${text}`);
  }
  return { status: response.status, body };
}

// gql sends a request that must succeed (no errors) and returns its data.
async function gql(token, query, variables) {
  const { status, body } = await post(token, query, variables);
  if (status !== 200 || body.errors) {
    throw new Error(`HTTP ${status}: ${JSON.stringify(body.errors || body)}\nquery: ${query}`);
  }
  return body.data;
}

// refused sends a request that must fail and returns its first error.
async function refused(token, query, variables) {
  const { status, body } = await post(token, query, variables);
  assert.ok(body.errors && body.errors.length > 0, `expected an error, got HTTP ${status} ${JSON.stringify(body)}`);
  return { status, error: body.errors[0], data: body.data };
}

function ok(what) {
  console.log('ok - ' + what);
}

const segmentFields = 'companyId id number name active criteria customersCount';

async function main() {
  // 1. Segments: the built-ins, the one made in SQL, and criteria as JSON.
  let data = await gql(writerA, `{ allSegments(orderBy: NUMBER_ASC) { totalCount nodes { ${segmentFields} } } }`);
  let segments = data.allSegments.nodes;
  assert.deepEqual(segments.map((s) => [s.number, s.name]), [[0, 'All'], [1, 'Default'], [2, 'Big spenders']]);
  assert.equal(data.allSegments.totalCount, 3);
  assert.ok(segments.every((s) => s.companyId === companyA));
  assert.deepEqual(segments[2].criteria,
    [{ criteria: [{ type: 'transaction_amount', fromAmount: 100, toAmount: 1000000 }] }]);
  ok('allSegments lists the company\'s segments; criteria made in SQL reads as JSON');

  data = await gql(writerA, `mutation($flat: JSON!, $parts: JSON!) {
      flat: createSegment(input: {segment: {name: "Regulars", criteria: $flat}}) { segment { ${segmentFields} } }
      parts: createSegment(input: {segment: {name: "Oslo or Bergen", number: 40, criteria: $parts}}) { segment { ${segmentFields} } }
      manual: createSegment(input: {segment: {name: "Hand picked", position: 3}}) { segment { ${segmentFields} } }
      doomed: createSegment(input: {segment: {name: "Short lived"}}) { segment { ${segmentFields} } }
    }`, {
    flat: [{ type: 'transaction_count', min: 1, max: 100 }],
    parts: [{ criteria: [{ type: 'bought_in_pos', posIds: ['oslo'] }, { type: 'bought_in_pos', posIds: ['bergen'] }] }],
  });
  const regulars = data.flat.segment;
  const cities = data.parts.segment;
  const manual = data.manual.segment;
  const doomed = data.doomed.segment;
  assert.match(regulars.id, /^[0-9a-f]{24}$/);
  assert.equal(regulars.companyId, companyA);
  assert.equal(regulars.number, 3);
  assert.deepEqual(regulars.criteria, [{ criteria: [{ type: 'transaction_count', min: 1, max: 100 }] }]);
  assert.equal(cities.number, 40);
  assert.deepEqual(cities.criteria,
    [{ criteria: [{ type: 'bought_in_pos', posIds: ['oslo'] }, { type: 'bought_in_pos', posIds: ['bergen'] }] }]);
  assert.equal(manual.criteria, null);
  ok('createSegment takes criteria as JSON (flat and parts shapes) and returns the canonical parts shape');

  const { body: listed } = await post(writerA, `{ allSegments { nodes { name criteria } } }`);
  assert.equal(listed.errors, undefined, JSON.stringify(listed.errors));
  const withCriteria = listed.data.allSegments.nodes.filter((s) => !['All', 'Default', 'Hand picked', 'Short lived'].includes(s.name));
  assert.equal(withCriteria.length, 3);
  assert.ok(withCriteria.every((s) => Array.isArray(s.criteria) && s.criteria.length > 0), JSON.stringify(withCriteria));
  ok('every segment with criteria reads as a JSON array: no null, no error');

  // 2. Update and delete by the views' declared key (company_id, id).
  data = await gql(writerA, `mutation($c: String!, $id: String!, $crit: JSON!) {
      updateSegmentByCompanyIdAndId(input: {companyId: $c, id: $id, segmentPatch: {name: "Loyal regulars", criteria: $crit}}) {
        segment { ${segmentFields} } } }`,
  { c: companyA, id: regulars.id, crit: [{ type: 'transaction_count', min: 2, max: 100 }] });
  assert.equal(data.updateSegmentByCompanyIdAndId.segment.name, 'Loyal regulars');
  assert.equal(data.updateSegmentByCompanyIdAndId.segment.id, regulars.id);
  assert.deepEqual(data.updateSegmentByCompanyIdAndId.segment.criteria,
    [{ criteria: [{ type: 'transaction_count', min: 2, max: 100 }] }]);
  data = await gql(writerA, `{ segmentByCompanyIdAndNumber(companyId: "${companyA}", number: 3) { name } }`);
  assert.equal(data.segmentByCompanyIdAndNumber.name, 'Loyal regulars');
  ok('updateSegmentByCompanyIdAndId changes name and criteria; segmentByCompanyIdAndNumber finds it');

  data = await gql(writerA, `mutation($c: String!, $id: String!) {
      deleteSegmentByCompanyIdAndId(input: {companyId: $c, id: $id}) { deletedSegmentId segment { name } } }`,
  { c: companyA, id: doomed.id });
  assert.equal(data.deleteSegmentByCompanyIdAndId.segment.name, 'Short lived');
  data = await gql(writerA, `{ segmentByCompanyIdAndId(companyId: "${companyA}", id: "${doomed.id}") { id } }`);
  assert.equal(data.segmentByCompanyIdAndId, null);
  ok('deleteSegmentByCompanyIdAndId deletes the segment');

  let failure = await refused(writerA, `mutation($c: String!, $id: String!) {
      deleteSegmentByCompanyIdAndId(input: {companyId: $c, id: $id}) { deletedSegmentId } }`,
  { c: companyA, id: segments[0].id });
  assert.equal(failure.error.errcode, 'PT403');
  assert.match(failure.error.message, /built-in segment 0 "All" cannot be deleted/);
  ok('deleting built-in segment 0 is refused with PT403: ' + failure.error.message);

  // 3. Customers, a transaction, members.
  data = await gql(writerA, `mutation($labels: JSON!) {
      ann: createCustomer(input: {customer: {externalId: "c-ann", firstName: "Ann", lastName: "Andersen", email: "ann@example.com", labels: $labels}}) {
        customer { id externalId firstName labels } }
      bob: createCustomer(input: {customer: {externalId: "c-bob", firstName: "Bob", lastName: "Berg"}}) {
        customer { id externalId } } }`, { labels: [{ key: 'vip', value: 'yes' }] });
  const ann = data.ann.customer;
  const bob = data.bob.customer;
  assert.equal(ann.externalId, 'c-ann');
  assert.deepEqual(ann.labels, [{ key: 'vip', value: 'yes' }]);
  ok('createCustomer returns the customer with labels as JSON');

  data = await gql(writerA, `mutation($customer: String!, $items: JSON!) {
      createTransaction(input: {transaction: {customerId: $customer, amount: "250.50", posId: "oslo", items: $items}}) {
        transaction { id customerId amount posId items } } }`,
  { customer: ann.id, items: [{ sku: 'SKU-1', maker: 'Acme', quantity: 1, amount: 250.5 }] });
  const sale = data.createTransaction.transaction;
  assert.equal(sale.customerId, ann.id);
  assert.equal(sale.amount, '250.50');
  assert.equal(sale.posId, 'oslo');
  assert.equal(sale.items[0].sku, 'SKU-1');
  data = await gql(writerA, `{ segmentCustomers(segmentId: "${segments[2].id}") { totalCount nodes { customerId } } }`);
  assert.deepEqual(data.segmentCustomers.nodes.map((n) => n.customerId), [ann.id]);
  ok('createTransaction records a sale; Ann is a member of "Big spenders" at once');

  data = await gql(writerA, `mutation($s: String!, $ids: [String]!) {
      addSegmentMembers(input: {segmentId: $s, customerIds: $ids}) { bigInt } }`, { s: manual.id, ids: [ann.id, bob.id] });
  assert.equal(data.addSegmentMembers.bigInt, '2');
  data = await gql(writerA, `{
      desc: segmentCustomers(segmentId: "${manual.id}", orderBy: LAST_NAME_DESC) { totalCount nodes { customerId lastName } }
      asc: segmentCustomers(segmentId: "${manual.id}", orderBy: LAST_NAME_ASC, first: 1) { nodes { lastName } }
      ann: segmentCustomers(segmentId: "${manual.id}", condition: {externalId: "c-ann"}) { nodes { firstName } }
      filtered: segmentCustomers(segmentId: "${manual.id}", firstName: "BO") { nodes { firstName } } }`);
  assert.equal(data.desc.totalCount, 2);
  assert.deepEqual(data.desc.nodes.map((n) => n.lastName), ['Berg', 'Andersen']);
  assert.deepEqual(data.asc.nodes.map((n) => n.lastName), ['Andersen']);
  assert.deepEqual(data.ann.nodes.map((n) => n.firstName), ['Ann']);
  assert.deepEqual(data.filtered.nodes.map((n) => n.firstName), ['Bob']);
  ok('addSegmentMembers adds 2; segmentCustomers sorts (orderBy), pages, filters (condition and firstName)');

  // 4. A channel and its mix.
  data = await gql(writerA, `mutation($mix: JSON!) {
      createChannel(input: {channel: {name: "Affiliate sales", commission: "0.1", segmentMix: $mix}}) {
        channel { id name commission segmentMix } } }`,
  { mix: [{ segment_id: regulars.id, distribution: 0.6 }, { segment_id: manual.id, distribution: 0.4 }] });
  const channel = data.createChannel.channel;
  assert.equal(channel.name, 'Affiliate sales');
  assert.equal(channel.commission, '0.1');
  const expectedMix = [{ segment_id: regulars.id, distribution: 0.6 }, { segment_id: manual.id, distribution: 0.4 }]
    .sort((x, y) => (x.segment_id < y.segment_id ? -1 : 1));
  assert.deepEqual(channel.segmentMix, expectedMix);
  ok('createChannel writes the channel with its segment mix (JSON)');

  data = await gql(writerA, `mutation($c: String!, $id: String!, $mix: JSON!) {
      updateChannelByCompanyIdAndId(input: {companyId: $c, id: $id, channelPatch: {commission: "0.25", segmentMix: $mix}}) {
        channel { commission segmentMix } } }`,
  { c: companyA, id: channel.id, mix: [{ segment_id: cities.id, distribution: 1 }] });
  assert.equal(data.updateChannelByCompanyIdAndId.channel.commission, '0.25');
  assert.deepEqual(data.updateChannelByCompanyIdAndId.channel.segmentMix, [{ segment_id: cities.id, distribution: 1 }]);
  data = await gql(writerA, `{ channelForecast(channelId: "${channel.id}", volume: "250") { nodes { segmentName distribution expectedCustomers } }
      commissionValue(channelId: "${channel.id}", revenue: "1000") }`);
  assert.deepEqual(data.channelForecast.nodes, [{ segmentName: 'Oslo or Bergen', distribution: '1', expectedCustomers: '250' }]);
  assert.equal(Number(data.commissionValue), 250);
  ok('updateChannelByCompanyIdAndId replaces the mix; channelForecast and commissionValue follow');

  failure = await refused(writerA, `mutation($c: String!, $id: String!, $mix: JSON!) {
      updateChannelByCompanyIdAndId(input: {companyId: $c, id: $id, channelPatch: {segmentMix: $mix}}) { channel { id } } }`,
  { c: companyA, id: channel.id, mix: [{ segment_id: cities.id, distribution: 0.5 }] });
  assert.equal(failure.status, 200);
  assert.equal(failure.error.errcode, '23514');
  assert.match(failure.error.message, /^segment mix of channel "Affiliate sales" sums to 0.5, not 1$/);
  ok('a mix that does not sum to 1 is refused (23514): ' + failure.error.message);

  // 5. A report view.
  data = await gql(readerA, `{ allReportSegmentSizes(orderBy: SEGMENT_NUMBER_ASC) { nodes { segmentNumber segmentName customersCount } } }`);
  const sizes = Object.fromEntries(data.allReportSegmentSizes.nodes.map((n) => [n.segmentName, Number(n.customersCount)]));
  assert.equal(sizes['All'], 2);
  assert.equal(sizes['Big spenders'], 1);
  assert.equal(sizes['Hand picked'], 2);
  assert.equal(sizes['Loyal regulars'], 0);
  ok('a reader reads allReportSegmentSizes: All 2, Big spenders 1, Hand picked 2, Loyal regulars 0');

  failure = await refused(readerA, `mutation { createSegment(input: {segment: {name: "Reader's"}}) { segment { id } } }`);
  assert.match(failure.error.message, /permission denied for (view|table) segments/);
  ok('a reader cannot create a segment: ' + failure.error.message);

  // 6. Another company: sees nothing of A's, and cannot write A's rows.
  data = await gql(writerB, `{ allSegments { nodes { name companyId } } allCustomers { totalCount } }`);
  assert.deepEqual(data.allSegments.nodes.map((s) => s.name).sort(), ['All', 'Default']);
  assert.ok(data.allSegments.nodes.every((s) => s.companyId === companyB));
  assert.equal(data.allCustomers.totalCount, 0);
  ok('company B sees only its own built-ins and no customers');

  failure = await refused(writerB, `mutation($c: String!) {
      createSegment(input: {segment: {companyId: $c, name: "Planted"}}) { segment { id } } }`, { c: companyA });
  assert.equal(failure.error.errcode, '42501');
  assert.match(failure.error.message, new RegExp(`^permission denied for company "${companyA}"$`));
  ok('creating a segment in company A with company B\'s token is refused: ' + failure.error.message);

  failure = await refused(writerB, `mutation($c: String!, $id: String!) {
      updateSegmentByCompanyIdAndId(input: {companyId: $c, id: $id, segmentPatch: {name: "Taken"}}) { segment { id } } }`,
  { c: companyA, id: cities.id });
  assert.match(failure.error.message, /No values were updated in collection 'segments'/);
  data = await gql(writerA, `{ segmentByCompanyIdAndId(companyId: "${companyA}", id: "${cities.id}") { name } }`);
  assert.equal(data.segmentByCompanyIdAndId.name, 'Oslo or Bergen');
  ok('updating company A\'s segment with company B\'s token changes nothing');

  // 7. Tokens.
  let answer = await post(null, `{ allSegments { totalCount } }`);
  assert.match(answer.body.errors[0].message, /permission denied for (view|schema|table)/);
  ok('no token: the anonymous role reads nothing: ' + answer.body.errors[0].message);
  answer = await post(sign({ role: 'segext_writer', company_id: companyA }, 'x'.repeat(32)), `{ allSegments { totalCount } }`);
  assert.equal(answer.status, 401);
  assert.match(answer.body.errors[0].message, /invalid JWT: bad signature/);
  ok('a token signed with another secret: HTTP 401');
  answer = await post(sign({ role: 'segext_writer', company_id: companyA, exp: Math.floor(Date.now() / 1000) - 5 }), `{ allSegments { totalCount } }`);
  assert.equal(answer.status, 401);
  assert.match(answer.body.errors[0].message, /JWT expired/);
  ok('an expired token: HTTP 401');
}

main().catch((error) => {
  console.log('not ok - ' + (error && error.stack ? error.stack : error));
  process.exit(1);
});

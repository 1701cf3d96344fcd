'use strict';
// deploy/postgraphile/server.js: PostGraphile 4 in library mode serving
// segext's API schema segext_api over GraphQL (POST /graphql).
//
// Environment:
//   SEGEXT_DB_URI        connection string of the authenticator login, e.g.
//                        postgres://segext_authenticator:PASSWORD@localhost:5432/mydb
//                        (empty: libpq's PGHOST, PGPORT, PGDATABASE, PGUSER apply)
//   SEGEXT_JWT_SECRET    the HS256 secret the tokens are signed with (32 characters or more)
//   SEGEXT_GRAPHQL_HOST  address to listen on (default 127.0.0.1)
//   SEGEXT_GRAPHQL_PORT  port to listen on (default 5000; 0 picks a free one)
//   SEGEXT_ANON_ROLE     role of requests without a token (default segext_anon)
//
// Tokens are the ones PostgREST takes: HS256, claims {"role": "segext_writer",
// "company_id": "<objectid>"} (or segext_reader, segext_admin), optional exp
// and nbf.  Each request runs in a transaction that switches to the token's
// role and sets request.jwt.claims (the claims as JSON, as PostgREST sets it)
// and jwt.claims.<claim> for each claim (as PostGraphile sets them); segext
// trusts the company_id claim because the authenticator login is a member of
// segext_gateway (deploy/roles.sql).  When listening, prints one line
// "listening on http://HOST:PORT/graphql".

const crypto = require('crypto');
const http = require('http');
const path = require('path');
const { postgraphile, makePluginHook } = require('postgraphile');
const { makePgSmartTagsFromFilePlugin } = require('postgraphile/plugins');

const jwtSecret = process.env.SEGEXT_JWT_SECRET || '';
const anonRole = process.env.SEGEXT_ANON_ROLE || 'segext_anon';
const host = process.env.SEGEXT_GRAPHQL_HOST || '127.0.0.1';
const port = Number(process.env.SEGEXT_GRAPHQL_PORT || 5000);

if (jwtSecret.length < 32) {
  console.error('SEGEXT_JWT_SECRET must be set to a secret of 32 characters or more');
  process.exit(2);
}

// httpError returns an Error that PostGraphile answers with the given status.
function httpError(status, message) {
  const error = new Error(message);
  error.statusCode = status;
  return error;
}

// base64UrlDecode decodes one base64url part of a compact JWT.
function base64UrlDecode(part) {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) throw httpError(401, 'invalid JWT: not base64url');
  return Buffer.from(part, 'base64url');
}

// verifyJwt returns the claims of an HS256 token signed with the secret, or throws a 401.
function verifyJwt(token) {
  const parts = token.split('.');
  if (parts.length !== 3) throw httpError(401, 'invalid JWT: not three dot-separated parts');
  let header;
  let claims;
  try {
    header = JSON.parse(base64UrlDecode(parts[0]).toString('utf8'));
    claims = JSON.parse(base64UrlDecode(parts[1]).toString('utf8'));
  } catch (e) {
    throw e.statusCode ? e : httpError(401, 'invalid JWT: header or claims are not JSON');
  }
  if (!header || header.alg !== 'HS256') throw httpError(401, 'invalid JWT: only HS256 is accepted');
  const expected = crypto.createHmac('sha256', jwtSecret).update(parts[0] + '.' + parts[1]).digest();
  const given = base64UrlDecode(parts[2]);
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) {
    throw httpError(401, 'invalid JWT: bad signature');
  }
  if (!claims || typeof claims !== 'object' || Array.isArray(claims)) {
    throw httpError(401, 'invalid JWT: the claims are not a JSON object');
  }
  const now = Math.floor(Date.now() / 1000);
  if (claims.exp !== undefined && !(typeof claims.exp === 'number' && now < claims.exp)) {
    throw httpError(401, 'JWT expired');
  }
  if (claims.nbf !== undefined && !(typeof claims.nbf === 'number' && now >= claims.nbf)) {
    throw httpError(401, 'JWT not yet valid');
  }
  if (claims.role !== undefined && typeof claims.role !== 'string') {
    throw httpError(401, 'invalid JWT: the role claim is not a string');
  }
  return claims;
}

// pgSettings maps a request's bearer token to the role and settings of its transaction.
function pgSettings(req) {
  const authorization = req.headers.authorization;
  if (!authorization) return { role: anonRole };
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match) throw httpError(401, 'the Authorization header is not "Bearer <token>"');
  const claims = verifyJwt(match[1]);
  const settings = { role: claims.role || anonRole, 'request.jwt.claims': JSON.stringify(claims) };
  for (const [key, value] of Object.entries(claims)) {
    if (value === null || value === undefined) continue;
    settings['jwt.claims.' + key] = typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  return settings;
}

// CriteriaAsJsonPlugin types segext.criteria as the JSON scalar: values are
// read through criteria's cast to json and written as JSON text cast to criteria.
function CriteriaAsJsonPlugin(builder) {
  builder.hook('build', (build) => {
    const {
      pgIntrospectionResultsByKind: introspection,
      pgRegisterGqlTypeByTypeId,
      pgRegisterGqlInputTypeByTypeId,
      pgGetGqlTypeByTypeIdAndModifier,
      pgGetGqlInputTypeByTypeIdAndModifier,
      pg2GqlMapper,
      pgTweaksByTypeId,
      pgSql: sql,
    } = build;
    const criteria = introspection.type.find(
      (t) => t.namespaceName === 'segext' && t.name === 'criteria');
    if (!criteria) return build;
    const JSONB = '3802';
    pgRegisterGqlTypeByTypeId(criteria.id, () => pgGetGqlTypeByTypeIdAndModifier(JSONB, null));
    pgRegisterGqlInputTypeByTypeId(criteria.id, () => pgGetGqlInputTypeByTypeIdAndModifier(JSONB, null));
    pgTweaksByTypeId[criteria.id] = (fragment) => sql.fragment`(${fragment})::json`;
    pg2GqlMapper[criteria.id] = {
      map: pg2GqlMapper[JSONB].map,
      unmap: (value) => sql.fragment`(${sql.value(
        typeof value === 'string' && !build.options.dynamicJson ? value : JSON.stringify(value)
      )}::${sql.identifier('segext', 'criteria')})`,
    };
    return build;
  }, ['SegextCriteriaAsJson'], [], ['PgTypes']);
}

// databaseError returns the PostgreSQL error behind a GraphQL error, or null.
function databaseError(error) {
  const cause = error && error.originalError ? error.originalError : error;
  return cause && typeof cause.severity === 'string' && typeof cause.code === 'string' ? cause : null;
}

// handleErrors formats errors as GraphQL does, adding the SQLSTATE (errcode),
// DETAIL and HINT of database errors; also for an error raised at COMMIT (a
// deferred check), which PostGraphile hands over unwrapped.
function handleErrors(errors) {
  return errors.map((error) => {
    const formatted = { message: error.message };
    if (error.locations) formatted.locations = error.locations;
    if (error.path) formatted.path = error.path;
    const cause = databaseError(error);
    if (cause) {
      formatted.errcode = cause.code;
      if (cause.detail) formatted.detail = cause.detail;
      if (cause.hint) formatted.hint = cause.hint;
    }
    return formatted;
  });
}

// A database error raised at COMMIT is answered like one raised by a
// statement (HTTP 200 with the error), not as a server failure (500), unless
// its SQLSTATE says the server failed (classes 53, 57, 58, XX).
const commitErrorsAsGraphQLErrors = {
  ['postgraphile:http:result'](result) {
    if (result.statusCode === 500 && Array.isArray(result.errors) && result.errors.length > 0 &&
        result.errors.every((e) => typeof e.errcode === 'string' && !/^(53|57|58|XX)/.test(e.errcode))) {
      return { ...result, statusCode: 200 };
    }
    return result;
  },
};

// With no SEGEXT_DB_URI, node-postgres takes the connection from libpq's PG* variables.
const pgConfig = process.env.SEGEXT_DB_URI ? { connectionString: process.env.SEGEXT_DB_URI } : {};
const middleware = postgraphile(pgConfig, 'segext_api', {
  includeExtensionResources: true,
  dynamicJson: true,
  setofFunctionsContainNulls: false,
  enableQueryBatching: false,
  disableDefaultMutations: false,
  appendPlugins: [
    CriteriaAsJsonPlugin,
    makePgSmartTagsFromFilePlugin(path.join(__dirname, 'postgraphile.tags.json5')),
  ],
  pgSettings,
  graphiql: false,
  handleErrors,
  pluginHook: makePluginHook([commitErrorsAsGraphQLErrors]),
  retryOnInitFail: false,
});

const server = http.createServer(middleware);
server.listen(port, host, () => {
  const address = server.address();
  console.log(`listening on http://${address.address}:${address.port}/graphql`);
});

// shutdown closes the server and the connection pool, then exits.
function shutdown() {
  server.close(() => {
    Promise.resolve(middleware.release && middleware.release()).finally(() => process.exit(0));
  });
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

'use strict';
// The benchmark peer: marketsync's importOrder as a plain JSON endpoint on Fastify 4 + pg.
//
//   POST /importOrder  {"syncToken": "<uuid>", "receipt": "R-1001"}
//        -> 200 {"data": {"importOrder": {"duplicate", "syncLog": {...}, "userErrors": [...]}}}
//           (the JSON our GraphQL mutation answers for the selection bench/compare.sh asks)
//   GET  /health       -> {"status": "ok"}
//
// It reads and writes marketsync's own PostgreSQL schema (migrate with `marketsync migrate`)
// and calls the same marketplace (MARKETPLACE_BASE_URL) with the same credentials.
// Environment: DATABASE_URL (postgres://…, ?maxsize=N is the pool size, default 20),
// MARKETPLACE_BASE_URL, SECRET_KEY, REDIS_URL (optional: status doorbells), HOST
// (127.0.0.1), PORT (0: any free port; the bound address is printed), MARKETPLACE_TIMEOUT_S
// (10), SYNC_MAX_ATTEMPTS (5), MOCK_<MARKETPLACE>_USER / _PASS (ours' defaults).

const Fastify = require('fastify');
const pg = require('pg');
const Redis = require('ioredis');
const { MarketplaceClient } = require('./marketplace');
const { OrderImporter, UserInputError } = require('./importing');
const { SecretBox } = require('./secrets');

// timestamptz as PostgreSQL's text (UTC session), formatted by isoTimestamp().
pg.types.setTypeParser(1184, (text) => text);

const DEV_PASSWORDS = {
  etsy: 'etsy-dev-pass',
  shopify: 'shopify-dev-pass',
  amazon: 'amazon-dev-pass',
  trendyol: 'trendyol-dev-pass',
};

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

function number(name, fallback) {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
}

// The whole pool is opened at start and kept (no idle timeout): on a shared server, a
// connection refused mid-run ("too many clients") would fail requests instead of start-up.
async function openPool(databaseUrl) {
  const [connectionString, query = ''] = databaseUrl.split('?', 2);
  const max = Number(new URLSearchParams(query).get('maxsize') ?? 20);
  const pool = new pg.Pool({ connectionString, max, idleTimeoutMillis: 0, options: '-c TimeZone=UTC' });
  const clients = await Promise.all(Array.from({ length: max }, () => pool.connect()));
  for (const client of clients) client.release();
  return pool;
}

// The contract's DateTime (marketsync/isotime.py): UTC, milliseconds (truncated) and a Z.
// PostgreSQL prints "2026-12-02 10:00:00.123456+00" in the UTC session this pool opens.
const PG_UTC_TIMESTAMP = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?\+00$/;

function isoTimestamp(text) {
  if (text === null) return null;
  const match = PG_UTC_TIMESTAMP.exec(text);
  if (match === null) return new Date(text).toISOString();
  return `${match[1]}T${match[2]}.${(match[3] ?? '').padEnd(3, '0').slice(0, 3)}Z`;
}

function syncLogOut(row) {
  return {
    id: row.id,
    receipt: row.receipt,
    status: row.status,
    orderId: row.order_id,
    amount: row.amount,
    currency: row.currency,
    errorDetails: row.error_details,
    attempt: row.attempt,
    nextRetryAt: isoTimestamp(row.next_retry_at),
    importedAt: isoTimestamp(row.imported_at),
    createdAt: isoTimestamp(row.created_at),
    updatedAt: isoTimestamp(row.updated_at),
  };
}

const nullable = (type) => ({ type: [type, 'null'] });

const importOrderSchema = {
  body: {
    type: 'object',
    required: ['syncToken', 'receipt'],
    properties: {
      syncToken: { type: 'string', format: 'uuid' },
      receipt: { type: 'string' },
    },
  },
  response: {
    200: {
      type: 'object',
      properties: {
        data: {
          type: 'object',
          properties: {
            importOrder: {
              type: 'object',
              properties: {
                duplicate: { type: 'boolean' },
                syncLog: {
                  type: ['object', 'null'],
                  properties: {
                    id: { type: 'string' },
                    receipt: { type: 'string' },
                    status: { type: 'string' },
                    orderId: nullable('string'),
                    amount: nullable('string'),
                    currency: nullable('string'),
                    errorDetails: nullable('string'),
                    attempt: { type: 'integer' },
                    nextRetryAt: nullable('string'),
                    importedAt: nullable('string'),
                    createdAt: { type: 'string' },
                    updatedAt: { type: 'string' },
                  },
                },
                userErrors: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      field: { type: ['array', 'null'], items: { type: 'string' } },
                      message: { type: 'string' },
                      code: { type: 'string' },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

function buildApp(importer) {
  const app = Fastify({ logger: false });

  app.setErrorHandler((error, request, reply) => {
    if (error.validation) {
      // Ours answers a GraphQL error with extensions.code for a malformed variable.
      reply.code(400).send({ errors: [{ message: error.message, extensions: { code: 'BAD_USER_INPUT' } }] });
      return;
    }
    if (error.statusCode >= 400 && error.statusCode < 500) {
      reply.code(error.statusCode).send({ errors: [{ message: error.message }] });
      return;
    }
    console.error(`import_order_failed route=${request.url} error=${error.name}: ${error.message}`);
    reply.code(500).send({ errors: [{ message: 'Unexpected error.' }] }); // masked, as ours
  });

  app.get('/health', async () => ({ status: 'ok' }));

  app.post('/importOrder', { schema: importOrderSchema }, async (request) => {
    const { syncToken, receipt } = request.body;
    try {
      const { log, duplicate } = await importer.importOrder({ syncToken, receipt });
      return { data: { importOrder: { duplicate, syncLog: syncLogOut(log), userErrors: [] } } };
    } catch (error) {
      if (!(error instanceof UserInputError)) throw error;
      const userError = { field: error.field, message: error.message, code: error.code };
      return { data: { importOrder: { duplicate: false, syncLog: null, userErrors: [userError] } } };
    }
  });

  return app;
}

async function main() {
  const secretKey = required('SECRET_KEY');
  if (secretKey.length < 32) throw new Error('SECRET_KEY must be at least 32 characters');
  const timeoutS = number('MARKETPLACE_TIMEOUT_S', 10);
  const pool = await openPool(required('DATABASE_URL'));
  const marketplace = new MarketplaceClient({
    baseUrl: required('MARKETPLACE_BASE_URL'),
    timeoutS,
    credentials: (name) => [
      process.env[`MOCK_${name.toUpperCase()}_USER`] ?? name,
      process.env[`MOCK_${name.toUpperCase()}_PASS`] ?? DEV_PASSWORDS[name],
    ],
  });
  const redis = process.env.REDIS_URL ? new Redis(process.env.REDIS_URL) : null;
  const importer = new OrderImporter({
    pool,
    marketplace,
    secrets: new SecretBox(secretKey),
    redis,
    timeoutS,
    maxAttempts: number('SYNC_MAX_ATTEMPTS', 5),
  });
  const app = buildApp(importer);

  let closing = false;
  const close = async () => {
    if (closing) return;
    closing = true;
    await app.close();
    await pool.end();
    if (redis !== null) redis.disconnect();
    marketplace.close();
  };
  process.on('SIGTERM', close);
  process.on('SIGINT', close);

  const address = await app.listen({
    host: process.env.HOST || '127.0.0.1',
    port: Number(process.env.PORT ?? 0),
  });
  console.log(`peer listening on ${address}`);
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});

'use strict';
// Order import: a port of marketsync/services/orders/importing.py and attempts.py.
//
// Same steps, same queries, same order:
//   1. the store id of the sync token (remembered: a token never moves to another store);
//   2. the (store, receipt) log: when it exists the answer is a duplicate, once its first
//      marketplace call is over (polled every 50 ms, up to the call's timeout + 2 s);
//   3. the store row, then the claim: INSERT of a PENDING log whose lease sits in
//      next_retry_at; the unique (store_id, receipt) decides who claimed first, and a
//      loser answers the winner's log as a duplicate;
//   4. doorbell (Redis PUBLISH marketsync:status:<store>), one validate call, then the
//      outcome in one transaction: a conditional UPDATE of the log (never over a SUCCESS)
//      and the store's lastSyncAt / importedOrders, then the doorbell again.

const crypto = require('node:crypto');
const { MarketplaceError, RateLimitError } = require('./marketplace');

const MAX_RECEIPT = 255;
const LEASE_MARGIN_MS = 30_000;
const SETTLE_POLL_MS = 50;
const TOKEN_CACHE_SIZE = 10_000;
const PUBLISH_TIMEOUT_MS = 2_000;
const STATUS_CHANNEL_PREFIX = 'marketsync:status:';
// SYNC_LOG_RETRY of marketsync/services/retry.py: 5, 10, 20, 40, 60 minutes, then 60 forever.
const SYNC_LOG_DELAYS_S = [300, 600, 1200, 2400, 3600];

const SUCCESS = 'SUCCESS';
const FAILED = 'FAILED';
const RATE_LIMITED = 'RATE_LIMITED';

const Q = {
  storeIdByToken: { name: 'store_id_by_token', text: 'SELECT id FROM store WHERE sync_token = $1' },
  storeById: { name: 'store_by_id', text: 'SELECT * FROM store WHERE id = $1' },
  logByReceipt: {
    name: 'log_by_receipt',
    text: 'SELECT * FROM sync_log WHERE store_id = $1 AND receipt = $2',
  },
  logById: { name: 'log_by_id', text: 'SELECT * FROM sync_log WHERE id = $1' },
  claim: {
    name: 'claim_log',
    text: `INSERT INTO sync_log (id, store_id, receipt, status, attempt, next_retry_at,
             created_at, updated_at)
           VALUES ($1, $2, $3, 'PENDING', 0, $4, $5, $5)
           ON CONFLICT (store_id, receipt) DO NOTHING
           RETURNING *`,
  },
  recordLog: {
    name: 'record_log',
    text: `UPDATE sync_log SET status = $2, error_details = $3, order_id = $4, amount = $5,
             currency = $6, imported_at = $7, next_retry_at = $8, updated_at = $9,
             attempt = attempt + 1
           WHERE id = $1 AND NOT status = 'SUCCESS'
           RETURNING *`,
  },
  touchStore: {
    name: 'touch_store',
    text: `UPDATE store SET last_sync_at = $2, updated_at = $2,
             imported_orders = imported_orders + $3
           WHERE id = $1`,
  },
};

class UserInputError extends Error {
  constructor(code, message, field) {
    super(message);
    this.code = code;
    this.field = field;
  }
}

// Python's str.strip() whitespace, and str.isprintable()'s refusals (categories C and Z
// but the ASCII space), so a receipt is cleaned exactly as ours cleans it.
const EDGE_SPACE = /^[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;
const NOT_PRINTABLE = /(?! )[\p{C}\p{Z}]/u;

function cleanReceipt(receipt) {
  const cleaned = receipt.replace(EDGE_SPACE, '');
  const field = ['input', 'receipt'];
  if (cleaned === '') throw new UserInputError('INVALID_INPUT', 'receipt must not be empty', field);
  if (cleaned.length > MAX_RECEIPT && [...cleaned].length > MAX_RECEIPT) {
    throw new UserInputError(
      'INVALID_INPUT', `receipt must be at most ${MAX_RECEIPT} characters`, field,
    );
  }
  if (NOT_PRINTABLE.test(cleaned)) {
    throw new UserInputError('INVALID_INPUT', 'receipt must be printable text', field);
  }
  return cleaned;
}

class OrderImporter {
  constructor({ pool, marketplace, secrets, redis, timeoutS, maxAttempts }) {
    this.pool = pool;
    this.marketplace = marketplace;
    this.secrets = secrets;
    this.redis = redis;
    this.timeoutMs = timeoutS * 1000;
    this.maxAttempts = maxAttempts;
    this.storeIds = new Map();
  }

  async importOrder({ syncToken, receipt }) {
    const cleaned = cleanReceipt(receipt);
    const storeId = await this.storeIdForToken(syncToken.toLowerCase());
    const existing = await this.one(Q.logByReceipt, [storeId, cleaned]);
    if (existing !== null) return { log: await this.settled(existing), duplicate: true };
    const store = await this.one(Q.storeById, [storeId]);
    if (store === null) throw new Error('store vanished');
    const now = new Date();
    const lease = new Date(now.getTime() + this.timeoutMs + LEASE_MARGIN_MS);
    const claimed = await this.one(Q.claim, [uuid7(), storeId, cleaned, lease, now]);
    if (claimed === null) {
      const first = await this.one(Q.logByReceipt, [storeId, cleaned]);
      return { log: await this.settled(first), duplicate: true };
    }
    await this.publishStatus(storeId);
    const outcome = await this.validate(store, cleaned);
    const log = await this.recordOne(storeId, claimed, outcome);
    await this.publishStatus(storeId);
    return { log, duplicate: false };
  }

  async storeIdForToken(syncToken) {
    const known = this.storeIds.get(syncToken);
    if (known !== undefined) {
      this.storeIds.delete(syncToken); // Map keeps insertion order: re-insert = most recent
      this.storeIds.set(syncToken, known);
      return known;
    }
    const found = await this.one(Q.storeIdByToken, [syncToken]);
    if (found === null) {
      throw new UserInputError('NOT_FOUND', 'unknown syncToken', ['input', 'syncToken']);
    }
    this.storeIds.set(syncToken, found.id);
    if (this.storeIds.size > TOKEN_CACHE_SIZE) {
      this.storeIds.delete(this.storeIds.keys().next().value);
    }
    return found.id;
  }

  async settled(log) {
    const deadline = Date.now() + this.timeoutMs + 2000;
    let current = log;
    while (current.attempt === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
      current = await this.one(Q.logById, [current.id]);
    }
    return current;
  }

  async validate(store, receipt) {
    try {
      const result = await this.marketplace.validateReceipt({
        marketplace: store.marketplace,
        accessToken: this.secrets.decrypt(store.access_token_encrypted),
        receipt,
        currency: store.currency,
      });
      if (result.valid) return { status: SUCCESS, errorDetails: null, result };
      return { status: FAILED, errorDetails: 'invalid_receipt' };
    } catch (error) {
      if (error instanceof RateLimitError) {
        return { status: RATE_LIMITED, errorDetails: error.errorDetail, retryAfterS: error.retryAfterS };
      }
      if (error instanceof MarketplaceError) {
        console.warn(
          `marketplace_call_failed store_id=${store.id} error=${error.constructor.name}`
          + ` error_details=${error.errorDetail}`,
        );
        return { status: FAILED, errorDetails: error.errorDetail };
      }
      throw error;
    }
  }

  // The log as the attempt leaves it (attempts.py's _apply), written by one conditional
  // UPDATE beside the store's counters in one transaction (attempts.py's _record_one).
  async recordOne(storeId, log, outcome) {
    const now = new Date();
    const attempt = log.attempt + 1;
    let { order_id: orderId, amount, currency, imported_at: importedAt } = log;
    let nextRetryAt = null;
    if (outcome.status === SUCCESS) {
      ({ orderId, amount, currency, importedAt } = outcome.result);
    } else if (outcome.status === RATE_LIMITED || attempt < this.maxAttempts) {
      nextRetryAt = new Date(now.getTime() + 1000 * retryDelayS(attempt, outcome.retryAfterS));
    }
    const client = await this.pool.connect();
    let updated;
    try {
      await client.query('BEGIN');
      updated = await client.query(Q.recordLog, [
        log.id, outcome.status, outcome.errorDetails, orderId, amount, currency,
        importedAt, nextRetryAt, now,
      ]);
      const became = updated.rowCount === 1 && outcome.status === SUCCESS ? 1 : 0;
      await client.query(Q.touchStore, [storeId, now, became]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      client.release(error);
      throw error;
    }
    client.release();
    // Somebody else made it SUCCESS first: answer the stored log.
    return updated.rowCount === 1 ? updated.rows[0] : this.one(Q.logById, [log.id]);
  }

  async publishStatus(storeId) {
    if (this.redis === null) return;
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), PUBLISH_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.redis.publish(`${STATUS_CHANNEL_PREFIX}${storeId}`, '1'), timeout]);
    } catch (error) {
      // Best effort, as ours: the database already holds the change.
      console.warn(`status_doorbell_failed store_id=${storeId} error=${error.name}`);
    } finally {
      clearTimeout(timer);
    }
  }

  async one(query, values) {
    const { rows } = await this.pool.query({ ...query, values });
    return rows.length === 0 ? null : rows[0];
  }
}

function retryDelayS(attempt, retryAfterS) {
  const index = Math.min(Math.max(attempt, 1), SYNC_LOG_DELAYS_S.length) - 1;
  const delay = SYNC_LOG_DELAYS_S[index];
  return retryAfterS === null || retryAfterS === undefined ? delay : Math.max(delay, retryAfterS);
}

// Entity ids are UUID v7, as marketsync/ids.py makes them.
function uuid7() {
  const bytes = crypto.randomBytes(16);
  bytes.writeUIntBE(Date.now(), 0, 6);
  bytes[6] = (bytes[6] & 0x0f) | 0x70;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

module.exports = { OrderImporter, UserInputError, cleanReceipt };

'use strict';
// The marketplace client: a port of marketsync/marketplaces/client.py's validate_receipt.
// Basic auth per marketplace, the store's token in X-Access-Token, one keep-alive agent
// (aiohttp's TCPConnector(limit=100)), redirects not followed, a total timeout per call.
// Outcomes map as ours do:
//   401/403 -> AuthError, 429 {"error":"duplicate_request"} -> DuplicateRequestError,
//   other 429 -> RateLimitError(retryAfterS), no answer -> TransportError,
//   any other status or a malformed body -> MarketplaceResponseError.

const http = require('node:http');
const https = require('node:https');

const MARKETPLACES = ['etsy', 'shopify', 'amazon', 'trendyol'];

class MarketplaceError extends Error {
  get errorDetail() {
    return 'marketplace_error';
  }
}
class RateLimitError extends MarketplaceError {
  constructor(message, retryAfterS) {
    super(message);
    this.retryAfterS = retryAfterS;
  }
  get errorDetail() {
    return 'rate_limited';
  }
}
class AuthError extends MarketplaceError {
  get errorDetail() {
    return 'auth_error';
  }
}
class TransportError extends MarketplaceError {
  get errorDetail() {
    return 'transport_error';
  }
}
class DuplicateRequestError extends MarketplaceError {
  get errorDetail() {
    return 'duplicate_request';
  }
}
class MarketplaceResponseError extends MarketplaceError {}

class MarketplaceClient {
  constructor({ baseUrl, timeoutS, credentials }) {
    const base = new URL(baseUrl.replace(/\/+$/, '') + '/');
    this.transport = base.protocol === 'https:' ? https : http;
    this.agent = new this.transport.Agent({ keepAlive: true, maxSockets: 100 });
    this.hostname = base.hostname;
    this.port = base.port || (base.protocol === 'https:' ? 443 : 80);
    this.basePath = base.pathname;
    this.timeoutMs = timeoutS * 1000;
    this.authorization = new Map(
      MARKETPLACES.map((name) => {
        const [user, password] = credentials(name);
        const encoded = Buffer.from(`${user}:${password}`, 'latin1').toString('base64');
        return [name, `Basic ${encoded}`];
      }),
    );
  }

  async validateReceipt({ marketplace, accessToken, receipt, currency }) {
    const payload = { receipt };
    if (currency !== null && currency !== undefined) payload.currency = currency;
    const { status, content } = await this.call(
      'POST', marketplace, 'validate', accessToken, JSON.stringify(payload),
    );
    return validationResult(status, content);
  }

  call(method, marketplace, path, accessToken, body) {
    const name = marketplace.toLowerCase();
    const authorization = this.authorization.get(name);
    if (authorization === undefined) throw new Error(`unknown marketplace ${marketplace}`);
    const headers = {
      Authorization: authorization,
      'X-Access-Token': accessToken,
      Accept: 'application/json',
    };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    return new Promise((resolve, reject) => {
      const fail = (error) => reject(new TransportError(`no answer from ${name} (${error.name})`));
      const request = this.transport.request(
        {
          method,
          hostname: this.hostname,
          port: this.port,
          path: `${this.basePath}${name}/${path}`,
          headers,
          agent: this.agent,
          signal: AbortSignal.timeout(this.timeoutMs),
        },
        (response) => {
          const chunks = [];
          response.on('data', (chunk) => chunks.push(chunk));
          response.on('error', fail);
          response.on('end', () => {
            const status = response.statusCode;
            const content = Buffer.concat(chunks);
            if (status >= 200 && status < 300) {
              resolve({ status, content });
            } else {
              reject(statusError(name, status, content, response.headers['retry-after']));
            }
          });
        },
      );
      request.on('error', fail);
      request.end(body);
    });
  }

  close() {
    this.agent.destroy();
  }
}

function statusError(name, status, content, retryAfter) {
  if (status === 401 || status === 403) {
    return new AuthError(`${name} refused the credentials (HTTP ${status})`);
  }
  if (status === 429) {
    if (errorCode(content) === 'duplicate_request') {
      return new DuplicateRequestError(`${name} saw this body within its dedup window`);
    }
    return new RateLimitError(`${name} rate limit`, parseRetryAfter(retryAfter));
  }
  return new MarketplaceResponseError(`unexpected HTTP ${status} from ${name}`);
}

function validationResult(status, content) {
  const payload = parseJson(status, content);
  if (!isObject(payload) || typeof payload.status !== 'boolean') malformed(status);
  if (payload.status === false) return { valid: false };
  const orderId = payload.orderId;
  const amount = decimal(payload.amount);
  const currency = payload.currency;
  const importedAt = utcTimestamp(payload.importedAtUTC);
  if (
    typeof orderId !== 'string' || orderId === '' || amount === null
    || typeof currency !== 'string' || importedAt === null
  ) {
    malformed(status);
  }
  return { valid: true, orderId, amount, currency, importedAt };
}

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

// An amount sent as a JSON number or a decimal string, as text for PostgreSQL's numeric.
function decimal(value) {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null;
  if (typeof value !== 'string') return null;
  const text = value.trim();
  return DECIMAL.test(text) ? text : null;
}

// What Python's datetime.fromisoformat reads; without an offset the time is UTC (as ours).
const ISO_DATETIME = /^\d{4}-\d\d-\d\d(?:[T ]\d\d(?::\d\d(?::\d\d(?:[.,]\d{1,6})?)?)?)?(Z|[+-]\d\d(?::?\d\d)?)?$/;

function utcTimestamp(value) {
  if (typeof value !== 'string') return null;
  const match = ISO_DATETIME.exec(value);
  if (match === null || Number.isNaN(Date.parse(value.replace(' ', 'T')))) return null;
  return match[1] === undefined ? `${value}+00:00` : value;
}

// Retry-After: delay-seconds or an HTTP-date (RFC 9110 10.2.3), as marketsync/retry_after.py.
function parseRetryAfter(value) {
  if (value === undefined || value.trim() === '') return null;
  const text = value.trim();
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) {
    const seconds = Number(text);
    return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
  }
  const when = Date.parse(text);
  return Number.isNaN(when) ? null : Math.max(0, (when - Date.now()) / 1000);
}

function parseJson(status, content) {
  try {
    return JSON.parse(content.toString('utf8'));
  } catch {
    return malformed(status);
  }
}

function errorCode(content) {
  try {
    const payload = JSON.parse(content.toString('utf8'));
    return isObject(payload) ? payload.error : null;
  } catch {
    return null;
  }
}

function isObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function malformed(status) {
  throw new MarketplaceResponseError(`malformed answer from the marketplace (HTTP ${status})`);
}

module.exports = {
  MARKETPLACES,
  MarketplaceClient,
  MarketplaceError,
  RateLimitError,
};

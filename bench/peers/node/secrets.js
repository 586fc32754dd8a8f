'use strict';
// Fernet decryption of the stores' access tokens, as marketsync/crypto.py stores them:
// the Fernet key is HKDF-SHA256(SECRET_KEY, salt, info "marketsync store-token v1"), 32
// bytes; the signing key is its first 16 bytes, the AES key the last 16.
// Token: 0x80 | 8-byte timestamp | 16-byte IV | AES-128-CBC ciphertext | HMAC-SHA256.

const crypto = require('node:crypto');

const HEADER = 1 + 8 + 16;
const MAC = 32;
const SALT = Buffer.from('marketsync secret-key salt v1');
const STORE_TOKEN = Buffer.from('marketsync store-token v1');

class SecretUnreadableError extends Error {}

class SecretBox {
  constructor(secretKey) {
    const digest = Buffer.from(
      crypto.hkdfSync('sha256', Buffer.from(secretKey, 'utf8'), SALT, STORE_TOKEN, 32),
    );
    this.signingKey = digest.subarray(0, 16);
    this.encryptionKey = digest.subarray(16);
  }

  decrypt(token) {
    const data = Buffer.from(token, 'base64url');
    if (data.length < HEADER + 16 + MAC || data[0] !== 0x80) {
      throw new SecretUnreadableError('not a Fernet token');
    }
    const signed = data.subarray(0, data.length - MAC);
    const expected = crypto.createHmac('sha256', this.signingKey).update(signed).digest();
    if (!crypto.timingSafeEqual(expected, data.subarray(data.length - MAC))) {
      throw new SecretUnreadableError('not encrypted with SECRET_KEY');
    }
    const iv = data.subarray(9, HEADER);
    const decipher = crypto.createDecipheriv('aes-128-cbc', this.encryptionKey, iv);
    const plain = Buffer.concat([decipher.update(signed.subarray(HEADER)), decipher.final()]);
    return plain.toString('utf8');
  }
}

module.exports = { SecretBox, SecretUnreadableError };

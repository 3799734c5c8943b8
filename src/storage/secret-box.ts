import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const keyIdOf = (key: Buffer): string =>
  createHash('sha256').update('registry-webhooks/key-id').update(key).digest('hex').slice(0, 8);

/**
 * AES-256-GCM for the write-only fields, `v1.<key id>.<base64url>` so keys rotate; the webhook id and field are
 * bound as additional data, so a value copied elsewhere does not open.
 */
export class SecretBox {
  private readonly keys: Map<string, Buffer>;
  private readonly currentKeyId: string;

  constructor(
    private readonly currentKey: Buffer,
    previousKey?: Buffer,
  ) {
    this.currentKeyId = keyIdOf(currentKey);
    this.keys = new Map([[this.currentKeyId, currentKey]]);
    if (previousKey) this.keys.set(keyIdOf(previousKey), previousKey);
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.currentKey, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const sealed = Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
    return `${VERSION}.${this.currentKeyId}.${sealed}`;
  }

  open(sealed: string, context: string): string {
    const [version, keyId, payload] = sealed.split('.');
    if (version !== VERSION || keyId === undefined || payload === undefined) throw new Error('sealed value has an unknown format');
    const key = this.keys.get(keyId);
    if (!key) throw new Error(`sealed with key ${keyId}, which is neither the current nor the previous key`);
    const bytes = Buffer.from(payload, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  }

  /** True when the value was sealed with a key other than the current one. */
  isStale(sealed: string): boolean {
    return sealed.split('.')[1] !== this.currentKeyId;
  }
}

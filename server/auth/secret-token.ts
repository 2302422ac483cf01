// Opaque secrets handed to clients (authorization codes, refresh tokens, WebSocket tickets, upstream
// PKCE verifiers and nonces).
import { randomBytes } from 'node:crypto';

/**
 * A fresh random secret of `bytes` bytes, hex-encoded. Hex rather than base64url on purpose: a
 * base64url secret starts with "-" one time in 64, and such a value is read as an option by the
 * command-line tools (node, curl, openssl) that scripts pass it to; hex is URL-safe and never does.
 */
export const newSecretToken = (bytes = 32): string => randomBytes(bytes).toString('hex');

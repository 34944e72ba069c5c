// Cognito hosted UI sign-in: the OAuth 2.0 authorization code flow with PKCE (RFC 7636) for
// a public client. The verifier and state wait in sessionStorage for the redirect back.
import type { CognitoAuth } from '../config'

/** base64url encodes bytes without padding (RFC 4648 section 5). */
export function base64url(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += String.fromCharCode(b)
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** randomVerifier returns 32 random bytes as base64url: a 43-character code verifier. */
export function randomVerifier(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)))
}

/** codeChallenge is the S256 challenge of verifier: base64url(SHA-256(verifier)). */
export async function codeChallenge(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))
  return base64url(new Uint8Array(digest))
}

/** PendingSignIn is what the app remembers between leaving for the hosted UI and coming back. */
export interface PendingSignIn {
  verifier: string
  state: string
  returnTo: string
}

const pendingKey = 'shop.pkce'

/**
 * authorizeUrl starts a sign-in: it remembers a fresh verifier and state in storage and
 * returns the hosted UI's authorize URL to send the browser to.
 */
export async function authorizeUrl(cfg: CognitoAuth, returnTo: string, storage: Storage = sessionStorage): Promise<string> {
  const pending: PendingSignIn = { verifier: randomVerifier(), state: randomVerifier(), returnTo }
  storage.setItem(pendingKey, JSON.stringify(pending))
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: cfg.clientId,
    redirect_uri: cfg.redirectUri,
    scope: cfg.scopes.join(' '),
    state: pending.state,
    code_challenge: await codeChallenge(pending.verifier),
    code_challenge_method: 'S256',
  })
  return `${cfg.domain}/oauth2/authorize?${q}`
}

/** Tokens are what the token endpoint answers that the app keeps. */
export interface Tokens {
  accessToken: string
  expiresAt: number
}

/**
 * completeSignIn finishes a sign-in on the callback URL: it checks state against the pending
 * sign-in (once: the pending entry is removed whatever happens) and exchanges the code and
 * verifier for tokens.
 */
export async function completeSignIn(
  cfg: CognitoAuth,
  callback: URL,
  storage: Storage = sessionStorage,
  fetchFn: typeof fetch = fetch,
  now: () => number = Date.now,
): Promise<Tokens & { returnTo: string }> {
  const raw = storage.getItem(pendingKey)
  storage.removeItem(pendingKey)
  const err = callback.searchParams.get('error')
  if (err) throw new Error(`Sign-in failed: ${callback.searchParams.get('error_description') ?? err}`)
  if (!raw) throw new Error('Sign-in failed: no sign-in was started in this tab.')
  const pending = JSON.parse(raw) as PendingSignIn
  const code = callback.searchParams.get('code')
  if (!code || callback.searchParams.get('state') !== pending.state) {
    throw new Error('Sign-in failed: the answer does not belong to this sign-in.')
  }
  const res = await fetchFn(`${cfg.domain}/oauth2/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: cfg.clientId,
      code,
      redirect_uri: cfg.redirectUri,
      code_verifier: pending.verifier,
    }),
  })
  if (!res.ok) throw new Error(`Sign-in failed: the token endpoint answered HTTP ${res.status}.`)
  const body = (await res.json()) as { access_token?: unknown; expires_in?: unknown }
  if (typeof body.access_token !== 'string' || typeof body.expires_in !== 'number') {
    throw new Error('Sign-in failed: the token endpoint sent no access token.')
  }
  return { accessToken: body.access_token, expiresAt: now() + body.expires_in * 1000, returnTo: pending.returnTo }
}

/** logoutUrl is the hosted UI's sign-out URL, which ends the Cognito session too. */
export function logoutUrl(cfg: CognitoAuth): string {
  const q = new URLSearchParams({ client_id: cfg.clientId, logout_uri: cfg.signOutUri })
  return `${cfg.domain}/logout?${q}`
}

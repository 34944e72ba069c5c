import { afterEach, describe, expect, it, vi } from 'vitest'
import type { CognitoAuth } from '../config'
import { authorizeUrl, base64url, codeChallenge, completeSignIn, logoutUrl, randomVerifier } from './pkce'

const cognito: CognitoAuth = {
  domain: 'https://shop-dev.auth.eu-central-1.amazoncognito.com',
  clientId: 'client123',
  redirectUri: 'https://site.example/auth/callback',
  signOutUri: 'https://site.example/',
  scopes: ['openid', 'email', 'profile'],
}

/** memoryStorage is sessionStorage's interface over a Map. */
function memoryStorage(): Storage {
  const m = new Map<string, string>()
  return {
    get length() { return m.size },
    clear: () => m.clear(),
    getItem: (k) => m.get(k) ?? null,
    key: (i) => [...m.keys()][i] ?? null,
    removeItem: (k) => void m.delete(k),
    setItem: (k, v) => void m.set(k, v),
  }
}

afterEach(() => vi.unstubAllGlobals())

describe('PKCE', () => {
  it('computes the S256 challenge of RFC 7636 appendix B', async () => {
    expect(await codeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM')
  })

  it('makes 43-character verifiers of the unreserved alphabet, never the same twice', () => {
    const a = randomVerifier()
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(randomVerifier()).not.toBe(a)
    expect(base64url(new Uint8Array([251, 255]))).toBe('-_8')
  })

  it('sends the browser to the authorize endpoint with the challenge of a remembered verifier', async () => {
    const storage = memoryStorage()
    const url = new URL(await authorizeUrl(cognito, '/cart', storage))
    expect(url.origin + url.pathname).toBe('https://shop-dev.auth.eu-central-1.amazoncognito.com/oauth2/authorize')
    const q = url.searchParams
    expect(Object.fromEntries([...q].filter(([k]) => !['state', 'code_challenge'].includes(k)))).toEqual({
      response_type: 'code',
      client_id: 'client123',
      redirect_uri: 'https://site.example/auth/callback',
      scope: 'openid email profile',
      code_challenge_method: 'S256',
    })
    const pending = JSON.parse(storage.getItem('shop.pkce')!)
    expect(pending.returnTo).toBe('/cart')
    expect(q.get('state')).toBe(pending.state)
    expect(q.get('code_challenge')).toBe(await codeChallenge(pending.verifier))
  })

  it('exchanges the code with the verifier, once, for the access token', async () => {
    const storage = memoryStorage()
    const state = new URL(await authorizeUrl(cognito, '/orders', storage)).searchParams.get('state')!
    const { verifier } = JSON.parse(storage.getItem('shop.pkce')!)
    const fetchFn = vi.fn(async (_url: RequestInfo | URL, _init?: RequestInit) =>
      new Response(JSON.stringify({ access_token: 'at', id_token: 'it', refresh_token: 'rt', expires_in: 3600, token_type: 'Bearer' })),
    )
    const cb = new URL(`https://site.example/auth/callback?code=abc&state=${state}`)
    const t = await completeSignIn(cognito, cb, storage, fetchFn, () => 1000)
    expect(t).toEqual({ accessToken: 'at', expiresAt: 1000 + 3600_000, returnTo: '/orders' })
    const [url, init] = fetchFn.mock.calls[0]
    expect(url).toBe('https://shop-dev.auth.eu-central-1.amazoncognito.com/oauth2/token')
    expect(init?.method).toBe('POST')
    expect(Object.fromEntries(init?.body as URLSearchParams)).toEqual({
      grant_type: 'authorization_code',
      client_id: 'client123',
      code: 'abc',
      redirect_uri: 'https://site.example/auth/callback',
      code_verifier: verifier,
    })
    // The pending sign-in is spent: the same callback cannot be replayed.
    await expect(completeSignIn(cognito, cb, storage, fetchFn)).rejects.toThrow(/no sign-in was started/)
  })

  it.each([
    ['another state', (s: string) => `code=abc&state=${s}x`, /does not belong/],
    ['no code', (s: string) => `state=${s}`, /does not belong/],
    ['an error from the hosted UI', () => 'error=access_denied&error_description=User+cancelled', /User cancelled/],
  ])('refuses a callback with %s without calling the token endpoint', async (_name, query, want) => {
    const storage = memoryStorage()
    const state = new URL(await authorizeUrl(cognito, '/', storage)).searchParams.get('state')!
    const fetchFn = vi.fn()
    await expect(completeSignIn(cognito, new URL(`https://site.example/auth/callback?${query(state)}`), storage, fetchFn)).rejects.toThrow(want)
    expect(fetchFn).not.toHaveBeenCalled()
  })

  it('signs out through the hosted UI back to the site', () => {
    const u = new URL(logoutUrl(cognito))
    expect(u.origin + u.pathname).toBe('https://shop-dev.auth.eu-central-1.amazoncognito.com/logout')
    expect(u.searchParams.get('client_id')).toBe('client123')
    expect(u.searchParams.get('logout_uri')).toBe('https://site.example/')
  })
})

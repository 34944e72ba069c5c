import { createSlice, type PayloadAction } from '@reduxjs/toolkit'

/** Session is a signed-in user: the bearer token and what the app reads from its claims. */
export interface Session {
  token: string
  userId: string
  groups: string[]
  /** Milliseconds since the epoch. */
  expiresAt: number
}

/** AuthState is the signed-in session, or null. */
export interface AuthState {
  session: Session | null
}

/**
 * sessionFromToken reads the claims the app shows (sub, cognito:groups, exp) from a JWT. The
 * signature is the API's to check; the app only needs to know whom to greet.
 */
export function sessionFromToken(token: string): Session {
  const part = token.split('.')[1]
  if (!part) throw new Error('not a JWT')
  const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='))
  const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0)))) as {
    sub?: unknown
    exp?: unknown
    'cognito:groups'?: unknown
  }
  if (typeof claims.sub !== 'string' || typeof claims.exp !== 'number') throw new Error('token has no sub or exp')
  const groups = Array.isArray(claims['cognito:groups']) ? claims['cognito:groups'].filter((g) => typeof g === 'string') : []
  return { token, userId: claims.sub, groups, expiresAt: claims.exp * 1000 }
}

const storageKey = 'shop.session'

/** loadSession reads a still valid session from sessionStorage (gone when the tab closes). */
export function loadSession(storage: Storage | undefined = globalThis.sessionStorage, now = Date.now()): Session | null {
  try {
    const raw = storage?.getItem(storageKey)
    if (!raw) return null
    const s = JSON.parse(raw) as Session
    return s.expiresAt > now ? s : null
  } catch {
    return null
  }
}

/** saveSession keeps the session in sessionStorage, or removes it. Never a cookie. */
export function saveSession(s: Session | null, storage: Storage | undefined = globalThis.sessionStorage) {
  if (!storage) return
  if (s) storage.setItem(storageKey, JSON.stringify(s))
  else storage.removeItem(storageKey)
}

const authSlice = createSlice({
  name: 'auth',
  initialState: (): AuthState => ({ session: loadSession() }),
  reducers: {
    signedIn(state, action: PayloadAction<Session>) {
      state.session = action.payload
    },
    signedOut(state) {
      state.session = null
    },
  },
  selectors: {
    selectSession: (s) => s.session,
    selectIsAdmin: (s) => s.session?.groups.includes('admin') ?? false,
  },
})

export const { signedIn, signedOut } = authSlice.actions
export const { selectSession, selectIsAdmin } = authSlice.selectors
export default authSlice

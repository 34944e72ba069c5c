// The storefront's settings per stage. The stage writes /config.json next to the build
// (the local stage serves it, the cloud stage uploads it), so one dist/ serves every stage.
// This type is the contract between the app and whatever writes the file.

/**
 * SiteConfig is the shape of /config.json. storefront/hosting's Config (Go) writes it; the two
 * must agree field for field.
 */
export interface SiteConfig {
  /** Base URL of the shop's HTTP API, no trailing slash: "https://api.example.com". */
  apiBaseUrl: string
  /** Base URL product images are served from (their imageUrl values start with it). */
  imagesBaseUrl: string
  auth: { mode: 'local' } | { mode: 'cognito'; cognito: CognitoAuth }
}

/** CognitoAuth signs in through Cognito's hosted UI: authorization code flow with PKCE. */
export interface CognitoAuth {
  /** Hosted UI origin: "https://shop-dev.auth.eu-central-1.amazoncognito.com". */
  domain: string
  /** The user pool app client (public, no secret). */
  clientId: string
  /** The site's callback URL registered on the client: "https://<site>/auth/callback". */
  redirectUri: string
  /** The site's sign-out URL registered on the client: "https://<site>/". */
  signOutUri: string
  /** OAuth scopes asked for: ["openid", "email", "profile"]. */
  scopes: string[]
}

/** ConfigError says what is wrong with /config.json. */
export class ConfigError extends Error {}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

// url checks an absolute http(s) URL; base URLs lose a trailing slash, OAuth URLs are kept
// exactly as registered on the client.
function url(o: Record<string, unknown>, key: string, path: string, exact = false): string {
  const v = o[key]
  if (typeof v !== 'string') throw new ConfigError(`${path}${key} must be a URL string`)
  let u: URL
  try {
    u = new URL(v)
  } catch {
    throw new ConfigError(`${path}${key} must be an absolute URL, got ${JSON.stringify(v)}`)
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new ConfigError(`${path}${key} must be http(s)`)
  return exact ? v : v.replace(/\/+$/, '')
}

function onlyKeys(o: Record<string, unknown>, keys: string[], path: string) {
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) throw new ConfigError(`${path}${k} is not a known setting`)
  }
}

/** parseConfig checks a decoded /config.json strictly: every field, nothing unknown. */
export function parseConfig(raw: unknown): SiteConfig {
  if (!isObject(raw)) throw new ConfigError('config.json must be an object')
  onlyKeys(raw, ['apiBaseUrl', 'imagesBaseUrl', 'auth'], '')
  const auth = raw.auth
  if (!isObject(auth)) throw new ConfigError('auth must be an object')
  const base = { apiBaseUrl: url(raw, 'apiBaseUrl', ''), imagesBaseUrl: url(raw, 'imagesBaseUrl', '') }
  if (auth.mode === 'local') {
    onlyKeys(auth, ['mode'], 'auth.')
    return { ...base, auth: { mode: 'local' } }
  }
  if (auth.mode === 'cognito') {
    onlyKeys(auth, ['mode', 'cognito'], 'auth.')
    const c = auth.cognito
    if (!isObject(c)) throw new ConfigError('auth.cognito must be an object')
    onlyKeys(c, ['domain', 'clientId', 'redirectUri', 'signOutUri', 'scopes'], 'auth.cognito.')
    if (typeof c.clientId !== 'string' || c.clientId === '') throw new ConfigError('auth.cognito.clientId must be set')
    const scopes = c.scopes
    if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((s) => typeof s === 'string' && /^\S+$/.test(s))) {
      throw new ConfigError('auth.cognito.scopes must be a non-empty list of scope names')
    }
    return {
      ...base,
      auth: {
        mode: 'cognito',
        cognito: {
          domain: url(c, 'domain', 'auth.cognito.'),
          clientId: c.clientId,
          redirectUri: url(c, 'redirectUri', 'auth.cognito.', true),
          signOutUri: url(c, 'signOutUri', 'auth.cognito.', true),
          scopes: scopes as string[],
        },
      },
    }
  }
  throw new ConfigError('auth.mode must be "local" or "cognito"')
}

/** loadConfig fetches and checks /config.json; the stage sends it with no-cache. */
export async function loadConfig(fetchFn: typeof fetch = fetch): Promise<SiteConfig> {
  const res = await fetchFn('/config.json', { cache: 'no-cache' })
  if (!res.ok) throw new ConfigError(`config.json: HTTP ${res.status}`)
  return parseConfig(await res.json())
}

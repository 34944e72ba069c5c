// A fake fetch for unit tests of the API layer: it records each request and answers from a
// script of responses (or throws, as fetch does on a network error).
import { vi } from 'vitest'
import type { SiteConfig } from './config'

/** Recorded is one request the app sent. */
export interface Recorded {
  method: string
  url: string
  headers: Headers
  body: string
}

type Answer = Response | Error

/** json builds a JSON response. */
export const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(status === 204 ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers },
  })

/** fakeFetch installs a fetch that answers with answers in order and records the requests. */
export function fakeFetch(...answers: Answer[]) {
  return fakeFetchBy((r) => {
    const next = answers.shift()
    if (!next) throw new Error(`unexpected request ${r.method} ${r.url}`)
    return next
  })
}

/** fakeFetchBy installs a fetch that answers each request with answer(request). */
export function fakeFetchBy(answer: (r: Recorded) => Answer) {
  const requests: Recorded[] = []
  const fn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = input instanceof Request ? input : new Request(input, init)
    const rec = { method: req.method, url: req.url, headers: req.headers, body: await req.clone().text() }
    requests.push(rec)
    const a = answer(rec)
    if (a instanceof Error) throw a
    return a
  })
  vi.stubGlobal('fetch', fn)
  return requests
}

/** localConfig is a local stage's /config.json. */
export const localConfig: SiteConfig = {
  apiBaseUrl: 'http://api.test',
  imagesBaseUrl: 'http://api.test/_local/images',
  auth: { mode: 'local' },
}

/** tokenFor is an unsigned JWT with the claims the app reads (the API checks signatures). */
export function tokenFor(sub: string, groups: string[] = [], exp = Math.floor(Date.now() / 1000) + 3600): string {
  const part = (o: object) => btoa(JSON.stringify(o)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
  return `${part({ alg: 'RS256' })}.${part({ sub, exp, 'cognito:groups': groups })}.sig`
}

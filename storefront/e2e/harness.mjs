// What every browser test needs: a seeded local stage with the storefront on its own origin
// (functions/local/sitestage), Debian's Chromium driven by playwright-core, the API for
// setting up and checking state behind the page, screenshots, and axe-core.
import { spawn } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const here = dirname(fileURLToPath(import.meta.url))
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

/** screenshots is where each page's screenshot goes (git-ignored). */
export const screenshots = join(here, 'screenshots')

/** generous is the wait for anything the page does: the machine may be loaded. */
export const generous = 30_000

/**
 * startStage runs $SITESTAGE (a built functions/local/sitestage) and resolves its URLs once
 * it prints them. Closing its standard input stops it and every server it started; it exits
 * non-zero when any API exchange disagreed with the OpenAPI document.
 */
export async function startStage() {
  const bin = process.env.SITESTAGE
  if (!bin) throw new Error('SITESTAGE must name the built functions/local/sitestage (make storefront-e2e does it)')
  const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'], env: process.env })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const line = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the local stage did not start within 3 minutes')), 180_000)
    child.once('exit', (code) => reject(new Error(`the local stage exited with ${code}`)))
    createInterface({ input: child.stdout }).once('line', (l) => {
      clearTimeout(timer)
      resolve(l)
    })
  })
  const urls = JSON.parse(line)
  return {
    ...urls,
    /** stop ends the stage; it throws when the stage saw API traffic that breaks the contract. */
    async stop() {
      child.stdin.end()
      const timer = setTimeout(() => child.kill('SIGTERM'), 20_000)
      const code = await exited
      clearTimeout(timer)
      if (code !== 0) throw new Error(`the local stage exited with ${code}: see its contract drift above`)
    },
  }
}

/**
 * launchBrowser starts Chromium headless with the flags this machine needs. Playwright gives
 * every launch a fresh --user-data-dir of its own (a temporary folder it removes on close) and
 * refuses one passed as an argument; each test's context is a fresh profile inside it.
 */
export async function launchBrowser() {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    timeout: 120_000,
  })
  mkdirSync(screenshots, { recursive: true })
  return {
    browser,
    close: () => browser.close(),
  }
}

/**
 * newPage opens a page in a context of its own (its own sessionStorage: one shopper) and
 * records what the page's Content-Security-Policy blocked and what failed in its console.
 */
export async function newPage(browser, viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport })
  context.setDefaultTimeout(generous)
  const page = await context.newPage()
  page.problems = []
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of (404|409)/.test(m.text())) {
      page.problems.push(m.text())
    }
  })
  page.on('pageerror', (e) => page.problems.push(String(e)))
  return page
}

/** shoot keeps a full-page screenshot of the page under screenshots/<name>.png. */
export async function shoot(page, name) {
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true })
}

/**
 * axeViolations runs axe-core in the page and returns its serious and critical violations.
 * axe is evaluated through the DevTools protocol, which the page's CSP does not govern.
 */
export async function axeViolations(page) {
  await page.evaluate(axeSource + '\n;0')
  const results = await page.evaluate(() => globalThis.axe.run(document, { resultTypes: ['violations'] }))
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
}

/** api calls the stage's API the way the contract says, for setting up and checking state. */
export function apiClient(base) {
  async function call(method, path, { token, body, headers = {} } = {}) {
    const res = await fetch(base + path, {
      method,
      headers: {
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        ...headers,
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    })
    const text = await res.text()
    return { status: res.status, body: text ? JSON.parse(text) : null }
  }
  return {
    call,
    async token(sub, groups = []) {
      const r = await call('POST', '/_local/token', { body: { sub, groups } })
      if (r.status !== 200) throw new Error(`token: ${r.status}`)
      return r.body.token
    },
  }
}

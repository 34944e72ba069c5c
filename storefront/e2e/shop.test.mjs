// The storefront end to end, in Chromium, against a real local stage: what a shopper and an
// admin do, checked in the page and behind it through the API.
import assert from 'node:assert/strict'
import { deflateSync, crc32 } from 'node:zlib'
import { after, before, describe, test } from 'node:test'
import { apiClient, axeViolations, generous, launchBrowser, newPage, shoot, startStage } from './harness.mjs'

let stage, browser, api, admin
const pages = []

before(async () => {
  stage = await startStage()
  browser = await launchBrowser()
  api = apiClient(stage.api)
  admin = await api.token('e2e-admin', ['admin'])
}, { timeout: 240_000 })

after(async () => {
  await browser?.close()
  await stage?.stop()
})

async function open(viewport) {
  const page = await newPage(browser.browser, viewport)
  pages.push(page)
  return page
}

/** check runs axe on the page, keeps its screenshot and fails on CSP or script errors. */
async function check(page, name) {
  await page.waitForLoadState('networkidle')
  await shoot(page, name)
  assert.deepEqual(await axeViolations(page), [], `accessibility of ${name}`)
  assert.deepEqual(page.problems, [], `console errors on ${name}`)
}

async function signIn(page, name, { isAdmin = false } = {}) {
  await page.goto(stage.site + '/')
  await page.getByRole('link', { name: 'Sign in' }).click()
  await page.getByLabel('User name').fill(name)
  if (isAdmin) await page.getByLabel('Admin').check()
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('button', { name: 'Sign out' }).waitFor()
}

async function addToCart(page, productId, quantity = 1) {
  await page.goto(`${stage.site}/p/${productId}`)
  await page.getByLabel('Quantity').fill(String(quantity))
  await page.getByRole('button', { name: 'Add to cart' }).click()
  await page.getByText(`Added ${quantity} to your cart`).waitFor()
}

async function newProduct(fields) {
  const r = await api.call('POST', '/products', {
    token: admin,
    body: { description: 'Made for the browser tests.', currency: 'USD', ...fields },
  })
  assert.equal(r.status, 201, JSON.stringify(r.body))
  return r.body
}

const productCards = (page) => page.getByRole('list', { name: 'Products' }).getByRole('listitem')

describe('storefront', () => {
  test('browse a category and page through it', async () => {
    const page = await open()
    await page.goto(stage.site + '/')
    await page.getByRole('heading', { name: 'All products' }).waitFor()
    await page.getByRole('navigation', { name: 'Categories' }).getByRole('link', { name: 'Toys' }).click()
    await page.getByRole('heading', { name: 'Toys' }).waitFor()
    await page.waitForFunction(() => document.querySelectorAll('.card').length === 8)
    await check(page, 'catalog')
    await page.getByRole('button', { name: 'Load more' }).click()
    await page.waitForFunction(() => document.querySelectorAll('.card').length === 10)
    assert.equal(await page.getByRole('button', { name: 'Load more' }).count(), 0, 'no more pages after the last')
    const names = await productCards(page).getByRole('link').allInnerTexts()
    assert.equal(new Set(names).size, 10)
    for (const n of ['Puzzle No. 1', 'Kite No. 2', 'Board Game No. 10']) assert.ok(names.includes(n), `${n} in ${names}`)
    // Prices are formatted from minor units: toys-01 costs 499 + 250 + 4000 cents.
    const card = productCards(page).filter({ has: page.getByRole('link', { name: 'Puzzle No. 1' }) })
    assert.match(await card.innerText(), /\$47\.49/)
    // Every seeded product shows its image.
    const broken = await page.$$eval('.card img', (imgs) => imgs.filter((i) => !i.complete || i.naturalWidth === 0).length)
    assert.equal(broken, 0, 'every card image loads')
    assert.equal(await page.locator('.card img').count(), 10)
  })

  test('a phone sees the catalog in two columns', async () => {
    const page = await open({ width: 390, height: 844 })
    await page.goto(stage.site + '/?category=books')
    await page.waitForFunction(() => document.querySelectorAll('.card').length === 8)
    const xs = await page.$$eval('.card', (cs) => [...new Set(cs.map((c) => Math.round(c.getBoundingClientRect().x)))])
    assert.equal(xs.length, 2)
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth)
    assert.equal(overflow, false, 'no horizontal scrolling')
    await check(page, 'catalog-phone')
  })

  test('open a product', async () => {
    const page = await open()
    await page.goto(stage.site + '/?category=toys')
    await page.getByRole('button', { name: 'Load more' }).click()
    await page.getByRole('link', { name: 'Kite No. 2' }).click()
    await page.getByRole('heading', { level: 1, name: 'Kite No. 2' }).waitFor()
    assert.equal(new URL(page.url()).pathname, '/p/toys-02')
    const text = await page.locator('.product').innerText()
    assert.match(text, /\$49\.99/)
    assert.match(text, /20 in stock/)
    assert.match(text, /A sample Kite from the toys aisle\./)
    assert.ok(await page.getByRole('link', { name: 'Sign in to buy' }).isVisible())
    await check(page, 'product')
  })

  test('landing on the catalog or a product on a phone shifts nothing on screen', async () => {
    for (const path of ['/', '/p/toys-02']) {
      const page = await open({ width: 412, height: 823 })
      await page.addInitScript(() => {
        globalThis.shifts = []
        new PerformanceObserver((list) => {
          for (const e of list.getEntries()) {
            globalThis.shifts.push({ value: e.value, nodes: e.sources.map((s) => s.node?.className ?? '?') })
          }
        }).observe({ type: 'layout-shift', buffered: true })
      })
      await page.goto(stage.site + path)
      await page.locator(path === '/' ? '.card' : '.product').first().waitFor()
      await page.waitForLoadState('networkidle')
      assert.deepEqual(await page.evaluate(() => globalThis.shifts), [], `layout shifts on ${path}`)
    }
  })

  test('sign in, add two products, change a quantity, check out, see the order', async () => {
    const page = await open()
    await signIn(page, 'alice')
    await check(page, 'signed-in')
    await addToCart(page, 'books-01', 2)
    await addToCart(page, 'kitchen-03', 1)
    await page.getByRole('link', { name: 'Cart', exact: true }).click()
    await page.getByRole('heading', { name: 'Your cart' }).waitFor()
    const lines = page.getByRole('list', { name: 'Cart lines' }).getByRole('listitem')
    await lines.nth(1).waitFor()
    assert.equal(await lines.count(), 2)
    const atlas = lines.filter({ has: page.getByRole('link', { name: 'Field Guide No. 1' }) })
    // 2 x 7.49 + 1 x 32.49 = 47.47; then 1 x 7.49 + 32.49 = 39.98.
    await page.getByText('Total $47.47').waitFor()
    await atlas.getByLabel('Quantity').selectOption('1')
    await page.getByText('Total $39.98').waitFor()
    await check(page, 'cart')
    await page.getByRole('button', { name: 'Checkout' }).click()
    await page.getByRole('heading', { name: 'Checkout' }).waitFor()
    await check(page, 'checkout')
    await page.getByRole('button', { name: 'Place order' }).click()
    await page.getByRole('heading', { name: 'Order confirmed' }).waitFor()
    const orderId = (await page.locator('strong.mono').innerText()).trim()
    assert.match(orderId, /^[0-9a-f]{32}$/)
    await check(page, 'order-confirmed')
    await page.getByRole('link', { name: 'Orders', exact: true }).click()
    await page.getByRole('link', { name: `Order ${orderId}` }).click()
    await page.getByRole('heading', { name: `Order ${orderId}` }).waitFor()
    await page.getByRole('link', { name: 'Field Guide No. 1' }).waitFor()
    await page.getByRole('link', { name: 'Skillet No. 3' }).waitFor()
    assert.match(await page.locator('main').innerText(), /Total\s+\$39\.98/)
    await check(page, 'order')
    await page.getByRole('link', { name: 'All your orders' }).click()
    await page.getByRole('link', { name: `Order ${orderId}` }).waitFor()
    await check(page, 'orders')
    // The cart is empty after the order.
    await page.getByRole('link', { name: 'Cart', exact: true }).click()
    await page.getByText('Your cart is empty').waitFor()
  })

  test('two shoppers buy the last unit at once: one order confirmed, one out of stock', async () => {
    const p = await newProduct({ name: 'Last Lantern', category: 'garden', price: 4500, stock: 1 })
    const [bob, carol] = [await open(), await open()]
    for (const [page, name] of [[bob, 'bob'], [carol, 'carol']]) {
      await signIn(page, name)
      await addToCart(page, p.productId)
      await page.goto(stage.site + '/checkout')
      await page.getByRole('button', { name: 'Place order' }).waitFor()
    }
    await Promise.all([bob, carol].map((page) => page.getByRole('button', { name: 'Place order' }).click()))
    const outcome = async (page) => {
      const confirmed = page.getByRole('heading', { name: 'Order confirmed' })
      const refused = page.getByRole('alert').filter({ hasText: 'out of stock' })
      await confirmed.or(refused).waitFor()
      return (await confirmed.count()) > 0 ? 'confirmed' : await refused.innerText()
    }
    const results = await Promise.all([bob, carol].map(outcome))
    const loser = results[0] === 'confirmed' ? carol : bob
    assert.equal(results.filter((r) => r === 'confirmed').length, 1, JSON.stringify(results))
    assert.match(results.find((r) => r !== 'confirmed'), /Last Lantern is out of stock/)
    await shoot(loser, 'checkout-out-of-stock')
    // The loser keeps the cart.
    await loser.getByRole('link', { name: 'Cart', exact: true }).click()
    await loser.getByRole('link', { name: 'Last Lantern' }).waitFor()
    const stock = await api.call('GET', `/products/${p.productId}`)
    assert.equal(stock.body.stock, 0)
    await loser.goto(`${stage.site}/p/${p.productId}`)
    await loser.getByText('Sold out').waitFor()
  })

  test('a double click on "Place order" makes one order', async () => {
    const p = await newProduct({ name: 'Double Drum', category: 'toys', price: 1200, stock: 5 })
    const page = await open()
    await signIn(page, 'dave')
    await addToCart(page, p.productId)
    await page.goto(stage.site + '/checkout')
    await page.getByRole('button', { name: 'Place order' }).dblclick()
    await page.getByRole('heading', { name: 'Order confirmed' }).waitFor()
    const orders = await api.call('GET', '/orders', { token: await api.token('dave') })
    assert.equal(orders.body.items.length, 1)
    assert.equal((await api.call('GET', `/products/${p.productId}`)).body.stock, 4)
  })

  test('a lost answer is retried with the same Idempotency-Key: one order', async () => {
    const p = await newProduct({ name: 'Flaky Flute', category: 'toys', price: 900, stock: 5 })
    const page = await open()
    await signIn(page, 'erin')
    await addToCart(page, p.productId)
    await page.goto(stage.site + '/checkout')
    const keys = []
    // The first order reaches the API, which places it; its answer never reaches the page.
    await page.route(`${stage.api}/orders`, async (route) => {
      if (route.request().method() !== 'POST') return route.continue()
      keys.push(await route.request().headerValue('idempotency-key'))
      if (keys.length === 1) {
        const placed = await route.fetch()
        assert.equal(placed.status(), 201)
        return route.abort('connectionreset')
      }
      return route.continue()
    })
    await page.getByRole('button', { name: 'Place order' }).click()
    await page.getByRole('heading', { name: 'Order confirmed' }).waitFor()
    assert.equal(keys.length, 2)
    assert.equal(keys[0], keys[1])
    const orders = await api.call('GET', '/orders', { token: await api.token('erin') })
    assert.equal(orders.body.items.length, 1)
    assert.equal((await api.call('GET', `/products/${p.productId}`)).body.stock, 4)
    page.problems.length = 0 // the aborted request is logged by the browser on purpose
  })

  test('post a review and see it first', async () => {
    const p = await newProduct({ name: 'Reviewed Rake', category: 'garden', price: 1500, stock: 5 })
    for (let i = 1; i <= 5; i++) {
      const r = await api.call('POST', `/products/${p.productId}/reviews`, {
        token: await api.token(`reviewer${i}`),
        body: { rating: 3, title: `Older review ${i}`, body: 'Fine.' },
      })
      assert.equal(r.status, 201)
    }
    const page = await open()
    await signIn(page, 'frank')
    await page.goto(`${stage.site}/p/${p.productId}`)
    await page.getByLabel('Rating').selectOption('4')
    await page.getByLabel('Title').fill('Sturdy and light')
    await page.getByLabel('Review', { exact: true }).fill('Good grip, no wobble.')
    await page.getByRole('button', { name: 'Post review' }).click()
    await page.getByText('Thank you, your review is posted.').waitFor()
    const reviews = page.getByRole('list', { name: 'Reviews, newest first' }).getByRole('listitem')
    await reviews.first().getByRole('heading', { name: 'Sturdy and light' }).waitFor()
    assert.ok(await reviews.first().getByRole('img', { name: 'Rated 4 out of 5' }).isVisible())
    assert.equal(await reviews.count(), 5)
    await page.getByRole('button', { name: 'Load more' }).click()
    await reviews.nth(5).waitFor()
    assert.equal(await reviews.count(), 6)
    await check(page, 'product-reviews')
  })

  test('an admin creates a product, uploads its image, sees it in the catalog, deletes it', async () => {
    const page = await open()
    await signIn(page, 'ada', { isAdmin: true })
    await page.getByRole('link', { name: 'Admin' }).click()
    await page.getByRole('heading', { name: 'Catalog admin' }).waitFor()
    await check(page, 'admin')
    await page.getByRole('link', { name: 'New product' }).click()
    const category = `lamps-${Date.now()}`
    await page.getByLabel('Name').fill('Desk Lamp')
    await page.getByLabel('Description').fill('A warm light for late reading.')
    await page.getByLabel('Category').fill(category)
    await page.getByLabel('Price').fill('25.99')
    await page.getByLabel('Currency').fill('EUR')
    await page.getByLabel('Stock').fill('12')
    await page.getByRole('button', { name: 'Save' }).click()
    await page.getByRole('heading', { name: 'Edit Desk Lamp' }).waitFor()
    const productId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop())
    const saved = (await api.call('GET', `/products/${productId}`)).body
    assert.deepEqual(
      { name: saved.name, category: saved.category, price: saved.price, currency: saved.currency, stock: saved.stock, imageUrl: saved.imageUrl },
      { name: 'Desk Lamp', category, price: 2599, currency: 'EUR', stock: 12, imageUrl: null },
    )
    await page.getByLabel('Image').setInputFiles({ name: 'lamp.png', mimeType: 'image/png', buffer: png(64, 64, [240, 180, 40]) })
    await page.getByRole('button', { name: 'Upload image' }).click()
    await page.getByText('Image updated.').waitFor({ timeout: 60_000 })
    await check(page, 'admin-edit')
    const withImage = (await api.call('GET', `/products/${productId}`)).body
    assert.ok(withImage.imageUrl?.startsWith(`${stage.api}/_local/images/`), withImage.imageUrl)
    // An edit replaces the product's fields and keeps its image.
    await page.getByLabel('Stock').fill('11')
    await page.getByRole('button', { name: 'Save' }).click()
    await page.getByText('Saved.').waitFor()
    const edited = (await api.call('GET', `/products/${productId}`)).body
    assert.equal(edited.stock, 11)
    assert.equal(edited.imageUrl, withImage.imageUrl)

    await page.goto(`${stage.site}/?category=${category}`)
    const card = productCards(page).filter({ has: page.getByRole('link', { name: 'Desk Lamp' }) })
    await card.waitFor()
    assert.match(await card.innerText(), /€25\.99/)
    await page.waitForFunction(() => {
      const img = document.querySelector('.card img')
      return img && img.complete && img.naturalWidth === 64
    })
    await shoot(page, 'catalog-new-product')

    await page.goto(`${stage.site}/admin/p/${productId}`)
    await page.getByRole('button', { name: 'Delete' }).click()
    await page.getByText('Deleted Desk Lamp.').waitFor()
    assert.equal((await api.call('GET', `/products/${productId}`)).status, 404)
    await page.goto(`${stage.site}/?category=${category}`)
    await page.getByText('Nothing here yet.').waitFor()
  })

  test('the admin page is for admins', async () => {
    const page = await open()
    await signIn(page, 'grace')
    assert.equal(await page.getByRole('link', { name: 'Admin' }).count(), 0)
    await page.goto(stage.site + '/admin')
    await page.getByText("This page is for the shop's admins.").waitFor()
  })

  test('the site is served as CloudFront serves it', async () => {
    const page = await open()
    const res = await page.goto(stage.site + '/orders/some-order')
    assert.equal(res.status(), 200)
    const h = res.headers()
    assert.equal(h['cache-control'], 'no-cache')
    assert.match(h['content-security-policy'], /frame-ancestors 'none'/)
    assert.match(h['content-security-policy'], new RegExp(`connect-src 'self' ${stage.api}`))
    assert.equal(h['x-content-type-options'], 'nosniff')
    assert.match(h['strict-transport-security'], /max-age=\d+/)
    assert.equal(h['referrer-policy'], 'strict-origin-when-cross-origin')
    const script = await page.$eval('script[type=module]', (s) => s.src)
    const asset = await fetch(script)
    assert.equal(asset.status, 200)
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable')
    const missing = await fetch(stage.site + '/assets/missing-00000000.js')
    assert.equal(missing.status, 404)
    assert.doesNotMatch(await missing.text(), /<html/i)
    const config = await fetch(stage.site + '/config.json')
    assert.equal(config.headers.get('cache-control'), 'no-cache')
    assert.deepEqual(await config.json(), { apiBaseUrl: stage.api, imagesBaseUrl: `${stage.api}/_local/images`, auth: { mode: 'local' } })
  })
})

/** png encodes a width x height image of one colour with a darker square in the middle. */
function png(width, height, [r, g, b]) {
  const rows = []
  for (let y = 0; y < height; y++) {
    const row = [0]
    for (let x = 0; x < width; x++) {
      const inner = x > width / 4 && x < (3 * width) / 4 && y > height / 4 && y < (3 * height) / 4
      row.push(...(inner ? [r / 2, g / 2, b / 2] : [r, g, b]))
    }
    rows.push(Buffer.from(row))
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(data.length)
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(body))
    return Buffer.concat([len, body, crc])
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr.set([8, 2, 0, 0, 0], 8)
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

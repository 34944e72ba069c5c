import { afterEach, describe, expect, it, vi } from 'vitest'
import { shopApi } from './api'
import { sessionFromToken, signedIn } from './auth/authSlice'
import { attemptStarted, selectAttempt } from './checkoutSlice'
import { makeStore } from './store'
import { fakeFetch, json, localConfig, tokenFor } from './testing'

const order = { orderId: 'o-1', userId: 'alice', status: 'confirmed', items: [], total: 1999, currency: 'USD', createdAt: '2026-01-01T00:00:00Z' }
const items = [{ productId: 'books-01', quantity: 2 }]

function signedInStore() {
  const waits: number[] = []
  const store = makeStore(localConfig, { sleep: async (ms) => void waits.push(ms) })
  store.dispatch(signedIn(sessionFromToken(tokenFor('alice'))))
  return { store, waits }
}

async function checkout(store: ReturnType<typeof signedInStore>['store']) {
  store.dispatch(attemptStarted(items))
  const key = selectAttempt(store.getState())!.key
  return { key, res: await store.dispatch(shopApi.endpoints.placeOrder.initiate({ idempotencyKey: key, items })) }
}

afterEach(() => vi.unstubAllGlobals())

describe('checkout', () => {
  it('retries a network error and a 503 with the same Idempotency-Key', async () => {
    const requests = fakeFetch(
      new TypeError('Failed to fetch'),
      json(503, { error: { code: 'unavailable', message: 'try again' } }, { 'Retry-After': '1' }),
      json(201, order),
    )
    const { store, waits } = signedInStore()
    const { key, res } = await checkout(store)
    expect(res.data).toEqual(order)
    expect(requests).toHaveLength(3)
    for (const r of requests) {
      expect(r.method).toBe('POST')
      expect(r.url).toBe('http://api.test/orders')
      expect(r.headers.get('Idempotency-Key')).toBe(key)
      expect(r.headers.get('Content-Type')).toBe('application/json')
      expect(r.headers.get('Authorization')).toBe(`Bearer ${store.getState().auth.session!.token}`)
      expect(JSON.parse(r.body)).toEqual({ items })
    }
    expect(waits).toEqual([500, 1000])
    // The attempt is over: the next checkout is a new order with a new key.
    expect(selectAttempt(store.getState())).toBeNull()
    store.dispatch(attemptStarted(items))
    expect(selectAttempt(store.getState())!.key).not.toBe(key)
  })

  it('keeps the key when every try was lost, so the next click cannot make a second order', async () => {
    const lost = Array.from({ length: 4 }, () => new TypeError('Failed to fetch'))
    const requests = fakeFetch(...lost, json(200, order, { 'Idempotent-Replayed': 'true' }))
    const { store } = signedInStore()
    const first = await checkout(store)
    expect(first.res.error).toMatchObject({ status: 'FETCH_ERROR' })
    expect(requests).toHaveLength(4)
    const second = await checkout(store)
    expect(second.key).toBe(first.key)
    expect(second.res.data).toEqual(order)
    expect(new Set(requests.map((r) => r.headers.get('Idempotency-Key')))).toEqual(new Set([first.key]))
  })

  it('does not retry a final answer and ends the attempt', async () => {
    const requests = fakeFetch(json(409, { error: { code: 'out_of_stock', message: 'product books-01 does not have the quantity asked for in stock' } }))
    const { store } = signedInStore()
    const { key, res } = await checkout(store)
    expect(res.error).toMatchObject({ status: 409 })
    expect(requests).toHaveLength(1)
    store.dispatch(attemptStarted(items))
    expect(selectAttempt(store.getState())!.key).not.toBe(key)
  })

  it('starts a new attempt when the cart changed', () => {
    const { store } = signedInStore()
    store.dispatch(attemptStarted(items))
    const key = selectAttempt(store.getState())!.key
    store.dispatch(attemptStarted([{ productId: 'books-01', quantity: 2 }]))
    expect(selectAttempt(store.getState())!.key).toBe(key)
    store.dispatch(attemptStarted([{ productId: 'books-01', quantity: 3 }]))
    expect(selectAttempt(store.getState())!.key).not.toBe(key)
  })
})

import { afterEach, describe, expect, it, vi } from 'vitest'
import { shopApi, type Cart } from './api'
import { errorCode, errorMessage } from './errors'
import { outOfStockMessage } from './pages/Checkout'
import { makeStore } from './store'
import { fakeFetch, json, localConfig } from './testing'

afterEach(() => vi.unstubAllGlobals())

describe('errorMessage', () => {
  it.each([
    ['the contract error body', { status: 400, data: { error: { code: 'invalid_request', message: 'limit must be 1..100' } } }, 'Limit must be 1..100.'],
    ['a message that ends a sentence', { status: 404, data: { error: { code: 'not_found', message: 'No such product.' } } }, 'No such product.'],
    ["API Gateway's own 401", { status: 401, data: { message: 'Unauthorized' } }, 'Your session has ended. Please sign in again.'],
    ['a 503 without a body', { status: 503, data: null }, 'The shop is busy. Please try again in a moment.'],
    ['an unknown status', { status: 418, data: 'teapot' }, 'Something went wrong (HTTP 418).'],
    ['a network error', { status: 'FETCH_ERROR', error: 'TypeError: Failed to fetch' }, 'Could not reach the shop. Check your connection and try again.'],
    ['a body that is not JSON', { status: 'PARSING_ERROR', originalStatus: 502, data: '<html>', error: 'SyntaxError' }, 'The shop sent an answer this page does not understand.'],
  ])('%s', (_name, err, want) => {
    expect(errorMessage(err)).toBe(want)
  })

  it('reads the error body of a real failed request', async () => {
    fakeFetch(json(422, { error: { code: 'idempotency_key_reused', message: 'this Idempotency-Key was used for another order' } }))
    const store = makeStore(localConfig)
    const res = await store.dispatch(shopApi.endpoints.placeOrder.initiate({ idempotencyKey: 'k', items: [] }))
    expect(errorCode(res.error)).toBe('idempotency_key_reused')
    expect(errorMessage(res.error)).toBe('This Idempotency-Key was used for another order.')
  })

  it('names the product an out_of_stock answer is about', () => {
    const cart: Cart = { items: [{ productId: 'toys-02', name: 'Kite No. 2', quantity: 1, price: 999, currency: 'USD' }], total: 999, currency: 'USD' }
    const err = { status: 409, data: { error: { code: 'out_of_stock', message: 'product toys-02 does not have the quantity asked for in stock' } } }
    expect(outOfStockMessage(cart, err)).toBe('Sorry, Kite No. 2 is out of stock in the quantity you asked for. Your cart is unchanged.')
  })
})

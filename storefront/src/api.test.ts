import { afterEach, describe, expect, it, vi } from 'vitest'
import { shopApi } from './api'
import { sessionFromToken, signedIn } from './auth/authSlice'
import { makeStore } from './store'
import { fakeFetch, fakeFetchBy, json, localConfig, tokenFor } from './testing'

afterEach(() => vi.unstubAllGlobals())

const cart = (quantity: number) => ({
  items: quantity ? [{ productId: 'books-01', name: 'Atlas', quantity, price: 1000, currency: 'USD' }] : [],
  total: 1000 * quantity,
  currency: 'USD',
})

describe('API layer', () => {
  it('sends JSON bodies with their content type and exactly the contract fields', async () => {
    const requests = fakeFetch(json(201, { reviewId: 'r1' }))
    const store = makeStore(localConfig)
    store.dispatch(signedIn(sessionFromToken(tokenFor('eve'))))
    await store.dispatch(shopApi.endpoints.postReview.initiate({ productId: 'books 01', rating: 4, title: 'Good', body: 'Fine atlas' }))
    expect(requests[0].url).toBe('http://api.test/products/books%2001/reviews')
    expect(requests[0].headers.get('Content-Type')).toBe('application/json')
    expect(JSON.parse(requests[0].body)).toEqual({ rating: 4, title: 'Good', body: 'Fine atlas' })
  })

  it('sends no Authorization header when signed out', async () => {
    const requests = fakeFetch(json(200, { items: [], nextCursor: null }))
    const store = makeStore(localConfig)
    await store.dispatch(shopApi.endpoints.listProducts.initiate({ category: 'toys' }))
    expect(requests[0].url).toBe('http://api.test/products?category=toys&limit=8')
    expect(requests[0].headers.has('Authorization')).toBe(false)
  })

  it('pages with the cursor of the previous page', async () => {
    const requests = fakeFetch(
      json(200, { items: [{ productId: 'a' }], nextCursor: 'c 1' }),
      json(200, { items: [{ productId: 'b' }], nextCursor: null }),
    )
    const store = makeStore(localConfig)
    const sub = store.dispatch(shopApi.endpoints.listProducts.initiate({}))
    await sub
    await store.dispatch(shopApi.endpoints.listProducts.initiate({}, { direction: 'forward' }))
    expect(requests.map((r) => r.url)).toEqual(['http://api.test/products?limit=8', 'http://api.test/products?limit=8&cursor=c+1'])
    const data = shopApi.endpoints.listProducts.select({})(store.getState()).data
    expect(data?.pages.flatMap((p) => p.items.map((i) => i.productId))).toEqual(['a', 'b'])
    sub.unsubscribe()
  })

  it('refetches the cart after a cart change', async () => {
    const requests = fakeFetch(json(200, cart(1)), json(200, cart(3)), json(200, cart(3)))
    const store = makeStore(localConfig)
    store.dispatch(signedIn(sessionFromToken(tokenFor('alice'))))
    const sub = store.dispatch(shopApi.endpoints.getCart.initiate())
    await sub
    await store.dispatch(shopApi.endpoints.setCartItem.initiate({ productId: 'books-01', quantity: 3 }))
    await vi.waitFor(() => expect(requests).toHaveLength(3))
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET http://api.test/cart',
      'PUT http://api.test/cart/items/books-01',
      'GET http://api.test/cart',
    ])
    await vi.waitFor(() => expect(shopApi.endpoints.getCart.select()(store.getState()).data?.total).toBe(3000))
    sub.unsubscribe()
  })

  it('refetches the orders and the bought products after an order', async () => {
    let stock = 5
    const orders: { orderId: string }[] = []
    const requests = fakeFetchBy((r) => {
      if (r.method === 'POST') {
        stock--
        orders.push({ orderId: 'o1' })
        return json(201, orders[0])
      }
      if (r.url.includes('/orders')) return json(200, { items: [...orders], nextCursor: null })
      return json(200, { productId: 'books-01', name: 'Atlas', stock })
    })
    const store = makeStore(localConfig)
    store.dispatch(signedIn(sessionFromToken(tokenFor('alice'))))
    const subs = [store.dispatch(shopApi.endpoints.getProduct.initiate('books-01')), store.dispatch(shopApi.endpoints.listOrders.initiate())]
    await Promise.all(subs)
    await store.dispatch(shopApi.endpoints.placeOrder.initiate({ idempotencyKey: 'k1', items: [{ productId: 'books-01', quantity: 1 }] }))
    await vi.waitFor(() => expect(requests).toHaveLength(5))
    expect(new Set(requests.slice(3).map((r) => r.url))).toEqual(new Set(['http://api.test/products/books-01', 'http://api.test/orders?limit=10']))
    await vi.waitFor(() => expect(shopApi.endpoints.getProduct.select('books-01')(store.getState()).data?.stock).toBe(4))
    await vi.waitFor(() => expect(shopApi.endpoints.listOrders.select()(store.getState()).data?.pages[0].items).toEqual(orders))
    subs.forEach((s) => s.unsubscribe())
  })
})

// Every call to the shop's HTTP API goes through this RTK Query API; its types are generated
// from the API's OpenAPI document (openapi.gen.ts, `npm run openapi-types`). Cache tags say what a write changes, so adding to the cart,
// ordering, reviewing or editing a product refreshes exactly the views that show it.
import {
  createApi,
  fetchBaseQuery,
  type BaseQueryFn,
  type FetchArgs,
  type FetchBaseQueryError,
  type FetchBaseQueryMeta,
} from '@reduxjs/toolkit/query/react'
import type { SiteConfig } from './config'
import type { components } from './openapi.gen'

type Schemas = components['schemas']

/** Product is the contract's product. Prices are integers in minor units. */
export type Product = Schemas['Product']

/** ProductDraft is the body of POST /products and PUT /products/{productId}. */
export type ProductDraft = Schemas['ProductDraft']

/** Review is the contract's review. */
export type Review = Schemas['Review']

/** CartLine is one product in the cart, at the product's current name and price. */
export type CartLine = Schemas['CartLine']

/** Cart is the contract's cart. */
export type Cart = Schemas['Cart']

/** OrderLine is one product of an order, at the price it was bought for. */
export type OrderLine = Schemas['OrderLine']

/** Order is the contract's order. */
export type Order = Schemas['Order']

/** Page is one page of a list: nextCursor is null on the last page. */
export interface Page<T> {
  items: T[]
  nextCursor: string | null
}

/** UploadTarget is the presigned POST of POST /products/{productId}/image-upload-url. */
export type UploadTarget = Schemas['UploadTarget']

/** StoreExtra is what the store gives the API layer: a way to wait between retries. */
export interface StoreExtra {
  sleep: (ms: number) => Promise<void>
}

/** The part of the store's state the API layer reads. */
interface ApiState {
  config: SiteConfig
  auth: { session: { token: string } | null }
}

type ShopBaseQuery = BaseQueryFn<string | FetchArgs, unknown, FetchBaseQueryError, object, FetchBaseQueryMeta>

// The base URL is the stage's, read from /config.json at start-up, so it lives in the store.
const baseQuery: ShopBaseQuery = (args, api, extraOptions) => {
  const { config } = api.getState() as ApiState
  return fetchBaseQuery({
    baseUrl: config.apiBaseUrl,
    prepareHeaders(headers, { getState }) {
      const session = (getState() as ApiState).auth.session
      if (session && !headers.has('Authorization')) headers.set('Authorization', `Bearer ${session.token}`)
      return headers
    },
  })(args, api, extraOptions)
}

/** checkoutAttempts is how many times one checkout attempt is sent before giving up. */
export const checkoutAttempts = 4

/**
 * isRetryable says whether a failed order may be sent again with the same Idempotency-Key:
 * the request may not have arrived, or the API asked to come back later. Any other answer
 * is final for that attempt.
 */
export function isRetryable(err: FetchBaseQueryError): boolean {
  return err.status === 'FETCH_ERROR' || err.status === 'TIMEOUT_ERROR' ||
    err.status === 429 || err.status === 502 || err.status === 503 || err.status === 504
}

/** retryDelay waits what Retry-After asks (at most 5 s), else 0.5 s, 1 s, 2 s ... */
export function retryDelay(attempt: number, retryAfter: string | null | undefined): number {
  const asked = Number(retryAfter)
  if (retryAfter && Number.isFinite(asked) && asked >= 0) return Math.min(asked, 5) * 1000
  return 500 * 2 ** (attempt - 1)
}

const listParams = (limit: number, cursor: string | null, extra: Record<string, string> = {}) => {
  const p = new URLSearchParams({ ...extra, limit: String(limit) })
  if (cursor) p.set('cursor', cursor)
  return p.toString()
}

const nextCursor = (last: Page<unknown>) => last.nextCursor ?? undefined

/** pageSize is how many products a page of the catalog shows. */
export const pageSize = 8

/** shopApi is the storefront's one API definition. */
export const shopApi = createApi({
  reducerPath: 'shopApi',
  baseQuery,
  tagTypes: ['Product', 'ProductList', 'Reviews', 'Cart', 'Order', 'OrderList'],
  endpoints: (build) => ({
    listProducts: build.infiniteQuery<Page<Product>, { category?: string }, string | null>({
      infiniteQueryOptions: { initialPageParam: null, getNextPageParam: nextCursor },
      query: ({ queryArg, pageParam }) =>
        `/products?${listParams(pageSize, pageParam, queryArg.category ? { category: queryArg.category } : {})}`,
      providesTags: (res) => [
        'ProductList',
        ...(res?.pages.flatMap((p) => p.items.map((x) => ({ type: 'Product' as const, id: x.productId }))) ?? []),
      ],
    }),
    getProduct: build.query<Product, string>({
      query: (id) => `/products/${encodeURIComponent(id)}`,
      providesTags: (_r, _e, id) => [{ type: 'Product', id }],
    }),
    listReviews: build.infiniteQuery<Page<Review>, string, string | null>({
      infiniteQueryOptions: { initialPageParam: null, getNextPageParam: nextCursor },
      query: ({ queryArg, pageParam }) => `/products/${encodeURIComponent(queryArg)}/reviews?${listParams(5, pageParam)}`,
      providesTags: (_r, _e, id) => [{ type: 'Reviews', id }],
    }),
    postReview: build.mutation<Review, { productId: string; rating: number; title: string; body: string }>({
      query: ({ productId, ...review }) => ({
        url: `/products/${encodeURIComponent(productId)}/reviews`,
        method: 'POST',
        body: review,
      }),
      invalidatesTags: (_r, _e, { productId }) => [{ type: 'Reviews', id: productId }],
    }),
    getCart: build.query<Cart, void>({
      query: () => '/cart',
      providesTags: ['Cart'],
    }),
    setCartItem: build.mutation<Cart, { productId: string; quantity: number }>({
      query: ({ productId, quantity }) => ({
        url: `/cart/items/${encodeURIComponent(productId)}`,
        method: 'PUT',
        body: { quantity },
      }),
      invalidatesTags: ['Cart'],
    }),
    // One checkout attempt: the same Idempotency-Key on every try, so a retry after a lost
    // answer is answered the order the first try made instead of making a second one.
    placeOrder: build.mutation<Order, { idempotencyKey: string; items: { productId: string; quantity: number }[] }>({
      async queryFn({ idempotencyKey, items }, api, _extra, send) {
        const { sleep } = api.extra as StoreExtra
        for (let attempt = 1; ; attempt++) {
          const res = await send({
            url: '/orders',
            method: 'POST',
            headers: { 'Idempotency-Key': idempotencyKey },
            body: { items },
          })
          if (!res.error) return { data: res.data as Order }
          if (!isRetryable(res.error) || attempt === checkoutAttempts) return { error: res.error }
          await sleep(retryDelay(attempt, res.meta?.response?.headers.get('Retry-After')))
        }
      },
      invalidatesTags: (_r, _e, { items }) => [
        'OrderList',
        'ProductList',
        ...items.map((i) => ({ type: 'Product' as const, id: i.productId })),
      ],
    }),
    listOrders: build.infiniteQuery<Page<Order>, void, string | null>({
      infiniteQueryOptions: { initialPageParam: null, getNextPageParam: nextCursor },
      query: ({ pageParam }) => `/orders?${listParams(10, pageParam)}`,
      providesTags: ['OrderList'],
    }),
    getOrder: build.query<Order, string>({
      query: (id) => `/orders/${encodeURIComponent(id)}`,
      providesTags: (_r, _e, id) => [{ type: 'Order', id }],
    }),
    createProduct: build.mutation<Product, ProductDraft>({
      query: (draft) => ({ url: '/products', method: 'POST', body: draft }),
      invalidatesTags: ['ProductList'],
    }),
    updateProduct: build.mutation<Product, { productId: string; draft: ProductDraft }>({
      query: ({ productId, draft }) => ({ url: `/products/${encodeURIComponent(productId)}`, method: 'PUT', body: draft }),
      invalidatesTags: (_r, _e, { productId }) => ['ProductList', { type: 'Product', id: productId }, 'Cart'],
    }),
    deleteProduct: build.mutation<void, string>({
      query: (id) => ({ url: `/products/${encodeURIComponent(id)}`, method: 'DELETE' }),
      invalidatesTags: (_r, _e, id) => ['ProductList', { type: 'Product', id }, 'Cart'],
    }),
    // The image goes straight to the bucket: the API hands out a presigned POST, the browser
    // sends its fields and then the file as multipart/form-data. The product's imageUrl
    // changes once the stored bytes are checked to be an image of that type.
    uploadImage: build.mutation<void, { productId: string; file: File }>({
      async queryFn({ productId, file }, _api, _extra, send) {
        const target = await send({
          url: `/products/${encodeURIComponent(productId)}/image-upload-url`,
          method: 'POST',
          body: { contentType: file.type },
        })
        if (target.error) return { error: target.error }
        const { uploadUrl, fields, maxBytes } = target.data as UploadTarget
        if (file.size > maxBytes) {
          return { error: { status: 413, data: { error: { code: 'payload_too_large', message: `the image is larger than ${Math.floor(maxBytes / 1048576)} MiB` } } } }
        }
        const form = new FormData()
        for (const [k, v] of Object.entries(fields)) form.append(k, v)
        form.append('file', file)
        try {
          const res = await fetch(uploadUrl, { method: 'POST', body: form })
          if (!res.ok) {
            return { error: { status: res.status, data: { error: { code: 'upload_refused', message: `the image store refused the upload (HTTP ${res.status})` } } } }
          }
        } catch (e) {
          return { error: { status: 'FETCH_ERROR', error: String(e) } }
        }
        return { data: undefined }
      },
      invalidatesTags: (_r, _e, { productId }) => ['ProductList', { type: 'Product', id: productId }],
    }),
    // The local stage's token issuer; the cloud signs in through Cognito instead.
    localToken: build.mutation<{ token: string }, { sub: string; groups: string[] }>({
      query: (body) => ({ url: '/_local/token', method: 'POST', body }),
    }),
  }),
})

export const {
  useListProductsInfiniteQuery,
  useGetProductQuery,
  useListReviewsInfiniteQuery,
  usePostReviewMutation,
  useGetCartQuery,
  useSetCartItemMutation,
  usePlaceOrderMutation,
  useListOrdersInfiniteQuery,
  useGetOrderQuery,
  useCreateProductMutation,
  useUpdateProductMutation,
  useDeleteProductMutation,
  useUploadImageMutation,
  useLocalTokenMutation,
} = shopApi

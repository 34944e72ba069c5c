// One checkout attempt is one Idempotency-Key. The key is made when the shopper first asks to
// place an order for a given set of lines and is kept until the API gives a final answer, so
// a second click, a retry after a network error or a 503, or a reload of the retry all send
// the same key and can never make a second order. A changed cart starts a new attempt.
import { createSlice, type PayloadAction } from '@reduxjs/toolkit'
import { isRetryable, shopApi } from './api'
import type { FetchBaseQueryError } from '@reduxjs/toolkit/query'

/** OrderItems are the lines an order is placed for. */
export type OrderItems = { productId: string; quantity: number }[]

/** Attempt is one checkout attempt: its key and the lines it is for. */
export interface Attempt {
  key: string
  lines: string
}

/** CheckoutState holds the attempt in progress, if any. */
export interface CheckoutState {
  attempt: Attempt | null
}

/** linesOf is an order's lines in a canonical form, to tell one cart from another. */
export function linesOf(items: OrderItems): string {
  return JSON.stringify([...items].sort((a, b) => a.productId.localeCompare(b.productId)).map((i) => [i.productId, i.quantity]))
}

const checkoutSlice = createSlice({
  name: 'checkout',
  initialState: (): CheckoutState => ({ attempt: null }),
  reducers: {
    /** attemptStarted keeps the current attempt for the same lines, or starts a new one. */
    attemptStarted: {
      reducer(state, action: PayloadAction<Attempt>) {
        if (state.attempt?.lines !== action.payload.lines) state.attempt = action.payload
      },
      prepare: (items: OrderItems) => ({ payload: { key: crypto.randomUUID(), lines: linesOf(items) } }),
    },
  },
  extraReducers: (b) => {
    b.addMatcher(shopApi.endpoints.placeOrder.matchFulfilled, (state, action) => {
      if (state.attempt?.key === action.meta.arg.originalArgs.idempotencyKey) state.attempt = null
    })
    b.addMatcher(shopApi.endpoints.placeOrder.matchRejected, (state, action) => {
      const err = action.payload as FetchBaseQueryError | undefined
      // A lost answer keeps the key for the next try; an answer (409, 422 ...) ends the attempt.
      if (err && !isRetryable(err) && state.attempt?.key === action.meta.arg.originalArgs.idempotencyKey) {
        state.attempt = null
      }
    })
  },
  selectors: {
    selectAttempt: (s) => s.attempt,
  },
})

export const { attemptStarted } = checkoutSlice.actions
export const { selectAttempt } = checkoutSlice.selectors
export default checkoutSlice

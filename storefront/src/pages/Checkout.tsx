import { useStore } from 'react-redux'
import { Link } from 'react-router-dom'
import { useGetCartQuery, usePlaceOrderMutation, useSetCartItemMutation, type Cart, type Order } from '../api'
import { attemptStarted, selectAttempt } from '../checkoutSlice'
import { CartStatus, ErrorMessage, Page, Price } from '../components'
import { errorCode, errorMessage } from '../errors'
import { useAppDispatch } from '../hooks'
import type { RootState } from '../store'
import { SignedIn } from './SignedIn'

/** outOfStockMessage names the product a 409 out_of_stock is about, by its name in the cart. */
export function outOfStockMessage(cart: Cart, error: unknown): string {
  const text = errorMessage(error)
  const line = cart.items.find((l) => text.includes(l.productId))
  const what = line ? line.name : 'A product in your cart'
  return `Sorry, ${what} is out of stock in the quantity you asked for. Your cart is unchanged.`
}

function Confirmation({ order }: { order: Order }) {
  return (
    <Page title="Order confirmed">
      <p>
        Thank you! Your order <strong className="mono">{order.orderId}</strong> is confirmed.
      </p>
      <p className="big">
        Total <Price amount={order.total} currency={order.currency} />
      </p>
      <p>
        <Link to={`/orders/${encodeURIComponent(order.orderId)}`}>See the order</Link> ·{' '}
        <Link to="/">Keep shopping</Link>
      </p>
    </Page>
  )
}

function CheckoutForm() {
  const cart = useGetCartQuery()
  const [placeOrder, state] = usePlaceOrderMutation()
  const [setItem] = useSetCartItemMutation()
  const dispatch = useAppDispatch()
  const store = useStore<RootState>()

  if (state.data) return <Confirmation order={state.data} />
  const c = cart.data
  const place = async () => {
    if (!c || state.isLoading) return
    const items = c.items.map((l) => ({ productId: l.productId, quantity: l.quantity }))
    dispatch(attemptStarted(items))
    const attempt = selectAttempt(store.getState())
    if (!attempt) return
    const res = await placeOrder({ idempotencyKey: attempt.key, items })
    if (!res.error) {
      // The order is placed: empty the lines it bought.
      for (const i of items) await setItem({ productId: i.productId, quantity: 0 })
    }
  }
  return (
    <Page title="Checkout">
      <CartStatus loading={cart.isLoading} error={cart.error} cart={c} />
      {c && c.items.length > 0 && (
        <>
          <ul className="lines" aria-label="Order lines">
            {c.items.map((l) => (
              <li key={l.productId} className="line">
                <Link to={`/p/${encodeURIComponent(l.productId)}`} className="line-name">
                  {l.name}
                </Link>
                <span>× {l.quantity}</span>
                <span className="line-total">
                  <Price amount={l.price * l.quantity} currency={l.currency} />
                </span>
              </li>
            ))}
          </ul>
          <div className="summary">
            <p className="big">
              Total {c.currency && <Price amount={c.total} currency={c.currency} />}
            </p>
            <button type="button" onClick={() => void place()} disabled={state.isLoading} aria-busy={state.isLoading}>
              Place order
            </button>
          </div>
          {state.isError &&
            (errorCode(state.error) === 'out_of_stock' ? (
              <p role="alert" className="error">
                {outOfStockMessage(c, state.error)}
              </p>
            ) : (
              <ErrorMessage error={state.error} />
            ))}
        </>
      )}
    </Page>
  )
}

/** Checkout places the cart as one order; a retried attempt never makes a second one. */
export default function Checkout() {
  return (
    <SignedIn title="Checkout">
      <CheckoutForm />
    </SignedIn>
  )
}

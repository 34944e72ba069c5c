import { Link, useNavigate } from 'react-router-dom'
import { useGetCartQuery, useSetCartItemMutation, type CartLine } from '../api'
import { CartStatus, ErrorMessage, Page, Price } from '../components'
import { SignedIn } from './SignedIn'

function Line({ line }: { line: CartLine }) {
  const [setItem, state] = useSetCartItemMutation()
  const choices = Array.from({ length: Math.max(line.quantity, 20) + 1 }, (_, i) => i)
  return (
    <li className="line">
      <Link to={`/p/${encodeURIComponent(line.productId)}`} className="line-name">
        {line.name}
      </Link>
      <span className="muted">
        <Price amount={line.price} currency={line.currency} /> each
      </span>
      <label className="qty">
        Quantity
        <select
          value={line.quantity}
          disabled={state.isLoading}
          aria-describedby={`line-${line.productId}`}
          onChange={(e) => void setItem({ productId: line.productId, quantity: Number(e.target.value) })}
        >
          {choices.map((n) => (
            <option key={n} value={n}>
              {n === 0 ? '0 (remove)' : n}
            </option>
          ))}
        </select>
      </label>
      <span className="line-total" id={`line-${line.productId}`}>
        <Price amount={line.price * line.quantity} currency={line.currency} />
      </span>
      <ErrorMessage error={state.error} />
    </li>
  )
}

function CartContents() {
  const q = useGetCartQuery()
  const navigate = useNavigate()
  const cart = q.data
  return (
    <Page title="Your cart">
      <CartStatus loading={q.isLoading} error={q.error} cart={cart} />
      {cart && cart.items.length > 0 && (
        <>
          <ul className="lines" aria-label="Cart lines">
            {cart.items.map((l) => (
              <Line key={l.productId} line={l} />
            ))}
          </ul>
          <div className="summary">
            <p className="big">
              Total {cart.currency && <Price amount={cart.total} currency={cart.currency} />}
            </p>
            <button type="button" onClick={() => navigate('/checkout')}>
              Checkout
            </button>
          </div>
        </>
      )}
    </Page>
  )
}

/** CartPage lists the cart's lines; a quantity of 0 removes a line. */
export default function CartPage() {
  return (
    <SignedIn title="Your cart">
      <CartContents />
    </SignedIn>
  )
}

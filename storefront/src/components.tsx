// Small pieces every page uses.
import type { ReactNode } from 'react'
import { Link } from 'react-router-dom'
import type { Cart, Product } from './api'
import { errorMessage } from './errors'
import { formatPrice } from './money'

/** Price shows an amount in minor units in its currency. */
export function Price({ amount, currency }: { amount: number; currency: string }) {
  return <span className="price">{formatPrice(amount, currency)}</span>
}

/** ErrorMessage shows a failed request as a readable sentence; nothing when there is no error. */
export function ErrorMessage({ error }: { error: unknown }) {
  if (!error) return null
  return (
    <p role="alert" className="error">
      {errorMessage(error)}
    </p>
  )
}

/** Loading is the placeholder shown while a page's data is on its way. */
export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p className="loading" role="status">
      {what}…
    </p>
  )
}

/** ProductImage is a product's picture, or a neutral tile when it has none yet. */
export function ProductImage({ product, eager = false }: { product: Pick<Product, 'imageUrl' | 'name'>; eager?: boolean }) {
  if (!product.imageUrl) return <div className="image placeholder" aria-hidden="true" />
  return (
    <img
      className="image"
      src={product.imageUrl}
      alt=""
      width={320}
      height={320}
      loading={eager ? 'eager' : 'lazy'}
      decoding="async"
    />
  )
}

/** ProductCard is one product in a grid: its link carries the product's name. */
export function ProductCard({ product, eager }: { product: Product; eager?: boolean }) {
  return (
    <li className="card">
      <Link to={`/p/${encodeURIComponent(product.productId)}`} className="card-link">
        <ProductImage product={product} eager={eager} />
        <span className="card-name">{product.name}</span>
      </Link>
      <div className="card-meta">
        <Price amount={product.price} currency={product.currency} />
        {product.stock === 0 && <span className="badge soldout">Sold out</span>}
      </div>
    </li>
  )
}

/** LoadMore is the "Load more" button of a cursor-paged list. */
export function LoadMore({ hasMore, busy, onClick }: { hasMore: boolean; busy: boolean; onClick: () => void }) {
  if (!hasMore) return null
  return (
    <div className="load-more">
      <button type="button" className="secondary" onClick={onClick} disabled={busy} aria-busy={busy}>
        Load more
      </button>
    </div>
  )
}

/** Page is a page's frame: its one h1 and its content. */
export function Page({ title, children, hideTitle = false }: { title: string; children: ReactNode; hideTitle?: boolean }) {
  return (
    <div className="page">
      <h1 className={hideTitle ? 'visually-hidden' : undefined}>{title}</h1>
      {children}
    </div>
  )
}

/** CartStatus shows what a page built on the cart shows before its lines: loading, error, empty. */
export function CartStatus({ loading, error, cart }: { loading: boolean; error: unknown; cart: Cart | undefined }) {
  return (
    <>
      {loading && <Loading what="Loading your cart" />}
      <ErrorMessage error={error} />
      {cart && cart.items.length === 0 && (
        <p>
          Your cart is empty. <Link to="/">Browse the shop</Link>
        </p>
      )}
    </>
  )
}

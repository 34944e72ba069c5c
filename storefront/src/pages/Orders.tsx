import { Link, useParams } from 'react-router-dom'
import { useGetOrderQuery, useGetProductQuery, useListOrdersInfiniteQuery, type OrderLine } from '../api'
import { ErrorMessage, Loading, LoadMore, Page, Price } from '../components'
import { SignedIn } from './SignedIn'

const when = (iso: string) => new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })

function OrderList() {
  const q = useListOrdersInfiniteQuery()
  const orders = q.data?.pages.flatMap((p) => p.items) ?? []
  return (
    <Page title="Your orders">
      {q.isLoading && <Loading what="Loading your orders" />}
      <ErrorMessage error={q.error} />
      {q.isSuccess && orders.length === 0 && (
        <p>
          No orders yet. <Link to="/">Browse the shop</Link>
        </p>
      )}
      <ul className="lines" aria-label="Orders">
        {orders.map((o) => (
          <li key={o.orderId} className="line">
            <Link to={`/orders/${encodeURIComponent(o.orderId)}`} className="line-name mono">
              Order {o.orderId}
            </Link>
            <time className="muted" dateTime={o.createdAt}>
              {when(o.createdAt)}
            </time>
            <span className="badge">{o.status}</span>
            <span className="line-total">
              <Price amount={o.total} currency={o.currency} />
            </span>
          </li>
        ))}
      </ul>
      <LoadMore hasMore={q.hasNextPage} busy={q.isFetchingNextPage} onClick={() => void q.fetchNextPage()} />
    </Page>
  )
}

// An order keeps product ids; the name is the product's current one, or the id once deleted.
function OrderItem({ line }: { line: OrderLine }) {
  const p = useGetProductQuery(line.productId)
  return (
    <li className="line">
      {p.data ? (
        <Link to={`/p/${encodeURIComponent(line.productId)}`} className="line-name">
          {p.data.name}
        </Link>
      ) : (
        <span className="line-name mono">{line.productId}</span>
      )}
      <span>× {line.quantity}</span>
      <span className="muted">
        <Price amount={line.price} currency={line.currency} /> each
      </span>
      <span className="line-total">
        <Price amount={line.price * line.quantity} currency={line.currency} />
      </span>
    </li>
  )
}

function OrderView() {
  const { orderId = '' } = useParams()
  const q = useGetOrderQuery(orderId)
  const o = q.data
  return (
    <Page title={`Order ${orderId}`}>
      {q.isLoading && <Loading what="Loading the order" />}
      <ErrorMessage error={q.error} />
      {o && (
        <>
          <p>
            <span className="badge">{o.status}</span> · <time dateTime={o.createdAt}>{when(o.createdAt)}</time>
          </p>
          <ul className="lines" aria-label="Order lines">
            {o.items.map((l) => (
              <OrderItem key={l.productId} line={l} />
            ))}
          </ul>
          <p className="big summary">
            Total <Price amount={o.total} currency={o.currency} />
          </p>
        </>
      )}
      <p>
        <Link to="/orders">All your orders</Link>
      </p>
    </Page>
  )
}

/** Orders lists the shopper's own orders, newest first. */
export function Orders() {
  return (
    <SignedIn title="Your orders">
      <OrderList />
    </SignedIn>
  )
}

/** OrderDetail shows one of the shopper's orders. */
export function OrderDetail() {
  return (
    <SignedIn title="Order">
      <OrderView />
    </SignedIn>
  )
}

import { useState, type FormEvent } from 'react'
import { Link, useLocation, useParams } from 'react-router-dom'
import {
  useGetCartQuery,
  useGetProductQuery,
  useListReviewsInfiniteQuery,
  usePostReviewMutation,
  useSetCartItemMutation,
  type Product,
} from '../api'
import { selectSession } from '../auth/authSlice'
import { categoryLabel } from '../categories'
import { ErrorMessage, Loading, LoadMore, Price, ProductImage } from '../components'
import { useAppSelector } from '../hooks'

function AddToCart({ product }: { product: Product }) {
  const session = useAppSelector(selectSession)
  const location = useLocation()
  const cart = useGetCartQuery(undefined, { skip: !session })
  const [setItem, state] = useSetCartItemMutation()
  const [quantity, setQuantity] = useState(1)
  const [added, setAdded] = useState(0)
  if (!session) {
    return (
      <p>
        <Link to={`/signin?returnTo=${encodeURIComponent(location.pathname)}`}>Sign in to buy</Link>
      </p>
    )
  }
  const inCart = cart.data?.items.find((l) => l.productId === product.productId)?.quantity ?? 0
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setAdded(0)
    const res = await setItem({ productId: product.productId, quantity: Math.min(inCart + quantity, 100) })
    if (!res.error) setAdded(quantity)
  }
  return (
    <form className="buy" onSubmit={submit}>
      <label>
        Quantity
        <input
          type="number"
          min={1}
          max={100}
          value={quantity}
          onChange={(e) => setQuantity(Math.max(1, Math.min(100, Number(e.target.value) || 1)))}
        />
      </label>
      <button type="submit" disabled={product.stock === 0 || state.isLoading || cart.isLoading}>
        Add to cart
      </button>
      {added > 0 && (
        <p role="status" className="ok">
          Added {added} to your cart. <Link to="/cart">View cart</Link>
        </p>
      )}
      <ErrorMessage error={state.error} />
    </form>
  )
}

function Stars({ rating }: { rating: number }) {
  return (
    <span className="stars" role="img" aria-label={`Rated ${rating} out of 5`}>
      {'★'.repeat(rating)}
      <span className="dim">{'★'.repeat(5 - rating)}</span>
    </span>
  )
}

function ReviewForm({ productId }: { productId: string }) {
  const [post, state] = usePostReviewMutation()
  const [rating, setRating] = useState(5)
  const [title, setTitle] = useState('')
  const [body, setBody] = useState('')
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    const res = await post({ productId, rating, title, body })
    if (!res.error) {
      setTitle('')
      setBody('')
      setRating(5)
    }
  }
  return (
    <form className="review-form" onSubmit={submit}>
      <h3>Write a review</h3>
      <label>
        Rating
        <select value={rating} onChange={(e) => setRating(Number(e.target.value))}>
          {[5, 4, 3, 2, 1].map((r) => (
            <option key={r} value={r}>
              {r} {r === 1 ? 'star' : 'stars'}
            </option>
          ))}
        </select>
      </label>
      <label>
        Title
        <input value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={120} />
      </label>
      <label>
        Review
        <textarea value={body} onChange={(e) => setBody(e.target.value)} maxLength={4000} rows={4} />
      </label>
      <button type="submit" disabled={state.isLoading}>
        Post review
      </button>
      {state.isSuccess && !state.isLoading && (
        <p role="status" className="ok">
          Thank you, your review is posted.
        </p>
      )}
      <ErrorMessage error={state.error} />
    </form>
  )
}

function Reviews({ productId }: { productId: string }) {
  const session = useAppSelector(selectSession)
  const q = useListReviewsInfiniteQuery(productId)
  const reviews = q.data?.pages.flatMap((p) => p.items) ?? []
  return (
    <section className="reviews" aria-labelledby="reviews-heading">
      <h2 id="reviews-heading">Reviews</h2>
      {session && <ReviewForm productId={productId} />}
      {q.isLoading && <Loading what="Loading reviews" />}
      <ErrorMessage error={q.error} />
      {q.isSuccess && reviews.length === 0 && <p>No reviews yet.</p>}
      <ol className="review-list" aria-label="Reviews, newest first">
        {reviews.map((r) => (
          <li key={r.reviewId} className="review">
            <h3>{r.title}</h3>
            <Stars rating={r.rating} />
            {r.body && <p>{r.body}</p>}
            <p className="muted">
              {r.userId} · <time dateTime={r.createdAt}>{new Date(r.createdAt).toLocaleDateString()}</time>
            </p>
          </li>
        ))}
      </ol>
      <LoadMore hasMore={q.hasNextPage} busy={q.isFetchingNextPage} onClick={() => void q.fetchNextPage()} />
    </section>
  )
}

/** ProductPage shows one product, buys it and lists its reviews. */
export default function ProductPage() {
  const { productId = '' } = useParams()
  const q = useGetProductQuery(productId)
  const p = q.data
  return (
    <div className="page">
      {q.isLoading && <Loading what="Loading the product" />}
      <ErrorMessage error={q.error} />
      {p && (
        <>
          <article className="product">
            <ProductImage product={p} eager />
            <div className="product-info">
              <p className="muted">
                <Link to={`/?category=${encodeURIComponent(p.category)}`}>{categoryLabel(p.category)}</Link>
              </p>
              <h1>{p.name}</h1>
              <p className="big">
                <Price amount={p.price} currency={p.currency} />
              </p>
              <p className={p.stock === 0 ? 'soldout' : 'ok'}>{p.stock === 0 ? 'Sold out' : `${p.stock} in stock`}</p>
              {p.description && <p className="description">{p.description}</p>}
              <AddToCart product={p} />
            </div>
          </article>
          <Reviews productId={p.productId} />
        </>
      )}
    </div>
  )
}

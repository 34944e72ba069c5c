import { useSearchParams } from 'react-router-dom'
import { useListProductsInfiniteQuery } from '../api'
import { categoryLabel } from '../categories'
import { ErrorMessage, Loading, LoadMore, Page, ProductCard } from '../components'

/** Catalog is the product grid of one category, or of all, paged with "Load more". */
export default function Catalog() {
  const [params] = useSearchParams()
  const category = params.get('category') || undefined
  const q = useListProductsInfiniteQuery({ category })
  const products = q.data?.pages.flatMap((p) => p.items) ?? []
  return (
    <Page title={category ? categoryLabel(category) : 'All products'}>
      {q.isLoading && <Loading what="Loading products" />}
      <ErrorMessage error={q.error} />
      {q.isSuccess && products.length === 0 && <p>Nothing here yet.</p>}
      <ul className="grid" aria-label="Products">
        {products.map((p, i) => (
          <ProductCard key={p.productId} product={p} eager={i < 4} />
        ))}
      </ul>
      <LoadMore hasMore={q.hasNextPage} busy={q.isFetchingNextPage} onClick={() => void q.fetchNextPage()} />
    </Page>
  )
}

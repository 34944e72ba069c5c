import { useEffect, useState, type FormEvent } from 'react'
import { Link, Route, Routes, useLocation, useNavigate, useParams } from 'react-router-dom'
import {
  useCreateProductMutation,
  useDeleteProductMutation,
  useGetProductQuery,
  useListProductsInfiniteQuery,
  useUpdateProductMutation,
  useUploadImageMutation,
  type Product,
  type ProductDraft,
} from '../api'
import { selectIsAdmin } from '../auth/authSlice'
import { categories } from '../categories'
import { ErrorMessage, Loading, LoadMore, Page, Price, ProductImage } from '../components'
import { useAppSelector } from '../hooks'
import { parsePrice, priceInput } from '../money'
import { SignedIn } from './SignedIn'

interface Fields {
  name: string
  description: string
  category: string
  price: string
  currency: string
  stock: string
}

const emptyFields: Fields = { name: '', description: '', category: 'books', price: '', currency: 'USD', stock: '0' }

const fieldsOf = (p: Product): Fields => ({
  name: p.name,
  description: p.description,
  category: p.category,
  price: priceInput(p.price, p.currency),
  currency: p.currency,
  stock: String(p.stock),
})

/** draftOf checks the form and builds the API body, or says what to fix. */
function draftOf(f: Fields): ProductDraft | string {
  const currency = f.currency.trim().toUpperCase()
  if (!/^[A-Z]{3}$/.test(currency)) return 'Currency must be a three-letter code such as USD.'
  let price: number | null
  try {
    price = parsePrice(f.price, currency)
  } catch {
    return `${currency} is not a currency this browser knows.`
  }
  if (price === null) return 'Price must be an amount such as 12.50.'
  const stock = Number(f.stock)
  if (!Number.isSafeInteger(stock) || stock < 0) return 'Stock must be a whole number, 0 or more.'
  // A code the API does not know is its 400, shown as the form's error.
  return { name: f.name.trim(), description: f.description, category: f.category.trim(), price, currency: currency as ProductDraft['currency'], stock }
}

function ProductForm({ initial, busy, onSave }: { initial: Fields; busy: boolean; onSave: (d: ProductDraft) => void }) {
  const [f, setF] = useState(initial)
  const [problem, setProblem] = useState('')
  useEffect(() => {
    setF(initial)
  }, [initial])
  const set = (k: keyof Fields) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value })
  const submit = (e: FormEvent) => {
    e.preventDefault()
    const d = draftOf(f)
    if (typeof d === 'string') return setProblem(d)
    setProblem('')
    onSave(d)
  }
  return (
    <form className="admin-form" onSubmit={submit}>
      <label>
        Name
        <input value={f.name} onChange={set('name')} required maxLength={200} />
      </label>
      <label>
        Description
        <textarea value={f.description} onChange={set('description')} maxLength={5000} rows={4} />
      </label>
      <label>
        Category
        <input value={f.category} onChange={set('category')} required pattern="[a-z0-9\-]{1,64}" list="categories" />
        <datalist id="categories">
          {categories.map((c) => (
            <option key={c.id} value={c.id} />
          ))}
        </datalist>
      </label>
      <div className="row">
        <label>
          Price
          <input value={f.price} onChange={set('price')} required inputMode="decimal" placeholder="12.50" />
        </label>
        <label>
          Currency
          <input value={f.currency} onChange={set('currency')} required maxLength={3} size={4} />
        </label>
        <label>
          Stock
          <input type="number" min={0} value={f.stock} onChange={set('stock')} required />
        </label>
      </div>
      <button type="submit" disabled={busy}>
        Save
      </button>
      {problem && (
        <p role="alert" className="error">
          {problem}
        </p>
      )}
    </form>
  )
}

function ImageUpload({ product }: { product: Product }) {
  const [upload, state] = useUploadImageMutation()
  const [file, setFile] = useState<File | null>(null)
  const [waitingFor, setWaitingFor] = useState<string | null | undefined>(undefined)
  // The image checker sets imageUrl once the uploaded bytes are checked: poll until it changes.
  const polled = useGetProductQuery(product.productId, { pollingInterval: waitingFor !== undefined ? 1000 : 0 })
  const current = polled.data?.imageUrl ?? product.imageUrl
  useEffect(() => {
    if (waitingFor !== undefined && current !== waitingFor) setWaitingFor(undefined)
  }, [current, waitingFor])
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    if (!file) return
    const before = current
    const res = await upload({ productId: product.productId, file })
    if (!res.error) setWaitingFor(before)
  }
  return (
    <form className="admin-form" onSubmit={submit}>
      <h2>Image</h2>
      <ProductImage product={{ name: product.name, imageUrl: current }} eager />
      <label>
        Image
        <input type="file" accept="image/png,image/jpeg,image/webp" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
      </label>
      <button type="submit" disabled={!file || state.isLoading || waitingFor !== undefined}>
        Upload image
      </button>
      {waitingFor !== undefined && <Loading what="Checking the image" />}
      {state.isSuccess && waitingFor === undefined && (
        <p role="status" className="ok">
          Image updated.
        </p>
      )}
      <ErrorMessage error={state.error} />
    </form>
  )
}

function EditProduct() {
  const { productId = '' } = useParams()
  const q = useGetProductQuery(productId)
  const [update, updating] = useUpdateProductMutation()
  const [remove, removing] = useDeleteProductMutation()
  const navigate = useNavigate()
  const [initial, setInitial] = useState<Fields | null>(null)
  useEffect(() => {
    if (q.data && !initial) setInitial(fieldsOf(q.data))
  }, [q.data, initial])
  const p = q.data
  return (
    <Page title={p ? `Edit ${p.name}` : 'Edit product'}>
      <p>
        <Link to="/admin">All products</Link>
      </p>
      {q.isLoading && <Loading what="Loading the product" />}
      <ErrorMessage error={q.error} />
      {p && initial && (
        <div className="admin-columns">
          <div>
            <p className="muted">
              Id <span className="mono">{p.productId}</span> · <Link to={`/p/${encodeURIComponent(p.productId)}`}>{p.name}</Link> in the shop
            </p>
            <ProductForm initial={initial} busy={updating.isLoading} onSave={(draft) => void update({ productId, draft })} />
            {updating.isSuccess && !updating.isLoading && (
              <p role="status" className="ok">
                Saved.
              </p>
            )}
            <ErrorMessage error={updating.error} />
            <button
              type="button"
              className="danger"
              disabled={removing.isLoading}
              onClick={async () => {
                const res = await remove(productId)
                if (!res.error) navigate('/admin', { state: { deleted: p.name } })
              }}
            >
              Delete
            </button>
            <ErrorMessage error={removing.error} />
          </div>
          <ImageUpload product={p} />
        </div>
      )}
    </Page>
  )
}

function NewProduct() {
  const [create, state] = useCreateProductMutation()
  const navigate = useNavigate()
  return (
    <Page title="New product">
      <p>
        <Link to="/admin">All products</Link>
      </p>
      <ProductForm
        initial={emptyFields}
        busy={state.isLoading}
        onSave={async (draft) => {
          const res = await create(draft)
          if (res.data) navigate(`/admin/p/${encodeURIComponent(res.data.productId)}`)
        }}
      />
      <ErrorMessage error={state.error} />
    </Page>
  )
}

function ProductTable() {
  const q = useListProductsInfiniteQuery({})
  const products = q.data?.pages.flatMap((p) => p.items) ?? []
  const deleted = (useLocation().state as { deleted?: string } | null)?.deleted
  return (
    <Page title="Catalog admin">
      {deleted && (
        <p role="status" className="ok">
          Deleted {deleted}.
        </p>
      )}
      <p>
        <Link to="/admin/new" className="button-link">
          New product
        </Link>
      </p>
      {q.isLoading && <Loading what="Loading products" />}
      <ErrorMessage error={q.error} />
      <ul className="lines" aria-label="Products">
        {products.map((p) => (
          <li key={p.productId} className="line">
            <Link to={`/admin/p/${encodeURIComponent(p.productId)}`} className="line-name">
              {p.name}
            </Link>
            <span className="muted">{p.category}</span>
            <span>{p.stock} in stock</span>
            <span className="line-total">
              <Price amount={p.price} currency={p.currency} />
            </span>
          </li>
        ))}
      </ul>
      <LoadMore hasMore={q.hasNextPage} busy={q.isFetchingNextPage} onClick={() => void q.fetchNextPage()} />
    </Page>
  )
}

function AdminsOnly() {
  const isAdmin = useAppSelector(selectIsAdmin)
  if (!isAdmin) {
    return (
      <Page title="Catalog admin">
        <p role="alert" className="error">
          This page is for the shop's admins.
        </p>
      </Page>
    )
  }
  return (
    <Routes>
      <Route index element={<ProductTable />} />
      <Route path="new" element={<NewProduct />} />
      <Route path="p/:productId" element={<EditProduct />} />
    </Routes>
  )
}

/** Admin is the catalog admin: create, edit, delete products and upload their images. */
export default function Admin() {
  return (
    <SignedIn title="Catalog admin">
      <AdminsOnly />
    </SignedIn>
  )
}

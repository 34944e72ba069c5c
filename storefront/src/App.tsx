import { useEffect } from 'react'
import { Link, NavLink, Route, Routes, useLocation, useNavigate, useSearchParams } from 'react-router-dom'
import { shopApi, useGetCartQuery } from './api'
import { logoutUrl } from './auth/pkce'
import { selectIsAdmin, selectSession, signedOut } from './auth/authSlice'
import { categories } from './categories'
import { useAppDispatch, useAppSelector, useConfig } from './hooks'
import Admin from './pages/Admin'
import AuthCallback from './pages/AuthCallback'
import CartPage from './pages/Cart'
import Catalog from './pages/Catalog'
import Checkout from './pages/Checkout'
import { OrderDetail, Orders } from './pages/Orders'
import ProductPage from './pages/Product'
import SignIn from './pages/SignIn'

function CartLink() {
  const session = useAppSelector(selectSession)
  const { data } = useGetCartQuery(undefined, { skip: !session })
  const count = data?.items.reduce((n, l) => n + l.quantity, 0) ?? 0
  return (
    <span className="cart-link">
      <NavLink to="/cart">Cart</NavLink>
      {count > 0 && (
        <span className="count">
          {count}
          <span className="visually-hidden"> items in the cart</span>
        </span>
      )}
    </span>
  )
}

function Account() {
  const session = useAppSelector(selectSession)
  const isAdmin = useAppSelector(selectIsAdmin)
  const config = useConfig()
  const dispatch = useAppDispatch()
  const navigate = useNavigate()
  const location = useLocation()
  if (!session) {
    return (
      <Link to={`/signin?returnTo=${encodeURIComponent(location.pathname + location.search)}`} className="button-link">
        Sign in
      </Link>
    )
  }
  const signOut = () => {
    dispatch(signedOut())
    dispatch(shopApi.util.resetApiState())
    if (config.auth.mode === 'cognito') window.location.assign(logoutUrl(config.auth.cognito))
    else navigate('/')
  }
  return (
    <>
      <NavLink to="/orders">Orders</NavLink>
      {isAdmin && <NavLink to="/admin">Admin</NavLink>}
      <span className="user" title="Signed in">
        {session.userId}
      </span>
      <button type="button" className="secondary small" onClick={signOut}>
        Sign out
      </button>
    </>
  )
}

function CategoryNav() {
  const [params] = useSearchParams()
  const location = useLocation()
  const current = location.pathname === '/' ? (params.get('category') ?? '') : null
  return (
    <nav aria-label="Categories" className="categories">
      <ul>
        <li>
          <Link to="/" aria-current={current === '' ? 'page' : undefined}>
            All
          </Link>
        </li>
        {categories.map((c) => (
          <li key={c.id}>
            <Link to={`/?category=${c.id}`} aria-current={current === c.id ? 'page' : undefined}>
              {c.label}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  )
}

function NotFound() {
  return (
    <div className="page">
      <h1>Page not found</h1>
      <p>
        <Link to="/">Back to the shop</Link>
      </p>
    </div>
  )
}

/** App is the storefront: header, category navigation and the page of the current route. */
export default function App() {
  const location = useLocation()
  // A new page starts at its top. (Braces: scrollTo returns a promise in newer browsers, and
  // an effect may return only its cleanup.)
  useEffect(() => {
    window.scrollTo(0, 0)
  }, [location.pathname])
  return (
    <>
      <header className="site-header">
        <div className="bar">
          <Link to="/" className="logo">
            Shop
          </Link>
          <nav aria-label="Account" className="account">
            <Account />
            <CartLink />
          </nav>
        </div>
        <CategoryNav />
      </header>
      <main id="main">
        <Routes>
          <Route path="/" element={<Catalog />} />
          <Route path="/p/:productId" element={<ProductPage />} />
          <Route path="/cart" element={<CartPage />} />
          <Route path="/checkout" element={<Checkout />} />
          <Route path="/orders" element={<Orders />} />
          <Route path="/orders/:orderId" element={<OrderDetail />} />
          <Route path="/admin/*" element={<Admin />} />
          <Route path="/signin" element={<SignIn />} />
          <Route path="/auth/callback" element={<AuthCallback />} />
          <Route path="*" element={<NotFound />} />
        </Routes>
      </main>
      <footer className="site-footer">
        <p>Shop · every order is placed exactly once</p>
      </footer>
    </>
  )
}

import { useState, type FormEvent } from 'react'
import { useNavigate, useSearchParams } from 'react-router-dom'
import { useLocalTokenMutation } from '../api'
import { sessionFromToken, signedIn } from '../auth/authSlice'
import { authorizeUrl } from '../auth/pkce'
import { ErrorMessage, Page } from '../components'
import { useAppDispatch, useConfig } from '../hooks'

/** safeReturn keeps a return path inside the site, so a crafted link cannot send users away. */
export function safeReturn(p: string | null): string {
  return p && p.startsWith('/') && !p.startsWith('//') && !p.startsWith('/\\') ? p : '/'
}

function LocalSignIn({ returnTo }: { returnTo: string }) {
  const [issue, state] = useLocalTokenMutation()
  const [name, setName] = useState('')
  const [admin, setAdmin] = useState(false)
  const dispatch = useAppDispatch()
  const navigate = useNavigate()
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    const res = await issue({ sub: name.trim(), groups: admin ? ['admin'] : [] })
    if (res.data) {
      dispatch(signedIn(sessionFromToken(res.data.token)))
      navigate(returnTo, { replace: true })
    }
  }
  return (
    <form className="signin" onSubmit={submit}>
      <p className="muted">The local stage signs anyone in: pick a name.</p>
      <label>
        User name
        <input value={name} onChange={(e) => setName(e.target.value)} required autoComplete="username" pattern="[A-Za-z0-9_.@\-]{1,128}" />
      </label>
      <label className="check">
        <input type="checkbox" checked={admin} onChange={(e) => setAdmin(e.target.checked)} />
        Admin
      </label>
      <button type="submit" disabled={state.isLoading}>
        Sign in
      </button>
      <ErrorMessage error={state.error} />
    </form>
  )
}

/** SignIn signs in through the stage's way: the local token form or Cognito's hosted UI. */
export default function SignIn() {
  const config = useConfig()
  const [params] = useSearchParams()
  const returnTo = safeReturn(params.get('returnTo'))
  const [error, setError] = useState('')
  if (config.auth.mode === 'local') {
    return (
      <Page title="Sign in">
        <LocalSignIn returnTo={returnTo} />
      </Page>
    )
  }
  const auth = config.auth.cognito
  const go = async () => {
    try {
      window.location.assign(await authorizeUrl(auth, returnTo))
    } catch (e) {
      setError(String(e))
    }
  }
  return (
    <Page title="Sign in">
      <p>You sign in on the shop's secure sign-in page and come straight back here.</p>
      <button type="button" onClick={() => void go()}>
        Sign in
      </button>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </Page>
  )
}

import type { ReactNode } from 'react'
import { Link, useLocation } from 'react-router-dom'
import { selectSession } from '../auth/authSlice'
import { Page } from '../components'
import { useAppSelector } from '../hooks'

/** SignedIn shows its children to a signed-in shopper and a way to sign in to anyone else. */
export function SignedIn({ title, children }: { title: string; children: ReactNode }) {
  const session = useAppSelector(selectSession)
  const location = useLocation()
  if (session) return <>{children}</>
  return (
    <Page title={title}>
      <p>
        Please <Link to={`/signin?returnTo=${encodeURIComponent(location.pathname)}`}>sign in</Link> first.
      </p>
    </Page>
  )
}

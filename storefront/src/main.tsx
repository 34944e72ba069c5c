import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { Provider } from 'react-redux'
import { BrowserRouter } from 'react-router-dom'
import App from './App'
import { loadConfig } from './config'
import { makeStore } from './store'
import './styles.css'

const root = createRoot(document.getElementById('root')!)

loadConfig().then(
  (config) => {
    const store = makeStore(config)
    root.render(
      <StrictMode>
        <Provider store={store}>
          <BrowserRouter>
            <App />
          </BrowserRouter>
        </Provider>
      </StrictMode>,
    )
  },
  (err: unknown) => {
    root.render(
      <main className="page">
        <h1>The shop cannot start</h1>
        <p role="alert" className="error">{String(err instanceof Error ? err.message : err)}</p>
      </main>,
    )
  },
)

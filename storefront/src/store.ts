import { combineSlices, configureStore, createSlice } from '@reduxjs/toolkit'
import { setupListeners } from '@reduxjs/toolkit/query'
import { shopApi, type StoreExtra } from './api'
import authSlice, { saveSession } from './auth/authSlice'
import checkoutSlice from './checkoutSlice'
import type { SiteConfig } from './config'

const defaultExtra: StoreExtra = { sleep: (ms) => new Promise((r) => setTimeout(r, ms)) }

/** makeStore builds the app's store for the stage's settings. */
export function makeStore(config: SiteConfig, extra: StoreExtra = defaultExtra) {
  const configSlice = createSlice({ name: 'config', initialState: config, reducers: {} })
  const reducer = combineSlices(configSlice, authSlice, checkoutSlice, shopApi)
  const store = configureStore({
    reducer,
    middleware: (gdm) => gdm({ thunk: { extraArgument: extra } }).concat(shopApi.middleware),
  })
  // The session outlives a reload of the tab (sessionStorage), never the tab itself.
  let last = store.getState().auth.session
  store.subscribe(() => {
    const s = store.getState().auth.session
    if (s !== last) {
      last = s
      saveSession(s)
    }
  })
  setupListeners(store.dispatch)
  return store
}

/** AppStore is the app's store. */
export type AppStore = ReturnType<typeof makeStore>
/** RootState is the app's state. */
export type RootState = ReturnType<AppStore['getState']>
/** AppDispatch dispatches the app's actions and thunks. */
export type AppDispatch = AppStore['dispatch']

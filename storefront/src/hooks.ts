import { useDispatch, useSelector } from 'react-redux'
import type { AppDispatch, RootState } from './store'

/** useAppDispatch is useDispatch typed for the app's store. */
export const useAppDispatch = useDispatch.withTypes<AppDispatch>()
/** useAppSelector is useSelector typed for the app's store. */
export const useAppSelector = useSelector.withTypes<RootState>()

/** useConfig is the stage's settings from /config.json. */
export const useConfig = () => useAppSelector((s) => s.config)

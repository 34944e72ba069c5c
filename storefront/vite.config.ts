import react from '@vitejs/plugin-react'
import { defineConfig } from 'vitest/config'

// One build for every stage: settings come from /config.json at start-up, never from the
// build, so dist/ is the same bytes locally, in dev and in prod.
export default defineConfig({
  plugins: [react()],
  build: {
    // Hashed file names under assets/ are what the hosting rules cache for a year.
    assetsDir: 'assets',
    sourcemap: false,
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
})

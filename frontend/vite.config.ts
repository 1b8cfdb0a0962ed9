import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';
import tailwindcss from '@tailwindcss/vite';

export default defineConfig({
  plugins: [react(), tailwindcss()],
  build: { outDir: 'dist', sourcemap: false },
  // Timestamps are tested as a therapist in Poland sees them, whatever the machine's own zone.
  test: { environment: 'node', include: ['src/**/*.test.ts'], env: { TZ: 'Europe/Warsaw' } },
});

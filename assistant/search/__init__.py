"""Passages -> Store -> Hits: `embed`, `index` (build, save, load), `stores` (the Store
protocol and its files implementation; `pgstore` for PostgreSQL), `retrieve` (hybrid
fusion), `objectives` and `provisions` (which provisions a question falls under)."""

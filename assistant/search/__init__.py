"""Passages -> Store -> Hits: `embed`, `index` (build, save, load), `stores` (the Store
protocol and its files implementation; `pgstore` for PostgreSQL), `fusion` (the
llama-index retrievers and postprocessors), `retrieve` (hybrid retrieval), `sentences`
(sentence re-ranking), `objectives` and `provisions` (which provisions a question falls
under) and `evidence`, the search stage of a question."""

"""Question -> Answer: `query` (the question analysed once, with `glossary`), `judge`
(answer or refuse), `compose` (a readable cited answer, quoted by `quotes`)."""

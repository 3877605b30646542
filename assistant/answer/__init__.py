"""Question -> Answer: `judge` (answer or refuse), `compose` (a readable cited answer),
with `followup` and `glossary` reading the question."""

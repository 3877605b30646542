"""Files -> Documents -> Passages: `read` (txt, md, PDF with its `layout`), `clean`,
`structure` (provisions by kind), `passages`."""

"""Review packs: what each pack says (review), its charts, its locale (i18n) and the PDF rendering."""

"""One screen per file: the overview, Methods 1-4, the summary, and the modal dialogs."""

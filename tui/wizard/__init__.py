"""The Textual wizard. Only presents and asks: every decision is made in tui.core."""

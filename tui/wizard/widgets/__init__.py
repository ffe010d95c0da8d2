"""Renderables shared by the screens (rule files with line numbers, unified diffs)."""

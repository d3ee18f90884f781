"""Modal screens: export, save, as-of date, confirm, help. Each returns its answer with dismiss()."""

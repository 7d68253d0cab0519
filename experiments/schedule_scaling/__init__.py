"""How a preset's training schedule scales with k and N."""

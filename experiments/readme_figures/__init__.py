"""The README's figures and verdict table, regenerated from the presets."""

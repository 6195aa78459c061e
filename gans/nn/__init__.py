"""Building blocks shared by several variants."""

"""als_eca package."""

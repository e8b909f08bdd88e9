"""The vaccine schedule both the kiosk and the hub know: the catalogue of products and the eligibility rules."""

"""Singer tap for the Endor Labs REST API."""

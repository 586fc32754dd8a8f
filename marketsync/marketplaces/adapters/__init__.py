"""One adapter per marketplace dialect behind one interface (``base.MarketplaceAdapter``)."""

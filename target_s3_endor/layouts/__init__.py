"""Records to keys: the layouts other than Endor Labs' own (``keys.py``)."""

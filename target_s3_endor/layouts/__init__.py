"""Records to keys: Endor Labs' own layout (``endor.py``) and Security Lake's."""

"""Singer target writing Endor Labs' S3 export layout."""

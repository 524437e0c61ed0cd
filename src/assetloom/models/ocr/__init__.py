"""Text in pictures: OCR engines behind `models.base.OcrEngine` (registered in `registry`)."""
